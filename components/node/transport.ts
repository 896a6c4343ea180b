/**
 * How a step reaches its node: `@pulumi/command` remote commands over SSH (pinned host key,
 * bounded dialing, no reliance on SSH `environment`), or local commands against a sandbox root
 * (the dev stack). Either way the step's script goes on stdin and its values are single-quoted
 * arguments on the command line.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { NodeConfig, StackConfig } from "../config/schema";
import { StepArgs, stepCommandLine } from "../scripts";

export interface StepCommandArgs {
    /** The step's script (stdin). */
    readonly script: string;
    /** The step's arguments. */
    readonly args: pulumi.Input<StepArgs>;
}

/** A step's command resource (command.local.Command or command.remote.Command). */
export type StepResource = pulumi.CustomResource & { readonly stdout: pulumi.Output<string> };

/** Creates the command resource of one step on one node. */
export interface Transport {
    command(name: string, node: NodeConfig, step: StepCommandArgs, opts: pulumi.CustomResourceOptions): StepResource;
    /** Copy the pinned .deb to the node when it comes from a local path over SSH; undefined otherwise. */
    copyDeb(name: string, node: NodeConfig, remotePath: string, opts: pulumi.CustomResourceOptions): pulumi.CustomResource | undefined;
}

/** Bounded timeouts: a step that hangs or a host that does not answer fails the update. */
export const STEP_TIMEOUTS: pulumi.CustomTimeouts = { create: "20m", update: "20m", delete: "5m" };

export function localTransport(): Transport {
    return {
        command(name, _node, step, opts) {
            return new command.local.Command(
                name,
                {
                    create: pulumi.output(step.args).apply((a) => stepCommandLine(a)),
                    stdin: step.script,
                    interpreter: ["/bin/sh", "-c"],
                },
                { customTimeouts: STEP_TIMEOUTS, ...opts },
            );
        },
        copyDeb() {
            return undefined;
        },
    };
}

export function sshTransport(cfg: StackConfig, privateKeys: pulumi.Input<Record<string, string>>): Transport {
    const connection = (node: NodeConfig): command.types.input.remote.ConnectionArgs => ({
        host: node.address as string,
        port: node.port,
        user: node.sshUser,
        hostKey: node.hostKey,
        privateKey: pulumi.output(privateKeys).apply((k) => k[node.sshKey]),
        dialErrorLimit: cfg.ssh.dialErrorLimit,
        perDialTimeout: cfg.ssh.perDialTimeout,
    });
    return {
        command(name, node, step, opts) {
            return new command.remote.Command(
                name,
                {
                    connection: connection(node),
                    create: pulumi.output(step.args).apply((a) => stepCommandLine(a, { sudo: node.sshUser !== "root" })),
                    stdin: step.script,
                },
                { customTimeouts: STEP_TIMEOUTS, ...opts },
            );
        },
        copyDeb(name, node, remotePath, opts) {
            if (cfg.package.path === undefined) return undefined;
            return new command.remote.CopyToRemote(
                name,
                { connection: connection(node), source: new pulumi.asset.FileAsset(cfg.package.path), remotePath },
                { customTimeouts: STEP_TIMEOUTS, ...opts },
            );
        },
    };
}

/**
 * Step resources by plan id. A step's dependencies are promises that resolve when those steps
 * are registered, so components can be built in any order; `finish()` fails loudly if a
 * dependency was never registered instead of leaving the program waiting.
 */
export class StepRegistry {
    private readonly resources = new Map<string, pulumi.Resource>();
    private readonly waiting = new Map<string, { promise: Promise<pulumi.Resource>; resolve: (r: pulumi.Resource) => void; reject: (e: Error) => void }>();

    register(id: string, resource: pulumi.Resource): void {
        if (this.resources.has(id)) throw new Error(`step ${id} registered twice`);
        this.resources.set(id, resource);
        this.waiting.get(id)?.resolve(resource);
    }

    /** Resources (or promises of them) for `ids`. */
    deps(ids: readonly string[]): pulumi.Input<pulumi.Resource>[] {
        return ids.map((id) => {
            const r = this.resources.get(id);
            if (r) return r;
            let w = this.waiting.get(id);
            if (!w) {
                let resolve!: (r: pulumi.Resource) => void;
                let reject!: (e: Error) => void;
                const promise = new Promise<pulumi.Resource>((res, rej) => {
                    resolve = res;
                    reject = rej;
                });
                w = { promise, resolve, reject };
                this.waiting.set(id, w);
            }
            return w.promise;
        });
    }

    get(id: string): pulumi.Resource | undefined {
        return this.resources.get(id);
    }

    ids(): string[] {
        return [...this.resources.keys()];
    }

    finish(): void {
        const missing = [...this.waiting.keys()].filter((id) => !this.resources.has(id));
        for (const id of missing) this.waiting.get(id)?.reject(new Error(`step ${id} was depended on but never registered`));
        if (missing.length > 0) throw new Error(`steps depended on but never registered: ${missing.join(", ")}`);
    }
}
