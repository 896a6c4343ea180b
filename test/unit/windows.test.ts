/**
 * Change windows (components/windows), pure: whether an instant is inside a weekly window of a
 * time zone, the freeze dates, and when the next window opens, in several time zones and across
 * both DST changes (Europe/Berlin 2026-10-25 and 2027-03-28, America/New_York 2027-03-14).
 */
import { guardErrors, transitionRecord } from "../../components/program";
import { Windows, WindowsSchema, windowRefusal, windowVerdict, zonedInstant } from "../../components/windows";
import { localConfig } from "../support/config";

const berlin = (extra: Partial<Windows> = {}): Windows =>
    WindowsSchema.parse({ timeZone: "Europe/Berlin", weekly: [{ days: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "16:00" }], ...extra });

test.each<[string, Windows, string, { open: boolean; next?: string; local?: string }]>([
    ["Monday 09:30 CET, inside", berlin(), "2026-12-07T08:30:00Z", { open: true }],
    ["Monday 09:00 CET, the first minute", berlin(), "2026-12-07T08:00:00Z", { open: true }],
    [
        "Monday 16:00 CET, the end is not inside",
        berlin(),
        "2026-12-07T15:00:00Z",
        { open: false, next: "2026-12-08T08:00:00Z", local: "tue 2026-12-08 09:00 Europe/Berlin" },
    ],
    ["Saturday: Monday's window", berlin(), "2026-12-12T10:00:00Z", { open: false, next: "2026-12-14T08:00:00Z", local: "mon 2026-12-14 09:00 Europe/Berlin" }],
    [
        "Friday before the spring DST change: Monday 09:00 CEST is 07:00 UTC",
        berlin(),
        "2027-03-26T15:30:00Z",
        { open: false, next: "2027-03-29T07:00:00Z", local: "mon 2027-03-29 09:00 Europe/Berlin" },
    ],
    [
        "Friday before the autumn DST change: Monday 09:00 CET is 08:00 UTC",
        berlin(),
        "2026-10-23T15:00:00Z",
        { open: false, next: "2026-10-26T08:00:00Z", local: "mon 2026-10-26 09:00 Europe/Berlin" },
    ],
    [
        "a window starting in the skipped hour (02:30 on 2027-03-28) opens an hour later, 03:30 CEST",
        WindowsSchema.parse({ timeZone: "Europe/Berlin", weekly: [{ days: ["sun"], start: "02:30", end: "05:00" }] }),
        "2027-03-27T12:00:00Z",
        { open: false, next: "2027-03-28T01:30:00Z", local: "sun 2027-03-28 03:30 Europe/Berlin" },
    ],
    [
        "New York, Monday 21:00 EST: Tuesday 22:00 EST is Wednesday 03:00 UTC",
        WindowsSchema.parse({ timeZone: "America/New_York", weekly: [{ days: ["tue"], start: "22:00", end: "23:30" }] }),
        "2026-12-08T02:00:00Z",
        { open: false, next: "2026-12-09T03:00:00Z", local: "tue 2026-12-08 22:00 America/New_York" },
    ],
    [
        "New York across its spring DST change: Sunday 2027-03-14 09:00 EDT is 13:00 UTC",
        WindowsSchema.parse({ timeZone: "America/New_York", weekly: [{ days: ["sun"], start: "09:00", end: "10:00" }] }),
        "2027-03-13T20:00:00Z",
        { open: false, next: "2027-03-14T13:00:00Z", local: "sun 2027-03-14 09:00 America/New_York" },
    ],
    [
        "Kolkata (+05:30): 09:15 IST is inside",
        WindowsSchema.parse({ timeZone: "Asia/Kolkata", weekly: [{ days: ["mon"], start: "09:00", end: "10:00" }] }),
        "2026-12-07T03:45:00Z",
        { open: true },
    ],
    [
        "a freeze closes the window; the next one is after the freeze's last day",
        berlin({ freeze: [{ from: "2026-12-20", to: "2027-01-06", reason: "year-end freeze" }] }),
        "2026-12-21T08:30:00Z",
        { open: false, next: "2027-01-07T08:00:00Z", local: "thu 2027-01-07 09:00 Europe/Berlin" },
    ],
])("%s", (_name, w, at, expected) => {
    const v = windowVerdict(w, new Date(at));
    expect({ open: v.open, ...(v.next ? { next: v.next.at, local: v.next.local } : {}) }).toEqual(expected);
});

test("the refusal names why and the next window; none within 400 days says so; inside a window there is none", () => {
    expect(windowRefusal(berlin(), new Date("2026-12-12T10:00:00Z"))).toBe(
        "a promotion is allowed only inside a change window: sat 2026-12-12 11:00 Europe/Berlin is outside every weekly change window; the next window opens mon 2026-12-14 09:00 Europe/Berlin (2026-12-14T08:00:00Z); a rollback is always allowed",
    );
    expect(windowRefusal(berlin({ freeze: [{ from: "2026-12-20", to: "2027-01-06", reason: "year-end freeze" }] }), new Date("2026-12-21T08:30:00Z"))).toBe(
        "a promotion is allowed only inside a change window: 2026-12-21 is in the change freeze 2026-12-20 to 2027-01-06 (year-end freeze); the next window opens thu 2027-01-07 09:00 Europe/Berlin (2027-01-07T08:00:00Z); a rollback is always allowed",
    );
    expect(windowRefusal(berlin({ freeze: [{ from: "2026-01-01", to: "2028-12-31" }] }), new Date("2026-12-07T08:30:00Z"))).toBe(
        "a promotion is allowed only inside a change window: 2026-12-07 is in the change freeze 2026-01-01 to 2028-12-31; no window opens within 400 days; a rollback is always allowed",
    );
    expect(windowRefusal(berlin(), new Date("2026-12-07T08:30:00Z"))).toBeUndefined();
    expect(windowRefusal(undefined, new Date("2026-12-12T10:00:00Z"))).toBeUndefined();
});

test("zonedInstant: a wall-clock time in the repeated hour of the autumn change is one of its two instants", () => {
    const t = zonedInstant("2026-10-25", 2 * 60 + 30, "Europe/Berlin");
    expect(["2026-10-25T00:30:00.000Z", "2026-10-25T01:30:00.000Z"]).toContain(new Date(t).toISOString());
});

test.each([
    [
        { timeZone: "Mars/Olympus", weekly: [{ days: ["mon"], start: "09:00", end: "10:00" }] },
        "timeZone: must be a time zone name the platform knows (an IANA name such as Europe/Berlin, or UTC)",
    ],
    [{ timeZone: "UTC", weekly: [{ days: ["mon"], start: "9:00", end: "10:00" }] }, "weekly.0.start: must be a time HH:MM (00:00 to 23:59)"],
    [{ timeZone: "UTC", weekly: [{ days: ["mon"], start: "10:00", end: "09:00" }] }, "weekly.0: end must be after start (a window lies within one day)"],
    [
        { timeZone: "UTC", weekly: [{ days: ["monday"], start: "09:00", end: "10:00" }] },
        "weekly.0.days.0: Invalid enum value. Expected 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun', received 'monday'",
    ],
    [{ timeZone: "UTC", weekly: [] }, "weekly: must list at least one weekly window"],
    [
        { timeZone: "UTC", weekly: [{ days: ["mon"], start: "09:00", end: "10:00" }], freeze: [{ from: "2027-01-06", to: "2026-12-20" }] },
        "freeze.0: to must not be before from",
    ],
])("refused: %j", (value, message) => {
    const r = WindowsSchema.safeParse(value);
    expect(r.success).toBe(false);
    if (!r.success) expect(r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual([message]);
});

describe("the program: a promotion outside a window is refused before anything is registered; a rollback is not; the record carries the windows", () => {
    const windows = { timeZone: "Europe/Berlin", weekly: [{ days: ["mon"], start: "09:00", end: "16:00" }] };
    const cfg = (phase: string) =>
        localConfig(
            { sandboxDir: "/nonexistent", debPath: "/nonexistent.deb", sha256: "0".repeat(64), version: "0.4.2-1", phase },
            { windows: JSON.stringify(windows) },
        );
    const ok = { summary: "", reasons: [] };
    test("outside: the promotion's error names pve-migration:windows and the next window", () => {
        expect(guardErrors(cfg("rust-read-only"), "perl-only", undefined, ok, new Date("2026-12-12T10:00:00Z"))).toEqual([
            "pve-migration:windows: a promotion is allowed only inside a change window: sat 2026-12-12 11:00 Europe/Berlin is outside every weekly change window; the next window opens mon 2026-12-14 09:00 Europe/Berlin (2026-12-14T08:00:00Z); a rollback is always allowed",
        ]);
        expect(guardErrors(cfg("rust-read-only"), "perl-only", undefined, ok, new Date("2026-12-14T08:00:00Z"))).toEqual([]);
        expect(guardErrors(cfg("perl-only"), "rust-read-only", undefined, ok, new Date("2026-12-12T10:00:00Z"))).toEqual([]);
    });
    test("the transition record's windows keeper, only when set", () => {
        expect(JSON.parse(transitionRecord(cfg("rust-read-only"), "perl-only", "", undefined, "").windows!)).toEqual({ ...windows, freeze: [] });
        const plain = localConfig({ sandboxDir: "/nonexistent", debPath: "/nonexistent.deb", sha256: "0".repeat(64), version: "0.4.2-1" });
        expect("windows" in transitionRecord(plain, "perl-only", "", undefined, "")).toBe(false);
    });
});
