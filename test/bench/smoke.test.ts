/**
 * Smoke test of the benchmark harness (bench/run.ts): a tiny real run (rings of 3 nodes, one run
 * per figure) into a temp file, and the structure of the results file it writes: sections,
 * tables, rows, and the resource count against what the program registers. No timing is
 * asserted. Plus table tests of the harness's pure parts (arguments, statistics, step graphs).
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PHASES } from "../../components/phases";
import { run } from "../../components/program";
import type { RecordedResource } from "../../components/policycheck";
import { LOCAL_RESULTS, parseBenchArgs } from "../../cli/bench";
import { UsageError } from "../../cli/errors";
import { changedResources, longestChain, stepGraph } from "../../bench/graph";
import { formatSummary, summarize } from "../../bench/stats";
import { sourceDigest } from "../../bench/machine";
import { NOW, PROJECT_DIR, SECRET_KEYS, ringValues } from "../../bench/stacks";
import { installMocks, setStackConfig, settleTree } from "../support/mocks";

const ROOT = path.resolve(__dirname, "../..");

/** The rows of the first markdown table after the line that starts with `after`. */
function tableAfter(text: string, after: string): string[][] {
    const lines = text.split("\n");
    const start = lines.findIndex((l) => l.startsWith(after));
    if (start < 0) throw new Error(`no line starting with ${JSON.stringify(after)}`);
    let i = start + 1;
    while (i < lines.length && !lines[i].startsWith("|")) i++;
    const rows: string[][] = [];
    for (; i < lines.length && lines[i].startsWith("|"); i++) {
        rows.push(
            lines[i]
                .slice(1, -1)
                .split("|")
                .map((c) => c.trim()),
        );
    }
    if (rows.length < 2 || !rows[1].every((c) => c === "---")) throw new Error(`no table after ${JSON.stringify(after)}`);
    return [rows[0], ...rows.slice(2)];
}

describe("a tiny run of the harness (3 nodes, 1 run; without the lab figures and the rollback guard's, which take minutes)", () => {
    let dir: string;
    let out: string;
    let status: number | null;
    let stderr: string;
    let text: string;

    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "pve-bench-smoke-"));
        out = path.join(dir, "results.md");
        const r = spawnSync(
            process.execPath,
            ["-r", "ts-node/register/transpile-only", "bin/bench.ts", "--sizes", "3", "--runs", "1", "--no-lab", "--no-guard", "--out", out],
            {
                cwd: ROOT,
                encoding: "utf8",
                timeout: 110_000,
            },
        );
        status = r.status;
        stderr = r.stderr;
        text = fs.existsSync(out) ? fs.readFileSync(out, "utf8") : "";
    }, 120_000);
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("exits 0, says where it wrote, and leaves no temp file beside the results", () => {
        expect({ status, stderr: status === 0 ? "" : stderr }).toEqual({ status: 0, stderr: "" });
        expect(stderr).toContain(`wrote ${path.relative(ROOT, out)}`);
        expect(fs.readdirSync(dir)).toEqual(["results.md"]);
    });

    test("has the sections in order, and names the machine and the command", () => {
        const headings = text.split("\n").filter((l) => /^#{1,2} /.test(l));
        expect(headings).toEqual([
            "# Benchmarks",
            "## Targets",
            "## 1. Plan and policy cost against ring size",
            "## 2. Rollback critical path",
            "## 3. Node-side script time",
            "## 4. No-op cost",
            "## 5. Rollback on the node lab",
            "## 6. Test suite wall time",
            "## 7. Bad network apply on the node lab: reachable again",
            "## 8. Rollback guard: a trigger holds in Prometheus → the action starts",
            "## Missed targets: why, and what would fix it",
        ]);
        const nproc = execFileSync("nproc", { encoding: "utf8" }).trim();
        expect(text).toMatch(
            /^Written by `npm run bench -- --sizes 3 --runs 1 --no-lab --no-guard --out \S+` \(bench\/run\.ts\) on \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ, in \d+ s\. Code: commit \S+/m,
        );
        expect(text).toContain(`, ${nproc} CPUs (nproc), `);
        expect(text).toContain(`Node.js ${process.version}, `);
        expect(text).toMatch(/Load average \(1 min\) \d+\.\d\d at the start and \d+\.\d\d at the end/);
        expect(text).toContain("[min–max]; 1 run per figure");
    });

    test("targets table: the eight target figures, the lab figure (left out with --no-lab), the suite figure (not asked for), the bad network apply's two (left out with --no-lab) and the rollback guard's two (left out with --no-guard); the 256- and 1024-node ones are not measured in this run", () => {
        const rows = tableAfter(text, "## Targets");
        expect(rows[0]).toEqual(["figure", "target", "measured", "verdict"]);
        expect(rows.slice(1).map((r) => [r[0], r[1]])).toEqual([
            ["1. Plan + every policy, 256 nodes (in-process)", "< 3.00 s"],
            ["1. Growth, 1024 nodes / 256 nodes", "≤ 4 ×"],
            ["1. Registered inputs per node, 256 nodes", "< 16 KiB"],
            ["2. Rollback rust-full → perl-only, longest chain of commands, 1 node vs 3 nodes", "equal, ≤ 6"],
            ["2. Blue-green flip, longest chain of changed resources", "1 step"],
            ["3. Rollback rust-full → perl-only, script time on a sandbox node (restarts excluded)", "< 300 ms"],
            ["3. Rollback rust-full → perl-only on a sandbox node / (its steps × one empty step)", "≤ 2 ×"],
            ["4. Second run with nothing to do / the transition before it (worst pair)", "< 20 %"],
            ["5. Rollback rust-full → perl-only on the node lab, 3 nodes, wall time", "none set"],
            ["6. Test suite wall time, parallel workers (as npm test runs it) vs --runInBand", "reported"],
            [
                "7. Bad network apply on the node lab (management address left out), confirmTimeout 10 s: start of the apply → a new ssh connection succeeds",
                "≤ 25.00 s (confirmTimeout + 15 s), every run",
            ],
            [
                "7. The same with the default confirmTimeout (30 s): 30 s + the measured (reachable − confirmTimeout)",
                "< 60.00 s (Proxmox HA's fencing window), every run",
            ],
            [
                "8. Rollback guard (interval 30 s, Prometheus scrape 1 s): the fallback trigger holds in Prometheus → the guard's action starts",
                "≤ 31.00 s (scrape interval + 30 s), every run",
            ],
            ["8. The same from the fallback counter's raise: raise → the guard's action starts", "< 300.00 s (the runbook's 5-minute RTO), every run"],
        ]);
        expect(rows.slice(1).map((r) => r[3])).toEqual([
            "not measured",
            "not measured",
            "not measured",
            "met",
            "met",
            expect.stringMatching(/^(met|\*\*missed\*\*)$/),
            expect.stringMatching(/^(met|\*\*missed\*\*)$/),
            expect.stringMatching(/^(met|\*\*missed\*\*)$/),
            "no target",
            "no target",
            "not measured",
            "not measured",
            "not measured",
            "not measured",
        ]);
        expect(rows[9][2]).toBe("not measured (--no-lab)");
        expect(rows[10][2]).toBe("not measured (run with --suite)");
        expect(rows[11][2]).toBe("not measured (--no-lab)");
        expect(rows[12][2]).toBe("not measured (--no-lab)");
        expect(rows[13][2]).toBe("not measured (--no-guard)");
        expect(rows[14][2]).toBe("not measured (--no-guard)");
        expect(text).toContain(
            "## 8. Rollback guard: a trigger holds in Prometheus → the action starts\n\nNot measured: --no-guard. It needs Debian's Prometheus (/usr/bin/prometheus, package prometheus) and git, runs on 127.0.0.1 only, and is left out with `--no-guard`.\n",
        );
        expect(text).toContain(
            "## 7. Bad network apply on the node lab: reachable again\n\nNot measured: --no-lab. It runs on the node lab after section 5's runs (root, systemd-nspawn and debootstrap: lab/host.ts), and is left out with `--no-lab`.\n",
        );
        expect(rows[4][2]).toBe("5 and 5");
        // The empty step and the rollback of the same run: the ratio is theirs.
        expect(rows[7][2]).toMatch(/^\d+\.\d\d × \(\d+ ms \/ \(10 × \d+\.\d ms\)\)$/);
        expect(rows[5][2]).toBe("1");
        // Every missed target has its why.
        const missed = rows.slice(1).filter((r) => r[3] === "**missed**");
        const why = text.slice(text.indexOf("## Missed targets"));
        for (const m of missed) expect(why).toContain(`- **${m[0]}** (target ${m[1]}, measured ${m[2]}).\n  Why: `);
        if (missed.length === 0) expect(why).toContain("None.");
    });

    test("cost table: one row for 3 nodes whose resource and step counts are exactly what the program registers", async () => {
        const rows = tableAfter(text, "## 1. Plan and policy cost");
        expect(rows[0]).toEqual([
            "nodes",
            "resources registered",
            "node steps",
            "program (ms)",
            "policies (ms)",
            "program + policies (ms)",
            "of which GC (ms)",
            "per node (ms)",
            "process start to program ready (ms)",
            "process spawn to exit (ms)",
            "peak RSS (MiB)",
            "registered inputs (MiB)",
        ]);
        expect(rows).toHaveLength(2);
        // The same rollback, recorded by the program tests' own mocks (a different recorder).
        const records = await installMocks(
            { "organization/pve-network-migration/bench": { phase: "rust-full", phaseEnteredAt: "2026-11-01T00:00:00Z" } },
            { stack: "bench" },
        );
        setStackConfig(ringValues(3, "perl-only"), SECRET_KEYS);
        const r = await run({ projectDir: PROJECT_DIR, now: NOW, guards: true });
        await settleTree(r.resources);
        const registered = records.filter((x) => x.type !== "pulumi:pulumi:StackReference");
        const commands = records.filter((x) => x.type === "command:remote:Command");
        expect(rows[1].slice(0, 3)).toEqual(["3", String(registered.length), String(r.planned.steps.length)]);
        expect(commands.map((s) => s.name).sort()).toEqual([...r.planned.commands].sort());
        expect(records.length - registered.length).toBe(1);
        expect(text).toContain("the program also reads 1 stack reference");
        for (const cell of rows[1].slice(3, -1)) expect(cell).toMatch(/^\d+(\.\d+)?$/);
        expect(rows[1][rows[1].length - 1]).toMatch(/^\d+\.\d \(\d+ % scripts\)$/);
        expect(text).toMatch(/Diagnosis \(3 nodes, one run\): .* took \d+ ms of program time/);
    });

    test("critical path table: every rollback source at 1 node and rust-full at 3 nodes, registered chain = plan chain", () => {
        const rows = tableAfter(text, "## 2. Rollback critical path");
        expect(rows[0]).toEqual(["rollback", "nodes", "commands registered", "longest chain (registered)", "longest chain (plan)", "chain"]);
        // Commands: a node's steps between two cluster steps are one command (components/plan planCommands).
        // legacy-apply ends its command: network-confirm and verify come over a new connection.
        const restoring = "snapshot → cluster-config → cluster-restore → legacy-apply → network-confirm-verify";
        expect(rows.slice(1)).toEqual([
            ["rust-read-only → perl-only", "1", "4", "4", "4", "snapshot → cluster-config → services-package-units-legacy-apply → network-confirm-verify"],
            ["rust-basic-write → perl-only", "1", "6", "5", "5", restoring],
            ["rust-advanced → perl-only", "1", "6", "5", "5", restoring],
            ["rust-sdn → perl-only", "1", "6", "5", "5", restoring],
            ["rust-full → perl-only", "1", "6", "5", "5", restoring],
            ["rust-full → perl-only", "3", "14", "5", "5", restoring],
        ]);
        expect(text).toContain(
            "the resources whose registration changes are `kubernetes:core/v1:Service pve-network-rs-active`, `kubernetes:core/v1:Service pve-network-rs-preview`; the longest chain among them is 1",
        );
        expect(text).toContain("The same config run twice changes 0 resources (no perpetual diff). Policies on the flipped config: all pass.");
    });

    test("node-side tables: the first deployment, each promotion, each rollback, the rust-full rollback step by step", () => {
        expect(text).toContain("**Service restarts are excluded**");
        expect(text).toContain("restart of pve-network-migration.service skipped: the sandbox has no service manager");
        const promos = tableAfter(text, "Promotions:");
        expect(promos[0]).toEqual(["transition", "steps", "script time (ms)", "n"]);
        expect(promos.slice(1).map((r) => [r[0], r[1], r[3]])).toEqual([
            ["first deployment at perl-only", "5", "5"],
            ...PHASES.slice(1).map((to, i) => [`${PHASES[i]} → ${to}`, "6", String(5 - i)]),
        ]);
        const rollbacks = tableAfter(text, "Rollbacks to perl-only:");
        expect(rollbacks.slice(1).map((r) => [r[0], r[1], r[2], r[4]])).toEqual([
            ["rust-read-only → perl-only", "8", "no (nothing written by Rust)", "1"],
            ...PHASES.slice(2).map((p) => [`${p} → perl-only`, "10", "yes", "1"]),
        ]);
        const steps = tableAfter(text, "Rollback rust-full → perl-only, step by step:");
        expect(steps.slice(1).map((r) => [r[0], r[1], r[2]])).toEqual([
            ["pve0001-snapshot", "changed", "yes"],
            ["bench-cluster-config", "changed", ""],
            ["pve0001-services", "changed", ""],
            ["pve0001-package", "unchanged", ""],
            ["pve0001-units", "unchanged", ""],
            ["pve0001-restore", "changed", ""],
            ["bench-cluster-restore", "changed", ""],
            ["pve0001-legacy-apply", "changed", ""],
            ["pve0001-network-confirm", "changed", ""],
            // The post-rollback bundle is collected after the verify step, outside its time.
            ["pve0001-verify", "ok", ""],
        ]);
        expect(text).toMatch(/The diagnostics bundle collector alone .*: \d+( \[\d+–\d+\])? ms \(n = 2\)\./);
        expect(text).toMatch(/One empty step \(.*\): \d+\.\d \[\d+\.\d–\d+\.\d\] ms \(n = 5\)\./);
        // The process counts: the same steps in the same order, each at least the runner's own
        // processes (sh -c -> bash -c runner, its $(cat) and timeout, the step's bash), the total their sum.
        const procs = tableAfter(text, "Processes each step of the rollback rust-full → perl-only starts");
        expect(procs[0]).toEqual(["step", "execs", "forks"]);
        expect(procs.slice(1, -1).map((r) => r[0])).toEqual(steps.slice(1).map((r) => r[0]));
        for (const r of procs.slice(1, -1)) {
            expect(Number(r[1])).toBeGreaterThanOrEqual(3);
            expect(Number(r[2])).toBeGreaterThanOrEqual(2);
        }
        const sum = (k: number) => procs.slice(1, -1).reduce((a, r) => a + Number(r[k]), 0);
        expect(procs[procs.length - 1]).toEqual(["total", String(sum(1)), String(sum(2))]);
    });

    test("no-op table: the second run after each promotion and after each rollback", () => {
        const rows = tableAfter(text, "## 4. No-op cost");
        expect(rows[0]).toEqual(["second run at", "script time (ms)", "after", "transition (ms)", "ratio of medians"]);
        expect(rows.slice(1).map((r) => [r[0], r[2]])).toEqual([
            ...PHASES.slice(1).map((to, i) => [to, `promotion ${PHASES[i]} → ${to}`]),
            ...PHASES.slice(1).map((p) => ["perl-only", `rollback ${p} → perl-only`]),
        ]);
        for (const r of rows.slice(1)) expect(r[4]).toMatch(/^\d+ %$/);
        expect(text).toContain("checked on all 10 second runs");
    });
});

describe("parseBenchArgs", () => {
    const out = path.join(ROOT, "bench", "results.md");
    const local = path.join(ROOT, LOCAL_RESULTS);
    test.each([
        [[], { runs: 5, sizes: [3, 32, 256, 1024], out, diagnose: true, lab: true, guard: true, suite: false }],
        // A quick (or any partial) run never overwrites the committed results.
        [["--quick"], { runs: 3, sizes: [3, 32, 256, 1024], out: local, diagnose: true, lab: true, guard: true, suite: false }],
        [["--sizes", "3"], { runs: 5, sizes: [3], out: local, diagnose: true, lab: true, guard: true, suite: false }],
        [
            ["--quick", "--out", "bench/results.md"],
            { runs: 3, sizes: [3, 32, 256, 1024], out: path.join("/tmp", "bench/results.md"), diagnose: true, lab: true, guard: true, suite: false },
        ],
        [
            ["--runs", "7", "--sizes", "256,3,32,3", "--no-diagnose", "--out", "/tmp/x.md"],
            { runs: 7, sizes: [3, 32, 256], out: "/tmp/x.md", diagnose: false, lab: true, guard: true, suite: false },
        ],
        [["--no-lab"], { runs: 5, sizes: [3, 32, 256, 1024], out, diagnose: true, lab: false, guard: true, suite: false }],
        [["--no-guard"], { runs: 5, sizes: [3, 32, 256, 1024], out, diagnose: true, lab: true, guard: false, suite: false }],
        // The suite figure is opt-in; a full run with it still writes the committed results.
        [["--suite"], { runs: 5, sizes: [3, 32, 256, 1024], out, diagnose: true, lab: true, guard: true, suite: true }],
    ])("%j", (argv, expected) => {
        expect(parseBenchArgs(argv, "/tmp")).toEqual(expected);
    });
    test.each([
        [["--runs", "0"], '--runs must be a positive integer (got "0")'],
        [["--runs"], "--runs needs a value"],
        [["--sizes", "3,,32"], '--sizes must be node counts separated by commas, such as 3,32,256 (got "3,,32")'],
        [["--sizes", "5000"], '--sizes: at most 4096 nodes (got "5000")'],
        [["--quick", "--runs", "2"], "--quick and --runs: give one of them"],
        [["--size", "3"], "unknown flag --size"],
    ])("%j is refused", (argv, message) => {
        expect(() => parseBenchArgs(argv)).toThrow(new UsageError(message));
    });
});

describe("summarize and formatSummary", () => {
    test.each([
        [[5], { n: 1, median: 5, min: 5, max: 5 }, "5"],
        [[3, 1, 2], { n: 3, median: 2, min: 1, max: 3 }, "2 [1–3]"],
        [[4, 1, 3, 2], { n: 4, median: 2.5, min: 1, max: 4 }, "3 [1–4]"],
    ])("%j", (samples, summary, text) => {
        expect(summarize(samples)).toEqual(summary);
        expect(formatSummary(summarize(samples))).toBe(text);
    });
    test("no samples, or a non-finite one, is an error", () => {
        expect(() => summarize([])).toThrow("no samples to summarize");
        expect(() => summarize([1, NaN])).toThrow("not a finite sample in 1, NaN");
    });
});

describe("step graphs from registrations", () => {
    const res = (name: string, type: string, deps: string[] = []): RecordedResource => ({
        type,
        name,
        urn: `urn:${name}`,
        props: { name },
        parent: "",
        dependencies: deps.map((d) => `urn:${d}`),
        provider: "",
        custom: true,
    });
    const C = "command:remote:Command";
    const resources = [
        res("record", "random:index/randomId:RandomId"),
        res("a-snapshot", C, ["record"]),
        res("b-snapshot", C, ["record"]),
        res("comp", "pve-migration:node:Backups", ["a-snapshot"]),
        res("config", C, ["a-snapshot", "b-snapshot"]),
        res("a-services", C, ["config"]),
        res("a-restore", C, ["comp", "a-services"]),
        res("b-services", C, ["config"]),
    ];
    test("dependencies through resources that are not steps lead to the steps behind them; the longest chain", () => {
        const g = stepGraph(resources);
        expect(g.waitsFor).toEqual({
            "a-snapshot": [],
            "b-snapshot": [],
            config: ["a-snapshot", "b-snapshot"],
            "a-services": ["config"],
            "a-restore": ["a-services", "a-snapshot"],
            "b-services": ["config"],
        });
        expect(longestChain(g)).toEqual(["a-snapshot", "config", "a-services", "a-restore"]);
    });
    test("a dependency on something never registered is an error", () => {
        expect(() => stepGraph([res("x", C, ["ghost"])])).toThrow("x depends on urn:ghost, which was not registered");
    });
    test("changed resources: other inputs, added and removed", () => {
        const after = [...resources.slice(0, 5), { ...resources[5], props: { name: "a-services", x: 1 } }, res("c", C)];
        expect([...changedResources(resources, after)].sort()).toEqual(["urn:a-restore", "urn:a-services", "urn:b-services", "urn:c"]);
    });
});

describe("sourceDigest", () => {
    test("changes with a measured file's content or name, not with bench/results.md or node_modules", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pve-bench-digest-"));
        try {
            const put = (rel: string, text: string) => {
                fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
                fs.writeFileSync(path.join(dir, rel), text);
            };
            put("components/a.ts", "a");
            put("bench/run.ts", "r");
            const first = sourceDigest(dir);
            expect(first).toMatch(/^[0-9a-f]{12}$/);
            put("bench/results.md", "results");
            put("components/node_modules/x/index.js", "x");
            put("README.md", "not measured");
            expect(sourceDigest(dir)).toBe(first);
            put("components/a.ts", "b");
            const second = sourceDigest(dir);
            expect(second).not.toBe(first);
            fs.renameSync(path.join(dir, "components/a.ts"), path.join(dir, "components/c.ts"));
            expect(sourceDigest(dir)).not.toBe(second);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
