/**
 * Step plans (README "What runs on a node"): which steps run on which node for a transition, and in
 * what order, as the step catalogue (components/steps/catalogue.ts) places each kind. Pure; the
 * Pulumi wiring registers the plan's commands (planCommands: a node's steps between two cluster steps
 * run as one command resource, in plan order), `migration-ctl plan` prints both and the benchmarks
 * measure them.
 *
 * Promotion:  snapshot(+backup) -> package, units -> config -> services -> verify
 * Rollback:   snapshot(+backup, network saved) -> config -> services -> restore, package, units
 *             -> legacy-apply (armed) | network-confirm (a new connection) -> verify
 * No change:  package, units -> config -> services -> verify (each idempotent)
 * With pve-migration:ha.maintenance, a transition's services come after ha-enter and its verify
 * before ha-leave (HA maintenance around each node's services..verify).
 *
 * With a cluster-wide migration config the `config` step is one cluster step through the
 * writer node, after every node's earlier steps; sdn.cfg / storage.cfg are restored once per
 * cluster through the writer node.
 */
import { Phase, transition, Transition } from "../phases";
import { PlanContext, STEP_CATALOGUE, STEP_KINDS, StepDependency, StepKind, StepPlacement } from "../steps/catalogue";

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
    /** pve-migration:ha.maintenance (default false): ha-enter before each node's services, ha-leave after its verify. */
    readonly haMaintenance?: boolean;
}

export interface Plan {
    readonly transition: Transition;
    readonly steps: readonly PlannedStep[];
}

/**
 * The plan of a transition, placed entirely by the step catalogue (each entry's `plan`): the
 * node steps node by node in catalogue order, then the cluster steps, then sorted so that every
 * step follows what it depends on.
 */
export function planSteps(input: PlanInput): Plan {
    const t = transition(input.from, input.to);
    const c: PlanContext = { transition: t, scope: input.scope, haMaintenance: input.haMaintenance === true };
    const planned = STEP_KINDS.filter((k) => STEP_CATALOGUE[k].plan.when(c));
    const nodeKinds = planned.filter((k) => !STEP_CATALOGUE[k].plan.cluster);
    const clusterKinds = planned.filter((k) => STEP_CATALOGUE[k].plan.cluster);
    const id = (node: string, kind: StepKind) => `${node}-${kind}`;
    const deps = (node: string, kind: StepKind): string[] =>
        STEP_CATALOGUE[kind].plan.after(c).flatMap((d: StepDependency) => {
            if ("same" in d) return [id(node, d.same)];
            if ("each" in d) return input.nodes.flatMap((n) => d.each.map((k) => id(n, k)));
            if ("cluster" in d) return [id(input.cluster, d.cluster)];
            return [id(input.writerNode, d.writer)];
        });
    const steps: PlannedStep[] = [
        ...input.nodes.flatMap((node) => nodeKinds.map((kind) => ({ id: id(node, kind), kind, node, cluster: false, dependsOn: deps(node, kind) }))),
        ...clusterKinds.map((kind) => ({ id: id(input.cluster, kind), kind, node: input.writerNode, cluster: true, dependsOn: deps(input.writerNode, kind) })),
    ];
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

/**
 * One command resource: the steps of one node that run one after another in one command, or one
 * cluster step. Each step still runs on its own (its own process, time limit, lock and decision
 * log line, components/scripts STEP_RUNNER); a failure names the step and ends the command.
 */
export interface PlannedCommand {
    /** The resource name: the step's id for a command of one step, else `<node>-<kind>-<kind>...` in run order. */
    readonly id: string;
    /** The node it runs on (the writer node for a cluster step). */
    readonly node: string;
    readonly cluster: boolean;
    /** Its steps, in the order they run (an order of the plan). */
    readonly steps: readonly PlannedStep[];
    /** Ids of the commands that must finish first. */
    readonly dependsOn: readonly string[];
}

/**
 * The fewest commands that keep every ordering of the plan: a cluster step is a command of its
 * own, and a node's steps between two cluster steps are one command. A step whose catalogue
 * placement says `endsCommand` (legacy-apply: its confirmation must come over a new SSH
 * connection) ends its command too. A step's level is the number of cluster steps and
 * command-ending steps on the longest chain of the plan that ends at it (such a step counts for
 * the steps after it); the node steps of one node and one level are one command, in
 * plan order. A step depends on a cluster step only across a level, so a command never waits
 * for a cluster step that waits for it: the commands form a graph without cycles (checked), in
 * which every dependency of the plan holds (a step after its dependencies, within its command
 * or through the command's dependencies).
 */
/** Whether a step of `kind` ends its command (its catalogue placement's `endsCommand`). */
function endsCommand(kind: StepKind): boolean {
    const p: StepPlacement = STEP_CATALOGUE[kind].plan;
    return p.endsCommand === true;
}

export function planCommands(plan: Plan): PlannedCommand[] {
    const byId = new Map(plan.steps.map((s) => [s.id, s]));
    const level = new Map<string, number>();
    for (const s of plan.steps) {
        let l = 0;
        for (const d of s.dependsOn) {
            const dep = byId.get(d);
            if (!dep) throw new Error(`step ${s.id} depends on unknown step ${d}`);
            l = Math.max(l, (level.get(d) ?? 0) + (dep.cluster || endsCommand(dep.kind) ? 1 : 0));
        }
        level.set(s.id, l);
    }
    const groups = new Map<string, PlannedStep[]>();
    const commandOf = new Map<string, string>();
    for (const s of plan.steps) {
        const key = s.cluster ? s.id : `${s.node}\0${level.get(s.id)}`;
        groups.set(key, [...(groups.get(key) ?? []), s]);
    }
    const commands: { key: string; steps: PlannedStep[]; id: string }[] = [...groups].map(([key, steps]) => ({
        key,
        steps,
        id: steps.length === 1 ? steps[0].id : `${steps[0].node}-${steps.map((s) => s.kind).join("-")}`,
    }));
    for (const c of commands) for (const s of c.steps) commandOf.set(s.id, c.id);
    const out: PlannedStep[] = [];
    const planned = commands.map((c) => {
        const deps = new Set<string>();
        for (const s of c.steps) for (const d of s.dependsOn) if (commandOf.get(d) !== c.id) deps.add(commandOf.get(d)!);
        return { id: c.id, node: c.steps[0].node, cluster: c.steps[0].cluster, steps: c.steps, dependsOn: [...deps].sort() };
    });
    // The same stable sort as the steps' (it throws on a cycle), over the commands as nodes of a graph.
    const order = topoSort(planned.map((c) => ({ id: c.id, kind: c.steps[0].kind, node: c.node, cluster: c.cluster, dependsOn: c.dependsOn })));
    out.push(...order);
    const byCommand = new Map(planned.map((c) => [c.id, c]));
    return out.map((o) => byCommand.get(o.id)!);
}

/** The longest chain of dependent commands (command ids), as criticalPath does for steps. */
export function commandCriticalPath(commands: readonly PlannedCommand[]): string[] {
    return criticalPath(commands.map((c) => ({ id: c.id, kind: c.steps[0].kind, node: c.node, cluster: c.cluster, dependsOn: c.dependsOn })));
}
