/**
 * Change windows (`pve-migration:windows`; README "Configure a stack", key `windows`): weekly windows in a time zone
 * and freeze dates. A promotion outside a window is refused by the program, the policy pack and
 * `migration-ctl check`, naming the next window; a rollback is always allowed. Pure.
 *
 * Local time comes from the platform's time zone database through Intl.DateTimeFormat (Node's full
 * ICU), so a window means the same wall-clock hours on both sides of a DST change. A window's start
 * that does not exist on a spring-forward day (02:30 in Europe/Berlin on the last Sunday of March)
 * opens as much later as the gap is long (03:30).
 */
import { z } from "zod";

export const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const TIME_RE = /^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$/;
const DATE_RE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/;

/** Whether `tz` is a time zone the platform knows (an IANA name such as Europe/Berlin, or UTC). */
export function isTimeZone(tz: string): boolean {
    try {
        new Intl.DateTimeFormat("en-US", { timeZone: tz });
        return true;
    } catch {
        return false;
    }
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

export const WindowsSchema = z
    .object({
        timeZone: z.string().refine(isTimeZone, "must be a time zone name the platform knows (an IANA name such as Europe/Berlin, or UTC)"),
        weekly: z
            .array(
                z
                    .object({
                        days: z.array(z.enum(WEEKDAYS)).min(1, "must name at least one day (mon ... sun)"),
                        start: z.string().regex(TIME_RE, "must be a time HH:MM (00:00 to 23:59)"),
                        end: z.string().regex(TIME_RE, "must be a time HH:MM (00:01 to 24:00)"),
                    })
                    .strict()
                    .refine(
                        (w) => !TIME_RE.test(w.start) || !TIME_RE.test(w.end) || minutesOf(w.end) > minutesOf(w.start),
                        "end must be after start (a window lies within one day)",
                    ),
            )
            .min(1, "must list at least one weekly window"),
        freeze: z
            .array(
                z
                    .object({
                        from: z.string().regex(DATE_RE, "must be a date YYYY-MM-DD"),
                        to: z.string().regex(DATE_RE, "must be a date YYYY-MM-DD"),
                        reason: z.string().max(200).optional(),
                    })
                    .strict()
                    .refine((f) => f.to >= f.from, "to must not be before from"),
            )
            .default([]),
    })
    .strict();

export type Windows = z.infer<typeof WindowsSchema>;

interface LocalParts {
    /** YYYY-MM-DD */
    readonly date: string;
    readonly weekday: Weekday;
    /** Minutes since local midnight. */
    readonly minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string): Intl.DateTimeFormat {
    let f = formatters.get(tz);
    if (!f) {
        f = new Intl.DateTimeFormat("en-US", {
            timeZone: tz,
            hourCycle: "h23",
            year: "numeric",
            month: "2-digit",
            day: "2-digit",
            hour: "2-digit",
            minute: "2-digit",
            second: "2-digit",
        });
        formatters.set(tz, f);
    }
    return f;
}

/** The wall-clock date, weekday and time of instant `t` in `tz`. */
export function localParts(t: Date, tz: string): LocalParts {
    const p = Object.fromEntries(
        formatter(tz)
            .formatToParts(t)
            .map((x) => [x.type, x.value]),
    );
    const date = `${p.year}-${p.month}-${p.day}`;
    return { date, weekday: weekdayOf(date), minutes: Number(p.hour) * 60 + Number(p.minute) };
}

/** The weekday of a calendar date (the same everywhere). */
function weekdayOf(date: string): Weekday {
    const d = new Date(`${date}T00:00:00Z`).getUTCDay(); // 0 Sunday
    return WEEKDAYS[(d + 6) % 7];
}

function addDays(date: string, n: number): string {
    const d = new Date(`${date}T00:00:00Z`);
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
}

/** The offset of `tz` from UTC at instant `t`, ms (positive east of Greenwich). */
function offsetMs(t: number, tz: string): number {
    const p = Object.fromEntries(
        formatter(tz)
            .formatToParts(new Date(t))
            .map((x) => [x.type, x.value]),
    );
    const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute), Number(p.second));
    return asUtc - (t - (t % 1000));
}

/**
 * The instant the wall clock of `tz` shows `minutes` past midnight of `date`; on a day whose DST
 * change skips that time, the same time shifted by the gap (02:30 in a skipped hour: 03:30).
 */
export function zonedInstant(date: string, minutes: number, tz: string): number {
    const wall = Date.parse(`${date}T00:00:00Z`) + minutes * 60_000;
    // Two rounds settle the offset (the guess and the offset at the guess); a time in a spring-forward
    // gap matches neither offset, and the later of the two candidates lies after the gap.
    const first = wall - offsetMs(wall, tz);
    const second = wall - offsetMs(first, tz);
    if (second === first) return first;
    const third = wall - offsetMs(second, tz);
    return third === second ? second : Math.max(first, second);
}

function frozen(w: Windows, date: string): Windows["freeze"][number] | undefined {
    return w.freeze.find((f) => f.from <= date && date <= f.to);
}

export interface WindowVerdict {
    readonly open: boolean;
    /** Why it is closed: a freeze, or outside every weekly window. */
    readonly reason?: string;
    /** When the next window opens (none within 400 days: undefined). */
    readonly next?: { readonly at: string; readonly local: string };
}

function describe(t: number, tz: string): string {
    const p = localParts(new Date(t), tz);
    const hh = String(Math.floor(p.minutes / 60)).padStart(2, "0");
    const mm = String(p.minutes % 60).padStart(2, "0");
    return `${p.weekday} ${p.date} ${hh}:${mm} ${tz}`;
}

/** Whether instant `t` is inside a change window, and if not, why and when the next one opens. */
export function windowVerdict(w: Windows, t: Date): WindowVerdict {
    const tz = w.timeZone;
    const now = localParts(t, tz);
    const freeze = frozen(w, now.date);
    const inWeekly = w.weekly.some((x) => x.days.includes(now.weekday) && minutesOf(x.start) <= now.minutes && now.minutes < minutesOf(x.end));
    if (!freeze && inWeekly) return { open: true };
    const reason = freeze
        ? `${now.date} is in the change freeze ${freeze.from} to ${freeze.to}${freeze.reason ? ` (${freeze.reason})` : ""}`
        : `${describe(t.getTime(), tz)} is outside every weekly change window`;
    for (let d = 0; d <= 400; d++) {
        const date = addDays(now.date, d);
        if (frozen(w, date)) continue;
        const day = weekdayOf(date);
        const starts = w.weekly
            .filter((x) => x.days.includes(day))
            .map((x) => zonedInstant(date, minutesOf(x.start), tz))
            .filter((s) => s > t.getTime())
            .sort((a, b) => a - b);
        if (starts.length > 0)
            return { open: false, reason, next: { at: new Date(starts[0]).toISOString().replace(/\.000Z$/, "Z"), local: describe(starts[0], tz) } };
    }
    return { open: false, reason };
}

/** The refusal of a promotion at `t`, or undefined when it may go (a rollback always may: the caller asks only for promotions). */
export function windowRefusal(w: Windows | undefined, t: Date): string | undefined {
    if (w === undefined) return undefined;
    const v = windowVerdict(w, t);
    if (v.open) return undefined;
    return `a promotion is allowed only inside a change window: ${v.reason}; ${v.next ? `the next window opens ${v.next.local} (${v.next.at})` : "no window opens within 400 days"}; a rollback is always allowed`;
}
