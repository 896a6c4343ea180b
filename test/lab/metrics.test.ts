/**
 * A real Prometheus (Debian's /usr/bin/prometheus, on loopback) scrapes the node lab's
 * exporters (the lab daemon stand-in's busybox httpd on 10.181.0.1x:9187, started by the
 * program's services step through the replay of registered resources) and `metrics-gate`
 * (runMetricsGate) judges the soak window: zero fallbacks pass, fallbacks on one node fail. Then
 * the rollback guard (components/guard) sees the same fallbacks and rolls the ring back: its
 * commit in a temporary repository holding the lab's stack file, and its `up` a stand-in for the
 * Automation API's that runs the program through the replay of registered resources on the lab.
 * Needs root and systemd-nspawn, as lab.test.ts.
 */
import { ChildProcess, execFileSync, spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { Lab, startLab, teardown } from "../../lab";
import { buildReport } from "../../components/gates/contract-cli";
import { parseContractArgs } from "../../cli/contract-test";
import { DEFAULT_ENDPOINTS, EndpointResult, NodeResult } from "../../components/gates/contract";
import { runMetricsGate, MetricsGateOptions } from "../../components/gates/metrics-cli";
import { freePort, tempDir } from "../gates/helpers";
import { PROMETHEUS_BIN, rawQuery, sleep } from "../gates/prometheus";
import { upLab } from "../support/lab-scenarios";
import { ReplayState } from "../support/replay";
import { evaluateOnce } from "../../components/guard";
import { realDeps } from "../../components/guard";
import YAML from "yaml";

jest.setTimeout(120_000);

const NODES = ["pve1", "pve2", "pve3"];
const PHASE = "rust-read-only";
const SOAK = 4;

let lab: Lab;
let dir: string;
let prom: { url: string; child: ChildProcess; exited: Promise<void> };
let enteredMs: number;
let contractReport: string;
let applies = 1;
/** The replay's checkpoint of the lab stack (the rollback guard's `up` goes on from it). */
let state: ReplayState;

/**
 * Prometheus 3 refuses a scrape whose Content-Type is not a known exposition format unless the
 * job sets fallback_scrape_protocol (added in 3.0); 2.x parses anything that is not OpenMetrics
 * or protobuf as the text format and rejects that key in its config (strict YAML).
 */
function prometheusMajor(): number {
    const v = execFileSync(PROMETHEUS_BIN, ["--version"], { encoding: "utf8" });
    const m = /^prometheus, version (\d+)\./m.exec(v);
    if (!m) throw new Error(`cannot read the Prometheus version from: ${v}`);
    return Number(m[1]);
}

async function startLabPrometheus(): Promise<typeof prom> {
    const port = await freePort();
    const fallback = prometheusMajor() >= 3 ? "    fallback_scrape_protocol: PrometheusText0.0.4\n" : "";
    const jobs = lab.nodes
        .map(
            (n) =>
                `  - job_name: pve-network-${n.name}\n${fallback}    static_configs:\n      - targets: ["${n.address}:9187"]\n        labels: { instance: "${n.name}:9187" }`,
        )
        .join("\n");
    const config = path.join(dir, "prometheus.yml");
    fs.writeFileSync(config, `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n${jobs}\n`);
    const log = fs.openSync(path.join(dir, "prometheus.log"), "w");
    const child = spawn(PROMETHEUS_BIN, [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${port}`], {
        stdio: ["ignore", log, log],
    });
    fs.closeSync(log);
    const exited = new Promise<void>((r) => child.on("exit", () => r()));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 20_000;
    for (;;) {
        if (child.exitCode !== null) throw new Error(`prometheus exited: ${fs.readFileSync(path.join(dir, "prometheus.log"), "utf8")}`);
        if (
            await fetch(`${url}/-/ready`).then(
                (r) => r.ok,
                () => false,
            )
        )
            return { url, child, exited };
        if (Date.now() > deadline) throw new Error("prometheus not ready within 20 s");
        await sleep(100);
    }
}

/** Wait until Prometheus has `n` more successful scrapes of every node than now. */
async function scrapes(n: number): Promise<void> {
    const count = async () =>
        Promise.all(
            NODES.map(async (node) => {
                const r = await rawQuery(prom.url, `sum_over_time(up{instance="${node}:9187"}[10m])`);
                return r.data.result.length === 1 ? Number(r.data.result[0].value[1]) : 0;
            }),
        );
    const start = await count();
    const deadline = Date.now() + 30_000;
    for (;;) {
        const c = await count();
        if (c.every((x, i) => x >= start[i] + n)) return;
        if (Date.now() > deadline) throw new Error(`Prometheus did not scrape every node ${n} more times: ${start.join(",")} -> ${c.join(",")}`);
        await sleep(200);
    }
}

function setAll(fallbacks: Record<string, number>): void {
    applies++;
    for (const n of NODES) lab.setMetrics(n, { fallbacks: fallbacks[n] ?? 0, applySum: 0.2 * applies, applyCount: applies });
}

function gate(at: number): MetricsGateOptions {
    return {
        prometheus: { url: prom.url, timeoutMs: 5000, retries: 0 },
        stack: "lab",
        phase: PHASE,
        nodes: NODES,
        phaseEnteredAtMs: enteredMs,
        atMs: at,
        perlBaselineSeconds: 0.5,
        contractReport,
        soakSeconds: SOAK,
        output: path.join(dir, "evidence", "lab", `${PHASE}-${at}.json`),
    };
}

beforeAll(async () => {
    lab = await startLab({ nodes: 3, fresh: true });
    dir = tempDir("lab-metrics-");
    setAll({});
    const r = await upLab(lab, { phase: PHASE });
    expect(r.replay.errors).toEqual([]);
    state = r.state;
    enteredMs = Date.now();
    prom = await startLabPrometheus();
    const args = parseContractArgs([
        ...NODES.flatMap((n) => ["--node", n]),
        "--perl-url",
        "https://pve:8006",
        "--rust-url",
        "https://{node}:8006",
        "--output",
        "unused",
        "--stack",
        "lab",
        "--phase",
        PHASE,
        "--phase-entered-at",
        new Date(enteredMs).toISOString(),
    ]);
    const results: NodeResult[] = NODES.map((node) => ({
        node,
        endpoints: DEFAULT_ENDPOINTS.map((e): EndpointResult => ({ endpoint: e, perlUrl: "p", rustUrl: "r", status: "pass", differences: [], errors: [] })),
    }));
    contractReport = path.join(dir, "evidence", "lab", `${PHASE}.contract.json`);
    fs.mkdirSync(path.dirname(contractReport), { recursive: true });
    fs.writeFileSync(contractReport, JSON.stringify(buildReport(args, results, new Date(enteredMs + 100), new Date(enteredMs + 200))));
}, 300_000);

afterAll(async () => {
    if (prom && prom.child.exitCode === null) {
        prom.child.kill("SIGTERM");
        await prom.exited;
    }
    await teardown(lab?.stateDir);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

describe("metrics-gate against a real Prometheus scraping the node lab", () => {
    it("the lab exporter's Content-Type is accepted: every node is up with the values the test set", async () => {
        const res = await fetch("http://10.181.0.12:9187/metrics");
        // busybox httpd sends no Content-Type for a file without a known extension.
        expect(res.headers.get("content-type")).toBeNull();
        await scrapes(2);
        for (const n of NODES) {
            const up = await rawQuery(prom.url, `up{instance="${n}:9187"}`);
            expect(up.data.result.map((x) => x.value[1])).toEqual(["1"]);
            const fb = await rawQuery(prom.url, `pve_network_fallback_total{instance="${n}:9187"}`);
            expect(fb.data.result.map((x) => [x.metric.job, x.value[1]])).toEqual([[`pve-network-${n}`, "0"]]);
        }
    });

    it("zero fallbacks over the soak window pass", async () => {
        // increase() needs two samples in the window: Prometheus starts scraping only at its first
        // target reload (a few seconds after start). One apply per scrape, three scrapes at least.
        for (let i = 0; i < 3 || Date.now() < enteredMs + SOAK * 1000 + 500; i++) {
            setAll({});
            await scrapes(1);
        }
        const r = await runMetricsGate(gate(Date.now()));
        expect(r.problems).toEqual([]);
        expect(r.reasons).toEqual([]);
        expect(r.evidence.metrics.fallbacks).toBe(0);
        expect(r.evidence.metrics.applyLatencySeconds).toBeCloseTo(0.2, 9);
        expect(r.evidence.metrics.perNode.map((p) => [p.node, p.fallbacks])).toEqual([
            ["pve1", 0],
            ["pve2", 0],
            ["pve3", 0],
        ]);
        // 4 endpoints on each of the 3 nodes.
        expect(r.evidence.contractTests).toEqual({ endpointsCompared: 12, passed: 12, failed: 0, report: `${PHASE}.contract.json` });
    });

    it("pve_network_fallback_total raised on pve2 fails the gate, naming the count", async () => {
        setAll({ pve2: 3 });
        await scrapes(2);
        const fb = await rawQuery(prom.url, `pve_network_fallback_total{instance="pve2:9187"}`);
        expect(fb.data.result.map((x) => x.value[1])).toEqual(["3"]);
        const r = await runMetricsGate(gate(Date.now()));
        const f = r.evidence.metrics.fallbacks;
        // increase() extrapolates to the window's edges: 3 fallbacks read as 3 or a little more.
        expect(f).toBeGreaterThanOrEqual(3);
        expect(f).toBeLessThan(4.5);
        expect(r.evidence.metrics.perNode.map((p) => [p.node, p.fallbacks])).toEqual([
            ["pve1", 0],
            ["pve2", f],
            ["pve3", 0],
        ]);
        expect(r.reasons).toEqual([`${f} fallback(s) over the soak window (allowed: 0)`]);
    });
});

describe("the rollback guard on the node lab: a fallback raised on one node rolls the ring back", () => {
    it("evaluates the real Prometheus, commits the rollback to perl-only, and its up (the replay on the lab) takes every node there", async () => {
        // The lab's stack file in a repository of its own, with the guard's block (the SSH key stays out: only the replay uses it).
        const repoDir = path.join(dir, "repo");
        const { values } = lab.stackConfig({ phase: PHASE });
        const config: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(values)) {
            if (k === "sshPrivateKeys") continue;
            let parsed: unknown = v;
            try {
                parsed = JSON.parse(v);
            } catch {
                // a plain string
            }
            config[`pve-migration:${k}`] = parsed;
        }
        config["pve-migration:rollback"] = {
            enabled: true,
            automatic: true,
            prometheus: { url: prom.url },
            triggers: { healthCheckInterval: 1, fallbackWindow: 30 },
        };
        fs.mkdirSync(path.join(repoDir, "stacks"), { recursive: true });
        fs.writeFileSync(path.join(repoDir, "stacks", "Pulumi.lab.yaml"), YAML.stringify({ config }));
        const git = (...a: string[]) => execFileSync("git", ["-C", repoDir, ...a], { encoding: "utf8" });
        git("init", "-q", "-b", "main");
        git("add", "-A");
        git("-c", "user.name=t", "-c", "user.email=t@localhost", "commit", "-q", "-m", "lab stack");

        const ups: string[] = [];
        const deployed: string[] = [];
        const deps = {
            ...realDeps(),
            // A stand-in for the Automation API's up: the program through the replay, with the phase the guard committed.
            up: async ({ workDir, stack }: { workDir: string; stack: string }) => {
                const phase = (YAML.parse(fs.readFileSync(path.join(workDir, "stacks", `Pulumi.${stack}.yaml`), "utf8")) as { config: Record<string, string> })
                    .config["pve-migration:phase"];
                ups.push(phase);
                const r = await upLab(lab, { phase, state });
                state = r.state;
                deployed.push(String(r.outputs.phase));
                return { result: r.replay.errors.length === 0 ? ("succeeded" as const) : ("failed" as const), message: r.replay.errors.join("; ") };
            },
        };
        const rec = await evaluateOnce({ repo: repoDir, stack: "lab", stateDir: path.join(dir, "guard") }, deps);
        expect(rec.decision).toBe("act");
        expect(rec.reasons).toEqual([expect.stringMatching(/^fallback on pve2: [0-9.]+ > 0 over 30 s$/)]);
        expect(rec.triggers.filter((t) => t.holds).map((t) => [t.name, t.subject])).toEqual([["fallback", "pve2"]]);
        expect(rec.action?.what).toBe("rollback of lab rust-read-only -> perl-only");
        expect(rec.action?.result).toBe("done");
        expect(rec.action?.commit).toBe(git("rev-parse", "HEAD").trim());
        expect(ups).toEqual(["perl-only"]);
        // The stack outputs come from what every node verified (README "What the real engine does").
        expect(deployed).toEqual(["perl-only"]);
        expect(git("show", "HEAD:stacks/Pulumi.lab.yaml")).toContain("pve-migration:phase: perl-only");
    });
});
