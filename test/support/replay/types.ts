/**
 * Types of the replay of registered resources: a stand-in for the Pulumi engine and the
 * @pulumi/command provider, used by tests only (see index.ts for the rules it follows).
 */

/** One resource in a replay state (what the engine's checkpoint holds for it, JSON-able). */
export interface ReplayResourceState {
    readonly urn: string;
    readonly type: string;
    readonly name: string;
    readonly id: string;
    /** Inputs as the program registered them (secrets in the SDK's wire form, assets as `{__asset}`). */
    readonly inputs: Record<string, unknown>;
    readonly outputs: Record<string, unknown>;
    /** URNs of the resources it depended on (the request's dependencies list). */
    readonly dependencies: string[];
}

/** The replay's checkpoint: resources in registration order and the stack's outputs. */
export interface ReplayState {
    readonly resources: ReplayResourceState[];
    /** Stack outputs in the SDK's wire form (unknowns as the engine's computed placeholder string). */
    readonly stackOutputs: Record<string, unknown>;
}

export type ReplayOpKind = "create" | "update" | "replace" | "same" | "delete";
/** `planned`: preview (nothing runs); `not-run`: the deployment stopped before this step started. */
export type ReplayResult = "ok" | "failed" | "skipped" | "not-run" | "planned";

export interface ReplayOp {
    readonly name: string;
    readonly type: string;
    readonly urn: string;
    readonly op: ReplayOpKind;
    result: ReplayResult;
    /** Whether a command (or copy) was executed for this step. */
    ran: boolean;
    error?: string;
    durationMs: number;
    /** Milliseconds since the run started when the step started / ended (ordering and parallelism checks). */
    startedAt: number;
    endedAt: number;
}

export interface ReplayConfig {
    /** Config values with their full keys (`namespace:key`). */
    readonly values: Record<string, string>;
    /** Full keys of the secret values. */
    readonly secretKeys?: readonly string[];
}

/** What a replay provider sees for one step. */
export interface ProviderContext {
    readonly name: string;
    readonly type: string;
    readonly urn: string;
    /** New inputs, secrets unwrapped (plain values). */
    readonly inputs: Record<string, any>;
    /** Previous state (update, delete). */
    readonly old?: { inputs: Record<string, any>; outputs: Record<string, any> };
    /** customTimeouts of this operation in seconds (0: none), as the engine passes it to the provider. */
    readonly timeoutSeconds: number;
    /** The replay's own hard cap per step, in milliseconds. */
    readonly capMs: number;
    readonly warn: (message: string) => void;
}

export interface ProviderResult {
    /** Outputs the provider adds to the inputs (a command's stdout and stderr). */
    readonly outputs: Record<string, any>;
    /** Whether something was executed. */
    readonly ran: boolean;
}

/** A stand-in for one resource provider. Throw a ReplayStepError (or any Error) to fail the step. */
export interface ReplayProvider {
    /** Input keys whose change forces a replace (the provider schema's replaceOnChanges). */
    readonly replaceOnChanges: readonly string[];
    /** Input keys the provider schema marks secret (`provider:"secret"`): secret in the outputs. */
    readonly secretInputs?: readonly string[];
    /** False: every change is a replace (infer without CustomUpdate). */
    readonly hasUpdate: boolean;
    create(ctx: ProviderContext): Promise<ProviderResult>;
    update(ctx: ProviderContext): Promise<ProviderResult>;
    delete(ctx: ProviderContext): Promise<{ ran: boolean }>;
}

export interface ReplayOptions {
    /** The program, run as the Node language host runs it (its result becomes the stack outputs). */
    readonly program: () => unknown;
    readonly project: string;
    readonly stack: string;
    readonly organization?: string;
    readonly config?: ReplayConfig;
    /** Other stacks' outputs by fully qualified name (org/project/stack), plain values. */
    readonly stacks?: Record<string, Record<string, unknown>>;
    /** The state before this run (default: empty). */
    readonly oldState?: ReplayState;
    readonly preview?: boolean;
    /** `pulumi up --target`: resource names or URNs. */
    readonly targets?: readonly string[];
    /** Maximum steps running at once (default: unlimited, as `pulumi up` without --parallel). */
    readonly parallel?: number;
    /** Stop starting new steps once all of these (names) have finished: a cancelled run. */
    readonly cancelAfter?: readonly string[];
    /** A message fails that resource's execution as a non-zero exit would, without running it. */
    readonly fail?: (resourceName: string) => string | undefined;
    /** Providers by type token; default: command:local:Command, command:remote:Command, command:remote:CopyToRemote. */
    readonly providers?: Record<string, ReplayProvider>;
    /** The replay's hard cap per step in milliseconds (default 120000). */
    readonly stepCapMs?: number;
    /** The replay's hard cap on the program itself (registration of everything), ms (default 300000). */
    readonly programCapMs?: number;
}

export interface ReplayRun {
    readonly state: ReplayState;
    readonly ops: ReplayOp[];
    /** The stack outputs the engine would save at the end of this run (see index.ts). */
    readonly stackOutputs: Record<string, unknown>;
    /** Every RegisterResourceOutputs for the root stack, in arrival order. */
    readonly stackOutputEvents: Record<string, unknown>[];
    readonly errored: boolean;
    /** Why it errored: step failures, program errors, cancellation. */
    readonly errors: string[];
    readonly warnings: string[];
}

/** A step failure with the message the provider would return. */
export class ReplayStepError extends Error {}
