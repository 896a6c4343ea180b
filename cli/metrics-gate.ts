/**
 * `metrics-gate`: query Prometheus for every node over [phaseEnteredAt, now], merge the
 * contract-test report, write the evidence file and print the verdict (components/gates
 * metrics-cli.ts). A single-command tool.
 */
import * as fs from "fs";
import * as path from "path";
import { NODE_NAME_RE } from "../components/config/schema";
import { StackConfig } from "../components/config/schema";
import { StackFileError, readStackConfig, stackFilePath } from "../components/config/stackfile";
import { evidencePath } from "../components/evidence";
import { DEFAULT_INSTANCE_TEMPLATE, DEFAULT_NODE_LABEL, checkSelector } from "../components/gates/metrics";
import { MetricsGateOptions, PrometheusError, runMetricsGate } from "../components/gates/metrics-cli";
import { DEFAULT_SOAK_SECONDS, PHASES, isPhase } from "../components/phases";
import { Io, ToolDecl, parseOnly, processIo, runTool } from "./command";
import { CliError, UsageError } from "./errors";
import { isoTimeOption, listOption, numberOption, stringOption } from "./values";

type Opts = Readonly<Record<string, unknown>>;

/** Exit code of metrics-gate when Prometheus cannot answer (nothing written). */
export const EXIT_PROMETHEUS = 3;

/** Validate the parsed options into gate options (reads the stack file for default nodes / soak). */
export function metricsArgs(p: Opts, cwd: string): MetricsGateOptions & { caFile?: string } {
    const need = (key: string, name: string): string => {
        const v = stringOption(p[key]);
        if (v === undefined || v === "") throw new UsageError(`--${name}: required`);
        return v;
    };
    const url = need("prometheusUrl", "prometheus-url");
    let parsedUrl: URL;
    try {
        parsedUrl = new URL(url);
    } catch {
        throw new UsageError(`--prometheus-url: must be an http(s):// URL (got ${JSON.stringify(url)})`);
    }
    if (!["http:", "https:"].includes(parsedUrl.protocol) || parsedUrl.search !== "" || parsedUrl.username !== "") {
        throw new UsageError(`--prometheus-url: must be an http(s):// URL without credentials or query (got ${JSON.stringify(url)})`);
    }
    const stack = need("stack", "stack");
    const phase = need("phase", "phase");
    if (!isPhase(phase)) throw new UsageError(`--phase: must be one of ${PHASES.join(", ")} (got ${JSON.stringify(phase)})`);
    const enteredMs = isoTimeOption("phase-entered-at", p.phaseEnteredAt);
    if (enteredMs === undefined) throw new UsageError("--phase-entered-at: required (when the phase was entered, ISO 8601)");
    const atMs = isoTimeOption("at", p.at);
    if (atMs !== undefined && atMs <= enteredMs) throw new UsageError("--at: must be after --phase-entered-at");
    if (atMs === undefined && Date.now() <= enteredMs) throw new UsageError("--phase-entered-at: is in the future");
    const perlBaselineSeconds = numberOption("perl-baseline", p.perlBaseline, NaN, { min: 0, exclusiveMin: true });
    if (Number.isNaN(perlBaselineSeconds)) throw new UsageError("--perl-baseline: required (mean Perl apply latency, seconds)");
    const contractReport = need("contractReport", "contract-report");
    const rootDir = path.resolve(cwd, stringOption(p.rootDir) ?? ".");

    // The stack file, when there is one, gives the ring's nodes, soak and latency ratio, so that
    // this verdict is the one the Pulumi program and `migration-ctl check` reach.
    let nodes = listOption(p.node);
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
        p.soakSeconds !== undefined
            ? numberOption("soak-seconds", p.soakSeconds, 0, { min: 0, integer: true })
            : (sf?.soakSeconds[phase] ?? DEFAULT_SOAK_SECONDS[phase]);
    const maxLatencyRatio = numberOption("max-latency-ratio", p.maxLatencyRatio, sf?.gates.maxLatencyRatio ?? 1, { min: 0, exclusiveMin: true });

    const outputFlag = stringOption(p.output);
    const output = path.resolve(cwd, outputFlag ?? path.join(rootDir, evidencePath(stack, phase)));
    if (fs.statSync(output, { throwIfNoEntry: false })?.isDirectory()) {
        throw new UsageError(`--output: ${outputFlag ?? output} is a folder; give the evidence file (default <root-dir>/${evidencePath(stack, phase)})`);
    }
    const label = stringOption(p.nodeLabel) ?? DEFAULT_NODE_LABEL;
    const template = stringOption(p.instanceLabelTemplate) ?? DEFAULT_INSTANCE_TEMPLATE;
    const selErr = checkSelector({ label, template });
    if (selErr) throw new UsageError(`--node-label/--instance-label-template: ${selErr}`);
    return {
        prometheus: {
            url,
            timeoutMs: numberOption("timeout", p.timeout, 30, { min: 0, exclusiveMin: true, max: 600 }) * 1000,
            retries: numberOption("retries", p.retries, 2, { min: 0, max: 10, integer: true }),
        },
        caFile: stringOption(p.ca),
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
        maxFallbacks: numberOption("max-fallbacks", p.maxFallbacks, 0, { min: 0 }),
        output,
    };
}

export const METRICS_GATE: ToolDecl = {
    name: "metrics-gate",
    description: "Query Prometheus over the soak window, merge the contract-test report, write the evidence file and print the verdict.",
    commands: [
        {
            name: "",
            summary: "",
            options: [
                { flags: "--prometheus-url <URL>", description: "http(s):// base URL of Prometheus (required)" },
                { flags: "--stack <S>", description: "the stack (required)" },
                { flags: "--phase <P>", description: "the phase being left (required)" },
                { flags: "--phase-entered-at <ISO>", description: "when the phase was entered (required)" },
                { flags: "--perl-baseline <SECONDS>", description: "mean Perl apply latency (required)" },
                { flags: "--contract-report <FILE>", description: "the contract-test report to merge (required)" },
                { flags: "--node <N>", description: "a node to query (repeatable; default: the stack file's nodes)", repeatable: true },
                { flags: "--output <FILE>", description: "the evidence file (default <root-dir>/stacks/evidence/<S>/<P>.json)" },
                { flags: "--root-dir <DIR>", description: "folder holding stacks/ (default: the current folder)" },
                { flags: "--at <ISO>", description: "window end and collection time (default: now)" },
                { flags: "--soak-seconds <N>", description: "required soak (default: the stack file's pve-migration:soakSeconds)" },
                { flags: "--node-label <LABEL>", description: `label that names a node's series (default ${DEFAULT_NODE_LABEL})` },
                { flags: "--instance-label-template <T>", description: `its value, {node} replaced (default '${DEFAULT_INSTANCE_TEMPLATE}')` },
                { flags: "--max-latency-ratio <R>", description: "Rust/Perl apply latency limit (default: the stack file's gates.maxLatencyRatio, else 1)" },
                { flags: "--max-fallbacks <N>", description: "fallbacks allowed in the window (default 0)" },
                { flags: "--ca <FILE>", description: "PEM CA bundle for Prometheus" },
                { flags: "--timeout <S>", description: "per query (default 30)" },
                { flags: "--retries <N>", description: "retries per query (default 2)" },
            ],
            help: `stacks/Pulumi.<S>.yaml under --root-dir, when present, gives the default nodes, the soak and the
latency ratio, and the verdict requires every node of the stack, as the Pulumi program does.`,
            run: async ({ opts, io }) => {
                const o = metricsArgs(opts, io.cwd);
                let ca: string | undefined;
                if (o.caFile !== undefined) {
                    try {
                        ca = fs.readFileSync(path.resolve(io.cwd, o.caFile), "utf8");
                    } catch (e) {
                        throw new UsageError(`--ca: cannot read ${o.caFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
                    }
                }
                let r;
                try {
                    r = await runMetricsGate({ ...o, prometheus: { ...o.prometheus, ca } });
                } catch (e) {
                    if (e instanceof PrometheusError) throw new CliError(EXIT_PROMETHEUS, `Prometheus: ${e.message} (no evidence written)`);
                    throw e;
                }
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
            },
        },
    ],
    footer: `exit codes:
  0   the evidence passes
  1   it fails (reasons printed; the evidence is still written: it is the record)
  2   usage or configuration error (nothing written)
  3   Prometheus unreachable or a query failed (nothing written)
  70  internal error
`,
};

/** Parse a metrics-gate command line into gate options (for callers and tests); throws UsageError. */
export function parseMetricsArgs(argv: readonly string[], cwd: string): MetricsGateOptions & { caFile?: string } {
    let parsed: (MetricsGateOptions & { caFile?: string }) | undefined;
    const probe: ToolDecl = { ...METRICS_GATE, commands: [{ ...METRICS_GATE.commands[0], run: ({ opts }) => ((parsed = metricsArgs(opts, cwd)), 0) }] };
    parseOnly(probe, argv, { ...processIo(), cwd, stdout: () => undefined });
    if (parsed === undefined) throw new UsageError("no command line to parse (--help or --version)");
    return parsed;
}

export function metricsGateMain(argv: readonly string[], io: Partial<Io> = {}): Promise<number> {
    return runTool(METRICS_GATE, argv, { ...processIo(), ...io });
}
