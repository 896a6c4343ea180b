/**
 * The contract test against two real HTTPS servers on loopback (the "Perl" and the "Rust" API),
 * with certificates made by openssl at test time.
 */
import * as fs from "fs";
import * as https from "https";
import * as net from "net";
import * as path from "path";
import { runContractTest, ContractTestOptions } from "../../components/gates/contract-cli";
import { DEFAULT_ENDPOINTS, totals } from "../../components/gates/contract";
import { makeCerts, runBin, tempDir, Certs } from "./helpers";
import { contractTestMain } from "../../cli/contract-test";

const TOKEN = "root@pam!contract=0b5c2c4e-8f1a-4bb7-9a3e-1d2e3f4a5b6c";

type Reply = { status?: number; body?: unknown; raw?: string; hang?: boolean };

interface FixtureServer {
    readonly url: string;
    /** Replies by request path. */
    routes: Record<string, Reply>;
    /** Every request seen: path and Authorization header. */
    readonly seen: { path: string; auth: string | undefined }[];
    close(): Promise<void>;
}

async function startServer(certs: Certs): Promise<FixtureServer> {
    const sockets = new Set<net.Socket>();
    const state: { routes: Record<string, Reply>; seen: { path: string; auth: string | undefined }[] } = { routes: {}, seen: [] };
    const server = https.createServer({ key: fs.readFileSync(certs.serverKey), cert: fs.readFileSync(certs.serverCert) }, (req, res) => {
        state.seen.push({ path: req.url ?? "", auth: req.headers.authorization });
        if (req.headers.authorization !== `PVEAPIToken=${TOKEN}`) {
            res.writeHead(401, { "Content-Type": "application/json" }).end('{"data":null}');
            return;
        }
        const r = state.routes[req.url ?? ""];
        if (r === undefined) {
            res.writeHead(404).end("no route");
            return;
        }
        if (r.hang) return; // accept, never answer
        res.writeHead(r.status ?? 200, { "Content-Type": "application/json" }).end(r.raw ?? JSON.stringify(r.body));
    });
    server.on("secureConnection", (s) => {
        sockets.add(s);
        s.on("close", () => sockets.delete(s));
    });
    await new Promise<void>((res) => server.listen(0, "127.0.0.1", () => res()));
    const port = (server.address() as net.AddressInfo).port;
    return {
        url: `https://127.0.0.1:${port}`,
        get routes() {
            return state.routes;
        },
        set routes(r) {
            state.routes = r;
        },
        seen: state.seen,
        close: () =>
            new Promise<void>((res) => {
                for (const s of sockets) s.destroy();
                server.close(() => res());
            }),
    };
}

/** Proxmox-like answers for `node`. */
function fixtures(node: string): Record<string, unknown> {
    return {
        [`/api2/json/nodes/${node}/network`]: {
            data: [
                { iface: "eno1", type: "eth", active: 1, autostart: 1, method: "manual", families: ["inet"], priority: 3 },
                {
                    iface: "vmbr0",
                    type: "bridge",
                    active: 1,
                    autostart: 1,
                    method: "static",
                    families: ["inet"],
                    cidr: "10.0.0.2/24",
                    address: "10.0.0.2",
                    gateway: "10.0.0.1",
                    bridge_ports: "eno1",
                    priority: 4,
                },
                {
                    iface: "vmbr1",
                    type: "bridge",
                    active: 1,
                    autostart: 1,
                    method: "static",
                    families: ["inet"],
                    cidr: "10.0.0.0/24",
                    bridge_ports: "",
                    priority: 5,
                },
            ],
        },
        "/api2/json/cluster/sdn/zones": { data: [{ zone: "zone1", type: "simple", digest: "1a2b3c", ipam: "pve" }] },
        "/api2/json/cluster/sdn/vnets": { data: [{ vnet: "vnet1", zone: "zone1", type: "vnet", tag: 100, digest: "1a2b3c" }] },
        "/api2/json/storage": {
            data: [
                { storage: "local", type: "dir", path: "/var/lib/vz", content: "iso,vztmpl,backup", digest: "9f8e" },
                { storage: "local-lvm", type: "lvmthin", thinpool: "data", vgname: "pve", content: "rootdir,images", digest: "9f8e" },
            ],
        },
    };
}

/** Routes for the Perl server (paths as given) and the Rust server (under /<node>, see rustUrl). */
function routesFor(nodes: string[], side: "perl" | "rust", edit: (node: string, f: Record<string, unknown>) => void = () => undefined) {
    const routes: Record<string, Reply> = {};
    for (const n of nodes) {
        const f = fixtures(n);
        edit(n, f);
        for (const [p, body] of Object.entries(f)) routes[side === "rust" ? `/${n}${p}` : p] = { body };
    }
    return routes;
}

let dir: string;
let certs: Certs;
let perl: FixtureServer;
let rust: FixtureServer;

beforeAll(async () => {
    dir = tempDir("contract-https-");
    certs = makeCerts(dir);
    perl = await startServer(certs);
    rust = await startServer(certs);
});

afterAll(async () => {
    await perl.close();
    await rust.close();
    fs.rmSync(dir, { recursive: true, force: true });
});

function opts(over: Partial<ContractTestOptions> = {}): ContractTestOptions {
    return {
        nodes: ["pve1"],
        perlUrl: perl.url,
        // {node} in the URL is replaced: the Rust server serves each node under /<node>.
        rustUrl: `${rust.url}/{node}`,
        endpoints: DEFAULT_ENDPOINTS,
        ca: fs.readFileSync(certs.ca, "utf8"),
        token: TOKEN,
        timeoutMs: 2000,
        retries: 0,
        retryDelayMs: 0,
        ...over,
    };
}

function statuses(r: Awaited<ReturnType<typeof runContractTest>>) {
    return r.flatMap((n) => n.endpoints.map((e) => `${n.node} ${e.endpoint} ${e.status}`));
}

test("identical answers pass, for every node and endpoint; the token is sent as PVEAPIToken", async () => {
    perl.routes = routesFor(["pve1", "pve2"], "perl");
    rust.routes = routesFor(["pve1", "pve2"], "rust");
    perl.seen.length = 0;
    const r = await runContractTest(opts({ nodes: ["pve1", "pve2"] }));
    expect(statuses(r)).toEqual([
        "pve1 /api2/json/nodes/pve1/network pass",
        "pve1 /api2/json/cluster/sdn/zones pass",
        "pve1 /api2/json/cluster/sdn/vnets pass",
        "pve1 /api2/json/storage pass",
        "pve2 /api2/json/nodes/pve2/network pass",
        "pve2 /api2/json/cluster/sdn/zones pass",
        "pve2 /api2/json/cluster/sdn/vnets pass",
        "pve2 /api2/json/storage pass",
    ]);
    expect(totals(r)).toEqual({ endpointsCompared: 8, passed: 8, failed: 0, errors: 0 });
    expect(r[1].endpoints[0].rustUrl).toBe(`${rust.url}/pve2/api2/json/nodes/pve2/network`);
    expect(perl.seen.map((s) => s.auth)).toEqual(Array(8).fill(`PVEAPIToken=${TOKEN}`));
});

test("one differing field fails that endpoint with a path-level diff", async () => {
    perl.routes = routesFor(["pve1"], "perl");
    rust.routes = routesFor(["pve1"], "rust", (_n, f) => {
        const net = (f["/api2/json/nodes/pve1/network"] as { data: Record<string, unknown>[] }).data;
        net[2].cidr = "10.0.1.0/24";
    });
    const r = await runContractTest(opts());
    expect(statuses(r)).toEqual([
        "pve1 /api2/json/nodes/pve1/network fail",
        "pve1 /api2/json/cluster/sdn/zones pass",
        "pve1 /api2/json/cluster/sdn/vnets pass",
        "pve1 /api2/json/storage pass",
    ]);
    expect(r[0].endpoints[0].differences).toEqual([
        { path: "data[2].cidr", perl: '"10.0.0.0/24"', rust: '"10.0.1.0/24"', text: 'data[2].cidr: perl "10.0.0.0/24" != rust "10.0.1.0/24"' },
    ]);
});

test("reordered keys and list order pass", async () => {
    perl.routes = routesFor(["pve1"], "perl");
    rust.routes = routesFor(["pve1"], "rust", (_n, f) => {
        for (const k of Object.keys(f)) {
            const data = (f[k] as { data: Record<string, unknown>[] }).data;
            const reversed = data.map((o) => Object.fromEntries(Object.entries(o).reverse())).reverse();
            f[k] = { data: reversed };
        }
    });
    // The raw JSON really is in a different order.
    expect(JSON.stringify(rust.routes["/pve1/api2/json/storage"].body)).not.toBe(JSON.stringify(perl.routes["/api2/json/storage"].body));
    const r = await runContractTest(opts());
    expect(totals(r)).toEqual({ endpointsCompared: 4, passed: 4, failed: 0, errors: 0 });
});

test("a differing volatile field passes", async () => {
    perl.routes = routesFor(["pve1"], "perl");
    rust.routes = routesFor(["pve1"], "rust", (_n, f) => {
        for (const s of (f["/api2/json/storage"] as { data: Record<string, unknown>[] }).data) s.digest = "ffff";
        (f["/api2/json/cluster/sdn/zones"] as { data: Record<string, unknown>[] }).data[0].mtime = 1714557600;
    });
    const r = await runContractTest(opts());
    expect(totals(r)).toEqual({ endpointsCompared: 4, passed: 4, failed: 0, errors: 0 });
});

test("a server that hangs times out: error, never pass; retries are attempted", async () => {
    perl.routes = routesFor(["pve1"], "perl");
    rust.routes = { ...routesFor(["pve1"], "rust"), "/pve1/api2/json/storage": { hang: true } };
    rust.seen.length = 0;
    const t0 = Date.now();
    const r = await runContractTest(opts({ timeoutMs: 500, retries: 1, retryDelayMs: 10 }));
    const elapsed = Date.now() - t0;
    const storage = r[0].endpoints[3];
    expect(storage.status).toBe("error");
    expect(storage.errors).toEqual([
        { side: "rust", kind: "timeout", message: "no complete answer within 0.5s", url: `${rust.url}/pve1/api2/json/storage`, status: undefined, attempts: 2 },
    ]);
    expect(rust.seen.filter((s) => s.path === "/pve1/api2/json/storage")).toHaveLength(2);
    expect(totals(r)).toEqual({ endpointsCompared: 4, passed: 3, failed: 1, errors: 1 });
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(5000);
});

test("malformed JSON is an error, not retried", async () => {
    perl.routes = { ...routesFor(["pve1"], "perl"), "/api2/json/cluster/sdn/zones": { raw: '{"data": [' } };
    rust.routes = routesFor(["pve1"], "rust");
    perl.seen.length = 0;
    const r = await runContractTest(opts({ retries: 2 }));
    const zones = r[0].endpoints[1];
    expect(zones.status).toBe("error");
    expect(zones.errors).toHaveLength(1);
    expect(zones.errors[0].side).toBe("perl");
    expect(zones.errors[0].kind).toBe("malformed");
    expect(zones.errors[0].status).toBe(200);
    expect(zones.errors[0].message).toMatch(/^answer is not valid JSON: /);
    expect(zones.errors[0].attempts).toBe(1);
    expect(perl.seen.filter((s) => s.path === "/api2/json/cluster/sdn/zones")).toHaveLength(1);
});

test("an HTTP 500 is an error after the retries", async () => {
    perl.routes = routesFor(["pve1"], "perl");
    rust.routes = { ...routesFor(["pve1"], "rust"), "/pve1/api2/json/cluster/sdn/vnets": { status: 500, raw: '{"errors":"panic"}' } };
    rust.seen.length = 0;
    const r = await runContractTest(opts({ retries: 2, retryDelayMs: 5 }));
    expect(r[0].endpoints[2].status).toBe("error");
    expect(r[0].endpoints[2].errors).toEqual([
        {
            side: "rust",
            kind: "http",
            status: 500,
            message: 'HTTP 500 Internal Server Error: {"errors":"panic"}',
            url: `${rust.url}/pve1/api2/json/cluster/sdn/vnets`,
            attempts: 3,
        },
    ]);
    expect(rust.seen.filter((s) => s.path === "/pve1/api2/json/cluster/sdn/vnets")).toHaveLength(3);
});

test("a wrong token is an HTTP 401 error", async () => {
    perl.routes = routesFor(["pve1"], "perl");
    rust.routes = routesFor(["pve1"], "rust");
    const r = await runContractTest(opts({ token: "root@pam!contract=wrong", endpoints: ["/api2/json/storage"] }));
    expect(r[0].endpoints[0].status).toBe("error");
    expect(r[0].endpoints[0].errors.map((e) => `${e.side} ${e.kind} ${e.status} ${e.attempts}`)).toEqual(["perl http 401 1", "rust http 401 1"]);
});

test("a certificate from another CA fails TLS verification, named in the message", async () => {
    perl.routes = routesFor(["pve1"], "perl");
    rust.routes = routesFor(["pve1"], "rust");
    const r = await runContractTest(opts({ ca: fs.readFileSync(certs.otherCa, "utf8"), endpoints: ["/api2/json/storage"], retries: 2 }));
    const e = r[0].endpoints[0];
    expect(e.status).toBe("error");
    expect(e.errors.map((x) => [x.side, x.kind, x.attempts])).toEqual([
        ["perl", "tls", 1],
        ["rust", "tls", 1],
    ]);
    expect(e.errors[0].message).toBe(
        "TLS verification failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate (pass the cluster CA with --ca)",
    );
});

test("without a CA bundle the system store is used, and the self-signed cluster is refused", async () => {
    const r = await runContractTest(opts({ ca: undefined, endpoints: ["/api2/json/storage"] }));
    expect(r[0].endpoints[0].errors.map((x) => `${x.kind}: ${x.message}`)).toEqual([
        "tls: TLS verification failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate (pass the cluster CA with --ca)",
        "tls: TLS verification failed: UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate (pass the cluster CA with --ca)",
    ]);
});

test("an unreachable endpoint is a network error", async () => {
    const r = await runContractTest(opts({ perlUrl: "https://127.0.0.1:1", endpoints: ["/api2/json/storage"] }));
    expect(r[0].endpoints[0].errors.map((x) => [x.side, x.kind, x.message])).toEqual([["perl", "network", "ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1"]]);
});

describe("the contract-test bin, end to end", () => {
    const args = (out: string) => [
        "--node",
        "pve1",
        "--perl-url",
        perl.url,
        "--rust-url",
        `${rust.url}/{node}`,
        "--output",
        out,
        "--ca",
        certs.ca,
        "--token-file",
        path.join(dir, "token"),
        "--timeout",
        "2",
        "--retries",
        "0",
    ];

    beforeAll(() => {
        fs.writeFileSync(path.join(dir, "token"), `${TOKEN}\n`, { mode: 0o600 });
    });

    test("on a terminal, one progress line per endpoint on stderr; not when stderr is not a terminal", async () => {
        perl.routes = routesFor(["pve1"], "perl");
        rust.routes = routesFor(["pve1"], "rust");
        const run = async (stderrIsTTY: boolean) => {
            let stdout = "";
            let stderr = "";
            const out = path.join(dir, "reports", `progress-${stderrIsTTY}.json`);
            const code = await contractTestMain(args(out), { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd: dir, env: {}, stderrIsTTY });
            return {
                code,
                stdout,
                stderr,
                endpoints: JSON.parse(fs.readFileSync(out, "utf8")).results[0].endpoints.map((e: { endpoint: string }) => e.endpoint) as string[],
            };
        };
        const tty = await run(true);
        expect(tty.code).toBe(0);
        expect(tty.stderr).toBe(tty.endpoints.map((e, i) => `[${i + 1}/4] pve1 ${e}: pass\n`).join(""));
        const pipe = await run(false);
        expect([pipe.code, pipe.stderr]).toEqual([0, ""]);
        expect(pipe.stdout).toBe(tty.stdout.replace(/progress-true/g, "progress-false"));
    });

    test("exit 0 when all pass; the report holds totals and the evidence part; the token is never printed", async () => {
        perl.routes = routesFor(["pve1"], "perl");
        rust.routes = routesFor(["pve1"], "rust");
        const out = path.join(dir, "reports", "pve1-shadow.json");
        const r = await runBin("dist/bin/contract-test.js", [
            ...args(out),
            "--stack",
            "canary-a",
            "--phase",
            "rust-read-only",
            "--phase-entered-at",
            "2024-05-01T10:00:00Z",
        ]);
        expect(r.stderr).toBe("");
        expect(r.code).toBe(0);
        const text = fs.readFileSync(out, "utf8");
        const report = JSON.parse(text);
        expect(report.totals).toEqual({ endpointsCompared: 4, passed: 4, failed: 0, errors: 0 });
        expect(report.evidence).toEqual({
            stack: "canary-a",
            phase: "rust-read-only",
            phaseEnteredAt: "2024-05-01T10:00:00.000Z",
            nodes: ["pve1"],
            contractTests: { endpointsCompared: 4, passed: 4, failed: 0 },
        });
        expect(report.volatileFields.map((f: { field: string }) => f.field)).toEqual(["digest", "ctime", "mtime", "uptime"]);
        expect(report.results[0].endpoints.map((e: { status: string }) => e.status)).toEqual(["pass", "pass", "pass", "pass"]);
        for (const s of [text, r.stdout, r.stderr]) expect(s).not.toContain("0b5c2c4e");
        expect(r.stdout).toContain("4 of 4 endpoint(s) passed, 0 failed (0 could not be compared)");
    });

    test("exit 1 on a difference, the diff printed and in the report", async () => {
        perl.routes = routesFor(["pve1"], "perl");
        rust.routes = routesFor(["pve1"], "rust", (_n, f) => {
            (f["/api2/json/cluster/sdn/vnets"] as { data: Record<string, unknown>[] }).data[0].tag = 200;
        });
        const out = path.join(dir, "diff.json");
        const r = await runBin("dist/bin/contract-test.js", args(out));
        expect(r.code).toBe(1);
        expect(r.stdout).toContain("FAIL  pve1 /api2/json/cluster/sdn/vnets\n      data[0].tag: perl 100 != rust 200\n");
        const report = JSON.parse(fs.readFileSync(out, "utf8"));
        expect(report.totals).toEqual({ endpointsCompared: 4, passed: 3, failed: 1, errors: 0 });
        expect(report.results[0].endpoints[2].differences.map((d: { text: string }) => d.text)).toEqual(["data[0].tag: perl 100 != rust 200"]);
    });

    test("exit 3 when an endpoint answers 500", async () => {
        perl.routes = { ...routesFor(["pve1"], "perl"), "/api2/json/storage": { status: 500, raw: "" } };
        rust.routes = routesFor(["pve1"], "rust");
        const out = path.join(dir, "err.json");
        const r = await runBin("dist/bin/contract-test.js", args(out));
        expect(r.code).toBe(3);
        const report = JSON.parse(fs.readFileSync(out, "utf8"));
        expect(report.totals).toEqual({ endpointsCompared: 4, passed: 3, failed: 1, errors: 1 });
        expect(r.stdout).toContain("ERROR pve1 /api2/json/storage\n      perl: http: HTTP 500 Internal Server Error\n");
    });

    test("exit 2 on a usage error, nothing written; the token comes from PVE_API_TOKEN too", async () => {
        const out = path.join(dir, "usage.json");
        const r = await runBin("dist/bin/contract-test.js", ["--node", "pve1", "--perl-url", perl.url, "--output", out], { PVE_API_TOKEN: TOKEN });
        expect(r.code).toBe(2);
        expect(r.stderr).toBe("contract-test: --rust-url: required (https://host:8006; {node} is replaced by the node name) (see contract-test --help)\n");
        expect(fs.existsSync(out)).toBe(false);
        const noToken = await runBin("dist/bin/contract-test.js", ["--node", "pve1", "--perl-url", perl.url, "--rust-url", rust.url, "--output", out]);
        expect(noToken.code).toBe(2);
        expect(noToken.stderr).toBe(
            "contract-test: no API token: give --token-file FILE or set PVE_API_TOKEN (USER@REALM!TOKENID=SECRET) (see contract-test --help)\n",
        );
    });
});
