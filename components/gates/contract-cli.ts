/**
 * `contract-test`: GET the same endpoints from the Perl and the Rust API of each node and
 * compare the answers (see contract.ts for the normalisation). Writes a JSON report.
 *
 * Exit codes: 0 every endpoint passed; 1 a difference; 2 usage or configuration error;
 * 3 an endpoint could not be compared (unreachable, timeout, TLS, malformed JSON, HTTP error).
 */
import * as fs from "fs";
import * as path from "path";
import { NODE_NAME_RE } from "../config/schema";
import { isPhase, Phase, PHASES } from "../phases";
import { parseArgs, str, list, bool, num, isoTime, UsageError, FlagSpecs, ParsedArgs } from "./argv";
import {
    DEFAULT_ENDPOINTS,
    SDN_ENDPOINTS,
    VOLATILE_FIELDS,
    VOLATILE_FIELD_NAMES,
    checkBaseUrl,
    checkEndpoint,
    compareAnswers,
    exitCodeFor,
    forNode,
    formatResults,
    joinUrl,
    totals,
    EndpointError,
    EndpointResult,
    NodeResult,
    Totals,
} from "./contract";
import { getJson, GetJsonResult } from "./http";
import { writeFileAtomic } from "./files";

export const CONTRACT_REPORT_VERSION = 1;

export interface ContractTestOptions {
    readonly nodes: readonly string[];
    /** Base URL of the Perl API; `{node}` is replaced per node. */
    readonly perlUrl: string;
    /** Base URL of the Rust API; `{node}` is replaced per node. */
    readonly rustUrl: string;
    /** Endpoint templates; `{node}` is replaced per node. */
    readonly endpoints: readonly string[];
    /** PEM CA bundle (self-signed clusters). */
    readonly ca?: string;
    /** `USER@REALM!TOKENID=SECRET`; sent as `Authorization: PVEAPIToken=<token>`. */
    readonly token: string;
    readonly timeoutMs: number;
    readonly retries: number;
    readonly retryDelayMs: number;
    readonly volatileFields?: readonly string[];
}

/** The part of the evidence the contract test provides (with --stack/--phase/--phase-entered-at). */
export interface ContractEvidencePart {
    readonly stack: string;
    readonly phase: Phase;
    readonly phaseEnteredAt: string;
    readonly nodes: string[];
    readonly contractTests: { endpointsCompared: number; passed: number; failed: number };
}

export interface ContractReport {
    readonly tool: "contract-test";
    readonly reportVersion: typeof CONTRACT_REPORT_VERSION;
    readonly startedAt: string;
    readonly finishedAt: string;
    readonly perlUrl: string;
    readonly rustUrl: string;
    readonly nodes: string[];
    readonly volatileFields: { field: string; reason: string }[];
    readonly results: NodeResult[];
    readonly totals: Totals;
    readonly evidence?: ContractEvidencePart;
}

/** Run the comparison for every node and endpoint. Never throws for a network problem. */
export async function runContractTest(o: ContractTestOptions): Promise<NodeResult[]> {
    const headers = { Authorization: `PVEAPIToken=${o.token}` };
    const fetchOpts = { ca: o.ca, headers, timeoutMs: o.timeoutMs, retries: o.retries, retryDelayMs: o.retryDelayMs };
    const results: NodeResult[] = [];
    for (const node of o.nodes) {
        const endpoints: EndpointResult[] = [];
        for (const tpl of o.endpoints) {
            const endpoint = forNode(tpl, node);
            const perlUrl = joinUrl(forNode(o.perlUrl, node), endpoint);
            const rustUrl = joinUrl(forNode(o.rustUrl, node), endpoint);
            const [p, r] = await Promise.all([getJson(perlUrl, fetchOpts), getJson(rustUrl, fetchOpts)]);
            const errors: EndpointError[] = [];
            const err = (side: "perl" | "rust", res: GetJsonResult, url: string) => {
                if (!res.ok) errors.push({ side, kind: res.kind, message: res.message, url, status: res.status, attempts: res.attempts });
            };
            err("perl", p, perlUrl);
            err("rust", r, rustUrl);
            if (!p.ok || !r.ok) {
                endpoints.push({ endpoint, perlUrl, rustUrl, status: "error", differences: [], errors });
                continue;
            }
            const differences = compareAnswers(p.body, r.body, o.volatileFields ?? VOLATILE_FIELD_NAMES);
            endpoints.push({ endpoint, perlUrl, rustUrl, status: differences.length === 0 ? "pass" : "fail", differences, errors });
        }
        results.push({ node, endpoints });
    }
    return results;
}

export const CONTRACT_FLAGS: FlagSpecs = {
    node: { kind: "list" },
    "perl-url": { kind: "string" },
    "rust-url": { kind: "string" },
    output: { kind: "string" },
    ca: { kind: "string" },
    "token-file": { kind: "string" },
    timeout: { kind: "string" },
    retries: { kind: "string" },
    "retry-delay": { kind: "string" },
    endpoints: { kind: "string" },
    sdn: { kind: "boolean" },
    stack: { kind: "string" },
    phase: { kind: "string" },
    "phase-entered-at": { kind: "string" },
    help: { kind: "boolean" },
};

export const CONTRACT_USAGE = `usage: contract-test --node N [--node N...] --perl-url URL --rust-url URL --output FILE
                     [--ca FILE] [--token-file FILE] [--timeout SECONDS] [--retries N]
                     [--retry-delay SECONDS] [--endpoints E1,E2,...] [--sdn]
                     [--stack S --phase P --phase-entered-at ISO]
  URLs are https:// base URLs; {node} in a URL or an endpoint is replaced by the node name.
  The API token is read from --token-file or from the environment variable PVE_API_TOKEN
  (USER@REALM!TOKENID=SECRET) and sent as "Authorization: PVEAPIToken=<token>".
  Default endpoints: ${DEFAULT_ENDPOINTS.join(", ")}
  Volatile fields (ignored): ${VOLATILE_FIELD_NAMES.join(", ")}
  Exit: 0 all passed, 1 a difference, 2 usage error, 3 an endpoint could not be compared.`;

export interface ParsedContractArgs {
    readonly options: Omit<ContractTestOptions, "token" | "ca">;
    readonly output: string;
    readonly caFile?: string;
    readonly tokenFile?: string;
    readonly evidence?: { stack: string; phase: Phase; phaseEnteredAt: string };
}

/** Validate the command line (pure). Throws UsageError naming the flag and the bad value. */
export function parseContractArgs(argv: readonly string[]): ParsedContractArgs {
    const p: ParsedArgs = parseArgs(argv, CONTRACT_FLAGS);
    if (p.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(p.positionals[0])}`);
    const nodes = list(p, "node");
    if (nodes.length === 0) throw new UsageError("--node: at least one node is required");
    for (const n of nodes) {
        if (!NODE_NAME_RE.test(n)) throw new UsageError(`--node: ${JSON.stringify(n)} is not a Proxmox VE node name`);
    }
    if (new Set(nodes).size !== nodes.length) throw new UsageError("--node: a node is listed twice");
    const perlUrl = requireUrl(p, "perl-url");
    const rustUrl = requireUrl(p, "rust-url");
    const output = str(p, "output");
    if (output === undefined || output === "") throw new UsageError("--output: required (the report file)");
    let endpoints: readonly string[] = bool(p, "sdn") ? SDN_ENDPOINTS : DEFAULT_ENDPOINTS;
    const e = str(p, "endpoints");
    if (e !== undefined) {
        if (bool(p, "sdn")) throw new UsageError("--endpoints and --sdn: give one of them");
        endpoints = e.split(",").map((x) => x.trim()).filter((x) => x !== "");
        if (endpoints.length === 0) throw new UsageError(`--endpoints: no endpoint in ${JSON.stringify(e)}`);
        for (const ep of endpoints) {
            const why = checkEndpoint(ep);
            if (why) throw new UsageError(`--endpoints: ${JSON.stringify(ep)} ${why}`);
        }
    }
    const timeoutMs = num(p, "timeout", 30, { min: 0, exclusiveMin: true, max: 3600 }) * 1000;
    const retries = num(p, "retries", 2, { min: 0, max: 10, integer: true });
    const retryDelayMs = num(p, "retry-delay", 1, { min: 0, max: 60 }) * 1000;
    const stack = str(p, "stack");
    const phase = str(p, "phase");
    const enteredMs = isoTime(p, "phase-entered-at");
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
        caFile: str(p, "ca"),
        tokenFile: str(p, "token-file"),
        evidence,
    };
}

function requireUrl(p: ParsedArgs, name: string): string {
    const v = str(p, name);
    if (v === undefined) throw new UsageError(`--${name}: required (https://host:8006; {node} is replaced by the node name)`);
    const why = checkBaseUrl(v);
    if (why) throw new UsageError(`--${name}: ${why} (got ${JSON.stringify(v)})`);
    return v;
}

/** Read the API token from `file` or from env PVE_API_TOKEN. Throws UsageError (never prints it). */
export function readToken(file: string | undefined, env: NodeJS.ProcessEnv): string {
    let token: string;
    if (file !== undefined) {
        try {
            token = fs.readFileSync(file, "utf8");
        } catch (e) {
            throw new UsageError(`--token-file: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
        token = token.replace(/\r?\n$/, "");
    } else if (env.PVE_API_TOKEN !== undefined && env.PVE_API_TOKEN !== "") {
        token = env.PVE_API_TOKEN;
    } else {
        throw new UsageError("no API token: give --token-file FILE or set PVE_API_TOKEN (USER@REALM!TOKENID=SECRET)");
    }
    const where = file !== undefined ? `--token-file ${file}` : "PVE_API_TOKEN";
    if (token === "") throw new UsageError(`${where}: the token is empty`);
    // A header value must be one line of visible ASCII; say so without echoing the token.
    if (!/^[\x21-\x7e]+$/.test(token)) throw new UsageError(`${where}: the token must be one line of printable ASCII without spaces`);
    if (!/^[^@\s]+@[^!\s]+![^=\s]+=.+$/.test(token)) {
        throw new UsageError(`${where}: the token must look like USER@REALM!TOKENID=SECRET`);
    }
    return token;
}

export function buildReport(
    a: ParsedContractArgs,
    results: NodeResult[],
    startedAt: Date,
    finishedAt: Date,
): ContractReport {
    const t = totals(results);
    return {
        tool: "contract-test",
        reportVersion: CONTRACT_REPORT_VERSION,
        startedAt: startedAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        perlUrl: a.options.perlUrl,
        rustUrl: a.options.rustUrl,
        nodes: [...a.options.nodes],
        volatileFields: VOLATILE_FIELDS.map((f) => ({ ...f })),
        results,
        totals: t,
        ...(a.evidence
            ? {
                  evidence: {
                      ...a.evidence,
                      nodes: [...a.options.nodes],
                      contractTests: { endpointsCompared: t.endpointsCompared, passed: t.passed, failed: t.failed },
                  },
              }
            : {}),
    };
}

export interface Io {
    readonly stdout: (s: string) => void;
    readonly stderr: (s: string) => void;
    readonly env: NodeJS.ProcessEnv;
}

const processIo: Io = {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    env: process.env,
};

/** The `contract-test` command. Returns the exit code. */
export async function contractTestMain(argv: readonly string[], io: Io = processIo): Promise<number> {
    let a: ParsedContractArgs;
    let token: string;
    let ca: string | undefined;
    try {
        if (argv.includes("--help")) {
            io.stdout(CONTRACT_USAGE + "\n");
            return 0;
        }
        a = parseContractArgs(argv);
        token = readToken(a.tokenFile, io.env);
        if (a.caFile !== undefined) {
            try {
                ca = fs.readFileSync(a.caFile, "utf8");
            } catch (e) {
                throw new UsageError(`--ca: cannot read ${a.caFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
            }
            if (!ca.includes("-----BEGIN CERTIFICATE-----")) throw new UsageError(`--ca: ${a.caFile} holds no PEM certificate`);
        }
    } catch (e) {
        if (e instanceof UsageError) {
            io.stderr(`contract-test: ${e.message}\n${CONTRACT_USAGE}\n`);
            return 2;
        }
        throw e;
    }
    const started = new Date();
    const results = await runContractTest({ ...a.options, token, ca });
    const report = buildReport(a, results, started, new Date());
    try {
        writeFileAtomic(path.resolve(a.output), JSON.stringify(report, null, 2) + "\n");
    } catch (e) {
        io.stderr(`contract-test: --output: cannot write ${a.output}: ${(e as Error).message}\n`);
        return 2;
    }
    io.stdout(formatResults(results) + `\nreport: ${a.output}\n`);
    return exitCodeFor(report.totals);
}
