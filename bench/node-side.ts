/**
 * Node-side time: the rendered step scripts run with bash on a sandbox node root, exactly as
 * the local transport runs them (components/sandbox/run.ts), for a one-node cluster with the
 * cluster-wide migration.toml (so the node also runs the cluster steps, as the writer node does).
 *
 * One walk per rollback source X: a fresh root, the first deployment at perl-only, promotions
 * one phase at a time up to X, a second run at X with nothing to do, what Rust would write in a
 * write phase, the rollback X -> perl-only (with the verified restore when X is a write phase),
 * and a second run at perl-only. Every run is checked: each step exits 0; a rollback brings back
 * the Perl-era files byte for byte; a second run reports every step unchanged or ok and changes
 * nothing but the decision log.
 *
 * The sandbox has no service manager: restarts, starts and stops are skipped by the scripts
 * (and logged as skipped); only unit enablement is changed, with `systemctl --root`.
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderDiagnosticsFunction } from "../components/scripts/diagnostics";
import { renderStepLibrary, renderStepStub, stepCommandLine, writeStepLibrary } from "../components/scripts";
import { stepArgs } from "../components/steps";
import { PHASES, Phase, isWritePhase } from "../components/phases";
import { buildStandInDeb, createSandbox } from "../components/sandbox";
import { StepRun, runPlan, runStep, waitForPostRollbackBundle } from "../components/sandbox/run";
import { planFor } from "../components/steps";
import { localConfig } from "../test/support/config";
import { configFiles, simulateRustWrites, tree } from "../test/support/node";
import { Summary, summarize } from "./stats";

export const NODE = "pve0001";
export const CLUSTER = "bench";
const VERSION = "0.4.2-1";

export type PlanKind = "deploy" | "promotion" | "rollback" | "noop";

export interface StepTime {
    readonly id: string;
    readonly ms: number;
    /** `result=` of the step's decision line (changed, unchanged, ok). */
    readonly result: string;
    /** The step collected a diagnostics bundle (its decision line says `diagnostics <name>`). */
    readonly diagnostics: boolean;
}

export interface PlanSample {
    readonly kind: PlanKind;
    readonly from: Phase;
    readonly to: Phase;
    /** Sum of the steps' script times (each step: spawn of /bin/sh, bash, the script), ms. */
    readonly ms: number;
    readonly steps: StepTime[];
    /** Service actions the scripts skipped because the sandbox has no service manager. */
    readonly skipped: string[];
}

export interface NodeSideOptions {
    /** Walks per rollback source. */
    readonly runs: number;
    /** A folder to work in (created; removed by the caller). */
    readonly workDir: string;
    readonly log?: (line: string) => void;
}

function resultOf(r: StepRun): string {
    return /result=(\S+)/.exec(r.stdout)?.[1] ?? `exit ${r.status}`;
}

function collectedDiagnostics(r: StepRun): boolean {
    const detail = /detail=(.*)$/m.exec(r.stdout)?.[1] ?? "";
    return /(^|; )diagnostics \S+($|;)/.test(detail);
}

function skippedOf(r: StepRun): string[] {
    const detail = /detail=(.*)$/m.exec(r.stdout)?.[1] ?? "";
    return detail
        .split(";")
        .map((s) => s.trim())
        .filter((s) => s.includes("skipped"));
}

/** Run one plan; every step must exit 0. */
function runChecked(cfg: ReturnType<typeof localConfig>, kind: PlanKind, from: Phase, to: Phase, id: string): PlanSample {
    const runs = runPlan(cfg, from, to, id);
    const bad = runs.find((r) => r.status !== 0);
    if (bad) throw new Error(`${kind} ${from} -> ${to}: step ${bad.id} failed (exit ${bad.status}):\n${bad.stdout}\n${bad.stderr}`);
    return {
        kind,
        from,
        to,
        ms: runs.reduce((a, r) => a + r.ms, 0),
        steps: runs.map((r) => ({ id: r.id, ms: r.ms, result: resultOf(r), diagnostics: collectedDiagnostics(r) })),
        skipped: runs.flatMap(skippedOf),
    };
}

/** A second run with nothing to do: every step unchanged or ok, and only the decision log grows. */
function runNoop(cfg: ReturnType<typeof localConfig>, sandbox: string, phase: Phase, id: string): PlanSample {
    const before = tree(sandbox);
    const s = runChecked(cfg, "noop", phase, phase, id);
    const acting = s.steps.filter((x) => x.result !== "unchanged" && x.result !== "ok");
    if (acting.length > 0) throw new Error(`second run at ${phase}: steps did something: ${acting.map((x) => `${x.id}=${x.result}`).join(", ")}`);
    const after = tree(sandbox);
    const changed = Object.keys({ ...before, ...after }).filter((k) => after[k] !== before[k]);
    const expected = [`${NODE}/var/log/pve-network/migration.log`];
    if (JSON.stringify(changed.sort()) !== JSON.stringify(expected)) {
        throw new Error(`second run at ${phase} changed ${changed.join(", ")} (expected only ${expected.join(", ")})`);
    }
    return s;
}

/**
 * The diagnostics bundle collector alone (components/scripts/diagnostics.ts, the function the
 * snapshot and verify steps call), run `n` times on a converged node root, ms each.
 */
export function measureCollector(root: string, workDir: string, n: number): number[] {
    const script = ["#!/bin/bash", "set -euo pipefail", renderDiagnosticsFunction(), 'pve_collect_diagnostics "$@"', ""].join("\n");
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
        const out = path.join(workDir, `collector-${i}.tar.gz`);
        const args = [root, NODE, path.join(root, "etc/pve/network/migration.toml"), out];
        const t = process.hrtime.bigint();
        const r = spawnSync("/bin/sh", ["-c", 'bash -s -- "$@"', "sh", ...args], { input: script, encoding: "utf8", timeout: 60_000 });
        ms.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (r.status !== 0 || !fs.existsSync(out)) throw new Error(`diagnostics collector failed (exit ${r.status}): ${r.stderr}`);
        fs.rmSync(out);
    }
    return ms;
}

/**
 * The fixed cost of one step: the step library with the `units` step's body replaced by nothing
 * but `init_step` and `done_step`, run `n` times through the step runner and the node's stub
 * exactly as a registered step runs (the stub's sha256 check and the library sourced, the
 * prelude, the node lock, the state folder, the decision log line), ms each.
 */
export function measureEmptyStep(cfg: ReturnType<typeof localConfig>, n: number): number[] {
    const real = renderStepLibrary();
    // The units function runs up to the next step's function (its body defines a function of its own).
    const start = real.text.indexOf("\npve_step_units() {\n");
    const end = real.text.indexOf("\npve_step_config() {\n", start + 1);
    if (start < 0 || end < 0) throw new Error("the step library has no pve_step_units function before pve_step_config");
    const text = real.text.slice(0, start) + '\npve_step_units() {\nTEMP_DIRS=()\ninit_step\ndone_step ok "empty step"\n}' + real.text.slice(end);
    const sha256 = crypto.createHash("sha256").update(text, "utf8").digest("hex");
    const lib = { text, sha256, fileName: `steps-${sha256}.sh` };
    const node = cfg.nodes[0];
    const staged = writeStepLibrary(fs.mkdtempSync(path.join(os.tmpdir(), "pve-empty-step-")), lib);
    const stub = renderStepStub(node.name, { root: node.root, staged, remedy: "(benchmark)" }, lib);
    const args = stepArgs({ cfg, node, from: cfg.phase, to: cfg.phase }, "units", "0000000000000000");
    const line = stepCommandLine(args, { step: "units", timeLimit: cfg.stepTimeouts.units });
    const ms: number[] = [];
    // One run first installs this library under the node's root (as the first step of a new library does).
    for (let i = -1; i < n; i++) {
        const t = process.hrtime.bigint();
        const r = spawnSync("/bin/sh", ["-c", line], { input: stub, encoding: "utf8", timeout: 60_000 });
        if (i >= 0) ms.push(Number(process.hrtime.bigint() - t) / 1e6);
        if (r.status !== 0 || !/ step=units result=ok detail=empty step\n$/.test(r.stdout))
            throw new Error(`the empty step failed (exit ${r.status}): ${r.stdout}${r.stderr}`);
    }
    fs.rmSync(path.dirname(staged), { recursive: true, force: true });
    return ms;
}

/** Processes one step started: execve and fork/clone calls that succeeded, over every process of the step. */
export interface StepProcesses {
    readonly id: string;
    readonly execs: number;
    readonly forks: number;
}

/** `strace -c` summary rows: syscall -> calls - errors. */
export function straceSuccesses(summary: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const line of summary.split("\n")) {
        // "% time seconds usecs/call calls errors syscall", errors empty when none.
        const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:(\d+)\s+)?([a-z0-9_]+)\s*$/.exec(line);
        if (m && m[3] !== "total") out[m[3]] = Number(m[1]) - Number(m[2] ?? 0);
    }
    return out;
}

/**
 * The processes each step of one plan starts, counted with `strace -f -c` around the step's
 * `/bin/sh -c LINE` (the runner, the script and everything it runs; for the verify step of a
 * rollback also the post-rollback bundle it starts, which strace follows until it ends).
 */
export function countStepProcesses(cfg: ReturnType<typeof localConfig>, from: Phase, to: Phase, id: string, workDir: string): StepProcesses[] {
    const out: StepProcesses[] = [];
    for (const step of planFor(cfg, from, to).steps) {
        const file = path.join(workDir, `strace-${step.id}.txt`);
        const r = runStep(cfg, step, from, to, id, process.env, ["strace", "-f", "-c", "-o", file, "-e", "trace=execve,execveat,fork,vfork,clone,clone3"]);
        if (r.status !== 0) throw new Error(`${step.id} under strace failed (exit ${r.status}): ${r.stdout}${r.stderr}`);
        const calls = straceSuccesses(fs.readFileSync(file, "utf8"));
        const n = (k: string) => calls[k] ?? 0;
        // The step's own /bin/sh is strace's exec, not the step's.
        out.push({ id: step.id, execs: n("execve") + n("execveat") - 1, forks: n("fork") + n("vfork") + n("clone") + n("clone3") });
    }
    for (const node of cfg.nodes) waitForPostRollbackBundle(node.root, id);
    return out;
}

export interface NodeSideResult {
    readonly samples: PlanSample[];
    /** The diagnostics collector alone on a node root at perl-only after the rollback from rust-full, ms. */
    readonly collector: Summary;
    /** One step that does nothing but what every step does (measureEmptyStep), ms. */
    readonly emptyStep: Summary;
    /** Processes each step of the rollback rust-full -> perl-only starts (one walk, countStepProcesses). */
    readonly rollbackProcesses: StepProcesses[];
}

export function measureNodeSide(o: NodeSideOptions): NodeSideResult {
    if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error(`node-side runs must be a positive integer (got ${o.runs})`);
    fs.mkdirSync(o.workDir, { recursive: true });
    const deb = buildStandInDeb(path.join(o.workDir, "debs"), VERSION);
    const samples: PlanSample[] = [];
    const collector: number[] = [];
    const emptyStep: number[] = [];
    let serial = 0;
    const nextId = () => (++serial).toString(16).padStart(8, "0");
    for (let run = 0; run < o.runs; run++) {
        for (const top of PHASES.slice(1)) {
            const sandbox = path.join(o.workDir, `run${run}-${top}`);
            createSandbox(sandbox, [NODE]);
            const root = path.join(sandbox, NODE);
            const cfg = (phase: Phase) =>
                localConfig(
                    { sandboxDir: sandbox, debPath: deb.path, sha256: deb.sha256, version: deb.version, nodes: [NODE], phase, scope: "cluster" },
                    { cluster: CLUSTER },
                );
            samples.push(runChecked(cfg("perl-only"), "deploy", "perl-only", "perl-only", nextId()));
            const perlEra = configFiles(root, NODE);
            for (let i = 1; i <= PHASES.indexOf(top); i++) {
                samples.push(runChecked(cfg(PHASES[i]), "promotion", PHASES[i - 1], PHASES[i], nextId()));
            }
            samples.push(runNoop(cfg(top), sandbox, top, nextId()));
            if (isWritePhase(top)) simulateRustWrites(root, NODE, `bench-${top}`);
            const rb = runChecked(cfg("perl-only"), "rollback", top, "perl-only", nextId());
            if (isWritePhase(top) && !rb.steps.some((s) => s.id === `${NODE}-restore` && s.result === "changed")) {
                throw new Error(`rollback ${top} -> perl-only: the restore step did not restore (${rb.steps.map((s) => `${s.id}=${s.result}`).join(", ")})`);
            }
            const now = configFiles(root, NODE);
            if (JSON.stringify(now) !== JSON.stringify(perlEra)) {
                throw new Error(`rollback ${top} -> perl-only did not bring back the Perl-era files byte for byte`);
            }
            samples.push(rb);
            samples.push(runNoop(cfg("perl-only"), sandbox, "perl-only", nextId()));
            if (top === "rust-full") {
                collector.push(...measureCollector(root, sandbox, 2));
                emptyStep.push(...measureEmptyStep(cfg("perl-only"), 5));
            }
            fs.rmSync(sandbox, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
            o.log?.(`node-side: run ${run + 1}/${o.runs}, walk to ${top} and back: done`);
        }
    }
    // One more walk to rust-full for the process counts of its rollback (strace slows every step, so not timed).
    const sandbox = path.join(o.workDir, "processes");
    createSandbox(sandbox, [NODE]);
    const cfg = (phase: Phase) =>
        localConfig(
            { sandboxDir: sandbox, debPath: deb.path, sha256: deb.sha256, version: deb.version, nodes: [NODE], phase, scope: "cluster" },
            { cluster: CLUSTER },
        );
    runChecked(cfg("perl-only"), "deploy", "perl-only", "perl-only", nextId());
    for (let i = 1; i < PHASES.length; i++) runChecked(cfg(PHASES[i]), "promotion", PHASES[i - 1], PHASES[i], nextId());
    simulateRustWrites(path.join(sandbox, NODE), NODE, "bench-processes");
    const rollbackProcesses = countStepProcesses(cfg("perl-only"), "rust-full", "perl-only", nextId(), o.workDir);
    fs.rmSync(sandbox, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
    o.log?.("node-side: process counts of the rollback rust-full -> perl-only: done");
    return { samples, collector: summarize(collector), emptyStep: summarize(emptyStep), rollbackProcesses };
}
