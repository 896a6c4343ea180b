/**
 * The Pulumi program under the SDK's mock runtime: exact resources, parents, inputs and order
 * for a 3-node stack; no perpetual diff; what a phase change and a rollback change.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { evidenceVerdict, readStack, run } from "../../components/program";
import { transitionId } from "../../components/cluster/record";
import { DEFAULT_STEP_TIMEOUTS, StepArgs, parseCommand, parseStepCommandLine, renderStepLibrary, renderStepStub } from "../../components/scripts";
import { planFor, scriptOf, sha256Text, migrationToml } from "../../components/steps";
import { planCommands } from "../../components/plan";
import { parseStackConfig } from "../../components/config/schema";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import { Recorded, StackOutputs, installMocks, setStackConfig, settleTree } from "../support/mocks";

const NOW = new Date("2026-11-21T12:00:00Z");
const SELF = "organization/pve-network-migration/test";
const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAtestkey\n-----END OPENSSH PRIVATE KEY-----\n";
const SHA = "873668e63f5e47ba54045e70565b7ff320e94dc9769f94e14c38b78a4a68db2a";

function values(phase: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
        cluster: "pve-east",
        phase,
        perlApi: JSON.stringify({ baseUrl: "https://pve-east.example.internal:8006", timeout: 60 }),
        package: JSON.stringify({ version: "0.4.2-1", sha256: SHA, url: "https://apt.example.internal/pve-network-rs_0.4.2-1_amd64.deb" }),
        nodes: JSON.stringify([1, 2, 3].map((i) => ({ name: `pve${i}`, address: `10.20.0.1${i}`, hostKey: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey${i}` }))),
        sshPrivateKeys: JSON.stringify({ default: KEY }),
        ...extra,
    };
}

let projectDir: string;
beforeAll(() => {
    projectDir = fs.mkdtempSync(path.join(os.tmpdir(), "pve-program-"));
    const evidence = {
        schemaVersion: 1,
        stack: "test",
        nodes: ["pve1", "pve2", "pve3"],
        phase: "rust-read-only",
        phaseEnteredAt: "2026-11-19T12:00:00Z",
        collectedAt: "2026-11-21T11:00:00Z",
        contractTests: { endpointsCompared: 12, passed: 12, failed: 0 },
        metrics: {
            source: "http://prometheus.example.internal:9090",
            windowStart: "2026-11-19T12:00:00Z",
            windowEnd: "2026-11-21T11:00:00Z",
            fallbacks: 0,
            applyLatencySeconds: 0.8,
            perlBaselineSeconds: 1.2,
            perNode: ["pve1", "pve2", "pve3"].map((node) => ({ node, fallbacks: 0, applyLatencySeconds: 0.8 })),
        },
    };
    fs.mkdirSync(path.join(projectDir, "stacks/evidence/test"), { recursive: true });
    fs.writeFileSync(path.join(projectDir, "stacks/evidence/test/rust-read-only.json"), JSON.stringify(evidence));
});
afterAll(() => fs.rmSync(projectDir, { recursive: true, force: true }));

async function runStack(
    vals: Record<string, string>,
    deployed?: { phase: string; phaseEnteredAt: string },
    more: StackOutputs = {},
    secretKeys = ["sshPrivateKeys"],
) {
    const records = await installMocks({ [SELF]: deployed ?? {}, ...more });
    setStackConfig(vals, secretKeys);
    const r = await run({ projectDir, now: NOW, guards: true });
    await settleTree(r.resources);
    return { records, run: r, outputs: await r.outputs };
}

const byName = (records: Recorded[], name: string): Recorded => {
    const r = records.find((x) => x.name === name);
    if (!r) throw new Error(`no resource ${name}`);
    return r;
};
/** The command that runs planned step `id` (`<node>-<kind>`, or a cluster step's own command) and the step's arguments there. */
const stepIn = (records: Recorded[], id: string): { record: Recorded; args: StepArgs } => {
    for (const r of records.filter((x) => x.type === "command:remote:Command" || x.type === "command:local:Command")) {
        const c = parseCommand(r.inputs.create);
        if (r.name === id && c.steps.length === 1) return { record: r, args: c.steps[0].args };
        // A command of several steps is a node's (cluster steps are commands of their own), and runs each kind once.
        const s = c.steps.length > 1 ? c.steps.find((x) => `${c.node}-${x.step}` === id) : undefined;
        if (s) return { record: r, args: s.args };
    }
    throw new Error(`no command runs step ${id}`);
};
const optionsOf = (records: Recorded[], id: string) => stepIn(records, id).args;
/** The name of the command that runs planned step `id`. */
const commandOf = (records: Recorded[], id: string) => stepIn(records, id).record.name;
/** The transition id every step carries, from the registered transition record. */
const tid = (records: Recorded[]) => transitionId(records.find((r) => r.name.endsWith("-transition"))!.inputs.keepers);
const shape = (records: Recorded[]) => records.map((r) => `${r.type} ${r.name} <- ${r.parent || "(stack)"}`).sort();

describe("first deployment of a 3-node ssh stack at perl-only", () => {
    let records: Recorded[];
    beforeAll(async () => {
        ({ records } = await runStack(values("perl-only")));
    });

    test("registers exactly these resources with these parents", () => {
        // Two commands per node (package and units before the cluster-wide config, services and verify after it),
        // each under the component of its first step's concern.
        const node = (n: string) => [
            `pve-migration:node:MigrationNode ${n} <- pve-east`,
            `pve-migration:node:RustPackage ${n}-rust-package <- ${n}`,
            `command:remote:Command ${n}-package-units <- ${n}-rust-package`,
            `pve-migration:node:SystemdUnits ${n}-systemd <- ${n}`,
            `command:remote:Command ${n}-services-verify <- ${n}-systemd`,
            `command:remote:CopyToRemote ${n}-step-library <- ${n}`,
        ];
        expect(shape(records)).toEqual(
            [
                "pulumi:pulumi:StackReference deployed <- (stack)",
                "pve-migration:cluster:ClusterMigration pve-east <- (stack)",
                "random:index/randomId:RandomId pve-east-transition <- pve-east",
                "pve-migration:node:MigrationConfigFile pve-east-migration-config <- pve-east",
                "command:remote:Command pve-east-cluster-config <- pve-east-migration-config",
                ...node("pve1"),
                ...node("pve2"),
                ...node("pve3"),
            ].sort(),
        );
        expect(records).toHaveLength(23);
    });

    test("each node's step library is copied once, as a file asset named by its sha256; the steps the plan orders after nothing wait for it", async () => {
        const lib = renderStepLibrary();
        for (const n of ["pve1", "pve2", "pve3"]) {
            const copy = byName(records, `${n}-step-library`);
            expect(copy.inputs.remotePath).toBe(`/var/tmp/pve-network-migration/steps-${lib.sha256}.sh`);
            expect(copy.inputs.source).toBeInstanceOf(pulumi.asset.FileAsset);
            const file = await copy.inputs.source.path;
            expect(file).toBe(path.join(projectDir, ".pulumi-build", `steps-${lib.sha256}.sh`));
            expect(fs.readFileSync(file, "utf8")).toBe(lib.text);
            expect(byName(records, `${n}-package-units`).dependsOn).toEqual([`${n}-step-library`]);
            expect(byName(records, `${n}-services-verify`).dependsOn).toEqual(["pve-east-cluster-config"]);
        }
    });

    test("the cluster-wide migration.toml is written once, through the writer node, after every node's package and units", () => {
        const writes = records.filter((r) => r.name.endsWith("-config") && r.type.startsWith("command:"));
        expect(writes.map((w) => w.name)).toEqual(["pve-east-cluster-config"]);
        const w = byName(records, "pve-east-cluster-config");
        // The whole connection is registered as a Pulumi secret (it carries the private key).
        expect(w.inputs.connection).toEqual({
            [rpc.specialSigKey]: rpc.specialSecretSig,
            value: {
                host: "10.20.0.11",
                port: 22,
                user: "root",
                hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey1",
                privateKey: KEY,
                dialErrorLimit: 3,
                perDialTimeout: 10,
            },
        });
        expect(w.inputs.stdin).toBe(
            renderStepStub("pve1", {
                root: "/",
                staged: `/var/tmp/pve-network-migration/${renderStepLibrary().fileName}`,
                remedy: "copy it again: pulumi up --replace <the URN of pve1-step-library> (pulumi stack --show-urns lists it)",
            }),
        );
        const cfg = parseStackConfig({ values: values("perl-only"), secretKeys: new Set(["sshPrivateKeys"]), stack: "test", projectDir });
        const toml = migrationToml(cfg, "perl-only");
        expect(parseStepCommandLine(w.inputs.create)).toEqual({
            options: {
                root: "/",
                node: "pve1",
                transition: tid(records),
                to: "perl-only",
                path: "/etc/pve/network/migration.toml",
                content: toml,
                sha256: sha256Text(toml),
                "require-quorum": "1",
            },
        });
        expect(w.dependsOn).toEqual(["pve1-package-units", "pve2-package-units", "pve3-package-units"]);
        for (const n of ["pve1", "pve2", "pve3"]) {
            // services, then verify, in one command after the config; package, then units, in one command before it.
            expect(parseCommand(byName(records, `${n}-services-verify`).inputs.create).steps.map((x) => x.step)).toEqual(["services", "verify"]);
            expect(parseCommand(byName(records, `${n}-package-units`).inputs.create).steps.map((x) => x.step)).toEqual(["package", "units"]);
        }
    });

    test("the package step pins version and sha256 and the daemon stays off in perl-only", () => {
        expect(optionsOf(records, "pve2-package")).toEqual({
            options: {
                root: "/",
                node: "pve2",
                transition: tid(records),
                version: "0.4.2-1",
                sha256: SHA,
                url: "https://apt.example.internal/pve-network-rs_0.4.2-1_amd64.deb",
                "rust-service": "pve-network-rs.service",
            },
        });
        expect(optionsOf(records, "pve2-services").options.daemon).toBe("0");
        expect(optionsOf(records, "pve2-verify").argv).toEqual(["pvenet", "status", "--verbose"]);
    });

    test("the transition record carries the transition for the policies", () => {
        const rec = byName(records, "pve-east-transition");
        expect(rec.inputs.byteLength).toBe(4);
        expect(rec.inputs.keepers).toEqual({
            kind: "pve-migration/transition",
            stack: "test",
            cluster: "pve-east",
            ring: "test",
            from: "perl-only",
            fromEnteredAt: "",
            to: "perl-only",
            nodes: "pve1,pve2,pve3",
            scope: "cluster",
            writerNode: "pve1",
            configPath: "/etc/pve/network/migration.toml",
            fallbackEnabled: "true",
            logMigrationDecisions: "true",
            backupRetention: "5",
            perlApiBaseUrl: "https://pve-east.example.internal:8006",
            perlApiTimeout: "60",
            packageVersion: "0.4.2-1",
            packageSha256: SHA,
            upstreamStack: "",
            upstreamPhase: "",
            upstreamEnteredAt: "",
            behindUntilSoaked: "false",
            plaintextSecretKeys: "",
            evidence: "",
        });
    });
});

describe("no perpetual diff", () => {
    test("the same config and deployed state twice register identical inputs", async () => {
        const deployed = { phase: "rust-basic-write", phaseEnteredAt: "2026-11-20T00:00:00Z" };
        const a = await runStack(values("rust-basic-write"), deployed);
        const b = await runStack(values("rust-basic-write"), deployed);
        expect(b.records).toEqual(a.records);
        expect(b.outputs.transition).toEqual({ from: "rust-basic-write", to: "rust-basic-write", kind: "none", id: expect.stringMatching(/^[0-9a-f]{8}$/) });
        expect(b.outputs.phaseEnteredAt).toBe("2026-11-20T00:00:00Z");
    });
});

describe("a phase change changes exactly the expected resources", () => {
    const inputsByName = (records: Recorded[]) => Object.fromEntries(records.map((r) => [r.name, JSON.stringify(r.inputs)]));

    test("rust-read-only -> rust-basic-write: the promotion run and the state after it", async () => {
        const before = await runStack(values("rust-read-only"), { phase: "rust-read-only", phaseEnteredAt: "2026-11-19T12:00:00Z" });
        const during = await runStack(values("rust-basic-write"), { phase: "rust-read-only", phaseEnteredAt: "2026-11-19T12:00:00Z" });
        const after = await runStack(values("rust-basic-write"), { phase: "rust-basic-write", phaseEnteredAt: NOW.toISOString() });
        const b = inputsByName(before.records);
        const d = inputsByName(during.records);
        const a = inputsByName(after.records);
        // The promotion adds the snapshot steps: each node's first command is snapshot, package, units,
        // under the Backups component (its first step's concern) instead of package, units under RustPackage.
        expect(
            Object.keys(d)
                .filter((k) => !(k in b))
                .sort(),
        ).toEqual(["pve1-backups", "pve1-snapshot-package-units", "pve2-backups", "pve2-snapshot-package-units", "pve3-backups", "pve3-snapshot-package-units"]);
        expect(
            Object.keys(b)
                .filter((k) => !(k in d))
                .sort(),
        ).toEqual(["pve1-package-units", "pve1-rust-package", "pve2-package-units", "pve2-rust-package", "pve3-package-units", "pve3-rust-package"]);
        // (RustPackage owns no command in the promotion, and the package comes from a URL: no .deb copy to hold, no wrapper.)
        // Between the two steady states, only the phase-dependent inputs differ.
        expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
        // Every step carries the transition id (a new transition runs every step), so package and
        // units differ too.
        expect(
            Object.keys(a)
                .filter((k) => a[k] !== b[k])
                .sort(),
        ).toEqual([
            "pve-east-cluster-config",
            "pve-east-transition",
            "pve1-package-units",
            "pve1-services-verify",
            "pve2-package-units",
            "pve2-services-verify",
            "pve3-package-units",
            "pve3-services-verify",
        ]);
        for (const n of ["pve1", "pve2", "pve3"]) {
            expect(optionsOf(during.records, `${n}-snapshot`).options).toEqual({
                root: "/",
                node: n,
                transition: tid(during.records),
                from: "rust-read-only",
                to: "rust-basic-write",
                id: expect.stringMatching(/^[0-9a-f]{8}$/),
                backup: "1",
                retention: "5",
                "config-path": "/etc/pve/network/migration.toml",
                "rust-service": "pve-network-rs.service",
                "middleware-service": "pve-network-migration.service",
            });
            // The snapshot first, then package and units, in one command.
            expect(parseCommand(byName(during.records, `${n}-snapshot-package-units`).inputs.create).steps.map((x) => x.step)).toEqual([
                "snapshot",
                "package",
                "units",
            ]);
        }
        // The record carries the evidence's summary (components/evidence EvidenceRecord); the policy judges it.
        expect(JSON.parse(byName(during.records, "pve-east-transition").inputs.keepers.evidence)).toEqual({
            path: "stacks/evidence/test/rust-read-only.json",
            required: true,
            notRequiredBecause: null,
            present: true,
            valid: true,
            requiredSoakSeconds: 86400,
            summary: {
                stack: "test",
                phase: "rust-read-only",
                nodes: ["pve1", "pve2", "pve3"],
                phaseEnteredAt: "2026-11-19T12:00:00Z",
                collectedAt: "2026-11-21T11:00:00Z",
                soakedSeconds: 169200,
                contractCompared: 12,
                contractFailed: 0,
                metricsWindowStart: "2026-11-19T12:00:00Z",
                fallbacks: 0,
                nodesWithMetrics: ["pve1", "pve2", "pve3"],
                applyLatencySeconds: 0.8,
                perlBaselineSeconds: 1.2,
            },
        });
        // When the last node verified the phase (the stand-in verify line of the mocks).
        expect(during.outputs.phaseEnteredAt).toBe("2026-11-21T12:00:00Z");
        expect(during.outputs.previousPhase).toBe("rust-read-only");
    });

    test("a rollback config rust-sdn -> perl-only produces the rollback steps in the runbook's order", async () => {
        const { records, outputs: r } = await runStack(values("perl-only"), { phase: "rust-sdn", phaseEnteredAt: "2026-11-01T00:00:00Z" });
        const deps = (n: string) => byName(records, n).dependsOn;
        // The snapshot's id comes from the record (known in a preview), not from the record's resource.
        const steps = (n: string) => parseCommand(byName(records, n).inputs.create).steps.map((x) => x.step);
        // Four commands per node, split where a cluster step comes between: the snapshot; services,
        // package, units, restore (after the cluster-wide config); legacy-apply (after the cluster
        // restore), which ends its command so that network-confirm, verify come over a new connection.
        expect(deps("pve1-snapshot")).toEqual(["pve1-step-library"]);
        expect(optionsOf(records, "pve1-snapshot").options.id).toBe(transitionId(byName(records, "pve-east-transition").inputs.keepers));
        expect(deps("pve-east-cluster-config")).toEqual(["pve1-snapshot", "pve2-snapshot", "pve3-snapshot"]);
        expect(deps("pve1-services-package-units-restore")).toEqual(["pve-east-cluster-config"]);
        expect(steps("pve1-services-package-units-restore")).toEqual(["services", "package", "units", "restore"]);
        expect(deps("pve-east-cluster-restore")).toEqual(["pve-east-cluster-config"]);
        expect(deps("pve1-legacy-apply")).toEqual(["pve-east-cluster-restore", "pve1-services-package-units-restore"]);
        expect(steps("pve1-legacy-apply")).toEqual(["legacy-apply"]);
        expect(deps("pve1-network-confirm-verify")).toEqual(["pve1-legacy-apply", "pve1-services-package-units-restore"]);
        expect(steps("pve1-network-confirm-verify")).toEqual(["network-confirm", "verify"]);
        expect(optionsOf(records, "pve1-snapshot").options.backup).toBe("1");
        expect(optionsOf(records, "pve1-services").options.daemon).toBe("0");
        expect(optionsOf(records, "pve1-restore").options).toEqual({
            root: "/",
            node: "pve1",
            transition: tid(records),
            from: "rust-sdn",
            to: "perl-only",
            part: "node",
            // SSH nodes have a real pmxcfs: the restore checks quorum before it stages a file under /etc/pve.
            "require-quorum": "1",
        });
        expect(optionsOf(records, "pve-east-cluster-restore").options).toEqual({
            root: "/",
            node: "pve1",
            transition: tid(records),
            from: "rust-sdn",
            to: "perl-only",
            part: "cluster",
            "require-quorum": "1",
        });
        expect(optionsOf(records, "pve2-legacy-apply")).toEqual({
            options: {
                root: "/",
                node: "pve2",
                transition: tid(records),
                from: "rust-sdn",
                to: "perl-only",
                "validate-argc": "4",
                "confirm-timeout": "30",
            },
            argv: ["pvenet-legacy", "validate", "--config", "/etc/network/interfaces", "pvenet-legacy", "apply"],
        });
        // No health command configured: network-confirm's new connection is the check; it restarts the legacy service.
        expect(optionsOf(records, "pve2-network-confirm")).toEqual({
            options: { root: "/", node: "pve2", transition: tid(records), from: "rust-sdn", to: "perl-only", "legacy-service": "pve-network.service" },
        });
        expect(byName(records, "pve-east-cluster-restore").parent).toBe("pve-east-cluster-backups");
        // Per node: snapshot, services, package, units, restore, legacy-apply, network-confirm, verify; plus the two cluster steps.
        expect(r.steps).toHaveLength(3 * 8 + 2);
        expect(r.transition).toEqual({ from: "rust-sdn", to: "perl-only", kind: "rollback", id: expect.stringMatching(/^[0-9a-f]{8}$/) });
    });
});

describe("the dead-man switch's config reaches legacy-apply and network-confirm", () => {
    test("network.confirmTimeout, healthCommand and a raised applyAttempt are carried; the snapshot saves the network", async () => {
        const network = JSON.stringify({ confirmTimeout: 12, healthCommand: ["pvecm", "status"], applyAttempt: 2 });
        const { records } = await runStack(values("perl-only", { network }), { phase: "rust-basic-write", phaseEnteredAt: "2026-11-01T00:00:00Z" });
        expect(optionsOf(records, "pve1-legacy-apply")).toEqual({
            options: {
                root: "/",
                node: "pve1",
                transition: tid(records),
                from: "rust-basic-write",
                to: "perl-only",
                "validate-argc": "4",
                "confirm-timeout": "12",
                "apply-attempt": "2",
            },
            argv: ["pvenet-legacy", "validate", "--config", "/etc/network/interfaces", "pvenet-legacy", "apply"],
        });
        expect(optionsOf(records, "pve1-network-confirm")).toEqual({
            options: {
                root: "/",
                node: "pve1",
                transition: tid(records),
                from: "rust-basic-write",
                to: "perl-only",
                "legacy-service": "pve-network.service",
                "health-argc": "2",
                "apply-attempt": "2",
            },
            argv: ["pvecm", "status"],
        });
        expect(optionsOf(records, "pve1-snapshot").options["network-guard"]).toBe("1");
    });

    test("a promotion arms nothing: no legacy-apply, no network-confirm, the snapshot saves no network", async () => {
        const { records } = await runStack(values("rust-basic-write"), { phase: "rust-read-only", phaseEnteredAt: "2026-11-19T12:00:00Z" });
        expect(records.filter((r) => /-(legacy-apply|network-confirm)/.test(r.name)).map((r) => r.name)).toEqual([]);
        expect(optionsOf(records, "pve1-snapshot").options["network-guard"]).toBe(undefined);
    });
});

describe("evidence for leaving rust-read-only without an apply latency (metrics-gate writes null when Rust applied nothing)", () => {
    const file = () => path.join(projectDir, "stacks/evidence/test/rust-read-only.json");
    let saved: string;
    beforeEach(() => {
        saved = fs.readFileSync(file(), "utf8");
        const ev = JSON.parse(saved);
        ev.metrics.applyLatencySeconds = null;
        ev.metrics.perNode = ev.metrics.perNode.map((n: Record<string, unknown>) => ({ ...n, applyLatencySeconds: null }));
        fs.writeFileSync(file(), JSON.stringify(ev));
    });
    afterEach(() => fs.writeFileSync(file(), saved));

    test("passes the program's gate: the promotion to rust-basic-write is planned, the record carries null", async () => {
        const { records, run: r } = await runStack(values("rust-basic-write"), { phase: "rust-read-only", phaseEnteredAt: "2026-11-19T12:00:00Z" });
        expect(r.planned.transition.kind).toBe("promotion");
        const rec = JSON.parse(byName(records, "pve-east-transition").inputs.keepers.evidence);
        expect([rec.present, rec.valid, rec.summary.applyLatencySeconds]).toEqual([true, true, null]);
        const cfg = parseStackConfig({ values: values("rust-basic-write"), secretKeys: new Set(["sshPrivateKeys"]), stack: "test", projectDir });
        expect(evidenceVerdict(cfg, "rust-read-only", "rust-basic-write", projectDir).reasons).toEqual([]);
    });
});

describe("the SDK's per-promise stacks are off while the program registers (runtime/debuggable.js)", () => {
    const limit = () => Error.stackTraceLimit;

    test("0 from the first registration until the outputs settle, then the previous limit again", async () => {
        const before = limit();
        await installMocks({ [SELF]: {} });
        setStackConfig(values("perl-only"), ["sshPrivateKeys"]);
        const r = await run({ projectDir, now: NOW, guards: true });
        const during = limit();
        // What debuggablePromise stores for every promise made now: `new Error().stack` without a frame.
        const stackDuring = new Error("probe").stack;
        await settleTree(r.resources);
        await r.outputs;
        await new Promise((res) => setImmediate(res));
        expect({ during, stackDuring, after: limit() }).toEqual({ during: 0, stackDuring: "Error: probe", after: before });
        expect(before).toBeGreaterThan(0);
    });

    test("PVE_MIGRATION_STACK_TRACES=1 keeps them", async () => {
        process.env.PVE_MIGRATION_STACK_TRACES = "1";
        try {
            await installMocks({ [SELF]: {} });
            setStackConfig(values("perl-only"), ["sshPrivateKeys"]);
            const before = limit();
            const r = await run({ projectDir, now: NOW, guards: true });
            const during = limit();
            await settleTree(r.resources);
            await r.outputs;
            expect([during, before > 0]).toEqual([before, true]);
        } finally {
            delete process.env.PVE_MIGRATION_STACK_TRACES;
        }
    });

    test("a refused config is thrown before: its stack has frames, the limit is untouched", async () => {
        const before = limit();
        await installMocks({ [SELF]: { phase: "perl-only", phaseEnteredAt: "2026-11-01T00:00:00Z" } });
        setStackConfig(values("rust-basic-write"), ["sshPrivateKeys"]);
        const e = (await run({ projectDir, now: NOW }).catch((x: Error) => x)) as Error;
        expect(e.message).toContain("pve-migration:phase: promotion from perl-only to rust-basic-write skips 1 phase(s)");
        expect(e.stack!.split("\n").filter((l) => l.trimStart().startsWith("at ")).length).toBeGreaterThan(0);
        expect(limit()).toBe(before);
    });
});

describe("the program refuses an unsafe change before registering anything that acts", () => {
    const acting = (records: Recorded[]) => records.filter((r) => r.type !== "pulumi:pulumi:StackReference");

    test("a skipped phase", async () => {
        const records = await installMocks({ [SELF]: { phase: "perl-only", phaseEnteredAt: "2026-11-01T00:00:00Z" } });
        setStackConfig(values("rust-basic-write"), ["sshPrivateKeys"]);
        await expect(run({ projectDir, now: NOW })).rejects.toThrow(
            "invalid stack config:\n  pve-migration:phase: promotion from perl-only to rust-basic-write skips 1 phase(s); promote one phase at a time (next: rust-read-only)",
        );
        expect(acting(records)).toEqual([]);
    });

    test("a promotion without evidence", async () => {
        const records = await installMocks({ [SELF]: { phase: "rust-basic-write", phaseEnteredAt: "2026-11-01T00:00:00Z" } });
        setStackConfig(values("rust-advanced"), ["sshPrivateKeys"]);
        await expect(run({ projectDir, now: NOW })).rejects.toThrow(
            "  pve-migration:phase: promotion from rust-basic-write to rust-advanced needs passing evidence: missing evidence stacks/evidence/test/rust-basic-write.json (needed to leave rust-basic-write by promotion: contract tests and metrics over the soak)",
        );
        expect(acting(records)).toEqual([]);
    });

    test("an invalid monitoring block is refused with every problem by key, nothing registered", async () => {
        const records = await installMocks({});
        const monitoring = JSON.stringify({ alerts: { perlBaselineSeconds: 0 }, rulesFile: { host: { name: "mon1", address: "10.20.0.9;id" } } });
        setStackConfig(values("perl-only", { monitoring }), ["sshPrivateKeys"]);
        await expect(run({ projectDir, now: NOW })).rejects.toThrow(
            new Error("invalid stack config:\n  pve-migration:monitoring.rulesFile.host.address: must be an IPv4 or IPv6 address or a DNS name"),
        );
        expect(records).toEqual([]);
    });

    test("an SSH key that is not a Pulumi secret", async () => {
        const records = await installMocks({});
        setStackConfig(values("perl-only"), []);
        await expect(run({ projectDir, now: NOW })).rejects.toThrow(
            "pve-migration:sshPrivateKeys: must be a Pulumi secret (pulumi config set --secret --path 'sshPrivateKeys.default' ...)",
        );
        expect(records).toEqual([]);
    });
});

describe("rings: the upstream's deployed phase, read through a stack reference", () => {
    const UP = "organization/pve-network-migration/canary-a";
    const ringValues = (phase: string) =>
        values(phase, { ring: JSON.stringify({ name: "canary-b", upstream: UP, behindUntilSoaked: true }), gates: JSON.stringify({ requireEvidence: false }) });

    test("canary-b may not reach canary-a's phase before canary-a has soaked", async () => {
        const records = await installMocks({
            [SELF]: { phase: "perl-only", phaseEnteredAt: "2026-11-01T00:00:00Z" },
            [UP]: { phase: "rust-read-only", phaseEnteredAt: "2026-11-21T11:00:00Z" },
        });
        setStackConfig(ringValues("rust-read-only"), ["sshPrivateKeys"]);
        await expect(run({ projectDir, now: NOW })).rejects.toThrow(
            "pve-migration:phase: ring test must stay at least one phase behind canary-a until canary-a has soaked in rust-read-only (1h0m of 1d0h)",
        );
        expect(records.map((r) => `${r.type} ${r.name}`)).toEqual(["pulumi:pulumi:StackReference deployed", "pulumi:pulumi:StackReference upstream"]);
    });

    test("once canary-a has soaked, canary-b follows; the upstream state is in the record", async () => {
        const { records } = await runStack(
            ringValues("rust-read-only"),
            { phase: "perl-only", phaseEnteredAt: "2026-11-01T00:00:00Z" },
            { [UP]: { phase: "rust-read-only", phaseEnteredAt: "2026-11-20T11:00:00Z" } },
        );
        expect(byName(records, "pve-east-transition").inputs.keepers).toMatchObject({
            ring: "canary-b",
            upstreamStack: "canary-a",
            upstreamPhase: "rust-read-only",
            upstreamEnteredAt: "2026-11-20T11:00:00Z",
            behindUntilSoaked: "true",
        });
    });

    test("a ring never goes ahead of its upstream, soaked or not", async () => {
        await installMocks({
            [SELF]: { phase: "rust-read-only", phaseEnteredAt: "2026-11-01T00:00:00Z" },
            [UP]: { phase: "rust-read-only", phaseEnteredAt: "2026-10-01T00:00:00Z" },
        });
        setStackConfig(ringValues("rust-basic-write"), ["sshPrivateKeys"]);
        await expect(run({ projectDir, now: NOW })).rejects.toThrow(
            "pve-migration:phase: ring test would be ahead of its upstream canary-a: rust-basic-write is after rust-read-only (promote canary-a first)",
        );
    });

    test("a rollback is allowed even when the upstream went back first", async () => {
        const { records } = await runStack(
            ringValues("perl-only"),
            { phase: "rust-read-only", phaseEnteredAt: "2026-11-01T00:00:00Z" },
            { [UP]: { phase: "perl-only", phaseEnteredAt: "2026-11-21T11:30:00Z" } },
        );
        expect(commandOf(records, "pve1-legacy-apply")).toBe("pve1-services-package-units-legacy-apply");
        expect(commandOf(records, "pve1-network-confirm")).toBe("pve1-network-confirm-verify");
    });
});

describe("the dev stack: local commands on sandbox roots", () => {
    test("registers local commands whose root is the node's sandbox folder", async () => {
        const dev = fs.readFileSync(path.join(__dirname, "../../stacks/Pulumi.dev.yaml"), "utf8");
        const YAML = await import("yaml");
        const cfg = YAML.parse(dev).config as Record<string, unknown>;
        const vals = Object.fromEntries(Object.entries(cfg).map(([k, v]) => [k.replace(/^pve-migration:/, ""), typeof v === "string" ? v : JSON.stringify(v)]));
        const { records } = await runStack(vals, undefined, {}, []);
        const pkg = stepIn(records, "pve1-package").record;
        expect(pkg.type).toBe("command:local:Command");
        expect(pkg.inputs.interpreter).toEqual(["/bin/sh", "-c"]);
        expect(optionsOf(records, "pve1-package").options).toEqual({
            root: path.join(projectDir, ".sandbox/dev/pve1"),
            node: "pve1",
            transition: tid(records),
            version: "0.4.2-1",
            sha256: "873668e63f5e47ba54045e70565b7ff320e94dc9769f94e14c38b78a4a68db2a",
            "deb-path": path.join(projectDir, ".sandbox/debs/pve-network-rs_0.4.2-1_amd64.deb"),
            "rust-service": "pve-network-rs.service",
        });
        expect(records.filter((r) => r.type.startsWith("command:")).every((r) => r.type === "command:local:Command")).toBe(true);
        expect(parseStepCommandLine(byName(records, "dev-lab-cluster-config").inputs.create).options["require-quorum"]).toBe("0");
    });
});

describe("the deployed phase comes from what the nodes verified (outputs after a failed run)", () => {
    const attempt = (from: string, to: string, floor: string, ceiling: string, id = "f00d0001") => ({
        from,
        to,
        id,
        fromEnteredAt: "2026-11-01T00:00:00Z",
        floor,
        ceiling,
    });
    const failedRollback = {
        // What the engine keeps after a rollback rust-full -> perl-only that failed half-way: the old
        // outputs with the run's first event (its attempt) copied over them.
        phase: "rust-full",
        phaseEnteredAt: "2026-11-01T00:00:00Z",
        transition: { from: "rust-sdn", to: "rust-full", kind: "promotion", id: "0ld00000" },
        nodes: ["pve1", "pve2", "pve3"],
        attempt: attempt("rust-full", "perl-only", "perl-only", "rust-full"),
    };

    test("every output comes from the verify steps, and the attempt is recorded", async () => {
        const { outputs, run: r } = await runStack(values("perl-only"), { phase: "rust-full", phaseEnteredAt: "2026-11-01T00:00:00Z" });
        expect(outputs.attempt).toEqual({
            from: "rust-full",
            to: "perl-only",
            id: r.planned.transition.id,
            fromEnteredAt: "2026-11-01T00:00:00Z",
            floor: "perl-only",
            ceiling: "rust-full",
        });
        expect(r.planned.transition.id).toBe(
            transitionId(
                byName((await runStack(values("perl-only"), { phase: "rust-full", phaseEnteredAt: "2026-11-01T00:00:00Z" })).records, "pve-east-transition").inputs
                    .keepers,
            ),
        );
        expect(outputs.verified).toEqual(
            Object.fromEntries(["pve1", "pve2", "pve3"].map((n) => [n, { phase: "perl-only", transition: r.planned.attempt.id, at: "2026-11-21T12:00:00Z" }])),
        );
        expect([outputs.phase, outputs.phaseEnteredAt, outputs.previousPhase]).toEqual(["perl-only", "2026-11-21T12:00:00Z", "rust-full"]);
    });

    test("the same config after a failed rollback resumes it: same plan, same transition id", async () => {
        const first = await runStack(values("perl-only"), { phase: "rust-full", phaseEnteredAt: "2026-11-01T00:00:00Z" });
        const again = await runStack(values("perl-only"), { ...failedRollback, attempt: first.run.planned.attempt } as never);
        expect(again.run.planned.basis.kind).toBe("resume");
        expect(again.records.filter((x) => x.type.startsWith("command:"))).toEqual(first.records.filter((x) => x.type.startsWith("command:")));
    });

    test("a rollback config after a failed promotion rolls back from the highest phase a node may be in", async () => {
        const failedPromotion = {
            phase: "rust-read-only",
            phaseEnteredAt: "2026-11-01T00:00:00Z",
            transition: { id: "0ld00000" },
            nodes: ["pve1", "pve2", "pve3"],
            attempt: attempt("rust-read-only", "rust-basic-write", "rust-read-only", "rust-basic-write"),
        };
        const { records, run: r } = await runStack(values("rust-read-only"), failedPromotion as never);
        expect(r.planned.basis).toEqual({
            kind: "recover",
            from: "rust-basic-write",
            fromEnteredAt: "2026-11-01T00:00:00Z",
            floor: "rust-read-only",
            ceiling: "rust-basic-write",
        });
        // The rollback's backup, restore and legacy apply run on every node, whatever it reached.
        for (const n of ["pve1", "pve2", "pve3"]) {
            expect(optionsOf(records, `${n}-snapshot`).options.backup).toBe("1");
            expect(optionsOf(records, `${n}-restore`).options).toEqual({
                root: "/",
                node: n,
                transition: tid(records),
                from: "rust-basic-write",
                to: "rust-read-only",
                part: "node",
                "require-quorum": "1",
            });
            expect(byName(records, commandOf(records, `${n}-legacy-apply`)).dependsOn).toEqual(["pve-east-cluster-restore", commandOf(records, `${n}-restore`)]);
        }
    });

    test("any other phase is refused before anything is registered, naming what to do", async () => {
        await expect(runStack(values("rust-full"), failedRollback as never)).rejects.toThrow(
            "pve-migration:phase: the last update (from rust-full to perl-only, transition f00d0001) did not complete on every node, so nodes may be anywhere between perl-only and rust-full: set the phase to perl-only to finish it",
        );
    });
});

describe("upstream rings are named in the current organization and project", () => {
    test("a bare stack name is resolved as organization/project/stack", async () => {
        const up = "organization/pve-network-migration/canary-a";
        const { records, run: r } = await runStack(
            values("perl-only", { ring: JSON.stringify({ name: "canary-b", upstream: "canary-a" }) }),
            { phase: "perl-only", phaseEnteredAt: "2026-11-01T00:00:00Z" },
            { [up]: { phase: "rust-read-only", phaseEnteredAt: "2026-11-01T00:00:00Z" } },
        );
        expect(records.filter((x) => x.type === "pulumi:pulumi:StackReference").map((x) => x.inputs.name)).toEqual([SELF, up]);
        expect(byName(records, "pve-east-transition").inputs.keepers.upstreamPhase).toBe("rust-read-only");
        expect(r.planned.transition.kind).toBe("none");
    });

    test("a stack reference whose read fails (the engine's read of a stack that does not exist) is a config error naming ring.upstream", async () => {
        const failing = {
            getOutputDetails: () => Promise.reject(new Error('unknown stack "organization/pve-network-migration/canary-a"')),
        } as unknown as pulumi.StackReference;
        await expect(readStack(failing, "organization/pve-network-migration/canary-a", "ring.upstream")).rejects.toThrow(
            'pve-migration:ring.upstream: cannot read stack organization/pve-network-migration/canary-a: unknown stack "organization/pve-network-migration/canary-a" (does it exist yet? deploy it first, or name it as org/project/stack)',
        );
    });
});

describe("every step command: no previous output in its environment, its time limit in its command line", () => {
    const isCommand = (r: Recorded) => r.type === "command:remote:Command" || r.type === "command:local:Command";

    test("network.requiredInterfaces reaches every node's verify step as --required-interfaces, and only when set", async () => {
        const withNames = await runStack(values("perl-only", { network: JSON.stringify({ requiredInterfaces: ["bond0", "vmbr0.100"] }) }));
        for (const n of ["pve1", "pve2", "pve3"]) expect(optionsOf(withNames.records, `${n}-verify`).options["required-interfaces"]).toBe("bond0,vmbr0.100");
        const without = await runStack(values("perl-only"));
        for (const n of ["pve1", "pve2", "pve3"]) expect("required-interfaces" in optionsOf(without.records, `${n}-verify`).options).toBe(false);
    });

    test("ssh stack: limits from stepTimeouts (default and per step), sudo -n only for the non-root user", async () => {
        const nodes = [1, 2, 3].map((i) => ({
            name: `pve${i}`,
            address: `10.20.0.1${i}`,
            hostKey: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHostKey${i}`,
            ...(i === 2 ? { sshUser: "deploy" } : {}),
        }));
        const vals = values("perl-only", { nodes: JSON.stringify(nodes), stepTimeouts: JSON.stringify({ default: 300, verify: 45 }) });
        const { records } = await runStack(vals);
        const cfg = parseStackConfig({ values: vals, secretKeys: new Set(["sshPrivateKeys"]), stack: "test", projectDir });
        const plan = planFor(cfg, "perl-only", "perl-only");
        const commands = records.filter(isCommand);
        expect(commands.map((r) => r.name).sort()).toEqual(
            planCommands(plan)
                .map((c) => c.id)
                .sort(),
        );
        expect(commands.every((r) => r.type === "command:remote:Command")).toBe(true);
        for (const c of planCommands(plan)) {
            const r = byName(records, c.id);
            expect([c.id, r.inputs.addPreviousOutputInEnv]).toEqual([c.id, false]);
            const parsed = parseCommand(r.inputs.create);
            expect([c.id, parsed.node, parsed.killAfter, parsed.sudo]).toEqual([c.id, c.node, 10, c.node === "pve2"]);
            expect(parsed.steps.map((x) => [x.step, x.timeLimit])).toEqual(c.steps.map((x) => [scriptOf(x.kind), x.kind === "verify" ? 45 : 300]));
        }
    });

    test("dev stack (local commands): every command has addPreviousOutputInEnv false and the default limit of its step", async () => {
        const dev = fs.readFileSync(path.join(__dirname, "../../stacks/Pulumi.dev.yaml"), "utf8");
        const YAML = await import("yaml");
        const cfg = YAML.parse(dev).config as Record<string, unknown>;
        const vals = Object.fromEntries(Object.entries(cfg).map(([k, v]) => [k.replace(/^pve-migration:/, ""), typeof v === "string" ? v : JSON.stringify(v)]));
        const { records } = await runStack(vals, undefined, {}, []);
        const commands = records.filter(isCommand);
        const parsedCfg = parseStackConfig({ values: vals, secretKeys: new Set(), stack: "test", projectDir });
        expect(commands.map((r) => r.name).sort()).toEqual(
            planCommands(planFor(parsedCfg, "perl-only", parsedCfg.phase))
                .map((c) => c.id)
                .sort(),
        );
        expect(commands.filter((r) => r.type !== "command:local:Command" || r.inputs.addPreviousOutputInEnv !== false).map((r) => r.name)).toEqual([]);
        for (const r of commands) {
            const parsed = parseCommand(r.inputs.create);
            expect([r.name, parsed.sudo, parsed.steps.map((x) => x.timeLimit)]).toEqual([r.name, false, parsed.steps.map((x) => DEFAULT_STEP_TIMEOUTS[x.step])]);
        }
    });
});
