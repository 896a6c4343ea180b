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
import { RECORD_TYPE, dependsOn, isClusterWide, isCommandType, nodesOf, recordOf, stepOf, transitionOf } from "./lib";

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

        const snapshots = new Map<string, PolicyResource>();
        const configs: { res: PolicyResource; path: string; node: string }[] = [];
        for (const r of args.resources) {
            if (!isCommandType(r.type)) continue;
            const step = stepOf(r.props);
            if (!step) continue;
            if (step.script === "snapshot") {
                // While the command line is unknown (preview), the plan's name says the node: <node>-snapshot.
                const node = step.options?.node ?? r.name.replace(/-snapshot$/, "");
                snapshots.set(node, r);
            } else if (step.script === "config" && step.options) {
                configs.push({ res: r, path: step.options.path ?? "", node: step.options.node ?? "" });
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
                if (s && !dependsOn(c.res, s)) {
                    report(
                        `config step ${c.res.name} changes the migration config of node ${node} without being ordered after its snapshot step ${s.name} (dependsOn)`,
                        c.res.urn,
                    );
                }
            }
        }
    },
};
