import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";

export interface Recorded {
    type: string;
    name: string;
    inputs: Record<string, any>;
}

export interface StackOutputs {
    [fqName: string]: Record<string, unknown>;
}

/**
 * Install recording mocks. Stack references answer from `stacks` (by fully qualified name);
 * a RandomId's hex is derived from its keepers (same keepers: same id); any call (invoke)
 * throws instead of echoing its inputs.
 */
export async function installMocks(stacks: StackOutputs = {}, opts: { stack?: string; preview?: boolean } = {}): Promise<Recorded[]> {
    const records: Recorded[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource(args: pulumi.runtime.MockResourceArgs) {
                records.push({ type: args.type, name: args.name, inputs: args.inputs });
                if (args.type === "pulumi:pulumi:StackReference") {
                    return { id: args.inputs.name, state: { ...args.inputs, outputs: stacks[args.inputs.name] ?? {}, secretOutputNames: [] } };
                }
                if (args.type === "random:index/randomId:RandomId") {
                    const hex = crypto.createHash("sha256").update(JSON.stringify(args.inputs.keepers ?? {})).digest("hex").slice(0, 8);
                    return { id: hex, state: { ...args.inputs, hex, b64Url: hex, b64Std: hex, dec: String(parseInt(hex, 16)) } };
                }
                return { id: `${args.name}-id`, state: { ...args.inputs, stdout: "", stderr: "" } };
            },
            call(args: pulumi.runtime.MockCallArgs) {
                throw new Error(`unmocked call ${args.token}`);
            },
        },
        "pve-network-migration",
        opts.stack ?? "test",
        opts.preview ?? false,
        "organization",
    );
    return records;
}

/** Set the stack config (keys without namespace) for the next program run. */
export function setStackConfig(values: Record<string, string>, secretKeys: string[] = []): void {
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) all[`pve-migration:${k}`] = v;
    pulumi.runtime.setAllConfig(all, secretKeys.map((k) => `pve-migration:${k}`));
}

/** Resolve an output (to read a registered value in a test). */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

/** Parent type of a resource, from its URN (`...::<parentType>$<type>::<name>`). */
export async function parentTypeOf(r: pulumi.Resource): Promise<string | undefined> {
    const urn = await valueOf(r.urn);
    const qualified = urn.split("::")[2];
    const parts = qualified.split("$");
    return parts.length > 1 ? parts[parts.length - 2] : undefined;
}
