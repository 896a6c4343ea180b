/**
 * Run node steps locally against sandbox roots, exactly as the `local` transport does: the
 * step's command line through `/bin/sh -c`, its stub on standard input, which runs the step from
 * the step library (staged as a file of this machine, installed under the node's root).
 * Used by the real-node tests and the benchmarks.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Phase } from "../phases";
import { StackConfig } from "../config/schema";
import { PlannedCommand, PlannedStep } from "../plan";
import { BUILD_DIR, commandLine, renderStepStub, writeStepLibrary } from "../scripts";
import { planFor, scriptOf, stepArgs } from "../steps";

export interface StepRun {
    readonly id: string;
    readonly status: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly ms: number;
}

/** The step library file the sandbox steps install from (the build folder next to components/, as the program writes it in its project). */
export function sandboxLibraryFile(): string {
    return writeStepLibrary(path.resolve(__dirname, "../..", BUILD_DIR));
}

export function runStep(
    cfg: StackConfig,
    step: PlannedStep,
    from: Phase,
    to: Phase,
    transitionId: string,
    env: NodeJS.ProcessEnv = process.env,
    /** A command the step's `/bin/sh -c LINE` runs under (the benchmarks' strace), else none. */
    wrap: readonly string[] = [],
): StepRun {
    return runCommand(cfg, { id: step.id, node: step.node, steps: [step] }, from, to, transitionId, env, wrap);
}

/** Run the steps of one command (components/plan PlannedCommand) on its sandbox node, as the local transport registers it. */
export function runCommand(
    cfg: StackConfig,
    command: Pick<PlannedCommand, "id" | "node" | "steps">,
    from: Phase,
    to: Phase,
    transitionId: string,
    env: NodeJS.ProcessEnv = process.env,
    wrap: readonly string[] = [],
): StepRun {
    const node = cfg.nodes.find((n) => n.name === command.node);
    if (!node) throw new Error(`no node ${command.node}`);
    const steps = command.steps.map((s) => {
        const script = scriptOf(s.kind);
        return { step: script, timeLimit: cfg.stepTimeouts[script], args: stepArgs({ cfg, node, from, to }, s.kind, transitionId) };
    });
    const started = process.hrtime.bigint();
    const argv = [...wrap, "/bin/sh", "-c", commandLine(steps)];
    const place = { root: node.root, staged: sandboxLibraryFile(), remedy: "run the step again: it writes the library first" };
    const r = spawnSync(argv[0], argv.slice(1), {
        input: renderStepStub(node.name, place),
        encoding: "utf8",
        timeout: 120_000,
        env,
    });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    return { id: command.id, status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms };
}

/**
 * Run every step of the (from, to) plan in dependency order, each as a command of its own (the
 * node tests read one run per step); stops at the first failure. Returns the runs (the failed
 * one last). The program registers the plan's commands (components/plan planCommands): runCommand
 * runs one of them as the local transport does.
 */
export function runPlan(cfg: StackConfig, from: Phase, to: Phase, transitionId: string): StepRun[] {
    const plan = planFor(cfg, from, to);
    const runs: StepRun[] = [];
    for (const step of plan.steps) {
        const r = runStep(cfg, step, from, to, transitionId);
        runs.push(r);
        if (r.status !== 0) return runs;
    }
    if (plan.transition.kind === "rollback") {
        for (const n of cfg.nodes) waitForPostRollbackBundle(n.root, transitionId);
    }
    return runs;
}

/**
 * The verify step of a rollback starts the post-rollback diagnostics bundle in its own session,
 * after the step (off the rollback's critical path). Wait until it is there, so that a caller
 * sees the transition with its evidence; this wait is not part of any step's time.
 */
export function waitForPostRollbackBundle(root: string, transitionId: string, timeoutMs = 30_000): string {
    const dir = path.join(root, "var/lib/pve-network-rs/diagnostics");
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const found = fs.existsSync(dir) ? fs.readdirSync(dir).find((f) => f.endsWith(`-${transitionId}-post-rollback.tar.gz`)) : undefined;
        if (found) return path.join(dir, found);
        if (Date.now() > deadline) throw new Error(`no post-rollback diagnostics bundle for transition ${transitionId} in ${dir} after ${timeoutMs} ms`);
        spawnSync("sleep", ["0.02"]);
    }
}
