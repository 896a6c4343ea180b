/**
 * Shared helpers of the engine-fidelity tests (test/engine): the project's program run through
 * the replay of registered resources (test/support/replay, a stand-in for the Pulumi engine and
 * @pulumi/command, not the engine) against sandbox node roots whose node scripts run for real.
 *
 * A walk through the phases is costly (every step is a real bash script), so each test file
 * walks once and saves a baseline: the sandbox folder and the replay's checkpoint. A case puts
 * the baseline back into the SAME folder path (the sandbox path is in every step's inputs, so a
 * different path would change every step's inputs and the engine would run them all).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Phase } from "../../components/phases";
import { Plan, PlannedStep, planCommands } from "../../components/plan";
import { planFor, scriptOf } from "../../components/steps";
import { StackConfig } from "../../components/config/schema";
import { waitForPostRollbackBundle } from "../../components/sandbox/run";
import { createSandbox } from "../../components/sandbox";
import { ReplayState } from "../support/replay";
import { localConfig, localValues } from "../support/config";
import { debs } from "../support/node";
import { Up, UpOptions, up } from "../support/program-replay";

export const NODES = ["pve1", "pve2", "pve3"];
export const CLUSTER = "lab";
export const STACK = "test";

export type RunOptions = Pick<UpOptions, "fail" | "targets" | "cancelAfter"> & { readonly version?: string };

export interface EngineLab {
    readonly dir: string;
    readonly sandbox: string;
    readonly scope: "cluster" | "node";
    /** Raw stack config values (no namespace) for `phase`; promotions need no evidence. */
    values(phase: Phase, version?: string): Record<string, string>;
    /** The typed config of the same values (for planFor and paths). */
    config(phase: Phase, version?: string): StackConfig;
    root(node: string): string;
    /** The migration.toml a node reads. */
    tomlPath(node: string): string;
    /** One `pulumi up` of the stack through the replay (`version`: the pinned package, default 0.4.2-1). */
    up(phase: Phase, state: ReplayState | undefined, opts?: RunOptions): Promise<Up>;
    /** Save the sandbox and `state` as the baseline. */
    save(state: ReplayState): void;
    /** Put the baseline back into the same sandbox path; returns the saved state. */
    restore(): ReplayState;
    cleanup(): void;
}

export function makeEngineLab(scope: "cluster" | "node" = "cluster"): EngineLab {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pve-engine-"));
    const sandbox = path.join(dir, "sandbox");
    const baseline = path.join(dir, "baseline");
    const projectDir = path.join(dir, "project");
    fs.mkdirSync(projectDir);
    createSandbox(sandbox, NODES);
    const d = debs();
    let saved: ReplayState | undefined;
    const opts = (phase: Phase, version = "0.4.2-1") => ({
        sandboxDir: sandbox,
        debPath: d[version].path,
        sha256: d[version].sha256,
        version,
        nodes: NODES,
        phase,
        scope,
    });
    const gates = { gates: JSON.stringify({ requireEvidence: false }) };
    const lab: EngineLab = {
        dir,
        sandbox,
        scope,
        values: (phase, version) => ({ ...localValues(opts(phase, version)), ...gates }),
        config: (phase, version) => localConfig(opts(phase, version), gates),
        root: (node) => path.join(sandbox, node),
        tomlPath: (node) =>
            scope === "cluster" ? path.join(sandbox, "cluster-pve/network/migration.toml") : path.join(sandbox, "cluster-pve/nodes", node, "network/migration.toml"),
        up: (phase, state, { version, ...extra } = {}) => up({ projectDir, stack: STACK, values: lab.values(phase, version), state, ...extra }),
        save(state) {
            settle(lab);
            fs.rmSync(baseline, { recursive: true, force: true });
            fs.cpSync(sandbox, baseline, { recursive: true, verbatimSymlinks: true });
            saved = state;
        },
        restore() {
            if (!saved) throw new Error("no baseline saved");
            settle(lab);
            fs.rmSync(sandbox, { recursive: true, force: true });
            fs.cpSync(baseline, sandbox, { recursive: true, verbatimSymlinks: true });
            return saved;
        },
        cleanup: () => {
            settle(lab);
            fs.rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
        },
    };
    return lab;
}

/**
 * Wait until no node step or detached post-rollback diagnostics collector holds a node's lock
 * (the collector runs in its own session after a rollback's verify step and takes the lock).
 */
export function settle(lab: EngineLab): void {
    for (const n of NODES) {
        const lock = path.join(lab.root(n), "var/lib/pve-network-rs/.lock");
        if (fs.existsSync(lock)) execFileSync("flock", ["-w", "30", lock, "true"]);
    }
}

/** After a completed rollback: every node's post-rollback bundle is there and its collector has let go of the lock. */
export function waitForBundles(lab: EngineLab, transitionId: string): string[] {
    const found = NODES.map((n) => path.basename(waitForPostRollbackBundle(lab.root(n), transitionId)));
    settle(lab);
    return found;
}

/** The plan's step ids. */
export function ids(plan: Plan): string[] {
    return plan.steps.map((s) => s.id);
}

/** Every step that (transitively) depends on `id`. */
export function dependents(plan: Plan, id: string): Set<string> {
    const out = new Set<string>();
    let grew = true;
    while (grew) {
        grew = false;
        for (const s of plan.steps) {
            if (!out.has(s.id) && s.dependsOn.some((d) => d === id || out.has(d))) {
                out.add(s.id);
                grew = true;
            }
        }
    }
    return out;
}

/** Every step `id` (transitively) depends on. */
export function dependencies(plan: Plan, id: string): Set<string> {
    const byId = new Map(plan.steps.map((s) => [s.id, s]));
    const out = new Set<string>();
    const visit = (x: string) => {
        for (const d of byId.get(x)?.dependsOn ?? []) {
            if (!out.has(d)) {
                out.add(d);
                visit(d);
            }
        }
    };
    visit(id);
    return out;
}

/** The command of pve2 at each place, or a cluster command: the command a case fails. */
export function stepsToFail(plan: Plan): PlannedStep[] {
    return plan.steps.filter((s) => (s.cluster ? true : s.node === "pve2"));
}

/**
 * The plan's commands as a plan (components/plan planCommands): each "step" here is a command
 * resource, the unit the engine runs, fails and resumes; `stepPlan` keeps the steps (what the
 * nodes log). A command runs its steps in order, so a command that fails before it runs (the
 * replay's injected failure) runs none of them.
 */
export type CommandPlan = Plan & { readonly stepPlan: Plan };

export function commandPlan(plan: Plan): CommandPlan {
    const steps = planCommands(plan).map((c) => ({ id: c.id, kind: c.steps[0].kind, node: c.node, cluster: c.cluster, dependsOn: c.dependsOn }));
    return { transition: plan.transition, steps, stepPlan: plan };
}

/** The commands of a transition for the lab's config. */
export function planOf(lab: EngineLab, from: Phase, to: Phase): CommandPlan {
    return commandPlan(planFor(lab.config(to), from, to));
}

/** Sorted, for set comparisons that print well. */
export const sorted = (xs: Iterable<string>): string[] => [...xs].sort();

/**
 * Every step that ran started after each of its plan dependencies had ended (the engine starts a
 * step once its dependencies finished); returns the violations, expected to be [].
 */
export function orderViolations(r: Up, plan: Plan): string[] {
    const op = new Map(r.replay.ops.filter((o) => o.op !== "delete").map((o) => [o.name, o]));
    const bad: string[] = [];
    for (const s of plan.steps) {
        const me = op.get(s.id);
        if (!me?.ran) continue;
        for (const d of s.dependsOn) {
            const dep = op.get(d);
            if (dep?.ran && dep.endedAt > me.startedAt) bad.push(`${s.id} started before ${d} ended`);
        }
    }
    return bad;
}

/** The script names a node logged for transition `from -> to` (migration.log), sorted. */
export function loggedSteps(lab: EngineLab, node: string, from: Phase, to: Phase): string[] {
    const f = path.join(lab.root(node), "var/log/pve-network/migration.log");
    const lines = fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n") : [];
    return sorted(lines.filter((l) => l.includes(` node=${node} from=${from} to=${to} `)).map((l) => /step=(\S+)/.exec(l)?.[1] ?? "?"));
}

/** The script names the plan runs on `node` (its own steps, and the cluster steps on the writer node), sorted. */
export function plannedScripts(plan: CommandPlan, node: string): string[] {
    return sorted(plan.stepPlan.steps.filter((s) => s.node === node).map((s) => scriptOf(s.kind)));
}

/** Backup folders of a node taken for transition `id`. */
export function backupsOf(lab: EngineLab, node: string, id: string): string[] {
    const dir = path.join(lab.root(node), "var/lib/pve-network-rs/backups");
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((b) => b.endsWith(`-${id}`)) : [];
}

/** What one run did, by step: the engine's op and its result, and whether its command ran. */
export function opOf(r: Up, name: string): { op: string; result: string; ran: boolean } | undefined {
    const o = r.replay.ops.find((x) => x.name === name && x.op !== "delete");
    return o ? { op: o.op, result: o.result, ran: o.ran } : undefined;
}

/** The message a case fails its step with (as a non-zero exit would). */
export const INJECTED = "exit status 1: injected failure (test)";

/** Run 1's op of every plan step, checked against the plan's structure; returns the steps whose command completed. */
export function checkFailedRun(r: Up, plan: Plan, failed: string, old: ReplayState): Set<string> {
    expect(r.replay.errored).toBe(true);
    expect(r.replay.errors[0]).toBe(`${failed}: ${INJECTED}`);
    // A step of the old state is an update (new transition id); one new in this plan (restore, legacy-apply) a create.
    const kind = (x: string) => (old.resources.some((s) => s.name === x) ? "update" : "create");
    expect(opOf(r, failed)).toEqual({ op: kind(failed), result: "failed", ran: false });
    for (const d of dependencies(plan, failed)) expect([d, opOf(r, d)]).toEqual([d, { op: kind(d), result: "ok", ran: true }]);
    // A dependent is either registered and never started, or never registered (its dependency rejected).
    for (const d of dependents(plan, failed)) expect([d, opOf(r, d)?.ran ?? false, ["not-run", undefined].includes(opOf(r, d)?.result)]).toEqual([d, false, true]);
    const done = completed(r);
    // Every command that ran succeeded, and only plan steps run.
    expect(sorted(r.ran)).toEqual(sorted(done));
    for (const n of done) expect(ids(plan)).toContain(n);
    return done;
}

/** Names of steps whose command completed successfully in a run. */
export function completed(r: Up): Set<string> {
    return new Set(r.replay.ops.filter((o) => o.ran && o.result === "ok").map((o) => o.name));
}
