/**
 * `metrics-gate`: query Prometheus for every node over [phaseEnteredAt, now], merge the
 * contract-test report, write the evidence file and print the verdict of `judgeEvidence`.
 *
 * Exit codes: 0 the evidence passes; 1 it fails (each reason printed, the evidence is still
 * written: it is the record); 2 usage or configuration error (nothing written); 3 Prometheus
 * unreachable or a query failed (nothing written).
 */
import * as fs from "fs";
import * as path from "path";
import { EvidenceSchema, Evidence, ContractResultsSchema, ContractResults, evidencePath, judgeEvidence, summarizeEvidence } from "../evidence";
import { NODE_NAME_RE } from "../config/schema";
import { isPhase, isWritePhase, Phase, PHASES, DEFAULT_SOAK_SECONDS } from "../phases";
import { StackConfig } from "../config/schema";
import { StackFileError, readStackConfig, stackFilePath } from "../config/stackfile";
import { parseArgs, str, list, num, isoTime, UsageError, FlagSpecs } from "./argv";
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
import type { Io } from "./contract-cli";

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
    const rel = path.relative(path.dirname(path.resolve(o.evidenceFile)), path.resolve(file)).split(path.sep).join("/");
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

export const METRICS_FLAGS: FlagSpecs = {
    "prometheus-url": { kind: "string" },
    stack: { kind: "string" },
    phase: { kind: "string" },
    "phase-entered-at": { kind: "string" },
    at: { kind: "string" },
    node: { kind: "list" },
    "perl-baseline": { kind: "string" },
    "node-label": { kind: "string" },
    "instance-label-template": { kind: "string" },
    "contract-report": { kind: "string" },
    output: { kind: "string" },
    "root-dir": { kind: "string" },
    "soak-seconds": { kind: "string" },
    "max-latency-ratio": { kind: "string" },
    "max-fallbacks": { kind: "string" },
    ca: { kind: "string" },
    timeout: { kind: "string" },
    retries: { kind: "string" },
    help: { kind: "boolean" },
};

export const METRICS_USAGE = `usage: metrics-gate --prometheus-url URL --stack S --phase P --phase-entered-at ISO
                    --perl-baseline SECONDS --contract-report FILE [--node N...]
                    [--output FILE] [--root-dir DIR] [--at ISO] [--soak-seconds N]
                    [--node-label LABEL] [--instance-label-template '{node}:9187']
                    [--max-latency-ratio R] [--max-fallbacks N] [--ca FILE] [--timeout S] [--retries N]
  stacks/Pulumi.<S>.yaml under --root-dir, when present, gives the default nodes, the soak
  (pve-migration:soakSeconds) and the latency ratio (pve-migration:gates.maxLatencyRatio), and the
  verdict requires every node of the stack, as the Pulumi program does.
  A node's series are those with <node-label>="<template with {node} replaced>" (default instance="<node>:9187").
  Output defaults to <root-dir>/${evidencePath("<S>", "perl-only").replace("perl-only", "<P>")}.
  Exit: 0 evidence passes, 1 it fails (reasons printed), 2 usage error, 3 Prometheus error.`;

/** Validate the command line into gate options (reads the stack file for default nodes / soak). */
export function parseMetricsArgs(argv: readonly string[], cwd: string): MetricsGateOptions & { caFile?: string } {
    const p = parseArgs(argv, METRICS_FLAGS);
    if (p.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(p.positionals[0])}`);
    const need = (name: string): string => {
        const v = str(p, name);
        if (v === undefined || v === "") throw new UsageError(`--${name}: required`);
        return v;
    };
    const url = need("prometheus-url");
    let parsedUrl: URL;
    try {
        parsedUrl = new URL(url);
    } catch {
        throw new UsageError(`--prometheus-url: must be an http(s):// URL (got ${JSON.stringify(url)})`);
    }
    if (!["http:", "https:"].includes(parsedUrl.protocol) || parsedUrl.search !== "" || parsedUrl.username !== "") {
        throw new UsageError(`--prometheus-url: must be an http(s):// URL without credentials or query (got ${JSON.stringify(url)})`);
    }
    const stack = need("stack");
    const phase = need("phase");
    if (!isPhase(phase)) throw new UsageError(`--phase: must be one of ${PHASES.join(", ")} (got ${JSON.stringify(phase)})`);
    const enteredMs = isoTime(p, "phase-entered-at");
    if (enteredMs === undefined) throw new UsageError("--phase-entered-at: required (when the phase was entered, ISO 8601)");
    const atMs = isoTime(p, "at");
    if (atMs !== undefined && atMs <= enteredMs) throw new UsageError("--at: must be after --phase-entered-at");
    if (atMs === undefined && Date.now() <= enteredMs) throw new UsageError("--phase-entered-at: is in the future");
    const perlBaselineSeconds = num(p, "perl-baseline", NaN, { min: 0, exclusiveMin: true });
    if (Number.isNaN(perlBaselineSeconds)) throw new UsageError("--perl-baseline: required (mean Perl apply latency, seconds)");
    const contractReport = need("contract-report");
    const rootDir = path.resolve(cwd, str(p, "root-dir") ?? ".");

    // The stack file, when there is one, gives the ring's nodes, soak and latency ratio, so that
    // this verdict is the one the Pulumi program and `migration-ctl check` reach.
    let nodes = list(p, "node");
    let sf: StackConfig | undefined;
    if (nodes.length === 0 || fs.existsSync(stackFilePath(rootDir, stack))) {
        try {
            sf = readStackConfig(rootDir, stack);
        } catch (e) {
            if (e instanceof StackFileError) throw new UsageError(nodes.length === 0 ? `no --node given and ${e.message}` : e.message);
            throw e;
        }
    }
    if (nodes.length === 0) nodes = sf!.nodes.map((n) => n.name);
    for (const n of nodes) if (!NODE_NAME_RE.test(n)) throw new UsageError(`--node: ${JSON.stringify(n)} is not a Proxmox VE node name`);
    if (new Set(nodes).size !== nodes.length) throw new UsageError("--node: a node is listed twice");
    const soakSeconds =
        str(p, "soak-seconds") !== undefined ? num(p, "soak-seconds", 0, { min: 0, integer: true }) : (sf?.soakSeconds[phase] ?? DEFAULT_SOAK_SECONDS[phase]);
    const maxLatencyRatio = num(p, "max-latency-ratio", sf?.gates.maxLatencyRatio ?? 1, { min: 0, exclusiveMin: true });

    const output = path.resolve(cwd, str(p, "output") ?? path.join(rootDir, evidencePath(stack, phase)));
    const label = str(p, "node-label") ?? DEFAULT_NODE_LABEL;
    const template = str(p, "instance-label-template") ?? DEFAULT_INSTANCE_TEMPLATE;
    const selErr = checkSelector({ label, template });
    if (selErr) throw new UsageError(`--node-label/--instance-label-template: ${selErr}`);
    return {
        prometheus: {
            url,
            timeoutMs: num(p, "timeout", 30, { min: 0, exclusiveMin: true, max: 600 }) * 1000,
            retries: num(p, "retries", 2, { min: 0, max: 10, integer: true }),
        },
        caFile: str(p, "ca"),
        stack,
        phase,
        nodes,
        phaseEnteredAtMs: enteredMs,
        atMs,
        perlBaselineSeconds,
        selector: { label, template },
        contractReport: path.resolve(cwd, contractReport),
        ringNodes: sf?.nodes.map((n) => n.name),
        soakSeconds,
        maxLatencyRatio,
        maxFallbacks: num(p, "max-fallbacks", 0, { min: 0 }),
        output,
    };
}

const processIo: Io = {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    env: process.env,
};

/** The `metrics-gate` command. Returns the exit code. */
export async function metricsGateMain(argv: readonly string[], io: Io = processIo, cwd = process.cwd()): Promise<number> {
    if (argv.includes("--help")) {
        io.stdout(METRICS_USAGE + "\n");
        return 0;
    }
    try {
        const o = parseMetricsArgs(argv, cwd);
        let ca: string | undefined;
        if (o.caFile !== undefined) {
            try {
                ca = fs.readFileSync(path.resolve(cwd, o.caFile), "utf8");
            } catch (e) {
                throw new UsageError(`--ca: cannot read ${o.caFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
            }
        }
        const r = await runMetricsGate({ ...o, prometheus: { ...o.prometheus, ca } });
        const m = r.evidence.metrics;
        io.stdout(
            `evidence: ${r.output}\n` +
                `window ${m.windowStart} .. ${m.windowEnd}; fallbacks ${m.fallbacks}; apply latency ` +
                `${m.applyLatencySeconds === null ? "none" : `${m.applyLatencySeconds}s`} (Perl baseline ${m.perlBaselineSeconds}s); ` +
                `contract tests ${r.evidence.contractTests.passed}/${r.evidence.contractTests.endpointsCompared} passed\n`,
        );
        for (const pr of r.problems) io.stdout(`  finding: ${pr}\n`);
        if (r.reasons.length === 0) {
            io.stdout(`PASS: the evidence allows leaving ${o.phase} for stack ${o.stack}\n`);
            return 0;
        }
        io.stdout(`FAIL: the evidence does not allow leaving ${o.phase} for stack ${o.stack}:\n`);
        for (const reason of r.reasons) io.stdout(`  - ${reason}\n`);
        return 1;
    } catch (e) {
        if (e instanceof UsageError) {
            io.stderr(`metrics-gate: ${e.message}\n`);
            return 2;
        }
        if (e instanceof PrometheusError) {
            io.stderr(`metrics-gate: Prometheus: ${e.message}\n(no evidence written)\n`);
            return 3;
        }
        throw e;
    }
}
