/**
 * The whole pack over the real program's registrations (in-process offline check): every
 * example stack passes, and each unsafe change is blocked with the right policy named even
 * though the program's own guards are off.
 */
import { checkStack, evaluateStack, CheckResult } from "../../cli/policy-check/check";
import { PHASES } from "../../components/phases";
import { DAY, PROJECT_DIR, STACKS, byName, commandOf, dropStep, isoAgo, record, stackConfig, summary } from "./helpers";
import { parseCommand } from "../../components/scripts";

const mandatory = (r: CheckResult) => summary(r.violations.filter((v) => v.enforcementLevel === "mandatory"));

/** What `pulumi up --skip-preview` would do: [policy and resource it stops at, resources registered before it, stack-policy violations after the steps]. */
const skipPreview = (r: CheckResult) => [
    r.skipPreview.stoppedAt ? `${r.skipPreview.stoppedAt.policy} ${r.skipPreview.stoppedAt.name}` : null,
    r.skipPreview.registeredBefore,
    summary(r.skipPreview.stackViolationsAfterSteps),
];
/** Stopped at the transition record, the first custom resource the program registers: nothing has reached a node. */
const stopsAtRecord = (policy: string, record = "pve-east-transition") => [`${policy} ${record}`, [], []];

describe("every example stack passes the whole pack", () => {
    test.each(STACKS)("%s, deployed in its configured phase", async (stack) => {
        const r = await checkStack({ projectDir: PROJECT_DIR, stack });
        expect(summary(r.violations)).toEqual([]);
        expect(r.errors).toEqual([]);
        expect(r.passed).toBe(true);
        expect(r.policiesRun).toHaveLength(17);
        expect(skipPreview(r)).toEqual([null, [], []]);
        expect(r.from).toBe(r.to);
    });

    test("canary-a promoted from rust-read-only with the committed evidence", async () => {
        const r = await checkStack({ projectDir: PROJECT_DIR, stack: "canary-a", from: "rust-read-only" });
        expect([r.from, r.to]).toEqual(["rust-read-only", "rust-basic-write"]);
        expect(summary(r.violations)).toEqual([]);
    });

    test("prod rolled back from rust-advanced to perl-only (restores, legacy apply)", async () => {
        const r = await checkStack({ projectDir: PROJECT_DIR, stack: "prod", from: "rust-advanced" });
        expect(r.resources.filter((x) => x.name.endsWith("-restore"))).toHaveLength(5);
        expect(summary(r.violations)).toEqual([]);
    });

    const walk = PHASES.slice(1).map((to, i) => [PHASES[i], to] as const);
    test.each(walk)("dev (no evidence required in the sandbox) promoted %s -> %s", async (from, to) => {
        const r = await checkStack({ projectDir: PROJECT_DIR, stack: "dev", stackConfig: stackConfig("dev", (c) => (c["pve-migration:phase"] = to)), from });
        expect(summary(r.violations)).toEqual([]);
    });
});

describe("unsafe changes are blocked by the policies alone (guards off)", () => {
    test("a skipped phase: phase-transition", async () => {
        const r = await checkStack({ projectDir: PROJECT_DIR, stack: "canary-a", from: "perl-only" });
        expect(mandatory(r)).toEqual([
            "mandatory phase-transition pve-east-transition: stack canary-a: promotion from perl-only to rust-basic-write skips 1 phase(s); promote one phase at a time (next: rust-read-only)",
            "mandatory step-phases pve-east-01-snapshot-package-units-config-services-verify: step pve-east-01-snapshot (in pve-east-01-snapshot-package-units-config-services-verify): promotion from perl-only to rust-basic-write skips 1 phase(s); promote one phase at a time (next: rust-read-only)",
        ]);
        expect(r.passed).toBe(false);
        expect(skipPreview(r)).toEqual(stopsAtRecord("phase-transition"));
    });

    test("canary-b overtaking canary-a: ring-order", async () => {
        const r = await checkStack({
            projectDir: PROJECT_DIR,
            stack: "canary-b",
            stackConfig: stackConfig("canary-b", (c) => (c["pve-migration:phase"] = "rust-basic-write")),
            deployed: { "canary-a": { phase: "rust-read-only", phaseEnteredAt: isoAgo(30 * DAY) }, "canary-b": { phase: "rust-read-only" } },
        });
        expect(mandatory(r)).toEqual([
            "mandatory ring-order pve-east-transition: ring canary-b would be ahead of its upstream canary-a: rust-basic-write is after rust-read-only (promote canary-a first)",
            "mandatory soak-and-evidence pve-east-transition: promotion of canary-b from rust-read-only to rust-basic-write: no evidence at stacks/evidence/canary-b/rust-read-only.json",
        ]);
        expect(skipPreview(r)).toEqual(stopsAtRecord("ring-order"));
    });

    test("canary-b level with canary-a before canary-a has soaked: ring-order", async () => {
        const r = await checkStack({
            projectDir: PROJECT_DIR,
            stack: "canary-b",
            deployed: { "canary-a": { phase: "rust-read-only", phaseEnteredAt: isoAgo(3 * 3600) }, "canary-b": { phase: "perl-only" } },
        });
        expect(mandatory(r)).toEqual([
            "mandatory ring-order pve-east-transition: ring canary-b must stay at least one phase behind canary-a until canary-a has soaked in rust-read-only (3h0m of 1d0h)",
        ]);
        expect(skipPreview(r)).toEqual(stopsAtRecord("ring-order"));
    });

    test("fallback disabled in rust-sdn: fallback-enabled", async () => {
        const r = await checkStack({
            projectDir: PROJECT_DIR,
            stack: "canary-a",
            stackConfig: stackConfig("canary-a", (c) => ((c["pve-migration:phase"] = "rust-sdn"), (c["pve-migration:fallbackEnabled"] = false))),
            from: "rust-sdn",
        });
        expect(mandatory(r)).toEqual([
            'mandatory fallback-enabled pve-east-transition: transition record of stack canary-a: fallbackEnabled must be "true" in phase rust-sdn (got "false"); only rust-full may disable the fallback',
            "mandatory fallback-enabled pve-east-01-package-units-config-services-verify: /etc/pve/nodes/pve-east-01/network/migration.toml: fallback_enabled must be true in phase rust-sdn (got false); only rust-full may disable the fallback",
        ]);
        expect(skipPreview(r)).toEqual(stopsAtRecord("fallback-enabled"));
    });

    test("an unpinned package: package-pinned", async () => {
        const r = await checkStack({
            projectDir: PROJECT_DIR,
            stack: "canary-a",
            stackConfig: stackConfig("canary-a", (c) => delete c["pve-migration:package"].sha256),
        });
        expect(mandatory(r)).toEqual([
            'mandatory package-pinned pve-east-transition: transition record of stack canary-a: packageSha256 must be 64 lowercase hex digits (got "")',
            'mandatory package-pinned pve-east-01-package-units-config-services-verify: package step: --sha256 must be 64 lowercase hex digits (got "")',
        ]);
        expect(skipPreview(r)).toEqual(stopsAtRecord("package-pinned"));
    });

    test("a plaintext SSH key: no-plaintext-secrets", async () => {
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        const r = await checkStack({
            projectDir: PROJECT_DIR,
            stack: "canary-b",
            stackConfig: stackConfig("canary-b", (c) => (c["pve-migration:sshPrivateKeys"] = { default: key })),
        });
        expect(r.placeholders).toEqual([]);
        expect(mandatory(r)).toEqual([
            "mandatory no-plaintext-secrets pve-east-transition: stack config pve-migration:sshPrivateKeys is not a Pulumi secret: set it with pulumi config set --secret (the value is in plaintext in the stack file)",
        ]);
        expect(skipPreview(r)).toEqual(stopsAtRecord("no-plaintext-secrets"));
    });

    test("an http Perl API: perl-api", async () => {
        const r = await checkStack({
            projectDir: PROJECT_DIR,
            stack: "prod",
            stackConfig: stackConfig("prod", (c) => (c["pve-migration:perlApi"].baseUrl = "http://pve-west.example.internal:8006")),
        });
        expect(mandatory(r)).toEqual([
            'mandatory perl-api pve-west-transition: transition record of stack prod: perlApiBaseUrl must be an https:// URL (got "http://pve-west.example.internal:8006")',
            'mandatory perl-api pve-west-cluster-config: /etc/pve/network/migration.toml: perl_api_base_url must be an https:// URL (got "http://pve-west.example.internal:8006")',
        ]);
        expect(skipPreview(r)).toEqual(stopsAtRecord("perl-api", "pve-west-transition"));
    });

    test("a write phase without backup: backup-before-write (a stack policy: with --skip-preview only after the steps)", async () => {
        const rec = await record("canary-a", { from: "rust-read-only" });
        // Node scope: the node's whole plan is one command, the snapshot its first step.
        expect(commandOf(rec.resources, "pve-east-01-snapshot")).toEqual({
            res: byName(rec.resources, "pve-east-01-snapshot-package-units-config-services-verify"),
            index: 0,
        });
        const r = await evaluateStack({ ...rec, resources: dropStep(rec.resources, "pve-east-01-snapshot") });
        const violation =
            "mandatory backup-before-write pve-east-transition: node pve-east-01 enters write phase rust-basic-write (rust-read-only -> rust-basic-write) without a snapshot step: take a verified backup before its migration config changes";
        expect(mandatory(r)).toEqual([violation]);
        // No single resource shows a missing snapshot: a preview stops it; --skip-preview runs every step first.
        expect(skipPreview(r)).toEqual([null, [], [violation]]);
    });

    test("two writers of the cluster-wide migration.toml: cluster-file-single-writer", async () => {
        const r = await checkStack({
            projectDir: PROJECT_DIR,
            stack: "dev",
            stackConfig: stackConfig("dev", (c) => (c["pve-migration:migrationConfig"] = { scope: "node", path: "/etc/pve/network/migration.toml" })),
        });
        const hint = "write it once per cluster, through one node (migrationConfig.scope cluster and writerNode), or use a node-scoped path";
        // Node scope: each node's steps are one command.
        const whole = "package-units-config-services-verify";
        expect(mandatory(r)).toEqual([
            ...["pve1", "pve2", "pve3"].map(
                (n) =>
                    `mandatory cluster-file-single-writer ${n}-${whole}: step ${n}-config (in ${n}-${whole}) of node ${n} writes /etc/pve/network/migration.toml, a cluster-wide file in pmxcfs: ${hint}`,
            ),
            `mandatory cluster-file-writers pve2-${whole}: /etc/pve/network/migration.toml is a cluster-wide file in cluster dev-lab, but 3 resources write it (pve1-${whole}, pve2-${whole}, pve3-${whole}): ${hint}`,
        ]);
        // Stopped at the first node's command, which holds its config step: only the record registered before it may have run;
        // no step ran on any node (each node's steps are one command, checked whole before it runs).
        expect(skipPreview(r)).toEqual([`cluster-file-single-writer pve1-${whole}`, ["dev-lab-transition"], []]);
    });
});

describe("during a preview the snapshot's command line is known (its id comes from the record)", () => {
    test("the pack sees --backup 1 in a preview and blocks a missing backup", async () => {
        const rec = await record("canary-a", { from: "rust-read-only", preview: true });
        const { res } = commandOf(rec.resources, "pve-east-01-snapshot");
        expect(parseCommand(res.props.create as string).steps[0].args.options.backup).toBe("1");
        expect(summary((await evaluateStack(rec)).violations)).toEqual([]);
        const r = await evaluateStack({ ...rec, resources: dropStep(rec.resources, "pve-east-01-snapshot") });
        expect(mandatory(r)).toEqual([
            "mandatory backup-before-write pve-east-transition: node pve-east-01 enters write phase rust-basic-write (rust-read-only -> rust-basic-write) without a snapshot step: take a verified backup before its migration config changes",
        ]);
    });
});

describe("a plaintext leaf beside a secure one in an object secret (the engine calls the whole object secret)", () => {
    test("no-plaintext-secrets names the leaf, from the stack file the program reads", async () => {
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAplaintextbackupkey\n-----END OPENSSH PRIVATE KEY-----\n";
        const cfg = stackConfig("canary-b", (c) => (c["pve-migration:sshPrivateKeys"] = { default: { secure: "v1:AAAA" }, backup: key }));
        const r = await checkStack({ projectDir: PROJECT_DIR, stack: "canary-b", stackConfig: cfg });
        expect(summary(r.violations).filter((l) => l.includes("no-plaintext-secrets") && l.includes("pve-east-transition"))).toEqual([
            "mandatory no-plaintext-secrets pve-east-transition: stack config pve-migration:sshPrivateKeys.backup is not a Pulumi secret: set it with pulumi config set --secret (the value is in plaintext in the stack file)",
        ]);
    });
});
