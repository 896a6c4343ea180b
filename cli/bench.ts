/**
 * `npm run bench [-- --quick | --runs N] [--sizes 3,32,256,1024] [--out FILE] [--no-diagnose] [--no-lab] [--no-guard] [--suite]`:
 * the benchmarks of bench/run.ts. A single-command tool.
 *
 * Only a full run (5 runs, the default sizes) writes the committed bench/results.md by default;
 * any other run without --out writes bench/results.local.md (git-ignored), so that a quick look
 * never replaces the committed figures.
 */
import * as path from "path";
import { Io, ToolDecl, parseOnly, processIo, runTool } from "./command";
import { UsageError } from "./errors";
import { packageRoot } from "./version";
import { stringOption } from "./values";

export interface BenchOptions {
    readonly runs: number;
    readonly sizes: number[];
    readonly out: string;
    readonly diagnose: boolean;
    /** Figures 5 and 7, the rollback and a bad network apply on the node lab (where the lab can start). */
    readonly lab: boolean;
    /** Figure 8, the rollback guard against a real Prometheus on loopback (bench/guard.ts). */
    readonly guard: boolean;
    /** Figure 6, the test suite with parallel workers beside --runInBand (bench/suite.ts). */
    readonly suite: boolean;
}

export const DEFAULT_SIZES = [3, 32, 256, 1024];
export const DEFAULT_RUNS = 5;
/** The committed results of a full run, and where any other run writes by default. */
export const COMMITTED_RESULTS = "bench/results.md";
export const LOCAL_RESULTS = "bench/results.local.md";

/** Validate the parsed options (pure but for the package root). */
export function benchArgs(o: Readonly<Record<string, unknown>>, cwd: string): BenchOptions {
    const runsRaw = stringOption(o.runs);
    if (o.quick === true && runsRaw !== undefined) throw new UsageError("--quick and --runs: give one of them");
    let runs = o.quick === true ? 3 : DEFAULT_RUNS;
    if (runsRaw !== undefined) {
        if (!/^[1-9][0-9]*$/.test(runsRaw)) throw new UsageError(`--runs must be a positive integer (got ${JSON.stringify(runsRaw)})`);
        runs = Number(runsRaw);
    }
    let sizes = DEFAULT_SIZES;
    const sizesRaw = stringOption(o.sizes);
    if (sizesRaw !== undefined) {
        const parts = sizesRaw.split(",");
        if (!parts.every((p) => /^[1-9][0-9]*$/.test(p))) {
            throw new UsageError(`--sizes must be node counts separated by commas, such as 3,32,256 (got ${JSON.stringify(sizesRaw)})`);
        }
        sizes = [...new Set(parts.map(Number))].sort((x, y) => x - y);
        if (sizes.some((n) => n > 4096)) throw new UsageError(`--sizes: at most 4096 nodes (got ${JSON.stringify(sizesRaw)})`);
    }
    const full = runs === DEFAULT_RUNS && sizes.join(",") === DEFAULT_SIZES.join(",");
    const outRaw = stringOption(o.out);
    const out = outRaw !== undefined ? path.resolve(cwd, outRaw) : path.join(packageRoot(), full ? COMMITTED_RESULTS : LOCAL_RESULTS);
    return { runs, sizes, out, diagnose: o.diagnose !== false, lab: o.lab !== false, guard: o.guard !== false, suite: o.suite === true };
}

export const BENCH: ToolDecl = {
    name: "bench",
    description:
        "Benchmarks: plan and policy cost by ring size, rollback critical path, node-side scripts, no-op run, rollback on the node lab, the test suite's wall time, a bad network apply on the node lab (reachable again), the rollback guard from a trigger holding in Prometheus to its action.",
    commands: [
        {
            name: "",
            summary: "",
            options: [
                { flags: "--runs <N>", description: `runs per figure (default ${DEFAULT_RUNS}; at least 1)` },
                { flags: "--quick", description: "3 runs per figure" },
                { flags: "--sizes <LIST>", description: `ring sizes for the plan and policy cost (default ${DEFAULT_SIZES.join(",")})` },
                { flags: "--out <FILE>", description: `results file (default: ${COMMITTED_RESULTS} for a full run, else ${LOCAL_RESULTS})` },
                { flags: "--no-diagnose", description: "skip the diagnosis run (stack formatting, SDK promise count)" },
                {
                    flags: "--no-lab",
                    description: "skip the node lab figures, the rollback and the bad network apply (run by default where the lab can start: root, systemd-nspawn)",
                },
                {
                    flags: "--no-guard",
                    description:
                        "skip the rollback guard figure, a trigger holding in a real Prometheus (/usr/bin/prometheus, on 127.0.0.1) to the guard's action (run by default; about 40 s a run, at most 3 runs)",
                },
                { flags: "--suite", description: "also time the test suite with parallel jest workers and with --runInBand (about 20 minutes more)" },
            ],
            run: async ({ opts, io }) => {
                const o = benchArgs(opts, io.cwd);
                // Loaded by path, not by an import, so that tsc does not compile bench/ (and the test
                // support it uses) into dist/: bench runs under ts-node (its children are bench/*.ts).
                const { benchAndWrite } = require(path.join(packageRoot(), "bench", "run")) as {
                    benchAndWrite: (o: BenchOptions, argv: readonly string[], cwd: string) => Promise<number>;
                };
                return benchAndWrite(o, process.argv.slice(2), io.cwd);
            },
        },
    ],
    footer: `exit codes:
  0   results written
  2   usage error
  70  internal error
`,
};

/** Parse a bench command line (for tests); throws UsageError. */
export function parseBenchArgs(argv: readonly string[], cwd = process.cwd()): BenchOptions {
    let parsed: BenchOptions | undefined;
    const probe: ToolDecl = { ...BENCH, commands: [{ ...BENCH.commands[0], run: ({ opts }) => ((parsed = benchArgs(opts, cwd)), 0) }] };
    parseOnly(probe, argv, { ...processIo(), cwd, stdout: () => undefined });
    if (parsed === undefined) throw new UsageError("no command line to parse (--help or --version)");
    return parsed;
}

export function benchMain(argv: readonly string[], io: Partial<Io> = {}): Promise<number> {
    return runTool(BENCH, argv, { ...processIo(), ...io });
}
