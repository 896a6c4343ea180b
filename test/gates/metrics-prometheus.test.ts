/**
 * The metrics gate against a real Prometheus scraping an exporter served by the test.
 * One Prometheus for the file; each "node" is a scrape job whose samples are scripted per
 * scrape, so the series are known exactly. The gate queries with time= set by the test.
 */
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";
import * as YAML from "yaml";
import { main as ctlMain } from "../../cli/migration-ctl";
import { checkStack } from "../../cli/policy-check/check";
import { parseEvidence, judgeEvidence, summarizeEvidence } from "../../components/evidence";
import { buildReport } from "../../components/gates/contract-cli";
import { parseContractArgs } from "../../cli/contract-test";
import { runMetricsGate, MetricsGateOptions } from "../../components/gates/metrics-cli";
import { metricsGateMain } from "../../cli/metrics-gate";
import { nodeQueries } from "../../components/gates/metrics";
import { DEFAULT_ENDPOINTS, EndpointResult, NodeResult } from "../../components/gates/contract";
import { runBin, tempDir } from "./helpers";
import { Exporter, Prometheus, Sample, rawQuery, sleep, startExporter, startPrometheus } from "./prometheus";
import { requireTools } from "../support/tools";

requireTools("/usr/bin/prometheus", "git");

const STEPS = 8;

/** Apply counters growing by `each` seconds per apply, one apply per scrape, starting at 1 apply. */
function applies(i: number, each: number): Pick<Sample, "applySum" | "applyCount"> {
    return { applySum: each * (i + 1), applyCount: i + 1 };
}

function series(n: number, f: (i: number) => Sample): Sample[] {
    return Array.from({ length: n }, (_, i) => f(i));
}

/** The scripted nodes; each scrape i of a node serves script[node][i]. */
const SCRIPT: Record<string, Sample[]> = {
    // Two label sets (endpoints), never a fallback; 0.1 s per apply.
    quiet: series(STEPS, (i) => ({ fallback: { network: 0, sdn: 0 }, ...applies(i, 0.1) })),
    // One fallback on the sdn endpoint after the third scrape.
    onefb: series(STEPS, (i) => ({ fallback: { network: 0, sdn: i >= 3 ? 1 : 0 }, ...applies(i, 0.1) })),
    // The middleware restarts (counter 5 -> 0), then one fallback: 5 5 5 0 0 1 1 1.
    reset: series(STEPS, (i) => ({ fallback: { network: [5, 5, 5, 0, 0, 1, 1, 1][i] }, ...applies(i, 0.1) })),
    // 2 s per apply against a 0.5 s Perl baseline.
    slow: series(STEPS, (i) => ({ fallback: { network: 0 }, ...applies(i, 2) })),
    // The exporter has no apply histogram at all.
    nohist: series(STEPS, () => ({ fallback: { network: 0 } })),
    // The histogram exists but no apply happened in the window.
    idle: series(STEPS, () => ({ fallback: { network: 0 }, applySum: 0, applyCount: 0 })),
};
// "absent" is a node of the ring that Prometheus never scraped.

let dir: string;
let exporter: Exporter;
let prom: Prometheus;
let enteredMs: number;
let atMs: number;
let contractReport: string;

beforeAll(async () => {
    dir = tempDir("metrics-gate-");
    enteredMs = Date.now() - 1000;
    exporter = await startExporter(SCRIPT);
    prom = await startPrometheus(dir, exporter.port, Object.keys(SCRIPT));
    // Wait until every scripted sample is in the TSDB.
    const deadline = Date.now() + 40000;
    for (;;) {
        const counts = await Promise.all(
            Object.keys(SCRIPT).map(async (n) => {
                const r = await rawQuery(prom.url, `count_over_time(up{instance="${n}:9187"}[5m])`);
                return r.data.result.length === 1 ? Number(r.data.result[0].value[1]) : 0;
            }),
        );
        if (counts.every((c) => c >= STEPS)) break;
        if (Date.now() > deadline) throw new Error(`scrapes did not complete: ${counts.join(",")}`);
        await sleep(250);
    }
    atMs = Date.now();
    contractReport = writeContractReport("rust-basic-write");
}, 60000);

/** A contract report, run after the phase was entered, all endpoints passing, for every node. */
function writeContractReport(phase: string): string {
    const nodes = [...Object.keys(SCRIPT), "absent"];
    const args = parseContractArgs([
        ...nodes.flatMap((n) => ["--node", n]),
        "--perl-url",
        "https://pve:8006",
        "--rust-url",
        "https://{node}:8006",
        "--output",
        "unused",
        "--stack",
        "canary-a",
        "--phase",
        phase,
        "--phase-entered-at",
        new Date(enteredMs).toISOString(),
    ]);
    const results: NodeResult[] = nodes.map((node) => ({
        node,
        endpoints: DEFAULT_ENDPOINTS.map((e): EndpointResult => ({ endpoint: e, perlUrl: "p", rustUrl: "r", status: "pass", differences: [], errors: [] })),
    }));
    const file = path.join(dir, "evidence", "canary-a", `${phase}.contract.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(buildReport(args, results, new Date(enteredMs + 100), new Date(enteredMs + 200))));
    return file;
}

afterAll(async () => {
    await prom?.stop();
    await exporter?.close();
    fs.rmSync(dir, { recursive: true, force: true });
});

function gate(nodes: string[], over: Partial<MetricsGateOptions> = {}): MetricsGateOptions {
    return {
        prometheus: { url: prom.url, timeoutMs: 5000, retries: 0 },
        stack: "canary-a",
        phase: "rust-basic-write",
        nodes,
        phaseEnteredAtMs: enteredMs,
        atMs,
        perlBaselineSeconds: 0.5,
        contractReport,
        soakSeconds: 5,
        output: path.join(dir, "evidence", "canary-a", `${nodes.join("+")}.json`),
        ...over,
    };
}

test("zero fallbacks and latency under the baseline pass; the evidence file parses and passes", async () => {
    const r = await runMetricsGate(gate(["quiet"]));
    expect(r.reasons).toEqual([]);
    expect(r.problems).toEqual([]);
    const m = r.evidence.metrics;
    expect(m.fallbacks).toBe(0);
    expect(m.perNode).toHaveLength(1);
    expect(m.perNode[0].node).toBe("quiet");
    expect(m.perNode[0].fallbacks).toBe(0);
    expect(m.applyLatencySeconds).toBeCloseTo(0.1, 9);
    expect(m.windowStart).toBe(new Date(enteredMs).toISOString());
    expect(m.windowEnd).toBe(new Date(atMs).toISOString());
    expect(m.source).toBe(prom.url);
    expect(r.evidence.contractTests).toEqual({ endpointsCompared: 4, passed: 4, failed: 0, report: "rust-basic-write.contract.json" });
    const parsed = parseEvidence(fs.readFileSync(r.output, "utf8"));
    expect(parsed.ok).toBe(true);
    if (parsed.ok) {
        expect(parsed.value).toEqual(r.evidence);
        expect(judgeEvidence(summarizeEvidence(parsed.value), { stack: "canary-a", phase: "rust-basic-write", nodes: ["quiet"], soakSeconds: 5 })).toEqual([]);
    }
});

test("one fallback fails", async () => {
    const r = await runMetricsGate(gate(["onefb"]));
    const f = r.evidence.metrics.fallbacks;
    // increase() extrapolates to the window edges: one fallback reads as 1 or a little more.
    expect(f).toBeGreaterThanOrEqual(1);
    expect(f).toBeLessThan(2);
    expect(r.reasons).toEqual([`${f} fallback(s) over the soak window (allowed: 0)`]);
});

test("a counter reset does not hide a fallback (5 -> 0 -> 1)", async () => {
    const w = `${Math.ceil((atMs - enteredMs) / 1000)}s`;
    // The reset really is inside the window: delta() (which ignores resets) sees the counter fall.
    const delta = await rawQuery(prom.url, `sum(delta(pve_network_fallback_total{instance="reset:9187"}[${w}]))`, atMs);
    expect(Number(delta.data.result[0].value[1])).toBeLessThan(0);
    const r = await runMetricsGate(gate(["reset"]));
    const f = r.evidence.metrics.fallbacks;
    expect(f).toBeGreaterThanOrEqual(1);
    expect(f).toBeLessThan(2);
    expect(r.evidence.metrics.perNode.map((p) => p.node)).toEqual(["reset"]);
    expect(r.reasons).toEqual([`${f} fallback(s) over the soak window (allowed: 0)`]);
});

test("no data fails: a node never scraped, and a node without the apply histogram", async () => {
    const r = await runMetricsGate(gate(["quiet", "absent", "nohist"]));
    const q = (n: string) => nodeQueries(n, `${Math.ceil((atMs - enteredMs) / 1000)}s`);
    expect(r.evidence.metrics.perNode.map((p) => p.node)).toEqual(["quiet"]);
    expect(r.problems).toEqual([
        `node absent: no data for ${q("absent").fallbacks}`,
        `node absent: no data for ${q("absent").applySum}`,
        `node absent: no data for ${q("absent").applyCount}`,
        `node nohist: no data for ${q("nohist").applySum}`,
        `node nohist: no data for ${q("nohist").applyCount}`,
    ]);
    expect(r.reasons).toEqual(["no metrics for node(s) absent, nohist"]);
});

test("leaving rust-read-only (Rust applies nothing): a node without the apply histogram keeps its fallback count", async () => {
    const report = writeContractReport("rust-read-only");
    const r = await runMetricsGate(gate(["nohist"], { phase: "rust-read-only", contractReport: report }));
    expect(r.evidence.phase).toBe("rust-read-only");
    expect(r.evidence.metrics.perNode).toEqual([{ node: "nohist", fallbacks: 0, applyLatencySeconds: null }]);
    expect(r.evidence.contractTests.report).toBe("rust-read-only.contract.json");
    const q = nodeQueries("nohist", `${Math.ceil((atMs - enteredMs) / 1000)}s`);
    expect(r.problems).toEqual([`node nohist: no data for ${q.applySum}`, `node nohist: no data for ${q.applyCount}`]);
});

test("a histogram without any apply in the window gives no latency, which fails", async () => {
    const r = await runMetricsGate(gate(["idle"]));
    expect(r.evidence.metrics.perNode).toEqual([{ node: "idle", fallbacks: 0, applyLatencySeconds: null }]);
    expect(r.reasons).toEqual(["no apply latency measured over the window"]);
});

test("latency above the baseline fails", async () => {
    const r = await runMetricsGate(gate(["slow"]));
    const l = r.evidence.metrics.applyLatencySeconds!;
    expect(l).toBeCloseTo(2, 9);
    expect(r.evidence.metrics.fallbacks).toBe(0);
    expect(r.reasons).toEqual([`apply latency ${l}s is above the Perl baseline 0.5s`]);
});

test("a contract report for another phase is refused", async () => {
    await expect(runMetricsGate(gate(["quiet"], { phase: "rust-advanced" }))).rejects.toThrow(
        `--contract-report ${contractReport}: the report is for stack canary-a phase rust-basic-write, not stack canary-a phase rust-advanced`,
    );
});

test("a contract report from before the phase was entered is refused (exit 2, nothing written)", async () => {
    const out = path.join(dir, "stale.json");
    const io = { out: "", err: "" };
    const code = await metricsGateMain(
        [
            "--prometheus-url",
            prom.url,
            "--stack",
            "canary-a",
            "--phase",
            "rust-basic-write",
            "--phase-entered-at",
            new Date(enteredMs + 5000).toISOString(),
            "--at",
            new Date(atMs).toISOString(),
            "--perl-baseline",
            "0.5",
            "--contract-report",
            contractReport,
            "--node",
            "quiet",
            "--output",
            out,
            "--soak-seconds",
            "1",
        ],
        { stdout: (s) => (io.out += s), stderr: (s) => (io.err += s), env: {}, cwd: dir },
    );
    expect(code).toBe(2);
    expect(io.err).toBe(
        `metrics-gate: --contract-report ${contractReport}: the contract test finished at ${new Date(enteredMs + 200).toISOString()}, ` +
            `before the phase was entered (${new Date(enteredMs + 5000).toISOString()}); it tested the previous phase: run contract-test again (see metrics-gate --help)\n`,
    );
    expect(fs.existsSync(out)).toBe(false);
});

test("Prometheus unreachable: exit 3, nothing written", async () => {
    const out = path.join(dir, "unreachable.json");
    const io = { out: "", err: "" };
    const code = await metricsGateMain(
        [
            "--prometheus-url",
            "http://127.0.0.1:1",
            "--stack",
            "canary-a",
            "--phase",
            "rust-basic-write",
            "--phase-entered-at",
            new Date(enteredMs).toISOString(),
            "--at",
            new Date(atMs).toISOString(),
            "--perl-baseline",
            "0.5",
            "--contract-report",
            contractReport,
            "--node",
            "quiet",
            "--output",
            out,
            "--retries",
            "0",
        ],
        { stdout: (s) => (io.out += s), stderr: (s) => (io.err += s), env: {}, cwd: dir },
    );
    expect(code).toBe(3);
    expect(io.err).toMatch(
        /^metrics-gate: Prometheus: sum\(increase\(pve_network_\w+\{instance="quiet:9187"\}\[\d+s\]\)\): network: ECONNREFUSED: connect ECONNREFUSED 127\.0\.0\.1:1 \(no evidence written\)\n$/,
    );
    expect(fs.existsSync(out)).toBe(false);
});

describe("the metrics-gate bin, end to end", () => {
    const base = () => [
        "--prometheus-url",
        prom.url,
        "--stack",
        "canary-a",
        "--phase",
        "rust-basic-write",
        "--phase-entered-at",
        new Date(enteredMs).toISOString(),
        "--at",
        new Date(atMs).toISOString(),
        "--perl-baseline",
        "0.5",
        "--contract-report",
        contractReport,
        "--soak-seconds",
        "5",
        "--root-dir",
        dir,
    ];

    test("exit 0 for a clean node; the evidence goes to the default path stacks/evidence/<stack>/<phase>.json", async () => {
        const r = await runBin("dist/bin/metrics-gate.js", [...base(), "--node", "quiet"]);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const file = path.join(dir, "stacks", "evidence", "canary-a", "rust-basic-write.json");
        expect(r.stdout.split("\n")[0]).toBe(`evidence: ${file}`);
        expect(r.stdout).toContain("PASS: the evidence allows leaving rust-basic-write for stack canary-a\n");
        const ev = parseEvidence(fs.readFileSync(file, "utf8"));
        expect(ev.ok).toBe(true);
        if (ev.ok) expect(ev.value.contractTests.report).toBe("../../../evidence/canary-a/rust-basic-write.contract.json");
    });

    test("the evidence the gate wrote is accepted by migration-ctl check and by the policy pack", async () => {
        const written = path.join(dir, "stacks", "evidence", "canary-a", "rust-basic-write.json");
        expect(fs.existsSync(written)).toBe(true);
        // A repository whose canary-a ring is the node the gate measured, soaking 5 s in rust-basic-write.
        const repo = tempDir("pve-accept-");
        const stackFile = YAML.parse(fs.readFileSync(path.join(__dirname, "../../stacks/Pulumi.canary-a.yaml"), "utf8"));
        const config = stackFile.config as Record<string, unknown>;
        delete config["pve-migration:blueGreen"];
        delete config["pve-migration:monitoring"];
        config["pve-migration:phase"] = "rust-basic-write";
        config["pve-migration:nodes"] = [{ name: "quiet", address: "10.20.0.99", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIQuietNodeHostKey" }];
        config["pve-migration:soakSeconds"] = { "rust-basic-write": 5 };
        fs.mkdirSync(path.join(repo, "stacks", "evidence", "canary-a"), { recursive: true });
        fs.copyFileSync(path.join(__dirname, "../../Pulumi.yaml"), path.join(repo, "Pulumi.yaml"));
        fs.writeFileSync(path.join(repo, "stacks", "Pulumi.canary-a.yaml"), YAML.stringify(stackFile));
        const git = (...args: string[]) => execFileSync("git", ["-c", "user.email=ci@example.invalid", "-c", "user.name=ci", ...args], { cwd: repo, stdio: "pipe" });
        git("init", "-q");
        git("add", "-A");
        git("commit", "-qm", "canary-a in rust-basic-write");
        // The pull request: promote, with the evidence the gate wrote.
        const file = path.join(repo, "stacks", "Pulumi.canary-a.yaml");
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("pve-migration:phase: rust-basic-write", "pve-migration:phase: rust-advanced"));
        fs.copyFileSync(written, path.join(repo, "stacks", "evidence", "canary-a", "rust-basic-write.json"));
        const now = new Date(atMs + 1000);
        const out: string[] = [];
        const code = await ctlMain(["check", "--base", "HEAD", "--repo", repo, "--now", now.toISOString(), "--json"], {
            stdout: (t) => out.push(t),
            stderr: (t) => out.push(t),
            cwd: repo,
            env: {},
        });
        expect(code).toBe(0);
        const report = JSON.parse(out.join(""));
        expect(
            report.stacks.map((x: { stack: string; basePhase: string; phase: string; evidence: { passed: boolean } }) => [
                x.stack,
                x.basePhase,
                x.phase,
                x.evidence.passed,
            ]),
        ).toEqual([["canary-a", "rust-basic-write", "rust-advanced", true]]);
        // Soak durations are policy config: the pack is configured with the ring's 5 s here.
        const soakSeconds = { "perl-only": 0, "rust-read-only": 86400, "rust-basic-write": 5, "rust-advanced": 604800, "rust-sdn": 604800, "rust-full": 0 };
        const policy = await checkStack({
            projectDir: repo,
            stack: "canary-a",
            from: "rust-basic-write",
            now,
            policyConfig: { "soak-and-evidence": { soakSeconds } },
        });
        expect(policy.violations).toEqual([]);
        expect(policy.passed).toBe(true);
    });

    test("exit 1 with each reason printed when the gate fails", async () => {
        const out = path.join(dir, "bin-fail.json");
        const r = await runBin("dist/bin/metrics-gate.js", [...base(), "--node", "slow", "--node", "absent", "--output", out]);
        expect(r.code).toBe(1);
        const ev = JSON.parse(fs.readFileSync(out, "utf8"));
        expect(r.stdout).toContain(
            "FAIL: the evidence does not allow leaving rust-basic-write for stack canary-a:\n" +
                "  - no metrics for node(s) absent\n" +
                `  - apply latency ${ev.metrics.applyLatencySeconds}s is above the Perl baseline 0.5s\n`,
        );
        expect(r.stdout).toContain('  finding: node absent: no data for sum(increase(pve_network_fallback_total{instance="absent:9187"}');
    });
});
