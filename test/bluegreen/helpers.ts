/**
 * Shared test helpers: the example stack fragments (fixtures/Pulumi.<stack>.yaml) and a mock
 * runtime that records every registration with its type, name, inputs, provider and parent.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");
export const CHART_DIR = path.join(PROJECT_DIR, "charts", "pve-network-rs");
export const EXAMPLE_STACKS = ["canary-a", "prod"] as const;
export const PROJECT = "pve-network-migration";
export const STACK = "test";

/** The raw `pve-migration:blueGreen` object of an example stack, as the stack file holds it. */
export function exampleBlueGreen(stack: (typeof EXAMPLE_STACKS)[number]): Record<string, unknown> {
    const doc = YAML.parse(fs.readFileSync(path.join(__dirname, "fixtures", `Pulumi.${stack}.yaml`), "utf8"));
    return doc.config["pve-migration:blueGreen"];
}

/** A deep copy with `edit` applied (tests mutate copies, never the fixtures). */
export function edited<T>(raw: T, edit: (c: any) => void): T {
    const c = structuredClone(raw);
    edit(c);
    return c;
}

export interface Registration {
    readonly type: string;
    readonly name: string;
    readonly inputs: any;
    /** Provider reference (`<urn>::<id>`), "" when none. */
    readonly provider: string;
    /** URN of the parent resource. */
    readonly parent: string;
    /** URNs of the resources it depends on (dependsOn). */
    readonly dependencies: string[];
    readonly custom: boolean;
}

/** Records each registration; an invoke/call that is not mocked throws. */
class Recorder implements pulumi.runtime.Mocks {
    readonly registrations: Registration[] = [];
    readonly pending = new Map<string, { parent: string; dependencies: string[] }>();

    newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        const req = this.pending.get(`${args.type}::${args.name}`);
        if (req === undefined) throw new Error(`no request recorded for ${args.type}::${args.name}`);
        this.registrations.push({
            type: args.type,
            name: args.name,
            inputs: args.inputs,
            provider: args.provider ?? "",
            parent: req.parent,
            dependencies: req.dependencies,
            custom: args.custom ?? false,
        });
        return { id: `${args.name}-id`, state: args.inputs };
    }

    call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        throw new Error(`unmocked call ${args.token} ${JSON.stringify(args.inputs)}`);
    }
}

/**
 * The SDK's mock monitor passes neither the parent nor the dependencies to `newResource`: wrap
 * its registerResource once so that the recorder learns them before newResource runs.
 */
const proto = MockMonitor.prototype as any;
if (!proto.__recordsParents) {
    const original = proto.registerResource;
    proto.registerResource = function (this: { mocks: unknown }, req: any, callback: unknown) {
        if (this.mocks instanceof Recorder) {
            this.mocks.pending.set(`${req.getType()}::${req.getName()}`, {
                parent: req.getParent(),
                dependencies: [...req.getDependenciesList()].sort(),
            });
        }
        return original.call(this, req, callback);
    };
    proto.__recordsParents = true;
}

/**
 * Install fresh mocks (preview false), then call `build`, which constructs resources and returns
 * them; every returned resource's urn is awaited before the records are read.
 */
export async function record(build: () => pulumi.Resource[] | Promise<pulumi.Resource[]>): Promise<Registration[]> {
    const recorder = new Recorder();
    await pulumi.runtime.setMocks(recorder, PROJECT, STACK, false);
    const resources = await build();
    await Promise.all(resources.map((r) => promiseOf(r.urn)));
    return recorder.registrations;
}

/** Like record, for a build that must throw: the error and what was registered before it. */
export async function recordFailure(build: () => unknown): Promise<{ error: Error; registrations: Registration[] }> {
    const recorder = new Recorder();
    await pulumi.runtime.setMocks(recorder, PROJECT, STACK, false);
    try {
        build();
    } catch (e) {
        // Let any registration already sent reach the monitor before reading the record.
        await new Promise((r) => setTimeout(r, 50));
        return { error: e as Error, registrations: recorder.registrations };
    }
    throw new Error("expected the build to throw");
}

/** The value of an Output (a failing assertion inside fails the awaiting test). */
export function promiseOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

export function urnOf(type: string, name: string, parentType?: string): string {
    return `urn:pulumi:${STACK}::${PROJECT}::${parentType ? `${parentType}$` : ""}${type}::${name}`;
}

/** Every leaf that differs between two JSON values, as `path: before -> after`. */
export function diffValues(a: unknown, b: unknown, at = ""): string[] {
    const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;
    if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
        const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
        return keys.flatMap((k) => diffValues(a[k], b[k], Array.isArray(a) ? `${at}[${k}]` : at ? `${at}.${k}` : k));
    }
    return JSON.stringify(a) === JSON.stringify(b) ? [] : [`${at}: ${JSON.stringify(a)} -> ${JSON.stringify(b)}`];
}

/** What differs between two recorded runs, per resource (`type::name`), including added/removed ones. */
export function diffRuns(before: Registration[], after: Registration[]): string[] {
    const byKey = (rs: Registration[]) => new Map(rs.map((r) => [`${r.type}::${r.name}`, r]));
    const a = byKey(before);
    const b = byKey(after);
    const out: string[] = [];
    for (const k of [...new Set([...a.keys(), ...b.keys()])].sort()) {
        const ra = a.get(k);
        const rb = b.get(k);
        if (!ra || !rb) {
            out.push(`${k}: ${ra ? "removed" : "added"}`);
            continue;
        }
        const strip = (r: Registration) => ({ inputs: r.inputs, parent: r.parent, provider: r.provider, dependencies: r.dependencies });
        out.push(...diffValues(strip(ra), strip(rb)).map((d) => `${k} ${d}`));
    }
    return out;
}
