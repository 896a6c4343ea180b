/**
 * Metrics gate, pure core: the PromQL it runs and how the answers become the `metrics` part of
 * the evidence. No I/O here (metrics-run.ts queries Prometheus).
 *
 * Node mapping: a node's series are selected by one label (default `instance`) whose value is
 * a template with `{node}` replaced by the node name (default `{node}:9187`, the exporter port of
 * README "What runs on a node"). Sites that relabel can use e.g. `--node-label node
 * --instance-label-template '{node}'`.
 */
import type { MetricResults } from "../evidence";

export const FALLBACK_METRIC = "pve_network_fallback_total";
export const APPLY_SUM_METRIC = "pve_network_apply_duration_seconds_sum";
export const APPLY_COUNT_METRIC = "pve_network_apply_duration_seconds_count";

export const DEFAULT_NODE_LABEL = "instance";
export const DEFAULT_INSTANCE_TEMPLATE = "{node}:9187";

export interface NodeSelector {
    /** Label that identifies a node's series. */
    readonly label: string;
    /** Label value; `{node}` is replaced by the node name. */
    readonly template: string;
}

export const DEFAULT_SELECTOR: NodeSelector = { label: DEFAULT_NODE_LABEL, template: DEFAULT_INSTANCE_TEMPLATE };

const LABEL_NAME_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Why a selector is refused, or null. */
export function checkSelector(s: NodeSelector): string | null {
    if (!LABEL_NAME_RE.test(s.label) || s.label.startsWith("__")) return `label ${JSON.stringify(s.label)} is not a Prometheus label name`;
    if (!s.template.includes("{node}")) return `template ${JSON.stringify(s.template)} must contain {node}`;
    return null;
}

/** A PromQL double-quoted string literal. */
export function promString(s: string): string {
    return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

/** `{instance="pve1:9187"}` for a node. */
export function nodeMatcher(node: string, s: NodeSelector = DEFAULT_SELECTOR): string {
    return `{${s.label}=${promString(s.template.split("{node}").join(node))}}`;
}

/** Window length as Prometheus duration, whole seconds (rounded up so the window is covered). */
export function windowDuration(startMs: number, endMs: number): string {
    const seconds = Math.ceil((endMs - startMs) / 1000);
    if (!(seconds >= 1)) throw new RangeError(`window must be at least 1 second (start ${new Date(startMs).toISOString()}, end ${new Date(endMs).toISOString()})`);
    return `${seconds}s`;
}

export interface NodeQueries {
    /** Fallbacks over the window; `increase` adds the value before each counter reset. */
    readonly fallbacks: string;
    readonly applySum: string;
    readonly applyCount: string;
}

/**
 * The queries for one node over a window, all evaluated at the window's end (`time=`).
 * `sum(...)` folds any extra labels (e.g. per endpoint) into one number and yields an empty
 * result when the node has no series: missing data stays visible.
 */
export function nodeQueries(node: string, window: string, s: NodeSelector = DEFAULT_SELECTOR): NodeQueries {
    const m = nodeMatcher(node, s);
    const inc = (metric: string) => `sum(increase(${metric}${m}[${window}]))`;
    return { fallbacks: inc(FALLBACK_METRIC), applySum: inc(APPLY_SUM_METRIC), applyCount: inc(APPLY_COUNT_METRIC) };
}

/** One instant-query answer reduced to a number: undefined when the result is empty. */
export type QueryValue = number | undefined;

export interface NodeAnswers {
    readonly node: string;
    readonly fallbacks: QueryValue;
    readonly applySum: QueryValue;
    readonly applyCount: QueryValue;
}

export interface GateMetrics {
    /** The `metrics` part of the evidence. */
    readonly metrics: MetricResults;
    /** Missing data and per-node findings, each naming the node and the query. */
    readonly problems: string[];
}

/**
 * Turn per-node answers into the evidence's metrics. A node appears in `perNode` only when
 * its fallback counter has data in the window and, when `requireApplyData` (leaving a write
 * phase, where Rust applies), its apply-duration series too; a node without data is left
 * out (the evidence then fails: "no metrics for node(s) ...") and named in `problems`. In
 * a phase where Rust applies nothing (rust-read-only) a node without apply series is kept
 * with a null latency. Fallbacks of every node with data count in the total. The overall
 * latency is the weighted mean: sum of sums / sum of counts.
 */
export function buildMetrics(
    answers: readonly NodeAnswers[],
    o: {
        source: string;
        windowStartMs: number;
        windowEndMs: number;
        perlBaselineSeconds: number;
        queries: (node: string) => NodeQueries;
        /** Default true. */
        requireApplyData?: boolean;
    },
): GateMetrics {
    const requireApply = o.requireApplyData ?? true;
    const problems: string[] = [];
    const perNode: MetricResults["perNode"] = [];
    let fallbacks = 0;
    let sum = 0;
    let count = 0;
    for (const a of answers) {
        const q = o.queries(a.node);
        if (a.fallbacks === undefined) problems.push(`node ${a.node}: no data for ${q.fallbacks}`);
        else if (!Number.isFinite(a.fallbacks)) problems.push(`node ${a.node}: ${q.fallbacks} returned ${a.fallbacks}`);
        else {
            fallbacks += a.fallbacks;
            if (a.fallbacks > 0) problems.push(`node ${a.node}: ${formatNumber(a.fallbacks)} fallback(s) over the window`);
        }
        const applyMissing = a.applySum === undefined || a.applyCount === undefined;
        if (a.applySum === undefined) problems.push(`node ${a.node}: no data for ${q.applySum}`);
        if (a.applyCount === undefined) problems.push(`node ${a.node}: no data for ${q.applyCount}`);
        if (a.fallbacks === undefined || !Number.isFinite(a.fallbacks) || (applyMissing && requireApply)) continue;
        let latency: number | null = null;
        if (Number.isFinite(a.applySum) && Number.isFinite(a.applyCount) && a.applyCount! > 0) {
            latency = a.applySum! / a.applyCount!;
            sum += a.applySum!;
            count += a.applyCount!;
            if (latency > o.perlBaselineSeconds) {
                problems.push(`node ${a.node}: mean apply latency ${formatNumber(latency)}s is above the Perl baseline ${o.perlBaselineSeconds}s`);
            }
        } else if (!applyMissing) {
            problems.push(`node ${a.node}: no apply over the window (${q.applyCount} = ${a.applyCount})`);
        }
        perNode.push({ node: a.node, fallbacks: a.fallbacks, applyLatencySeconds: latency });
    }
    return {
        metrics: {
            source: o.source,
            windowStart: new Date(o.windowStartMs).toISOString(),
            windowEnd: new Date(o.windowEndMs).toISOString(),
            fallbacks,
            applyLatencySeconds: count > 0 ? sum / count : null,
            perlBaselineSeconds: o.perlBaselineSeconds,
            perNode,
        },
        problems,
    };
}

export function formatNumber(n: number): string {
    return Number.isInteger(n) ? String(n) : n.toPrecision(6).replace(/\.?0+$/, "");
}

/** Parse a Prometheus sample value ("1.5", "NaN", "+Inf"). */
export function parseSampleValue(v: string): number {
    if (v === "NaN") return NaN;
    if (v === "+Inf") return Infinity;
    if (v === "-Inf") return -Infinity;
    const n = Number(v);
    if (v.trim() === "" || Number.isNaN(n)) throw new Error(`not a sample value: ${JSON.stringify(v)}`);
    return n;
}

/**
 * Reduce a `/api/v1/query` answer to a number: undefined for an empty vector; an error for a
 * failed query or an answer that is not a vector of at most one sample.
 */
export function parseQueryAnswer(body: unknown): QueryValue {
    const b = body as { status?: unknown; error?: unknown; data?: { resultType?: unknown; result?: unknown } };
    if (b === null || typeof b !== "object") throw new Error("answer is not a JSON object");
    if (b.status !== "success") throw new Error(`query failed: ${String(b.error ?? b.status)}`);
    if (b.data?.resultType === "scalar") return parseSampleValue(String((b.data.result as unknown[])[1]));
    if (b.data?.resultType !== "vector" || !Array.isArray(b.data.result)) {
        throw new Error(`expected a vector, got ${String(b.data?.resultType)}`);
    }
    const r = b.data.result as { value?: [number, string] }[];
    if (r.length === 0) return undefined;
    if (r.length > 1) throw new Error(`expected one series, got ${r.length}`);
    const v = r[0].value;
    if (!Array.isArray(v) || typeof v[1] !== "string") throw new Error("sample has no value");
    return parseSampleValue(v[1]);
}
