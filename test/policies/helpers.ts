/**
 * Policy test helpers: record an example stack with the real program under the mock runtime
 * (the happy-path factory), mutate a copy of what was registered, and run one policy (or the
 * whole pack) over it the way the policy server does.
 */
import * as path from "path";
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import { Policy, PolicyPackConfig } from "@pulumi/policy";
import { PACK, RecordedStack, StackFileConfig, recordStack, RecordStackOptions } from "../../cli/policy-check/check";
import { evaluatePack, Violation } from "../../components/policycheck/evaluate";
import { RecordedResource } from "../../components/policycheck/record";
import { readStackFile } from "../../components/config/stackfile";
import { CommandStep, commandLine, parseCommand } from "../../components/scripts";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");
export const STACKS = ["dev", "canary-a", "canary-b", "prod"] as const;
export const DAY = 86400;

/** The `config:` map of an example stack, edited on a copy. */
export function stackConfig(stack: string, edit: (c: Record<string, any>) => void = () => {}): StackFileConfig {
    const c = structuredClone(readStackFile(PROJECT_DIR, stack).configMap) as Record<string, any>;
    edit(c);
    return c;
}

/** Record a stack (the real program under the mock runtime, guards off). */
export function record(stack: string, o: Partial<RecordStackOptions> = {}): Promise<RecordedStack> {
    return recordStack({ projectDir: PROJECT_DIR, stack, ...o });
}

/** A deep copy of plain data; anything else (an asset) is shared. */
function clonePlain<T>(v: T): T {
    if (Array.isArray(v)) return v.map(clonePlain) as T;
    if (v !== null && typeof v === "object" && [Object.prototype, null].includes(Object.getPrototypeOf(v))) {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clonePlain(x)])) as T;
    }
    return v;
}

/** A deep copy of the recorded resources, to mutate. */
export function copy(resources: readonly RecordedResource[]): RecordedResource[] {
    return resources.map((r) => ({ ...r, props: clonePlain(r.props), dependencies: [...r.dependencies] }));
}

export function byName(resources: readonly RecordedResource[], name: string): RecordedResource {
    const r = resources.find((x) => x.name === name && x.custom);
    if (!r) throw new Error(`no resource ${name} in ${resources.map((x) => x.name).join(", ")}`);
    return r;
}

const isCommand = (r: RecordedResource) => r.custom && (r.type === "command:remote:Command" || r.type === "command:local:Command");

/**
 * The command resource that runs planned step `id` (`<node>-<kind>`; a cluster step, or a step
 * alone in its command, is the command's own name) and the step's place in it.
 */
export function commandOf(resources: readonly RecordedResource[], id: string): { res: RecordedResource; index: number } {
    for (const r of resources.filter(isCommand)) {
        const c = parseCommand(r.props.create as string);
        if (r.name === id && c.steps.length === 1) return { res: r, index: 0 };
        const index = c.steps.length > 1 ? c.steps.findIndex((x) => `${c.node}-${x.step}` === id) : -1;
        if (index >= 0) return { res: r, index };
    }
    throw new Error(
        `no command runs step ${id} (commands: ${resources
            .filter(isCommand)
            .map((x) => x.name)
            .join(", ")})`,
    );
}

/** Edit the options of planned step `id` in its command (the command line is re-rendered). */
export function editOptions(resources: RecordedResource[], id: string, edit: (o: Record<string, string | undefined>) => void): RecordedResource[] {
    const { res, index } = commandOf(resources, id);
    const c = parseCommand(res.props.create as string);
    const steps: CommandStep[] = c.steps.map((s, i) => {
        if (i !== index) return s;
        const options: Record<string, string | undefined> = { ...s.args.options };
        edit(options);
        const kept = Object.fromEntries(Object.entries(options).filter((e): e is [string, string] => e[1] !== undefined));
        return { ...s, args: { options: kept, argv: s.args.argv } };
    });
    res.props.create = commandLine(steps, { sudo: c.sudo });
    return resources;
}

/** Remove planned step `id`: its command when it runs that step alone (and every dependency on it), else the step from its command line. */
export function dropStep(resources: RecordedResource[], id: string): RecordedResource[] {
    const { res, index } = commandOf(resources, id);
    const c = parseCommand(res.props.create as string);
    if (c.steps.length === 1) return drop(resources, res.name);
    res.props.create = commandLine(
        c.steps.filter((_, i) => i !== index),
        { sudo: c.sudo },
    );
    return resources;
}

/** Edit the migration.toml a config step writes. */
export function editToml(resources: RecordedResource[], name: string, edit: (t: Record<string, unknown>) => void): RecordedResource[] {
    return editOptions(resources, name, (o) => {
        const t = parseToml(o.content as string) as Record<string, unknown>;
        edit(t);
        o.content = stringifyToml(t);
    });
}

/** The transition record's resource. */
export function recordResource(resources: readonly RecordedResource[]): RecordedResource {
    const r = resources.find((x) => x.type === "random:index/randomId:RandomId");
    if (!r) throw new Error("no transition record");
    return r;
}

/** Edit the transition record's keepers. */
export function editKeepers(resources: RecordedResource[], edit: (k: Record<string, string>) => void): RecordedResource[] {
    edit(recordResource(resources).props.keepers);
    return resources;
}

/** Remove a resource and every dependency on it. */
export function drop(resources: RecordedResource[], name: string): RecordedResource[] {
    const gone = byName(resources, name);
    return resources.filter((r) => r !== gone).map((r) => ({ ...r, dependencies: r.dependencies.filter((d) => d !== gone.urn) }));
}

export function policy(name: string): Policy {
    const p = PACK.policies.find((x) => x.name === name);
    if (!p) throw new Error(`no policy ${name}`);
    return p;
}

/** Run one policy (as its own pack) over resources; violations with the resource name. */
export async function violations(p: Policy | string, resources: readonly RecordedResource[], config?: PolicyPackConfig): Promise<Violation[]> {
    const pol = typeof p === "string" ? policy(p) : p;
    const ev = await evaluatePack({ name: "test", policies: [pol as never] }, resources, config);
    if (ev.errors.length > 0) throw new Error(ev.errors.join("\n"));
    return ev.violations;
}

/** Messages of one policy's violations. */
export async function messages(p: Policy | string, resources: readonly RecordedResource[], config?: PolicyPackConfig): Promise<string[]> {
    return (await violations(p, resources, config)).map((v) => v.message);
}

/** `policy: name: message` for every violation (short form for whole-pack assertions). */
export function summary(vs: readonly Violation[]): string[] {
    return vs.map((v) => `${v.enforcementLevel} ${v.policy} ${v.name || "(stack)"}: ${v.message}`);
}

export function isoAgo(seconds: number, now = Date.now()): string {
    return new Date(now - seconds * 1000).toISOString();
}
