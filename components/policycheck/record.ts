/**
 * Run the real Pulumi program under the SDK's mock runtime and record every resource it
 * registers the way the engine would hand it to a policy pack: type, name, URN (the engine's
 * form: the full chain of parent types), inputs deserialized by @pulumi/policy's own
 * deserializer (secrets unwrapped, unknowns kept as the sentinels the proxy detects), parent
 * and dependencies.
 *
 * Each run gets its own Pulumi runtime store (the SDK's `withLocalStorage`, as the automation
 * API does for inline programs), so several runs in one process do not see each other's
 * config, mocks or registrations.
 */
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import { ownGet } from "../config/own";

// Internal to the SDKs (not in their typings): the policy server's own deserializer, and the
// runtime functions the automation API and the SDK's setMocks use.
const { deserializeProperties } = require("@pulumi/policy/deserialize") as {
    deserializeProperties(struct: unknown, proxySecrets: boolean): Record<string, any>;
};
const settings = require("@pulumi/pulumi/runtime/settings") as {
    setMockOptions(monitor: unknown, project: string, stack: string, preview: boolean, organization: string): void;
    waitForRPCs(): Promise<void>;
};
const state = require("@pulumi/pulumi/runtime/state") as { withLocalStorage<T>(callback: () => Promise<T>): Promise<T> };

/** One registration, as the policy server would see it. */
export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    readonly urn: string;
    /** Inputs, deserialized as the policy server deserializes them (not yet proxied). */
    readonly props: Record<string, any>;
    /** URN of the parent ("" at the top). */
    readonly parent: string;
    /** URNs of the resources it depends on (dependsOn and inputs), sorted. */
    readonly dependencies: string[];
    /** Provider reference (`<urn>::<id>`), "" for the default provider. */
    readonly provider: string;
    /** A custom resource (false: a component). */
    readonly custom: boolean;
}

/** Outputs a StackReference answers with, by stack name (the last segment of org/project/stack). */
export type StackOutputsByName = Record<string, Record<string, unknown> | undefined>;

export interface RecordOptions {
    readonly project: string;
    readonly stack: string;
    readonly organization?: string;
    /** Config by full key (`pve-migration:phase`), values as the engine passes them (strings). */
    readonly config: Record<string, string>;
    /** Full keys whose values are secrets. */
    readonly secretKeys: readonly string[];
    /** Outputs of the stacks the program references (its own last outputs and its upstream). */
    readonly stackOutputs: StackOutputsByName;
    /**
     * Run as a preview: the transition record's id (RandomId.hex) is unknown, as it is in a real
     * preview of a transition (the record is replaced), and so is everything computed from it.
     */
    readonly preview?: boolean;
}

export interface RecordResult<T> {
    readonly resources: RecordedResource[];
    /** What the program returned (its stack outputs; Outputs left unresolved). */
    readonly outputs: T;
}

/** The engine's URN: the parent's qualified type chain, then this type, then the name. */
export function engineUrn(stack: string, project: string, parentUrn: string | undefined, type: string, name: string): string {
    const qualified = parentUrn ? `${parentUrn.split("::")[2]}$${type}` : type;
    return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/** The SDK's mock monitor, recording each registration with its parent and dependencies (which the mocks never see). */
function recordingMonitor(m: pulumi.runtime.Mocks, stack: string, project: string, into: RecordedResource[]): MockMonitor {
    const monitor = new MockMonitor(m);
    const urn = (parent: string, type: string, name: string) => engineUrn(stack, project, parent || undefined, type, name);
    (monitor as unknown as { newUrn: typeof urn }).newUrn = urn;
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = async (req: any, callback: (err: any, resp: any) => void) => {
        try {
            const parent: string = req.getParent();
            into.push({
                type: req.getType(),
                name: req.getName(),
                urn: urn(parent, req.getType(), req.getName()),
                props: deserializeProperties(req.getObject(), false),
                parent,
                dependencies: [...(req.getDependenciesList() as string[])].sort(),
                provider: req.getProvider() ?? "",
                custom: req.getCustom(),
            });
        } catch (err) {
            callback(err, undefined);
            return;
        }
        return register(req, callback);
    };
    return monitor;
}

/** Mocks: stack references answer from `stackOutputs`; a RandomId's hex derives from its keepers. */
function mocks(o: RecordOptions): pulumi.runtime.Mocks {
    return {
        newResource(args) {
            if (args.type === "pulumi:pulumi:StackReference") {
                const name = String(args.inputs.name).split("/").pop() as string;
                return { id: args.inputs.name, state: { ...args.inputs, outputs: ownGet(o.stackOutputs, name) ?? {}, secretOutputNames: [] } };
            }
            if (args.type === "random:index/randomId:RandomId") {
                if (o.preview) return { id: undefined, state: { ...args.inputs } };
                const hex = crypto
                    .createHash("sha256")
                    .update(JSON.stringify(args.inputs.keepers ?? {}))
                    .digest("hex")
                    .slice(0, 8);
                return { id: hex, state: { ...args.inputs, hex, b64Url: hex, b64Std: hex, dec: String(parseInt(hex, 16)) } };
            }
            return { id: `${args.name}-id`, state: { ...args.inputs } };
        },
        call(args) {
            throw new Error(`the program made a call the offline check does not mock: ${args.token}`);
        },
    };
}

/**
 * Run `program` (which registers resources and returns its outputs) under recording mocks in a
 * runtime store of its own, wait until every registration has settled, and return what was
 * registered. The program's error, if any, is thrown after the runtime has settled.
 */
export function recordProgram<T>(o: RecordOptions, program: () => Promise<T>): Promise<RecordResult<T>> {
    return state.withLocalStorage(async () => {
        const organization = o.organization ?? "organization";
        const preview = o.preview ?? false;
        const resources: RecordedResource[] = [];
        // setMocks sets the store's feature flags; the recording monitor then takes its place.
        await pulumi.runtime.setMocks(mocks(o), o.project, o.stack, preview, organization);
        settings.setMockOptions(recordingMonitor(mocks(o), o.stack, o.project, resources), o.project, o.stack, preview, organization);
        pulumi.runtime.setAllConfig(o.config, [...o.secretKeys]);
        let outputs: T;
        try {
            outputs = await program();
        } finally {
            await settings.waitForRPCs();
        }
        return { resources, outputs };
    });
}
