/**
 * Human-readable reports of migration-ctl (the JSON forms are the report objects themselves).
 * Pure: report in, text out.
 */
import { formatDuration } from "../evidence";
import { Plan, criticalPath, planCommands } from "../plan";
import { CheckReport, CheckStackReport } from "./check";
import { DeployedJson } from "./deployed";
import { HealthReport, HealthStack } from "./health";
import { EvidenceReport } from "./rules";

export function describeDeployedJson(d: DeployedJson): string {
    if (!d.known) return `unknown (${d.reason})`;
    if (d.source?.endsWith("(never deployed)")) return `never deployed (${d.source.replace(/ \(never deployed\)$/, "")})`;
    return `${d.phase}${d.phaseEnteredAt ? ` since ${d.phaseEnteredAt}` : ""} (${d.source})`;
}

function evidenceLine(e: EvidenceReport): string {
    if (!e.required) return `not needed (${e.notRequiredBecause})`;
    if (!e.present) return `missing: ${e.path}`;
    if (!e.valid) return `invalid: ${e.path}`;
    const soak = e.soakedSeconds === null ? "" : ` (soaked ${formatDuration(e.soakedSeconds)} of ${formatDuration(e.requiredSoakSeconds)})`;
    return `${e.passed ? "passes" : "does not pass"}: ${e.path}${soak}`;
}

function stackHeadline(r: CheckStackReport): string {
    if (r.change === "removed") return `${r.stack}: stack file removed (was ${r.basePhase ?? "unreadable"})`;
    if (r.phase === null) return `${r.stack}: ${r.change}, phase unreadable`;
    if (r.change === "added")
        return `${r.stack}: new stack in ${r.phase}${r.transition && r.transition.kind !== "none" ? ` (${r.transition.kind} from perl-only)` : ""}`;
    if (r.transition === null || r.transition.kind === "none") {
        return `${r.stack}: ${r.change === "unchanged" ? "unchanged" : "phase unchanged"} (${r.phase})`;
    }
    return `${r.stack}: ${r.basePhase} -> ${r.phase} (${r.transition.kind})`;
}

export function renderCheck(report: CheckReport): string {
    const lines = [`migration-ctl check: stack configs at ${report.base} (merge base ${report.mergeBase.slice(0, 12)}) -> working tree (now ${report.now})`];
    for (const w of report.warnings) lines.push(`warning: ${w}`);
    lines.push("");
    for (const r of report.stacks) {
        lines.push(stackHeadline(r));
        if (r.change === "unchanged" && r.violations.length === 0 && r.warnings.length === 0) continue;
        if (r.change === "modified") lines.push(`  changed: ${r.changedKeys.length > 0 ? r.changedKeys.join(", ") : "comments or formatting only"}`);
        if (r.transition?.kind === "promotion") {
            lines.push(`  deployed: ${describeDeployedJson(r.deployed)}`);
            if (r.upstream) {
                const u = r.upstream;
                const entered = u.enteredAt ? `entered ${u.enteredAt} (${u.enteredAtSource})` : "entry time unknown";
                lines.push(`  upstream: ${u.stack} in ${u.phase}, ${entered}, ${u.soaked ? "soaked" : "not soaked"}`);
            }
            if (r.evidence) lines.push(`  evidence: ${evidenceLine(r.evidence)}`);
        }
        for (const v of r.violations) lines.push(`  VIOLATION: ${v}`);
        for (const w of r.warnings) lines.push(`  warning: ${w}`);
        for (const n of r.notes) lines.push(`  note: ${n}`);
    }
    const changed = report.stacks.filter((s) => s.change !== "unchanged").length;
    lines.push("");
    lines.push(
        report.ok
            ? `result: OK: ${changed} changed stack file(s) checked, ${report.warningCount} warning(s)`
            : `result: FAILED: ${report.violationCount} violation(s) in ${report.stacks.filter((s) => s.violations.length > 0).length} stack(s), ${report.warningCount} warning(s)`,
    );
    return lines.join("\n") + "\n";
}

function soakLine(h: HealthStack): string | undefined {
    const s = h.soak;
    if (!s) return undefined;
    const since = s.enteredAt ? `since ${s.enteredAt} (${s.enteredAtSource})` : "entry time unknown";
    const progress =
        s.requiredSeconds === 0
            ? "no soak required"
            : s.soakedSeconds === null
              ? `soak of ${formatDuration(s.requiredSeconds)} not measurable`
              : `${formatDuration(s.soakedSeconds)} of ${formatDuration(s.requiredSeconds)}${s.soaked ? ", soaked" : ""}`;
    const next = s.next === null ? "last phase" : `next ${s.next}: evidence ${s.evidence ? evidenceLine(s.evidence) : "n/a"}`;
    return `  soak: in ${s.phase} ${since}: ${progress}; ${next}`;
}

export function renderHealth(report: HealthReport): string {
    const lines = [`migration-ctl health (now ${report.now})`, ""];
    const w = Math.max(...report.stacks.map((s) => s.stack.length), 5);
    for (const h of report.stacks) {
        const where = h.cluster ? `cluster ${h.cluster}, ${h.scope}-scoped, ${h.nodes.length} node(s)${h.upstream ? `, upstream ${h.upstream}` : ""}` : "unreadable";
        lines.push(`${h.stack.padEnd(w)}  ${h.phase ?? "?"}  deployed: ${describeDeployedJson(h.deployed)}  [${where}]`);
        const soak = soakLine(h);
        if (soak) lines.push(soak);
        for (const n of h.notes) lines.push(`  note: ${n}`);
    }
    lines.push("");
    if (report.problems.length > 0) {
        lines.push("problems:");
        for (const p of report.problems) lines.push(`  - ${p}`);
        lines.push("");
    }
    if (report.status === "deployed-unknown") {
        const reasons = [...new Set(report.stacks.map((h) => h.deployed.reason ?? "unknown"))].join("; ");
        lines.push(
            `result: UNKNOWN: the configured phases are consistent, but the deployed phase of every stack is unknown (${reasons}), ` +
                `so nothing deployed was checked: put the pulumi CLI on PATH (logged in to the stacks' backend) or pass --deployed-file FILE`,
        );
    } else {
        const unknown = report.stacks.filter((h) => !h.deployed.known).map((h) => h.stack);
        const which = unknown.length === report.stacks.length ? "every stack" : unknown.join(", ");
        const partial = unknown.length > 0 ? ` (deployed phase unknown for ${which}: not checked)` : "";
        lines.push(report.ok ? `result: OK${partial}` : `result: FAILED: ${report.problems.length} problem(s)${partial}`);
    }
    return lines.join("\n") + "\n";
}

export interface PlanView {
    readonly stack: string;
    readonly cluster: string;
    readonly scope: "cluster" | "node";
    readonly writerNode: string;
    readonly nodes: readonly string[];
    readonly from: string;
    /** Where `from` came from: deployed outputs, --from, or the phase at --base. */
    readonly fromSource: string;
    readonly to: string;
    readonly toSource: string;
    readonly plan: Plan;
}

export interface PlanJson {
    readonly schemaVersion: 1;
    readonly command: "plan";
    readonly stack: string;
    readonly cluster: string;
    readonly scope: "cluster" | "node";
    readonly writerNode: string;
    readonly from: string;
    readonly fromSource: string;
    readonly to: string;
    readonly toSource: string;
    readonly transition: { kind: string; steps: number; backupRequired: boolean; restoreRequired: boolean };
    /** Nodes whose phase changes (empty when from = to). */
    readonly changingNodes: string[];
    readonly nodes: { node: string; steps: { id: string; kind: string; dependsOn: string[] }[] }[];
    readonly clusterSteps: { id: string; kind: string; node: string; dependsOn: string[] }[];
    readonly criticalPath: string[];
    /** The command resources the program registers (components/plan planCommands): their steps in run order, what they wait for. */
    readonly commands: { id: string; node: string; steps: string[]; dependsOn: string[] }[];
}

export function planJson(v: PlanView): PlanJson {
    const t = v.plan.transition;
    return {
        schemaVersion: 1,
        command: "plan",
        stack: v.stack,
        cluster: v.cluster,
        scope: v.scope,
        writerNode: v.writerNode,
        from: v.from,
        fromSource: v.fromSource,
        to: v.to,
        toSource: v.toSource,
        transition: { kind: t.kind, steps: t.steps, backupRequired: t.backupRequired, restoreRequired: t.restoreRequired },
        changingNodes: t.kind === "none" ? [] : [...v.nodes],
        nodes: v.nodes.map((node) => ({
            node,
            steps: v.plan.steps.filter((s) => !s.cluster && s.node === node).map((s) => ({ id: s.id, kind: s.kind, dependsOn: [...s.dependsOn] })),
        })),
        clusterSteps: v.plan.steps.filter((s) => s.cluster).map((s) => ({ id: s.id, kind: s.kind, node: s.node, dependsOn: [...s.dependsOn] })),
        criticalPath: criticalPath(v.plan.steps),
        commands: planCommands(v.plan).map((c) => ({ id: c.id, node: c.node, steps: c.steps.map((x) => x.id), dependsOn: [...c.dependsOn] })),
    };
}

export function renderPlan(v: PlanView): string {
    const j = planJson(v);
    const t = j.transition;
    const lines = [
        `plan for ${j.stack}: cluster ${j.cluster}, migration config ${j.scope}-scoped${j.scope === "cluster" ? ` (written through ${j.writerNode})` : ""}`,
        `from: ${j.from} (${j.fromSource})`,
        `to:   ${j.to} (${j.toSource})`,
    ];
    if (t.kind === "none") {
        // The engine runs a command resource only when its inputs changed (components/deployed).
        lines.push(
            `transition: none: no node changes phase; each step below runs only if its inputs changed (a new stack, the first pulumi up after a transition, a new package version, units or site commands); on an unchanged stack none runs`,
        );
    } else {
        const extra = [t.backupRequired ? "verified backup first" : "", t.restoreRequired ? "restores the latest verified backup" : ""].filter((x) => x);
        lines.push(`transition: ${t.kind}, ${Math.abs(t.steps)} phase(s)${extra.length ? `; ${extra.join("; ")}` : ""}; every step below runs`);
        lines.push(`nodes changing: ${j.changingNodes.join(", ")}`);
    }
    lines.push("");
    const idW = Math.max(...v.plan.steps.map((s) => s.id.length));
    const kindW = Math.max(...v.plan.steps.map((s) => s.kind.length));
    const stepLine = (i: number, s: { id: string; kind: string; dependsOn: string[] }) =>
        `  ${String(i + 1).padStart(2)}. ${s.id.padEnd(idW)}  ${s.dependsOn.length ? `${s.kind.padEnd(kindW)}  after ${s.dependsOn.join(", ")}` : s.kind}`;
    for (const n of j.nodes) {
        lines.push(`${n.node}:`);
        n.steps.forEach((s, i) => lines.push(stepLine(i, s)));
    }
    if (j.clusterSteps.length > 0) {
        lines.push(`cluster ${j.cluster} (once, through ${j.writerNode}):`);
        j.clusterSteps.forEach((s, i) => lines.push(stepLine(i, s)));
    }
    lines.push("");
    lines.push(`critical path (${j.criticalPath.length} steps): ${j.criticalPath.join(" -> ")}`);
    lines.push("");
    lines.push("commands (one resource each, its steps in this order; a failed one runs again whole, its finished steps find nothing to do):");
    const cmdW = Math.max(...j.commands.map((c) => c.id.length));
    for (const c of j.commands) {
        lines.push(`  ${c.id.padEnd(cmdW)}  ${c.steps.join(", ")}${c.dependsOn.length ? `  after ${c.dependsOn.join(", ")}` : ""}`);
    }
    return lines.join("\n") + "\n";
}
