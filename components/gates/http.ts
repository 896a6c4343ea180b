/**
 * GET a JSON document over HTTP(S) with a deadline, retries and a clear error classification.
 * TLS certificates are always verified (a CA bundle may be given; verification is never off).
 */
import * as http from "http";
import * as https from "https";
import type { FetchErrorKind } from "./contract";

export interface GetJsonOptions {
    /** PEM CA bundle that replaces the system CAs (self-signed clusters). */
    readonly ca?: string | Buffer;
    /** Extra request headers (e.g. Authorization); never logged. */
    readonly headers?: Readonly<Record<string, string>>;
    /** Deadline per attempt, milliseconds (connect + TLS + full answer). */
    readonly timeoutMs: number;
    /** Attempts after the first one, for transient errors (timeout, network, HTTP 5xx / 429). */
    readonly retries: number;
    /** Delay before retry n is n * retryDelayMs. */
    readonly retryDelayMs: number;
    /** Largest answer accepted, bytes. */
    readonly maxBytes?: number;
}

export type GetJsonResult =
    | { readonly ok: true; readonly status: number; readonly body: unknown; readonly attempts: number }
    | { readonly ok: false; readonly kind: FetchErrorKind; readonly message: string; readonly status?: number; readonly attempts: number };

type Attempt = { ok: true; status: number; body: unknown } | { ok: false; kind: FetchErrorKind; message: string; status?: number; retry: boolean };

/** OpenSSL / Node error codes meaning the peer's certificate did not verify. */
const TLS_CODES = new Set([
    "UNABLE_TO_GET_ISSUER_CERT",
    "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
    "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
    "SELF_SIGNED_CERT_IN_CHAIN",
    "DEPTH_ZERO_SELF_SIGNED_CERT",
    "CERT_HAS_EXPIRED",
    "CERT_NOT_YET_VALID",
    "CERT_SIGNATURE_FAILURE",
    "CERT_UNTRUSTED",
    "CERT_REJECTED",
    "CERT_REVOKED",
    "INVALID_CA",
    "ERR_TLS_CERT_ALTNAME_INVALID",
    "HOSTNAME_MISMATCH",
]);

export async function getJson(url: string, o: GetJsonOptions): Promise<GetJsonResult> {
    let attempts = 0;
    for (;;) {
        attempts++;
        const r = await attempt(url, o);
        if (r.ok) return { ok: true, status: r.status, body: r.body, attempts };
        if (!r.retry || attempts > o.retries) {
            return { ok: false, kind: r.kind, message: r.message, status: r.status, attempts };
        }
        await new Promise((res) => setTimeout(res, o.retryDelayMs * attempts));
    }
}

function attempt(url: string, o: GetJsonOptions): Promise<Attempt> {
    const maxBytes = o.maxBytes ?? 64 * 1024 * 1024;
    return new Promise<Attempt>((resolve) => {
        let done = false;
        const finish = (a: Attempt) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            resolve(a);
        };
        const u = new URL(url);
        const mod = u.protocol === "https:" ? https : http;
        const req = mod.request(
            u,
            {
                method: "GET",
                headers: { Accept: "application/json", ...(o.headers ?? {}) },
                ...(u.protocol === "https:" ? { ca: o.ca, rejectUnauthorized: true } : {}),
                agent: false,
            },
            (res) => {
                const chunks: Buffer[] = [];
                let size = 0;
                res.on("data", (c: Buffer) => {
                    size += c.length;
                    if (size > maxBytes) {
                        finish({ ok: false, kind: "malformed", message: `answer larger than ${maxBytes} bytes`, retry: false });
                        req.destroy();
                        return;
                    }
                    chunks.push(c);
                });
                res.on("error", (e) => finish(classify(e)));
                res.on("end", () => {
                    const status = res.statusCode ?? 0;
                    const text = Buffer.concat(chunks).toString("utf8");
                    if (status < 200 || status > 299) {
                        finish({
                            ok: false,
                            kind: "http",
                            status,
                            message: `HTTP ${status} ${res.statusMessage ?? ""}`.trim() + snippet(text),
                            retry: status >= 500 || status === 429,
                        });
                        return;
                    }
                    try {
                        finish({ ok: true, status, body: JSON.parse(text) });
                    } catch (e) {
                        finish({ ok: false, kind: "malformed", status, message: `answer is not valid JSON: ${(e as Error).message}`, retry: false });
                    }
                });
            },
        );
        const timer = setTimeout(() => {
            finish({ ok: false, kind: "timeout", message: `no complete answer within ${o.timeoutMs / 1000}s`, retry: true });
            req.destroy();
        }, o.timeoutMs);
        req.on("error", (e) => finish(classify(e)));
        req.end();
    });
}

function classify(e: Error): Attempt {
    const code = (e as NodeJS.ErrnoException).code ?? "";
    if (TLS_CODES.has(code) || code.startsWith("ERR_SSL_") || code.startsWith("ERR_TLS_")) {
        // Node 22 and later append "; if the root CA is installed locally, try running Node.js with
        // --use-system-ca" to verification errors: this tool takes the cluster CA with --ca instead.
        const reason = e.message.replace(/; if the root CA is installed locally, try running Node\.js with --use-system-ca$/, "");
        return { ok: false, kind: "tls", message: `TLS verification failed: ${code}: ${reason} (pass the cluster CA with --ca)`, retry: false };
    }
    return { ok: false, kind: "network", message: code ? `${code}: ${e.message}` : e.message, retry: true };
}

function snippet(text: string): string {
    const t = text.replace(/\s+/g, " ").trim();
    if (t === "") return "";
    return `: ${t.length > 200 ? `${t.slice(0, 200)}...` : t}`;
}
