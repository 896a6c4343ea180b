/**
 * Backups before writes (design.md sections 1 and 4, runbook 3.1 and 6): a node entering a
 * write phase, or leaving one for a lower phase, has a snapshot step that takes a verified
 * backup, and every step that changes that node's migration config is ordered after it.
 *
 * The order is the resources' dependencies (dependsOn). During a preview of a transition the
 * snapshot's command line is unknown (it names the new transition record's id); the policy
 * then still checks that the snapshot step exists and that the order holds, and checks its
 * --backup flag when the command line is known (`pulumi up` checks it again before the step).
 */
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { isWritePhase, transition } from "../components/phases";
import { RECORD_TYPE, dependsOn, isClusterWide, isCommandType, nodesOf, quote, recordOf, stepOf, transitionOf } from "./lib";

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

        const snapshots = new Map<string, { res: PolicyResource; backup: string | undefined }>();
        const configs: { res: PolicyResource; path: string; node: string }[] = [];
        for (const r of args.resources) {
            if (!isCommandType(r.type)) continue;
            const step = stepOf(r.props);
            if (!step) continue;
            if (step.script === "snapshot") {
                // While the command line is unknown (preview), the plan's name says the node: <node>-snapshot.
                const node = step.options?.node ?? r.name.replace(/-snapshot$/, "");
                snapshots.set(node, { res: r, backup: step.options?.backup });
            } else if (step.script === "config" && step.options) {
                configs.push({ res: r, path: step.options.path ?? "", node: step.options.node ?? "" });
            }
        }
        const nodes = nodesOf(rec);
        for (const node of nodes) {
            const s = snapshots.get(node);
            if (!s) {
                report(`node ${node} ${why} without a snapshot step: take a verified backup before its migration config changes`, recRes.urn);
            } else if (s.backup !== undefined && s.backup !== "1") {
                report(`snapshot step ${s.res.name} does not take a backup (--backup ${quote(s.backup)}), but node ${node} ${why}`, s.res.urn);
            }
        }
        for (const c of configs) {
            const affected = isClusterWide(c.path) ? nodes : [c.node];
            for (const node of affected) {
                const s = snapshots.get(node);
                if (s && !dependsOn(c.res, s.res)) {
                    report(`config step ${c.res.name} changes the migration config of node ${node} without being ordered after its snapshot step ${s.res.name} (dependsOn)`, c.res.urn);
                }
            }
        }
    },
};
