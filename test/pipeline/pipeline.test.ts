/**
 * migration-ctl up, plan --out and apply in-process on temp copies of the shipped stacks, with the
 * replay runner (test/support/replay-runner.ts), a stand-in for the Pulumi CLI behind
 * components/automation's PulumiRunner: the program's registered steps execute for real on the
 * dev sandbox's node roots, and its events reach the pipeline in the Automation API's shape.
 * One case runs the real Automation API (components/automation) on this machine, which has no
 * Pulumi CLI.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { automationRunner } from "../../components/automation";
import { main } from "../../cli/migration-ctl";
import { ROOT, TestRepo } from "../ctl/helpers";
import { ReplayRunner, ReplayRunnerOptions } from "../support/replay-runner";
import { requireTools } from "../support/tools";
import type { PulumiRunner } from "../../components/automation";

requireTools("dpkg-deb", "dpkg");

interface Run {
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

class Pipe {
    readonly repo = new TestRepo();
    runner: ReplayRunner;

    constructor(o: Partial<ReplayRunnerOptions> = {}) {
        fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), this.repo.path("Pulumi.yaml"));
        this.repo.commit("the checkout");
        this.runner = new ReplayRunner({ stateDir: this.repo.aux, ...o });
    }

    async ctl(args: string[], o: { runner?: PulumiRunner; env?: NodeJS.ProcessEnv; tty?: boolean } = {}): Promise<Run> {
        let stdout = "";
        let stderr = "";
        const code = await main(args, {
            stdout: (s) => (stdout += s),
            stderr: (s) => (stderr += s),
            cwd: this.repo.dir,
            env: { PATH: this.repo.emptyBin, ...o.env },
            runner: o.runner ?? this.runner,
            stderrIsTTY: o.tty === true,
            columns: 72,
        });
        return { code, stdout, stderr };
    }

    json(rel: string): Record<string, unknown> {
        return JSON.parse(fs.readFileSync(this.repo.path(rel), "utf8"));
    }

    /** The dev stack deployed and settled in perl-only (up, then one more up: the steady state). */
    async deployed(): Promise<void> {
        expect((await this.ctl(["up", "--stack", "dev"])).code).toBe(0);
        expect((await this.ctl(["up", "--stack", "dev"])).code).toBe(0);
    }

    cleanup(): void {
        this.repo.cleanup();
    }
}

let pipes: Pipe[] = [];
function pipe(o: Partial<ReplayRunnerOptions> = {}): Pipe {
    const p = new Pipe(o);
    pipes.push(p);
    return p;
}
afterEach(() => {
    for (const p of pipes) p.cleanup();
    pipes = [];
});

const lines = (s: string) => s.split("\n").filter((l) => l !== "");

describe("migration-ctl up (replay runner, a stand-in for the CLI)", () => {
    test("the first up creates the dev sandbox, the project's local backend and the stack, and runs every registered step", async () => {
        const p = pipe();
        expect(fs.existsSync(p.repo.path(".sandbox"))).toBe(false);
        const r = await p.ctl(["up", "--stack", "dev"]);
        expect(r.code).toBe(0);
        expect(lines(r.stderr)).toEqual([
            `backend: file://${p.repo.path(".pulumi-state")} (the project's local file backend for dev; set PULUMI_BACKEND_URL for another)`,
            "secrets: an empty passphrase (the dev stack holds no secret; set PULUMI_CONFIG_PASSPHRASE to use your own)",
            "created the dev sandbox: 3 node roots under .sandbox/dev, the stand-in package .sandbox/debs/pve-network-rs_0.4.2-1_amd64.deb",
            "pulumi up --stack dev: perl-only -> perl-only (none)",
        ]);
        const out = lines(r.stdout);
        expect(out[out.length - 1]).toBe("pulumi up --stack dev: succeeded (create 8)");
        expect(out.slice(0, -1).sort()).toEqual(
            [
                "pve1 package, units: started (create)",
                "pve2 package, units: started (create)",
                "pve3 package, units: started (create)",
                "pve1 (cluster) cluster-config: started (create)",
                "pve1 (cluster) cluster-config: ok in 0 s (config=changed)",
                "pve1 services, verify: started (create)",
                "pve2 services, verify: started (create)",
                "pve3 services, verify: started (create)",
                ...["pve1", "pve2", "pve3"].map((n) => `${n} package, units: ok in 0 s (package=changed, units=changed)`),
                ...["pve1", "pve2", "pve3"].map((n) => `${n} services, verify: ok in 0 s (services=changed, verify=ok)`),
            ].sort(),
        );
        expect(p.runner.calls.map((c) => [c.op, c.stack, c.create ?? null, c.envVars])).toEqual([
            [
                "outputs",
                "dev",
                null,
                { PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_BACKEND_URL: `file://${p.repo.path(".pulumi-state")}`, PULUMI_CONFIG_PASSPHRASE: "" },
            ],
            ["up", "dev", true, { PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_BACKEND_URL: `file://${p.repo.path(".pulumi-state")}`, PULUMI_CONFIG_PASSPHRASE: "" }],
        ]);
        expect(fs.readdirSync(p.repo.path(".sandbox/dev")).sort()).toEqual(["cluster-pve", "pve1", "pve2", "pve3"]);
    });

    test("--json: one object per line, step events per node, then the summary", async () => {
        const p = pipe();
        const r = await p.ctl(["up", "--stack", "dev", "--json"]);
        expect(r.code).toBe(0);
        const objs = lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
        const steps = objs.filter((o) => o.type === "step");
        expect(
            steps
                .filter((o) => o.event === "finished")
                .map((o) => `${o.node} ${o.resource} ${o.result}`)
                .sort(),
        ).toEqual([
            "pve1 dev-lab-cluster-config ok",
            "pve1 pve1-package-units ok",
            "pve1 pve1-services-verify ok",
            "pve2 pve2-package-units ok",
            "pve2 pve2-services-verify ok",
            "pve3 pve3-package-units ok",
            "pve3 pve3-services-verify ok",
        ]);
        const pve2Verify = steps.find((o) => o.event === "finished" && o.resource === "pve2-services-verify") as {
            log: { step: string; result: string; detail: string }[];
        };
        expect(pve2Verify.log.map((l) => [l.step, l.result, l.detail])).toEqual([
            ["services", "changed", "restart of pve-network-migration.service skipped: the sandbox has no service manager"],
            ["verify", "ok", "phase perl-only verified"],
        ]);
        const last = objs[objs.length - 1] as Record<string, unknown>;
        expect([last.type, last.command, last.stack, last.result, last.exitCode, last.failed, last.changes]).toEqual([
            "summary",
            "up",
            "dev",
            "succeeded",
            0,
            [],
            { create: 8 },
        ]);
        expect((last.nodes as { node: string }[]).map((n) => n.node)).toEqual(["pve1", "pve2", "pve3"]);
    });

    test("a failing step: exit 1, the failed event names the node and the error, the summary lists it", async () => {
        const p = pipe({ fail: (name) => (name === "pve2-services-verify" ? "exit status 70: verify failed on pve2" : undefined) });
        const r = await p.ctl(["up", "--stack", "dev", "--json"]);
        expect(r.code).toBe(1);
        const objs = lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
        const failed = objs.filter((o) => o.type === "step" && o.event === "failed");
        expect(failed.map((o) => [o.node, o.resource, o.error])).toEqual([["pve2", "pve2-services-verify", "exit status 70: verify failed on pve2"]]);
        const last = objs[objs.length - 1];
        expect([last.result, last.failed, last.exitCode, (last.engine as { result: string }).result]).toEqual(["failed", ["pve2-services-verify"], 1, "failed"]);
    });

    test("on a terminal: the progress display per node on stderr, no step lines on stdout", async () => {
        const p = pipe();
        const r = await p.ctl(["up", "--stack", "dev"], { tty: true });
        expect(r.code).toBe(0);
        expect(lines(r.stdout)).toEqual(["pulumi up --stack dev: succeeded (create 8)"]);
        expect(r.stderr).toContain("\x1b[2K");
        // The display's last frame: every node done.
        const frames = r.stderr.split(new RegExp(`${String.fromCharCode(27)}\\[\\d+A`));
        const last = frames[frames.length - 1]
            .split("\n")
            .map((l) => l.replace("\x1b[2K", ""))
            .filter((l) => l !== "");
        // pve1 also runs the cluster's config step, as the writer node.
        expect(last).toEqual(["pve1  ✓ 5 steps done", "pve2  ✓ 4 steps done", "pve3  ✓ 4 steps done", "3 nodes: 3 done"]);
    });

    test("no Pulumi CLI: exit 16 with how to install it, nothing run; --install-cli installs it into .tools/pulumi, then runs", async () => {
        const p = pipe({ cliOnPath: false });
        const r = await p.ctl(["up", "--stack", "dev"]);
        expect(r.code).toBe(16);
        expect(lines(r.stderr).slice(-1)).toEqual([
            `migration-ctl: no Pulumi CLI (none on PATH, none in ${p.repo.path(".tools/pulumi")}): install it (curl -fsSL https://get.pulumi.com | sh; see https://www.pulumi.com/docs/iac/download-install/), or run migration-ctl up --install-cli, which installs it into .tools/pulumi with the Automation API's installer (it downloads from get.pulumi.com)`,
        ]);
        expect(p.runner.calls).toEqual([]);
        const i = await p.ctl(["up", "--stack", "dev", "--install-cli"]);
        expect(i.code).toBe(0);
        expect(lines(i.stderr).filter((l) => l.includes("install"))).toEqual([
            `installing the Pulumi CLI into ${p.repo.path(".tools/pulumi")} with the Automation API's installer (from get.pulumi.com)`,
            `installed pulumi 3.999.0-replay-stand-in into ${p.repo.path(".tools/pulumi")}`,
        ]);
        expect(p.runner.calls.map((c) => [c.op, c.cliRoot ?? null])).toEqual([
            ["install", p.repo.path(".tools/pulumi")],
            ["outputs", p.repo.path(".tools/pulumi")],
            ["up", p.repo.path(".tools/pulumi")],
        ]);
    });

    test("the real Automation API on this machine (no Pulumi CLI): up exits 16 and names the way to install it", async () => {
        expect(spawnSync("sh", ["-c", "command -v pulumi"]).status).not.toBe(0);
        const p = pipe();
        const r = await p.ctl(["up", "--stack", "dev"], { runner: automationRunner() });
        expect(r.code).toBe(16);
        expect(lines(r.stderr).slice(-1)[0]).toMatch(/^migration-ctl: no Pulumi CLI \(none on PATH, none in .*\/\.tools\/pulumi\): install it /);
        expect(await automationRunner().cliVersion(undefined)).toBeUndefined();
    });

    test("a stack other than dev missing from the backend: exit 3 naming the backend, nothing created", async () => {
        const p = pipe();
        const r = await p.ctl(["up", "--stack", "canary-a"], { env: { PULUMI_BACKEND_URL: "file:///nonexistent-backend", PULUMI_CONFIG_PASSPHRASE: "x" } });
        expect([r.code, lines(r.stderr)]).toEqual([
            3,
            [
                "backend: file:///nonexistent-backend (PULUMI_BACKEND_URL)",
                "migration-ctl: stack canary-a does not exist in the backend (file:///nonexistent-backend): check PULUMI_BACKEND_URL or pulumi login; a new ring is created deliberately with pulumi stack init canary-a",
            ],
        ]);
        const plan = await p.ctl(["plan", "--stack", "prod", "--out", "p1"], { env: { PULUMI_CONFIG_PASSPHRASE: "x" } });
        expect([plan.code, lines(plan.stderr).slice(-1)]).toEqual([
            3,
            [
                "migration-ctl: stack prod does not exist in the backend (pulumi login): check PULUMI_BACKEND_URL or pulumi login; a new ring is created deliberately with pulumi stack init prod",
            ],
        ]);
        expect(p.runner.calls.map((c) => [c.op, c.stack])).toEqual([
            ["outputs", "canary-a"],
            ["outputs", "prod"],
        ]);
        expect(fs.existsSync("/nonexistent-backend")).toBe(false);
    });

    test("npm run e2e (test/e2e/run.ts) on this machine, which has no Pulumi CLI: exit 1, saying what it needs", () => {
        const r = spawnSync(path.join(ROOT, "node_modules/.bin/ts-node"), ["--transpile-only", path.join(ROOT, "test/e2e/run.ts")], {
            cwd: ROOT,
            encoding: "utf8",
            env: { PATH: [path.dirname(process.execPath), "/usr/bin", "/bin"].join(":"), HOME: os.tmpdir() },
        });
        expect([r.status, r.stdout, r.stderr]).toEqual([
            1,
            "",
            "e2e: needs the Pulumi CLI (none on PATH, none in .tools/pulumi): https://www.pulumi.com/docs/iac/download-install/\n",
        ]);
    });

    test("another stack without PULUMI_BACKEND_URL uses the CLI's login; a self-managed backend without a passphrase is refused before anything runs", async () => {
        const p = pipe();
        const r = await p.ctl(["up", "--stack", "canary-a"], { env: { PULUMI_BACKEND_URL: "s3://bucket/state" } });
        expect([r.code, lines(r.stderr)]).toEqual([
            2,
            [
                "migration-ctl: stack canary-a: the backend s3://bucket/state keeps secrets with a passphrase: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (only the dev stack, which holds no secret, runs with an empty one)",
            ],
        ]);
        expect(p.runner.calls).toEqual([]);
    });
});

describe("migration-ctl plan --out and apply (replay runner, a stand-in for the CLI)", () => {
    const NOW = "2026-12-07T10:00:00Z";

    /** dev deployed and settled in perl-only, then promoted to `phase` in a commit. */
    async function promoted(p: Pipe, phase = "rust-read-only"): Promise<void> {
        await p.deployed();
        expect((await p.ctl(["phase", "set", phase, "--stack", "dev"])).code).toBe(phase === "rust-read-only" ? 0 : 8);
        if (phase !== "rust-read-only") p.repo.setConfig("dev", "phase", phase);
        p.repo.commit(`dev: ${phase}`);
        p.runner.calls.length = 0;
    }

    test("a promotion: the folder's files, the summary per node with the preview's operations, exit 0 and with --detailed-exitcode 2", async () => {
        const p = pipe();
        await promoted(p);
        const plain = await p.ctl(["plan", "--stack", "dev", "--out", "p0", "--now", NOW]);
        expect(plain.code).toBe(0);
        const r = await p.ctl(["plan", "--stack", "dev", "--out", "p1", "--detailed-exitcode", "--now", NOW]);
        expect(r.code).toBe(2);
        expect(fs.readdirSync(p.repo.path("p1")).sort()).toEqual(["plan-meta.json", "pulumi-plan.json", "summary.json", "summary.txt"]);
        for (const f of ["plan-meta.json", "pulumi-plan.json", "summary.json", "summary.txt"])
            expect([f, (fs.statSync(p.repo.path(`p1/${f}`)).mode & 0o777).toString(8)]).toEqual([f, "600"]);
        const s = p.json("p1/summary.json") as Record<string, any>;
        const identity = { file: "stacks/Pulumi.dev.yaml", commit: p.repo.git("log", "-1", "--format=%H", "--", "stacks/Pulumi.dev.yaml").trim(), dirty: false };
        expect({ ...s, stackFile: { ...s.stackFile, sha256: "-" }, transition: { ...s.transition, fromSource: "-" } }).toEqual({
            schemaVersion: 1,
            command: "plan",
            stack: "dev",
            project: "pve-network-migration",
            createdAt: "2026-12-07T10:00:00.000Z",
            verdict: "changes",
            exitCode: 2,
            planFile: "pulumi-plan.json",
            stackFile: { ...identity, sha256: "-" },
            backend: `file://${p.repo.path(".pulumi-state")}`,
            transition: { from: "perl-only", fromSource: "-", to: "rust-read-only", kind: "promotion", steps: 1, backupRequired: false, restoreRequired: false },
            nodes: [
                {
                    node: "pve1",
                    commands: [
                        { resource: "pve1-snapshot-package-units", steps: ["snapshot", "package", "units"], op: "create" },
                        { resource: "pve1-services-verify", steps: ["services", "verify"], op: "update" },
                    ],
                    clusterCommands: [{ resource: "dev-lab-cluster-config", steps: ["cluster-config"], op: "update" }],
                },
                ...["pve2", "pve3"].map((node) => ({
                    node,
                    commands: [
                        { resource: `${node}-snapshot-package-units`, steps: ["snapshot", "package", "units"], op: "create" },
                        { resource: `${node}-services-verify`, steps: ["services", "verify"], op: "update" },
                    ],
                    clusterCommands: [],
                })),
            ],
            gates: {
                ok: true,
                violations: [],
                warnings: [],
                notes: ["no evidence needed to leave perl-only: pve-migration:gates.requireEvidence is false"],
                evidence: s.gates.evidence,
                upstream: null,
            },
            policies: { passed: true, mandatory: 0, advisory: 0, policiesRun: s.policies.policiesRun, violations: [], errors: [] },
            engine: {
                ran: true,
                result: "succeeded",
                changes: { update: 5, create: 3, delete: 3 },
                message: `pulumi preview --stack dev --save-plan ${p.repo.path("p1/pulumi-plan.json")}: succeeded`,
            },
            restorePreview: { read: false, note: "perl-only -> rust-read-only restores no backup" },
        });
        expect(s.transition.fromSource).toMatch(
            /^deployed, perl-only since 20\d\d-\d\d-\d\dT\d\d:\d\d:\d\dZ \(pulumi stack outputs \(file:\/\/.*\/\.pulumi-state\)\)$/,
        );
        expect(s.policies.policiesRun).toHaveLength(17);
        expect(p.json("p1/plan-meta.json")).toEqual({
            schemaVersion: 1,
            project: "pve-network-migration",
            stack: "dev",
            backendUrl: `file://${p.repo.path(".pulumi-state")}`,
            createdAt: "2026-12-07T10:00:00.000Z",
            stackFile: s.stackFile,
            head: p.repo.git("rev-parse", "HEAD").trim(),
            from: "perl-only",
            to: "rust-read-only",
            deployedOutputsSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
            verdict: "changes",
        });
        const text = fs.readFileSync(p.repo.path("p1/summary.txt"), "utf8");
        expect(text.split("\n").slice(0, 2)).toEqual([
            "plan for dev (pve-network-migration), made 2026-12-07T10:00:00.000Z",
            "verdict: changes: apply this folder with migration-ctl apply (exit 2)",
        ]);
        expect(lines(r.stdout).slice(-1)).toEqual([`written to ${p.repo.path("p1")}`]);
        // Nothing ran on a node.
        expect(p.runner.calls.map((c) => c.op)).toEqual(["outputs", "preview", "outputs", "preview"]);
    });

    test("--json: the planned steps as events, then the summary as the last line", async () => {
        const p = pipe();
        await promoted(p);
        const r = await p.ctl(["plan", "--stack", "dev", "--out", "p1", "--json", "--now", NOW]);
        expect(r.code).toBe(0);
        const objs = lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
        expect(
            objs
                .filter((o) => o.type === "step")
                .map((o) => `${o.event} ${o.resource} ${o.op}`)
                .sort(),
        ).toEqual([
            "planned dev-lab-cluster-config update",
            "planned pve1-package-units delete",
            "planned pve1-services-verify update",
            "planned pve1-snapshot-package-units create",
            "planned pve2-package-units delete",
            "planned pve2-services-verify update",
            "planned pve2-snapshot-package-units create",
            "planned pve3-package-units delete",
            "planned pve3-services-verify update",
            "planned pve3-snapshot-package-units create",
        ]);
        const last = objs[objs.length - 1];
        expect([last.type, last.command, last.verdict, last.exitCode]).toEqual(["summary", "plan", "changes", 0]);
        expect(last).toEqual({ type: "summary", ...p.json("p1/summary.json") });
    });

    test("apply: exactly the saved plan, then refusals of the same plan (outputs changed), another stack, a changed stack file, a plan too old", async () => {
        const p = pipe();
        await promoted(p);
        expect((await p.ctl(["plan", "--stack", "dev", "--out", "p1", "--now", NOW])).code).toBe(0);
        expect((await p.ctl(["plan", "--stack", "dev", "--out", "p2", "--now", NOW])).code).toBe(0);
        const other = await p.ctl(["apply", "p1", "--stack", "canary-a", "--now", "2026-12-07T10:30:00Z"]);
        expect([other.code, lines(other.stderr)]).toEqual([
            15,
            [`migration-ctl: apply: ${p.repo.path("p1")} is not applied`, "  - the plan is for stack dev, not canary-a (--stack)"],
        ]);
        const old = await p.ctl(["apply", "p1", "--now", "2026-12-07T11:00:01Z"]);
        expect([old.code, lines(old.stderr)]).toEqual([
            15,
            [
                `migration-ctl: apply: ${p.repo.path("p1")} is not applied`,
                "  - the plan is 60 minutes old (made 2026-12-07T10:00:00.000Z), older than pve-migration:pipeline.planMaxAgeMinutes 60; plan again",
            ],
        ]);
        const ok = await p.ctl(["apply", "p1", "--now", "2026-12-07T10:59:00Z"]);
        expect([ok.code, lines(ok.stdout).slice(-1)]).toEqual([
            0,
            [`pulumi up --stack dev --plan ${p.repo.path("p1/pulumi-plan.json")}: succeeded (update 5, create 3, delete 3)`],
        ]);
        expect(lines(ok.stderr).slice(-1)).toEqual([
            `pulumi up --stack dev --plan ${p.repo.path("p1/pulumi-plan.json")}: perl-only -> rust-read-only, planned 2026-12-07T10:00:00.000Z`,
        ]);
        for (const n of ["pve1", "pve2", "pve3"])
            expect(fs.readFileSync(p.repo.path(`.sandbox/dev/${n}/var/lib/pve-network-rs/transition.last`), "utf8")).toMatch(/\nto=rust-read-only\n$/);
        // p2 was planned before p1 ran: the stack's outputs changed since.
        const stale = await p.ctl(["apply", "p2", "--now", "2026-12-07T10:59:00Z"]);
        expect([stale.code, lines(stale.stderr)]).toEqual([
            15,
            [
                `migration-ctl: apply: ${p.repo.path("p2")} is not applied`,
                "  - dev's stack outputs changed since the plan (another update ran: its deployed phase is rust-read-only; the plan was made from perl-only); plan again",
            ],
        ]);
        // A plan, then the stack file changes in a new commit.
        expect((await p.ctl(["plan", "--stack", "dev", "--out", "p3", "--now", NOW])).code).toBe(0);
        const planned = p.repo.git("log", "-1", "--format=%H", "--", "stacks/Pulumi.dev.yaml").trim();
        p.repo.setConfig("dev", "backups", { retention: 6 });
        const now = p.repo.commit("dev: keep 6 backups");
        const changed = await p.ctl(["apply", "p3", "--now", NOW]);
        expect(changed.code).toBe(15);
        expect(lines(changed.stderr)[1]).toMatch(
            new RegExp(
                `^  - stacks/Pulumi\\.dev\\.yaml changed since the plan: planned from commit ${planned.slice(0, 12)} \\(sha256 [0-9a-f]{12}\\), now commit ${now.slice(0, 12)} \\(sha256 [0-9a-f]{12}\\); plan again$`,
            ),
        );
        expect(p.runner.calls.filter((c) => c.op === "up").map((c) => path.relative(p.repo.dir, c.plan as string))).toEqual(["p1/pulumi-plan.json"]);
    });

    test("refused by a gate: a promotion over two phases exits 13, the summary says why, no Pulumi plan, Pulumi never ran; apply refuses the folder", async () => {
        const p = pipe();
        await promoted(p, "rust-basic-write");
        const r = await p.ctl(["plan", "--stack", "dev", "--out", "p1", "--detailed-exitcode", "--now", NOW]);
        expect(r.code).toBe(13);
        expect(fs.readdirSync(p.repo.path("p1")).sort()).toEqual(["plan-meta.json", "summary.json", "summary.txt"]);
        const s = p.json("p1/summary.json") as Record<string, any>;
        expect([s.verdict, s.exitCode, s.planFile, s.gates.ok, s.gates.violations, s.engine]).toEqual([
            "refused-by-gate",
            13,
            null,
            false,
            ["pve-migration:phase: promotion from perl-only to rust-basic-write skips 1 phase(s); promote one phase at a time (next: rust-read-only)"],
            { ran: false, result: null, changes: {}, message: "not run: dev: perl-only -> rust-basic-write is refused by a gate" },
        ]);
        expect(p.runner.calls.map((c) => c.op)).toEqual(["outputs"]);
        const a = await p.ctl(["apply", "p1", "--now", NOW]);
        expect([a.code, lines(a.stderr)]).toEqual([
            15,
            [
                `migration-ctl: apply: ${p.repo.path("p1")} is not applied`,
                `  - the plan was refused-by-gate: it holds no plan to apply (see ${p.repo.path("p1/summary.txt")})`,
            ],
        ]);
        // up refuses the same, before Pulumi runs.
        const u = await p.ctl(["up", "--stack", "dev", "--now", NOW]);
        expect([u.code, lines(u.stderr).slice(-2)]).toEqual([
            13,
            [
                "migration-ctl: up: dev: perl-only -> rust-basic-write is refused by a gate; Pulumi did not run",
                "  - pve-migration:phase: promotion from perl-only to rust-basic-write skips 1 phase(s); promote one phase at a time (next: rust-read-only)",
            ],
        ]);
        expect(p.runner.calls.map((c) => c.op)).toEqual(["outputs", "outputs"]);
    });

    test("refused by a change window: exit 13 naming the next window; inside the window it plans", async () => {
        // The program judges windows at its own clock (the runner's), the gates and the policy at --now.
        const p = pipe({ now: new Date("2026-12-12T09:00:00Z") });
        await p.deployed();
        p.repo.write(
            "stacks/Pulumi.dev.yaml",
            `${p.repo.read("stacks/Pulumi.dev.yaml")}  pve-migration:windows:\n    timeZone: UTC\n    weekly:\n      - { days: [sat], start: "08:00", end: "12:00" }\n`,
        );
        p.repo.setPhase("dev", "rust-read-only");
        p.repo.commit("dev: rust-read-only, windows");
        const r = await p.ctl(["plan", "--stack", "dev", "--out", "p1", "--now", NOW]);
        expect(r.code).toBe(13);
        expect((p.json("p1/summary.json") as { gates: { violations: string[] } }).gates.violations).toEqual([
            "pve-migration:windows: a promotion is allowed only inside a change window: mon 2026-12-07 10:00 UTC is outside every weekly change window; the next window opens sat 2026-12-12 08:00 UTC (2026-12-12T08:00:00Z); a rollback is always allowed",
        ]);
        const inside = await p.ctl(["plan", "--stack", "dev", "--out", "p2", "--now", "2026-12-12T09:00:00Z"]);
        expect(inside.code).toBe(0);
    });

    test("refused by the policy pack (the site's --policy-config): exit 14, every mandatory violation in the summary, Pulumi never ran", async () => {
        const p = pipe();
        await promoted(p);
        fs.writeFileSync(path.join(p.repo.aux, "pack.json"), JSON.stringify({ "perl-api": { minTimeoutSeconds: 120 } }));
        const r = await p.ctl(["plan", "--stack", "dev", "--out", "p1", "--now", NOW, "--policy-config", path.join(p.repo.aux, "pack.json")]);
        expect(r.code).toBe(14);
        const s = p.json("p1/summary.json") as Record<string, any>;
        expect([s.verdict, s.gates.ok, s.policies.passed, s.policies.mandatory]).toEqual(["refused-by-policy", true, false, s.policies.violations.length]);
        expect(s.policies.violations.map((v: { policy: string; level: string; message: string }) => `${v.policy} ${v.level}: ${v.message}`)).toEqual([
            "perl-api mandatory: transition record of stack dev: perlApiTimeout must be a whole number of seconds between 120 and 300 (got 60)",
            "perl-api mandatory: /etc/pve/network/migration.toml: perl_api_timeout must be a whole number of seconds between 120 and 300 (got 60)",
        ]);
        expect(p.runner.calls.map((c) => c.op)).toEqual(["outputs"]);
        const u = await p.ctl(["up", "--stack", "dev", "--now", NOW, "--policy-config", path.join(p.repo.aux, "pack.json")]);
        expect([u.code, lines(u.stderr).slice(-3)]).toEqual([
            14,
            [
                "migration-ctl: up: dev: perl-only -> rust-read-only is refused by the policy pack; Pulumi did not run",
                "  - perl-api: transition record of stack dev: perlApiTimeout must be a whole number of seconds between 120 and 300 (got 60)",
                "  - perl-api: /etc/pve/network/migration.toml: perl_api_timeout must be a whole number of seconds between 120 and 300 (got 60)",
            ],
        ]);
    });

    test("a failed preview: exit 1, no Pulumi plan left, apply refuses the folder", async () => {
        const p = pipe({ previewError: "error: an unhandled error occurred: program failed" });
        await promoted(p);
        const r = await p.ctl(["plan", "--stack", "dev", "--out", "p1", "--detailed-exitcode", "--now", NOW]);
        expect(r.code).toBe(1);
        const s = p.json("p1/summary.json") as Record<string, any>;
        expect([s.verdict, s.planFile, s.engine]).toEqual([
            "error",
            null,
            {
                ran: true,
                result: "failed",
                changes: {},
                message: `pulumi preview --stack dev --save-plan ${p.repo.path("p1/pulumi-plan.json")}: error: an unhandled error occurred: program failed`,
            },
        ]);
        expect(fs.existsSync(p.repo.path("p1/pulumi-plan.json"))).toBe(false);
        expect((await p.ctl(["apply", "p1", "--now", NOW])).code).toBe(15);
    });

    test("--read-nodes: a rollback out of a write phase lists, per node, the backup its restore takes and the files it would change", async () => {
        const p = pipe();
        await p.deployed();
        const walk = async (phase: string) => {
            p.repo.setPhase("dev", phase as never);
            p.repo.commit(`dev: ${phase}`);
            expect((await p.ctl(["up", "--stack", "dev"])).code).toBe(0);
            expect((await p.ctl(["up", "--stack", "dev"])).code).toBe(0);
        };
        await walk("rust-read-only");
        await walk("rust-basic-write");
        // A change on pve2 after the backup: the restore would revert it.
        const interfaces = p.repo.path(".sandbox/dev/pve2/etc/network/interfaces");
        fs.appendFileSync(interfaces, "\nauto vmbr7\n");
        p.repo.setPhase("dev", "rust-read-only");
        p.repo.commit("dev: roll back");
        const r = await p.ctl(["plan", "--stack", "dev", "--out", "p1", "--read-nodes"]);
        expect(r.code).toBe(0);
        const s = p.json("p1/summary.json") as Record<string, any>;
        expect([s.transition.kind, s.transition.restoreRequired, s.restorePreview.read]).toEqual(["rollback", true, true]);
        const nodes = s.restorePreview.nodes as { node: string; parts: string[]; backup: string; files: { path: string; change: string }[] }[];
        expect(
            nodes.map((n) => [
                n.node,
                n.parts,
                /^\d{8}T\d{6}Z-[0-9a-f]+$/.test(n.backup),
                n.files.filter((f) => f.change !== "unchanged").map((f) => `${f.path} ${f.change}`),
            ]),
        ).toEqual([
            ["pve1", ["node", "cluster"], true, []],
            ["pve2", ["node"], true, ["/etc/network/interfaces changed"]],
            ["pve3", ["node"], true, []],
        ]);
    });

    test("usage errors name the flag and write nothing", async () => {
        const p = pipe();
        const cases: [string[], string][] = [
            [["plan", "--stack", "dev", "--detailed-exitcode"], "migration-ctl: plan: --detailed-exitcode goes with --out"],
            [
                ["plan", "--stack", "dev", "--out", "p1", "--from", "perl-only"],
                "migration-ctl: plan: --from does not go with --out (a saved plan is from the deployed phase to the configured one)",
            ],
            [["plan", "--stack", "dev", "--out", "p1", "--identity", "k"], "migration-ctl: plan: --identity goes with --read-nodes"],
        ];
        for (const [args, msg] of cases) {
            const r = await p.ctl(args);
            expect([r.code, lines(r.stderr)[0]]).toEqual([2, expect.stringMatching(new RegExp(`^${msg.replace(/[()]/g, "\\$&")}`))]);
        }
        p.repo.write("notes/x.md", "mine");
        const r = await p.ctl(["plan", "--stack", "dev", "--out", "notes"]);
        expect([r.code, lines(r.stderr)]).toEqual([2, [`migration-ctl: --out: ${p.repo.path("notes")} holds other files (x.md): give an empty or new folder`]]);
        expect(fs.existsSync(p.repo.path("p1"))).toBe(false);
        expect(p.runner.calls).toEqual([]);
    });
});

describe("migration-ctl drift after up (replay runner, a stand-in for the CLI; drift reads the sandbox roots itself)", () => {
    test("in step: exit 0; a pending interfaces.new on pve2: exit 12 naming it, 2 with --detailed-exitcode, --json drifted", async () => {
        const p = pipe();
        await p.deployed();
        const source = "configured; the deployed phase is unknown (no pulumi CLI)";
        const clean = await p.ctl(["drift", "--stack", "dev"]);
        expect(clean).toEqual({
            code: 0,
            stdout: [
                `drift of dev against perl-only (${source}):`,
                "  pve1: in step",
                "  pve2: in step",
                "  pve3: in step",
                "result: 0 of 3 node(s) drifted",
                "",
            ].join("\n"),
            stderr: "",
        });
        fs.writeFileSync(p.repo.path(".sandbox/dev/pve2/etc/network/interfaces.new"), "auto vmbr1\n");
        const pending = "/etc/network/interfaces.new is pending (a network change not applied; pvenetcommit would activate it at the next boot)";
        const drifted = await p.ctl(["drift", "--stack", "dev"]);
        expect(drifted).toEqual({
            code: 12,
            stdout: [
                `drift of dev against perl-only (${source}):`,
                "  pve1: in step",
                "  pve2: drifted",
                `    ${pending}`,
                "  pve3: in step",
                "result: 1 of 3 node(s) drifted",
                "",
            ].join("\n"),
            stderr: "",
        });
        const detailed = await p.ctl(["drift", "--stack", "dev", "--detailed-exitcode"]);
        expect([detailed.code, detailed.stdout]).toEqual([2, drifted.stdout]);
        const j = await p.ctl(["drift", "--stack", "dev", "--json", "--detailed-exitcode"]);
        expect(j.code).toBe(2);
        expect(JSON.parse(j.stdout)).toEqual({
            schemaVersion: 1,
            command: "drift",
            stack: "dev",
            phase: "perl-only",
            phaseSource: source,
            drifted: true,
            nodes: [
                { node: "pve1", lastVerified: "perl-only", drift: [] },
                { node: "pve2", lastVerified: "perl-only", drift: [pending] },
                { node: "pve3", lastVerified: "perl-only", drift: [] },
            ],
        });
    });
});
