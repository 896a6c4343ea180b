/**
 * Backups before writes (README "Phases" and "What runs on a node"): a node entering a
 * write phase, or leaving one for a lower phase, has a snapshot step that takes a verified
 * backup, and every step that changes that node's migration config is ordered after it.
 *
 * The order is the resources' dependencies (dependsOn), which only a stack policy sees (an
 * Analyze request carries no dependencies), and a missing snapshot step is an absence no
 * single resource shows: so this is a stack policy, and it runs only after every step. A
 * preview (`pulumi up` without --skip-preview) stops on it before any step; with
 * --skip-preview it fails the update after the steps have run. The snapshot step's own
 * --backup flag is checked per resource, before the step runs (snapshot-takes-backup in
 * steps.ts).
 */
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { isWritePhase, transition } from "../components/phases";
import { RECORD_TYPE, Step, dependsOn, isClusterWide, isCommandType, nodesOf, recordOf, stepLabel, stepsOf, transitionOf } from "./lib";

export const backupBeforeWrite: StackValidationPolicy = {
    name: "backup-before-write",
    description: "A node entering or leaving a write phase has a snapshot step that takes a backup, ordered before every change of its migration config.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const recRes = args.resources.find((r) => r.type === RECORD_TYPE && recordOf(r.props) !== undefined);
        if (!recRes) return;
        const rec = recordOf(recRes.props)!;
        const t = transitionOf(rec);
        if (!t || !transition(t.from, t.to).backupRequired) return;
        const what = isWritePhase(t.to) ? `enters write phase ${t.to}` : `leaves write phase ${t.from}`;
        const why = `${what} (${t.from} -> ${t.to})`;

        const snapshots = new Map<string, { res: PolicyResource; step: Step }>();
        const configs: { res: PolicyResource; step: Step; path: string; node: string }[] = [];
        for (const r of args.resources) {
            if (!isCommandType(r.type)) continue;
            for (const step of stepsOf(r.props)) {
                if (step.script === "snapshot") snapshots.set(step.options.node ?? "", { res: r, step });
                else if (step.script === "config") configs.push({ res: r, step, path: step.options.path ?? "", node: step.options.node ?? "" });
            }
        }
        const nodes = nodesOf(rec);
        for (const node of nodes) {
            if (!snapshots.has(node)) {
                report(`node ${node} ${why} without a snapshot step: take a verified backup before its migration config changes`, recRes.urn);
            }
        }
        for (const c of configs) {
            const affected = isClusterWide(c.path) ? nodes : [c.node];
            for (const node of affected) {
                const s = snapshots.get(node);
                // After the snapshot: later in the same command (its steps run in order), or in a command that depends on the snapshot's.
                const ordered = s === undefined || (s.res.urn === c.res.urn ? s.step.index < c.step.index : dependsOn(c.res, s.res));
                if (!ordered && s) {
                    report(
                        `config step ${stepLabel(c.res.name, c.step)} changes the migration config of node ${node} without being ordered after its snapshot step ${stepLabel(s.res.name, s.step)} (dependsOn)`,
                        c.res.urn,
                    );
                }
            }
        }
    },
};
