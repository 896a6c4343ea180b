/**
 * Figure 6: the test suite's wall time with parallel jest workers, as `npm test` runs it, beside
 * the same projects run with `--runInBand`, measured in the same bench run (`npm run bench --
 * --suite`). The serial project (the node lab, the wall-clock bounds) runs in band in both ways
 * (it must: test/kinds.js), so it is measured once and counted in both totals. tsc, the build
 * and lint come before the tests in `npm test` and are the same either way: not measured here.
 * Every jest run must pass (exit 0, no failed or skipped test) and both ways must run the same
 * number of tests, or the benchmark fails.
 */
import { spawnSync } from "child_process";
import * as path from "path";

export type SuiteProject = "unit" | "real" | "serial";

/** How `npm test` runs each project (package.json test:unit, test:real, test:serial). */
export const WORKER_ARGS: Readonly<Record<SuiteProject, string[]>> = {
    unit: ["--maxWorkers=100%"],
    real: ["--maxWorkers=2"],
    serial: ["--runInBand"],
};

export interface SuiteRun {
    readonly project: SuiteProject;
    readonly mode: "workers" | "in band";
    readonly args: string[];
    readonly wallMs: number;
    readonly tests: number;
}

export interface SuiteResult {
    readonly runs: SuiteRun[];
    readonly workersMs: number;
    readonly inBandMs: number;
}

/** "tests: N passed, N failed, N skipped" of test/support/summary-reporter.js. */
export function summaryCounts(output: string): { passed: number; failed: number; skipped: number } | undefined {
    const m = /^tests: (\d+) passed, (\d+) failed, (\d+) skipped$/m.exec(output);
    return m ? { passed: Number(m[1]), failed: Number(m[2]), skipped: Number(m[3]) } : undefined;
}

function runJest(projectDir: string, project: SuiteProject, mode: SuiteRun["mode"], args: string[]): SuiteRun {
    const jest = path.join(projectDir, "node_modules", "jest", "bin", "jest.js");
    const started = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [jest, "--selectProjects", project, ...args], {
        cwd: projectDir,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        timeout: 40 * 60_000,
        maxBuffer: 256 * 1024 * 1024,
    });
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    const counts = summaryCounts(`${r.stdout}\n${r.stderr}`);
    if (r.status !== 0 || !counts || counts.failed !== 0 || counts.skipped !== 0) {
        const tail = `${r.stdout}\n${r.stderr}`.split("\n").slice(-40).join("\n");
        throw new Error(`jest --selectProjects ${project} ${args.join(" ")} failed (exit ${r.status ?? r.signal}):\n${tail}`);
    }
    return { project, mode, args, wallMs, tests: counts.passed };
}

/** Run the suite both ways: unit and real with workers and in band, serial once (in band, as always). */
export function measureSuite(projectDir: string, log: (line: string) => void): SuiteResult {
    const runs: SuiteRun[] = [];
    for (const project of ["unit", "real"] as const) {
        for (const mode of ["workers", "in band"] as const) {
            log(`suite: jest --selectProjects ${project}, ${mode}`);
            runs.push(runJest(projectDir, project, mode, mode === "workers" ? WORKER_ARGS[project] : ["--runInBand"]));
        }
        const [w, b] = runs.filter((r) => r.project === project);
        if (w.tests !== b.tests) throw new Error(`suite: ${project} ran ${w.tests} tests with workers and ${b.tests} in band`);
    }
    log("suite: jest --selectProjects serial, in band (as npm test runs it)");
    const serial = runJest(projectDir, "serial", "in band", WORKER_ARGS.serial);
    runs.push(serial);
    const sum = (mode: SuiteRun["mode"]) => runs.filter((r) => r.project !== "serial" && r.mode === mode).reduce((a, r) => a + r.wallMs, 0) + serial.wallMs;
    return { runs, workersMs: sum("workers"), inBandMs: sum("in band") };
}
