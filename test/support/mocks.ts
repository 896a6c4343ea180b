import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { verifiedLine } from "../../components/deployed";
import { Phase } from "../../components/phases";
import { parseCommand } from "../../components/scripts";

export interface Recorded {
    type: string;
    name: string;
    inputs: Record<string, any>;
    /** Name of the parent resource ("" for the stack). */
    parent: string;
    /** Type of the parent resource. */
    parentType: string;
    /** Names of the resources it depends on (dependsOn), sorted. */
    dependsOn: string[];
}

export interface StackOutputs {
    /** Outputs by fully qualified stack name. */
    [fqName: string]: Record<string, unknown>;
}

/**
 * Stand-in for what a verify step prints on success (nothing runs under the mock runtime): the
 * line components/scripts/sh/steps/verify.sh prints, from the step's own registered arguments.
 */
export function standInVerifyStdout(create: string, at: string): string {
    const verify = parseCommand(create).steps.find((s) => s.step === "verify");
    if (!verify) return "";
    const { options } = verify.args;
    return verifiedLine({ node: options.node, phase: options.to as Phase, transition: options.transition ?? "", at });
}

class Recorder implements pulumi.runtime.Mocks {
    readonly records: Recorded[] = [];
    readonly pending = new Map<string, { parent: string; dependencies: string[] }>();
    constructor(
        private readonly stacks: StackOutputs,
        private readonly verifiedAt: string,
    ) {}

    newResource(args: pulumi.runtime.MockResourceArgs): pulumi.runtime.MockResourceResult {
        const req = this.pending.get(`${args.type}::${args.name}`);
        const nameOf = (urn: string) => urn.split("::").pop() as string;
        const typeOf = (urn: string) => (urn.split("::")[2] ?? "").split("$").pop() as string;
        const parent = req?.parent && !req.parent.endsWith("pulumi:pulumi:Stack::" + nameOf(req.parent)) ? req.parent : "";
        this.records.push({
            type: args.type,
            name: args.name,
            inputs: args.inputs,
            parent: parent ? nameOf(parent) : "",
            parentType: parent ? typeOf(parent) : "",
            dependsOn: (req?.dependencies ?? []).map(nameOf).sort(),
        });
        if (args.type === "pulumi:pulumi:StackReference") {
            return { id: args.inputs.name, state: { ...args.inputs, outputs: this.stacks[args.inputs.name] ?? {}, secretOutputNames: [] } };
        }
        if (args.type === "random:index/randomId:RandomId") {
            const hex = crypto
                .createHash("sha256")
                .update(JSON.stringify(args.inputs.keepers ?? {}))
                .digest("hex")
                .slice(0, 8);
            return { id: hex, state: { ...args.inputs, hex, b64Url: hex, b64Std: hex, dec: String(parseInt(hex, 16)) } };
        }
        const stdout = args.name.endsWith("-verify") && typeof args.inputs.create === "string" ? standInVerifyStdout(args.inputs.create, this.verifiedAt) : "";
        // (a command whose steps end with verify is named ...-verify: components/plan planCommands)
        return { id: `${args.name}-id`, state: { ...args.inputs, stdout, stderr: "" } };
    }

    call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        throw new Error(`unmocked call ${args.token}`);
    }
}

// The SDK's mock monitor passes neither parent nor dependencies to newResource: learn them first.
const proto = MockMonitor.prototype as any;
if (!proto.__pveRecordsParents) {
    const original = proto.registerResource;
    proto.registerResource = function (this: { mocks: unknown }, req: any, callback: unknown) {
        if (this.mocks instanceof Recorder) {
            this.mocks.pending.set(`${req.getType()}::${req.getName()}`, {
                parent: req.getParent(),
                dependencies: [...req.getDependenciesList()],
            });
        }
        return original.call(this, req, callback);
    };
    proto.__pveRecordsParents = true;
}

/**
 * Install recording mocks. Stack references answer from `stacks` (by fully qualified name);
 * a RandomId's hex is derived from its keepers (same keepers: same id); a verify step answers
 * with the stand-in verified line at `verifiedAt`; any call (invoke) throws instead of echoing
 * its inputs.
 */
export async function installMocks(stacks: StackOutputs = {}, opts: { stack?: string; preview?: boolean; verifiedAt?: string } = {}): Promise<Recorded[]> {
    const recorder = new Recorder(stacks, opts.verifiedAt ?? "2026-11-21T12:00:00Z");
    await pulumi.runtime.setMocks(recorder, "pve-network-migration", opts.stack ?? "test", opts.preview ?? false, "organization");
    return recorder.records;
}

/** Set the stack config (keys without namespace) for the next program run. */
export function setStackConfig(values: Record<string, string>, secretKeys: string[] = []): void {
    const all: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) all[`pve-migration:${k}`] = v;
    pulumi.runtime.setAllConfig(
        all,
        secretKeys.map((k) => `pve-migration:${k}`),
    );
}

/** Await every resource's urn (registration settled) in a component tree. */
export async function settleTree(root: unknown): Promise<number> {
    const seen = new Set<unknown>();
    const urns: Promise<string>[] = [];
    const visit = (v: unknown) => {
        if (v === null || typeof v !== "object" || seen.has(v)) return;
        seen.add(v);
        if (pulumi.Resource.isInstance(v)) {
            urns.push(new Promise((resolve) => (v as pulumi.Resource).urn.apply((u) => resolve(u))));
        }
        if (pulumi.Output.isInstance(v)) return;
        for (const child of Object.values(v as Record<string, unknown>)) visit(child);
    };
    visit(root);
    await Promise.all(urns);
    // Components register their outputs after their children: drain every outstanding RPC.
    await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    return urns.length;
}

/** Resolve an output's value in a test. */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}
