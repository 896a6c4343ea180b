/**
 * The project's own Pulumi program, run through the replay of registered resources
 * (test/support/replay: a stand-in for the Pulumi engine and @pulumi/command, not the engine):
 * one `pulumi up` of one stack. The registered command resources really execute (local
 * commands on sandbox roots, or over OpenSSH on the node lab); the state and stack outputs of
 * one run feed the next, as the engine's checkpoint and the stack's own StackReference do.
 */
import * as crypto from "crypto";
import { run as runProgram } from "../../components/program";
import { NAMESPACE } from "../../components/config/schema";
import { ReplayOp, ReplayRun, ReplayState, defaultProviders, inputsAsOutputsProvider, replay } from "./replay";

export const PROJECT = "pve-network-migration";
export const ORGANIZATION = "organization";

/** random.RandomId stand-in: its hex derives from its keepers (the transition record), as the mocks do. */
function randomIdProvider() {
    return inputsAsOutputsProvider((inputs) => {
        const hex = crypto
            .createHash("sha256")
            .update(JSON.stringify(inputs.keepers ?? {}))
            .digest("hex")
            .slice(0, 8);
        return { hex, b64Url: hex, b64Std: hex, dec: String(parseInt(hex, 16)) };
    });
}

export interface UpOptions {
    readonly projectDir: string;
    readonly stack: string;
    /** Stack config values, keys without the namespace (as test/support/mocks setStackConfig takes them). */
    readonly values: Record<string, string>;
    /** Keys (without namespace) given as Pulumi secrets. */
    readonly secretKeys?: readonly string[];
    /** The checkpoint of the previous run (none: a new stack). */
    readonly state?: ReplayState;
    /** Other stacks' outputs by fully qualified name. */
    readonly stacks?: Record<string, Record<string, unknown>>;
    readonly now?: Date;
    readonly fail?: (resourceName: string) => string | undefined;
    readonly cancelAfter?: readonly string[];
    readonly targets?: readonly string[];
    readonly preview?: boolean;
    readonly stepCapMs?: number;
}

export interface Up {
    readonly replay: ReplayRun;
    /** The checkpoint after this run. */
    readonly state: ReplayState;
    /** Names of the command resources whose command ran, in start order. */
    readonly ran: string[];
    /** The stack outputs the engine would have saved. */
    readonly outputs: Record<string, unknown>;
}

/** `pulumi up` of the project's program for one stack, through the replay. */
export async function up(o: UpOptions): Promise<Up> {
    const values = Object.fromEntries(Object.entries(o.values).map(([k, v]) => [`${NAMESPACE}:${k}`, v]));
    const r = await replay({
        program: async () => (await runProgram({ projectDir: o.projectDir, now: o.now, guards: true })).outputs,
        project: PROJECT,
        stack: o.stack,
        organization: ORGANIZATION,
        config: { values, secretKeys: (o.secretKeys ?? []).map((k) => `${NAMESPACE}:${k}`) },
        stacks: o.stacks,
        oldState: o.state,
        fail: o.fail,
        cancelAfter: o.cancelAfter,
        targets: o.targets,
        preview: o.preview,
        stepCapMs: o.stepCapMs,
        providers: { ...defaultProviders(), "random:index/randomId:RandomId": randomIdProvider() },
    });
    const ran = [...r.ops]
        .filter((op) => op.ran)
        .sort((a, b) => a.startedAt - b.startedAt)
        .map((op) => op.name);
    return { replay: r, state: r.state, ran, outputs: r.stackOutputs };
}

/** The ops of one run by name, for exact assertions. */
export function opsByName(r: Up): Record<string, Pick<ReplayOp, "op" | "result" | "ran">> {
    return Object.fromEntries(r.replay.ops.map((op) => [op.name, { op: op.op, result: op.result, ran: op.ran }]));
}
