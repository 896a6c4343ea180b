/**
 * The rollback guard's triggers as PromQL (README "Automatic rollback"). Pure. Every window is
 * Prometheus's own: a trigger is one instant query whose answer is one number, so counter resets
 * (`increase`, `rate`), "sustained for N seconds" (a subquery's `min_over_time`) and "N consecutive
 * failed checks" (`max_over_time` of `up`) are evaluated by Prometheus exactly as its alerting
 * rules would, and the guard keeps no samples of its own.
 *
 * Node rings (the stack's nodes, selected as the metrics gate does, components/gates/metrics.ts):
 *   health     max_over_time(up{instance="<node>:9187"}[failures x interval]) < 1: every check of
 *              the window failed; no data at all (a target that disappeared) counts as failed
 *   fallback   sum(increase(pve_network_fallback_total{...}[window])) > 0
 *   applyLatency  sum(rate(apply_sum[w])) / sum(rate(apply_count[w])) > ratio x Perl baseline
 * Blue-green (the active color; `{color}` in a query is the color):
 *   health, errorRate, responseTimeP95 (ms), cpu, memory (sustained): the queries below, or
 *   `rollback.queries`.
 */
import type { RollbackConfig } from "../config/rollback";
import { APPLY_COUNT_METRIC, APPLY_SUM_METRIC, FALLBACK_METRIC, NodeSelector, DEFAULT_SELECTOR, nodeMatcher } from "../gates/metrics";

export type TriggerName = "health" | "fallback" | "applyLatency" | "errorRate" | "responseTimeP95" | "cpu" | "memory";

export interface Trigger {
    readonly name: TriggerName;
    /** What it watches: a node, or `color <c>`. */
    readonly subject: string;
    /** The instant query; its answer is one number (or nothing). */
    readonly query: string;
    /** Holds when the answer is above the threshold (`above`) or below it (`below`). */
    readonly direction: "above" | "below";
    readonly threshold: number;
    /** The window the query covers, seconds (for the decision log). */
    readonly windowSeconds: number;
    /** No answer at all holds (health: a target that disappeared is not healthy), or does not. */
    readonly missingHolds: boolean;
}

/** `min_over_time((expr)[S s:step])`: the value stayed above its threshold for the whole S seconds. */
export function sustained(expr: string, seconds: number, stepSeconds: number): string {
    return `min_over_time((${expr})[${seconds}s:${stepSeconds}s])`;
}

export function nodeTriggers(rb: RollbackConfig, node: string, perlBaselineSeconds: number | undefined, sel: NodeSelector = DEFAULT_SELECTOR): Trigger[] {
    const t = rb.triggers;
    const m = nodeMatcher(node, sel);
    const healthWindow = t.healthCheckFailures * t.healthCheckInterval;
    const out: Trigger[] = [
        {
            name: "health",
            subject: node,
            query: `max_over_time(up${m}[${healthWindow}s])`,
            direction: "below",
            threshold: 1,
            windowSeconds: healthWindow,
            missingHolds: true,
        },
        {
            name: "fallback",
            subject: node,
            query: `sum(increase(${FALLBACK_METRIC}${m}[${t.fallbackWindow}s]))`,
            direction: "above",
            threshold: 0,
            windowSeconds: t.fallbackWindow,
            missingHolds: false,
        },
    ];
    if (perlBaselineSeconds !== undefined) {
        const w = t.applyLatencyWindow;
        out.push({
            name: "applyLatency",
            subject: node,
            query: `sum(rate(${APPLY_SUM_METRIC}${m}[${w}s])) / sum(rate(${APPLY_COUNT_METRIC}${m}[${w}s]))`,
            direction: "above",
            threshold: t.applyLatencyRatio * perlBaselineSeconds,
            windowSeconds: w,
            missingHolds: false,
        });
    }
    return out;
}

/** The pods of a color's release (components/bluegreen: release `pve-network-rs-<color>`). */
const POD = '{pod=~"pve-network-rs-{color}-.*"';

export const DEFAULT_BLUE_GREEN_QUERIES = {
    health: `min(probe_success{job="pve-network-rs-health",color="{color}"})`,
    errorRate: `sum(rate(http_requests_total${POD},code=~"5.."}[{window}])) / sum(rate(http_requests_total${POD}}[{window}]))`,
    responseTimeP95: `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket${POD}}[{window}]))) * 1000`,
    cpu: `sum(rate(container_cpu_usage_seconds_total${POD},container!=""}[1m])) / sum(kube_pod_container_resource_requests${POD},resource="cpu"})`,
    memory: `sum(container_memory_working_set_bytes${POD},container!=""}) / sum(kube_pod_container_resource_limits${POD},resource="memory"})`,
} as const;

const fill = (q: string, color: string, window: number) => q.split("{color}").join(color).split("{window}").join(`${window}s`);

export function colorTriggers(rb: RollbackConfig, color: string, stepSeconds: number): Trigger[] {
    const t = rb.triggers;
    const q = { ...DEFAULT_BLUE_GREEN_QUERIES, ...rb.queries };
    const subject = `color ${color}`;
    const healthWindow = t.healthCheckFailures * t.healthCheckInterval;
    return [
        {
            name: "health",
            subject,
            query: `max_over_time((${fill(q.health, color, healthWindow)})[${healthWindow}s:${stepSeconds}s])`,
            direction: "below",
            threshold: 1,
            windowSeconds: healthWindow,
            missingHolds: true,
        },
        {
            name: "errorRate",
            subject,
            query: fill(q.errorRate, color, t.errorRateWindow),
            direction: "above",
            threshold: t.errorRateThreshold,
            windowSeconds: t.errorRateWindow,
            missingHolds: false,
        },
        {
            name: "responseTimeP95",
            subject,
            query: fill(q.responseTimeP95, color, t.responseTimeWindow),
            direction: "above",
            threshold: t.responseTimeThreshold,
            windowSeconds: t.responseTimeWindow,
            missingHolds: false,
        },
        ...(["cpu", "memory"] as const).map((name) => ({
            name,
            subject,
            query: sustained(fill(q[name], color, t.sustainedSeconds), t.sustainedSeconds, stepSeconds),
            direction: "above" as const,
            threshold: name === "cpu" ? t.cpuThreshold : t.memoryThreshold,
            windowSeconds: t.sustainedSeconds,
            missingHolds: false,
        })),
    ];
}

/** One trigger's answer and whether it holds. */
export interface TriggerResult {
    readonly name: TriggerName;
    readonly subject: string;
    readonly query: string;
    /** The answer; null when Prometheus had no data. */
    readonly value: number | null;
    readonly threshold: number;
    readonly direction: "above" | "below";
    readonly windowSeconds: number;
    readonly holds: boolean;
    /** The query failed (Prometheus unreachable, bad query): not a verdict, never acts. */
    readonly error?: string;
}

export function judge(t: Trigger, value: number | undefined): TriggerResult {
    const holds = value === undefined || Number.isNaN(value) ? t.missingHolds : t.direction === "above" ? value > t.threshold : value < t.threshold;
    return {
        name: t.name,
        subject: t.subject,
        query: t.query,
        value: value === undefined || Number.isNaN(value) ? null : value,
        threshold: t.threshold,
        direction: t.direction,
        windowSeconds: t.windowSeconds,
        holds,
    };
}
