/**
 * Shared helpers of the policy families: reading the transition record, the node steps (their
 * command line back into step options, their script), the rendered migration.toml, the
 * dependency graph and the policy config. Pure functions over what the policy server hands a
 * policy; nothing here constructs a PolicyPack.
 *
 * What a policy can see (README "Tests that cannot be real here"): only the new inputs of each resource, props
 * unwrapped (a secret looks like plaintext), unknown values during a preview (reading one
 * throws UnknownValueError). The previous phase reaches the policies through the transition
 * record's keepers.
 */
import { parse as parseToml } from "smol-toml";
import { PHASES, Phase, isPhase, phaseIndex } from "../components/phases";
import { parseCommand } from "../components/scripts";
import { TRANSITION_RECORD_FIELDS, TransitionRecord } from "../components/cluster/record";

/** Type of the transition record and the `kind` its keepers carry. */
export const RECORD_TYPE = "random:index/randomId:RandomId";
export const RECORD_KIND = "pve-migration/transition";
/** Resource types that run node steps. */
export const REMOTE_COMMAND = "command:remote:Command";
export const LOCAL_COMMAND = "command:local:Command";
export const COPY_TO_REMOTE = "command:remote:CopyToRemote";
export const CLUSTER_COMPONENT = "pve-migration:cluster:ClusterMigration";
export const NODE_COMPONENT = "pve-migration:node:MigrationNode";
export const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";
export const K8S_SERVICE = "kubernetes:core/v1:Service";

/** The policy server's proxy throws this when a policy reads a value unknown during preview. */
const { UnknownValueError } = require("@pulumi/policy/proxy") as { UnknownValueError: new (...args: never[]) => Error };

export function isUnknownValueError(e: unknown): boolean {
    return e instanceof UnknownValueError || (e instanceof Error && e.constructor.name === "UnknownValueError");
}

/** `read()`, or undefined when it reads a value that is unknown during preview. */
export function known<T>(read: () => T): T | undefined {
    try {
        return read();
    } catch (e) {
        if (isUnknownValueError(e)) return undefined;
        throw e;
    }
}

/** The policy's config: the schema defaults, overridden by what the pack config sets. */
export function configOf<T extends object>(args: { getConfig<C extends object>(): C }, defaults: T): T {
    return { ...defaults, ...(args.getConfig<Partial<T>>() ?? {}) };
}

/** The transition record's keepers (every value a string), as the program writes them. */
/** The transition record's keepers (components/cluster/record.ts, shared with the program). */
export type Record = Omit<TransitionRecord, "kind" | "from" | "to" | "scope"> & { readonly from: string; readonly to: string; readonly scope: string };

const RECORD_FIELDS = TRANSITION_RECORD_FIELDS;

export function recordOf(props: { keepers?: unknown }): Record | undefined {
    const keepers = known(() => props.keepers) as { [k: string]: unknown } | undefined;
    if (!keepers || typeof keepers !== "object" || keepers.kind !== RECORD_KIND) return undefined;
    const out: { [k: string]: string } = {};
    for (const f of RECORD_FIELDS) {
        const v = known(() => keepers[f]);
        out[f] = typeof v === "string" ? v : v === undefined || v === null ? "" : String(v);
    }
    return out as unknown as Record;
}

export interface Transition {
    readonly from: Phase;
    readonly to: Phase;
    readonly kind: "none" | "promotion" | "rollback";
}

/** The record's transition, or undefined when from / to are not phases (phase-transition reports that). */
export function transitionOf(r: Record): Transition | undefined {
    if (!isPhase(r.from) || !isPhase(r.to)) return undefined;
    const d = phaseIndex(r.to) - phaseIndex(r.from);
    return { from: r.from, to: r.to, kind: d === 0 ? "none" : d > 0 ? "promotion" : "rollback" };
}

/** The record's nodes (comma list). */
export function nodesOf(r: Record): string[] {
    return r.nodes
        .split(",")
        .map((n) => n.trim())
        .filter((n) => n !== "");
}

/** A node step of a command resource: the script it runs, its options and argv. */
export interface Step {
    /** The step's script: snapshot, package, units, config, services, restore, legacy-apply, network-confirm, verify (rules on a monitoring host). */
    readonly script: string;
    /** Options of its arguments (`--name value`). */
    readonly options: { readonly [k: string]: string };
    readonly argv: readonly string[];
    /** Its place in the command (0 first): the steps of one command run in this order. */
    readonly index: number;
    /** How many steps the command runs. */
    readonly count: number;
}

/** How a message names a step of the command resource `name`: the resource when it runs the step alone, else `<node>-<step> (in <name>)`. */
export function stepLabel(name: string, step: Step): string {
    return step.count === 1 ? name : `${step.options.node ?? "(no --node)"}-${step.script} (in ${name})`;
}

/**
 * The steps a command resource runs, in order (components/scripts parseCommand of its command
 * line); [] when it is not a step command or its command line is unknown.
 */
export function stepsOf(props: { create?: unknown }): Step[] {
    const create = known(() => props.create);
    if (typeof create !== "string") return [];
    try {
        const steps = parseCommand(create).steps;
        return steps.map((s, index) => ({ script: s.step, options: s.args.options, argv: s.args.argv ?? [], index, count: steps.length }));
    } catch {
        return [];
    }
}

export function isCommandType(type: string): boolean {
    return type === REMOTE_COMMAND || type === LOCAL_COMMAND;
}

export type TomlResult = { ok: true; value: { [k: string]: unknown } } | { ok: false; error: string };

/** The migration.toml a config step writes (its --content option). */
export function parseMigrationToml(content: string): TomlResult {
    try {
        return { ok: true, value: parseToml(content) as { [k: string]: unknown } };
    } catch (e) {
        return { ok: false, error: (e as Error).message.split("\n")[0] };
    }
}

/** A file under /etc/pve (pmxcfs) is one file for the whole cluster. */
export function inPmxcfs(path: string): boolean {
    return path.startsWith("/etc/pve/");
}

/** Cluster-wide (README "Configure a stack", migrationConfig): under /etc/pve, not under /etc/pve/nodes/. */
export function isClusterWide(path: string): boolean {
    return inPmxcfs(path) && !path.startsWith("/etc/pve/nodes/");
}

/** https URL with a host and without credentials? */
export function isHttpsUrl(u: string): boolean {
    try {
        const url = new URL(u);
        return url.protocol === "https:" && url.hostname !== "";
    } catch {
        return false;
    }
}

/** Does the URL carry a user name or password? */
export function urlHasCredentials(u: string): boolean {
    try {
        const url = new URL(u);
        return url.username !== "" || url.password !== "";
    } catch {
        return false;
    }
}

/** The shape of a resource in a stack policy that the helpers below need. */
export interface GraphResource {
    readonly urn: string;
    readonly name: string;
    readonly type: string;
    readonly dependencies: readonly GraphResource[];
    readonly parent?: GraphResource;
}

/** Does `from` depend on `target`, directly or through other resources? */
export function dependsOn(from: GraphResource, target: GraphResource): boolean {
    const seen = new Set<string>();
    const stack = [...from.dependencies];
    while (stack.length > 0) {
        const r = stack.pop() as GraphResource;
        if (r.urn === target.urn) return true;
        if (seen.has(r.urn)) continue;
        seen.add(r.urn);
        stack.push(...r.dependencies);
    }
    return false;
}

/** The nearest ancestor of `type` (the resource itself excluded). */
export function ancestorOf(r: GraphResource, type: string): GraphResource | undefined {
    for (let p = r.parent; p; p = p.parent) if (p.type === type) return p;
    return undefined;
}

/** Soak per phase in seconds, as policy config (every phase present). */
export type SoakSeconds = { [P in Phase]: number };

export function soakSchema(defaults: SoakSeconds) {
    return {
        type: "object" as const,
        description: "Soak per phase before the next promotion, in seconds.",
        properties: Object.fromEntries(PHASES.map((p) => [p, { type: "integer" as const, minimum: 0, default: defaults[p] }])),
        additionalProperties: false,
        default: { ...defaults },
    };
}

export function quote(v: unknown): string {
    return JSON.stringify(v);
}
