/**
 * The rollback guard's blue-green triggers, with their default queries (components/guard/triggers.ts
 * DEFAULT_BLUE_GREEN_QUERIES), against a real Prometheus (Debian's, on loopback, scraping every
 * second) that scrapes a stand-in exporter of the two colors' pods: the request counters, the
 * latency histogram, cAdvisor's and kube-state-metrics' CPU and memory series and the blackbox
 * probe, with values this test sets while it runs. Each trigger holds above its threshold and not
 * below it; the sustained ones (CPU, memory) only once the condition has held for the whole window.
 */
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { RollbackSchema } from "../../components/config/rollback";
import { realDeps } from "../../components/guard";
import { TriggerResult, colorTriggers, judge } from "../../components/guard/triggers";
import { Prometheus, sleep, startPrometheus } from "../gates/prometheus";
import { requireTools } from "../support/tools";

jest.setTimeout(120_000);

interface Pod {
    /** Requests per scrape, and how many of them fail (5xx). */
    requests: number;
    errors: number;
    /** The bucket (upper bound, seconds) every request of a scrape falls in. */
    latency: 0.1 | 10;
    /** CPU seconds used per scrape (a 1 s scrape: cores), against a request of 1 core. */
    cpu: number;
    /** Memory in use, against a limit of 1000. */
    memory: number;
    probe: 0 | 1;
}

const pods: Record<"blue" | "green", Pod> = {
    blue: { requests: 100, errors: 5, latency: 0.1, cpu: 1.5, memory: 500, probe: 1 },
    green: { requests: 100, errors: 0, latency: 0.1, cpu: 0.5, memory: 500, probe: 1 },
};
const counters: Record<string, Record<string, number>> = { blue: {}, green: {} };
const add = (color: string, key: string, n: number) => (counters[color][key] = (counters[color][key] ?? 0) + n);

function exposition(): string {
    const lines = [
        "# TYPE http_requests_total counter",
        "# TYPE http_request_duration_seconds histogram",
        "# TYPE container_cpu_usage_seconds_total counter",
        "# TYPE container_memory_working_set_bytes gauge",
        "# TYPE kube_pod_container_resource_requests gauge",
        "# TYPE kube_pod_container_resource_limits gauge",
        "# TYPE probe_success gauge",
    ];
    for (const color of ["blue", "green"] as const) {
        const p = pods[color];
        const pod = `pve-network-rs-${color}-5d8f7c9b4-x2k4q`;
        add(color, "ok", p.requests - p.errors);
        add(color, "err", p.errors);
        for (const le of [0.1, 1, 5, 10]) add(color, `le${le}`, le >= p.latency ? p.requests : 0);
        add(color, "cpu", p.cpu);
        const c = counters[color];
        lines.push(
            `http_requests_total{pod="${pod}",code="200"} ${c.ok}`,
            `http_requests_total{pod="${pod}",code="500"} ${c.err}`,
            ...[0.1, 1, 5, 10].map((le) => `http_request_duration_seconds_bucket{pod="${pod}",le="${le}"} ${c[`le${le}`]}`),
            `http_request_duration_seconds_bucket{pod="${pod}",le="+Inf"} ${c.ok + c.err}`,
            `container_cpu_usage_seconds_total{pod="${pod}",container="pve-network-rs"} ${c.cpu.toFixed(3)}`,
            `container_memory_working_set_bytes{pod="${pod}",container="pve-network-rs"} ${p.memory}`,
            `kube_pod_container_resource_requests{pod="${pod}",resource="cpu"} 1`,
            `kube_pod_container_resource_limits{pod="${pod}",resource="memory"} 1000`,
            `probe_success{color="${color}"} ${p.probe}`,
        );
    }
    return lines.join("\n") + "\n";
}

let server: http.Server;
let prom: Prometheus;
let dir: string;

beforeAll(async () => {
    requireTools("prometheus");
    server = http.createServer((_req, res) => res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" }).end(exposition()));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "guard-bg-prom-"));
    const port = (server.address() as net.AddressInfo).port;
    // The job is named as the blackbox probe's job of the default health query.
    prom = await startPrometheus(dir, port, [], `  - job_name: pve-network-rs-health\n    static_configs:\n      - targets: ["127.0.0.1:${port}"]`);
});

afterAll(async () => {
    await prom?.stop();
    await new Promise<void>((r) => server.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
});

const rb = RollbackSchema.parse({
    enabled: true,
    prometheus: { url: "http://127.0.0.1:9" },
    triggers: { healthCheckFailures: 3, healthCheckInterval: 1, errorRateWindow: 30, responseTimeWindow: 30, sustainedSeconds: 10 },
});
const deps = realDeps();

async function check(color: string, name: string): Promise<TriggerResult> {
    const t = colorTriggers(rb, color, 1).find((x) => x.name === name)!;
    return judge(t, await deps.query(prom.url, t.query, Date.now()));
}

async function until(color: string, name: string, holds: boolean, ms = 30_000): Promise<TriggerResult> {
    const end = Date.now() + ms;
    for (;;) {
        const r = await check(color, name);
        if ((r.holds === holds && r.value !== null) || Date.now() > end) return r;
        await sleep(250);
    }
}

test("error rate: 5 % is below the 10 % threshold; 50 % takes the 30 s rate above it", async () => {
    const low = await until("blue", "errorRate", false);
    expect([low.holds, Number(low.value!.toFixed(3))]).toEqual([false, 0.05]);
    pods.blue.errors = 50;
    const high = await until("blue", "errorRate", true);
    expect(high.holds).toBe(true);
    expect(high.value).toBeGreaterThan(0.1);
    pods.blue.errors = 5;
});

test("p95 response time: requests under 100 ms do not hold; requests between 5 and 10 s do", async () => {
    const fast = await until("green", "responseTimeP95", false);
    expect(fast.holds).toBe(false);
    expect(fast.value).toBeLessThanOrEqual(100);
    pods.green.latency = 10;
    const slow = await until("green", "responseTimeP95", true);
    expect(slow.holds).toBe(true);
    expect(slow.value).toBeGreaterThan(5000);
    pods.green.latency = 0.1;
});

test("CPU sustained: 1.5 times the requested core holds once it has for the whole window; 0.5 does not", async () => {
    const busy = await until("blue", "cpu", true, 60_000);
    expect(busy.holds).toBe(true);
    expect(busy.value).toBeGreaterThan(0.95);
    const calm = await check("green", "cpu");
    expect(calm.holds).toBe(false);
    expect(calm.value).toBeLessThan(0.95);
});

test("memory sustained: above 90 % of the limit holds only after 10 s of it, not before", async () => {
    const ok = await until("green", "memory", false);
    expect([ok.holds, ok.value]).toEqual([false, 0.5]);
    pods.green.memory = 950;
    const t = Date.now();
    await sleep(4000);
    const early = await check("green", "memory");
    expect(early.holds).toBe(false);
    const held = await until("green", "memory", true);
    expect([held.holds, held.value]).toEqual([true, 0.95]);
    // The last sample under the limit came at most one scrape (1 s) before the change.
    expect(Date.now() - t).toBeGreaterThanOrEqual(9000);
    pods.green.memory = 500;
});

test("health: the probe failing for every check of the window holds; a color with no probe series holds too", async () => {
    const ok = await until("green", "health", false);
    expect([ok.holds, ok.value]).toEqual([false, 1]);
    pods.green.probe = 0;
    const down = await until("green", "health", true);
    expect([down.holds, down.value]).toEqual([true, 0]);
    const none = await check("purple", "health");
    expect([none.holds, none.value]).toEqual([true, null]);
    pods.green.probe = 1;
});
