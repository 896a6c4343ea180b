import * as fs from "fs";
import * as path from "path";
import { metricsGateMain, parseMetricsArgs } from "../../cli/metrics-gate";
import { UsageError } from "../../cli/errors";
import { tempDir } from "./helpers";

let dir: string;
beforeAll(() => {
    dir = tempDir("metrics-args-");
    fs.mkdirSync(path.join(dir, "stacks"));
    fs.writeFileSync(
        path.join(dir, "stacks", "Pulumi.canary-a.yaml"),
        [
            "config:",
            "  pve-migration:cluster: pve-east",
            "  pve-migration:phase: rust-basic-write",
            "  pve-migration:perlApi: { baseUrl: 'https://pve-east.example.internal:8006' }",
            `  pve-migration:package: { version: 0.4.2-1, sha256: ${"a".repeat(64)}, url: 'https://apt.example.internal/p.deb' }`,
            "  pve-migration:nodes:",
            "    - name: pve-east-01",
            "      address: 10.20.0.11",
            "      hostKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1",
            "    - name: pve-east-02",
            "      address: 10.20.0.12",
            "      hostKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK2",
            "  pve-migration:soakSeconds:",
            "    rust-read-only: 3600",
            "  pve-migration:gates:",
            "    maxLatencyRatio: 1.2",
            "",
        ].join("\n"),
    );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const base = [
    "--prometheus-url",
    "http://prom:9090",
    "--stack",
    "canary-a",
    "--phase",
    "rust-read-only",
    "--phase-entered-at",
    "2024-05-01T10:00:00Z",
    "--at",
    "2024-05-02T10:00:00Z",
    "--perl-baseline",
    "0.8",
    "--contract-report",
    "c.json",
];

test("defaults from the stack file: the ring's nodes, soak, latency ratio; the default output path", () => {
    const o = parseMetricsArgs(base, dir);
    expect(o).toEqual({
        prometheus: { url: "http://prom:9090", timeoutMs: 30000, retries: 2 },
        caFile: undefined,
        stack: "canary-a",
        phase: "rust-read-only",
        nodes: ["pve-east-01", "pve-east-02"],
        ringNodes: ["pve-east-01", "pve-east-02"],
        phaseEnteredAtMs: Date.parse("2024-05-01T10:00:00Z"),
        atMs: Date.parse("2024-05-02T10:00:00Z"),
        perlBaselineSeconds: 0.8,
        selector: { label: "instance", template: "{node}:9187" },
        contractReport: path.join(dir, "c.json"),
        soakSeconds: 3600,
        maxLatencyRatio: 1.2,
        maxFallbacks: 0,
        output: path.join(dir, "stacks", "evidence", "canary-a", "rust-read-only.json"),
    });
});

test("--node narrows the queries, the verdict still needs the whole ring; flags override the stack file", () => {
    const o = parseMetricsArgs(
        [
            ...base,
            "--node",
            "pve-east-01",
            "--soak-seconds",
            "60",
            "--max-latency-ratio",
            "2",
            "--node-label",
            "node",
            "--instance-label-template",
            "{node}",
            "--output",
            "e.json",
        ],
        dir,
    );
    expect(o.nodes).toEqual(["pve-east-01"]);
    expect(o.ringNodes).toEqual(["pve-east-01", "pve-east-02"]);
    expect(o.soakSeconds).toBe(60);
    expect(o.maxLatencyRatio).toBe(2);
    expect(o.selector).toEqual({ label: "node", template: "{node}" });
    expect(o.output).toBe(path.join(dir, "e.json"));
});

test("without a stack file, --node is the ring and the phase's default soak applies", () => {
    const o = parseMetricsArgs([...base.map((a) => (a === "canary-a" ? "other" : a)), "--node", "pve1"], dir);
    expect(o.nodes).toEqual(["pve1"]);
    expect(o.ringNodes).toBeUndefined();
    expect(o.soakSeconds).toBe(86400);
    expect(o.maxLatencyRatio).toBe(1);
});

const without = (flag: string) => {
    const i = base.indexOf(flag);
    return [...base.slice(0, i), ...base.slice(i + 2)];
};

test.each<[string[], string]>([
    [without("--prometheus-url"), "--prometheus-url: required"],
    [
        [...without("--prometheus-url"), "--prometheus-url", "prom:9090"],
        '--prometheus-url: must be an http(s):// URL without credentials or query (got "prom:9090")',
    ],
    [without("--perl-baseline"), "--perl-baseline: required (mean Perl apply latency, seconds)"],
    [[...without("--perl-baseline"), "--perl-baseline", "0"], '--perl-baseline: must be greater than 0 (got "0")'],
    [without("--contract-report"), "--contract-report: required"],
    [without("--phase-entered-at"), "--phase-entered-at: required (when the phase was entered, ISO 8601)"],
    [[...without("--at"), "--at", "2024-05-01T09:00:00Z"], "--at: must be after --phase-entered-at"],
    [
        [...without("--phase"), "--phase", "rust"],
        '--phase: must be one of perl-only, rust-read-only, rust-basic-write, rust-advanced, rust-sdn, rust-full (got "rust")',
    ],
    [[...base, "--node", "a b"], '--node: "a b" is not a Proxmox VE node name'],
    [[...base, "--node-label", "9"], '--node-label/--instance-label-template: label "9" is not a Prometheus label name'],
    [[...base, "--instance-label-template", "pve1:9187"], '--node-label/--instance-label-template: template "pve1:9187" must contain {node}'],
    [[...base, "--max-fallbacks", "-1"], '--max-fallbacks: must be at least 0 (got "-1")'],
])("usage error %#", (argv, message) => {
    expect(() => parseMetricsArgs(argv, dir)).toThrow(new UsageError(message));
});

test("no --node and no stack file names both", () => {
    const argv = base.map((a) => (a === "canary-a" ? "nostack" : a));
    expect(() => parseMetricsArgs(argv, dir)).toThrow(
        new UsageError(`no --node given and --stack nostack: cannot read ${path.join(dir, "stacks", "Pulumi.nostack.yaml")}: ENOENT`),
    );
});

test("--output naming a folder is one usage line, exit 2, no stack trace, nothing written", async () => {
    fs.mkdirSync(path.join(dir, "a-folder"), { recursive: true });
    expect(() => parseMetricsArgs([...base, "--output", "a-folder"], dir)).toThrow(
        new UsageError("--output: a-folder is a folder; give the evidence file (default <root-dir>/stacks/evidence/canary-a/rust-read-only.json)"),
    );
    let stdout = "";
    let stderr = "";
    const code = await metricsGateMain([...base, "--output", "a-folder"], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd: dir, env: {} });
    expect({ code, stdout, stderr }).toEqual({
        code: 2,
        stdout: "",
        stderr: "metrics-gate: --output: a-folder is a folder; give the evidence file (default <root-dir>/stacks/evidence/canary-a/rust-read-only.json) (see metrics-gate --help)\n",
    });
    expect(fs.readdirSync(path.join(dir, "a-folder"))).toEqual([]);
});

test("a flag without its value is one usage line naming it", async () => {
    let stderr = "";
    const code = await metricsGateMain([...base, "--output"], { stdout: () => undefined, stderr: (t) => (stderr += t), cwd: dir, env: {} });
    expect([code, stderr]).toEqual([2, "metrics-gate: --output needs a value (see metrics-gate --help)\n"]);
});
