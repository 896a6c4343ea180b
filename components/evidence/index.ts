/**
 * Promotion evidence (README "Promotion with evidence"): one schema, defined once, read by the policy pack,
 * `migration-ctl check` and the gate tools, and written by the gate tools; one summary that the
 * transition record carries (EvidenceSummary) and one verdict over it (judgeEvidence).
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

/**
 * The evidence a transition carries in its transition record (README "Promotion with
 * evidence"): the facts of the evidence file that the verdict needs, nothing else. The
 * program writes it (summarizeEvidence) and the soak-and-evidence policy reads it back, so
 * both judge the same numbers with judgeEvidence.
 */
export const EvidenceSummarySchema = z
    .object({
        stack: z.string().min(1),
        /** The phase the evidence is for (the one being left). */
        phase: z.enum(PHASES),
        /** Nodes the evidence covers. */
        nodes: z.array(z.string().min(1)),
        phaseEnteredAt: isoTime,
        collectedAt: isoTime,
        /** collectedAt - phaseEnteredAt, whole seconds. */
        soakedSeconds: z.number().int(),
        contractCompared: z.number().int().nonnegative(),
        contractFailed: z.number().int().nonnegative(),
        metricsWindowStart: isoTime,
        fallbacks: z.number().nonnegative(),
        /** Nodes with metrics over the window. */
        nodesWithMetrics: z.array(z.string().min(1)),
        /** Mean Rust apply latency, seconds; null when Rust applied nothing (metrics-gate writes null on purpose). */
        applyLatencySeconds: z.number().nonnegative().nullable(),
        perlBaselineSeconds: z.number().positive(),
    })
    .strict();

export type EvidenceSummary = z.infer<typeof EvidenceSummarySchema>;

/** The summary of a (schema-valid) evidence file. */
export function summarizeEvidence(ev: Evidence): EvidenceSummary {
    return {
        stack: ev.stack,
        phase: ev.phase,
        nodes: [...ev.nodes],
        phaseEnteredAt: ev.phaseEnteredAt,
        collectedAt: ev.collectedAt,
        soakedSeconds: Math.floor((Date.parse(ev.collectedAt) - Date.parse(ev.phaseEnteredAt)) / 1000),
        contractCompared: ev.contractTests.endpointsCompared,
        contractFailed: ev.contractTests.failed,
        metricsWindowStart: ev.metrics.windowStart,
        fallbacks: ev.metrics.fallbacks,
        nodesWithMetrics: ev.metrics.perNode.map((p) => p.node),
        applyLatencySeconds: ev.metrics.applyLatencySeconds,
        perlBaselineSeconds: ev.metrics.perlBaselineSeconds,
    };
}

/** What a promotion out of `phase` requires of its evidence; the numbers are the caller's (stack config or policy config). */
export interface EvidenceThresholds {
    /** The stack the promotion is for. */
    readonly stack: string;
    /** The phase being left (the evidence's phase). */
    readonly phase: Phase;
    /** Nodes of the ring: each must be covered. */
    readonly nodes: readonly string[];
    /** Soak required in `phase`, seconds. */
    readonly soakSeconds: number;
    /** Allowed ratio of Rust apply latency to the Perl baseline (default 1: not above). */
    readonly maxLatencyRatio?: number;
    /** Allowed fallbacks over the window (default 0, the runbooks' rule). */
    readonly maxFallbacks?: number;
    /** Contract tests that must pass, percent of the endpoints compared (default 100). */
    readonly minContractPassPercent?: number;
}

/**
 * The one evidence verdict: does this evidence allow leaving `t.phase` by promotion? Returns
 * the reasons it does not (empty: it passes). Called by the program, `migration-ctl check`,
 * metrics-gate and the soak-and-evidence policy. Missing data is a failure, never a pass; the
 * one exception is the apply latency before the write phases: Rust applies nothing in
 * perl-only and rust-read-only, so metrics-gate writes null there, and null passes.
 */
export function judgeEvidence(s: EvidenceSummary, t: EvidenceThresholds): string[] {
    const reasons: string[] = [];
    const maxRatio = t.maxLatencyRatio ?? 1.0;
    const maxFallbacks = t.maxFallbacks ?? 0;
    const minPass = t.minContractPassPercent ?? 100;
    if (s.stack !== t.stack) reasons.push(`evidence is for stack ${s.stack}, not ${t.stack}`);
    if (s.phase !== t.phase) reasons.push(`evidence is for phase ${s.phase}, not ${t.phase}`);
    const missing = t.nodes.filter((n) => !s.nodes.includes(n));
    if (missing.length > 0) reasons.push(`evidence does not cover node(s) ${missing.join(", ")}`);
    if (s.soakedSeconds < t.soakSeconds) {
        reasons.push(`soak ${formatDuration(s.soakedSeconds)} in ${t.phase} is shorter than the required ${formatDuration(t.soakSeconds)}`);
    }
    if (s.contractCompared === 0) {
        reasons.push("contract tests compared no endpoint");
    } else {
        const pct = ((s.contractCompared - s.contractFailed) / s.contractCompared) * 100;
        if (s.contractFailed > 0 && pct < minPass) {
            reasons.push(
                `contract tests: ${s.contractFailed} of ${s.contractCompared} endpoint(s) differ` +
                    (minPass < 100 ? ` (${Math.floor(pct * 10) / 10} % passed, below ${minPass} %)` : ""),
            );
        }
    }
    if (Date.parse(s.metricsWindowStart) > Date.parse(s.phaseEnteredAt) + 60_000) {
        reasons.push(`metrics window starts ${s.metricsWindowStart}, after the phase was entered (${s.phaseEnteredAt})`);
    }
    if (s.fallbacks > maxFallbacks) reasons.push(`${s.fallbacks} fallback(s) over the soak window (allowed: ${maxFallbacks})`);
    const noMetrics = t.nodes.filter((n) => !s.nodesWithMetrics.includes(n));
    if (noMetrics.length > 0) reasons.push(`no metrics for node(s) ${noMetrics.join(", ")}`);
    if (s.applyLatencySeconds === null) {
        // Rust applies nothing before the write phases: no latency is expected when leaving them.
        if (isWritePhase(t.phase)) reasons.push("no apply latency measured over the window");
    } else if (s.applyLatencySeconds > s.perlBaselineSeconds * maxRatio) {
        reasons.push(`apply latency ${s.applyLatencySeconds}s is above the Perl baseline ${s.perlBaselineSeconds}s` + (maxRatio !== 1 ? ` x ${maxRatio}` : ""));
    }
    return reasons;
}

/**
 * The evidence part of the transition record (its `evidence` keeper, as JSON): where the
 * evidence is, whether it is required, present and valid, and its summary. The verdict is not
 * in it: every reader judges the summary itself (judgeEvidence) with its own thresholds.
 */
export const EvidenceRecordSchema = z
    .object({
        path: z.string(),
        required: z.boolean(),
        notRequiredBecause: z.string().nullable(),
        present: z.boolean(),
        /** Schema-valid (null when absent or not required). */
        valid: z.boolean().nullable(),
        /** The soak the program required (its stack config), seconds. */
        requiredSoakSeconds: z.number().nonnegative(),
        /** The evidence's summary, when present and valid. */
        summary: EvidenceSummarySchema.nullable(),
    })
    .strict();

export type EvidenceRecord = z.infer<typeof EvidenceRecordSchema>;

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
    /** Its summary (what the transition record carries), when present and valid. */
    readonly summary?: EvidenceSummary;
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
 * the evidence must be present, valid and pass judgeEvidence.
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
        return {
            ...base,
            required: true,
            notRequiredBecause: null,
            valid: false,
            passed: false,
            soakedSeconds: null,
            reasons: parsed.errors.map((e) => `${path}: ${e}`),
        };
    }
    const ev = parsed.value;
    const summary = summarizeEvidence(ev);
    const reasons = judgeEvidence(summary, {
        stack: input.stack,
        phase: input.from,
        nodes: input.nodes,
        soakSeconds: input.soakSeconds,
        maxLatencyRatio: input.maxLatencyRatio,
    }).map((r) => `${path}: ${r}`);
    return {
        ...base,
        required: true,
        notRequiredBecause: null,
        valid: true,
        passed: reasons.length === 0,
        soakedSeconds: summary.soakedSeconds,
        reasons,
        evidence: ev,
        summary,
    };
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
