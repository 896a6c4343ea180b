/**
 * Contract test, pure core: which endpoints are compared, how answers are normalised before
 * they are compared, and the path-level diff that goes into the report.
 * No I/O here; contract-run.ts fetches, contract-cli.ts is the command line.
 */

/** A field removed (at any depth) before the Perl and the Rust answers are compared. */
export interface VolatileField {
    readonly field: string;
    /** Why a difference in it is not a contract difference. */
    readonly reason: string;
}

/**
 * The documented list of volatile fields. Anything not listed here is compared exactly.
 */
export const VOLATILE_FIELDS: readonly VolatileField[] = [
    {
        field: "digest",
        reason:
            "hash of the configuration file at the moment it was read, used as an optimistic-lock token; " +
            "the two GETs are not atomic, so a write between them changes it, and the content it covers is compared field by field",
    },
    { field: "ctime", reason: "creation time (epoch seconds) of a file or object at read time; not part of the configuration" },
    { field: "mtime", reason: "modification time (epoch seconds) of a configuration file at read time; changes with every write" },
    { field: "uptime", reason: "seconds since a daemon or interface started; differs between any two requests" },
];

export const VOLATILE_FIELD_NAMES: readonly string[] = VOLATILE_FIELDS.map((f) => f.field);

/**
 * Keys that identify the elements of a list (`iface` in the network list, `zone`, `vnet`,
 * `storage`, `subnet`). The Perl API builds these lists from hashes, so their order is not
 * part of the contract: a list of objects that all carry the same identity key, with unique
 * values, is sorted by it before comparison. Other lists keep their order.
 */
export const IDENTITY_KEYS: readonly string[] = ["iface", "zone", "vnet", "storage", "subnet", "id"];

/** Endpoints compared by default, for each node (`{node}` is replaced by the node name). */
export const DEFAULT_ENDPOINTS: readonly string[] = [
    "/api2/json/nodes/{node}/network",
    "/api2/json/cluster/sdn/zones",
    "/api2/json/cluster/sdn/vnets",
    "/api2/json/storage",
];

/** The SDN subset (`contract-test --sdn`). */
export const SDN_ENDPOINTS: readonly string[] = DEFAULT_ENDPOINTS.filter((e) => e.includes("/sdn/"));

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Normalise an API answer: object keys sorted, volatile fields removed at any depth, lists of
 * identified objects sorted by their identity key. Returns a new value; the input is untouched.
 */
export function normalise(value: unknown, volatile: readonly string[] = VOLATILE_FIELD_NAMES): Json {
    const drop = new Set(volatile);
    const walk = (v: unknown): Json => {
        if (Array.isArray(v)) return sortByIdentity(v.map(walk));
        if (v !== null && typeof v === "object") {
            const out: { [k: string]: Json } = {};
            for (const k of Object.keys(v as object).sort()) {
                if (drop.has(k)) continue;
                out[k] = walk((v as Record<string, unknown>)[k]);
            }
            return out;
        }
        if (typeof v === "number" || typeof v === "string" || typeof v === "boolean" || v === null) return v;
        // JSON.parse never yields anything else; be explicit rather than silently coerce.
        throw new TypeError(`not a JSON value: ${typeof v}`);
    };
    return walk(value);
}

function sortByIdentity(items: Json[]): Json[] {
    if (items.length < 2) return items;
    if (!items.every((i) => i !== null && typeof i === "object" && !Array.isArray(i))) return items;
    const objs = items as { [k: string]: Json }[];
    for (const key of IDENTITY_KEYS) {
        const ids = objs.map((o) => o[key]);
        if (!ids.every((id) => typeof id === "string" || typeof id === "number")) continue;
        if (new Set(ids.map((id) => `${typeof id}:${id}`)).size !== ids.length) continue;
        return [...objs].sort((a, b) => compareIds(a[key] as string | number, b[key] as string | number));
    }
    return items;
}

function compareIds(a: string | number, b: string | number): number {
    const sa = String(a);
    const sb = String(b);
    return sa < sb ? -1 : sa > sb ? 1 : 0;
}

/** One difference between the normalised Perl and Rust answers. */
export interface Difference {
    /** Path in the answer, `data[2].cidr`; `(root)` for the whole answer. */
    readonly path: string;
    /** JSON text of the Perl value, or null when Perl has no value there. */
    readonly perl: string | null;
    /** JSON text of the Rust value, or null when Rust has no value there. */
    readonly rust: string | null;
    /** `data[2].cidr: perl "10.0.0.0/24" != rust "10.0.1.0/24"` */
    readonly text: string;
}

const MAX_VALUE_CHARS = 200;

/** Path-level differences between two normalised answers, in document order. */
export function diffJson(perl: Json, rust: Json): Difference[] {
    const out: Difference[] = [];
    const walk = (a: Json | undefined, b: Json | undefined, path: string) => {
        if (a !== undefined && b !== undefined && kind(a) === kind(b)) {
            if (Array.isArray(a)) {
                const bb = b as Json[];
                for (let i = 0; i < Math.max(a.length, bb.length); i++) walk(a[i], bb[i], `${path}[${i}]`);
                return;
            }
            if (a !== null && typeof a === "object") {
                const bo = b as { [k: string]: Json };
                const keys = [...new Set([...Object.keys(a), ...Object.keys(bo)])].sort();
                for (const k of keys) {
                    walk(has(a, k) ? a[k] : undefined, has(bo, k) ? bo[k] : undefined, joinKey(path, k));
                }
                return;
            }
            if (a === b) return;
        }
        const p = path === "" ? "(root)" : path;
        const pa = a === undefined ? null : clip(JSON.stringify(a));
        const pb = b === undefined ? null : clip(JSON.stringify(b));
        out.push({ path: p, perl: pa, rust: pb, text: `${p}: perl ${pa ?? "(absent)"} != rust ${pb ?? "(absent)"}` });
    };
    walk(perl, rust, "");
    return out;
}

function has(o: object, k: string): boolean {
    return Object.prototype.hasOwnProperty.call(o, k);
}

function kind(v: Json): string {
    return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

function joinKey(path: string, key: string): string {
    if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return path === "" ? key : `${path}.${key}`;
    return `${path}[${JSON.stringify(key)}]`;
}

function clip(s: string): string {
    return s.length <= MAX_VALUE_CHARS ? s : `${s.slice(0, MAX_VALUE_CHARS)}...(${s.length} chars)`;
}

/** Compare two raw answers: normalise both, then diff. */
export function compareAnswers(perl: unknown, rust: unknown, volatile: readonly string[] = VOLATILE_FIELD_NAMES): Difference[] {
    return diffJson(normalise(perl, volatile), normalise(rust, volatile));
}

/** Replace `{node}` (URL-encoded node name) in a URL or endpoint template. */
export function forNode(template: string, node: string): string {
    return template.split("{node}").join(encodeURIComponent(node));
}

/** Join a base URL (`https://pve1:8006`, maybe with a path prefix) and an endpoint (`/api2/json/...`). */
export function joinUrl(base: string, endpoint: string): string {
    return base.replace(/\/+$/, "") + (endpoint.startsWith("/") ? endpoint : `/${endpoint}`);
}

/** Why a base URL is refused (https only, no credentials, query or fragment), or null when fine. */
export function checkBaseUrl(u: string): string | null {
    let url: URL;
    try {
        url = new URL(u.split("{node}").join("node"));
    } catch {
        return "must be a URL such as https://pve1:8006";
    }
    if (url.protocol !== "https:") return "must be an https:// URL (TLS is never optional)";
    if (url.username !== "" || url.password !== "") return "must not contain credentials (use --token-file or PVE_API_TOKEN)";
    if (url.search !== "" || url.hash !== "") return "must not contain a query or fragment";
    return null;
}

/** Why an endpoint template is refused, or null when fine. */
export function checkEndpoint(e: string): string | null {
    if (!e.startsWith("/")) return "must start with /";
    if (/[\s?#]/.test(e)) return "must be a path without spaces, query or fragment";
    return null;
}

export type EndpointStatus = "pass" | "fail" | "error";

export type FetchErrorKind = "timeout" | "tls" | "network" | "http" | "malformed";

export interface EndpointError {
    /** Which side failed. */
    readonly side: "perl" | "rust";
    readonly kind: FetchErrorKind;
    readonly message: string;
    readonly url: string;
    /** HTTP status, when there was one. */
    readonly status?: number;
    readonly attempts: number;
}

export interface EndpointResult {
    readonly endpoint: string;
    readonly perlUrl: string;
    readonly rustUrl: string;
    /** pass: identical after normalisation; fail: differences; error: an answer could not be had. */
    readonly status: EndpointStatus;
    readonly differences: Difference[];
    readonly errors: EndpointError[];
}

export interface NodeResult {
    readonly node: string;
    readonly endpoints: EndpointResult[];
}

export interface Totals {
    readonly endpointsCompared: number;
    readonly passed: number;
    /** Differences and errors: an endpoint that could not be compared never passes. */
    readonly failed: number;
    /** Of the failed, how many could not be compared (unreachable, timeout, malformed, HTTP error). */
    readonly errors: number;
}

export function totals(nodes: readonly NodeResult[]): Totals {
    const all = nodes.flatMap((n) => n.endpoints);
    const passed = all.filter((e) => e.status === "pass").length;
    return {
        endpointsCompared: all.length,
        passed,
        failed: all.length - passed,
        errors: all.filter((e) => e.status === "error").length,
    };
}

/** Exit code: 0 all pass, 1 a difference, 3 an endpoint could not be compared (takes precedence). */
export function exitCodeFor(t: Totals): number {
    if (t.errors > 0) return 3;
    if (t.failed > 0 || t.endpointsCompared === 0) return 1;
    return 0;
}

/** Human-readable summary of a report, one line per endpoint and one per difference. */
export function formatResults(nodes: readonly NodeResult[]): string {
    const lines: string[] = [];
    for (const n of nodes) {
        for (const e of n.endpoints) {
            lines.push(`${e.status.toUpperCase().padEnd(5)} ${n.node} ${e.endpoint}`);
            for (const d of e.differences) lines.push(`      ${d.text}`);
            for (const er of e.errors) lines.push(`      ${er.side}: ${er.kind}: ${er.message}`);
        }
    }
    const t = totals(nodes);
    lines.push(`${t.passed} of ${t.endpointsCompared} endpoint(s) passed, ${t.failed} failed (${t.errors} could not be compared)`);
    return lines.join("\n");
}
