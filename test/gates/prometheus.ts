/**
 * Test helper: a real Prometheus (Debian's /usr/bin/prometheus) on a free loopback port with a
 * temp TSDB, scraping every second, and an exporter whose samples the test scripts per scrape.
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import { freePort } from "./helpers";

export const PROMETHEUS_BIN = "/usr/bin/prometheus";

/** One scrape's values for a node; a missing field is not exposed at all. */
export interface Sample {
    /** pve_network_fallback_total, per `endpoint` label value. */
    readonly fallback?: Record<string, number>;
    readonly applySum?: number;
    readonly applyCount?: number;
}

export interface Exporter {
    readonly port: number;
    /** Scrapes served per node. */
    readonly scrapes: Record<string, number>;
    close(): Promise<void>;
}

/** Serve /nodes/<node>/metrics; scrape i of a node gets script[node][i] (the last one repeats). */
export async function startExporter(script: Record<string, Sample[]>): Promise<Exporter> {
    const scrapes: Record<string, number> = Object.fromEntries(Object.keys(script).map((n) => [n, 0]));
    const server = http.createServer((req, res) => {
        const m = /^\/nodes\/([^/]+)\/metrics$/.exec(req.url ?? "");
        const s = m ? script[m[1]] : undefined;
        if (!m || !s) {
            res.writeHead(404).end();
            return;
        }
        const i = scrapes[m[1]]++;
        res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" }).end(exposition(s[Math.min(i, s.length - 1)]));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    return {
        port: (server.address() as net.AddressInfo).port,
        scrapes,
        close: () => new Promise<void>((r) => server.close(() => r())),
    };
}

export function exposition(s: Sample): string {
    const lines: string[] = [];
    if (s.fallback) {
        lines.push("# HELP pve_network_fallback_total Requests handed back to the Perl implementation.", "# TYPE pve_network_fallback_total counter");
        for (const [ep, v] of Object.entries(s.fallback)) lines.push(`pve_network_fallback_total{endpoint="${ep}"} ${v}`);
    }
    if (s.applySum !== undefined || s.applyCount !== undefined) {
        lines.push("# HELP pve_network_apply_duration_seconds Time to apply a network configuration.", "# TYPE pve_network_apply_duration_seconds summary");
        if (s.applySum !== undefined) lines.push(`pve_network_apply_duration_seconds_sum ${s.applySum.toFixed(3)}`);
        if (s.applyCount !== undefined) lines.push(`pve_network_apply_duration_seconds_count ${s.applyCount}`);
    }
    return lines.join("\n") + "\n";
}

export interface Prometheus {
    readonly url: string;
    readonly dir: string;
    stop(): Promise<void>;
}

/** Start Prometheus scraping each node's exporter path, with `instance="<node>:9187"`, and `extraJobs` (scrape_configs entries, YAML). */
export async function startPrometheus(dir: string, exporterPort: number, nodes: string[], extraJobs = ""): Promise<Prometheus> {
    const port = await freePort();
    const jobs = nodes
        .map(
            (n) => `  - job_name: pve-network-${n}
    metrics_path: /nodes/${n}/metrics
    static_configs:
      - targets: ["127.0.0.1:${exporterPort}"]
        labels: { instance: "${n}:9187" }`,
        )
        .join("\n");
    const config = path.join(dir, "prometheus.yml");
    fs.writeFileSync(
        config,
        `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n${[jobs, extraJobs].filter((j) => j !== "").join("\n")}\n`,
    );
    const log = fs.openSync(path.join(dir, "prometheus.log"), "w");
    const child: ChildProcess = spawn(
        PROMETHEUS_BIN,
        [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${port}`],
        { stdio: ["ignore", log, log] },
    );
    const exited = new Promise<void>((r) => child.on("exit", () => r()));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20000;
    for (;;) {
        if (child.exitCode !== null) throw new Error(`prometheus exited: ${fs.readFileSync(path.join(dir, "prometheus.log"), "utf8")}`);
        if (await ready(`${url}/-/ready`)) break;
        if (Date.now() > deadline) throw new Error("prometheus not ready within 20s");
        await sleep(100);
    }
    return {
        url,
        dir,
        stop: async () => {
            if (child.exitCode === null) {
                child.kill("SIGTERM");
                const t = setTimeout(() => child.kill("SIGKILL"), 5000);
                await exited;
                clearTimeout(t);
            }
            fs.closeSync(log);
        },
    };
}

function ready(url: string): Promise<boolean> {
    return new Promise((r) => {
        http.get(url, (res) => {
            res.resume();
            r(res.statusCode === 200);
        }).on("error", () => r(false));
    });
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

/** Instant query, raw answer. */
export function rawQuery(
    url: string,
    query: string,
    timeMs?: number,
): Promise<{ status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } }> {
    const params = new URLSearchParams({ query, ...(timeMs !== undefined ? { time: (timeMs / 1000).toFixed(3) } : {}) });
    return new Promise((resolve, reject) => {
        http.get(`${url}/api/v1/query?${params}`, (res) => {
            let body = "";
            res.on("data", (d) => (body += d));
            res.on("end", () => resolve(JSON.parse(body)));
        }).on("error", reject);
    });
}
