/**
 * `migration-ctl health`: phase uniformity where a cluster-wide migration config makes it
 * mandatory, ring order (configured and deployed), soak status; exit 1 when something is wrong.
 */
import { EXIT } from "../../components/ctl/errors";
import { HealthReport } from "../../components/ctl/health";
import { TestRepo, evidenceText } from "./helpers";

let repo: TestRepo;
beforeEach(() => {
    repo = new TestRepo();
    repo.setPhases({ "canary-a": "rust-basic-write", "canary-b": "rust-read-only", prod: "perl-only", dev: "perl-only" });
    repo.commit("baseline");
});
afterEach(() => repo.cleanup());

async function health(args: string[] = []): Promise<{ code: number; report: HealthReport }> {
    const r = await repo.ctl(["health", "--json", "--now", "2026-11-01T12:00:00Z", ...args]);
    expect(r.stderr).toBe("");
    return { code: r.code, report: JSON.parse(r.stdout) as HealthReport };
}

/** A second cluster-wide stack of prod's cluster pve-west with its own nodes. */
function addProdB(nodes: string[], phase: string): void {
    let text = repo.read("stacks/Pulumi.prod.yaml");
    text = text.replace(
        /  pve-migration:nodes:\n(    .*\n)+/,
        `  pve-migration:nodes:\n${nodes.map((n, i) => `    - name: ${n}\n      address: 10.30.1.${i + 1}\n      hostKey: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPLACEHOLDERprodB${i}\n`).join("")}`,
    );
    text = text.replace("    writerNode: pve-west-01\n", `    writerNode: ${nodes[0]}\n`);
    repo.write("stacks/Pulumi.prod-b.yaml", text);
    repo.setPhase("prod-b", phase as "perl-only");
}

test("the example rings are healthy: node-scoped canaries may differ, soak reported; no deployed phase known: exit 10, not OK", async () => {
    const { code, report } = await health();
    expect(code).toBe(EXIT.DEPLOYED_UNKNOWN);
    expect([report.status, report.ok]).toEqual(["deployed-unknown", false]);
    expect(report.problems).toEqual([]);
    expect(report.stacks.map((s) => [s.stack, s.phase, s.cluster, s.scope, s.upstream])).toEqual([
        ["canary-a", "rust-basic-write", "pve-east", "node", null],
        ["canary-b", "rust-read-only", "pve-east", "node", "canary-a"],
        ["dev", "perl-only", "dev-lab", "cluster", null],
        ["prod", "perl-only", "pve-west", "cluster", "canary-b"],
    ]);
    const a = report.stacks[0].soak!;
    expect(a).toMatchObject({
        phase: "rust-basic-write",
        requiredSeconds: 604800,
        enteredAt: null,
        enteredAtSource: "unknown",
        soaked: null,
        next: "rust-advanced",
    });
    expect(a.evidence).toMatchObject({ path: "stacks/evidence/canary-a/rust-basic-write.json", required: true, present: false, passed: false });
});

test("soak status from evidence and from the deployed entry time", async () => {
    repo.setPhase("canary-a", "rust-read-only");
    repo.setPhase("canary-b", "perl-only");
    let { report } = await health();
    // The example evidence: entered 2026-10-20T08:00:00Z; now 2026-11-01T12:00:00Z.
    expect(report.stacks[0].soak).toMatchObject({
        phase: "rust-read-only",
        enteredAt: "2026-10-20T08:00:00Z",
        enteredAtSource: "evidence",
        soakedSeconds: 12 * 86400 + 4 * 3600,
        soaked: true,
        next: "rust-basic-write",
    });
    expect(report.stacks[0].soak?.evidence).toMatchObject({ present: true, valid: true, passed: true, soakedSeconds: 95400 });
    const deployed = repo.writeDeployed({ "canary-a": { phase: "rust-read-only", phaseEnteredAt: "2026-11-01T00:00:00Z" } });
    ({ report } = await health(["--deployed-file", deployed]));
    expect(report.stacks[0].soak).toMatchObject({ enteredAt: "2026-11-01T00:00:00Z", enteredAtSource: "deployed", soakedSeconds: 12 * 3600, soaked: false });
});

test("a ring ahead of its upstream (configured) fails", async () => {
    repo.setPhase("canary-b", "rust-advanced");
    const { code, report } = await health();
    expect(code).toBe(EXIT.VIOLATIONS);
    expect(report.problems).toEqual([
        "configured: ring canary-b would be ahead of its upstream canary-a: rust-advanced is after rust-basic-write (roll canary-b back to rust-basic-write, or promote canary-a to rust-advanced)",
    ]);
});

test("a ring level with an unsoaked upstream fails; once the upstream has soaked it is fine", async () => {
    repo.setPhase("canary-b", "rust-basic-write");
    let { code, report } = await health();
    expect(code).toBe(EXIT.VIOLATIONS);
    expect(report.problems).toEqual([
        "configured: ring canary-b must stay at least one phase behind canary-a until canary-a has soaked in rust-basic-write (7d0h), but canary-a's phaseEnteredAt in rust-basic-write is unknown, so its soak cannot be counted: a pulumi up --stack canary-a that completes records it in canary-a's stack outputs; migration-ctl reads it from pulumi stack output, from --deployed-file, or from canary-a's passing evidence stacks/evidence/canary-a/rust-basic-write.json",
    ]);
    const deployed = repo.writeDeployed({
        "canary-a": { phase: "rust-basic-write", phaseEnteredAt: "2026-10-20T00:00:00Z" },
        "canary-b": { phase: "rust-basic-write", phaseEnteredAt: "2026-10-30T00:00:00Z" },
    });
    ({ code, report } = await health(["--deployed-file", deployed]));
    expect(report.problems).toEqual([]);
    expect(code).toBe(EXIT.OK);
});

test("deployed ring order is checked where both deployed phases are known", async () => {
    const deployed = repo.writeDeployed({
        "canary-a": { phase: "rust-read-only", phaseEnteredAt: "2026-10-20T00:00:00Z" },
        "canary-b": { phase: "rust-basic-write", phaseEnteredAt: "2026-10-30T00:00:00Z" },
    });
    const { code, report } = await health(["--deployed-file", deployed]);
    expect(code).toBe(EXIT.VIOLATIONS);
    expect(report.problems).toEqual([
        "deployed: ring canary-b would be ahead of its upstream canary-a: rust-basic-write is after rust-read-only (roll canary-b back to rust-read-only, or promote canary-a to rust-basic-write)",
    ]);
    expect(report.stacks.find((s) => s.stack === "canary-a")?.notes).toContain(
        "configured rust-basic-write, deployed rust-read-only: pending pulumi up --stack canary-a",
    );
});

test("two cluster-wide stacks of one cluster in different phases fail; same phase is fine", async () => {
    addProdB(["pve-west-05", "pve-west-06"], "rust-read-only");
    repo.setConfig("prod-b", "ring", { name: "prod-b" });
    let { code, report } = await health();
    expect(code).toBe(EXIT.VIOLATIONS);
    expect(report.problems).toEqual([
        "cluster pve-west: stacks sharing the cluster-wide migration config are configured in different phases (prod perl-only, prod-b rust-read-only); every node reading one cluster-wide file is in one phase",
    ]);
    repo.setPhase("prod-b", "perl-only");
    ({ code, report } = await health());
    expect([code, report.problems]).toEqual([EXIT.DEPLOYED_UNKNOWN, []]);
    const deployed = repo.writeDeployed({ prod: { phase: "perl-only" }, "prod-b": { phase: "rust-read-only" } });
    ({ code, report } = await health(["--deployed-file", deployed]));
    expect(code).toBe(EXIT.VIOLATIONS);
    expect(report.problems).toEqual([
        "cluster pve-west: stacks sharing the cluster-wide migration config are deployed in different phases (prod perl-only, prod-b rust-read-only)",
    ]);
});

test("a node in two stacks of one cluster, different cluster-wide files, an upstream cycle, a missing upstream", async () => {
    addProdB(["pve-west-04", "pve-west-05"], "perl-only");
    repo.setConfig("prod-b", "migrationConfig", { scope: "cluster", path: "/etc/pve/network/migration-b.toml", writerNode: "pve-west-04" });
    repo.setConfig("canary-a", "ring", { name: "canary-a", upstream: "organization/pve-network-migration/prod" });
    repo.setConfig("dev", "ring", { name: "dev", upstream: "organization/pve-network-migration/staging" });
    const { code, report } = await health();
    expect(code).toBe(EXIT.VIOLATIONS);
    expect(report.problems).toEqual([
        "cluster pve-west: stacks prod, prod-b use different cluster-wide migration configs (/etc/pve/network/migration.toml, /etc/pve/network/migration-b.toml); a cluster has one",
        "cluster pve-west: node pve-west-04 is in stacks prod and prod-b; a node is in exactly one ring",
        "stacks/Pulumi.canary-a.yaml: pve-migration:ring.upstream: rings form a cycle (canary-a -> prod -> canary-b -> canary-a)",
        "stacks/Pulumi.canary-b.yaml: pve-migration:ring.upstream: rings form a cycle (canary-b -> canary-a -> prod -> canary-b)",
        "stacks/Pulumi.dev.yaml: pve-migration:ring.upstream: organization/pve-network-migration/staging names stack staging, which has no stacks/Pulumi.staging.yaml",
        "stacks/Pulumi.prod.yaml: pve-migration:ring.upstream: rings form a cycle (prod -> canary-b -> canary-a -> prod)",
    ]);
});

test("malformed and invalid stack files and invalid evidence are problems", async () => {
    repo.write("stacks/Pulumi.dev.yaml", "config: [\n");
    repo.setConfig("prod", "backups", { retention: 0 });
    repo.write("stacks/evidence/canary-b/rust-read-only.json", '{"schemaVersion": 2}\n');
    const { code, report } = await health();
    expect(code).toBe(EXIT.VIOLATIONS);
    expect(report.problems[0]).toBe(
        "stacks/evidence/canary-b/rust-read-only.json: not valid evidence: schemaVersion: Invalid literal value, expected 1; stack: Required; nodes: Required; phase: Required; phaseEnteredAt: Required; collectedAt: Required; contractTests: Required; metrics: Required",
    );
    expect(report.problems.slice(1)).toEqual([
        "stacks/Pulumi.dev.yaml: malformed YAML at line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]",
        "stacks/Pulumi.prod.yaml: pve-migration:backups.retention: must keep at least 1 backup",
    ]);
});

test("text report", async () => {
    repo.setPhase("canary-b", "rust-advanced");
    repo.writeEvidence(
        "canary-a",
        "rust-basic-write",
        evidenceText({
            stack: "canary-a",
            phase: "rust-basic-write",
            nodes: ["pve-east-01"],
            enteredAt: "2026-10-20T00:00:00Z",
            collectedAt: "2026-10-30T00:00:00Z",
        }),
    );
    const r = await repo.ctl(["health", "--now", "2026-11-01T12:00:00Z", "--deployed-file", repo.writeDeployed({})]);
    expect(r.code).toBe(EXIT.VIOLATIONS);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe("migration-ctl health (now 2026-11-01T12:00:00.000Z)");
    expect(lines).toContain("canary-a  rust-basic-write  deployed: unknown (not in --deployed-file)  [cluster pve-east, node-scoped, 1 node(s)]");
    expect(lines).toContain(
        "  soak: in rust-basic-write since 2026-10-20T00:00:00Z (evidence): 12d12h of 7d0h, soaked; next rust-advanced: evidence passes: stacks/evidence/canary-a/rust-basic-write.json (soaked 10d0h of 7d0h)",
    );
    expect(lines.slice(-5)).toEqual([
        "problems:",
        "  - configured: ring canary-b would be ahead of its upstream canary-a: rust-advanced is after rust-basic-write (roll canary-b back to rust-basic-write, or promote canary-a to rust-advanced)",
        "",
        "result: FAILED: 1 problem(s) (deployed phase unknown for every stack: not checked)",
        "",
    ]);
});

describe("health with every, some or no deployed phase known", () => {
    const configured = {
        "canary-a": { phase: "rust-basic-write" },
        "canary-b": { phase: "rust-read-only" },
        dev: { phase: "perl-only" },
        prod: { phase: "perl-only" },
    };

    test("none known: the text says UNKNOWN and why, not OK; exit 10", async () => {
        const r = await repo.ctl(["health", "--now", "2026-11-01T12:00:00Z"]);
        expect([r.code, r.stderr]).toEqual([EXIT.DEPLOYED_UNKNOWN, ""]);
        expect(r.stdout.split("\n").slice(-2)).toEqual([
            "result: UNKNOWN: the configured phases are consistent, but the deployed phase of every stack is unknown (no pulumi CLI), so nothing deployed was checked: put the pulumi CLI on PATH (logged in to the stacks' backend) or pass --deployed-file FILE",
            "",
        ]);
    });

    test("all known: OK, exit 0", async () => {
        const r = await repo.ctl(["health", "--now", "2026-11-01T12:00:00Z", "--deployed-file", repo.writeDeployed(configured)]);
        expect([r.code, r.stderr, r.stdout.split("\n").slice(-2)]).toEqual([EXIT.OK, "", ["result: OK", ""]]);
        const j = await health(["--deployed-file", repo.writeDeployed(configured)]);
        expect([j.code, j.report.status, j.report.ok]).toEqual([EXIT.OK, "ok", true]);
    });

    test("some known: OK, exit 0, naming the stacks whose deployed phase was not checked", async () => {
        const { dev: _dev, prod: _prod, ...some } = configured;
        const r = await repo.ctl(["health", "--now", "2026-11-01T12:00:00Z", "--deployed-file", repo.writeDeployed(some)]);
        expect([r.code, r.stderr, r.stdout.split("\n").slice(-2)]).toEqual([EXIT.OK, "", ["result: OK (deployed phase unknown for dev, prod: not checked)", ""]]);
    });
});
