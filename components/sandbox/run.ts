/**
 * Run node steps locally against sandbox roots, exactly as the `local` transport does: the
 * step's command line through `/bin/sh -c`, its script on standard input.
 * Used by the real-node tests and the benchmarks.
 */
import { spawnSync } from "child_process";
import { Phase } from "../phases";
import { StackConfig } from "../config/schema";
import { PlannedStep } from "../plan";
import { renderStepScript, stepCommandLine } from "../scripts";
import { planFor, scriptOf, stepArgs } from "../steps";

export interface StepRun {
    readonly id: string;
    readonly status: number | null;
    readonly signal: NodeJS.Signals | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly ms: number;
}

export function runStep(
    cfg: StackConfig,
    step: PlannedStep,
    from: Phase,
    to: Phase,
    transitionId: string,
    env: NodeJS.ProcessEnv = process.env,
): StepRun {
    const node = cfg.nodes.find((n) => n.name === step.node);
    if (!node) throw new Error(`no node ${step.node}`);
    const args = stepArgs({ cfg, node, from, to }, step.kind, transitionId);
    const started = process.hrtime.bigint();
    const r = spawnSync("/bin/sh", ["-c", stepCommandLine(args)], {
        input: renderStepScript(scriptOf(step.kind)),
        encoding: "utf8",
        timeout: 120_000,
        env,
    });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    return { id: step.id, status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ms };
}

/**
 * Run every step of the (from, to) plan in dependency order; stops at the first failure.
 * Returns the runs (the failed one last).
 */
export function runPlan(cfg: StackConfig, from: Phase, to: Phase, transitionId: string): StepRun[] {
    const plan = planFor(cfg, from, to);
    const runs: StepRun[] = [];
    for (const step of plan.steps) {
        const r = runStep(cfg, step, from, to, transitionId);
        runs.push(r);
        if (r.status !== 0) break;
    }
    return runs;
}
