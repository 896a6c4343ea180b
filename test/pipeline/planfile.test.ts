/**
 * Pure parts of the pipeline: the backend and CLI environment (components/pipeline/backend.ts),
 * the saved plan's folder and its refusals (planfile.ts), the summary's nodes and text (summary.ts).
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CliError } from "../../cli/errors";
import { backendFor } from "../../components/pipeline/backend";
import { META_FILE, PULUMI_PLAN_FILE, PlanMeta, planRefusals, preparePlanDir, readPlanMeta, writePlanFile } from "../../components/pipeline/planfile";
import { hasChanges, summaryNodes } from "../../components/pipeline/summary";
import { planCommands, planSteps } from "../../components/plan";

function caught(f: () => unknown): CliError {
    try {
        f();
    } catch (e) {
        if (e instanceof CliError) return e;
        throw e;
    }
    throw new Error("did not throw");
}

describe("backend and CLI environment", () => {
    test("dev without PULUMI_BACKEND_URL: the project's local file backend and an empty passphrase, both said", () => {
        expect(backendFor("/p", "dev", {})).toEqual({
            url: "file:///p/.pulumi-state",
            projectLocal: true,
            dir: "/p/.pulumi-state",
            envVars: { PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_BACKEND_URL: "file:///p/.pulumi-state", PULUMI_CONFIG_PASSPHRASE: "" },
            notes: [
                "backend: file:///p/.pulumi-state (the project's local file backend for dev; set PULUMI_BACKEND_URL for another)",
                "secrets: an empty passphrase (the dev stack holds no secret; set PULUMI_CONFIG_PASSPHRASE to use your own)",
            ],
        });
    });

    test("dev with a passphrase of its own (even an empty one) keeps it; PULUMI_BACKEND_URL wins", () => {
        const b = backendFor("/p", "dev", { PULUMI_BACKEND_URL: "file://~/state", HOME: "/home/op", PULUMI_CONFIG_PASSPHRASE: "" });
        expect(b).toEqual({
            url: "file://~/state",
            projectLocal: false,
            dir: "/home/op/state",
            envVars: { PULUMI_SKIP_UPDATE_CHECK: "true", PULUMI_BACKEND_URL: "file://~/state" },
            notes: ["backend: file://~/state (PULUMI_BACKEND_URL)"],
        });
    });

    test("another stack without PULUMI_BACKEND_URL: the CLI's login, never a fresh local state", () => {
        expect(backendFor("/p", "prod", {})).toEqual({
            url: "pulumi login",
            projectLocal: false,
            envVars: { PULUMI_SKIP_UPDATE_CHECK: "true" },
            notes: ["backend: the Pulumi CLI's login (pulumi login; or set PULUMI_BACKEND_URL)"],
        });
    });

    test("another stack on a self-managed backend without a passphrase: refused, naming both variables", () => {
        const e = caught(() => backendFor("/p", "prod", { PULUMI_BACKEND_URL: "s3://bucket/state" }));
        expect([e.code, e.message]).toEqual([
            2,
            "stack prod: the backend s3://bucket/state keeps secrets with a passphrase: set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE (only the dev stack, which holds no secret, runs with an empty one)",
        ]);
        expect(backendFor("/p", "prod", { PULUMI_BACKEND_URL: "s3://bucket/state", PULUMI_CONFIG_PASSPHRASE_FILE: "/run/pp" }).envVars).toEqual({
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_BACKEND_URL: "s3://bucket/state",
        });
        expect(backendFor("/p", "prod", { PULUMI_BACKEND_URL: "s3://bucket/state" }, "awskms://alias/x").envVars).toEqual({
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_BACKEND_URL: "s3://bucket/state",
        });
        expect(backendFor("/p", "prod", { PULUMI_BACKEND_URL: "https://api.pulumi.com" }).envVars).toEqual({
            PULUMI_SKIP_UPDATE_CHECK: "true",
            PULUMI_BACKEND_URL: "https://api.pulumi.com",
        });
    });
});

describe("the saved plan's folder", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "planfile-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const meta = (over: Partial<PlanMeta> = {}): PlanMeta => ({
        schemaVersion: 1,
        project: "pve-network-migration",
        stack: "canary-a",
        backendUrl: "s3://b",
        createdAt: "2026-12-07T10:00:00Z",
        stackFile: { file: "stacks/Pulumi.canary-a.yaml", sha256: "a".repeat(64), commit: "c".repeat(40), dirty: false },
        head: "d".repeat(40),
        from: "perl-only",
        to: "rust-read-only",
        deployedOutputsSha256: null,
        verdict: "changes",
        ...over,
    });
    const current = {
        project: "pve-network-migration",
        backendUrl: "s3://b",
        stackFile: { sha256: "a".repeat(64), commit: "c".repeat(40) },
        now: new Date("2026-12-07T10:30:00Z"),
        maxAgeMinutes: 60,
    };

    test("a new folder is created; a previous plan's files are removed; a folder with other files is refused and left alone", () => {
        const out = path.join(dir, "plan");
        preparePlanDir(out, "--out");
        writePlanFile(out, PULUMI_PLAN_FILE, "{}");
        writePlanFile(out, META_FILE, "{}");
        expect((fs.statSync(path.join(out, META_FILE)).mode & 0o777).toString(8)).toBe("600");
        preparePlanDir(out, "--out");
        expect(fs.readdirSync(out)).toEqual([]);
        fs.writeFileSync(path.join(out, "notes.md"), "mine");
        const e = caught(() => preparePlanDir(out, "--out"));
        expect([e.code, e.message]).toEqual([2, `--out: ${out} holds other files (notes.md): give an empty or new folder`]);
        expect(fs.readdirSync(out)).toEqual(["notes.md"]);
    });

    test("plan-meta.json missing or malformed: refused with exit 15, naming the file", () => {
        let e = caught(() => readPlanMeta(dir));
        expect([e.code, e.message]).toEqual([15, `apply: ${path.join(dir, META_FILE)} is missing: ${dir} is not a folder written by migration-ctl plan --out`]);
        fs.writeFileSync(path.join(dir, META_FILE), JSON.stringify({ ...meta(), stack: 3 }));
        e = caught(() => readPlanMeta(dir));
        expect([e.code, e.message]).toEqual([15, `apply: ${path.join(dir, META_FILE)} is not a plan-meta.json of schemaVersion 1 (bad stack)`]);
        fs.writeFileSync(path.join(dir, META_FILE), JSON.stringify(meta()));
        expect(readPlanMeta(dir)).toEqual(meta());
    });

    test("a plan that still holds applies; every reason it does not is listed", () => {
        fs.writeFileSync(path.join(dir, PULUMI_PLAN_FILE), "{}");
        expect(planRefusals(meta(), dir, current)).toEqual([]);
        expect(planRefusals(meta(), dir, { ...current, now: new Date("2026-12-07T11:00:00Z") })).toEqual([]);
        expect(
            planRefusals(meta(), dir, {
                ...current,
                project: "other",
                stack: "prod",
                backendUrl: "file:///x",
                stackFile: { sha256: "b".repeat(64), commit: "e".repeat(40) },
                now: new Date("2026-12-07T11:00:01Z"),
            }),
        ).toEqual([
            "the plan is for project pve-network-migration, this is other",
            "the plan is for stack canary-a, not prod (--stack)",
            "the plan was made against the backend s3://b, this run uses file:///x",
            "stacks/Pulumi.canary-a.yaml changed since the plan: planned from commit cccccccccccc (sha256 aaaaaaaaaaaa), now commit eeeeeeeeeeee (sha256 bbbbbbbbbbbb); plan again",
            "the plan is 60 minutes old (made 2026-12-07T10:00:00Z), older than pve-migration:pipeline.planMaxAgeMinutes 60; plan again",
        ]);
    });

    test("the same text at another commit is refused; an uncommitted plan's text committed unchanged applies", () => {
        fs.writeFileSync(path.join(dir, PULUMI_PLAN_FILE), "{}");
        expect(planRefusals(meta(), dir, { ...current, stackFile: { sha256: "a".repeat(64), commit: "f".repeat(40) } })).toEqual([
            "stacks/Pulumi.canary-a.yaml is at another commit than the plan's: planned at cccccccccccc, now ffffffffffff; plan again",
        ]);
        const dirty = meta({ stackFile: { ...meta().stackFile, dirty: true } });
        expect(planRefusals(dirty, dir, { ...current, stackFile: { sha256: "a".repeat(64), commit: "f".repeat(40) } })).toEqual([]);
    });

    test("a refused plan, a missing Pulumi plan file, a clock behind the plan", () => {
        expect(planRefusals(meta({ verdict: "refused-by-gate" }), dir, current)).toEqual([
            `the plan was refused-by-gate: it holds no plan to apply (see ${path.join(dir, "summary.txt")})`,
        ]);
        expect(planRefusals(meta(), dir, current)).toEqual([`${path.join(dir, PULUMI_PLAN_FILE)} is missing`]);
        fs.writeFileSync(path.join(dir, PULUMI_PLAN_FILE), "{}");
        expect(planRefusals(meta(), dir, { ...current, now: new Date("2026-12-07T09:54:00Z") })).toEqual([
            "the plan was made 2026-12-07T10:00:00Z, in the future of this clock (2026-12-07T09:54:00.000Z); check the clocks",
        ]);
    });
});

describe("the summary's steps per node", () => {
    const plan = planSteps({
        cluster: "c1",
        from: "perl-only",
        to: "rust-read-only",
        nodes: ["pve1", "pve2"],
        scope: "cluster",
        writerNode: "pve1",
        haMaintenance: false,
    });
    const commands = planCommands(plan);

    test("the step commands the program registered, with the preview's op (same when the preview did not name it)", () => {
        expect(commands.map((c) => c.id)).toEqual([
            "pve1-snapshot-package-units",
            "pve2-snapshot-package-units",
            "c1-cluster-config",
            "pve1-services-verify",
            "pve2-services-verify",
        ]);
        const registered = [
            { type: "pve-migration:node:Backups", name: "pve1-backups" },
            { type: "command:local:Command", name: "pve1-snapshot-package-units" },
            { type: "command:local:Command", name: "c1-cluster-config" },
            { type: "command:local:Command", name: "pve1-services-verify" },
            { type: "command:local:Command", name: "pve2-services-verify" },
            { type: "random:index/randomId:RandomId", name: "c1-transition" },
        ];
        const ops = new Map([
            ["pve1-snapshot-package-units", "create"],
            ["c1-cluster-config", "update"],
            ["pve1-services-verify", "create"],
        ]);
        expect(summaryNodes(["pve1", "pve2"], commands, registered, ops)).toEqual([
            {
                node: "pve1",
                commands: [
                    { resource: "pve1-snapshot-package-units", steps: ["snapshot", "package", "units"], op: "create" },
                    { resource: "pve1-services-verify", steps: ["services", "verify"], op: "create" },
                ],
                clusterCommands: [{ resource: "c1-cluster-config", steps: ["cluster-config"], op: "update" }],
            },
            { node: "pve2", commands: [{ resource: "pve2-services-verify", steps: ["services", "verify"], op: "same" }], clusterCommands: [] },
        ]);
        expect(summaryNodes(["pve2"], commands, registered, undefined)).toEqual([
            { node: "pve2", commands: [{ resource: "pve2-services-verify", steps: ["services", "verify"], op: null }], clusterCommands: [] },
        ]);
    });

    test("changes: anything but same", () => {
        expect([hasChanges({}), hasChanges({ same: 9 }), hasChanges({ same: 9, create: 0 }), hasChanges({ same: 1, update: 1 })]).toEqual([
            false,
            false,
            false,
            true,
        ]);
    });
});
