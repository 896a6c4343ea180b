/**
 * Figure 5 of the benchmarks (the rollback on the node lab): its pure parts, on given samples
 * (bench/report.ts labStepRows, the verdict row and section 5 of renderResults). The lab run
 * itself is bench/lab-child.ts, measured by `npm run bench` where the lab can start. And figure 6
 * (the test suite with workers beside --runInBand, bench/suite.ts): its row and section from a
 * given result, and the summary line it reads from each jest run. And figure 7 (a bad network
 * apply on the node lab, reachable again): bench/lab-revert.ts reachability on given probes, its
 * two verdict rows and section 7 from given samples. And figure 8 (the rollback guard, a trigger
 * holding in Prometheus to its action starting; measured by bench/guard.ts): its two verdict rows,
 * section 8 and the why of a missed target from given samples.
 */
import { summaryCounts } from "../../bench/suite";
import { GuardSample, LabRevertSample, LabRollbackSample, labStepRows, verdicts, BenchData, renderResults } from "../../bench/report";
import { labUnavailable } from "../../bench/lab-rollback";
import { guardUnavailable } from "../../bench/guard";
import { reachability } from "../../bench/lab-revert";

const sample = (wallMs: number, steps: [string, number, number][]): LabRollbackSample => ({
    nodes: 3,
    wallMs,
    steps: steps.map(([name, startMs, endMs]) => ({ name, startMs, endMs })),
});

const SAMPLES = [
    sample(6000, [
        ["pve1-snapshot", 400, 1100],
        ["pve2-snapshot", 410, 1200],
        ["pve-lab-cluster-config", 1210, 1600],
    ]),
    sample(5000, [
        ["pve2-snapshot", 300, 900],
        ["pve1-snapshot", 320, 1000],
        ["pve-lab-cluster-config", 1010, 1500],
    ]),
    sample(7000, [
        ["pve1-snapshot", 500, 1300],
        ["pve2-snapshot", 450, 1250],
        ["pve-lab-cluster-config", 1310, 1800],
    ]),
];

/** The smallest BenchData the verdicts and the lab section read (other figures not measured). */
function data(lab: BenchData["lab"], suite?: BenchData["suite"], labRevert?: BenchData["labRevert"], guard?: BenchData["guard"]): BenchData {
    return {
        date: new Date("2026-12-01T00:00:00Z"),
        argv: [],
        durationS: 1,
        machine: { cpuModel: "cpu", nproc: 2, memoryGiB: 4, node: "v24", os: "linux" },
        code: { commit: "abc", uncommitted: [] },
        digest: { start: "d", end: "d" },
        loadStart: 0,
        loadEnd: 0,
        runs: 3,
        cost: { from: "rust-full", to: "perl-only", sizes: [] },
        paths: { rollbacks: [], flip: { nodes: 3, changed: [], chain: ["a"], secondRunChanged: 0, problems: [] } },
        nodeSide: {
            runs: 0,
            samples: [],
            spawnFloor: { n: 1, median: 1, min: 1, max: 1 },
            collector: { n: 1, median: 1, min: 1, max: 1 },
            emptyStep: { n: 1, median: 1, min: 1, max: 1 },
            rollbackProcesses: [],
        },
        lab,
        suite,
        labRevert,
        guard,
    } as unknown as BenchData;
}

describe("figure 5: the rollback on the node lab", () => {
    test("labStepRows: start, end and duration per step over the runs, in order of median start", () => {
        expect(labStepRows(SAMPLES)).toEqual([
            {
                name: "pve1-snapshot",
                start: { n: 3, median: 400, min: 320, max: 500 },
                end: { n: 3, median: 1100, min: 1000, max: 1300 },
                duration: { n: 3, median: 700, min: 680, max: 800 },
            },
            {
                name: "pve2-snapshot",
                start: { n: 3, median: 410, min: 300, max: 450 },
                end: { n: 3, median: 1200, min: 900, max: 1250 },
                duration: { n: 3, median: 790, min: 600, max: 800 },
            },
            {
                name: "pve-lab-cluster-config",
                start: { n: 3, median: 1210, min: 1010, max: 1310 },
                end: { n: 3, median: 1600, min: 1500, max: 1800 },
                duration: { n: 3, median: 490, min: 390, max: 490 },
            },
        ]);
    });

    test("runs that ran other steps are refused", () => {
        const other = sample(5000, [["pve1-snapshot", 1, 2]]);
        expect(() => labStepRows([SAMPLES[0], other])).toThrow(
            "lab rollback run 2 ran other steps (pve1-snapshot) than run 1 (pve-lab-cluster-config, pve1-snapshot, pve2-snapshot)",
        );
    });

    test("the verdict row has no target; the section has the wall time and one row per step", () => {
        const d = data({ nodes: 3, samples: SAMPLES });
        expect(verdicts(d).find((v) => v.figure.startsWith("5."))).toEqual({
            figure: "5. Rollback rust-full → perl-only on the node lab, 3 nodes, wall time",
            target: "none set",
            measured: "6.00 [5.00–7.00] s",
            met: undefined,
            noTarget: true,
        });
        const text = renderResults(d);
        expect(text).toContain("| 5. Rollback rust-full → perl-only on the node lab, 3 nodes, wall time | none set | 6.00 [5.00–7.00] s | no target |\n");
        const section = text.slice(text.indexOf("## 5. Rollback on the node lab"), text.indexOf("## Missed targets"));
        expect(section).toContain("Wall time of the run (the program and every step): 6.00 [5.00–7.00] s; the last step ends at 1600 [1500–1800] ms.");
        expect(section.split("\n").filter((l) => l.startsWith("| pve"))).toEqual([
            "| pve1-snapshot | 400 [320–500] | 1100 [1000–1300] | 700 [680–800] |",
            "| pve2-snapshot | 410 [300–450] | 1200 [900–1250] | 790 [600–800] |",
            "| pve-lab-cluster-config | 1210 [1010–1310] | 1600 [1500–1800] | 490 [390–490] |",
        ]);
    });

    test("skipped: the row and the section say why", () => {
        const d = data({ skipped: "--no-lab" });
        expect(verdicts(d).find((v) => v.figure.startsWith("5."))?.measured).toBe("not measured (--no-lab)");
        expect(renderResults(d)).toContain(
            "## 5. Rollback on the node lab\n\nNot measured: --no-lab. It needs root, systemd-nspawn and debootstrap (lab/host.ts), and is left out with `--no-lab`.\n",
        );
    });

    test("labUnavailable says why the lab cannot start, or nothing where it can", () => {
        const why = labUnavailable();
        if (process.getuid?.() !== 0) expect(why).toBe("lab: the node lab needs root (systemd-nspawn, overlay mounts, a bridge); run it as root");
        else expect(why === undefined || /^lab: .* is missing: install /.test(why)).toBe(true);
    });
});

describe("figure 6: the test suite's wall time, workers beside --runInBand", () => {
    const run = (project: "unit" | "real" | "serial", mode: "workers" | "in band", args: string[], wallMs: number, tests: number) => ({
        project,
        mode,
        args,
        wallMs,
        tests,
    });
    const suite = {
        runs: [
            run("unit", "workers", ["--maxWorkers=100%"], 60_000, 1000),
            run("unit", "in band", ["--runInBand"], 100_000, 1000),
            run("real", "workers", ["--maxWorkers=2"], 200_000, 500),
            run("real", "in band", ["--runInBand"], 340_000, 500),
            run("serial", "in band", ["--runInBand"], 150_000, 60),
        ],
        workersMs: 410_000,
        inBandMs: 590_000,
    };

    test("the verdict row and the section: each run, both totals with the serial project in each", () => {
        const d = data({ skipped: "--no-lab" }, suite);
        expect(verdicts(d).find((v) => v.figure.startsWith("6."))).toEqual({
            figure: "6. Test suite wall time, parallel workers (as npm test runs it) vs --runInBand",
            target: "reported",
            measured: "410.00 s vs 590.00 s (workers: 31 % less)",
            met: undefined,
            noTarget: true,
        });
        const text = renderResults(d);
        const section = text.slice(text.indexOf("## 6. Test suite wall time"), text.indexOf("## Missed targets"));
        expect(section.split("\n").filter((l) => /^\| (unit|real|serial) /.test(l))).toEqual([
            "| unit | workers | --maxWorkers=100% | 1000 | 60.00 s |",
            "| unit | in band | --runInBand | 1000 | 100.00 s |",
            "| real | workers | --maxWorkers=2 | 500 | 200.00 s |",
            "| real | in band | --runInBand | 500 | 340.00 s |",
            "| serial | in band | --runInBand | 60 | 150.00 s |",
        ]);
        expect(section).toContain("Total with workers: 410.00 s; in band: 590.00 s (both with the serial project's 150.00 s): the workers take 31 % less.\n");
    });

    test("not measured: the row and the section say why", () => {
        const d = data({ skipped: "--no-lab" }, { skipped: "run with --suite" });
        expect(verdicts(d).find((v) => v.figure.startsWith("6."))?.measured).toBe("not measured (run with --suite)");
        expect(renderResults(d)).toContain("## 6. Test suite wall time\n\nNot measured: run with --suite.\n");
    });

    test("summaryCounts reads the summary reporter's line, and nothing else", () => {
        expect(summaryCounts("x\ntests: 12 passed, 0 failed, 1 skipped\n")).toEqual({ passed: 12, failed: 0, skipped: 1 });
        expect(summaryCounts("Tests: 12 passed, 12 total")).toBeUndefined();
    });
});

describe("figure 7: a bad network apply on the node lab, reachable again", () => {
    const rev = (reachableMs: number, unreachableMs: number, lastReachableMs: number, nodeRevertS: number, probes: [number, number, number]): LabRevertSample => ({
        node: "pve2",
        address: "10.181.0.12",
        confirmTimeoutS: 10,
        lastReachableMs,
        unreachableMs,
        reachableMs,
        nodeRevertS,
        probes: probes[0],
        failedProbes: probes[1],
        failedOutside: probes[2],
    });
    const REVERTS = [rev(12614, 140, -70, 11, [98, 61, 2]), rev(13786, 287, 100, 10, [111, 78, 5]), rev(12100, 200, -10, 11, [95, 60, 0])];

    test("reachability: the first failed probe after t0, the first success after it by its end, the last success before it", () => {
        const t0 = 1_000_000;
        const p = (start: number, end: number, ok: boolean) => ({ startedAt: t0 + start, endedAt: t0 + end, ok });
        const probes = [
            p(-600, -200, true),
            // Started before t0: its handshake was cut (outside the window).
            p(-300, 4700, false),
            p(-100, 250, true),
            p(150, 5150, false),
            p(350, 1350, false),
            // Started first, ends after the one that gives t1.
            p(11_300, 12_700, true),
            // Inside the window (started before the probe that gives t1).
            p(11_500, 12_500, false),
            // t1: the first success by its end.
            p(11_700, 12_400, true),
            // After the probe that gives t1 (outside the window).
            p(11_900, 12_900, false),
            p(12_100, 12_600, true),
        ];
        expect(reachability(probes, t0)).toEqual({ lastReachableMs: 250, unreachableMs: 150, reachableMs: 12_400, failedOutside: 2 });
        expect(reachability([...probes].reverse(), t0)).toEqual({ lastReachableMs: 250, unreachableMs: 150, reachableMs: 12_400, failedOutside: 2 });
    });

    test("reachability: never unreachable after t0, never back, or never seen reachable before, is an error", () => {
        const p = (start: number, end: number, ok: boolean) => ({ startedAt: start, endedAt: end, ok });
        expect(() => reachability([p(0, 100, true), p(200, 300, true)], 0)).toThrow(
            "no probe started after the apply failed (2 probes): the node never became unreachable",
        );
        expect(() => reachability([p(0, 100, true), p(200, 1200, false), p(400, 1400, false)], 0)).toThrow(
            "no probe succeeded after the first failed one (3 probes, the last started 400 ms after the apply)",
        );
        expect(() => reachability([p(0, 1000, false), p(200, 300, true)], 0)).toThrow(
            "no probe succeeded before the first failed one: the loop did not see the node reachable before the apply",
        );
    });

    test("the two verdict rows: reachable again against confirmTimeout + 15 s, the default timeout's bound against HA's 60 s", () => {
        const d = data({ skipped: "--no-lab" }, undefined, { nodes: 3, samples: REVERTS });
        expect(verdicts(d).filter((v) => v.figure.startsWith("7."))).toEqual([
            {
                figure: "7. Bad network apply on the node lab (management address left out), confirmTimeout 10 s: start of the apply → a new ssh connection succeeds",
                target: "≤ 25.00 s (confirmTimeout + 15 s), every run",
                measured: "12.61 [12.10–13.79] s",
                met: true,
            },
            {
                figure: "7. The same with the default confirmTimeout (30 s): 30 s + the measured (reachable − confirmTimeout)",
                target: "< 60.00 s (Proxmox HA's fencing window), every run",
                measured: "32.61 [32.10–33.79] s",
                met: true,
            },
        ]);
        const text = renderResults(d);
        expect(text).toContain(
            "| 7. Bad network apply on the node lab (management address left out), confirmTimeout 10 s: start of the apply → a new ssh connection succeeds | ≤ 25.00 s (confirmTimeout + 15 s), every run | 12.61 [12.10–13.79] s | met |\n" +
                "| 7. The same with the default confirmTimeout (30 s): 30 s + the measured (reachable − confirmTimeout) | < 60.00 s (Proxmox HA's fencing window), every run | 32.61 [32.10–33.79] s | met |\n",
        );
    });

    test("the section: the summary line and one row per run", () => {
        const text = renderResults(data({ skipped: "--no-lab" }, undefined, { nodes: 3, samples: REVERTS }));
        const section = text.slice(text.indexOf("## 7. Bad network apply on the node lab: reachable again"), text.indexOf("## Missed targets"));
        expect(section).toContain("with `network.confirmTimeout` = 10 s (the default is 30 s). ");
        expect(section).toContain("without its management interface (host0, 10.181.0.12)");
        expect(section).toContain("`ssh -o ConnectTimeout=1 root@10.181.0.12 true`");
        expect(section).toContain(
            "Reachable again (t1 − t0): 12.61 [12.10–13.79] s (target: within confirmTimeout + 15 s = 25.00 s in every run), 2.61 [2.10–3.79] s after the timeout. " +
                "The first failed connection started 200 [140–287] ms after t0 (the last one that succeeded among those started before it ended at -10 [-70–100] ms: a handshake can outlast the 200 ms between two connections, so that one can end after the first failed one started; the address was still there when it ended). " +
                "The node's own revert: 11 [10–11] s after its apply by its log. " +
                "With the default confirmTimeout of 30 s the same overhead gives 32.61 [32.10–33.79] s, against Proxmox HA's 60 s fencing window.\n",
        );
        expect(section.split("\n").filter((l) => /^\| (run|\d) /.test(l))).toEqual([
            "| run | last connection before (ms after t0) | first failed, its start (ms) | reachable again (ms) | with confirmTimeout 30 s (s) | node's revert by its log (s) | connections (failed; of them outside the window) |",
            "| 1 | -70 | 140 | 12614 | 32.61 | 11 | 98 (61; 2) |",
            "| 2 | 100 | 287 | 13786 | 33.79 | 10 | 111 (78; 5) |",
            "| 3 | -10 | 200 | 12100 | 32.10 | 11 | 95 (60; 0) |",
        ]);
    });

    test("a run past confirmTimeout + 15 s misses the first target, with its why; the default timeout's bound can still be met", () => {
        const d = data({ skipped: "--no-lab" }, undefined, { nodes: 3, samples: [REVERTS[0], rev(26_000, 300, 0, 25, [150, 120, 1])] });
        const v = verdicts(d).filter((x) => x.figure.startsWith("7."));
        expect(v.map((x) => [x.measured, x.met])).toEqual([
            ["19.31 [12.61–26.00] s", false],
            ["39.31 [32.61–46.00] s", true],
        ]);
        expect(renderResults(d)).toContain(
            "- **7. Bad network apply on the node lab (management address left out), confirmTimeout 10 s: start of the apply → a new ssh connection succeeds** (target ≤ 25.00 s (confirmTimeout + 15 s), every run, measured 19.31 [12.61–26.00] s).\n" +
                "  Why: the node answered a new connection 9.31 [2.61–16.00] s after its confirmTimeout of 10 s; by its own log it reverted 18 [11–25] s after its apply. ",
        );
    });

    test("runs of different confirmTimeouts are refused", () => {
        const d = data({ skipped: "--no-lab" }, undefined, { nodes: 3, samples: [REVERTS[0], { ...REVERTS[1], confirmTimeoutS: 30 }] });
        expect(() => verdicts(d)).toThrow("figure 7: the runs had different confirmTimeouts (10, 30 s)");
    });

    test("skipped: both rows and the section say why", () => {
        const d = data({ skipped: "--no-lab" }, undefined, { skipped: "--no-lab" });
        expect(
            verdicts(d)
                .filter((v) => v.figure.startsWith("7."))
                .map((v) => [v.measured, v.met]),
        ).toEqual([
            ["not measured (--no-lab)", undefined],
            ["not measured (--no-lab)", undefined],
        ]);
        expect(renderResults(d)).toContain(
            "## 7. Bad network apply on the node lab: reachable again\n\nNot measured: --no-lab. It runs on the node lab after section 5's runs (root, systemd-nspawn and debootstrap: lab/host.ts), and is left out with `--no-lab`.\n",
        );
        expect(verdicts(data({ skipped: "--no-lab" })).find((v) => v.figure.startsWith("7."))?.measured).toBe("not measured (no lab data)");
    });
});

describe("figure 8: the rollback guard, a trigger holding in Prometheus → the action starting", () => {
    const run = (raiseAfterEvaluationMs: number, holdMs: number, evaluationMs: number, queryMs: number, actMs: number, commitGitS: number): GuardSample => ({
        healthyBefore: 1,
        raiseAfterEvaluationMs,
        holdMs,
        evaluationMs,
        queryMs,
        actMs,
        commit: "b59e2118d411",
        commitGitS,
    });
    // Raised 5, 15 and 25 s after a healthy evaluation's start: the next one comes 25, 15 and 5 s after the raise.
    const RUNS = [run(5000, 1000, 25_010, 4, 25_060, 25), run(15_000, 1100, 15_012, 3, 15_058, 15), run(25_000, 900, 5011, 5, 5062, 5)];
    const figure = (samples: GuardSample[]): BenchData["guard"] => ({
        stack: "canary-b",
        node: "pve-east-02",
        intervalS: 30,
        scrapeIntervalS: 1,
        fallbackWindowS: 60,
        pollMs: 100,
        samples,
    });
    const section = (d: BenchData) => {
        const text = renderResults(d);
        return text.slice(text.indexOf("## 8. Rollback guard"), text.indexOf("## Missed targets"));
    };

    test("the two verdict rows: hold → action against scrape interval + 30 s, raise → action against the 5-minute RTO", () => {
        const d = data({ skipped: "--no-lab" }, undefined, undefined, figure(RUNS));
        expect(verdicts(d).filter((v) => v.figure.startsWith("8."))).toEqual([
            {
                figure: "8. Rollback guard (interval 30 s, Prometheus scrape 1 s): the fallback trigger holds in Prometheus → the guard's action starts",
                target: "≤ 31.00 s (scrape interval + 30 s), every run",
                measured: "13.96 [4.16–24.06] s",
                met: true,
            },
            {
                figure: "8. The same from the fallback counter's raise: raise → the guard's action starts",
                target: "< 300.00 s (the runbook's 5-minute RTO), every run",
                measured: "15.06 [5.06–25.06] s",
                met: true,
            },
        ]);
        expect(renderResults(d)).toContain(
            "| 8. Rollback guard (interval 30 s, Prometheus scrape 1 s): the fallback trigger holds in Prometheus → the guard's action starts | ≤ 31.00 s (scrape interval + 30 s), every run | 13.96 [4.16–24.06] s | met |\n" +
                "| 8. The same from the fallback counter's raise: raise → the guard's action starts | < 300.00 s (the runbook's 5-minute RTO), every run | 15.06 [5.06–25.06] s | met |\n",
        );
    });

    test("the section: the setup, the summary and one row per run", () => {
        const text = section(data({ skipped: "--no-lab" }, undefined, undefined, figure(RUNS)));
        expect(text).toContain(
            "canary-b (a node ring of one node, pve-east-02, at rust-read-only) given a `pve-migration:rollback` block: `automatic: true`, the default `interval` of 30 s, `triggers.fallbackWindow` 60 s, `triggers.healthCheckInterval` 1 s. ",
        );
        expect(text).toContain("(Debian's /usr/bin/prometheus on 127.0.0.1, `scrape_interval` 1 s, a fresh TSDB each run)");
        expect(text).toContain("3 run(s) (at most 3: each waits out at least one interval)");
        expect(text).toContain(
            "t_hold is the first moment Prometheus's own answer to the fallback trigger's query (`sum(increase(pve_network_fallback_total{...}[60s]))` > 0, asked by the bench every 100 ms from t_raise, each at the time it is asked) holds; t_act is when the stand-in up is called. " +
                "Hold → action (t_act − t_hold): 13.96 [4.16–24.06] s (target: at most the scrape interval + 30 s = 31.00 s in every run); raise → action (t_act − t_raise): 15.06 [5.06–25.06] s, against the runbook's 5-minute RTO (300.00 s). " +
                "The trigger held 1.00 [0.90–1.10] s after the raise (the next scrape, to the bench's 100 ms). " +
                "With an `interval` of 30 s the guard sees a trigger at its next evaluation: t_act − t_hold is spread over 0 to 30 s by where t_hold falls in the guard's schedule (the runs' spread above is that of their raises, not noise), plus that evaluation's queries (4 [3–5] ms) and the stack file edit and commit (46 [43–46] ms); a trigger that holds just after an evaluation started waits the whole interval.\n",
        );
        expect(text.split("\n").filter((l) => /^\| (run|\d) /.test(l))).toEqual([
            "| run | healthy evaluations before | raise after a healthy evaluation's start (s) | holds after the raise (s) | acting evaluation's start after the hold (s) | its queries (ms) | edit and commit (ms) | commit (git log time, whole s after the raise) | hold → action (s) | raise → action (s) |",
            "| 1 | 1 | 5.00 | 1.00 | 24.01 | 4 | 46 | b59e2118d411 (25 s) | 24.06 | 25.06 |",
            "| 2 | 1 | 15.00 | 1.10 | 13.91 | 3 | 43 | b59e2118d411 (15 s) | 13.96 | 15.06 |",
            "| 3 | 1 | 25.00 | 0.90 | 4.11 | 5 | 46 | b59e2118d411 (5 s) | 4.16 | 5.06 |",
        ]);
    });

    test("a run past scrape interval + 30 s misses the first target, with its why; the RTO is still met", () => {
        // The trigger held just after an evaluation started: the next one came a whole interval later, and its queries were slow.
        const d = data({ skipped: "--no-lab" }, undefined, undefined, figure([RUNS[0], run(200, 1000, 32_400, 40, 32_500, 32)]));
        expect(
            verdicts(d)
                .filter((v) => v.figure.startsWith("8."))
                .map((v) => [v.measured, v.met]),
        ).toEqual([
            ["27.78 [24.06–31.50] s", false],
            ["28.78 [25.06–32.50] s", true],
        ]);
        expect(renderResults(d)).toContain(
            "- **8. Rollback guard (interval 30 s, Prometheus scrape 1 s): the fallback trigger holds in Prometheus → the guard's action starts** (target ≤ 31.00 s (scrape interval + 30 s), every run, measured 27.78 [24.06–31.50] s).\n" +
                "  Why: the guard acts at its first evaluation after the trigger holds, at most its `interval` (30 s) later, plus that evaluation's queries and the stack file edit and commit; " +
                "1 run(s) took longer (section 8: the acting evaluation started 31.40 s after the hold, its queries took 40 ms): a slow Prometheus answer, a later evaluation than the one after the hold (the trigger stopped holding in between), or a slow commit. " +
                "What would fix it: a shorter `rollback.interval`, or a faster Prometheus and repository.\n",
        );
    });

    test("skipped: both rows and the section say why", () => {
        const d = data({ skipped: "--no-lab" }, undefined, undefined, { skipped: "--no-guard" });
        expect(
            verdicts(d)
                .filter((v) => v.figure.startsWith("8."))
                .map((v) => [v.figure, v.measured, v.met]),
        ).toEqual([
            [
                "8. Rollback guard (interval 30 s, Prometheus scrape 1 s): the fallback trigger holds in Prometheus → the guard's action starts",
                "not measured (--no-guard)",
                undefined,
            ],
            ["8. The same from the fallback counter's raise: raise → the guard's action starts", "not measured (--no-guard)", undefined],
        ]);
        expect(renderResults(d)).toContain(
            "## 8. Rollback guard: a trigger holds in Prometheus → the action starts\n\nNot measured: --no-guard. It needs Debian's Prometheus (/usr/bin/prometheus, package prometheus) and git, runs on 127.0.0.1 only, and is left out with `--no-guard`.\n",
        );
        expect(verdicts(data({ skipped: "--no-lab" })).find((v) => v.figure.startsWith("8."))?.measured).toBe("not measured (no guard data)");
    });

    test("guardUnavailable names the missing tools and their packages, or nothing where both are there", () => {
        const why = guardUnavailable();
        expect(why === undefined || /^missing tool (\/usr\/bin\/prometheus \(install package prometheus\)|git \(install package git\))/.test(why)).toBe(true);
    });
});
