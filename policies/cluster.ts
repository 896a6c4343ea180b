/**
 * pmxcfs (design.md section 3): a file under /etc/pve is one file for the whole cluster. A
 * cluster-wide migration.toml (under /etc/pve, not under /etc/pve/nodes/) is written by
 * exactly one step per cluster, through one node; sdn.cfg and storage.cfg are restored by at
 * most one step per cluster.
 */
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { CLUSTER_COMPONENT, RECORD_TYPE, ancestorOf, inPmxcfs, isClusterWide, isCommandType, recordOf, stepOf } from "./lib";

/** The cluster a step belongs to: its ClusterMigration ancestor, else the stack's transition record. */
function clusterOf(r: PolicyResource, fallback: string): string {
    return ancestorOf(r, CLUSTER_COMPONENT)?.name ?? fallback;
}

export const clusterFileSingleWriter: StackValidationPolicy = {
    name: "cluster-file-single-writer",
    description: "A cluster-wide file in pmxcfs (/etc/pve outside /etc/pve/nodes/) is written by exactly one resource per cluster.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const record = args.resources.map((r) => (r.type === RECORD_TYPE ? recordOf(r.props) : undefined)).find((x) => x !== undefined);
        const fallback = record?.cluster ?? "";
        const writers = new Map<string, { cluster: string; path: string; res: PolicyResource[] }>();
        const restorers = new Map<string, PolicyResource[]>();
        for (const r of args.resources) {
            if (!isCommandType(r.type)) continue;
            const step = stepOf(r.props);
            if (!step || !step.options) continue;
            const cluster = clusterOf(r, fallback);
            if (step.script === "config" && step.options.path !== undefined && inPmxcfs(step.options.path)) {
                const key = `${cluster}\0${step.options.path}`;
                const w = writers.get(key) ?? { cluster, path: step.options.path, res: [] };
                w.res.push(r);
                writers.set(key, w);
            }
            if (step.script === "restore" && step.options.part === "cluster") {
                restorers.set(cluster, [...(restorers.get(cluster) ?? []), r]);
            }
        }
        for (const w of writers.values()) {
            if (w.res.length < 2) continue;
            const kind = isClusterWide(w.path) ? "a cluster-wide file" : "one file in pmxcfs";
            report(
                `${w.path} is ${kind} in cluster ${w.cluster}, but ${w.res.length} resources write it (${w.res.map((r) => r.name).join(", ")}): ` +
                    "write it once per cluster, through one node (migrationConfig.scope cluster and writerNode), or use a node-scoped path",
                w.res[1].urn,
            );
        }
        for (const [cluster, rs] of restorers) {
            if (rs.length < 2) continue;
            report(
                `sdn.cfg and storage.cfg are cluster-wide in cluster ${cluster}, but ${rs.length} resources restore them (${rs.map((r) => r.name).join(", ")}): restore them once, through one node`,
                rs[1].urn,
            );
        }
    },
};
