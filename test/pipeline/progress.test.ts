/**
 * The terminal progress display (components/pipeline/progress.ts): the state step events leave,
 * the exact lines drawn from it for a time and a width, and the exact bytes ProgressDisplay
 * writes to a fake stream.
 */
import * as fs from "fs";
import * as path from "path";
import type { EngineEvent } from "../../components/automation";
import { EventMapper, PipelineEvent, StepEvent } from "../../components/pipeline/events";
import { EMPTY_PROGRESS, ProgressDisplay, ProgressState, applyEvent, renderProgress } from "../../components/pipeline/progress";

const SPU = ["snapshot", "package", "units"];
const SV = ["services", "verify"];
const at = (s: number) => `2026-12-07T10:00:${String(s).padStart(2, "0")}Z`;
const ms = (s: number) => Date.parse(at(s));

/** A step event of pve<n>'s command (the keys the display reads, the others as the mapper sends them). */
function ev(
    event: StepEvent["event"],
    node: string,
    resource: string,
    steps: string[],
    t: number,
    extra: { error?: string | null; durationSeconds?: number } = {},
): StepEvent {
    const head = { type: "step" as const, node, cluster: false, resource, steps, op: "create" };
    switch (event) {
        case "planned":
        case "started":
            return { ...head, event, at: at(t) };
        case "finished":
            return { ...head, event, result: "ok", durationSeconds: null, log: [], at: at(t) };
        case "failed":
            return { ...head, event, result: "failed", durationSeconds: null, log: [], error: extra.error ?? null, at: at(t) };
        case "interrupted":
            return { ...head, event, durationSeconds: extra.durationSeconds ?? 0, at: at(t) };
    }
}

const fold = (events: PipelineEvent[]): ProgressState => events.reduce(applyEvent, EMPTY_PROGRESS);

const ERROR = "exit status 3: running \"/bin/sh -c 'pve-migration-run snapshot package units'\":\npve-migration package on pve2: dpkg --install failed (exit 1)";

// pve1 runs services and verify since 10:00:43; pve2's first command failed; pve3 is through both commands.
const MIXED: PipelineEvent[] = [
    ev("started", "pve1", "pve1-snapshot-package-units", SPU, 3),
    ev("started", "pve2", "pve2-snapshot-package-units", SPU, 3),
    ev("started", "pve3", "pve3-snapshot-package-units", SPU, 3),
    { type: "diagnostic", severity: "error", node: "pve2", resource: "pve2-snapshot-package-units", message: ERROR },
    ev("failed", "pve2", "pve2-snapshot-package-units", SPU, 12, { error: ERROR }),
    ev("finished", "pve1", "pve1-snapshot-package-units", SPU, 30),
    ev("finished", "pve3", "pve3-snapshot-package-units", SPU, 31),
    ev("started", "pve1", "pve1-services-verify", SV, 43),
    ev("started", "pve3", "pve3-services-verify", SV, 43),
    ev("finished", "pve3", "pve3-services-verify", SV, 50),
];

describe("applyEvent", () => {
    test("step events build the nodes in the order they come, each command's last status; other events change nothing", () => {
        expect(fold(MIXED)).toEqual({
            nodes: [
                {
                    node: "pve1",
                    steps: [
                        { resource: "pve1-snapshot-package-units", steps: SPU, status: "ok" },
                        { resource: "pve1-services-verify", steps: SV, status: "running", startedAt: ms(43) },
                    ],
                },
                {
                    node: "pve2",
                    steps: [
                        {
                            resource: "pve2-snapshot-package-units",
                            steps: SPU,
                            status: "failed",
                            error: "exit status 3: running \"/bin/sh -c 'pve-migration-run snapshot package units'\":",
                        },
                    ],
                },
                {
                    node: "pve3",
                    steps: [
                        { resource: "pve3-snapshot-package-units", steps: SPU, status: "ok" },
                        { resource: "pve3-services-verify", steps: SV, status: "ok" },
                    ],
                },
            ],
        });
    });

    test("a non-step event returns the state itself; the state given is not changed", () => {
        const s = fold([ev("started", "pve1", "pve1-snapshot-package-units", SPU, 3)]);
        const copy = JSON.parse(JSON.stringify(s));
        expect(applyEvent(s, { type: "diagnostic", severity: "info", message: "m" })).toBe(s);
        applyEvent(s, ev("failed", "pve1", "pve1-snapshot-package-units", SPU, 9));
        expect(s).toEqual(copy);
    });
});

describe("renderProgress", () => {
    test("running (seconds since its start), failed (the error's first line), done (steps counted), totals", () => {
        expect(renderProgress(fold(MIXED), ms(55), 200)).toEqual([
            "pve1  ▸ services, verify  12s",
            "pve2  ✗ pve2-snapshot-package-units failed: exit status 3: running \"/bin/sh -c 'pve-migration-run snapshot package units'\":",
            "pve3  ✓ 5 steps done",
            "3 nodes: 1 running, 1 done, 1 failed",
        ]);
    });

    test("a preview: every step kind planned on the node, the cluster step under its writer node", () => {
        const state = fold([
            ev("planned", "pve1", "pve1-snapshot-package-units", SPU, 1),
            { ...ev("planned", "pve1", "dev-lab-cluster-config", ["cluster-config"], 1), cluster: true },
            ev("planned", "pve2", "pve2-services-verify", SV, 1),
            ev("planned", "pve1", "pve1-services-verify", SV, 1),
        ]);
        expect(renderProgress(state, ms(2), 200)).toEqual([
            "pve1  · planned: snapshot, package, units, cluster-config, services, verify",
            "pve2  · planned: services, verify",
            "2 nodes: 2 planned",
        ]);
    });

    test("interrupted, a failure without error text, one step, names padded to the longest, no step yet", () => {
        const state = fold([
            ev("started", "pve1", "pve1-config", ["config"], 0),
            ev("finished", "pve1", "pve1-config", ["config"], 4),
            ev("started", "pve10", "pve10-snapshot-package-units", SPU, 2),
            ev("interrupted", "pve10", "pve10-snapshot-package-units", SPU, 41, { durationSeconds: 39 }),
            ev("started", "n3", "n3-verify", ["verify"], 2),
            ev("failed", "n3", "n3-verify", ["verify"], 5),
        ]);
        expect(renderProgress(state, ms(50), 200)).toEqual([
            "pve1   ✓ 1 step done",
            "pve10  ✗ pve10-snapshot-package-units interrupted after 39s",
            "n3     ✗ n3-verify failed",
            "3 nodes: 1 done, 1 failed, 1 interrupted",
        ]);
        expect(renderProgress(EMPTY_PROGRESS, ms(0), 80)).toEqual(["no step yet"]);
    });

    test("two commands of a node running: both commands' steps, seconds since the earlier start; a clock behind the start shows 0s", () => {
        const state = fold([ev("started", "pve1", "pve1-a", ["snapshot"], 10), ev("started", "pve1", "pve1-b", ["package"], 20)]);
        expect([renderProgress(state, ms(25), 80), renderProgress(state, ms(5), 80)]).toEqual([
            ["pve1  ▸ snapshot, package  15s", "1 node: 1 running"],
            ["pve1  ▸ snapshot, package  0s", "1 node: 1 running"],
        ]);
    });

    test("lines are cut to the width (characters, not bytes)", () => {
        expect(renderProgress(fold(MIXED), ms(55), 18)).toEqual(["pve1  ▸ services, ", "pve2  ✗ pve2-snaps", "pve3  ✓ 5 steps do", "3 nodes: 1 running"]);
        expect(renderProgress(fold(MIXED), ms(55), 7)).toEqual(["pve1  ▸", "pve2  ✗", "pve3  ✓", "3 nodes"]);
    });

    test("from the mapper: the hand-written stream that fails on pve2 ends as three lines and the totals", () => {
        const commands = ["pve1", "pve2", "pve3"].map((n) => ({ id: `${n}-snapshot-package-units`, node: n, cluster: false, steps: SPU }));
        const m = new EventMapper({ commands });
        const text = fs.readFileSync(path.join(__dirname, "fixtures", "project-up-failed-pve2.jsonl"), "utf8");
        const events = text
            .split("\n")
            .filter((l) => l !== "")
            .flatMap((l) => m.map(JSON.parse(l) as EngineEvent));
        expect(renderProgress(fold(events), ms(31), 200)).toEqual([
            "pve1  ✓ 3 steps done",
            "pve2  ✗ pve2-snapshot-package-units failed: exit status 3: running \"/bin/sh -c 'pve-migration-run snapshot package units'\":",
            "pve3  ✓ 3 steps done",
            "3 nodes: 2 done, 1 failed",
        ]);
    });
});

describe("ProgressDisplay on a fake stream", () => {
    function display(width = 80) {
        const writes: string[] = [];
        let now = ms(3);
        const d = new ProgressDisplay({ write: (s) => writes.push(s) }, { now: () => now, width: () => width });
        return { d, writes, setNow: (s: number) => (now = ms(s)) };
    }

    test("the first draw writes the lines; each redraw goes up over them and rewrites each after erasing it", () => {
        const { d, writes, setNow } = display();
        d.update(ev("started", "pve1", "pve1-snapshot-package-units", SPU, 3));
        setNow(5);
        d.update(ev("started", "pve2", "pve2-snapshot-package-units", SPU, 4));
        setNow(30);
        d.update(ev("finished", "pve1", "pve1-snapshot-package-units", SPU, 30));
        expect(writes).toEqual([
            "\x1b[2Kpve1  ▸ snapshot, package, units  0s\n\x1b[2K1 node: 1 running\n",
            "\x1b[2A\x1b[2Kpve1  ▸ snapshot, package, units  2s\n\x1b[2Kpve2  ▸ snapshot, package, units  1s\n\x1b[2K2 nodes: 2 running\n",
            "\x1b[3A\x1b[2Kpve1  ✓ 3 steps done\n\x1b[2Kpve2  ▸ snapshot, package, units  26s\n\x1b[2K2 nodes: 1 running, 1 done\n",
        ]);
    });

    test("refresh redraws only when the lines changed (the seconds); events that are not steps write nothing", () => {
        const { d, writes, setNow } = display();
        d.update(ev("started", "pve1", "pve1-snapshot-package-units", SPU, 3));
        setNow(3);
        d.refresh();
        d.update({ type: "diagnostic", severity: "warning", node: "pve1", resource: "pve1-snapshot-package-units", message: "slow" });
        setNow(4);
        d.refresh();
        expect(writes).toEqual([
            "\x1b[2Kpve1  ▸ snapshot, package, units  0s\n\x1b[2K1 node: 1 running\n",
            "\x1b[2A\x1b[2Kpve1  ▸ snapshot, package, units  1s\n\x1b[2K1 node: 1 running\n",
        ]);
    });

    test("finish writes the final state once more, even unchanged, and then nothing is written", () => {
        const { d, writes, setNow } = display(20);
        d.update(ev("started", "pve1", "pve1-verify", ["verify"], 3));
        setNow(9);
        d.update(ev("finished", "pve1", "pve1-verify", ["verify"], 9));
        d.finish();
        d.update(ev("started", "pve2", "pve2-verify", ["verify"], 10));
        d.refresh();
        d.finish();
        expect(writes).toEqual([
            "\x1b[2Kpve1  ▸ verify  0s\n\x1b[2K1 node: 1 running\n",
            "\x1b[2A\x1b[2Kpve1  ✓ 1 step done\n\x1b[2K1 node: 1 done\n",
            "\x1b[2A\x1b[2Kpve1  ✓ 1 step done\n\x1b[2K1 node: 1 done\n",
        ]);
    });

    test("finish with nothing drawn writes the empty state's line without moving up", () => {
        const { d, writes } = display();
        d.finish();
        expect(writes).toEqual(["\x1b[2Kno step yet\n"]);
    });
});
