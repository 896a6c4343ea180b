/**
 * pmxcfs (README "Configure a stack", migrationConfig): a file under /etc/pve is one file for the whole cluster. A
 * cluster-wide migration.toml (under /etc/pve, not under /etc/pve/nodes/) is written by
 * exactly one step per cluster, through one node; sdn.cfg and storage.cfg are restored by at
 * most one step per cluster.
 *
 * This is the count across resources, so it is a stack policy and runs only after every step
 * (with `pulumi up --skip-preview` it fails the update but stops no step). What one step shows
 * by itself (a node's own step writing a cluster-wide file) is the resource policy
 * cluster-file-single-writer in steps.ts, which stops that step before it runs.
 */
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { CLUSTER_COMPONENT, RECORD_TYPE, ancestorOf, inPmxcfs, isClusterWide, isCommandType, recordOf, stepsOf } from "./lib";

/** The cluster a step belongs to: its ClusterMigration ancestor, else the stack's transition record. */
function clusterOf(r: PolicyResource, fallback: string): string {
    return ancestorOf(r, CLUSTER_COMPONENT)?.name ?? fallback;
}

export const clusterFileWriters: StackValidationPolicy = {
    name: "cluster-file-writers",
    description: "A file in pmxcfs is written, and sdn.cfg/storage.cfg restored, by at most one resource per cluster (counted over the whole stack).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const record = args.resources.map((r) => (r.type === RECORD_TYPE ? recordOf(r.props) : undefined)).find((x) => x !== undefined);
        const fallback = record?.cluster ?? "";
        const writers = new Map<string, { cluster: string; path: string; res: PolicyResource[] }>();
        const restorers = new Map<string, PolicyResource[]>();
        for (const r of args.resources) {
            if (!isCommandType(r.type)) continue;
            const cluster = clusterOf(r, fallback);
            for (const step of stepsOf(r.props)) {
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
