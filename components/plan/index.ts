/**
 * Step plans (README "What runs on a node"): which steps run on which node for a transition, and in
 * what order; the kinds are the step catalogue's (components/steps/catalogue.ts). Pure; the
 * Pulumi wiring registers one resource per planned step with exactly these dependencies, `migration-ctl plan` prints them and the benchmarks measure them.
 *
 * Promotion:  snapshot(+backup) -> package, units -> config -> services -> verify
 * Rollback:   snapshot(+backup) -> config -> services -> restore, package, units
 *             -> legacy-apply -> verify
 * No change:  package, units -> config -> services -> verify (each idempotent)
 *
 * With a cluster-wide migration config the `config` step is one cluster step through the
 * writer node, after every node's earlier steps; sdn.cfg / storage.cfg are restored once per
 * cluster through the writer node.
 */
import { Phase, transition, Transition } from "../phases";
import type { StepKind } from "../steps/catalogue";

export type { StepKind } from "../steps/catalogue";

export interface PlannedStep {
    /** Unique id, also the resource name: `<node>-<kind>` or `<cluster>-<kind>`. */
    readonly id: string;
    readonly kind: StepKind;
    /** The node the step runs on (the writer node for cluster steps). */
    readonly node: string;
    /** Cluster steps run once per cluster. */
    readonly cluster: boolean;
    /** Ids of the steps that must finish first. */
    readonly dependsOn: readonly string[];
}

export interface PlanInput {
    readonly cluster: string;
    readonly from: Phase;
    readonly to: Phase;
    readonly nodes: readonly string[];
    readonly scope: "cluster" | "node";
    readonly writerNode: string;
}

export interface Plan {
    readonly transition: Transition;
    readonly steps: readonly PlannedStep[];
}

export function planSteps(input: PlanInput): Plan {
    const t = transition(input.from, input.to);
    const steps: PlannedStep[] = [];
    const id = (node: string, kind: StepKind) => `${node}-${kind}`;
    const clusterConfig = `${input.cluster}-cluster-config`;
    const clusterRestore = `${input.cluster}-cluster-restore`;
    const inTransition = t.kind !== "none";
    const rollback = t.kind === "rollback";
    const add = (s: PlannedStep) => steps.push(s);

    for (const node of input.nodes) {
        const first = inTransition ? [id(node, "snapshot")] : [];
        if (inTransition) add({ id: id(node, "snapshot"), kind: "snapshot", node, cluster: false, dependsOn: [] });
        const config = input.scope === "node" ? id(node, "config") : clusterConfig;
        // Package and units: before the config in a promotion, after the services in a rollback.
        const pkgDeps = rollback ? [id(node, "services")] : first;
        add({ id: id(node, "package"), kind: "package", node, cluster: false, dependsOn: pkgDeps });
        add({ id: id(node, "units"), kind: "units", node, cluster: false, dependsOn: pkgDeps });
        if (input.scope === "node") {
            const cfgDeps = rollback ? first : [id(node, "package"), id(node, "units")];
            add({ id: id(node, "config"), kind: "config", node, cluster: false, dependsOn: cfgDeps });
        }
        add({ id: id(node, "services"), kind: "services", node, cluster: false, dependsOn: [config] });
        let beforeVerify = [id(node, "services")];
        if (rollback) {
            let applyDeps = [id(node, "services")];
            if (t.restoreRequired) {
                add({ id: id(node, "restore"), kind: "restore", node, cluster: false, dependsOn: [id(node, "services")] });
                applyDeps = [id(node, "restore"), clusterRestore];
            }
            add({ id: id(node, "legacy-apply"), kind: "legacy-apply", node, cluster: false, dependsOn: applyDeps });
            beforeVerify = [id(node, "legacy-apply"), id(node, "package"), id(node, "units")];
        }
        add({ id: id(node, "verify"), kind: "verify", node, cluster: false, dependsOn: beforeVerify });
    }

    if (input.scope === "cluster") {
        const deps = input.nodes.flatMap((n) => (rollback ? [id(n, "snapshot")] : [id(n, "package"), id(n, "units")]));
        steps.push({ id: clusterConfig, kind: "cluster-config", node: input.writerNode, cluster: true, dependsOn: deps });
    }
    if (rollback && t.restoreRequired) {
        const deps = input.scope === "cluster" ? [clusterConfig] : [id(input.writerNode, "services")];
        steps.push({ id: clusterRestore, kind: "cluster-restore", node: input.writerNode, cluster: true, dependsOn: deps });
    }
    return { transition: t, steps: topoSort(steps) };
}

/** Steps in an order where every step comes after its dependencies (stable otherwise). */
export function topoSort(steps: readonly PlannedStep[]): PlannedStep[] {
    const byId = new Map(steps.map((s) => [s.id, s]));
    const out: PlannedStep[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (s: PlannedStep) => {
        const st = state.get(s.id);
        if (st === "done") return;
        if (st === "visiting") throw new Error(`step plan has a cycle at ${s.id}`);
        state.set(s.id, "visiting");
        for (const d of s.dependsOn) {
            const dep = byId.get(d);
            if (!dep) throw new Error(`step ${s.id} depends on unknown step ${d}`);
            visit(dep);
        }
        state.set(s.id, "done");
        out.push(s);
    };
    steps.forEach(visit);
    return out;
}

/** The longest chain of dependent steps (the critical path), as step ids. */
export function criticalPath(steps: readonly PlannedStep[]): string[] {
    const byId = new Map(steps.map((s) => [s.id, s]));
    const memo = new Map<string, string[]>();
    const longest = (id: string): string[] => {
        const hit = memo.get(id);
        if (hit) return hit;
        const s = byId.get(id);
        if (!s) throw new Error(`unknown step ${id}`);
        let best: string[] = [];
        for (const d of s.dependsOn) {
            const p = longest(d);
            if (p.length > best.length) best = p;
        }
        const r = [...best, id];
        memo.set(id, r);
        return r;
    };
    let best: string[] = [];
    for (const s of steps) {
        const p = longest(s.id);
        if (p.length > best.length) best = p;
    }
    return best;
}
