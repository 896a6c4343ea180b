/**
 * The contract test: GET the same endpoints from the Perl and the Rust API of each node and
 * compare the answers (see contract.ts for the normalisation), and its JSON report. The
 * command is declared in cli/contract-test.ts.
 */
import * as fs from "fs";
import { Phase } from "../phases";
import { UsageError } from "../../cli/errors";
import { VOLATILE_FIELDS, VOLATILE_FIELD_NAMES, compareAnswers, forNode, joinUrl, totals, EndpointError, EndpointResult, NodeResult, Totals } from "./contract";
import { getJson, GetJsonResult } from "./http";

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
export async function runContractTest(o: ContractTestOptions, onEndpoint?: (node: string, r: EndpointResult) => void): Promise<NodeResult[]> {
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
                onEndpoint?.(node, endpoints[endpoints.length - 1]);
                continue;
            }
            const differences = compareAnswers(p.body, r.body, o.volatileFields ?? VOLATILE_FIELD_NAMES);
            endpoints.push({ endpoint, perlUrl, rustUrl, status: differences.length === 0 ? "pass" : "fail", differences, errors });
            onEndpoint?.(node, endpoints[endpoints.length - 1]);
        }
        results.push({ node, endpoints });
    }
    return results;
}

export interface ParsedContractArgs {
    readonly options: Omit<ContractTestOptions, "token" | "ca">;
    readonly output: string;
    readonly caFile?: string;
    readonly tokenFile?: string;
    readonly evidence?: { stack: string; phase: Phase; phaseEnteredAt: string };
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

export function buildReport(a: ParsedContractArgs, results: NodeResult[], startedAt: Date, finishedAt: Date): ContractReport {
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
