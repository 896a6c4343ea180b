/**
 * The pack served by the real policy server (what `pulumi preview --policy-pack policies`
 * starts): policies/index.ts runs as its own process and prints its port; this test talks to
 * it over gRPC the way the Pulumi engine does (GetAnalyzerInfo, Configure, Analyze per
 * resource, AnalyzeStack) and checks that the server reports exactly what the offline check
 * reports. Importing the policy modules, on the other hand, starts nothing.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { evaluateStack } from "../../cli/policy-check/check";
import { RecordedResource } from "../../components/policycheck/record";
import { POLICIES } from "../../policies/pack";
import { PROJECT_DIR, byName, dropStep, record, stackConfig } from "./helpers";

const analyzerpb = require("@pulumi/pulumi/proto/analyzer_pb");
const analyzerrpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
const { serializeProperties } = require("@pulumi/policy/deserialize") as { serializeProperties(o: unknown): Promise<unknown> };

const POLICY_DIR = path.join(PROJECT_DIR, "policies");
const NODE_ARGS = ["-r", "ts-node/register/transpile-only"];
const LEVELS = ["advisory", "mandatory", "disabled", "remediate"];

let server: ChildProcess | undefined;
let client: any;

function call<T>(method: string, req: unknown): Promise<T> {
    return new Promise((resolve, reject) => client[method](req, (err: Error | null, resp: T) => (err ? reject(err) : resolve(resp))));
}

beforeAll(async () => {
    server = spawn(process.execPath, [...NODE_ARGS, "index.ts"], { cwd: POLICY_DIR, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    server.stderr!.on("data", (d) => (stderr += d));
    const port = await new Promise<number>((resolve, reject) => {
        let out = "";
        server!.stdout!.on("data", (d) => {
            out += d;
            const m = /^(\d+)\n/.exec(out);
            if (m) resolve(Number(m[1]));
        });
        server!.on("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${stderr}`)));
    });
    client = new analyzerrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(() => {
    client?.close();
    if (server?.pid !== undefined && server.exitCode === null) server.kill("SIGTERM");
});

async function analyzerResource(r: RecordedResource, Kind: any): Promise<any> {
    const m = new Kind();
    m.setType(r.type);
    m.setName(r.name);
    m.setUrn(r.urn);
    m.setProperties(Struct.fromJavaScript((await serializeProperties(r.props)) as never));
    const opts = new analyzerpb.AnalyzerResourceOptions();
    if (r.parent) opts.setParent(r.parent);
    m.setOptions(opts);
    if (Kind === analyzerpb.AnalyzerResource) {
        if (r.parent) m.setParent(r.parent);
        m.setDependenciesList(r.dependencies);
    }
    return m;
}

interface Diagnostic {
    /** "resource": from Analyze (before the engine creates the resource); "stack": from AnalyzeStack (after every step). */
    stage: "resource" | "stack";
    policy: string;
    level: string;
    urn: string;
    message: string;
}

/** Everything the server reports for these resources: Analyze each one, then AnalyzeStack. */
async function serve(resources: readonly RecordedResource[]): Promise<Diagnostic[]> {
    const out: Diagnostic[] = [];
    const collect = (resp: any, urn: string, stage: Diagnostic["stage"]) => {
        for (const d of resp.getDiagnosticsList()) {
            // The server prefixes each message with the policy's description (the CLI prints both).
            const prefix = `${POLICIES.find((p) => p.name === d.getPolicyname())?.description}\n`;
            const message: string = d.getMessage();
            out.push({
                stage,
                policy: d.getPolicyname(),
                level: LEVELS[d.getEnforcementlevel()],
                urn: d.getUrn() || urn,
                message: message.startsWith(prefix) ? message.slice(prefix.length) : `(no description) ${message}`,
            });
        }
    };
    for (const r of resources) collect(await call("analyze", await analyzerResource(r, analyzerpb.AnalyzeRequest)), r.urn, "resource");
    const stack = new analyzerpb.AnalyzeStackRequest();
    stack.setResourcesList(await Promise.all(resources.map((r) => analyzerResource(r, analyzerpb.AnalyzerResource))));
    collect(await call("analyzeStack", stack), "", "stack");
    return out;
}

const sorted = (ds: Diagnostic[]) => ds.map((d) => `${d.stage} ${d.level} ${d.policy} ${d.urn} ${d.message}`).sort();

test("the server lists every policy with its enforcement level and config schema", async () => {
    const info: any = await call("getAnalyzerInfo", new Empty());
    expect(info.getName()).toBe("pve-network-migration");
    expect(info.getPoliciesList().map((p: any) => [p.getName(), LEVELS[p.getEnforcementlevel()]])).toEqual(POLICIES.map((p) => [p.name, p.enforcementLevel]));
    const perl = info.getPoliciesList().find((p: any) => p.getName() === "perl-api");
    expect(perl.getConfigschema().getProperties().toJavaScript()).toEqual({
        minTimeoutSeconds: { type: "integer", minimum: 1, default: 5, description: "Shortest allowed perl_api_timeout, seconds." },
        maxTimeoutSeconds: { type: "integer", minimum: 1, default: 300, description: "Longest allowed perl_api_timeout, seconds." },
    });
});

test("the server reports exactly what the offline check reports, for a change that breaks many rules", async () => {
    const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    const rec = await record("canary-a", {
        from: "perl-only",
        stackConfig: stackConfig("canary-a", (c) => {
            c["pve-migration:perlApi"].baseUrl = "http://pve-east.example.internal:8006";
            delete c["pve-migration:package"].sha256;
            c["pve-migration:fallbackEnabled"] = false;
            c["pve-migration:logMigrationDecisions"] = false;
            c["pve-migration:backups"] = { retention: 1 };
            c["pve-migration:sshPrivateKeys"] = { default: key };
        }),
    });
    const resources = dropStep(rec.resources, "pve-east-01-snapshot");
    byName(resources, "pve-network-rs-blue").props.values.replicaCount = 0;
    const offline = await evaluateStack({ ...rec, resources });
    const expected = offline.violations.map((v) => ({ stage: v.stage, policy: v.policy, level: v.enforcementLevel, urn: v.urn, message: v.message }));
    expect(new Set(expected.map((d) => d.policy))).toEqual(
        new Set([
            "phase-transition",
            "backup-before-write",
            "fallback-enabled",
            "perl-api",
            "package-pinned",
            "no-plaintext-secrets",
            "blue-green-safe",
            "log-migration-decisions",
            "backup-retention",
        ]),
    );
    const served = await serve(resources);
    expect(sorted(served)).toEqual(sorted(expected));
    // The first resource the server's Analyze refuses (mandatory) is where the offline check says --skip-preview stops.
    const firstRefused = served.find((d) => d.stage === "resource" && d.level === "mandatory");
    expect([firstRefused?.policy, firstRefused?.urn]).toEqual([offline.skipPreview.stoppedAt?.policy, offline.skipPreview.stoppedAt?.urn]);
    expect(offline.skipPreview.stoppedAt?.name).toBe("pve-east-transition");
});

test("a rule that needs several resources is reported by AnalyzeStack only, as the offline check says", async () => {
    const rec = await record("canary-a", { from: "rust-read-only" });
    const resources = dropStep(rec.resources, "pve-east-01-snapshot");
    const offline = await evaluateStack({ ...rec, resources });
    const served = await serve(resources);
    const message =
        "node pve-east-01 enters write phase rust-basic-write (rust-read-only -> rust-basic-write) without a snapshot step: take a verified backup before its migration config changes";
    expect(served).toEqual([{ stage: "stack", policy: "backup-before-write", level: "mandatory", urn: byName(resources, "pve-east-transition").urn, message }]);
    expect(offline.skipPreview).toMatchObject({ stoppedAt: undefined, registeredBefore: [] });
    expect(offline.skipPreview.stackViolationsAfterSteps.map((v) => [v.stage, v.policy, v.urn, v.message])).toEqual([
        ["stack", "backup-before-write", served[0].urn, message],
    ]);
});

test("the pack config the engine sends (Configure) is what the policies read", async () => {
    const rec = await record("canary-b");
    const before = await serve(rec.resources);
    expect(before).toEqual([]);
    const req = new analyzerpb.ConfigureAnalyzerRequest();
    const pc = new analyzerpb.PolicyConfig();
    pc.setEnforcementlevel(analyzerpb.EnforcementLevel.ADVISORY);
    pc.setProperties(Struct.fromJavaScript({ minTimeoutSeconds: 5, maxTimeoutSeconds: 30 }));
    req.getPolicyconfigMap().set("perl-api", pc);
    await call("configure", req);
    try {
        const offline = await evaluateStack(rec, { "perl-api": { enforcementLevel: "advisory", maxTimeoutSeconds: 30 } });
        const expected = offline.violations.map((v) => ({ stage: v.stage, policy: v.policy, level: v.enforcementLevel, urn: v.urn, message: v.message }));
        expect(expected.map((d) => `${d.level} ${d.message}`)).toEqual([
            "advisory transition record of stack canary-b: perlApiTimeout must be a whole number of seconds between 5 and 30 (got 60)",
            "advisory /etc/pve/nodes/pve-east-02/network/migration.toml: perl_api_timeout must be a whole number of seconds between 5 and 30 (got 60)",
        ]);
        expect(sorted(await serve(rec.resources))).toEqual(sorted(expected));
    } finally {
        await call("configure", new analyzerpb.ConfigureAnalyzerRequest());
    }
});

test("importing every policy module (not index.ts) starts no server", () => {
    const modules = [
        "./pack",
        "./lib",
        "./phases",
        "./rings",
        "./evidence",
        "./backups",
        "./migration-config",
        "./pinned-package",
        "./secrets",
        "./cluster",
        "./bluegreen",
        "./hygiene",
        "./steps",
    ];
    const script = `for (const m of ${JSON.stringify(modules)}) require(m); console.error("loaded " + require("./pack").POLICIES.length);`;
    const r = spawnSync(process.execPath, [...NODE_ARGS, "-e", script], { cwd: POLICY_DIR, encoding: "utf8", timeout: 60000 });
    // A PolicyPack would print its port on stdout and keep the process alive (killed by the timeout).
    expect({ status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr.trim() }).toEqual({ status: 0, signal: null, stdout: "", stderr: "loaded 17" });
});
