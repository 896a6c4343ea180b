/**
 * The benchmarks behind `npm run bench` (options declared in cli/bench.ts).
 *
 * Issue 7's benchmarks: (1) plan + policy cost against ring size, one process per run;
 * (2) the rollback critical path from the registered graph, and the blue-green flip;
 * (3) node-side script time on sandbox roots; (4) the cost of a second run with nothing to do;
 * (5) a 3-node rollback on the node lab, step by step (where the lab can start); (6) with
 * --suite, the test suite's wall time with parallel jest workers beside --runInBand; (7) on the
 * same lab as (5), a bad network apply and the time until the node is reachable again; (8) the
 * automatic rollback guard against a real Prometheus on loopback, from a trigger holding to the
 * guard's action starting.
 * Writes the results file with the machine, the date and each figure as median [min–max],
 * against the targets.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PHASES, Phase } from "../components/phases";
import { commandCriticalPath, planCommands, planSteps } from "../components/plan";
import { applyColorFragment, flipColor, parseBlueGreenConfig } from "../components/bluegreen";
import { changedResources, longestChain, stepGraph, isNodeStep } from "./graph";
import { codeState, load1, machine, sourceDigest } from "./machine";
import { measureNodeSide } from "./node-side";
import { measureLab } from "./lab-rollback";
import { measureGuard } from "./guard";
import { measureSuite } from "./suite";
import { evaluatePolicies, policyProblems, recordRun } from "./record";
import { BenchData, CostSize, FlipResult, MeasuredSample, PathRow, renderResults, verdicts } from "./report";
import { summarize, Summary } from "./stats";
import type { ProgramRequest, ProgramSample } from "./program-child";
import type { BenchOptions } from "../cli/bench";
import { CLUSTER, KUBECONFIG, NOW, PROJECT_DIR, SECRET_KEYS, nodeNames, prodBlueGreen, ringValues } from "./stacks";

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

/** One program + policy run in a process of its own. */
export function runProgramChild(req: Omit<ProgramRequest, "out">, workDir: string): MeasuredSample {
    const out = path.join(workDir, `sample-${req.nodes}-${process.hrtime.bigint()}.json`);
    const reqFile = `${out}.request`;
    fs.writeFileSync(reqFile, JSON.stringify({ ...req, out }));
    const started = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), path.join(__dirname, "program-child.ts"), reqFile], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 20 * 60_000,
        maxBuffer: 64 * 1024 * 1024,
    });
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    if (r.status !== 0) throw new Error(`program run (${req.nodes} nodes) failed: ${r.error?.message ?? `exit ${r.status} ${r.signal ?? ""}`}\n${r.stderr}`);
    const sample = JSON.parse(fs.readFileSync(out, "utf8")) as ProgramSample;
    fs.rmSync(out);
    fs.rmSync(reqFile);
    if (sample.problems.length > 0)
        throw new Error(`the benchmark config of ${req.nodes} nodes does not pass the policies:\n${sample.problems.slice(0, 10).join("\n")}`);
    if (sample.registeredChain.length !== sample.planChain.length) {
        throw new Error(
            `${req.nodes} nodes: the registered graph's longest chain (${sample.registeredChain.join(" -> ")}) differs from the plan's (${sample.planChain.join(" -> ")})`,
        );
    }
    return { ...sample, wallMs };
}

/** Spawn `/bin/sh -c 'bash -s --'` with an empty script: the floor under every step's time. */
export function spawnFloor(n: number): Summary {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
        const t = process.hrtime.bigint();
        const r = spawnSync("/bin/sh", ["-c", "bash -s --"], { input: "#!/bin/bash\nexit 0\n", encoding: "utf8" });
        if (r.status !== 0) throw new Error(`bash -s failed: ${r.stderr}`);
        ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    return summarize(ms);
}

/** Rollback X -> perl-only on a 1-node ring for every X, from the registered graph. */
async function rollbackPaths(): Promise<PathRow[]> {
    const rows: PathRow[] = [];
    const names = nodeNames(1);
    for (const from of PHASES.slice(1)) {
        const rec = await recordRun({ values: ringValues(1, "perl-only"), deployed: from });
        const plan = planSteps({ cluster: CLUSTER, from, to: "perl-only", nodes: names, scope: "cluster", writerNode: names[0] });
        const registered = longestChain(stepGraph(rec.resources));
        const planChain = commandCriticalPath(planCommands(plan));
        if (registered.length !== planChain.length)
            throw new Error(`rollback ${from}: registered chain ${registered.join(" -> ")} differs from the plan's ${planChain.join(" -> ")}`);
        rows.push({ from, to: "perl-only", nodes: 1, steps: rec.resources.filter(isNodeStep).length, registered, plan: planChain });
    }
    return rows;
}

/** The prod stack's blue-green block on a 3-node stack at rest: before, the same again, and flipped. */
async function flip(): Promise<FlipResult> {
    const raw = prodBlueGreen();
    const flipped = applyColorFragment(raw, flipColor(parseBlueGreenConfig(raw), NOW).fragment);
    const secretKeys = [...SECRET_KEYS, "kubeconfig"];
    const values = (bg: unknown) => ringValues(3, "perl-only", { blueGreen: JSON.stringify(bg), kubeconfig: KUBECONFIG });
    const at = (s: number) => new Date(NOW.getTime() + s * 1000);
    const before = await recordRun({ values: values(raw), secretKeys, deployed: "perl-only", now: at(0) });
    const again = await recordRun({ values: values(raw), secretKeys, deployed: "perl-only", now: at(0) });
    const after = await recordRun({ values: values(flipped), secretKeys, deployed: "perl-only", now: at(1) });
    const changed = changedResources(before.resources, after.resources);
    const chain = longestChain(stepGraph(after.resources, (r) => changed.has(r.urn)));
    const pol = await evaluatePolicies(after.resources);
    return {
        nodes: 3,
        changed: after.resources.filter((r) => changed.has(r.urn)).map((r) => `${r.type} ${r.name}`),
        chain,
        secondRunChanged: changedResources(before.resources, again.resources).size,
        problems: policyProblems(pol.evaluation),
    };
}

export async function runBench(o: BenchOptions, argv: readonly string[]): Promise<BenchData> {
    const started = Date.now();
    const date = new Date();
    const loadStart = load1();
    const code = codeState(PROJECT_DIR);
    const digestStart = sourceDigest(PROJECT_DIR);
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "pve-bench-"));
    try {
        log("rollback critical paths (1 node) and the blue-green flip, from the registered graphs");
        const rollbacks = await rollbackPaths();
        const flipResult = await flip();

        log(`node-side scripts on sandbox roots, ${o.runs} run(s)`);
        const floor = spawnFloor(Math.max(10, o.runs * 4));
        const nodeSide = measureNodeSide({ runs: o.runs, workDir: path.join(workDir, "node"), log });

        log(`rollback rust-full -> perl-only and a bad network apply on the node lab${o.lab ? "" : " (skipped: --no-lab)"}`);
        const { rollback: lab, revert: labRevert } = measureLab({ runs: o.runs, workDir: path.join(workDir, "lab"), projectDir: PROJECT_DIR, enabled: o.lab });
        if ("skipped" in lab && o.lab) log(`node lab skipped: ${lab.skipped}`);

        log(
            `the rollback guard against a real Prometheus on 127.0.0.1, trigger holds -> action starts${o.guard ? " (about 40 s a run)" : " (skipped: --no-guard)"}`,
        );
        const guard = await measureGuard({ runs: o.runs, workDir: path.join(workDir, "guard"), projectDir: PROJECT_DIR, enabled: o.guard, log });
        if ("skipped" in guard && o.guard) log(`rollback guard skipped: ${guard.skipped}`);

        const from: Phase = "rust-full";
        const to: Phase = "perl-only";
        const sizes: CostSize[] = [];
        for (const nodes of o.sizes) {
            const samples: MeasuredSample[] = [];
            for (let r = 0; r < o.runs; r++) {
                const s = runProgramChild({ nodes, from, to }, workDir);
                if (samples.length && s.resources !== samples[0].resources)
                    throw new Error(`${nodes} nodes: ${s.resources} resources registered, ${samples[0].resources} in the run before`);
                samples.push(s);
                log(
                    `plan + policies, ${nodes} nodes, run ${r + 1}/${o.runs}: ${(s.programMs + s.policyMs).toFixed(0)} ms, ${s.resources} resources, peak RSS ${(s.maxRssKiB / 1024).toFixed(0)} MiB`,
                );
            }
            sizes.push({ nodes, samples });
        }
        const largest = sizes[sizes.length - 1];
        const big = largest.samples[0];
        rollbacks.push({ from, to, nodes: largest.nodes, steps: big.commands, registered: big.registeredChain, plan: big.planChain });

        // Last, so that the other figures are not measured beside a suite that ran just before.
        let suite: BenchData["suite"];
        if (o.suite) {
            log("the test suite with parallel workers and with --runInBand (about 20 minutes)");
            suite = measureSuite(PROJECT_DIR, log);
        }

        let diagnosis: BenchData["cost"]["diagnosis"];
        if (o.diagnose) {
            const n = [...o.sizes].filter((x) => x <= 256).pop() ?? o.sizes[0];
            log(`diagnosis run at ${n} nodes (V8 stack formatting, SDK promise count)`);
            diagnosis = { unmapped: runProgramChild({ nodes: n, from, to, unmappedStacks: true, countPromises: true }, workDir) };
        }

        return {
            date,
            argv: [...argv],
            durationS: (Date.now() - started) / 1000,
            machine: machine(),
            code,
            digest: { start: digestStart, end: sourceDigest(PROJECT_DIR) },
            loadStart,
            loadEnd: load1(),
            runs: o.runs,
            cost: { from, to, sizes, diagnosis },
            paths: { rollbacks, flip: flipResult },
            nodeSide: {
                runs: o.runs,
                samples: nodeSide.samples,
                spawnFloor: floor,
                collector: nodeSide.collector,
                emptyStep: nodeSide.emptyStep,
                rollbackProcesses: nodeSide.rollbackProcesses,
            },
            lab,
            labRevert,
            guard,
            suite: suite ?? { skipped: "run with --suite" },
        };
    } finally {
        fs.rmSync(workDir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
    }
}

/** Run the benchmarks of `o` and write the results file (atomically); `argv` is recorded in it. */
export async function benchAndWrite(o: BenchOptions, argv: readonly string[], cwd: string): Promise<number> {
    const data = await runBench(o, argv);
    const text = renderResults(data);
    fs.mkdirSync(path.dirname(o.out), { recursive: true });
    const tmp = `${o.out}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, o.out);
    if (data.digest.start !== data.digest.end)
        log(`WARNING: the code changed during the run (source digest ${data.digest.start} -> ${data.digest.end}); the figures mix two versions`);
    for (const v of verdicts(data)) log(`${v.met === undefined ? "n/a   " : v.met ? "met   " : "MISSED"} ${v.figure}: ${v.measured} (target ${v.target})`);
    log(`wrote ${path.relative(cwd, o.out) || o.out} in ${Math.round(data.durationS)} s`);
    return 0;
}
