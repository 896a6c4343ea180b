/**
 * What a stack has deployed, read from its own outputs, and what the next run plans from.
 * Pure: the program, `migration-ctl` and the tests read outputs through these functions.
 *
 * What the real engine does, and why the outputs are shaped this way (pulumi/pulumi, engine
 * around 3.260; Node SDK 3.270):
 *  - The engine keeps the LAST RegisterResourceOutputs event it receives for the root stack
 *    (pkg/resource/deploy/step_executor.go, executeRegisterResourceOutputs: `se.stackOutputsEvent
 *    = e`) and writes it at the end of the update (deployment_executor.go, "Finalize the stack
 *    outputs"). When the update failed or was cancelled, the old outputs are kept and only the
 *    keys of that last event are copied over them.
 *  - The Node SDK sends a RegisterResourceOutputs only once every value in it has resolved
 *    (sdk/nodejs runtime/resource.ts registerResourceOutputs awaits serializeProperties); a value
 *    that depends on a failed resource rejects, so that event is never sent (engine test
 *    tests/integration/stack_outputs_resource_error/nodejs, step2: outputs unchanged).
 *
 * So the program sends two events: before any step runs, `attempt` alone (what this run is
 * trying); at the end, every output, each derived from the verify steps' own stdout. A run
 * that fails, is cancelled or skips a node (`--target`) leaves the previous `phase`,
 * `phaseEnteredAt`, `transition` and `verified` in place with the new `attempt` beside them:
 * the stack then says "the last attempt did not complete", never that it did.
 */
import { ownGet, setOwn } from "../config/own";
import { PHASES, Phase, isPhase, phaseIndex } from "../phases";

/** One node's verify step: the phase it verified, when, in which transition. */
export interface VerifiedNode {
    readonly phase: Phase;
    readonly at: string;
    readonly transition: string;
}

/** What a run set out to do (sent before any step runs). */
export interface Attempt {
    readonly from: Phase;
    readonly to: Phase;
    /** The transition id (names its backups; identical when the same attempt is resumed). */
    readonly id: string;
    readonly fromEnteredAt: string;
    /** The lowest and highest phase a node may be in while this attempt is not complete. */
    readonly floor: Phase;
    readonly ceiling: Phase;
}

export interface DeployedState {
    /** The stack has no outputs (never deployed): it starts from perl-only, the runbook's start. */
    readonly neverDeployed: boolean;
    /** The last attempt was verified on every node (true for a stack that never deployed). */
    readonly complete: boolean;
    /**
     * Complete: the phase every node verified. Incomplete: the lowest phase a node may be in
     * (what a downstream ring may rely on).
     */
    readonly phase: Phase;
    /** When `phase` was entered (complete only; the soak clock). */
    readonly enteredAt?: string;
    /** The last attempt, when the outputs have one. */
    readonly attempt?: Attempt;
    /** Per node, what its verify step reported in the last complete run. */
    readonly verified: Readonly<Record<string, VerifiedNode>>;
}

const VERIFIED_LINE = /^pve-migration-verified node=(\S+) phase=(\S+) transition=(\S*) at=(\S+)$/m;

/** The line the verify step prints when a node is verified (components/scripts/sh/steps/verify.sh). */
export function verifiedLine(v: VerifiedNode & { node: string }): string {
    return `pve-migration-verified node=${v.node} phase=${v.phase} transition=${v.transition} at=${v.at}`;
}

/** Parse a verify step's stdout; throws when it does not report `node` verified (the output then rejects). */
export function parseVerified(stdout: string, node: string): VerifiedNode {
    const m = VERIFIED_LINE.exec(stdout ?? "");
    if (!m || m[1] !== node || !isPhase(m[2]) || Number.isNaN(Date.parse(m[4]))) {
        throw new Error(`the verify step of ${node} did not report a verified phase (stdout: ${JSON.stringify((stdout ?? "").slice(-200))})`);
    }
    return { phase: m[2], transition: m[3], at: m[4] };
}

const lower = (a: Phase, b: Phase): Phase => (phaseIndex(a) <= phaseIndex(b) ? a : b);
const higher = (a: Phase, b: Phase): Phase => (phaseIndex(a) >= phaseIndex(b) ? a : b);

function asAttempt(v: unknown): Attempt | undefined {
    if (v === null || typeof v !== "object") return undefined;
    const a = v as Record<string, unknown>;
    if (!isPhase(a.from) || !isPhase(a.to) || !isPhase(a.floor) || !isPhase(a.ceiling) || typeof a.id !== "string") return undefined;
    return { from: a.from, to: a.to, id: a.id, fromEnteredAt: typeof a.fromEnteredAt === "string" ? a.fromEnteredAt : "", floor: a.floor, ceiling: a.ceiling };
}

function asVerified(v: unknown): Record<string, VerifiedNode> {
    const out: Record<string, VerifiedNode> = {};
    if (v === null || typeof v !== "object") return out;
    for (const [node, e] of Object.entries(v as Record<string, unknown>)) {
        const r = e as Record<string, unknown> | null;
        if (r && isPhase(r.phase) && typeof r.at === "string" && typeof r.transition === "string") {
            setOwn(out, node, { phase: r.phase, at: r.at, transition: r.transition });
        }
    }
    return out;
}

/**
 * Interpret a stack's outputs: complete when the last attempt's transition is the one recorded
 * and every node the outputs list verified its phase. Outputs without `attempt` (written before
 * attempts were recorded) are taken at their word.
 */
export function readDeployedOutputs(outputs: Readonly<Record<string, unknown>>): DeployedState {
    if (Object.keys(outputs).length === 0) return { neverDeployed: true, complete: true, phase: "perl-only", verified: {} };
    const attempt = asAttempt(outputs.attempt);
    const verified = asVerified(outputs.verified);
    const phase = isPhase(outputs.phase) ? outputs.phase : undefined;
    const enteredAt = typeof outputs.phaseEnteredAt === "string" ? outputs.phaseEnteredAt : undefined;
    const transition = outputs.transition as { id?: unknown } | undefined;
    if (!attempt) {
        if (!phase) throw new Error("phase: missing or not a phase (not outputs of this project's program?)");
        return { neverDeployed: false, complete: true, phase, enteredAt, verified };
    }
    const nodes = Array.isArray(outputs.nodes) ? outputs.nodes.map(String) : Object.keys(verified);
    const everyNode = nodes.every((n) => ownGet(verified, n)?.phase === attempt.to);
    const complete = phase === attempt.to && transition?.id === attempt.id && everyNode;
    if (complete) return { neverDeployed: false, complete, phase: attempt.to, enteredAt, attempt, verified };
    return { neverDeployed: false, complete: false, phase: attempt.floor, attempt, verified };
}

export interface PlanBasis {
    /** The phase the steps are planned from. */
    readonly from: Phase;
    readonly fromEnteredAt: string;
    /** What this run records as its attempt's floor and ceiling. */
    readonly floor: Phase;
    readonly ceiling: Phase;
    /**
     * `fresh`: the last attempt completed; `resume`: the same attempt again, so every step that
     * already ran has the same inputs and the engine runs only what is missing; `recover`: a
     * rollback planned from the highest phase any node may be in.
     */
    readonly kind: "fresh" | "resume" | "recover";
}

/**
 * What the next run plans from, for target phase `to`. When the last attempt did not complete,
 * its nodes may be anywhere from its floor to its ceiling: the same target resumes it; a target
 * at or below the floor is a rollback from the ceiling (every node takes the rollback's backup,
 * restore and legacy apply, whatever it reached); anything else is refused.
 */
export function planBasis(d: DeployedState, to: Phase): PlanBasis | { readonly error: string } {
    if (d.complete || !d.attempt) {
        const from = d.phase;
        return { kind: "fresh", from, fromEnteredAt: d.enteredAt ?? "", floor: lower(from, to), ceiling: higher(from, to) };
    }
    const a = d.attempt;
    if (to === a.to) return { kind: "resume", from: a.from, fromEnteredAt: a.fromEnteredAt, floor: a.floor, ceiling: a.ceiling };
    if (phaseIndex(to) <= phaseIndex(a.floor)) {
        return { kind: "recover", from: a.ceiling, fromEnteredAt: a.fromEnteredAt, floor: lower(a.floor, to), ceiling: a.ceiling };
    }
    const range = a.floor === a.ceiling ? a.floor : `${a.floor} and ${a.ceiling}`;
    const below = PHASES.slice(0, phaseIndex(a.floor));
    const finish = `set the phase to ${a.to} to finish it`;
    // A rollback's target is its floor: going lower goes further; a promotion rolls back to its floor.
    const other =
        a.to === a.floor
            ? below.length > 0
                ? `, or to a lower phase (${below.join(", ")}) to go further`
                : ""
            : `, or to ${a.floor}${below.length > 0 ? ` or a lower phase (${below.join(", ")})` : ""} to roll it back`;
    return {
        error: `the last update (from ${a.from} to ${a.to}, transition ${a.id}) did not complete on every node, so nodes may be anywhere between ${range}: ${finish}${other}`,
    };
}

/** The common phase of every node's verify, which must be `to` (else the output rejects: nothing is recorded). */
export function verifiedPhase(verified: Readonly<Record<string, VerifiedNode>>, nodes: readonly string[], to: Phase): Phase {
    for (const n of nodes) {
        const v = ownGet(verified, n);
        if (!v) throw new Error(`node ${n} has no verify result`);
        if (v.phase !== to) throw new Error(`node ${n} verified ${v.phase}, not ${to}`);
    }
    return to;
}

/**
 * When the verified phase was entered: kept from the previous complete run while the phase is
 * the same (a re-verified node does not restart the soak), else when the last node verified it.
 */
export function enteredAt(previous: DeployedState, phase: Phase, verified: Readonly<Record<string, VerifiedNode>>, nodes: readonly string[]): string {
    if (previous.complete && !previous.neverDeployed && previous.phase === phase && previous.enteredAt) return previous.enteredAt;
    const times = nodes.map((n) => ownGet(verified, n)?.at ?? "").sort();
    return times[times.length - 1];
}
