/**
 * The dev stack walked up and rolled back with plan and apply: the walk `npm run e2e` runs with
 * the real Pulumi CLI (test/e2e/run.ts) and test/pipeline/e2e-walk.test.ts runs in-process with
 * the replay runner (a stand-in for the CLI). Each step asserts the sandbox's state: the phase
 * every node last verified and the phase in the cluster's migration.toml.
 */
import * as fs from "fs";
import * as path from "path";

export interface CtlResult {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** migration-ctl with these arguments, in the walk's repository. */
export type Ctl = (args: readonly string[]) => Promise<CtlResult>;

export interface WalkRepo {
    readonly dir: string;
    /** Commit every change of the working tree (a merged pull request). */
    commit(message: string): void;
}

const NODES = ["pve1", "pve2", "pve3"];

/** The phase a sandbox node last verified: its decision log's last `step=verify result=ok` line (var/log/pve-network/migration.log). */
export function verifiedPhase(repo: string, node: string): string | undefined {
    const file = path.join(repo, ".sandbox/dev", node, "var/log/pve-network/migration.log");
    if (!fs.existsSync(file)) return undefined;
    const verified = fs
        .readFileSync(file, "utf8")
        .split("\n")
        .map((l) => / to=(\S+) step=verify result=ok /.exec(l)?.[1])
        .filter((p): p is string => p !== undefined);
    return verified[verified.length - 1];
}

/** The phase in the dev cluster's migration.toml. */
export function tomlPhase(repo: string): string | undefined {
    const file = path.join(repo, ".sandbox/dev/cluster-pve/network/migration.toml");
    if (!fs.existsSync(file)) return undefined;
    return /^phase = "(.*)"$/m.exec(fs.readFileSync(file, "utf8"))?.[1];
}

function expectThat(ok: boolean, what: string, r?: CtlResult): void {
    if (!ok) throw new Error(`e2e: ${what}${r !== undefined ? `\n--- exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}` : ""}`);
}

function expectPhase(repo: string, phase: string, after: string): void {
    const nodes = NODES.map((n) => `${n}=${verifiedPhase(repo, n) ?? "none"}`);
    expectThat(
        nodes.every((n) => n.endsWith(`=${phase}`)) && tomlPhase(repo) === phase,
        `after ${after}: every node verified and migration.toml in ${phase}; found ${nodes.join(" ")}, migration.toml ${tomlPhase(repo) ?? "none"}`,
    );
}

function summaryOf(repo: string, dir: string): { verdict: string; transition: { from: string; to: string; kind: string } } {
    return JSON.parse(fs.readFileSync(path.join(repo, dir, "summary.json"), "utf8"));
}

/** The last JSON line of --json output: the summary. */
function lastJson(r: CtlResult): { type?: string; result?: string } {
    const lines = r.stdout.trim().split("\n");
    return JSON.parse(lines[lines.length - 1]);
}

/** Walk the dev stack perl-only -> rust-read-only -> perl-only; `log` gets one line per step. Throws on the first failed expectation. */
export async function walkDev(ctl: Ctl, repo: WalkRepo, log: (line: string) => void): Promise<void> {
    const step = async (args: readonly string[], code: number, what: string): Promise<CtlResult> => {
        const r = await ctl(args);
        log(`migration-ctl ${args.join(" ")}: exit ${r.code}`);
        expectThat(r.code === code, `${what}: migration-ctl ${args.join(" ")} exited ${r.code}, expected ${code}`, r);
        return r;
    };
    let n = 0;
    const plan = async (code: number, what: string): Promise<string> => {
        const dir = `plans/${n++}`;
        await step(["plan", "--stack", "dev", "--out", dir, "--detailed-exitcode"], code, what);
        return dir;
    };
    // The first update after a change registers the transition record with the time the phase
    // was entered, which only that update's outputs hold, and after a transition the steady
    // state's step commands (other resource names: components/plan planCommands). So it is
    // followed by one more update whose steps find nothing to change on the nodes; then a plan
    // holds nothing.
    const settle = async (phase: string): Promise<void> => {
        const dir = await plan(2, "the update after a change: the steady state's record and steps");
        expectThat(summaryOf(repo.dir, dir).transition.kind === "none", `${dir} is no transition`);
        await step(["apply", dir], 0, "apply of the steady state");
        expectPhase(repo.dir, phase, `apply ${dir}`);
        const none = await plan(0, "nothing to do");
        expectThat(summaryOf(repo.dir, none).verdict === "no-changes", `${none} holds no changes`);
    };

    await step(["up", "--stack", "dev"], 0, "the first up creates the sandbox, the backend and the stack");
    expectPhase(repo.dir, "perl-only", "the first up");
    await settle("perl-only");

    await step(["phase", "set", "rust-read-only", "--stack", "dev"], 0, "the promotion's edit");
    repo.commit("dev: rust-read-only");
    const promotion = await plan(2, "a plan with changes");
    const s1 = summaryOf(repo.dir, promotion);
    expectThat(
        s1.verdict === "changes" && s1.transition.from === "perl-only" && s1.transition.to === "rust-read-only",
        `${promotion}/summary.json: ${JSON.stringify(s1.transition)} ${s1.verdict}`,
    );
    expectPhase(repo.dir, "perl-only", "plan (a plan changes nothing)");
    const applied = await step(["apply", promotion, "--json"], 0, "apply of the saved plan");
    expectThat(lastJson(applied).type === "summary" && lastJson(applied).result === "succeeded", "apply --json ends with a succeeded summary", applied);
    expectPhase(repo.dir, "rust-read-only", `apply ${promotion}`);
    await step(["apply", promotion], 15, "a plan already applied is refused (the stack's outputs changed)");
    await settle("rust-read-only");

    await step(["rollback", "--stack", "dev"], 0, "the rollback's edit");
    repo.commit("dev: roll back to perl-only");
    const rollback = await plan(2, "the rollback's plan");
    expectThat(summaryOf(repo.dir, rollback).transition.kind === "rollback", `${rollback} is a rollback`);
    await step(["apply", rollback], 0, "apply of the rollback");
    expectPhase(repo.dir, "perl-only", `apply ${rollback}`);
}
