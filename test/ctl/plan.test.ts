/**
 * `migration-ctl plan`: which nodes change and the steps on each, in order, with the
 * from-phase taken from the deployed state, --from, or --base (and said which).
 */
import { EXIT } from "../../components/ctl/errors";
import { PlanJson } from "../../components/ctl/render";
import { planSteps } from "../../components/plan";
import { NODES, TestRepo } from "./helpers";

let repo: TestRepo;
beforeEach(() => {
    repo = new TestRepo();
    repo.setPhases({ "canary-a": "rust-basic-write", "canary-b": "rust-read-only", prod: "perl-only", dev: "perl-only" });
    repo.commit("baseline");
});
afterEach(() => repo.cleanup());

async function planJson(args: string[]): Promise<PlanJson> {
    const r = await repo.ctl(["plan", "--json", ...args]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(EXIT.OK);
    return JSON.parse(r.stdout) as PlanJson;
}

/** Every step comes after the steps it depends on, in the order printed (nodes, then cluster steps)? */
function orderRespected(p: PlanJson): boolean {
    const order = [...p.nodes.flatMap((n) => n.steps), ...p.clusterSteps];
    const pos = new Map(order.map((s, i) => [s.id, i]));
    // Node lists are per node; within one node a step never precedes its same-node dependencies.
    return (
        p.nodes.every((n) => n.steps.every((s, i) => s.dependsOn.every((d) => !n.steps.some((x, j) => x.id === d && j > i)))) &&
        order.every((s) => s.dependsOn.every((d) => pos.has(d)))
    );
}

test("a node-scoped canary promotion from --from: snapshot, package, units, config, services, verify", async () => {
    const p = await planJson(["--stack", "canary-b", "--from", "perl-only"]);
    expect(p).toMatchObject({
        stack: "canary-b",
        cluster: "pve-east",
        scope: "node",
        writerNode: "pve-east-02",
        from: "perl-only",
        fromSource: "--from; deployed unknown (no pulumi CLI)",
        to: "rust-read-only",
        toSource: "configured in stacks/Pulumi.canary-b.yaml",
        transition: { kind: "promotion", steps: 1, backupRequired: false, restoreRequired: false },
        changingNodes: ["pve-east-02"],
        clusterSteps: [],
    });
    expect(p.nodes).toEqual([
        {
            node: "pve-east-02",
            steps: [
                { id: "pve-east-02-snapshot", kind: "snapshot", dependsOn: [] },
                { id: "pve-east-02-package", kind: "package", dependsOn: ["pve-east-02-snapshot"] },
                { id: "pve-east-02-units", kind: "units", dependsOn: ["pve-east-02-snapshot"] },
                { id: "pve-east-02-config", kind: "config", dependsOn: ["pve-east-02-package", "pve-east-02-units"] },
                { id: "pve-east-02-services", kind: "services", dependsOn: ["pve-east-02-config"] },
                { id: "pve-east-02-verify", kind: "verify", dependsOn: ["pve-east-02-services"] },
            ],
        },
    ]);
    expect(p.criticalPath).toEqual(["pve-east-02-snapshot", "pve-east-02-package", "pve-east-02-config", "pve-east-02-services", "pve-east-02-verify"]);
    expect(orderRespected(p)).toBe(true);
});

test("a cluster-wide rollback from the deployed phase: every node, restore, one cluster config and restore", async () => {
    const deployed = repo.writeDeployed({ prod: { phase: "rust-sdn", phaseEnteredAt: "2026-10-01T00:00:00Z" } });
    const p = await planJson(["--stack", "prod", "--deployed-file", deployed]);
    expect(p.from).toBe("rust-sdn");
    expect(p.fromSource).toBe("deployed, rust-sdn since 2026-10-01T00:00:00Z (--deployed-file)");
    expect(p.transition).toEqual({ kind: "rollback", steps: -4, backupRequired: true, restoreRequired: true });
    expect(p.changingNodes).toEqual(NODES.prod);
    for (const n of p.nodes) {
        expect(n.steps.map((s) => s.kind)).toEqual(["snapshot", "services", "package", "units", "restore", "legacy-apply", "network-confirm", "verify"]);
        expect(n.steps.find((s) => s.kind === "services")?.dependsOn).toEqual(["pve-west-cluster-config"]);
    }
    expect(p.clusterSteps).toEqual([
        { id: "pve-west-cluster-config", kind: "cluster-config", node: "pve-west-01", dependsOn: NODES.prod.map((n) => `${n}-snapshot`) },
        { id: "pve-west-cluster-restore", kind: "cluster-restore", node: "pve-west-01", dependsOn: ["pve-west-cluster-config"] },
    ]);
    // Exactly the plan the program registers (components/plan), nothing dropped or added.
    const expected = planSteps({ cluster: "pve-west", from: "rust-sdn", to: "perl-only", nodes: NODES.prod, scope: "cluster", writerNode: "pve-west-01" });
    expect([...p.nodes.flatMap((n) => n.steps.map((s) => s.id)), ...p.clusterSteps.map((s) => s.id)].sort()).toEqual(expected.steps.map((s) => s.id).sort());
    expect(orderRespected(p)).toBe(true);
});

test("--base takes the from-phase from the stack file at that revision", async () => {
    repo.setPhase("canary-a", "rust-advanced");
    const p = await planJson(["--stack", "canary-a", "--base", "main"]);
    expect([p.from, p.fromSource, p.to]).toEqual(["rust-basic-write", "configured at main", "rust-advanced"]);
    expect(p.transition.kind).toBe("promotion");
});

test("--base for a stack that did not exist there: from perl-only, said so", async () => {
    repo.write("stacks/Pulumi.canary-c.yaml", repo.read("stacks/Pulumi.canary-b.yaml").replace(/pve-east-02/g, "pve-east-03"));
    const p = await planJson(["--stack", "canary-c", "--base", "main"]);
    expect([p.from, p.fromSource]).toEqual(["perl-only", "stacks/Pulumi.canary-c.yaml does not exist at main: a new stack starts from perl-only"]);
});

test("no change: no node changes phase, steps re-run idempotently", async () => {
    const p = await planJson(["--stack", "dev", "--from", "perl-only"]);
    expect(p.transition.kind).toBe("none");
    expect(p.changingNodes).toEqual([]);
    expect(p.nodes[0].steps.map((s) => s.kind)).toEqual(["package", "units", "services", "verify"]);
});

test("--to plans towards another phase; the deployed phase wins over --from, with a note", async () => {
    const deployed = repo.writeDeployed({ "canary-a": { phase: "rust-basic-write", phaseEnteredAt: "2026-10-01T00:00:00Z" } });
    const r = await repo.ctl(["plan", "--json", "--stack", "canary-a", "--to", "perl-only", "--from", "rust-sdn", "--deployed-file", deployed]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stderr).toBe("note: --from rust-sdn ignored: the deployed phase is known (rust-basic-write)\n");
    const p = JSON.parse(r.stdout) as PlanJson;
    expect([p.from, p.to, p.toSource]).toEqual(["rust-basic-write", "perl-only", "--to"]);
});

test("without a deployed phase, --from or --base: exit 2, saying what to give", async () => {
    expect(await repo.ctl(["plan", "--stack", "canary-a"])).toEqual({
        code: EXIT.USAGE,
        stdout: "",
        stderr: "migration-ctl: plan: the deployed phase of canary-a is unknown (no pulumi CLI); give --from PHASE or --base REV\n",
    });
});

test("text output", async () => {
    const r = await repo.ctl(["plan", "--stack", "canary-b", "--from", "rust-basic-write"]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.stdout).toBe(
        [
            "plan for canary-b: cluster pve-east, migration config node-scoped",
            "from: rust-basic-write (--from; deployed unknown (no pulumi CLI))",
            "to:   rust-read-only (configured in stacks/Pulumi.canary-b.yaml)",
            "transition: rollback, 1 phase(s); verified backup first; restores the latest verified backup; every step below runs",
            "nodes changing: pve-east-02",
            "",
            "pve-east-02:",
            "   1. pve-east-02-snapshot         snapshot",
            "   2. pve-east-02-config           config           after pve-east-02-snapshot",
            "   3. pve-east-02-services         services         after pve-east-02-config",
            "   4. pve-east-02-package          package          after pve-east-02-services",
            "   5. pve-east-02-units            units            after pve-east-02-services",
            "   6. pve-east-02-restore          restore          after pve-east-02-services",
            "   7. pve-east-02-legacy-apply     legacy-apply     after pve-east-02-restore, pve-east-cluster-restore",
            "   8. pve-east-02-network-confirm  network-confirm  after pve-east-02-legacy-apply",
            "   9. pve-east-02-verify           verify           after pve-east-02-network-confirm, pve-east-02-package, pve-east-02-units",
            "cluster pve-east (once, through pve-east-02):",
            "   1. pve-east-cluster-restore     cluster-restore  after pve-east-02-services",
            "",
            "critical path (7 steps): pve-east-02-snapshot -> pve-east-02-config -> pve-east-02-services -> pve-east-02-restore -> pve-east-02-legacy-apply -> pve-east-02-network-confirm -> pve-east-02-verify",
            "",
            "commands (one resource each, its steps in this order; a failed one runs again whole, its finished steps find nothing to do):",
            "  pve-east-02-snapshot-config-services-package-units-restore  pve-east-02-snapshot, pve-east-02-config, pve-east-02-services, pve-east-02-package, pve-east-02-units, pve-east-02-restore",
            "  pve-east-cluster-restore                                    pve-east-cluster-restore  after pve-east-02-snapshot-config-services-package-units-restore",
            "  pve-east-02-legacy-apply                                    pve-east-02-legacy-apply  after pve-east-02-snapshot-config-services-package-units-restore, pve-east-cluster-restore",
            "  pve-east-02-network-confirm-verify                          pve-east-02-network-confirm, pve-east-02-verify  after pve-east-02-legacy-apply, pve-east-02-snapshot-config-services-package-units-restore",
            "",
        ].join("\n"),
    );
});

describe("a last update that did not complete (outputs with an attempt, as the program writes them)", () => {
    // prod's outputs after a rollback rust-full -> perl-only failed half-way: the previous outputs,
    // with the failed run's attempt copied over them.
    const failedRollback = {
        prod: {
            phase: "rust-full",
            phaseEnteredAt: "2026-10-01T00:00:00Z",
            transition: { from: "rust-sdn", to: "rust-full", kind: "promotion", id: "0ld00000" },
            nodes: ["pve-west-01", "pve-west-02", "pve-west-03", "pve-west-04"],
            attempt: { from: "rust-full", to: "perl-only", id: "f00d0001", fromEnteredAt: "2026-10-01T00:00:00Z", floor: "perl-only", ceiling: "rust-full" },
        },
    };
    const source = "--deployed-file; the last update from rust-full to perl-only did not complete: nodes between perl-only and rust-full, taken as perl-only";

    test("the configured target of the attempt resumes it: the plan is the attempt's own", async () => {
        const p = await planJson(["--stack", "prod", "--deployed-file", repo.writeDeployed(failedRollback)]);
        expect([p.from, p.fromSource, p.to, p.transition.kind]).toEqual([
            "rust-full",
            `resuming the last update, which did not complete (${source})`,
            "perl-only",
            "rollback",
        ]);
    });

    test("any other target is refused as pulumi up refuses it (exit 8)", async () => {
        const r = await repo.ctl(["plan", "--stack", "prod", "--to", "rust-sdn", "--deployed-file", repo.writeDeployed(failedRollback)]);
        expect(r).toEqual({
            code: EXIT.REFUSED,
            stdout: "",
            stderr: "migration-ctl: plan: prod: pulumi up would refuse this: the last update (from rust-full to perl-only, transition f00d0001) did not complete on every node, so nodes may be anywhere between perl-only and rust-full: set the phase to perl-only to finish it\n",
        });
    });

    test("after a failed promotion, a rollback target is planned from the highest phase a node may be in", async () => {
        const failedPromotion = {
            prod: {
                phase: "rust-read-only",
                phaseEnteredAt: "2026-10-01T00:00:00Z",
                transition: { id: "0ld00000" },
                attempt: {
                    from: "rust-read-only",
                    to: "rust-basic-write",
                    id: "f00d0002",
                    fromEnteredAt: "2026-10-01T00:00:00Z",
                    floor: "rust-read-only",
                    ceiling: "rust-basic-write",
                },
            },
        };
        const p = await planJson(["--stack", "prod", "--to", "rust-read-only", "--deployed-file", repo.writeDeployed(failedPromotion)]);
        expect([p.from, p.to, p.transition.kind, p.transition.restoreRequired]).toEqual(["rust-basic-write", "rust-read-only", "rollback", true]);
        expect(p.fromSource).toBe(
            "rolling back the last update, which did not complete (--deployed-file; the last update from rust-read-only to rust-basic-write did not complete: nodes between rust-read-only and rust-basic-write, taken as rust-read-only)",
        );
    });
});

test("a transition pulumi up refuses (perl-only -> rust-full) prints no plan: exit 8 with the reason", async () => {
    expect(await repo.ctl(["plan", "--stack", "canary-a", "--from", "perl-only", "--to", "rust-full"])).toEqual({
        code: EXIT.REFUSED,
        stdout: "",
        stderr: "migration-ctl: plan: canary-a perl-only -> rust-full is refused: promotion from perl-only to rust-full skips 4 phase(s); promote one phase at a time (next: rust-read-only); pulumi up --stack canary-a stops before any step runs, so there is no plan to show\n",
    });
    expect(await repo.ctl(["plan", "--json", "--stack", "canary-a", "--from", "rust-read-only", "--to", "rust-advanced"])).toEqual({
        code: EXIT.REFUSED,
        stdout: "",
        stderr: "migration-ctl: plan: canary-a rust-read-only -> rust-advanced is refused: promotion from rust-read-only to rust-advanced skips 1 phase(s); promote one phase at a time (next: rust-basic-write); pulumi up --stack canary-a stops before any step runs, so there is no plan to show\n",
    });
});

describe("--read-nodes: what a rollback's restore would revert, read from each node (the dev stack's sandbox roots)", () => {
    test("--identity without --read-nodes is a usage error", async () => {
        expect(await repo.ctl(["plan", "--stack", "dev", "--from", "rust-basic-write", "--identity", "key"])).toEqual({
            code: EXIT.USAGE,
            stdout: "",
            stderr: "migration-ctl: plan: --identity goes with --read-nodes (see migration-ctl plan --help)\n",
        });
    });

    test("a transition that restores nothing reads nothing and says so", async () => {
        const r = await repo.ctl(["plan", "--json", "--stack", "dev", "--from", "rust-read-only", "--read-nodes"]);
        expect(r.code).toBe(EXIT.OK);
        const p = JSON.parse(r.stdout) as PlanJson & { restorePreview: unknown[]; restorePreviewNote: string };
        expect([p.restorePreview, p.restorePreviewNote]).toEqual([[], "rust-read-only -> perl-only restores no backup: nothing to read from the nodes"]);
    });

    test("a node that cannot be read is named in the plan, and the exit status is 1", async () => {
        const r = await repo.ctl(["plan", "--stack", "dev", "--from", "rust-basic-write", "--read-nodes"]);
        expect(r.code).toBe(EXIT.VIOLATIONS);
        const sandbox = repo.path(".sandbox/dev");
        expect(r.stdout.slice(r.stdout.indexOf("\nwhat the restore will revert"))).toBe(
            [
                "",
                "what the restore will revert (read from each node now, read only):",
                ...["pve1", "pve2", "pve3"].map(
                    (n) => `  ${n}: not read: node ${n}: sandbox root ${sandbox}/${n} (pve-migration:sandboxDir/<node>) is not a folder`,
                ),
                "",
            ].join("\n"),
        );
    });
});

describe("drift (the dev stack's sandbox roots not made: every node not read)", () => {
    test("text: each node named with why; exit 1; --json the same", async () => {
        const r = await repo.ctl(["drift", "--stack", "dev"]);
        const sandbox = repo.path(".sandbox/dev");
        expect(r).toEqual({
            code: EXIT.VIOLATIONS,
            stdout: [
                "drift of dev against perl-only (configured; the deployed phase is unknown (no pulumi CLI)):",
                ...["pve1", "pve2", "pve3"].map(
                    (n) => `  ${n}: not read: node ${n}: sandbox root ${sandbox}/${n} (pve-migration:sandboxDir/<node>) is not a folder`,
                ),
                "result: 0 of 3 node(s) drifted, 3 not read",
                "",
            ].join("\n"),
            stderr: "",
        });
        const j = await repo.ctl(["drift", "--stack", "dev", "--json"]);
        expect(JSON.parse(j.stdout)).toMatchObject({ schemaVersion: 1, command: "drift", stack: "dev", phase: "perl-only", drifted: false });
    });
});
