/**
 * POST a JSON body (a Slack-compatible message) to a webhook URL, bounded in time. TLS certificates
 * are verified (node's https defaults); the URL (it carries a token) is never logged.
 */
import * as http from "http";
import * as https from "https";

export function postJson(url: string, body: unknown, timeoutMs = 10_000): Promise<void> {
    const u = new URL(url);
    if (u.protocol !== "https:" && u.protocol !== "http:") return Promise.reject(new Error(`the webhook URL is not http(s) (${u.protocol})`));
    const data = Buffer.from(JSON.stringify(body));
    const mod = u.protocol === "https:" ? https : http;
    return new Promise((resolve, reject) => {
        const req = mod.request(u, { method: "POST", headers: { "Content-Type": "application/json", "Content-Length": data.length }, timeout: timeoutMs }, (res) => {
            res.resume();
            res.on("end", () =>
                res.statusCode !== undefined && res.statusCode < 300 ? resolve() : reject(new Error(`the webhook answered HTTP ${res.statusCode}`)),
            );
        });
        req.on("timeout", () => req.destroy(new Error(`the webhook did not answer within ${timeoutMs} ms`)));
        req.on("error", (e) => reject(new Error(`the webhook: ${e.message}`)));
        req.end(data);
    });
}
