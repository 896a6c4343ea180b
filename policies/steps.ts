/**
 * Resource-level rules on each node step's own inputs: the engine runs these on a step as it
 * registers it and before it creates it, in `pulumi up --skip-preview` too
 * (pkg/resource/deploy/step_generator.go continueStepsFromImport -> analyzeAll), so a
 * mandatory violation keeps that step off the node. They need nothing but the step itself:
 * its command line (parseCommand: each step's script and arguments) and its parent
 * (the only option an Analyze request carries that links it to another resource; dependsOn is
 * not sent, see components/policycheck/evaluate.ts).
 *
 * - step-phases: a step that names a transition (--from and --to) is told an allowed one,
 *   and a config step writes the phase it is told (--to).
 * - snapshot-takes-backup: a snapshot step of a transition that enters or leaves a write
 *   phase takes a backup (--backup 1).
 * - cluster-file-single-writer: a cluster-wide file in pmxcfs is written, and sdn.cfg and
 *   storage.cfg restored, only by the cluster's own step (under the ClusterMigration
 *   component), never by a node's (under a MigrationNode).
 *
 * What needs several resources (one transition record, each node's snapshot present and
 * ordered before its config, one writer per file counted across resources) stays in the
 * stack policies (phases.ts, backups.ts, cluster.ts), which run only after every step.
 */
import * as command from "@pulumi/command";
import { ResourceValidation, ResourceValidationPolicy, ReportViolation, validateResourceOfType } from "@pulumi/policy";
import { PHASES, checkTransition, isPhase, isWritePhase, transition } from "../components/phases";
import { NODE_COMPONENT, Step, isClusterWide, parseMigrationToml, quote, stepLabel, stepsOf } from "./lib";

type StepCheck = (step: Step, name: string, parent: string, report: ReportViolation) => void;

/** The same check on every node step of a command, of both transports (remote over SSH, local for sandboxes). */
function onSteps(check: StepCheck): ResourceValidation[] {
    const f = (props: { create?: unknown }, args: { name: string; opts: { parent?: string } }, report: ReportViolation) => {
        for (const step of stepsOf(props)) check(step, stepLabel(args.name, step), args.opts.parent ?? "", report);
    };
    return [validateResourceOfType(command.remote.Command, f), validateResourceOfType(command.local.Command, f)];
}

export const stepPhases: ResourceValidationPolicy = {
    name: "step-phases",
    description:
        "Every node step that names a transition is told an allowed one (forward one phase, backward any), and every config step writes the phase it is told.",
    enforcementLevel: "mandatory",
    validateResource: onSteps((step, name, _parent, report) => {
        const o = step.options;
        if (o.from !== undefined || o.to !== undefined) {
            for (const field of ["from", "to"] as const) {
                if (o[field] !== undefined && !isPhase(o[field])) report(`step ${name}: --${field} ${quote(o[field])} is not a phase (one of ${PHASES.join(", ")})`);
            }
            if (isPhase(o.from) && isPhase(o.to)) {
                const v = checkTransition(o.from, o.to);
                if (!v.allowed) report(`step ${name}: ${v.reason}`);
            }
        }
        if (step.script === "config" && o.content !== undefined) {
            const toml = parseMigrationToml(o.content);
            const phase = toml.ok ? toml.value.phase : undefined;
            if (phase !== o.to) {
                report(`step ${name}: ${o.path ?? "the migration config"} says phase = ${quote(phase ?? null)}, but the step is told --to ${quote(o.to ?? null)}`);
            }
        }
    }),
};

export const snapshotTakesBackup: ResourceValidationPolicy = {
    name: "snapshot-takes-backup",
    description: "The snapshot step of a transition that enters or leaves a write phase takes a verified backup (--backup 1).",
    enforcementLevel: "mandatory",
    validateResource: onSteps((step, name, _parent, report) => {
        if (step.script !== "snapshot") return;
        const o = step.options;
        if (!isPhase(o.from) || !isPhase(o.to) || !transition(o.from, o.to).backupRequired) return;
        if (o.backup !== "1") {
            const what = isWritePhase(o.to) ? `enters write phase ${o.to}` : `leaves write phase ${o.from}`;
            report(
                `snapshot step ${name} does not take a backup (--backup ${quote(o.backup ?? null)}), but node ${o.node ?? "(no --node)"} ${what} (${o.from} -> ${o.to})`,
            );
        }
    }),
};

/** Is the resource with this parent URN inside a node's component (the type chain of the parent URN)? */
function underNode(parentUrn: string): boolean {
    const chain = parentUrn.split("::")[2] ?? "";
    return chain.split("$").includes(NODE_COMPONENT);
}

export const clusterFileSingleWriter: ResourceValidationPolicy = {
    name: "cluster-file-single-writer",
    description:
        "A cluster-wide file in pmxcfs (/etc/pve outside /etc/pve/nodes/) is written, and sdn.cfg/storage.cfg restored, only by the cluster's own step, never by a node's.",
    enforcementLevel: "mandatory",
    validateResource: onSteps((step, name, parent, report) => {
        const o = step.options;
        if (!underNode(parent)) return;
        if (step.script === "config" && o.path !== undefined && isClusterWide(o.path)) {
            report(
                `step ${name} of node ${o.node ?? "(no --node)"} writes ${o.path}, a cluster-wide file in pmxcfs: ` +
                    "write it once per cluster, through one node (migrationConfig.scope cluster and writerNode), or use a node-scoped path",
            );
        }
        if (step.script === "restore" && o.part === "cluster") {
            report(
                `step ${name} of node ${o.node ?? "(no --node)"} restores sdn.cfg and storage.cfg, which are cluster-wide: restore them once per cluster, through one node`,
            );
        }
    }),
};
