/**
 * Each policy on its own: a happy path recorded from the real program (an example stack in a
 * transition), then one mutation per rule, asserting the exact violation message.
 */
import { ringOrderPolicy } from "../../policies/rings";
import { RecordedResource } from "../../components/policycheck/record";
import {
    DAY,
    byName,
    commandOf,
    copy,
    drop,
    dropStep,
    editKeepers,
    editOptions,
    editToml,
    messages,
    record,
    recordResource,
    stackConfig,
    violations,
} from "./helpers";
import { commandLine, parseCommand } from "../../components/scripts";

/** canary-a promoted rust-read-only -> rust-basic-write (node-scoped config, package by URL, blue-green, committed evidence). */
let canary: RecordedResource[];
/** prod rolled back rust-basic-write -> perl-only (4 nodes, cluster-wide config, restores). */
let prodRollback: RecordedResource[];
/** dev (local commands) promoted perl-only -> rust-read-only. */
let dev: RecordedResource[];
/** canary-a with the .deb as a local file copied over SSH. */
let copied: RecordedResource[];
/** dev with node-scoped migration configs. */
let devNodeScoped: RecordedResource[];

beforeAll(async () => {
    canary = (await record("canary-a", { from: "rust-read-only" })).resources;
    prodRollback = (await record("prod", { from: "rust-basic-write" })).resources;
    dev = (await record("dev", { stackConfig: stackConfig("dev", (c) => (c["pve-migration:phase"] = "rust-read-only")), from: "perl-only" })).resources;
    copied = (
        await record("canary-a", {
            stackConfig: stackConfig("canary-a", (c) => {
                const p = c["pve-migration:package"];
                delete p.url;
                p.path = ".sandbox/debs/pve-network-rs_0.4.2-1_amd64.deb";
            }),
        })
    ).resources;
    devNodeScoped = (await record("dev", { stackConfig: stackConfig("dev", (c) => (c["pve-migration:migrationConfig"] = { scope: "node" })) })).resources;
});

const CANARY_TOML = "/etc/pve/nodes/pve-east-01/network/migration.toml";
const PROD_TOML = "/etc/pve/network/migration.toml";

describe("happy paths: no policy of the pack reports anything", () => {
    const all = [
        "phase-transition",
        "step-phases",
        "snapshot-takes-backup",
        "ring-order",
        "soak-and-evidence",
        "change-window",
        "fallback-enabled",
        "perl-api",
        "package-pinned",
        "no-plaintext-secrets",
        "cluster-file-single-writer",
        "log-migration-decisions",
        "backup-retention",
        "transition-record",
        "backup-before-write",
        "cluster-file-writers",
        "blue-green-safe",
    ];
    test.each(all)("%s", async (name) => {
        for (const rs of [canary, prodRollback, dev, copied]) expect(await messages(name, rs)).toEqual([]);
    });
    test("the fixtures hold what the mutations below edit", () => {
        expect(recordResource(canary).props.keepers).toMatchObject({ from: "rust-read-only", to: "rust-basic-write", stack: "canary-a" });
        expect(recordResource(prodRollback).props.keepers).toMatchObject({ from: "rust-basic-write", to: "perl-only", scope: "cluster" });
        expect(byName(dev, "dev-lab-cluster-config").type).toBe("command:local:Command");
        expect(byName(copied, "pve-east-01-package-deb").type).toBe("command:remote:CopyToRemote");
        // The command that runs the package step waits for the copy of the .deb.
        const deb = byName(copied, "pve-east-01-package-deb");
        expect(commandOf(copied, "pve-east-01-package").res.dependencies).toContain(deb.urn);
    });
});

describe("phase-transition", () => {
    test("a skipped phase", async () => {
        const rs = editKeepers(copy(canary), (k) => (k.from = "perl-only"));
        expect(await messages("phase-transition", rs)).toEqual([
            "stack canary-a: promotion from perl-only to rust-basic-write skips 1 phase(s); promote one phase at a time (next: rust-read-only)",
        ]);
    });
    test("a rollback of any number of phases is allowed", async () => {
        const rs = editKeepers(copy(canary), (k) => ((k.from = "rust-full"), (k.to = "perl-only")));
        expect(await messages("phase-transition", rs)).toEqual([]);
    });
    test("a phase that does not exist", async () => {
        const rs = editKeepers(copy(canary), (k) => (k.to = "rust-turbo"));
        expect(await messages("phase-transition", rs)).toEqual([
            'transition record of stack canary-a: to "rust-turbo" is not a phase (one of perl-only, rust-read-only, rust-basic-write, rust-advanced, rust-sdn, rust-full)',
        ]);
    });
    test("a record of another stack (the record's own URN names the stack)", async () => {
        const rs = editKeepers(copy(canary), (k) => (k.stack = "prod"));
        expect(await messages("phase-transition", rs)).toEqual(['transition record pve-east-transition is for stack "prod", but this is stack "canary-a"']);
    });
    test("reported against the transition record", async () => {
        const rs = editKeepers(copy(canary), (k) => (k.from = "perl-only"));
        expect((await violations("phase-transition", rs)).map((v) => [v.name, v.enforcementLevel])).toEqual([["pve-east-transition", "mandatory"]]);
    });
});

describe("transition-record", () => {
    test("node steps without a record", async () => {
        const rs = drop(copy(canary), "pve-east-transition");
        expect(await messages("transition-record", rs)).toEqual([
            '6 node step(s) are registered without a transition record (a random:index/randomId:RandomId with keepers.kind "pve-migration/transition"): the phase policies cannot check them',
        ]);
    });
    test("two records", async () => {
        const rs = copy(canary);
        const rec = recordResource(rs);
        rs.push({ ...rec, name: "second-transition", urn: rec.urn.replace(/pve-east-transition$/, "second-transition"), props: structuredClone(rec.props) });
        expect(await messages("transition-record", rs)).toEqual([
            "more than one transition record in the stack (pve-east-transition, second-transition): one stack is one ring with one transition",
        ]);
    });
    test("a step told another phase than the record", async () => {
        const rs = editOptions(copy(canary), "pve-east-01-services", (o) => (o.to = "rust-sdn"));
        expect(await messages("transition-record", rs)).toEqual([
            'step pve-east-01-services (in pve-east-01-snapshot-package-units-config-services-verify): --to "rust-sdn" does not match the transition record (to "rust-basic-write")',
        ]);
    });
    test("a migration.toml that holds another phase than the record", async () => {
        const rs = editToml(copy(canary), "pve-east-01-config", (t) => (t.phase = "rust-advanced"));
        expect(await messages("transition-record", rs)).toEqual([
            `step pve-east-01-config (in pve-east-01-snapshot-package-units-config-services-verify): ${CANARY_TOML} says phase = "rust-advanced", but the transition record says to "rust-basic-write"`,
        ]);
    });
});

describe("step-phases (each step on its own, before it runs)", () => {
    test("a step told a transition that skips a phase", async () => {
        const rs = editOptions(copy(canary), "pve-east-01-snapshot", (o) => (o.from = "perl-only"));
        expect(await violations("step-phases", rs)).toMatchObject([
            {
                name: "pve-east-01-snapshot-package-units-config-services-verify",
                enforcementLevel: "mandatory",
                stage: "resource",
                message:
                    "step pve-east-01-snapshot (in pve-east-01-snapshot-package-units-config-services-verify): promotion from perl-only to rust-basic-write skips 1 phase(s); promote one phase at a time (next: rust-read-only)",
            },
        ]);
    });
    test("a rollback step of any number of phases is allowed", async () => {
        const rs = editOptions(copy(prodRollback), "pve-west-01-restore", (o) => (o.from = "rust-full"));
        expect(await messages("step-phases", rs)).toEqual([]);
    });
    test("a phase that does not exist", async () => {
        const rs = editOptions(copy(canary), "pve-east-01-services", (o) => (o.to = "rust-turbo"));
        expect(await messages("step-phases", rs)).toEqual([
            'step pve-east-01-services (in pve-east-01-snapshot-package-units-config-services-verify): --to "rust-turbo" is not a phase (one of perl-only, rust-read-only, rust-basic-write, rust-advanced, rust-sdn, rust-full)',
        ]);
    });
    test("a config step whose migration.toml holds another phase than it is told", async () => {
        const rs = editToml(copy(canary), "pve-east-01-config", (t) => (t.phase = "rust-advanced"));
        expect(await messages("step-phases", rs)).toEqual([
            `step pve-east-01-config (in pve-east-01-snapshot-package-units-config-services-verify): ${CANARY_TOML} says phase = "rust-advanced", but the step is told --to "rust-basic-write"`,
        ]);
    });
});

describe("backup-before-write", () => {
    test("entering a write phase without a snapshot step", async () => {
        const rs = dropStep(copy(canary), "pve-east-01-snapshot");
        expect(await messages("backup-before-write", rs)).toEqual([
            "node pve-east-01 enters write phase rust-basic-write (rust-read-only -> rust-basic-write) without a snapshot step: take a verified backup before its migration config changes",
        ]);
    });
    test("leaving a write phase without a snapshot step (cluster-wide config, one of four nodes)", async () => {
        const rs = dropStep(copy(prodRollback), "pve-west-03-snapshot");
        expect(await messages("backup-before-write", rs)).toEqual([
            "node pve-west-03 leaves write phase rust-basic-write (rust-basic-write -> perl-only) without a snapshot step: take a verified backup before its migration config changes",
        ]);
    });
    test("a snapshot step that takes no backup: snapshot-takes-backup, on the step itself", async () => {
        const rs = editOptions(copy(canary), "pve-east-01-snapshot", (o) => (o.backup = "0"));
        expect(await messages("backup-before-write", rs)).toEqual([]);
        expect(await violations("snapshot-takes-backup", rs)).toMatchObject([
            {
                name: "pve-east-01-snapshot-package-units-config-services-verify",
                stage: "resource",
                message:
                    'snapshot step pve-east-01-snapshot (in pve-east-01-snapshot-package-units-config-services-verify) does not take a backup (--backup "0"), but node pve-east-01 enters write phase rust-basic-write (rust-read-only -> rust-basic-write)',
            },
        ]);
        const leaving = editOptions(copy(prodRollback), "pve-west-04-snapshot", (o) => (o.backup = undefined));
        expect(await messages("snapshot-takes-backup", leaving)).toEqual([
            "snapshot step pve-west-04-snapshot does not take a backup (--backup null), but node pve-west-04 leaves write phase rust-basic-write (rust-basic-write -> perl-only)",
        ]);
        expect(
            await messages(
                "snapshot-takes-backup",
                editOptions(copy(dev), "pve1-snapshot", (o) => (o.backup = "0")),
            ),
        ).toEqual([]);
    });
    test("a config change not ordered after the snapshot (node scope: through package and units)", async () => {
        // Node scope: snapshot and config are steps of one command, which runs them in order: put the config first.
        const rs = copy(canary);
        const res = byName(rs, "pve-east-01-snapshot-package-units-config-services-verify");
        const c = parseCommand(res.props.create as string);
        const snapshot = c.steps.findIndex((x) => x.step === "snapshot");
        const config = c.steps.findIndex((x) => x.step === "config");
        expect([snapshot, config]).toEqual([0, 3]);
        res.props.create = commandLine([c.steps[config], ...c.steps.filter((_, i) => i !== config)], { sudo: c.sudo });
        expect(await messages("backup-before-write", rs)).toEqual([
            "config step pve-east-01-config (in pve-east-01-snapshot-package-units-config-services-verify) changes the migration config of node pve-east-01 without being ordered after its snapshot step pve-east-01-snapshot (in pve-east-01-snapshot-package-units-config-services-verify) (dependsOn)",
        ]);
    });
    test("a cluster-wide config change must follow every node's snapshot", async () => {
        const rs = copy(prodRollback);
        const step = byName(rs, "pve-west-cluster-config");
        step.dependencies.splice(0, step.dependencies.length, ...step.dependencies.filter((d) => !d.endsWith("pve-west-02-snapshot")));
        expect(await messages("backup-before-write", rs)).toEqual([
            "config step pve-west-cluster-config changes the migration config of node pve-west-02 without being ordered after its snapshot step pve-west-02-snapshot (dependsOn)",
        ]);
    });
    test("no write phase involved: no backup needed", async () => {
        const rs = dropStep(copy(dev), "pve2-snapshot");
        expect(await messages("backup-before-write", rs)).toEqual([]);
    });
});

describe("ring-order", () => {
    const NOW = new Date("2026-11-21T12:00:00Z");
    const ago = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();
    const ring = ringOrderPolicy(() => NOW);
    /** canary-b promoted rust-read-only -> rust-basic-write behind canary-a, which entered rust-basic-write 8 days ago. */
    const canaryB = () =>
        editKeepers(copy(canary), (k) =>
            Object.assign(k, {
                stack: "canary-b",
                ring: "canary-b",
                upstreamStack: "canary-a",
                upstreamPhase: "rust-basic-write",
                upstreamEnteredAt: ago(8 * DAY),
                behindUntilSoaked: "true",
            }),
        );
    test("happy: canary-a has soaked", async () => {
        expect(await messages(ring, canaryB())).toEqual([]);
    });
    test("ahead of the upstream", async () => {
        const rs = editKeepers(canaryB(), (k) => (k.upstreamPhase = "rust-read-only"));
        expect(await messages(ring, rs)).toEqual([
            "ring canary-b would be ahead of its upstream canary-a: rust-basic-write is after rust-read-only (promote canary-a first)",
        ]);
    });
    test("level with the upstream before it has soaked", async () => {
        const rs = editKeepers(canaryB(), (k) => (k.upstreamEnteredAt = ago(2 * DAY)));
        expect(await messages(ring, rs)).toEqual([
            "ring canary-b must stay at least one phase behind canary-a until canary-a has soaked in rust-basic-write (2d0h of 7d0h)",
        ]);
    });
    test("the stack's own behindUntilSoaked cannot switch the rule off for canary-b", async () => {
        const rs = editKeepers(canaryB(), (k) => ((k.upstreamEnteredAt = ago(2 * DAY)), (k.behindUntilSoaked = "false")));
        expect(await messages(ring, rs)).toEqual([
            "ring canary-b must stay at least one phase behind canary-a until canary-a has soaked in rust-basic-write (2d0h of 7d0h)",
        ]);
    });
    test("soak durations are policy config", async () => {
        const rs = editKeepers(canaryB(), (k) => (k.upstreamEnteredAt = ago(2 * DAY)));
        expect(await messages(ring, rs, { "ring-order": { soakSeconds: { "rust-basic-write": DAY } } })).toEqual([]);
    });
    test("a ring that drops its upstream", async () => {
        const rs = editKeepers(canaryB(), (k) => (k.upstreamStack = ""));
        expect(await messages(ring, rs)).toEqual([
            'ring canary-b must follow canary-a (policy config upstreams), but its transition record names upstream "": set ring.upstream to the canary-a stack',
        ]);
    });
    test("an upstream phase that is not a phase", async () => {
        const rs = editKeepers(canaryB(), (k) => (k.upstreamPhase = "rust-someday"));
        expect(await messages(ring, rs)).toEqual([
            'ring canary-b: upstream canary-a phase "rust-someday" is not a phase (one of perl-only, rust-read-only, rust-basic-write, rust-advanced, rust-sdn, rust-full)',
        ]);
    });
    test("a rollback is never held back by the upstream", async () => {
        const rs = editKeepers(canaryB(), (k) => ((k.from = "rust-sdn"), (k.upstreamPhase = "perl-only")));
        expect(await messages(ring, rs)).toEqual([]);
    });
});

describe("change-window", () => {
    const windows = JSON.stringify({ timeZone: "Europe/Berlin", weekly: [{ days: ["mon", "tue", "wed", "thu", "fri"], start: "09:00", end: "16:00" }], freeze: [] });
    const withWindows = (rs: readonly RecordedResource[]) => editKeepers(copy(rs), (k) => (k.windows = windows));
    test("a promotion inside a window passes; outside, it is refused naming the next window", async () => {
        expect(await messages("change-window", withWindows(canary), { "change-window": { now: "2026-12-07T08:30:00Z" } })).toEqual([]);
        expect(await messages("change-window", withWindows(canary), { "change-window": { now: "2026-12-12T10:00:00Z" } })).toEqual([
            "promotion of canary-a from rust-read-only to rust-basic-write: a promotion is allowed only inside a change window: sat 2026-12-12 11:00 Europe/Berlin is outside every weekly change window; the next window opens mon 2026-12-14 09:00 Europe/Berlin (2026-12-14T08:00:00Z); a rollback is always allowed",
        ]);
    });
    test("a rollback outside every window passes", async () => {
        expect(await messages("change-window", withWindows(prodRollback), { "change-window": { now: "2026-12-12T10:00:00Z" } })).toEqual([]);
    });
    test("windows in the record that are not what the program writes are reported", async () => {
        const bad = editKeepers(copy(canary), (k) => (k.windows = "{"));
        expect(await messages("change-window", bad)).toEqual([
            "promotion of canary-a from rust-read-only to rust-basic-write: the change windows in the transition record are not JSON",
        ]);
    });
});

describe("soak-and-evidence", () => {
    const at = "promotion of canary-a from rust-read-only to rust-basic-write";
    const path = "stacks/evidence/canary-a/rust-read-only.json";
    const ev = `evidence ${path}`;
    /** Edit the record's evidence (components/evidence EvidenceRecord) as the program wrote it. */
    const withRecord = (edit: (r: Record<string, any>) => void, keepers: (k: Record<string, string>) => void = () => undefined) =>
        editKeepers(copy(canary), (k) => {
            keepers(k);
            const r = JSON.parse(k.evidence);
            edit(r);
            k.evidence = JSON.stringify(r);
        });
    const withSummary = (edit: (s: Record<string, unknown>) => void) => withRecord((r) => edit(r.summary));
    test("the record the program wrote: the evidence's summary, no verdict", () => {
        expect(JSON.parse(editKeepers(copy(canary), () => undefined).find((r) => r.name === "pve-east-transition")!.props.keepers.evidence)).toEqual({
            path,
            required: true,
            notRequiredBecause: null,
            present: true,
            valid: true,
            requiredSoakSeconds: 86400,
            summary: {
                stack: "canary-a",
                phase: "rust-read-only",
                nodes: ["pve-east-01"],
                phaseEnteredAt: "2026-10-20T08:00:00Z",
                collectedAt: "2026-10-21T10:30:00Z",
                soakedSeconds: 95400,
                contractCompared: 148,
                contractFailed: 0,
                metricsWindowStart: "2026-10-20T08:00:00Z",
                fallbacks: 0,
                nodesWithMetrics: ["pve-east-01"],
                applyLatencySeconds: 0.412,
                perlBaselineSeconds: 0.587,
            },
        });
    });
    test("passing evidence: no violation", async () => {
        expect(await messages("soak-and-evidence", copy(canary))).toEqual([]);
    });
    test("no evidence summary", async () => {
        expect(
            await messages(
                "soak-and-evidence",
                editKeepers(copy(canary), (k) => (k.evidence = "")),
            ),
        ).toEqual([`${at}: the transition record carries no evidence summary`]);
    });
    test("a summary that is not JSON", async () => {
        expect(
            await messages(
                "soak-and-evidence",
                editKeepers(copy(canary), (k) => (k.evidence = "{")),
            ),
        ).toEqual([`${at}: the evidence summary in the transition record is not JSON`]);
    });
    test("a summary that does not follow the record's schema", async () => {
        expect(
            await messages(
                "soak-and-evidence",
                editKeepers(copy(canary), (k) => (k.evidence = JSON.stringify({ required: true }))),
            ),
        ).toEqual([`${at}: the evidence summary in the transition record does not follow its schema (path: Required)`]);
        expect(
            await messages(
                "soak-and-evidence",
                withSummary((s) => (s.fallbacks = "none")),
            ),
        ).toEqual([`${at}: the evidence summary in the transition record does not follow its schema (summary.fallbacks: Expected number, received string)`]);
    });
    const notRequired = (r: Record<string, any>) => {
        r.required = false;
        r.notRequiredBecause = "pve-migration:gates.requireEvidence is false";
        r.valid = null;
        r.summary = null;
    };
    test("evidence switched off in a stack not allowed to skip it", async () => {
        const rs = withRecord(notRequired);
        expect(await messages("soak-and-evidence", rs)).toEqual([
            `${at}: gates.requireEvidence is false, but canary-a is not in skipEvidenceStacks (dev); commit passing evidence at ${path}`,
        ]);
        expect(await messages("soak-and-evidence", rs, { "soak-and-evidence": { skipEvidenceStacks: ["dev", "canary-a"] } })).toEqual([]);
    });
    test("the dev stack may skip evidence", async () => {
        expect(
            await messages(
                "soak-and-evidence",
                withRecord(notRequired, (k) => (k.stack = "dev")),
            ),
        ).toEqual([]);
    });
    test("no evidence file", async () => {
        const rs = withRecord((r) => ((r.present = false), (r.valid = null), (r.summary = null)));
        expect(await messages("soak-and-evidence", rs)).toEqual([`${at}: no evidence at ${path}`]);
    });
    test("evidence that does not follow the schema", async () => {
        const rs = withRecord((r) => ((r.valid = false), (r.summary = null)));
        expect(await messages("soak-and-evidence", rs)).toEqual([`${at}: the evidence at ${path} does not follow the evidence schema`]);
    });
    test("evidence of another phase", async () => {
        expect(
            await messages(
                "soak-and-evidence",
                withSummary((s) => (s.phase = "perl-only")),
            ),
        ).toEqual([`${at}: ${ev}: evidence is for phase perl-only, not rust-read-only`]);
    });
    test("evidence of another stack, or not covering the ring's nodes", async () => {
        expect(
            await messages(
                "soak-and-evidence",
                withSummary((s) => (s.stack = "canary-b")),
            ),
        ).toEqual([`${at}: ${ev}: evidence is for stack canary-b, not canary-a`]);
        expect(
            await messages(
                "soak-and-evidence",
                withSummary((s) => ((s.nodes = []), (s.nodesWithMetrics = []))),
            ),
        ).toEqual([`${at}: ${ev}: evidence does not cover node(s) pve-east-01`, `${at}: ${ev}: no metrics for node(s) pve-east-01`]);
    });
    test("a metrics window that starts after the phase was entered", async () => {
        expect(
            await messages(
                "soak-and-evidence",
                withSummary((s) => (s.metricsWindowStart = "2026-10-21T08:00:00Z")),
            ),
        ).toEqual([`${at}: ${ev}: metrics window starts 2026-10-21T08:00:00Z, after the phase was entered (2026-10-20T08:00:00Z)`]);
    });
    test("a soak shorter than the policy's", async () => {
        expect(
            await messages(
                "soak-and-evidence",
                withSummary((s) => (s.soakedSeconds = 3600)),
            ),
        ).toEqual([`${at}: ${ev}: soak 1h0m in rust-read-only is shorter than the required 1d0h`]);
        // The stack's own soak does not count; the policy config does.
        expect(
            await messages(
                "soak-and-evidence",
                withSummary((s) => (s.soakedSeconds = 3600)),
                { "soak-and-evidence": { soakSeconds: { "rust-read-only": 3600 } } },
            ),
        ).toEqual([]);
    });
    test("a fallback", async () => {
        expect(
            await messages(
                "soak-and-evidence",
                withSummary((s) => (s.fallbacks = 2)),
            ),
        ).toEqual([`${at}: ${ev}: 2 fallback(s) over the soak window (allowed: 0)`]);
        expect(
            await messages(
                "soak-and-evidence",
                withSummary((s) => (s.fallbacks = 2)),
                { "soak-and-evidence": { maxFallbacks: 2 } },
            ),
        ).toEqual([]);
    });
    test("contract tests below 100 %", async () => {
        const three = withSummary((s) => (s.contractFailed = 3));
        expect(await messages("soak-and-evidence", three)).toEqual([`${at}: ${ev}: contract tests: 3 of 148 endpoint(s) differ`]);
        expect(await messages("soak-and-evidence", three, { "soak-and-evidence": { minContractPassPercent: 95 } })).toEqual([]);
        expect(await messages("soak-and-evidence", three, { "soak-and-evidence": { minContractPassPercent: 99 } })).toEqual([
            `${at}: ${ev}: contract tests: 3 of 148 endpoint(s) differ (97.9 % passed, below 99 %)`,
        ]);
    });
    test("no contract test", async () => {
        expect(
            await messages(
                "soak-and-evidence",
                withSummary((s) => ((s.contractCompared = 0), (s.contractFailed = 0))),
            ),
        ).toEqual([`${at}: ${ev}: contract tests compared no endpoint`]);
    });
    test("apply latency above the Perl baseline", async () => {
        const slow = withSummary((s) => (s.applyLatencySeconds = 0.9));
        expect(await messages("soak-and-evidence", slow)).toEqual([`${at}: ${ev}: apply latency 0.9s is above the Perl baseline 0.587s`]);
        expect(await messages("soak-and-evidence", slow, { "soak-and-evidence": { maxLatencyRatio: 2 } })).toEqual([]);
        expect(await messages("soak-and-evidence", slow, { "soak-and-evidence": { maxLatencyRatio: 1.5 } })).toEqual([
            `${at}: ${ev}: apply latency 0.9s is above the Perl baseline 0.587s x 1.5`,
        ]);
    });
    test("leaving rust-read-only with no apply latency (null, as metrics-gate writes it when Rust applied nothing) passes", async () => {
        expect(
            await messages(
                "soak-and-evidence",
                withSummary((s) => (s.applyLatencySeconds = null)),
            ),
        ).toEqual([]);
    });
    test("leaving a write phase with no apply latency is refused", async () => {
        const rs = withRecord(
            (r) => {
                r.path = "stacks/evidence/canary-a/rust-basic-write.json";
                Object.assign(r.summary, { phase: "rust-basic-write", soakedSeconds: 8 * DAY, applyLatencySeconds: null });
            },
            (k) => ((k.from = "rust-basic-write"), (k.to = "rust-advanced")),
        );
        expect(await messages("soak-and-evidence", rs)).toEqual([
            "promotion of canary-a from rust-basic-write to rust-advanced: evidence stacks/evidence/canary-a/rust-basic-write.json: no apply latency measured over the window",
        ]);
    });
    test("perl-only -> rust-read-only needs none", async () => {
        const rs = editKeepers(copy(canary), (k) => ((k.from = "perl-only"), (k.to = "rust-read-only"), (k.evidence = "")));
        expect(await messages("soak-and-evidence", rs)).toEqual([]);
    });
});

describe("fallback-enabled", () => {
    test("fallback_enabled false below rust-full", async () => {
        const rs = editToml(copy(canary), "pve-east-01-config", (t) => (t.fallback_enabled = false));
        expect(await messages("fallback-enabled", rs)).toEqual([
            `${CANARY_TOML}: fallback_enabled must be true in phase rust-basic-write (got false); only rust-full may disable the fallback`,
        ]);
    });
    test("rust-full may disable it", async () => {
        const rs = editToml(copy(canary), "pve-east-01-config", (t) => ((t.phase = "rust-full"), (t.fallback_enabled = false)));
        expect(await messages("fallback-enabled", rs)).toEqual([]);
    });
    test("a local step (dev) is checked too", async () => {
        const rs = editToml(copy(dev), "dev-lab-cluster-config", (t) => delete t.fallback_enabled);
        expect(await messages("fallback-enabled", rs)).toEqual([
            "/etc/pve/network/migration.toml: fallback_enabled must be true in phase rust-read-only (got null); only rust-full may disable the fallback",
        ]);
    });
    test("a migration config that is not TOML", async () => {
        const rs = editOptions(copy(canary), "pve-east-01-config", (o) => (o.content = "phase = "));
        expect(await messages("fallback-enabled", rs)).toEqual([
            `${CANARY_TOML}: the migration config is not valid TOML: Invalid TOML document: incomplete key-value declaration: no value specified`,
        ]);
    });
    test("a phase that does not exist", async () => {
        const rs = editToml(copy(canary), "pve-east-01-config", (t) => (t.phase = "rust-everything"));
        expect(await messages("fallback-enabled", rs)).toEqual([`${CANARY_TOML}: phase "rust-everything" is not a phase`]);
    });
    test("the transition record", async () => {
        const rs = editKeepers(copy(canary), (k) => (k.fallbackEnabled = "false"));
        expect(await messages("fallback-enabled", rs)).toEqual([
            'transition record of stack canary-a: fallbackEnabled must be "true" in phase rust-basic-write (got "false"); only rust-full may disable the fallback',
        ]);
    });
});

describe("perl-api", () => {
    test("http", async () => {
        const rs = editToml(copy(prodRollback), "pve-west-cluster-config", (t) => (t.perl_api_base_url = "http://pve-west.example.internal:8006"));
        expect(await messages("perl-api", rs)).toEqual([`${PROD_TOML}: perl_api_base_url must be an https:// URL (got "http://pve-west.example.internal:8006")`]);
    });
    test("credentials in the URL", async () => {
        const rs = editToml(copy(canary), "pve-east-01-config", (t) => (t.perl_api_base_url = "https://root:secret@pve-east:8006"));
        expect(await messages("perl-api", rs)).toEqual([`${CANARY_TOML}: perl_api_base_url must not carry credentials (user:password@)`]);
    });
    test("a timeout outside the range, and the range is policy config", async () => {
        const rs = editToml(copy(canary), "pve-east-01-config", (t) => (t.perl_api_timeout = 600));
        expect(await messages("perl-api", rs)).toEqual([`${CANARY_TOML}: perl_api_timeout must be a whole number of seconds between 5 and 300 (got 600)`]);
        expect(await messages("perl-api", rs, { "perl-api": { maxTimeoutSeconds: 900 } })).toEqual([]);
        expect(await messages("perl-api", copy(canary), { "perl-api": { minTimeoutSeconds: 90 } })).toEqual([
            "transition record of stack canary-a: perlApiTimeout must be a whole number of seconds between 90 and 300 (got 60)",
            `${CANARY_TOML}: perl_api_timeout must be a whole number of seconds between 90 and 300 (got 60)`,
        ]);
    });
    test("the transition record", async () => {
        const rs = editKeepers(copy(canary), (k) => ((k.perlApiBaseUrl = "http://pve-east:8006"), (k.perlApiTimeout = "1")));
        expect(await messages("perl-api", rs)).toEqual([
            'transition record of stack canary-a: perlApiBaseUrl must be an https:// URL (got "http://pve-east:8006")',
            "transition record of stack canary-a: perlApiTimeout must be a whole number of seconds between 5 and 300 (got 1)",
        ]);
    });
});

describe("package-pinned", () => {
    test("an unpinned version", async () => {
        const rs = editOptions(copy(canary), "pve-east-01-package", (o) => (o.version = "latest"));
        expect(await messages("package-pinned", rs)).toEqual(['package step: --version must be an exact Debian version such as 0.4.2-1 (got "latest")']);
    });
    test("no sha256", async () => {
        const rs = editOptions(copy(canary), "pve-east-01-package", (o) => (o.sha256 = ""));
        expect(await messages("package-pinned", rs)).toEqual(['package step: --sha256 must be 64 lowercase hex digits (got "")']);
    });
    test("no source, or two", async () => {
        expect(
            await messages(
                "package-pinned",
                editOptions(copy(canary), "pve-east-01-package", (o) => (o.url = undefined)),
            ),
        ).toEqual(["package step: set exactly one of --url or --deb-path (got neither)"]);
        expect(
            await messages(
                "package-pinned",
                editOptions(copy(canary), "pve-east-01-package", (o) => (o["deb-path"] = "/tmp/x.deb")),
            ),
        ).toEqual(["package step: set exactly one of --url or --deb-path (got both)"]);
    });
    test("a URL over http", async () => {
        const rs = editOptions(copy(canary), "pve-east-01-package", (o) => (o.url = "http://apt.example.internal/pve-network-rs_0.4.2-1_amd64.deb"));
        expect(await messages("package-pinned", rs)).toEqual([
            'package step: --url must be an https:// URL (got "http://apt.example.internal/pve-network-rs_0.4.2-1_amd64.deb")',
        ]);
    });
    test("a .deb that does not carry the pinned version (local step)", async () => {
        const rs = editOptions(copy(dev), "pve2-package", (o) => (o["deb-path"] = "/srv/debs/pve-network-rs_latest_amd64.deb"));
        expect(await messages("package-pinned", rs)).toEqual([
            'package step: --deb-path must name pve-network-rs_0.4.2-1_<arch>.deb, the pinned version (got "/srv/debs/pve-network-rs_latest_amd64.deb")',
        ]);
    });
    test("a copied .deb under an unpinned name", async () => {
        const rs = copy(copied);
        byName(rs, "pve-east-01-package-deb").props.remotePath = "/var/tmp/pve-network-rs.deb";
        expect(await messages("package-pinned", rs)).toEqual([
            'copy of the package: remotePath must name a pinned pve-network-rs_<version>_<arch>.deb (got "/var/tmp/pve-network-rs.deb")',
        ]);
    });
    test("the step library copy passes under its sha256 name only; anything else copied beside it is a package copy to check", async () => {
        const rs = copy(copied);
        expect(byName(rs, "pve-east-01-step-library").props.remotePath).toMatch(/^\/var\/tmp\/pve-network-migration\/steps-[0-9a-f]{64}\.sh$/);
        expect(await messages("package-pinned", rs)).toEqual([]);
        for (const bad of ["/var/tmp/pve-network-migration/steps-latest.sh", `/var/tmp/other/steps-${"a".repeat(64)}.sh`]) {
            byName(rs, "pve-east-01-step-library").props.remotePath = bad;
            expect(await messages("package-pinned", rs)).toEqual([
                `copy of the package: remotePath must name a pinned pve-network-rs_<version>_<arch>.deb (got "${bad}")`,
            ]);
        }
    });
    test("the transition record", async () => {
        const rs = editKeepers(copy(canary), (k) => ((k.packageSha256 = ""), (k.packageVersion = "*")));
        expect(await messages("package-pinned", rs)).toEqual([
            'transition record of stack canary-a: packageVersion must be an exact Debian version such as 0.4.2-1 (got "*")',
            'transition record of stack canary-a: packageSha256 must be 64 lowercase hex digits (got "")',
        ]);
    });
});

describe("no-plaintext-secrets", () => {
    const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
    const HINT = "pass it only as a Pulumi secret input (pve-migration:sshPrivateKeys, pve-migration:kubeconfig)";
    test("a secret config key set without --secret (the engine's list, through the record)", async () => {
        const rs = editKeepers(copy(canary), (k) => (k.plaintextSecretKeys = "sshPrivateKeys"));
        expect(await messages("no-plaintext-secrets", rs)).toEqual([
            "stack config pve-migration:sshPrivateKeys is not a Pulumi secret: set it with pulumi config set --secret (the value is in plaintext in the stack file)",
        ]);
    });
    test("a key in a command's environment", async () => {
        const rs = copy(canary);
        commandOf(rs, "pve-east-01-units").res.props.environment = { SSH_KEY: KEY };
        expect(await messages("no-plaintext-secrets", rs)).toEqual([`environment.SSH_KEY holds private key material (-----BEGIN / PRIVATE KEY): ${HINT}`]);
    });
    test("a key on a command line", async () => {
        const rs = editOptions(copy(dev), "pve1-verify", (o) => (o.key = KEY));
        expect(await messages("no-plaintext-secrets", rs)).toEqual([`create holds private key material (-----BEGIN / PRIVATE KEY): ${HINT}`]);
    });
    test("kubeconfig credentials in Helm values", async () => {
        const rs = copy(canary);
        byName(rs, "pve-network-rs-green").props.values.extra = "users:\n- name: admin\n  user:\n    client-key-data: LS0tLS1CRUdJTg==\n";
        expect(await messages("no-plaintext-secrets", rs)).toEqual([`values.extra holds kubeconfig credentials: ${HINT}`]);
    });
    test("a Proxmox API token in the keepers", async () => {
        const rs = editKeepers(copy(canary), (k) => (k.note = "PVEAPIToken=root@pam!ci=0b8f"));
        expect(await messages("no-plaintext-secrets", rs)).toEqual([`keepers.note holds a Proxmox API token: ${HINT}`]);
    });
    test("a password for SSH", async () => {
        const rs = copy(canary);
        commandOf(rs, "pve-east-01-verify").res.props.connection.password = "hunter2";
        expect(await messages("no-plaintext-secrets", rs)).toEqual([
            "connection.password is set: log in to nodes with a key from the secret pve-migration:sshPrivateKeys, never a password",
        ]);
    });
    test("where a secret belongs, key material is not reported", async () => {
        const rs = copy(canary);
        commandOf(rs, "pve-east-01-verify").res.props.connection.privateKey = KEY;
        byName(rs, "pve-network-rs-provider").props.kubeconfig = "apiVersion: v1\nkind: Config\nusers:\n- user:\n    client-key-data: AAAA\n";
        expect(await messages("no-plaintext-secrets", rs)).toEqual([]);
    });
});

describe("cluster-file-single-writer (a node's own step, before it runs) and cluster-file-writers (the count, after the steps)", () => {
    const HINT = "write it once per cluster, through one node (migrationConfig.scope cluster and writerNode), or use a node-scoped path";
    test("a node's config step writing the cluster-wide migration.toml", async () => {
        const rs = editOptions(copy(devNodeScoped), "pve2-config", (o) => (o.path = "/etc/pve/network/migration.toml"));
        expect(await violations("cluster-file-single-writer", rs)).toMatchObject([
            {
                name: "pve2-package-units-config-services-verify",
                stage: "resource",
                message: `step pve2-config (in pve2-package-units-config-services-verify) of node pve2 writes /etc/pve/network/migration.toml, a cluster-wide file in pmxcfs: ${HINT}`,
            },
        ]);
        expect(await messages("cluster-file-writers", rs)).toEqual([]);
    });
    test("the cluster's own writer is not a node's step", async () => {
        expect(byName(prodRollback, "pve-west-cluster-config").parent).not.toContain("pve-migration:node:MigrationNode");
        expect(await messages("cluster-file-single-writer", copy(prodRollback))).toEqual([]);
    });
    test("two writers of the cluster-wide migration.toml", async () => {
        const rs = copy(prodRollback);
        const writer = byName(rs, "pve-west-cluster-config");
        rs.push({
            ...writer,
            name: "pve-west-02-config",
            urn: writer.urn.replace(/pve-west-cluster-config$/, "pve-west-02-config"),
            props: structuredClone(writer.props),
        });
        expect(await messages("cluster-file-writers", rs)).toEqual([
            "/etc/pve/network/migration.toml is a cluster-wide file in cluster pve-west, but 2 resources write it (pve-west-cluster-config, pve-west-02-config): " +
                "write it once per cluster, through one node (migrationConfig.scope cluster and writerNode), or use a node-scoped path",
        ]);
        expect(await messages("cluster-file-single-writer", rs)).toEqual([]);
    });
    test("node-scoped files: one writer each", async () => {
        expect(commandOf(devNodeScoped, "pve2-config").res.type).toBe("command:local:Command");
        expect(await messages("cluster-file-single-writer", devNodeScoped)).toEqual([]);
        expect(await messages("cluster-file-writers", devNodeScoped)).toEqual([]);
    });
    test("one node's file in pmxcfs written from two steps", async () => {
        const rs = editOptions(copy(devNodeScoped), "pve2-config", (o) => (o.path = "/etc/pve/nodes/pve1/network/migration.toml"));
        expect(await messages("cluster-file-single-writer", rs)).toEqual([]);
        expect(await messages("cluster-file-writers", rs)).toEqual([
            "/etc/pve/nodes/pve1/network/migration.toml is one file in pmxcfs in cluster dev-lab, but 2 resources write it (pve1-package-units-config-services-verify, pve2-package-units-config-services-verify): " +
                "write it once per cluster, through one node (migrationConfig.scope cluster and writerNode), or use a node-scoped path",
        ]);
    });
    test("sdn.cfg and storage.cfg restored twice", async () => {
        const rs = editOptions(copy(prodRollback), "pve-west-02-restore", (o) => (o.part = "cluster"));
        expect(await messages("cluster-file-single-writer", rs)).toEqual([
            "step pve-west-02-restore (in pve-west-02-services-package-units-restore) of node pve-west-02 restores sdn.cfg and storage.cfg, which are cluster-wide: restore them once per cluster, through one node",
        ]);
        expect(await messages("cluster-file-writers", rs)).toEqual([
            "sdn.cfg and storage.cfg are cluster-wide in cluster pve-west, but 2 resources restore them (pve-west-02-services-package-units-restore, pve-west-cluster-restore): restore them once, through one node",
        ]);
    });
});

describe("blue-green-safe", () => {
    test("the active color has no release", async () => {
        const rs = drop(copy(canary), "pve-network-rs-blue");
        expect(await messages("blue-green-safe", rs)).toEqual([
            "active Service pve-network-canary/pve-network-rs selects color blue of pve-network-rs, but no Helm release of that color exists in namespace pve-network-canary",
        ]);
    });
    test("the active color has no replica", async () => {
        const rs = copy(prodRollback);
        byName(rs, "pve-network-rs-blue").props.values.replicaCount = 0;
        expect(await messages("blue-green-safe", rs)).toEqual([
            "active Service pve-network/pve-network-rs selects color blue of pve-network-rs, but its release pve-network-rs-blue has replicaCount 0 (at least 1 needed)",
        ]);
    });
    test("the rollback target is scaled to zero or removed", async () => {
        const held = () => {
            const rs = copy(canary);
            byName(rs, "pve-network-rs-preview").props.metadata.annotations["pve-migration/rollback-target"] = "true";
            return rs;
        };
        expect(await messages("blue-green-safe", held())).toEqual([]);
        const scaled = held();
        byName(scaled, "pve-network-rs-green").props.values.replicaCount = 0;
        expect(await messages("blue-green-safe", scaled)).toEqual([
            "preview Service pve-network-canary/pve-network-rs-preview holds color green as the rollback target of pve-network-rs, but its release pve-network-rs-green has replicaCount 0 (at least 1 needed)",
        ]);
        expect(await messages("blue-green-safe", drop(held(), "pve-network-rs-green"))).toEqual([
            "preview Service pve-network-canary/pve-network-rs-preview holds color green as the rollback target of pve-network-rs, but no Helm release of that color exists in namespace pve-network-canary",
        ]);
    });
    test("an idle color that is not the rollback target may go", async () => {
        expect(await messages("blue-green-safe", drop(copy(canary), "pve-network-rs-green"))).toEqual([]);
    });
    test("a release in another namespace does not count", async () => {
        const rs = copy(canary);
        byName(rs, "pve-network-rs-blue").props.namespace = "elsewhere";
        expect(await messages("blue-green-safe", rs)).toEqual([
            "active Service pve-network-canary/pve-network-rs selects color blue of pve-network-rs, but no Helm release of that color exists in namespace pve-network-canary",
        ]);
    });
});

describe("hygiene (advisory)", () => {
    test("log_migration_decisions off", async () => {
        const rs = editKeepers(
            editToml(copy(canary), "pve-east-01-config", (t) => (t.log_migration_decisions = false)),
            (k) => (k.logMigrationDecisions = "false"),
        );
        const vs = await violations("log-migration-decisions", rs);
        expect(vs.map((v) => [v.enforcementLevel, v.message])).toEqual([
            ["advisory", 'transition record of stack canary-a: logMigrationDecisions should be "true" (got "false")'],
            ["advisory", `${CANARY_TOML}: log_migration_decisions should be true (got false): the decision log is how fallbacks are audited`],
        ]);
    });
    test("fewer than 2 backups kept", async () => {
        const rs = editKeepers(
            editOptions(copy(canary), "pve-east-01-snapshot", (o) => (o.retention = "1")),
            (k) => (k.backupRetention = "1"),
        );
        const vs = await violations("backup-retention", rs);
        expect(vs.map((v) => [v.enforcementLevel, v.message])).toEqual([
            ["advisory", 'transition record of stack canary-a: backupRetention should be at least 2 (got "1")'],
            ["advisory", 'snapshot step: --retention should keep at least 2 backups (got "1")'],
        ]);
    });
    test("the minimum is policy config", async () => {
        expect(await messages("backup-retention", copy(prodRollback), { "backup-retention": { minRetention: 7 } })).toEqual([]);
        expect(await messages("backup-retention", copy(canary), { "backup-retention": { minRetention: 6 } })).toEqual([
            'transition record of stack canary-a: backupRetention should be at least 6 (got "5")',
            'snapshot step: --retention should keep at least 6 backups (got "5")',
        ]);
    });
});
