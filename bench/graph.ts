/**
 * Step graphs read back from what a run registered: which resources are steps, what each waits
 * for (its registered dependencies, followed through resources that are not steps), and the
 * longest chain (components/plan's criticalPath). Pure.
 */
import { PlannedStep, criticalPath } from "../components/plan";
import { RecordedResource } from "../components/policycheck";

/** Node steps are the command resources (remote over SSH, or local on a sandbox root); the copies (the .deb, the step library) are not steps. */
export function isNodeStep(r: Pick<RecordedResource, "type">): boolean {
    return r.type === "command:remote:Command" || r.type === "command:local:Command";
}

export interface StepGraph {
    /** Step names in registration order. */
    readonly steps: string[];
    /** Step name -> names of the steps it waits for (sorted). */
    readonly waitsFor: Record<string, string[]>;
}

/**
 * The graph of the resources `isStep` selects. A dependency on a resource that is not a step
 * (the transition record, a component) is followed through to the steps behind it.
 */
export function stepGraph(resources: readonly RecordedResource[], isStep: (r: RecordedResource) => boolean = isNodeStep): StepGraph {
    const byUrn = new Map(resources.map((r) => [r.urn, r]));
    const steps = resources.filter(isStep);
    const waitsFor: Record<string, string[]> = {};
    for (const s of steps) {
        const found = new Set<string>();
        const seen = new Set<string>();
        const todo = [...s.dependencies];
        while (todo.length > 0) {
            const urn = todo.pop() as string;
            if (seen.has(urn)) continue;
            seen.add(urn);
            const d = byUrn.get(urn);
            if (d === undefined) throw new Error(`${s.name} depends on ${urn}, which was not registered`);
            if (isStep(d)) found.add(d.name);
            else todo.push(...d.dependencies);
        }
        if (waitsFor[s.name] !== undefined) throw new Error(`two steps named ${s.name}`);
        waitsFor[s.name] = [...found].sort();
    }
    return { steps: steps.map((s) => s.name), waitsFor };
}

/** The longest chain of steps, each waiting for the one before (names, first to last). */
export function longestChain(g: StepGraph): string[] {
    const planned = g.steps.map((id) => ({ id, dependsOn: g.waitsFor[id] }) as unknown as PlannedStep);
    return criticalPath(planned);
}

/** Resources whose registration differs between two runs (added, removed, or other inputs or dependencies), by URN. */
export function changedResources(before: readonly RecordedResource[], after: readonly RecordedResource[]): Set<string> {
    const key = (r: RecordedResource) => JSON.stringify({ props: r.props, dependencies: r.dependencies, parent: r.parent, provider: r.provider });
    const a = new Map(before.map((r) => [r.urn, key(r)]));
    const b = new Map(after.map((r) => [r.urn, key(r)]));
    const changed = new Set<string>();
    for (const [urn, k] of b) if (a.get(urn) !== k) changed.add(urn);
    for (const urn of a.keys()) if (!b.has(urn)) changed.add(urn);
    return changed;
}
