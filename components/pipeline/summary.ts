/**
 * The summary of a pipeline plan (`migration-ctl plan --stack S --out DIR`): summary.json for the
 * pipeline, summary.txt for the reviewer. Built from
 *  - the transition (components/ctl planView),
 *  - the steps the program registers for it, read from its registrations under the SDK's mock
 *    runtime (the offline policy check's recording), each with the operation Pulumi's preview
 *    planned for it (null when the preview did not run),
 *  - the gates (check's rules), the policy pack's verdict (offline), the engine's preview, and
 *    what a rollback's restore would revert when the nodes were read.
 */
import type { PlannedCommand } from "../plan";
import type { PlanVerdict } from "./planfile";

/** A step resource the program registered, with its node and the steps it runs. */
export interface SummaryCommand {
    readonly resource: string;
    readonly steps: readonly string[];
    /** The operation Pulumi's preview planned (create, update, replace, same, ...); null: no preview. */
    readonly op: string | null;
}

export interface SummaryNode {
    readonly node: string;
    readonly commands: readonly SummaryCommand[];
    /** Commands of cluster steps this node runs as the writer node. */
    readonly clusterCommands: readonly SummaryCommand[];
}

export interface PolicyResult {
    readonly policy: string;
    readonly level: "mandatory" | "advisory";
    /** The resource's name ("" for the stack). */
    readonly resource: string;
    readonly message: string;
}

export interface PlanSummary {
    readonly schemaVersion: 1;
    readonly command: "plan";
    readonly stack: string;
    readonly project: string;
    readonly createdAt: string;
    readonly verdict: PlanVerdict;
    /** The exit code plan returned (with --detailed-exitcode: 2 for changes). */
    readonly exitCode: number;
    /** The folder's Pulumi plan file, null when it holds none (refused, or the preview failed). */
    readonly planFile: string | null;
    readonly stackFile: { readonly file: string; readonly sha256: string; readonly commit: string | null; readonly dirty: boolean };
    readonly backend: string;
    readonly transition: {
        readonly from: string;
        readonly fromSource: string;
        readonly to: string;
        readonly kind: string;
        readonly steps: number;
        readonly backupRequired: boolean;
        readonly restoreRequired: boolean;
    };
    readonly nodes: readonly SummaryNode[];
    readonly gates: {
        readonly ok: boolean;
        readonly violations: readonly string[];
        readonly warnings: readonly string[];
        readonly notes: readonly string[];
        /** Evidence verdict (check's EvidenceReport), null when the change needs none. */
        readonly evidence: unknown;
        /** The upstream ring's phase and soak, null without one. */
        readonly upstream: unknown;
    };
    readonly policies: {
        readonly passed: boolean;
        readonly mandatory: number;
        readonly advisory: number;
        readonly policiesRun: readonly string[];
        readonly violations: readonly PolicyResult[];
        readonly errors: readonly string[];
    };
    readonly engine: {
        readonly ran: boolean;
        readonly result: "succeeded" | "failed" | null;
        readonly changes: Readonly<Record<string, number>>;
        readonly message: string;
    };
    /** What a rollback's restore would revert: read from the nodes (--read-nodes), or why not. */
    readonly restorePreview: { readonly read: false; readonly note: string } | { readonly read: true; readonly nodes: readonly unknown[] };
}

/** Resource types of the program's step commands (@pulumi/command). */
const STEP_TYPES = new Set(["command:local:Command", "command:remote:Command"]);

/**
 * The step commands the program registered (by resource name, which is the plan's command id),
 * grouped per node in the order of `nodes`, each with the op the preview planned (`ops` by name).
 */
export function summaryNodes(
    nodes: readonly string[],
    commands: readonly PlannedCommand[],
    registered: readonly { readonly type: string; readonly name: string }[],
    ops: ReadonlyMap<string, string> | undefined,
): SummaryNode[] {
    const byId = new Map(commands.map((c) => [c.id, c]));
    const mine = registered.filter((r) => STEP_TYPES.has(r.type) && byId.has(r.name)).map((r) => byId.get(r.name) as PlannedCommand);
    const entry = (c: PlannedCommand): SummaryCommand => ({
        resource: c.id,
        steps: c.steps.map((s) => s.kind),
        op: ops === undefined ? null : (ops.get(c.id) ?? "same"),
    });
    return nodes.map((node) => ({
        node,
        commands: mine.filter((c) => c.node === node && !c.cluster).map(entry),
        clusterCommands: mine.filter((c) => c.node === node && c.cluster).map(entry),
    }));
}

/** Whether the engine's change counts hold a change (anything but "same"). */
export function hasChanges(changes: Readonly<Record<string, number>>): boolean {
    return Object.entries(changes).some(([op, n]) => op !== "same" && n > 0);
}

function list(title: string, items: readonly string[]): string[] {
    return items.length === 0 ? [] : [title, ...items.map((i) => `  - ${i}`)];
}

const VERDICT_TEXT: Record<PlanVerdict, string> = {
    "no-changes": "no changes: nothing to apply",
    changes: "changes: apply this folder with migration-ctl apply",
    "refused-by-gate": "REFUSED by a gate: Pulumi did not run, nothing to apply",
    "refused-by-policy": "REFUSED by the policy pack: Pulumi did not run, nothing to apply",
    error: "ERROR: the preview failed, nothing to apply",
};

/** summary.txt: what a reviewer reads. */
export function renderSummary(s: PlanSummary): string {
    const t = s.transition;
    const changes = Object.entries(s.engine.changes)
        .filter(([, n]) => n > 0)
        .map(([op, n]) => `${op} ${n}`)
        .join(", ");
    const steps = (cs: readonly SummaryCommand[]) => cs.map((c) => `${c.steps.join(", ")}${c.op === null ? "" : ` [${c.op}]`}`).join("; ");
    const lines = [
        `plan for ${s.stack} (${s.project}), made ${s.createdAt}`,
        `verdict: ${VERDICT_TEXT[s.verdict]} (exit ${s.exitCode})`,
        `stack file: ${s.stackFile.file} sha256 ${s.stackFile.sha256.slice(0, 12)} at ${s.stackFile.commit?.slice(0, 12) ?? "no commit"}${s.stackFile.dirty ? " with uncommitted changes" : ""}`,
        `backend: ${s.backend}`,
        `transition: ${t.from} -> ${t.to} (${t.kind}, ${t.steps} phase step(s)${t.backupRequired ? ", backup first" : ""}${t.restoreRequired ? ", restores the latest verified backup" : ""}); from: ${t.fromSource}`,
        "",
        "steps per node (the program's registrations; [op] as the preview planned it):",
        ...s.nodes.flatMap((n) => [
            `  ${n.node}: ${n.commands.length === 0 ? "no step" : steps(n.commands)}`,
            ...(n.clusterCommands.length > 0 ? [`  ${n.node} (writer, cluster): ${steps(n.clusterCommands)}`] : []),
        ]),
        "",
        `gates: ${s.gates.ok ? "passed" : "REFUSED"}`,
        ...list("  violations:", s.gates.violations),
        ...list("  warnings:", s.gates.warnings),
        ...list("  notes:", s.gates.notes),
        `policies: ${s.policies.passed ? "passed" : "REFUSED"} (${s.policies.policiesRun.length} run, ${s.policies.mandatory} mandatory and ${s.policies.advisory} advisory violation(s))`,
        ...list(
            "  violations:",
            s.policies.violations.map((v) => `${v.policy} (${v.level})${v.resource !== "" ? ` on ${v.resource}` : ""}: ${v.message}`),
        ),
        ...list("  errors:", s.policies.errors),
        `preview: ${s.engine.ran ? `${s.engine.result}${changes !== "" ? ` (${changes})` : ""}` : "not run"}: ${s.engine.message}`,
        s.restorePreview.read
            ? `restore preview: ${s.restorePreview.nodes.length} node(s) read (summary.json restorePreview)`
            : `restore preview: ${s.restorePreview.note}`,
        s.planFile !== null ? `plan file: ${s.planFile}` : "plan file: none",
    ];
    return lines.join("\n") + "\n";
}
