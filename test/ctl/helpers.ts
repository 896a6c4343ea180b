/**
 * Test repositories for migration-ctl: real git repositories in temp folders, starting from a
 * copy of this repository's stacks/ (stack files and evidence), with commits that change
 * phases. The CLI runs in-process (main) or as a real subprocess through the compiled bin
 * dist/bin/migration-ctl.js (built by `npm run build`, which `npm test` runs first).
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main } from "../../cli/migration-ctl";
import { DeployedLookup } from "../../components/ctl/deployed";
import { editYaml } from "../../components/ctl/yamledit";
import { Phase } from "../../components/phases";
import { requireTools } from "../support/tools";

export const ROOT = path.resolve(__dirname, "../..");
export const SHIM = path.join(ROOT, "dist", "bin", "migration-ctl.js");

/** Newest modification time (ms) of the .ts files under `dirs` of the repository. */
function newestSource(dirs: string[]): number {
    let newest = 0;
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.name.endsWith(".ts")) newest = Math.max(newest, fs.statSync(p).mtimeMs);
        }
    };
    for (const d of dirs) walk(path.join(ROOT, d));
    return newest;
}

/** The compiled bin `rel` (under dist/), refusing a missing or stale build with what to run. */
export function compiledBin(rel: string): string {
    const file = path.join(ROOT, "dist", rel);
    const st = fs.statSync(file, { throwIfNoEntry: false });
    if (st === undefined) throw new Error(`${file} does not exist: run npm run build (npm test does) before this test`);
    if (st.mtimeMs < newestSource(["bin", "cli", "components"]))
        throw new Error(`${file} is older than the sources: run npm run build (npm test does) before this test`);
    return file;
}
export const GOLDEN = path.join(__dirname, "golden");
export const FIXTURES = path.join(__dirname, "fixtures");

/** Fixed git identity and dates: commits (and their ids) are the same on every run. */
const GIT_ENV = {
    GIT_AUTHOR_NAME: "ctl test",
    GIT_AUTHOR_EMAIL: "ctl-test@example.invalid",
    GIT_COMMITTER_NAME: "ctl test",
    GIT_COMMITTER_EMAIL: "ctl-test@example.invalid",
    GIT_AUTHOR_DATE: "2026-10-01T00:00:00Z",
    GIT_COMMITTER_DATE: "2026-10-01T00:00:00Z",
    GIT_CONFIG_NOSYSTEM: "1",
    HOME: os.tmpdir(),
};

export interface Result {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

export class TestRepo {
    readonly dir: string;
    /** An empty folder used as PATH for in-process runs: no pulumi binary. */
    readonly emptyBin: string;
    /** A folder outside the repository for deployed-state files and the like. */
    readonly aux: string;

    private deployedFiles = 0;

    constructor() {
        requireTools("git");
        this.dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctl-repo-"));
        this.emptyBin = fs.mkdtempSync(path.join(os.tmpdir(), "ctl-bin-"));
        this.aux = fs.mkdtempSync(path.join(os.tmpdir(), "ctl-aux-"));
        fs.cpSync(path.join(ROOT, "stacks"), path.join(this.dir, "stacks"), {
            recursive: true,
            filter: (src) => !src.split(path.sep).includes("diagnostics"),
        });
        this.git("init", "-q", "-b", "main");
    }

    git(...args: string[]): string {
        return execFileSync("git", ["-C", this.dir, ...args], { encoding: "utf8", env: { ...process.env, ...GIT_ENV } });
    }

    commit(message: string): string {
        this.git("add", "-A");
        this.git("commit", "-q", "--allow-empty", "-m", message);
        return this.git("rev-parse", "HEAD").trim();
    }

    path(rel: string): string {
        return path.join(this.dir, rel);
    }

    read(rel: string): string {
        return fs.readFileSync(this.path(rel), "utf8");
    }

    write(rel: string, text: string): void {
        fs.mkdirSync(path.dirname(this.path(rel)), { recursive: true });
        fs.writeFileSync(this.path(rel), text);
    }

    remove(rel: string): void {
        fs.rmSync(this.path(rel), { force: true });
    }

    stackFile(stack: string): string {
        return `stacks/Pulumi.${stack}.yaml`;
    }

    /** Set a stack's phase in the working tree (the pure in-place edit, no rules). */
    setPhase(stack: string, phase: Phase): void {
        const rel = this.stackFile(stack);
        this.write(rel, editYaml(this.read(rel), rel, [{ path: ["config", "pve-migration:phase"], value: phase }]));
    }

    /** Set several phases, e.g. { "canary-a": "rust-read-only", ... }. */
    setPhases(phases: Record<string, Phase>): void {
        for (const [s, p] of Object.entries(phases)) this.setPhase(s, p);
    }

    /** Set any config key of a stack (value as YAML data). */
    setConfig(stack: string, key: string, value: Parameters<typeof editYaml>[2][number]["value"]): void {
        const rel = this.stackFile(stack);
        this.write(rel, editYaml(this.read(rel), rel, [{ path: ["config", `pve-migration:${key}`], value }]));
    }

    /** Remove every evidence file (tests add the ones they need). */
    clearEvidence(): void {
        fs.rmSync(this.path("stacks/evidence"), { recursive: true, force: true });
    }

    writeEvidence(stack: string, phase: Phase, text: string): void {
        this.write(`stacks/evidence/${stack}/${phase}.json`, text);
    }

    writeDeployed(states: Record<string, object>): string {
        const file = path.join(this.aux, `deployed-${++this.deployedFiles}.json`);
        fs.writeFileSync(file, JSON.stringify(states, null, 2));
        return file;
    }

    /** migration-ctl in-process, cwd = the repository, no pulumi on PATH. */
    async ctl(args: string[], opts: { deployed?: DeployedLookup; cwd?: string } = {}): Promise<Result> {
        let stdout = "";
        let stderr = "";
        const code = await main(args, {
            stdout: (s) => (stdout += s),
            stderr: (s) => (stderr += s),
            cwd: opts.cwd ?? this.dir,
            env: { PATH: this.emptyBin },
            deployed: opts.deployed,
        });
        return { code, stdout, stderr };
    }

    /** migration-ctl as a real process: the compiled bin. */
    run(args: string[], opts: { pathDirs?: string[]; direct?: boolean } = {}): Result {
        const PATH = [...(opts.pathDirs ?? []), path.dirname(process.execPath), "/usr/bin", "/bin"].join(path.delimiter);
        compiledBin("bin/migration-ctl.js");
        const r = opts.direct
            ? spawnSync(SHIM, args, { cwd: this.dir, encoding: "utf8", env: { PATH, HOME: os.tmpdir() } })
            : spawnSync(process.execPath, [SHIM, ...args], { cwd: this.dir, encoding: "utf8", env: { PATH, HOME: os.tmpdir() } });
        if (r.error) throw r.error;
        return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    }

    cleanup(): void {
        fs.rmSync(this.dir, { recursive: true, force: true });
        fs.rmSync(this.emptyBin, { recursive: true, force: true });
        fs.rmSync(this.aux, { recursive: true, force: true });
    }
}

export interface EvidenceOpts {
    readonly stack: string;
    readonly phase: Phase;
    readonly nodes: string[];
    readonly enteredAt: string;
    readonly collectedAt: string;
    readonly fallbacks?: number;
    readonly failed?: number;
    readonly latency?: number | null;
    readonly baseline?: number;
}

/** Evidence JSON text (schema version 1) as the gate tools write it. */
export function evidenceText(o: EvidenceOpts): string {
    const compared = 120;
    const failed = o.failed ?? 0;
    const latency = o.latency === undefined ? 0.4 : o.latency;
    return (
        JSON.stringify(
            {
                schemaVersion: 1,
                stack: o.stack,
                nodes: o.nodes,
                phase: o.phase,
                phaseEnteredAt: o.enteredAt,
                collectedAt: o.collectedAt,
                contractTests: { endpointsCompared: compared, passed: compared - failed, failed },
                metrics: {
                    source: "https://prometheus.example.internal:9090",
                    windowStart: o.enteredAt,
                    windowEnd: o.collectedAt,
                    fallbacks: o.fallbacks ?? 0,
                    applyLatencySeconds: latency,
                    perlBaselineSeconds: o.baseline ?? 0.6,
                    perNode: o.nodes.map((node) => ({ node, fallbacks: 0, applyLatencySeconds: latency })),
                },
            },
            null,
            2,
        ) + "\n"
    );
}

/** Compare with a golden file; UPDATE_GOLDEN=1 rewrites it instead (review the diff!). */
export function expectGolden(name: string, actual: string): void {
    const file = path.join(GOLDEN, name);
    if (process.env.UPDATE_GOLDEN === "1") {
        fs.writeFileSync(file, actual);
        return;
    }
    expect(actual).toBe(fs.readFileSync(file, "utf8"));
}

/**
 * A check report compared with a golden file: its merge base must be the commit `mergeBase`
 * (asserted), and is written as <merge base> in the golden file, whose commit ids would
 * otherwise change with every edit of the example stack files the test repositories copy.
 */
export function expectCheckGolden(name: string, actual: string, mergeBase: string): void {
    const json = name.endsWith(".json");
    const shown = json ? `"mergeBase": "${mergeBase}"` : `(merge base ${mergeBase.slice(0, 12)})`;
    expect(actual).toContain(shown);
    expectGolden(name, actual.replace(shown, json ? `"mergeBase": "<merge base>"` : `(merge base <merge base>)`));
}

export const NODES: Record<string, string[]> = {
    "canary-a": ["pve-east-01"],
    "canary-b": ["pve-east-02"],
    prod: ["pve-west-01", "pve-west-02", "pve-west-03", "pve-west-04"],
    dev: ["pve1", "pve2", "pve3"],
};
