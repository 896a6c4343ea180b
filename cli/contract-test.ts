/**
 * `contract-test`: compare the Perl and the Rust API answers of each node (components/gates
 * contract.ts, contract-cli.ts) and write the JSON report. A single-command tool.
 */
import * as fs from "fs";
import * as path from "path";
import { NODE_NAME_RE } from "../components/config/schema";
import { DEFAULT_ENDPOINTS, SDN_ENDPOINTS, VOLATILE_FIELD_NAMES, checkBaseUrl, checkEndpoint, exitCodeFor, formatResults } from "../components/gates/contract";
import { ParsedContractArgs, buildReport, readToken, runContractTest } from "../components/gates/contract-cli";
import { writeFileAtomic } from "../components/gates/files";
import { PHASES, isPhase } from "../components/phases";
import { Io, ToolDecl, parseOnly, processIo, runTool } from "./command";
import { CliError, EXIT, UsageError } from "./errors";
import { isoTimeOption, listOption, numberOption, stringOption } from "./values";

type Opts = Readonly<Record<string, unknown>>;

/** Validate the parsed options (pure). Throws UsageError naming the option and the bad value. */
export function contractArgs(o: Opts): ParsedContractArgs {
    const nodes = listOption(o.node);
    if (nodes.length === 0) throw new UsageError("--node: at least one node is required");
    for (const n of nodes) {
        if (!NODE_NAME_RE.test(n)) throw new UsageError(`--node: ${JSON.stringify(n)} is not a Proxmox VE node name`);
    }
    if (new Set(nodes).size !== nodes.length) throw new UsageError("--node: a node is listed twice");
    const perlUrl = requireUrl(o.perlUrl, "perl-url");
    const rustUrl = requireUrl(o.rustUrl, "rust-url");
    const output = stringOption(o.output);
    if (output === undefined || output === "") throw new UsageError("--output: required (the report file)");
    let endpoints: readonly string[] = o.sdn === true ? SDN_ENDPOINTS : DEFAULT_ENDPOINTS;
    const e = stringOption(o.endpoints);
    if (e !== undefined) {
        if (o.sdn === true) throw new UsageError("--endpoints and --sdn: give one of them");
        endpoints = e
            .split(",")
            .map((x) => x.trim())
            .filter((x) => x !== "");
        if (endpoints.length === 0) throw new UsageError(`--endpoints: no endpoint in ${JSON.stringify(e)}`);
        for (const ep of endpoints) {
            const why = checkEndpoint(ep);
            if (why) throw new UsageError(`--endpoints: ${JSON.stringify(ep)} ${why}`);
        }
    }
    const timeoutMs = numberOption("timeout", o.timeout, 30, { min: 0, exclusiveMin: true, max: 3600 }) * 1000;
    const retries = numberOption("retries", o.retries, 2, { min: 0, max: 10, integer: true });
    const retryDelayMs = numberOption("retry-delay", o.retryDelay, 1, { min: 0, max: 60 }) * 1000;
    const stack = stringOption(o.stack);
    const phase = stringOption(o.phase);
    const enteredMs = isoTimeOption("phase-entered-at", o.phaseEnteredAt);
    let evidence: ParsedContractArgs["evidence"];
    const given = [stack, phase, enteredMs].filter((x) => x !== undefined).length;
    if (given > 0 && given < 3) throw new UsageError("--stack, --phase and --phase-entered-at: give all three or none");
    if (given === 3) {
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(stack!)) throw new UsageError(`--stack: ${JSON.stringify(stack)} is not a stack name`);
        if (!isPhase(phase)) throw new UsageError(`--phase: must be one of ${PHASES.join(", ")} (got ${JSON.stringify(phase)})`);
        evidence = { stack: stack!, phase, phaseEnteredAt: new Date(enteredMs!).toISOString() };
    }
    return {
        options: { nodes, perlUrl, rustUrl, endpoints, timeoutMs, retries, retryDelayMs },
        output,
        caFile: stringOption(o.ca),
        tokenFile: stringOption(o.tokenFile),
        evidence,
    };
}

function requireUrl(raw: unknown, name: string): string {
    const v = stringOption(raw);
    if (v === undefined) throw new UsageError(`--${name}: required (https://host:8006; {node} is replaced by the node name)`);
    const why = checkBaseUrl(v);
    if (why) throw new UsageError(`--${name}: ${why} (got ${JSON.stringify(v)})`);
    return v;
}

function readCa(file: string, cwd: string): string {
    let ca: string;
    try {
        ca = fs.readFileSync(path.resolve(cwd, file), "utf8");
    } catch (e) {
        throw new UsageError(`--ca: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!ca.includes("-----BEGIN CERTIFICATE-----")) throw new UsageError(`--ca: ${file} holds no PEM certificate`);
    return ca;
}

export const CONTRACT_TEST: ToolDecl = {
    name: "contract-test",
    description: "GET the same endpoints from the Perl and the Rust API of each node, compare the answers, write a JSON report.",
    commands: [
        {
            name: "",
            summary: "",
            options: [
                { flags: "--node <N>", description: "a node to test (repeatable; at least one)", repeatable: true },
                { flags: "--perl-url <URL>", description: "https:// base URL of the Perl API; {node} is replaced by the node name" },
                { flags: "--rust-url <URL>", description: "https:// base URL of the Rust API; {node} is replaced by the node name" },
                { flags: "--output <FILE>", description: "the report file (required)" },
                { flags: "--ca <FILE>", description: "PEM CA bundle (self-signed clusters)" },
                { flags: "--token-file <FILE>", description: "API token file (else the environment variable PVE_API_TOKEN)" },
                { flags: "--timeout <SECONDS>", description: "per request (default 30)" },
                { flags: "--retries <N>", description: "retries per request (default 2)" },
                { flags: "--retry-delay <SECONDS>", description: "between retries (default 1)" },
                { flags: "--endpoints <E1,E2,...>", description: "endpoints to compare ({node} replaced)" },
                { flags: "--sdn", description: "compare the SDN endpoints" },
                { flags: "--stack <S>", description: "with --phase and --phase-entered-at: add the evidence part to the report" },
                { flags: "--phase <P>", description: "the phase under test" },
                { flags: "--phase-entered-at <ISO>", description: "when the phase was entered" },
            ],
            help: `The API token (USER@REALM!TOKENID=SECRET) is sent as "Authorization: PVEAPIToken=<token>".
Default endpoints: ${DEFAULT_ENDPOINTS.join(", ")}
Volatile fields (ignored): ${VOLATILE_FIELD_NAMES.join(", ")}
On a terminal, one progress line per endpoint goes to stderr.`,
            run: async ({ opts, io }) => {
                const a = contractArgs(opts);
                const token = readToken(a.tokenFile === undefined ? undefined : path.resolve(io.cwd, a.tokenFile), io.env);
                const ca = a.caFile === undefined ? undefined : readCa(a.caFile, io.cwd);
                const output = path.resolve(io.cwd, a.output);
                if (fs.statSync(output, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--output: ${a.output} is a folder; give the report file`);
                const started = new Date();
                const total = a.options.nodes.length * a.options.endpoints.length;
                let done = 0;
                const progress = io.stderrIsTTY
                    ? (node: string, r: { endpoint: string; status: string }) => io.stderr(`[${++done}/${total}] ${node} ${r.endpoint}: ${r.status}\n`)
                    : undefined;
                const results = await runContractTest({ ...a.options, token, ca }, progress);
                const report = buildReport(a, results, started, new Date());
                try {
                    writeFileAtomic(output, JSON.stringify(report, null, 2) + "\n");
                } catch (e) {
                    throw new CliError(EXIT.USAGE, `--output: cannot write ${a.output}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
                }
                io.stdout(formatResults(results) + `\nreport: ${a.output}\n`);
                return exitCodeFor(report.totals);
            },
        },
    ],
    footer: `exit codes:
  0   every endpoint passed
  1   a difference
  2   usage or configuration error (nothing written)
  3   an endpoint could not be compared (unreachable, timeout, TLS, malformed JSON, HTTP error)
  70  internal error
`,
};

/** Parse a contract-test command line into its validated arguments (for callers and tests); throws UsageError. */
export function parseContractArgs(argv: readonly string[]): ParsedContractArgs {
    let parsed: ParsedContractArgs | undefined;
    const probe: ToolDecl = { ...CONTRACT_TEST, commands: [{ ...CONTRACT_TEST.commands[0], run: ({ opts }) => ((parsed = contractArgs(opts)), 0) }] };
    parseOnly(probe, argv, { ...processIo(), stdout: () => undefined });
    if (parsed === undefined) throw new UsageError("no command line to parse (--help or --version)");
    return parsed;
}

export function contractTestMain(argv: readonly string[], io: Partial<Io> = {}): Promise<number> {
    return runTool(CONTRACT_TEST, argv, { ...processIo(), ...io });
}
