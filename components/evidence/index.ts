/**
 * Promotion evidence (README "Promotion with evidence"): one schema, defined once, read by the policy pack,
 * `migration-ctl check` and the gate tools, and written by the gate tools.
 *
 * Evidence for leaving phase P lives beside the stack config at
 * `stacks/evidence/<stack>/<P>.json`.
 */
import * as path from "path";
import { z } from "zod";
import { PHASES, Phase, isWritePhase } from "../phases";

const isoTime = z.string().datetime({ offset: true });

export const ContractResultsSchema = z
    .object({
        /** Endpoints compared between the Perl and the Rust API (summed over nodes). */
        endpointsCompared: z.number().int().nonnegative(),
        passed: z.number().int().nonnegative(),
        failed: z.number().int().nonnegative(),
        /** Path of the full report (relative to the evidence file), for audit. */
        report: z.string().optional(),
    })
    .strict()
    .refine((c) => c.passed + c.failed === c.endpointsCompared, {
        message: "passed + failed must equal endpointsCompared",
    });

export const NodeMetricsSchema = z
    .object({
        node: z.string().min(1),
        /** Increase of pve_network_fallback_total over the window (counter resets accounted). */
        fallbacks: z.number().nonnegative(),
        /** Mean apply latency over the window in seconds (sum / count); null when no applies. */
        applyLatencySeconds: z.number().nonnegative().nullable(),
    })
    .strict();

export const MetricResultsSchema = z
    .object({
        /** Where the numbers came from (Prometheus base URL). */
        source: z.string().min(1),
        windowStart: isoTime,
        windowEnd: isoTime,
        /** Total fallbacks over the window, all nodes. */
        fallbacks: z.number().nonnegative(),
        /** Mean apply latency over the window, all nodes, seconds; null when no applies. */
        applyLatencySeconds: z.number().nonnegative().nullable(),
        /** The Perl implementation's mean apply latency, seconds. */
        perlBaselineSeconds: z.number().positive(),
        perNode: z.array(NodeMetricsSchema),
    })
    .strict();

export const EvidenceSchema = z
    .object({
        schemaVersion: z.literal(1),
        stack: z.string().min(1),
        nodes: z.array(z.string().min(1)).min(1),
        phase: z.enum(PHASES),
        phaseEnteredAt: isoTime,
        collectedAt: isoTime,
        contractTests: ContractResultsSchema,
        metrics: MetricResultsSchema,
    })
    .strict();

export type Evidence = z.infer<typeof EvidenceSchema>;
export type ContractResults = z.infer<typeof ContractResultsSchema>;
export type MetricResults = z.infer<typeof MetricResultsSchema>;

/** Where the evidence for leaving `phase` lives, relative to the repository root. */
export function evidencePath(stack: string, phase: Phase, stacksDir = "stacks"): string {
    return path.posix.join(stacksDir, "evidence", stack, `${phase}.json`);
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/** Parse evidence JSON text; errors name the exact field (`metrics.fallbacks: ...`). */
export function parseEvidence(text: string): ParseResult<Evidence> {
    let raw: unknown;
    try {
        raw = JSON.parse(text);
    } catch (e) {
        return { ok: false, errors: [`not valid JSON: ${(e as Error).message}`] };
    }
    const r = EvidenceSchema.safeParse(raw);
    if (!r.success) {
        return { ok: false, errors: r.error.issues.map((i) => `${formatPath(i.path) || "(root)"}: ${i.message}`) };
    }
    return { ok: true, value: r.data };
}

export function formatPath(p: readonly (string | number)[]): string {
    return p.reduce<string>((acc, k) => (typeof k === "number" ? `${acc}[${k}]` : acc ? `${acc}.${k}` : k), "");
}

export interface GateOptions {
    /** The stack the promotion is for. */
    readonly stack: string;
    /** The phase being left (the evidence's phase). */
    readonly phase: Phase;
    /** Nodes of the ring: each must be covered. */
    readonly nodes: readonly string[];
    /** Soak required in `phase`, seconds. */
    readonly soakSeconds: number;
    /** Allowed ratio of Rust apply latency to the Perl baseline (1.0: not above). */
    readonly maxLatencyRatio?: number;
    /** Allowed fallbacks over the window (the runbooks: 0). */
    readonly maxFallbacks?: number;
}

/**
 * Does this evidence allow leaving `phase` by promotion? Returns the reasons it does not
 * (empty: it passes). Missing data is a failure, never a pass.
 */
export function evaluateEvidence(ev: Evidence, opts: GateOptions): string[] {
    const reasons: string[] = [];
    const maxRatio = opts.maxLatencyRatio ?? 1.0;
    const maxFallbacks = opts.maxFallbacks ?? 0;
    if (ev.stack !== opts.stack) reasons.push(`evidence is for stack ${ev.stack}, not ${opts.stack}`);
    if (ev.phase !== opts.phase) reasons.push(`evidence is for phase ${ev.phase}, not ${opts.phase}`);
    const missing = opts.nodes.filter((n) => !ev.nodes.includes(n));
    if (missing.length > 0) reasons.push(`evidence does not cover node(s) ${missing.join(", ")}`);
    const soaked = (Date.parse(ev.collectedAt) - Date.parse(ev.phaseEnteredAt)) / 1000;
    if (soaked < opts.soakSeconds) {
        reasons.push(`soak ${formatDuration(soaked)} in ${opts.phase} is shorter than the required ${formatDuration(opts.soakSeconds)}`);
    }
    const c = ev.contractTests;
    if (c.endpointsCompared === 0) reasons.push("contract tests compared no endpoint");
    if (c.failed > 0) reasons.push(`contract tests: ${c.failed} of ${c.endpointsCompared} endpoint(s) differ`);
    const m = ev.metrics;
    if (Date.parse(m.windowStart) > Date.parse(ev.phaseEnteredAt) + 60_000) {
        reasons.push(`metrics window starts ${m.windowStart}, after the phase was entered (${ev.phaseEnteredAt})`);
    }
    if (m.fallbacks > maxFallbacks) reasons.push(`${m.fallbacks} fallback(s) over the soak window (allowed: ${maxFallbacks})`);
    const noMetrics = opts.nodes.filter((n) => !m.perNode.some((p) => p.node === n));
    if (noMetrics.length > 0) reasons.push(`no metrics for node(s) ${noMetrics.join(", ")}`);
    if (m.applyLatencySeconds === null) {
        // Rust applies nothing before the write phases: no latency is expected when leaving them.
        if (isWritePhase(opts.phase)) reasons.push("no apply latency measured over the window");
    } else if (m.applyLatencySeconds > m.perlBaselineSeconds * maxRatio) {
        reasons.push(
            `apply latency ${m.applyLatencySeconds}s is above the Perl baseline ${m.perlBaselineSeconds}s` +
                (maxRatio !== 1 ? ` x ${maxRatio}` : ""),
        );
    }
    return reasons;
}

/** What the promotion gate found for leaving a phase (one shape for the program, check and the policy summary). */
export interface EvidenceGateResult {
    /** Repository-relative path of the evidence for leaving the phase. */
    readonly path: string;
    readonly required: boolean;
    /** Why none is required, when it is not. */
    readonly notRequiredBecause: string | null;
    readonly present: boolean;
    /** Schema-valid (null when absent or not required). */
    readonly valid: boolean | null;
    /** Allows the promotion (true when not required). */
    readonly passed: boolean;
    /** collectedAt - phaseEnteredAt of the evidence, seconds (null when absent or invalid). */
    readonly soakedSeconds: number | null;
    readonly requiredSoakSeconds: number;
    readonly reasons: string[];
    /** The parsed evidence, when present and valid. */
    readonly evidence?: Evidence;
}

export interface EvidenceGateInput {
    readonly stack: string;
    /** The phase being left by promotion. */
    readonly from: Phase;
    readonly nodes: readonly string[];
    /** Soak required in `from`, seconds. */
    readonly soakSeconds: number;
    /** `gates.requireEvidence` of the stack. */
    readonly requireEvidence: boolean;
    readonly maxLatencyRatio?: number;
    /** The evidence file's text, undefined when the file does not exist. */
    readonly text: string | undefined;
    /** Name of the requireEvidence key, for the reason it is not required. */
    readonly requireEvidenceKey?: string;
}

/**
 * The promotion gate of README "Promotion with evidence", defined once: no evidence is needed when the stack
 * opts out or when leaving perl-only without a soak (nothing routes to Rust there); otherwise
 * the evidence must be present, valid and pass evaluateEvidence.
 */
export function gateEvidence(input: EvidenceGateInput): EvidenceGateResult {
    const path = evidencePath(input.stack, input.from);
    const base = { path, requiredSoakSeconds: input.soakSeconds, present: input.text !== undefined };
    const notRequired = !input.requireEvidence
        ? `${input.requireEvidenceKey ?? "gates.requireEvidence"} is false`
        : input.from === "perl-only" && input.soakSeconds === 0
          ? "nothing routes to Rust in perl-only"
          : null;
    if (notRequired !== null) {
        return { ...base, required: false, notRequiredBecause: notRequired, valid: null, passed: true, soakedSeconds: null, reasons: [] };
    }
    if (input.text === undefined) {
        return {
            ...base,
            required: true,
            notRequiredBecause: null,
            valid: null,
            passed: false,
            soakedSeconds: null,
            reasons: [`missing evidence ${path} (needed to leave ${input.from} by promotion: contract tests and metrics over the soak)`],
        };
    }
    const parsed = parseEvidence(input.text);
    if (!parsed.ok) {
        return { ...base, required: true, notRequiredBecause: null, valid: false, passed: false, soakedSeconds: null, reasons: parsed.errors.map((e) => `${path}: ${e}`) };
    }
    const ev = parsed.value;
    const reasons = evaluateEvidence(ev, {
        stack: input.stack,
        phase: input.from,
        nodes: input.nodes,
        soakSeconds: input.soakSeconds,
        maxLatencyRatio: input.maxLatencyRatio,
    }).map((r) => `${path}: ${r}`);
    const soakedSeconds = Math.floor((Date.parse(ev.collectedAt) - Date.parse(ev.phaseEnteredAt)) / 1000);
    return { ...base, required: true, notRequiredBecause: null, valid: true, passed: reasons.length === 0, soakedSeconds, reasons, evidence: ev };
}

export function formatDuration(seconds: number): string {
    const s = Math.max(0, Math.floor(seconds));
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    if (d > 0) return `${d}d${h}h`;
    if (h > 0) return `${h}h${m}m`;
    return `${m}m${s % 60}s`;
}
