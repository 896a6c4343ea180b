/**
 * The rules migration-ctl applies, built on the shared pure modules (phase model, ring rule,
 * evidence gate) and nothing else: where the upstream ring stands and whether it has soaked,
 * and whether the evidence for leaving a phase is present and passing. Pure: files and
 * deployed states come in through the Context functions.
 */
import { NAMESPACE, StackConfig } from "../config/schema";
import { EvidenceGateResult, evidencePath, formatDuration, gateEvidence, judgeEvidence, parseEvidence, summarizeEvidence, Evidence } from "../evidence";
import { DEFAULT_SOAK_SECONDS, Phase } from "../phases";
import { UpstreamState, checkRing, upstreamSoaked } from "../rings";
import { Deployed, DeployedLookup } from "./deployed";
import { stackFileRel } from "../config/stackfile";
import { LoadedStack } from "./repo";

export interface Context {
    readonly deployed: DeployedLookup;
    /** Text of a repository file of the working tree (evidence), undefined when absent. */
    readonly readFile: (rel: string) => string | undefined;
    readonly now: Date;
}

/** A stack file that loaded (possibly with config errors), or one that is not valid YAML. */
export type Loaded =
    { readonly ok: true; readonly stack: LoadedStack } | { readonly ok: false; readonly name: string; readonly file: string; readonly error: string };

export type SoakSource = "deployed" | "evidence" | "unknown";

export interface UpstreamInfo {
    /** What checkRing is given: the upstream's configured phase and when it entered it, if known. */
    readonly state: UpstreamState;
    readonly soakSeconds: Readonly<Record<Phase, number>>;
    readonly source: SoakSource;
    readonly soaked: boolean;
    /** Why the entry time is unknown (for the report). */
    readonly note?: string;
}

export type UpstreamResult = { readonly ok: true; readonly info: UpstreamInfo } | { readonly ok: false; readonly error: string };

const RING_UPSTREAM = `${NAMESPACE}:ring.upstream`;

/**
 * The upstream of `down` among `stacks`, at its configured phase, with the time it entered that
 * phase from (1) its deployed outputs when they show that same phase, else (2) its passing
 * evidence for leaving that phase (the evidence's phaseEnteredAt), else unknown (not soaked).
 * Undefined when `down` has no upstream.
 */
export function resolveUpstream(down: LoadedStack, stacks: ReadonlyMap<string, Loaded>, ctx: Context): UpstreamResult | undefined {
    if (down.upstream === undefined) return undefined;
    const name = down.upstream;
    const loaded = stacks.get(name);
    if (loaded === undefined) {
        return { ok: false, error: `${down.file}: ${RING_UPSTREAM}: ${down.upstreamRef} names stack ${name}, which has no ${stackFileRel(name)}` };
    }
    if (!loaded.ok) return { ok: false, error: `upstream ${name} of ${down.stack}: ${loaded.error}` };
    const up = loaded.stack;
    if (up.phase === undefined) return { ok: false, error: `upstream ${name} of ${down.stack}: ${up.file} has no valid ${NAMESPACE}:phase` };
    const phase = up.phase;
    const soakSeconds = up.config?.soakSeconds ?? DEFAULT_SOAK_SECONDS;
    let enteredAt: string | undefined;
    let source: SoakSource = "unknown";
    let note: string | undefined;
    const dep = ctx.deployed(name, down.upstreamRef);
    if (soakSeconds[phase] === 0) {
        // No soak in this phase: the upstream counts as soaked whenever it entered it.
    } else if (dep.known && !dep.neverDeployed && dep.phase === phase && dep.phaseEnteredAt !== undefined) {
        enteredAt = dep.phaseEnteredAt;
        source = "deployed";
    } else {
        const rel = evidencePath(name, phase);
        const text = ctx.readFile(rel);
        if (text === undefined) {
            note = `deployed ${dep.known ? (dep.phase === phase ? "entry time unknown" : `phase is ${dep.phase}`) : "state unknown"}; no evidence at ${rel}`;
        } else {
            const parsed = parseEvidence(text);
            const reasons = parsed.ok
                ? judgeEvidence(summarizeEvidence(parsed.value), {
                      stack: name,
                      phase,
                      nodes: up.config?.nodes.map((n) => n.name) ?? parsed.value.nodes,
                      soakSeconds: soakSeconds[phase],
                      maxLatencyRatio: up.config?.gates.maxLatencyRatio,
                  })
                : parsed.errors;
            if (parsed.ok && reasons.length === 0) {
                enteredAt = parsed.value.phaseEnteredAt;
                source = "evidence";
            } else {
                note = `evidence ${rel} does not pass: ${reasons.join("; ")}`;
            }
        }
    }
    const state: UpstreamState = { stack: name, phase, enteredAt };
    return { ok: true, info: { state, soakSeconds, source, soaked: upstreamSoaked(state, soakSeconds, ctx.now), note } };
}

/**
 * checkRing for `down` moving from `from` to `to`, against its resolved upstream; `current`:
 * `down` is already configured (or deployed) in `to`.
 */
export function ringReasons(down: StackConfig, from: Phase, to: Phase, up: UpstreamInfo, now: Date, behindUntilSoaked?: boolean, current = false): string[] {
    const u = up.state;
    return checkRing({
        stack: down.stack,
        from,
        to,
        upstream: u,
        behindUntilSoaked: behindUntilSoaked ?? down.ring?.behindUntilSoaked ?? false,
        soakSeconds: up.soakSeconds,
        now,
        current,
        unknownEnteredAtHint: `migration-ctl reads it from pulumi stack output, from --deployed-file, or from ${u.stack}'s passing evidence ${evidencePath(u.stack, u.phase)}`,
    });
}

/** The evidence gate's result as the reports show it (the shared gate without the parsed evidence). */
export type EvidenceReport = Omit<EvidenceGateResult, "evidence">;

export interface GateOptions {
    /** Soak at least this long even when the config asks for less (the base config's value). */
    readonly minSoakSeconds?: number;
    /** The stack's deployed state: must be in `from`, entered no later than the evidence says. */
    readonly deployed?: Deployed;
}

/**
 * Is leaving `from` by promotion allowed by the evidence (README "Promotion with evidence")? The same rule
 * the Pulumi program applies (gates.requireEvidence; nothing to measure in perl-only without a
 * soak; judgeEvidence with the stack's soak, nodes and latency ratio), plus what only the
 * pull-request check can see: evidence collected after `now`, evidence from an earlier stay in
 * the phase than the deployed one, and the soak measured from the deployed entry time.
 */
export function evidenceGate(cfg: StackConfig, from: Phase, ctx: Context, opts: GateOptions = {}): EvidenceReport {
    const requiredSoakSeconds = Math.max(cfg.soakSeconds[from], opts.minSoakSeconds ?? 0);
    const { evidence, ...gate } = gateEvidence({
        stack: cfg.stack,
        from,
        nodes: cfg.nodes.map((n) => n.name),
        soakSeconds: requiredSoakSeconds,
        requireEvidence: cfg.gates.requireEvidence,
        requireEvidenceKey: `${NAMESPACE}:gates.requireEvidence`,
        maxLatencyRatio: cfg.gates.maxLatencyRatio,
        text: ctx.readFile(evidencePath(cfg.stack, from)),
    });
    if (evidence === undefined) return report(gate);
    const reasons = [...gate.reasons, ...timeReasons(evidence, gate.path, from, requiredSoakSeconds, ctx.now, opts.deployed)];
    return report({ ...gate, passed: reasons.length === 0, reasons });
}

/** One key order for every report (the JSON shape is documented and compared byte for byte). */
function report(r: EvidenceReport): EvidenceReport {
    return {
        path: r.path,
        required: r.required,
        notRequiredBecause: r.notRequiredBecause,
        present: r.present,
        valid: r.valid,
        passed: r.passed,
        soakedSeconds: r.soakedSeconds,
        requiredSoakSeconds: r.requiredSoakSeconds,
        reasons: r.reasons,
    };
}

function timeReasons(ev: Evidence, rel: string, from: Phase, soak: number, now: Date, dep: Deployed | undefined): string[] {
    const reasons: string[] = [];
    if (Date.parse(ev.collectedAt) > now.getTime()) reasons.push(`${rel}: collected at ${ev.collectedAt}, after now (${now.toISOString()})`);
    if (dep === undefined || !dep.known || dep.neverDeployed || dep.phase !== from || dep.phaseEnteredAt === undefined) return reasons;
    const deployedAt = Date.parse(dep.phaseEnteredAt);
    if (Date.parse(ev.phaseEnteredAt) + 60_000 < deployedAt) {
        reasons.push(
            `${rel}: evidence is from an earlier stay in ${from} (entered ${ev.phaseEnteredAt}); the deployed ${from} was entered at ${dep.phaseEnteredAt}`,
        );
    }
    const soaked = (now.getTime() - deployedAt) / 1000;
    if (soaked < soak) {
        reasons.push(`soak: deployed in ${from} since ${dep.phaseEnteredAt}, ${formatDuration(soaked)} of the required ${formatDuration(soak)}`);
    }
    return reasons;
}

/** A deployed state that contradicts the base phase (the base config is not applied yet). */
export function deployedMismatch(stack: string, basePhase: Phase, dep: Deployed): string | undefined {
    if (!dep.known || dep.phase === basePhase) return undefined;
    return `deployed phase of ${stack} is ${dep.phase}, not ${basePhase} as configured before this change: apply that first (pulumi up --stack ${stack}), then promote`;
}
