/**
 * One run of the real program under the SDK's mock runtime, recorded the way the offline policy
 * check records it (components/policycheck: each registration as the policy server sees it),
 * then every policy of the pack evaluated on what was registered.
 */
import { Phase } from "../components/phases";
import { run } from "../components/program";
import { Evaluation, RecordedResource, evaluatePack, recordProgram } from "../components/policycheck";
import { PACK, readProjectName } from "../cli/policy-check/check";
import { DEPLOYED_AT, NOW, PROJECT_DIR, SECRET_KEYS, STACK, engineForm } from "./stacks";

export interface ProgramRecording {
    readonly resources: RecordedResource[];
    /** Stack references the program read (reads are not registrations). */
    readonly stackReferences: number;
    /** The run's step ids (the program's `steps` output). */
    readonly steps: string[];
    /** Wall time from the start of the program to the last RPC drained, ms. */
    readonly ms: number;
}

export interface RunInput {
    /** Raw config values (no namespace). */
    readonly values: Record<string, string>;
    /** Raw keys that are secrets. */
    readonly secretKeys?: readonly string[];
    /** The stack's deployed phase (its last outputs); undefined: never deployed. */
    readonly deployed?: Phase;
    readonly now?: Date;
}

/**
 * Run the program once (guards on, as `pulumi up` runs it) and record what it registers.
 * The runtime is drained with the SDK's own waitForRPCs, as at the end of a real program.
 */
export async function recordRun(input: RunInput): Promise<ProgramRecording> {
    const { config, secretKeys } = engineForm(input.values, input.secretKeys ?? SECRET_KEYS);
    const stackOutputs = input.deployed ? { [STACK]: { phase: input.deployed, phaseEnteredAt: DEPLOYED_AT } } : {};
    const project = readProjectName(PROJECT_DIR);
    const started = process.hrtime.bigint();
    let references = 0;
    const rec = await recordProgram({ project, stack: STACK, config, secretKeys, stackOutputs }, async () => {
        const r = await run({ projectDir: PROJECT_DIR, now: input.now ?? NOW, guards: true });
        references = r.resources.references.length;
        return r.outputs;
    });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    return { resources: rec.resources, stackReferences: references, steps: rec.outputs.steps, ms };
}

export interface PolicyRun {
    readonly evaluation: Evaluation;
    readonly ms: number;
}

/** Every policy of the pack (policies/), evaluated as the policy server would. */
export async function evaluatePolicies(resources: readonly RecordedResource[]): Promise<PolicyRun> {
    const started = process.hrtime.bigint();
    const evaluation = await evaluatePack(PACK, resources);
    return { evaluation, ms: Number(process.hrtime.bigint() - started) / 1e6 };
}

/** Mandatory and advisory violations and policy errors, one line each (empty: the pack passes). */
export function policyProblems(e: Evaluation): string[] {
    return [...e.violations.map((v) => `${v.enforcementLevel} ${v.policy} on ${v.name || "(stack)"}: ${v.message}`), ...e.errors];
}
