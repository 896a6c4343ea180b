/**
 * How a step reaches its node: `@pulumi/command` remote commands over SSH (pinned host key,
 * bounded dialing, no reliance on SSH `environment`), or local commands against a sandbox root
 * (the dev stack). Either way the step's script goes on stdin, its values are single-quoted
 * arguments on the command line, and its time limit is enforced on the node itself (GNU
 * timeout in the command line, see stepCommandLine).
 *
 * Why on the node: `customTimeouts` only cancels the provider's context. For remote.Command
 * that context reaches the dial (retry.Until) but not the command: pulumi-command
 * provider/pkg/provider/remote/commandOutputs.go, CommandOutputs.run, calls
 * `session.Run(cmd)`, which takes no context, so a hung node or a hung systemctl would hang
 * `pulumi up`. For local.Command the context kills only the interpreter
 * (provider/pkg/provider/local/commandOutputs.go, run: `exec.CommandContext(ctx, args[0], ...)`
 * signals /bin/sh, not the processes it started).
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { NodeConfig, StackConfig, missingKeyMessage } from "../config/schema";
import { ownGet } from "../config/own";
import { CommandStep, DEFAULT_STEP_TIMEOUTS, LIBRARY_STAGING_DIR, LibraryPlace, STEP_KILL_AFTER_SECONDS, commandLine, renderStepLibrary } from "../scripts";
import { TransportCapability, transportCapability } from "./capability";

export interface StepCommandArgs {
    /** The node's step stub (stdin), which runs each step from the step library. */
    readonly script: string;
    /** The steps, in order, each with its time limit (the stack's `stepTimeouts`) and arguments. */
    readonly steps: readonly CommandStep[];
}

/** Seconds the steps of a command may take on the node together: each step's limit and SIGKILL grace. */
function commandLimit(steps: readonly CommandStep[]): number {
    return steps.reduce((sum, s) => sum + (s.timeLimit ?? DEFAULT_STEP_TIMEOUTS[s.step]) + STEP_KILL_AFTER_SECONDS, 0);
}

/** A step's command resource (command.local.Command or command.remote.Command). */
export type StepResource = pulumi.CustomResource & { readonly stdout: pulumi.Output<string> };

/**
 * `addPreviousOutputInEnv` is off on every command: on by default, it sends the previous
 * stdout and stderr as PULUMI_COMMAND_STDOUT / _STDERR (remote: session.Setenv, which warns on
 * every update when sshd lacks AcceptEnv, as Debian's does; local: the environment). The
 * steps never read them. Source: pulumi-command provider/pkg/provider/remote/commandOutputs.go
 * and local/commandOutputs.go, `if in.AddPreviousOutputInEnv == nil || *in.AddPreviousOutputInEnv`.
 */
const NO_PREVIOUS_OUTPUT_IN_ENV = false;

/**
 * Seconds an unreachable node takes to fail: pulumi-command's dialWithRetry
 * (provider/pkg/provider/remote/connection.go) stops once `dials > dialErrorLimit`
 * (reachedDialingErrorLimit), so it makes dialErrorLimit + 1 attempts of up to perDialTimeout
 * seconds each (ssh.ClientConfig.Timeout bounds the TCP connect), with retry.Until's waits in
 * between (pulumi sdk/go/common/util/retry/until.go: 100 ms, times 1.5 each time, at most 5 s).
 */
export function dialBoundSeconds(dialErrorLimit: number, perDialTimeout: number): number {
    let waits = 0;
    let delay = 0.1;
    for (let i = 0; i < dialErrorLimit; i++) {
        waits += Math.min(delay, 5);
        delay *= 1.5;
    }
    return (dialErrorLimit + 1) * perDialTimeout + waits;
}

/**
 * The engine's timeouts of a step resource: above the node-side bound (`nodeSeconds`: each
 * step's limit, then SIGKILL after STEP_KILL_AFTER_SECONDS) plus the time to reach the node, so that the node's own
 * timeout, with its message, is what the operator sees. The engine parses these strings with
 * Go's time.ParseDuration (pulumi pkg/resource/deploy/source_eval.go,
 * generateTimeoutInSeconds), so whole seconds ("1290s") are valid.
 */
export function stepCustomTimeouts(nodeSeconds: number, reachSeconds: number): pulumi.CustomTimeouts {
    const s = Math.ceil(nodeSeconds + reachSeconds + 60);
    return { create: `${s}s`, update: `${s}s`, delete: "5m" };
}

/** Where one node's steps find the step library, and the resource that stages it there (none for a sandbox). */
export interface NodeLibrary {
    readonly place: LibraryPlace;
    readonly resource: pulumi.CustomResource | undefined;
}

/** Creates the command resource of one step on one node. */
export interface Transport {
    /** What this transport does (capability.ts): where a .deb is staged, a node's root, commands outside Pulumi. */
    readonly capability: TransportCapability;
    command(name: string, node: NodeConfig, step: StepCommandArgs, opts: pulumi.CustomResourceOptions): StepResource;
    /** Copy the pinned .deb to the node (to capability.debPath) when the capability says so and it comes from a local file; undefined otherwise. */
    copyDeb(name: string, node: NodeConfig, opts: pulumi.CustomResourceOptions): pulumi.CustomResource | undefined;
    /**
     * Stage the step library (components/scripts renderStepLibrary, written to the local file
     * `file`) where the node's step stubs install it from: over SSH a CopyToRemote to
     * LIBRARY_STAGING_DIR; for a sandbox the local file itself (the nodes are folders of this machine).
     */
    stageLibrary(name: string, node: NodeConfig, file: string, opts: pulumi.CustomResourceOptions): NodeLibrary;
}

/** The engine's timeouts of the .deb copy (CopyToRemote has no node-side bound). */
export const COPY_TIMEOUTS: pulumi.CustomTimeouts = { create: "20m", update: "20m", delete: "5m" };

export function localTransport(): Transport {
    return {
        capability: transportCapability({ transport: "local" }),
        command(name, _node, step, opts) {
            return new command.local.Command(
                name,
                {
                    create: commandLine(step.steps),
                    stdin: step.script,
                    interpreter: ["/bin/sh", "-c"],
                    addPreviousOutputInEnv: NO_PREVIOUS_OUTPUT_IN_ENV,
                },
                { customTimeouts: stepCustomTimeouts(commandLimit(step.steps), 0), ...opts },
            );
        },
        copyDeb() {
            return undefined;
        },
        stageLibrary(_name, node, file) {
            const remedy = `run the program again: it writes the library to ${file} on every run`;
            return { place: { root: node.root, staged: file, remedy }, resource: undefined };
        },
    };
}

/**
 * The private key named `name`: an own key of the secret holding a string, never a member of
 * Object.prototype (`constructor`, `toString`...). The config check refuses such a name first;
 * this holds for every caller.
 */
export function privateKeyOf(keys: Readonly<Record<string, unknown>>, name: string): string {
    const k = ownGet(keys, name);
    if (typeof k !== "string" || k === "") throw new Error(missingKeyMessage("sshKey", name));
    return k;
}

export function sshTransport(cfg: StackConfig, privateKeys: pulumi.Input<Record<string, string>>): Transport {
    const connection = (node: NodeConfig): command.types.input.remote.ConnectionArgs => ({
        host: node.address as string,
        port: node.port,
        user: node.sshUser,
        hostKey: node.hostKey,
        privateKey: pulumi.output(privateKeys).apply((k) => privateKeyOf(k, node.sshKey)),
        dialErrorLimit: cfg.ssh.dialErrorLimit,
        perDialTimeout: cfg.ssh.perDialTimeout,
    });
    const capability = transportCapability({ transport: "ssh" });
    return {
        capability,
        command(name, node, step, opts) {
            return new command.remote.Command(
                name,
                {
                    connection: connection(node),
                    create: commandLine(step.steps, { sudo: node.sshUser !== "root" }),
                    stdin: step.script,
                    addPreviousOutputInEnv: NO_PREVIOUS_OUTPUT_IN_ENV,
                },
                { customTimeouts: stepCustomTimeouts(commandLimit(step.steps), dialBoundSeconds(cfg.ssh.dialErrorLimit, cfg.ssh.perDialTimeout)), ...opts },
            );
        },
        copyDeb(name, node, opts) {
            if (!capability.copiesDeb || cfg.package.path === undefined) return undefined;
            return new command.remote.CopyToRemote(
                name,
                { connection: connection(node), source: new pulumi.asset.FileAsset(cfg.package.path), remotePath: capability.debPath(cfg.package) },
                { customTimeouts: COPY_TIMEOUTS, ...opts },
            );
        },
        stageLibrary(name, node, file, opts) {
            // CopyToRemote with a FileAsset: the state keeps the asset's path and hash, not its text
            // (a StringAsset's text would be kept in the inputs). An update copies again only when the
            // hash or the remote path changed (pulumi-command provider/pkg/provider/remote/copyController.go,
            // Update: needCopy); the copy goes over SFTP, creating the parent folders (copyTextContent /
            // copyAssetToRemote: sftpClient.MkdirAll) as the SSH user, so the stub verifies it before use.
            const staged = `${LIBRARY_STAGING_DIR}/${renderStepLibrary().fileName}`;
            const resource = new command.remote.CopyToRemote(
                name,
                { connection: connection(node), source: new pulumi.asset.FileAsset(file), remotePath: staged },
                { customTimeouts: COPY_TIMEOUTS, ...opts },
            );
            const remedy = `copy it again: pulumi up --replace <the URN of ${name}> (pulumi stack --show-urns lists it)`;
            return { place: { root: "/", staged, remedy }, resource };
        },
    };
}

/**
 * The transport of a stack: local commands against sandbox roots, or remote commands over SSH
 * with the private keys `privateKeys()` gives (read only for SSH).
 */
export function transportFor(cfg: StackConfig, privateKeys: () => pulumi.Input<Record<string, string>>): Transport {
    return cfg.transport === "local" ? localTransport() : sshTransport(cfg, privateKeys());
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

    /**
     * Check the registered steps against the plan's: every planned step registered, nothing
     * else. Throws, naming the steps, when they differ (a step that nothing depends on would
     * otherwise go unregistered silently); a dependency never registered rejects its waiters.
     */
    finish(planned: readonly string[]): void {
        const missing = [...this.waiting.keys()].filter((id) => !this.resources.has(id));
        for (const id of missing) this.waiting.get(id)?.reject(new Error(`step ${id} was depended on but never registered`));
        const plannedSet = new Set(planned);
        const unregistered = planned.filter((id) => !this.resources.has(id));
        const unplanned = [...this.resources.keys()].filter((id) => !plannedSet.has(id));
        const problems = [
            ...(unregistered.length > 0 ? [`planned but never registered: ${unregistered.join(", ")}`] : []),
            ...(unplanned.length > 0 ? [`registered but not planned: ${unplanned.join(", ")}`] : []),
            ...missing.filter((id) => !plannedSet.has(id)).map((id) => `depended on but neither planned nor registered: ${id}`),
        ];
        if (problems.length > 0) throw new Error(`the registered steps differ from the plan: ${problems.join("; ")}`);
    }
}
