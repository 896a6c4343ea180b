/**
 * The metrics gate: query Prometheus for every node over [phaseEnteredAt, now], merge the
 * contract-test report, write the evidence file and give the verdict of `judgeEvidence`.
 * The command (options, exit codes) is declared in cli/metrics-gate.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { EvidenceSchema, Evidence, ContractResultsSchema, ContractResults, judgeEvidence, summarizeEvidence } from "../evidence";
import { isWritePhase, Phase } from "../phases";
import { UsageError } from "../../cli/errors";
import { getJson } from "./http";
import { writeFileAtomic } from "./files";
import {
    DEFAULT_INSTANCE_TEMPLATE,
    DEFAULT_NODE_LABEL,
    NodeAnswers,
    NodeSelector,
    QueryValue,
    buildMetrics,
    checkSelector,
    nodeQueries,
    parseQueryAnswer,
    windowDuration,
} from "./metrics";

export class PrometheusError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "PrometheusError";
    }
}

export interface PrometheusClientOptions {
    /** Base URL, `http://prometheus:9090` (a path prefix is kept). */
    readonly url: string;
    readonly ca?: string;
    readonly timeoutMs: number;
    readonly retries: number;
}

/** Run one instant query at `timeMs`. Throws PrometheusError when it cannot be answered. */
export async function promQuery(o: PrometheusClientOptions, query: string, timeMs: number): Promise<QueryValue> {
    const u = `${o.url.replace(/\/+$/, "")}/api/v1/query?${new URLSearchParams({ query, time: (timeMs / 1000).toFixed(3) })}`;
    const r = await getJson(u, { ca: o.ca, timeoutMs: o.timeoutMs, retries: o.retries, retryDelayMs: 1000 });
    if (!r.ok) throw new PrometheusError(`${query}: ${r.kind}: ${r.message}`);
    try {
        return parseQueryAnswer(r.body);
    } catch (e) {
        throw new PrometheusError(`${query}: ${(e as Error).message}`);
    }
}

/** Contract results for `nodes`, read from a contract-test report and checked against the gate. */
export function readContractReport(
    file: string,
    o: { stack: string; phase: Phase; nodes: readonly string[]; phaseEnteredAtMs: number; evidenceFile: string },
): ContractResults {
    let raw: unknown;
    try {
        raw = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        throw new UsageError(`--contract-report: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const r = raw as {
        tool?: unknown;
        finishedAt?: unknown;
        nodes?: unknown;
        results?: { node?: unknown; endpoints?: { status?: unknown }[] }[];
        evidence?: { stack?: unknown; phase?: unknown };
    };
    const where = `--contract-report ${file}`;
    if (r === null || typeof r !== "object" || r.tool !== "contract-test" || !Array.isArray(r.results)) {
        throw new UsageError(`${where}: not a contract-test report`);
    }
    if (r.evidence !== undefined && (r.evidence.stack !== o.stack || r.evidence.phase !== o.phase)) {
        throw new UsageError(
            `${where}: the report is for stack ${String(r.evidence.stack)} phase ${String(r.evidence.phase)}, not stack ${o.stack} phase ${o.phase}`,
        );
    }
    const finished = typeof r.finishedAt === "string" ? Date.parse(r.finishedAt) : NaN;
    if (Number.isNaN(finished)) throw new UsageError(`${where}: finishedAt is missing or not a time`);
    if (finished < o.phaseEnteredAtMs) {
        throw new UsageError(
            `${where}: the contract test finished at ${new Date(finished).toISOString()}, before the phase was entered ` +
                `(${new Date(o.phaseEnteredAtMs).toISOString()}); it tested the previous phase: run contract-test again`,
        );
    }
    const covered = r.results.map((x) => x.node);
    const missing = o.nodes.filter((n) => !covered.includes(n));
    if (missing.length > 0) throw new UsageError(`${where}: the report does not cover node(s) ${missing.join(", ")}; run contract-test with --node for each`);
    const endpoints = r.results.filter((x) => o.nodes.includes(x.node as string)).flatMap((x) => (Array.isArray(x.endpoints) ? x.endpoints : []));
    const passed = endpoints.filter((e) => e.status === "pass").length;
    const rel = path
        .relative(path.dirname(path.resolve(o.evidenceFile)), path.resolve(file))
        .split(path.sep)
        .join("/");
    const c = { endpointsCompared: endpoints.length, passed, failed: endpoints.length - passed, report: rel };
    return ContractResultsSchema.parse(c);
}

export interface MetricsGateOptions {
    readonly prometheus: PrometheusClientOptions;
    readonly stack: string;
    readonly phase: Phase;
    /** Nodes to query; each gets a perNode entry when it has data. */
    readonly nodes: readonly string[];
    /** Nodes the verdict requires (the ring: the stack file's nodes); default `nodes`. */
    readonly ringNodes?: readonly string[];
    readonly phaseEnteredAtMs: number;
    /** Window end and collection time; default now. */
    readonly atMs?: number;
    readonly perlBaselineSeconds: number;
    readonly selector?: NodeSelector;
    /** Path of the contract-test report to merge. */
    readonly contractReport: string;
    readonly soakSeconds: number;
    readonly maxLatencyRatio?: number;
    readonly maxFallbacks?: number;
    /** Evidence file to write. */
    readonly output: string;
}

export interface MetricsGateResult {
    readonly evidence: Evidence;
    /** Why the evidence does not allow the promotion (judgeEvidence); empty: it passes. */
    readonly reasons: string[];
    /** Per-node findings (missing data, fallbacks, latency), each naming the node and query. */
    readonly problems: string[];
    readonly output: string;
}

/**
 * Query, build and write the evidence; return the verdict. Throws UsageError for a bad
 * contract report and PrometheusError when Prometheus cannot answer (nothing is written).
 */
export async function runMetricsGate(o: MetricsGateOptions): Promise<MetricsGateResult> {
    const endMs = o.atMs ?? Date.now();
    const selector = o.selector ?? { label: DEFAULT_NODE_LABEL, template: DEFAULT_INSTANCE_TEMPLATE };
    const selErr = checkSelector(selector);
    if (selErr) throw new UsageError(`--node-label/--instance-label-template: ${selErr}`);
    let window: string;
    try {
        window = windowDuration(o.phaseEnteredAtMs, endMs);
    } catch (e) {
        throw new UsageError(`--phase-entered-at: ${(e as Error).message}`);
    }
    const contractTests = readContractReport(o.contractReport, { ...o, evidenceFile: o.output });
    const queries = (node: string) => nodeQueries(node, window, selector);
    const answers: NodeAnswers[] = await Promise.all(
        o.nodes.map(async (node) => {
            const q = queries(node);
            const [fallbacks, applySum, applyCount] = await Promise.all([
                promQuery(o.prometheus, q.fallbacks, endMs),
                promQuery(o.prometheus, q.applySum, endMs),
                promQuery(o.prometheus, q.applyCount, endMs),
            ]);
            return { node, fallbacks, applySum, applyCount };
        }),
    );
    const { metrics, problems } = buildMetrics(answers, {
        source: o.prometheus.url,
        windowStartMs: o.phaseEnteredAtMs,
        windowEndMs: endMs,
        perlBaselineSeconds: o.perlBaselineSeconds,
        queries,
        // Rust applies only in the write phases; leaving rust-read-only it has nothing to time.
        requireApplyData: isWritePhase(o.phase),
    });
    const evidence = EvidenceSchema.parse({
        schemaVersion: 1,
        stack: o.stack,
        nodes: [...o.nodes],
        phase: o.phase,
        phaseEnteredAt: new Date(o.phaseEnteredAtMs).toISOString(),
        collectedAt: new Date(endMs).toISOString(),
        contractTests,
        metrics,
    });
    writeFileAtomic(o.output, JSON.stringify(evidence, null, 2) + "\n");
    const reasons = judgeEvidence(summarizeEvidence(evidence), {
        stack: o.stack,
        phase: o.phase,
        nodes: o.ringNodes ?? o.nodes,
        soakSeconds: o.soakSeconds,
        maxLatencyRatio: o.maxLatencyRatio,
        maxFallbacks: o.maxFallbacks,
    });
    return { evidence, reasons, problems, output: o.output };
}
