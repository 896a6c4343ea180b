import {
    BlueGreenConfig,
    applyColorFragment,
    colorStatus,
    effectiveReplicas,
    flipColor,
    formatColorStatus,
    idleReplicas,
    idleScaleDownAt,
    parseBlueGreenConfig,
    setColor,
    setRollbackTarget,
    validateFlip,
} from "../../components/bluegreen";
import { edited, exampleBlueGreen } from "./helpers";

const prodRaw = exampleBlueGreen("prod");
const T = "2025-06-01T10:00:00Z";
const at = (seconds: number) => new Date(Date.parse(T) + seconds * 1000);

/** prod after `color flip` at T: green active, blue idle (3 replicas, 0.4.2), delay 3600 s. */
const flippedRaw = edited(prodRaw, (c) => {
    c.activeColor = "green";
    c.lastFlip = { at: T, from: "blue", version: "0.4.2", imageTag: "0.4.2" };
});
const cfg = (raw: unknown, edit: (c: any) => void = () => undefined): BlueGreenConfig => parseBlueGreenConfig(edited(raw, edit));

describe("idleReplicas (idle color: blue after the flip at T, 3 replicas, delay 3600 s)", () => {
    const rows: [string, BlueGreenConfig, Date, number][] = [
        ["never flipped: kept", cfg(prodRaw), at(365 * 86400), 3],
        ["flipped, rollbackTarget not set (held by default): kept", cfg(flippedRaw), at(86400), 3],
        ["flipped, rollbackTarget true: kept a day later", cfg(flippedRaw, (c) => (c.rollbackTarget = true)), at(86400), 3],
        ["released, 1 s before the delay: kept", cfg(flippedRaw, (c) => (c.rollbackTarget = false)), at(3599), 3],
        ["released, at the delay: 0", cfg(flippedRaw, (c) => (c.rollbackTarget = false)), at(3600), 0],
        ["released, long after: 0", cfg(flippedRaw, (c) => (c.rollbackTarget = false)), at(30 * 86400), 0],
        ["released, clock before the flip: kept", cfg(flippedRaw, (c) => (c.rollbackTarget = false)), at(-10), 3],
        [
            "released, new version deployed to the idle color: kept",
            cfg(flippedRaw, (c) => {
                c.rollbackTarget = false;
                c.releases.blue.version = "0.6.0";
                c.releases.blue.imageTag = "0.6.0";
            }),
            at(7200),
            3,
        ],
        [
            "released, only the image tag changed: kept",
            cfg(flippedRaw, (c) => {
                c.rollbackTarget = false;
                c.releases.blue.imageTag = "0.4.2-rebuild1";
            }),
            at(7200),
            3,
        ],
        [
            "hand-edited flip (lastFlip.from is now the active color): kept",
            cfg(flippedRaw, (c) => {
                c.rollbackTarget = false;
                c.activeColor = "blue";
            }),
            at(7200),
            3,
        ],
        [
            "delay 0: 0 at the flip",
            cfg(flippedRaw, (c) => {
                c.rollbackTarget = false;
                c.idleScaleDownAfterSeconds = 0;
            }),
            at(0),
            0,
        ],
        ["idle color has no release: 0", cfg(prodRaw, (c) => delete c.releases.green), at(0), 0],
        ["idle color configured at 0, not held: 0", cfg(prodRaw, (c) => (c.releases.green.replicas = 0)), at(0), 0],
    ];
    test.each(rows)("%s", (_name, config, now, expected) => {
        expect(idleReplicas(config, now)).toBe(expected);
    });

    test("the active color always runs its replicas", () => {
        const released = cfg(flippedRaw, (c) => (c.rollbackTarget = false));
        expect(effectiveReplicas(released, at(3599))).toEqual({ green: 3, blue: 3 });
        expect(effectiveReplicas(released, at(3600))).toEqual({ green: 3, blue: 0 });
        expect(idleScaleDownAt(released)).toEqual(at(3600));
        expect(idleScaleDownAt(cfg(flippedRaw))).toBeUndefined();
    });
});

describe("validateFlip", () => {
    const released = cfg(flippedRaw, (c) => (c.rollbackTarget = false));
    const rows: [string, BlueGreenConfig, string, Date, string[]][] = [
        ["to the idle color, running", cfg(prodRaw), "green", at(0), []],
        ["to the active color (no change)", cfg(prodRaw), "blue", at(0), []],
        ["unknown color", cfg(prodRaw), "red", at(0), ['unknown color "red": must be blue or green']],
        [
            "to a color with no release",
            cfg(prodRaw, (c) => delete c.releases.green),
            "green",
            at(0),
            ["cannot flip to green: it has no release (pve-migration:blueGreen.releases.green is not set)"],
        ],
        [
            "to a color with zero replicas",
            cfg(prodRaw, (c) => (c.releases.green.replicas = 0)),
            "green",
            at(0),
            ["cannot flip to green: pve-migration:blueGreen.releases.green.replicas is 0"],
        ],
        ["back to the released color before its scale-down", released, "blue", at(3599), []],
        [
            "back to the released color after its scale-down",
            released,
            "blue",
            at(3600),
            [
                "cannot flip to blue: it was scaled down at 2025-06-01T11:00:00Z (idle, not the rollback target); " +
                    "set pve-migration:blueGreen.rollbackTarget to true and run pulumi up to bring it back first",
            ],
        ],
    ];
    test.each(rows)("%s", (_name, config, to, now, expected) => {
        expect(validateFlip(config, to, now)).toEqual(expected);
    });
});

describe("setColor / flipColor", () => {
    test("flip from the example prod stack records the flip and holds the old color", () => {
        expect(flipColor(cfg(prodRaw), new Date("2025-06-01T10:00:00.789Z"))).toEqual({
            changed: true,
            fragment: {
                activeColor: "green",
                lastFlip: { at: T, from: "blue", version: "0.4.2", imageTag: "0.4.2" },
                rollbackTarget: true,
            },
            message:
                "pve-migration:blueGreen.activeColor: blue -> green at 2025-06-01T10:00:00Z; blue (0.4.2) is the rollback target " +
                "until pve-migration:blueGreen.rollbackTarget is set to false, then scales down 3600s after the flip",
        });
    });

    test("flip back (rollback) records the color traffic left", () => {
        const change = flipColor(
            cfg(flippedRaw, (c) => (c.releases.green.version = "0.5.0")),
            at(600),
        );
        expect(change.fragment).toEqual({
            activeColor: "blue",
            lastFlip: { at: "2025-06-01T10:10:00Z", from: "green", version: "0.5.0", imageTag: "0.4.2" },
            rollbackTarget: true,
        });
    });

    test("set to the active color changes nothing", () => {
        const c = cfg(flippedRaw, (x) => (x.rollbackTarget = false));
        expect(setColor(c, "green", at(10))).toEqual({
            changed: false,
            fragment: { activeColor: "green", lastFlip: { at: T, from: "blue", version: "0.4.2", imageTag: "0.4.2" }, rollbackTarget: false },
            message: "pve-migration:blueGreen.activeColor is already green; nothing to change",
        });
    });

    test("set to an unknown color or a color without replicas is refused", () => {
        expect(() => setColor(cfg(prodRaw), "purple", at(0))).toThrow('unknown color "purple": must be blue or green');
        expect(() =>
            flipColor(
                cfg(prodRaw, (c) => (c.releases.green.replicas = 0)),
                at(0),
            ),
        ).toThrow("cannot flip to green: pve-migration:blueGreen.releases.green.replicas is 0");
    });
});

describe("setRollbackTarget", () => {
    test("release: says when the idle color scales down", () => {
        expect(setRollbackTarget(cfg(flippedRaw), false)).toEqual({
            changed: true,
            fragment: { activeColor: "green", lastFlip: { at: T, from: "blue", version: "0.4.2", imageTag: "0.4.2" }, rollbackTarget: false },
            message:
                "pve-migration:blueGreen.rollbackTarget: false; blue is no longer the rollback target and scales down on the first pulumi up at or after 2025-06-01T11:00:00Z",
        });
    });
    test("hold again after a scale-down brings the replicas back", () => {
        const released = cfg(flippedRaw, (c) => (c.rollbackTarget = false));
        const change = setRollbackTarget(released, true);
        expect(change.message).toBe("pve-migration:blueGreen.rollbackTarget: true; blue is kept at 3 replica(s) as the rollback target");
        expect(idleReplicas({ ...released, ...change.fragment }, at(7200))).toBe(3);
    });
    test("cannot hold a color without release", () => {
        expect(() =>
            setRollbackTarget(
                cfg(prodRaw, (c) => delete c.releases.green),
                true,
            ),
        ).toThrow("cannot hold green as the rollback target: pve-migration:blueGreen.releases.green is not set");
    });
});

describe("applyColorFragment", () => {
    test("writes only the color keys into the raw object, defaults stay unexpanded", () => {
        const raw = exampleBlueGreen("canary-a");
        const out = applyColorFragment(raw, flipColor(parseBlueGreenConfig(raw), at(0)).fragment);
        expect(out).toEqual({
            ...raw,
            activeColor: "green",
            lastFlip: { at: T, from: "blue", version: "0.4.2", imageTag: "0.4.2" },
            rollbackTarget: true,
        });
        expect(Object.keys(out)).toEqual(["namespace", "image", "activeColor", "releases", "idleScaleDownAfterSeconds", "lastFlip", "rollbackTarget"]);
    });
    test("an undefined key is removed", () => {
        const raw = edited(flippedRaw, (c) => (c.rollbackTarget = false));
        const out = applyColorFragment(raw, { activeColor: "green", lastFlip: undefined, rollbackTarget: undefined });
        expect("lastFlip" in out).toBe(false);
        expect("rollbackTarget" in out).toBe(false);
        expect(out.activeColor).toBe("green");
    });
    test("a result that is not valid is refused", () => {
        const raw = edited(prodRaw, (c) => delete c.releases.green);
        expect(() => applyColorFragment(raw, { activeColor: "green", lastFlip: undefined, rollbackTarget: undefined })).toThrow(
            "invalid stack config:\n  pve-migration:blueGreen.activeColor: green has no release (pve-migration:blueGreen.releases.green is not set)",
        );
    });
});

describe("colorStatus (color get)", () => {
    test("after a released flip, past the delay", () => {
        const c = cfg(flippedRaw, (x) => {
            x.rollbackTarget = false;
            x.releases.green.version = "0.5.0";
            x.releases.green.imageTag = "0.5.0";
        });
        const s = colorStatus(c, at(4000));
        expect(s).toEqual({
            activeColor: "green",
            idleColor: "blue",
            colors: {
                blue: { version: "0.4.2", imageTag: "0.4.2", replicas: 3, effectiveReplicas: 0 },
                green: { version: "0.5.0", imageTag: "0.5.0", replicas: 3, effectiveReplicas: 3 },
            },
            rollbackTarget: null,
            lastFlip: { at: T, from: "blue", version: "0.4.2", imageTag: "0.4.2" },
            idleScaleDownAt: "2025-06-01T11:00:00Z",
        });
        expect(formatColorStatus(s)).toBe(
            [
                "active: green",
                "blue: idle, version 0.4.2, image tag 0.4.2, replicas 3 (scaled down to 0)",
                "green: active, version 0.5.0, image tag 0.5.0, replicas 3",
                "last flip: 2025-06-01T10:00:00Z from blue (0.4.2)",
                "idle scale-down: 2025-06-01T11:00:00Z",
            ].join("\n"),
        );
    });
    test("single color, never flipped", () => {
        const s = colorStatus(
            cfg(prodRaw, (c) => delete c.releases.green),
            at(0),
        );
        expect(formatColorStatus(s)).toBe(
            ["active: blue", "blue: active, version 0.4.2, image tag 0.4.2, replicas 3", "green: no release", "last flip: none recorded"].join("\n"),
        );
        expect(s.rollbackTarget).toBeNull();
    });
    test("held rollback target is named", () => {
        const s = colorStatus(cfg(flippedRaw), at(10));
        expect(s.rollbackTarget).toBe("blue");
        expect(formatColorStatus(s).split("\n")[1]).toBe("blue: idle, rollback target, version 0.4.2, image tag 0.4.2, replicas 3");
    });
});
