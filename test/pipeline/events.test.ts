/**
 * Engine events in this project's terms (components/pipeline/events.ts): streams recorded in
 * pulumi/pulumi's own tests (no step resources there), then streams hand-written in the
 * EngineEvent shape with this project's URNs (test/pipeline/fixtures/README.md says which is
 * which). Every expectation is the whole output, compared as JSON lines so that the key order
 * of `--json` is pinned too.
 */
import * as fs from "fs";
import * as path from "path";
import type { EngineEvent } from "../../components/automation";
import { planCommands, planSteps } from "../../components/plan";
import {
    EventCommand,
    EventMapper,
    PipelineEvent,
    PipelineSummary,
    eventCommands,
    isoTime,
    plainMessage,
    resourceName,
    stepLogLines,
} from "../../components/pipeline/events";

/** The engine events of a fixture, one JSON object per line. */
function fixture(name: string): EngineEvent[] {
    const text = fs.readFileSync(path.join(__dirname, "fixtures", name), "utf8");
    return text
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as EngineEvent);
}

/** The `--json` lines of a stream: its events, then the summary. */
function jsonLines(events: readonly EngineEvent[], commands: readonly EventCommand[] = COMMANDS): string[] {
    const m = new EventMapper({ commands });
    const out: (PipelineEvent | PipelineSummary)[] = events.flatMap((e) => m.map(e));
    return [...out, m.summary()].map((o) => JSON.stringify(o));
}

const lines = (...objects: object[]) => objects.map((o) => JSON.stringify(o));

// The commands of dev-lab's promotion perl-only -> rust-read-only, cluster-wide config through pve1
// (the plan test below checks that planCommands gives exactly these).
const SPU = ["snapshot", "package", "units"];
const SV = ["services", "verify"];
const COMMANDS: EventCommand[] = [
    { id: "pve1-snapshot-package-units", node: "pve1", cluster: false, steps: SPU },
    { id: "pve2-snapshot-package-units", node: "pve2", cluster: false, steps: SPU },
    { id: "pve3-snapshot-package-units", node: "pve3", cluster: false, steps: SPU },
    { id: "dev-lab-cluster-config", node: "pve1", cluster: true, steps: ["cluster-config"] },
    { id: "pve1-services-verify", node: "pve1", cluster: false, steps: SV },
    { id: "pve2-services-verify", node: "pve2", cluster: false, steps: SV },
    { id: "pve3-services-verify", node: "pve3", cluster: false, steps: SV },
];

const EMPTY_SUMMARY_TAIL = { nodes: [], failed: [], interrupted: [] };

describe("helpers", () => {
    test("resourceName: the part after the last ::", () => {
        expect(
            [
                "urn:pulumi:dev::pve-network-migration::pve-migration:node:Backups$command:local:Command::pve1-snapshot-package-units",
                "urn:pulumi:dev::pve-network-migration::pulumi:providers:command::default_1_2_1",
                "pve1-services-verify",
            ].map(resourceName),
        ).toEqual(["pve1-snapshot-package-units", "default_1_2_1", "pve1-services-verify"]);
    });

    test("isoTime: Unix seconds as ISO UTC, milliseconds only when there are some", () => {
        expect([isoTime(1796637600), isoTime(0), isoTime(1796637600.25)]).toEqual(["2026-12-07T10:00:00Z", "1970-01-01T00:00:00Z", "2026-12-07T10:00:00.250Z"]);
    });

    test("plainMessage: the CLI's colour tags and trailing white space removed", () => {
        expect([
            plainMessage("<{%reset%}>create failed intentionally<{%reset%}>\n"),
            plainMessage("<{%fg 1%}>error: <{%reset%}>a\nb \n\n"),
            plainMessage("  kept  "),
        ]).toEqual(["create failed intentionally", "error: a\nb", "  kept"]);
    });

    test("stepLogLines: only lines of log_line's format; detail may be empty or hold spaces and =", () => {
        const stdout = [
            "pve-migration: pve1: lock taken",
            "2026-12-07T10:00:00Z node=pve1 from=perl-only to=rust-read-only step=package result=installed detail=some text",
            "2026-12-07T10:00:04Z node=pve1 from=perl-only to=rust-read-only step=units result=enabled detail=",
            "2026-12-07T10:00:09Z node=pve1 from=perl-only to=rust-read-only step=verify result=failed detail=check=fallback value=3 (want 0)\r",
            "2026-12-07T10:00:09Z node=pve1 step=verify result=ok detail=not the format (no from, to)",
            "",
        ].join("\n");
        expect(stepLogLines(stdout)).toEqual([
            { step: "package", result: "installed", detail: "some text", at: "2026-12-07T10:00:00Z" },
            { step: "units", result: "enabled", detail: "", at: "2026-12-07T10:00:04Z" },
            { step: "verify", result: "failed", detail: "check=fallback value=3 (want 0)", at: "2026-12-07T10:00:09Z" },
        ]);
        expect([stepLogLines("[secret]"), stepLogLines(undefined), stepLogLines({ ciphertext: "[secret]" }), stepLogLines("")]).toEqual([[], [], [], []]);
    });

    test("eventCommands: planCommands' commands as the mapper takes them (dev-lab's promotion is COMMANDS)", () => {
        const plan = planSteps({
            cluster: "dev-lab",
            from: "perl-only",
            to: "rust-read-only",
            nodes: ["pve1", "pve2", "pve3"],
            scope: "cluster",
            writerNode: "pve1",
        });
        expect(eventCommands(planCommands(plan))).toEqual(COMMANDS);
    });
});

describe("streams recorded in pulumi/pulumi's tests (no step resources: resource, diagnostic, policy events and the summary)", () => {
    test("display/up-3: six creates in parallel; the stack resource is no resource event", () => {
        const at = (s: number) => isoTime(1648798256 + s - 56);
        const r = (event: string, resource: string, resourceType: string, t: number, durationSeconds?: number) =>
            durationSeconds === undefined
                ? { type: "resource", event, resource, resourceType, op: "create", at: at(t) }
                : { type: "resource", event, resource, resourceType, op: "create", durationSeconds, at: at(t) };
        const ROLE = "aws:iam/role:Role";
        const SG = "aws:ec2/securityGroup:SecurityGroup";
        const RPA = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
        expect(jsonLines(fixture("pulumi-display-up-3.jsonl"))).toEqual(
            lines(
                r("started", "eks-role", ROLE, 56),
                r("started", "eks-sg", SG, 56),
                r("finished", "eks-role", ROLE, 58, 2),
                r("started", "eks-rpa-service-policy", RPA, 58),
                r("started", "eks-rpa-cluster-policy", RPA, 58),
                r("finished", "eks-rpa-service-policy", RPA, 59, 1),
                r("finished", "eks-rpa-cluster-policy", RPA, 59, 1),
                r("finished", "eks-sg", SG, 60, 4),
                r("started", "eks-cluster", "aws:eks/cluster:Cluster", 60),
                r("finished", "eks-cluster", "aws:eks/cluster:Cluster", 555, 495),
                { type: "summary", result: "succeeded", changes: { create: 6 }, durationSeconds: 502, maybeCorrupt: false, ...EMPTY_SUMMARY_TAIL },
            ),
        );
        expect(at(56)).toBe("2022-04-01T07:30:56Z");
    });

    test("display/up-interrupted: what started and never ended is interrupted at the end of the stream; a component (no custom key) is no resource", () => {
        expect(jsonLines(fixture("pulumi-display-up-interrupted.jsonl"))).toEqual(
            lines(
                { type: "resource", event: "started", resource: "completed-bucket", resourceType: "aws:s3/bucket:Bucket", op: "create", at: "2023-11-14T22:13:22Z" },
                {
                    type: "resource",
                    event: "finished",
                    resource: "completed-bucket",
                    resourceType: "aws:s3/bucket:Bucket",
                    op: "create",
                    durationSeconds: 1,
                    at: "2023-11-14T22:13:23Z",
                },
                {
                    type: "resource",
                    event: "started",
                    resource: "interrupted-instance",
                    resourceType: "aws:ec2/instance:Instance",
                    op: "create",
                    at: "2023-11-14T22:13:25Z",
                },
                {
                    type: "resource",
                    event: "started",
                    resource: "interrupted-db",
                    resourceType: "aws:rds/instance:Instance",
                    op: "update",
                    at: "2023-11-14T22:13:26Z",
                },
                {
                    type: "resource",
                    event: "interrupted",
                    resource: "interrupted-instance",
                    resourceType: "aws:ec2/instance:Instance",
                    op: "create",
                    durationSeconds: 3,
                    at: "2023-11-14T22:13:28Z",
                },
                {
                    type: "resource",
                    event: "interrupted",
                    resource: "interrupted-db",
                    resourceType: "aws:rds/instance:Instance",
                    op: "update",
                    durationSeconds: 2,
                    at: "2023-11-14T22:13:28Z",
                },
                {
                    type: "summary",
                    result: "failed",
                    changes: { create: 1, same: 1 },
                    durationSeconds: 7,
                    maybeCorrupt: false,
                    nodes: [],
                    failed: [],
                    interrupted: ["interrupted-instance", "interrupted-db"],
                },
            ),
        );
    });

    test("display/failed-stacks-dont-rewrite-operations: a failure without an error diagnostic (error null), a delete-replaced, maybeCorrupt", () => {
        const T = "pulumi-python:dynamic:Resource";
        expect(jsonLines(fixture("pulumi-display-failed-stacks-dont-rewrite-operations.jsonl"))).toEqual(
            lines(
                { type: "resource", event: "started", resource: "test-x", resourceType: T, op: "update", at: "2024-05-30T16:42:55Z" },
                { type: "resource", event: "started", resource: "test-r", resourceType: T, op: "delete-replaced", at: "2024-05-30T16:42:55Z" },
                {
                    type: "resource",
                    event: "failed",
                    resource: "test-x",
                    resourceType: T,
                    op: "update",
                    durationSeconds: 3,
                    error: null,
                    at: "2024-05-30T16:42:58Z",
                },
                { type: "resource", event: "finished", resource: "test-r", resourceType: T, op: "delete-replaced", durationSeconds: 7, at: "2024-05-30T16:43:02Z" },
                { type: "summary", result: "failed", changes: { same: 1 }, durationSeconds: 8, maybeCorrupt: true, nodes: [], failed: ["test-x"], interrupted: [] },
            ),
        );
    });

    test("lifecycletest TestResourceError: the error diagnostic of the URN becomes the failure's error; colour tags removed", () => {
        const at = "1970-01-01T00:00:00Z";
        expect(jsonLines(fixture("pulumi-engine-resource-error.jsonl"))).toEqual(
            lines(
                { type: "resource", event: "started", resource: "resA", resourceType: "pkgA:m:typA", op: "create", at },
                { type: "diagnostic", severity: "error", resource: "resA", message: "create failed intentionally" },
                {
                    type: "resource",
                    event: "failed",
                    resource: "resA",
                    resourceType: "pkgA:m:typA",
                    op: "create",
                    durationSeconds: 0,
                    error: "create failed intentionally",
                    at,
                },
                { type: "diagnostic", severity: "error", message: "update failed" },
                { type: "summary", result: "failed", changes: {}, durationSeconds: 1, maybeCorrupt: false, nodes: [], failed: ["resA"], interrupted: [] },
            ),
        );
    });

    test("lifecycletest TestSimpleAnalyzeResourceFailure: a mandatory policy violation fails the run; policy summary events are ignored", () => {
        expect(jsonLines(fixture("pulumi-engine-policy-failure.jsonl"))).toEqual(
            lines(
                { type: "policy", pack: "analyzerA", policy: "always-fails", enforcement: "mandatory", resource: "resA", message: "a policy failed" },
                { type: "summary", result: "failed", changes: {}, durationSeconds: 1, maybeCorrupt: false, ...EMPTY_SUMMARY_TAIL },
            ),
        );
    });
});

/** Keys of a step event up to `op`, in the JSON lines' order. */
function step(event: string, node: string, resource: string, steps: string[], op = "create", cluster = false) {
    return { type: "step", event, node, cluster, resource, steps, op };
}
const at = (s: number) => `2026-12-07T10:00:${String(s).padStart(2, "0")}Z`;
const spuLog = (node: string, s: number) => [
    {
        step: "snapshot",
        result: "done",
        detail: `backup=/var/lib/pve-network/backups/${node}-20261207T1000${String(s + 3).padStart(2, "0")}Z.tar.gz sha256=9f2c`,
        at: at(s + 3),
    },
    { step: "package", result: "installed", detail: "pve-network-rs 0.4.1 (was not installed)", at: at(s + 20) },
    { step: "units", result: "enabled", detail: "", at: at(s + 24) },
];
const svLog = (s: number) => [
    { step: "services", result: "restarted", detail: "pve-network-rs.service", at: at(s + 4) },
    { step: "verify", result: "ok", detail: "3 checks passed", at: at(s + 9) },
];
const stepSummary = (resource: string, steps: string[], result: string, durationSeconds: number | null) => ({ resource, steps, result, durationSeconds });

describe("streams hand-written in the EngineEvent shape with this project's URNs (not recorded from a CLI)", () => {
    test("hand-written: an update that succeeds on 3 nodes, with the steps' log lines, a policy advisory and a warning", () => {
        const R = "random:index/randomId:RandomId";
        expect(jsonLines(fixture("project-up-succeeded.jsonl"))).toEqual(
            lines(
                { type: "resource", event: "started", resource: "dev-lab-transition", resourceType: R, op: "create", at: at(2) },
                { type: "resource", event: "finished", resource: "dev-lab-transition", resourceType: R, op: "create", durationSeconds: 0, at: at(2) },
                { ...step("started", "pve1", "pve1-snapshot-package-units", SPU), at: at(3) },
                { ...step("started", "pve2", "pve2-snapshot-package-units", SPU), at: at(3) },
                { ...step("started", "pve3", "pve3-snapshot-package-units", SPU), at: at(4) },
                {
                    type: "policy",
                    pack: "pve-network-migration",
                    policy: "backup-retention",
                    enforcement: "advisory",
                    resource: "pve3-snapshot-package-units",
                    message:
                        'Nodes keep at least the configured number of backups, so a rollback can go back more than one step.\nsnapshot step: --retention should keep at least 2 backups (got "1")',
                },
                { ...step("finished", "pve1", "pve1-snapshot-package-units", SPU), result: "ok", durationSeconds: 28, log: spuLog("pve1", 3), at: at(31) },
                { ...step("finished", "pve2", "pve2-snapshot-package-units", SPU), result: "ok", durationSeconds: 30, log: spuLog("pve2", 3), at: at(33) },
                // pve3's stdout is "[secret]" in this stream.
                { ...step("finished", "pve3", "pve3-snapshot-package-units", SPU), result: "ok", durationSeconds: 32, log: [], at: at(36) },
                { ...step("started", "pve1", "dev-lab-cluster-config", ["cluster-config"], "create", true), at: at(36) },
                {
                    type: "diagnostic",
                    severity: "warning",
                    node: "pve1",
                    resource: "dev-lab-cluster-config",
                    message: "pve2 answered slowly (2.1 s) while the cluster config was written",
                },
                {
                    ...step("finished", "pve1", "dev-lab-cluster-config", ["cluster-config"], "create", true),
                    result: "ok",
                    durationSeconds: 7,
                    log: [{ step: "cluster-config", result: "written", detail: "/etc/pve/pve-network/migration.toml phase=rust-read-only", at: at(42) }],
                    at: at(43),
                },
                { ...step("started", "pve1", "pve1-services-verify", SV), at: at(43) },
                { ...step("started", "pve2", "pve2-services-verify", SV), at: at(43) },
                { ...step("started", "pve3", "pve3-services-verify", SV), at: at(44) },
                { ...step("finished", "pve1", "pve1-services-verify", SV), result: "ok", durationSeconds: 12, log: svLog(43), at: at(55) },
                { ...step("finished", "pve2", "pve2-services-verify", SV), result: "ok", durationSeconds: 13, log: svLog(43), at: at(56) },
                { ...step("finished", "pve3", "pve3-services-verify", SV), result: "ok", durationSeconds: 14, log: svLog(44), at: at(58) },
                {
                    type: "summary",
                    result: "succeeded",
                    changes: { create: 14, same: 1 },
                    durationSeconds: 58,
                    maybeCorrupt: false,
                    nodes: [
                        {
                            node: "pve1",
                            steps: [
                                stepSummary("pve1-snapshot-package-units", SPU, "ok", 28),
                                stepSummary("dev-lab-cluster-config", ["cluster-config"], "ok", 7),
                                stepSummary("pve1-services-verify", SV, "ok", 12),
                            ],
                        },
                        { node: "pve2", steps: [stepSummary("pve2-snapshot-package-units", SPU, "ok", 30), stepSummary("pve2-services-verify", SV, "ok", 13)] },
                        { node: "pve3", steps: [stepSummary("pve3-snapshot-package-units", SPU, "ok", 32), stepSummary("pve3-services-verify", SV, "ok", 14)] },
                    ],
                    failed: [],
                    interrupted: [],
                },
            ),
        );
    });

    test("hand-written: an update that fails on pve2 (error diagnostic, then resOpFailedEvent); pve1 and pve3 finish", () => {
        const error =
            "exit status 3: running \"/bin/sh -c 'pve-migration-run snapshot package units'\":\npve-migration package on pve2: dpkg --install pve-network-rs_0.4.1_amd64.deb failed (exit 1)";
        expect(jsonLines(fixture("project-up-failed-pve2.jsonl"))).toEqual(
            lines(
                { ...step("started", "pve1", "pve1-snapshot-package-units", SPU), at: at(3) },
                { ...step("started", "pve2", "pve2-snapshot-package-units", SPU), at: at(3) },
                { ...step("started", "pve3", "pve3-snapshot-package-units", SPU), at: at(3) },
                { type: "diagnostic", severity: "error", node: "pve2", resource: "pve2-snapshot-package-units", message: error },
                { ...step("failed", "pve2", "pve2-snapshot-package-units", SPU), result: "failed", durationSeconds: 9, log: [], error, at: at(12) },
                { ...step("finished", "pve1", "pve1-snapshot-package-units", SPU), result: "ok", durationSeconds: 27, log: spuLog("pve1", 3), at: at(30) },
                { ...step("finished", "pve3", "pve3-snapshot-package-units", SPU), result: "ok", durationSeconds: 28, log: spuLog("pve3", 3), at: at(31) },
                { type: "diagnostic", severity: "error", message: "update failed" },
                {
                    type: "summary",
                    result: "failed",
                    changes: { create: 2, same: 2 },
                    durationSeconds: 31,
                    maybeCorrupt: false,
                    nodes: [
                        { node: "pve1", steps: [stepSummary("pve1-snapshot-package-units", SPU, "ok", 27)] },
                        { node: "pve2", steps: [stepSummary("pve2-snapshot-package-units", SPU, "failed", 9)] },
                        { node: "pve3", steps: [stepSummary("pve3-snapshot-package-units", SPU, "ok", 28)] },
                    ],
                    failed: ["pve2-snapshot-package-units"],
                    interrupted: [],
                },
            ),
        );
    });

    test("hand-written: a preview (planning) plans; its outputs events and the unchanged (same) command give nothing", () => {
        expect(jsonLines(fixture("project-preview.jsonl"))).toEqual(
            lines(
                { type: "resource", event: "planned", resource: "dev-lab-transition", resourceType: "random:index/randomId:RandomId", op: "create", at: at(1) },
                { ...step("planned", "pve1", "pve1-snapshot-package-units", SPU), at: at(1) },
                { ...step("planned", "pve2", "pve2-snapshot-package-units", SPU, "update"), at: at(1) },
                { ...step("planned", "pve1", "dev-lab-cluster-config", ["cluster-config"], "create", true), at: at(2) },
                { ...step("planned", "pve1", "pve1-services-verify", SV), at: at(2) },
                { ...step("planned", "pve2", "pve2-services-verify", SV), at: at(2) },
                { ...step("planned", "pve3", "pve3-services-verify", SV), at: at(2) },
                {
                    type: "summary",
                    result: "succeeded",
                    changes: { create: 6, update: 1, same: 2 },
                    durationSeconds: 2,
                    maybeCorrupt: false,
                    nodes: [
                        {
                            node: "pve1",
                            steps: [
                                stepSummary("pve1-snapshot-package-units", SPU, "planned", null),
                                stepSummary("dev-lab-cluster-config", ["cluster-config"], "planned", null),
                                stepSummary("pve1-services-verify", SV, "planned", null),
                            ],
                        },
                        {
                            node: "pve2",
                            steps: [stepSummary("pve2-snapshot-package-units", SPU, "planned", null), stepSummary("pve2-services-verify", SV, "planned", null)],
                        },
                        { node: "pve3", steps: [stepSummary("pve3-services-verify", SV, "planned", null)] },
                    ],
                    failed: [],
                    interrupted: [],
                },
            ),
        );
    });

    test("hand-written: a cancelled update: the engine's error, then pve2's command interrupted at the end of the stream", () => {
        expect(jsonLines(fixture("project-up-cancelled.jsonl"))).toEqual(
            lines(
                { ...step("started", "pve1", "pve1-snapshot-package-units", SPU), at: at(2) },
                { ...step("started", "pve2", "pve2-snapshot-package-units", SPU), at: at(2) },
                { ...step("finished", "pve1", "pve1-snapshot-package-units", SPU), result: "ok", durationSeconds: 27, log: spuLog("pve1", 2), at: at(29) },
                { type: "diagnostic", severity: "error", message: "update canceled" },
                { ...step("interrupted", "pve2", "pve2-snapshot-package-units", SPU), durationSeconds: 39, at: at(41) },
                {
                    type: "summary",
                    result: "failed",
                    changes: { create: 1, same: 1 },
                    durationSeconds: 40,
                    maybeCorrupt: false,
                    nodes: [
                        { node: "pve1", steps: [stepSummary("pve1-snapshot-package-units", SPU, "ok", 27)] },
                        { node: "pve2", steps: [stepSummary("pve2-snapshot-package-units", SPU, "interrupted", 39)] },
                    ],
                    failed: [],
                    interrupted: ["pve2-snapshot-package-units"],
                },
            ),
        );
    });
});

describe("single events (hand-written in the EngineEvent shape)", () => {
    const URN = "urn:pulumi:dev::pve-network-migration::pve-migration:node:Backups$command:local:Command::pve1-snapshot-package-units";
    const T = 1796637600;
    const meta = (op: string, o: { urn?: string; type?: string; custom?: boolean; outputs?: Record<string, unknown> } = {}) => {
        const urn = o.urn ?? URN;
        const type = o.type ?? "command:local:Command";
        const state = { type, urn, ...(o.custom === undefined ? {} : { custom: o.custom }), id: "", parent: "", inputs: {}, outputs: o.outputs ?? {}, provider: "" };
        return { op, urn, type, new: state, provider: "" } as NonNullable<EngineEvent["resourcePreEvent"]>["metadata"];
    };
    const ev = (dt: number, body: Partial<EngineEvent>): EngineEvent => ({ sequence: dt, timestamp: T + dt, ...body });

    test("finished without a started event: durationSeconds null; no summary event: result unknown", () => {
        expect(jsonLines([ev(5, { resOutputsEvent: { metadata: meta("update", { custom: true, outputs: { stdout: 42 } }) } })])).toEqual(
            lines(
                { ...step("finished", "pve1", "pve1-snapshot-package-units", SPU, "update"), result: "ok", durationSeconds: null, log: [], at: at(5) },
                {
                    type: "summary",
                    result: "unknown",
                    changes: {},
                    durationSeconds: null,
                    maybeCorrupt: false,
                    nodes: [{ node: "pve1", steps: [stepSummary("pve1-snapshot-package-units", SPU, "ok", null)] }],
                    failed: [],
                    interrupted: [],
                },
            ),
        );
    });

    test("no event for: the stack, providers, components (custom false or absent, even named like a command), same, prelude, stdout, debugging", () => {
        const events = [
            ev(0, { preludeEvent: { config: {} } }),
            ev(1, {
                resourcePreEvent: {
                    metadata: meta("create", {
                        urn: "urn:pulumi:dev::pve-network-migration::pulumi:pulumi:Stack::pve-network-migration-dev",
                        type: "pulumi:pulumi:Stack",
                    }),
                },
            }),
            ev(1, {
                resourcePreEvent: {
                    metadata: meta("create", {
                        urn: "urn:pulumi:dev::pve-network-migration::pulumi:providers:command::default_1_2_1",
                        type: "pulumi:providers:command",
                        custom: true,
                    }),
                },
            }),
            ev(1, {
                resourcePreEvent: {
                    metadata: meta("create", {
                        urn: "urn:pulumi:dev::pve-network-migration::pve-migration:node:Backups::pve1-backups",
                        type: "pve-migration:node:Backups",
                        custom: false,
                    }),
                },
            }),
            ev(1, {
                resourcePreEvent: {
                    metadata: meta("create", {
                        urn: "urn:pulumi:dev::pve-network-migration::pve-migration:node:Backups::pve1-snapshot-package-units",
                        type: "pve-migration:node:Backups",
                    }),
                },
            }),
            ev(2, { resourcePreEvent: { metadata: meta("same", { custom: true }) } }),
            ev(3, { resOutputsEvent: { metadata: meta("same", { custom: true }) } }),
            ev(3, { stdoutEvent: { message: "Updating (dev)", color: "raw" } }),
            ev(3, { startDebuggingEvent: { config: {} } }),
        ];
        expect(jsonLines(events)).toEqual(
            lines({ type: "summary", result: "unknown", changes: {}, durationSeconds: null, maybeCorrupt: false, ...EMPTY_SUMMARY_TAIL }),
        );
    });

    test("diagnostics: ephemeral and empty ones are dropped; info and warnings do not fail the run; the error kept is the last since the operation began", () => {
        const events = [
            ev(0, { diagnosticEvent: { urn: URN, message: "<{%reset%}>streamed line<{%reset%}>\n", color: "raw", severity: "info", ephemeral: true } }),
            ev(0, { diagnosticEvent: { message: "<{%reset%}><{%reset%}>\n", color: "raw", severity: "warning" } }),
            ev(0, { diagnosticEvent: { urn: URN, message: "an error of an earlier operation\n", color: "raw", severity: "error" } }),
            ev(1, { resourcePreEvent: { metadata: meta("create", { custom: true }) } }),
            ev(2, { diagnosticEvent: { urn: URN, message: "first\n", color: "raw", severity: "error" } }),
            ev(2, {
                diagnosticEvent: {
                    urn: "urn:pulumi:dev::p::pve-migration:node:Backups::pve1-backups",
                    message: "about a component\n",
                    color: "raw",
                    severity: "info",
                },
            }),
            ev(3, { diagnosticEvent: { urn: URN, message: "  last  \n", color: "raw", severity: "error" } }),
            ev(4, { resOpFailedEvent: { metadata: meta("create", { custom: true }), status: 0, steps: 0 } }),
        ];
        expect(jsonLines(events)).toEqual(
            lines(
                { type: "diagnostic", severity: "error", node: "pve1", resource: "pve1-snapshot-package-units", message: "an error of an earlier operation" },
                { ...step("started", "pve1", "pve1-snapshot-package-units", SPU), at: at(1) },
                { type: "diagnostic", severity: "error", node: "pve1", resource: "pve1-snapshot-package-units", message: "first" },
                { type: "diagnostic", severity: "info", resource: "pve1-backups", message: "about a component" },
                { type: "diagnostic", severity: "error", node: "pve1", resource: "pve1-snapshot-package-units", message: "  last" },
                { ...step("failed", "pve1", "pve1-snapshot-package-units", SPU), result: "failed", durationSeconds: 3, log: [], error: "last", at: at(4) },
                {
                    type: "summary",
                    result: "failed",
                    changes: {},
                    durationSeconds: null,
                    maybeCorrupt: false,
                    nodes: [{ node: "pve1", steps: [stepSummary("pve1-snapshot-package-units", SPU, "failed", 3)] }],
                    failed: ["pve1-snapshot-package-units"],
                    interrupted: [],
                },
            ),
        );
    });

    test("the run's result: a warning and an advisory policy leave it succeeded; the engine's own result failed makes it failed", () => {
        const summary = { maybeCorrupt: false, durationSeconds: 3, resourceChanges: { same: 2 }, policyPacks: {} };
        const policy = {
            message: "m\n",
            color: "raw",
            policyName: "backup-retention",
            policyPackName: "pve-network-migration",
            policyPackVersion: "",
            policyPackVersionTag: "",
        };
        const result = (events: EngineEvent[]) => (JSON.parse(jsonLines(events).at(-1) as string) as PipelineSummary).result;
        expect([
            result([ev(0, { diagnosticEvent: { message: "w", color: "raw", severity: "warning" } }), ev(1, { summaryEvent: summary })]),
            result([ev(0, { policyEvent: { ...policy, enforcementLevel: "warning" } }), ev(1, { summaryEvent: summary })]),
            result([ev(1, { summaryEvent: { ...summary, result: "failed" } as EngineEvent["summaryEvent"] })]),
            result([ev(0, { policyEvent: { ...policy, enforcementLevel: "mandatory" } })]),
        ]).toEqual(["succeeded", "succeeded", "failed", "failed"]);
    });

    test("a policy violation without a resource has no resource key", () => {
        const p = {
            resourceUrn: "",
            message: "<{%reset%}>stack-wide\n",
            color: "raw",
            policyName: "x",
            policyPackName: "pve-network-migration",
            policyPackVersion: "",
            policyPackVersionTag: "",
        };
        expect(new EventMapper({ commands: COMMANDS }).map(ev(0, { policyEvent: { ...p, enforcementLevel: "warning" } })).map((e) => JSON.stringify(e))).toEqual(
            lines({ type: "policy", pack: "pve-network-migration", policy: "x", enforcement: "warning", message: "stack-wide" }),
        );
    });
});
