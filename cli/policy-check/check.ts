/**
 * The offline policy check: run the real program for one stack under the mock runtime (its own
 * guards off, so that the policies alone decide), record every resource it registers, and
 * evaluate every policy of the pack on them. No Pulumi CLI, no backend.
 */
import * as fs from "fs";
import { PolicyPackConfig } from "@pulumi/policy";
import { UsageError } from "../errors";
import { ownGet, setOwn } from "../../components/config/own";
import { Phase } from "../../components/phases";
import { plaintextSecretLeaves } from "../../components/config/secrets-file";
import { ProgramOptions, run as runProgram } from "../../components/program";
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, POLICIES } from "../../policies/pack";
import { Evaluation, PackDefinition, evaluatePack, resolvePackConfig } from "../../components/policycheck/evaluate";
import { RecordedResource, StackOutputsByName, recordProgram } from "../../components/policycheck/record";
import {
    DeployedState,
    StackFileConfig,
    configuredPhase,
    engineConfig,
    readProjectName,
    readStackFile,
    stackFilePath,
    upstreamOf,
} from "../../components/policycheck/stackfile";

/** The pack the check evaluates by default: the one in policies/. */
export const PACK: PackDefinition = { name: PACK_NAME, policies: POLICIES, enforcementLevel: PACK_ENFORCEMENT_LEVEL };

export interface RecordStackOptions {
    /** Folder of Pulumi.yaml and stacks/. */
    readonly projectDir: string;
    readonly stack: string;
    /** The stack's `config:` map; default: read from stackFile. */
    readonly stackConfig?: StackFileConfig;
    /** Default: stacks/Pulumi.<stack>.yaml. */
    readonly stackFile?: string;
    /** The stack's deployed phase (overrides `deployed`). */
    readonly from?: Phase;
    /** Deployed phases by stack name; a stack not named here is deployed in its configured phase. */
    readonly deployed?: Record<string, DeployedState>;
    /** Record a preview (the transition record's id unknown). */
    readonly preview?: boolean;
    /** The program's clock (blue-green scale-down). */
    readonly now?: Date;
}

export interface RecordedStack {
    readonly stack: string;
    /** The deployed phase the program was given. */
    readonly from: Phase | undefined;
    /** The configured phase. */
    readonly to: Phase | undefined;
    readonly resources: RecordedResource[];
    /** Secrets replaced by placeholders, one line each. */
    readonly placeholders: string[];
    /**
     * Leaves of secret-class keys that the stack file holds in plaintext
     * (`pve-migration:sshPrivateKeys.backup`), which the engine's isConfigSecret does not show
     * when another leaf of the same object is secure (components/config/secrets-file.ts).
     */
    readonly plaintextSecretLeaves: string[];
}

/** The stack outputs the program's stack references answer with. */
export function deployedOutputs(
    stack: string,
    doc: StackFileConfig,
    o: Pick<RecordStackOptions, "from" | "deployed" | "projectDir">,
): { outputs: StackOutputsByName; from: Phase | undefined } {
    const outputs: StackOutputsByName = {};
    const deployed = o.deployed ?? {};
    const fromState: DeployedState | undefined =
        o.from !== undefined ? { phase: o.from, phaseEnteredAt: ownGet(deployed, stack)?.phaseEnteredAt } : ownGet(deployed, stack) ?? toState(configuredPhase(doc));
    if (fromState) setOwn(outputs, stack, stateOutputs(fromState));
    const up = upstreamOf(doc);
    if (up !== undefined && up !== stack) {
        let upState: DeployedState | undefined = ownGet(deployed, up);
        if (!upState) {
            const file = stackFilePath(o.projectDir, up);
            if (fs.existsSync(file)) upState = toState(configuredPhase(readStackFile(file)));
        }
        if (upState) setOwn(outputs, up, stateOutputs(upState));
    }
    return { outputs, from: fromState?.phase };
}

function toState(phase: Phase | undefined): DeployedState | undefined {
    return phase ? { phase } : undefined;
}

function stateOutputs(s: DeployedState): Record<string, unknown> {
    return s.phaseEnteredAt !== undefined ? { phase: s.phase, phaseEnteredAt: s.phaseEnteredAt } : { phase: s.phase };
}

/** Run the program for one stack under the mock runtime and return what it registered. */
export async function recordStack(o: RecordStackOptions): Promise<RecordedStack> {
    const doc = o.stackConfig ?? readStackFile(o.stackFile ?? stackFilePath(o.projectDir, o.stack));
    const project = readProjectName(o.projectDir);
    const { config, secretKeys, placeholders } = engineConfig(doc);
    const { outputs, from } = deployedOutputs(o.stack, doc, o);
    // The program reads the leaves from the stack file it is given (stackFileConfig) into the
    // record's plaintextSecretKeys; the offline check hands it the file it checks.
    const programOptions: ProgramOptions = { projectDir: o.projectDir, guards: false, now: o.now, stackFileConfig: doc };
    const run = await recordProgram(
        { project, stack: o.stack, config, secretKeys, stackOutputs: outputs, preview: o.preview },
        async () => (await runProgram(programOptions)).planned,
    );
    return {
        stack: o.stack,
        from: from ?? "perl-only",
        to: run.outputs.transition.to,
        resources: run.resources,
        placeholders,
        plaintextSecretLeaves: plaintextSecretLeaves(doc),
    };
}

export interface CheckResult extends RecordedStack, Evaluation {
    readonly mandatory: number;
    readonly advisory: number;
    /** No mandatory violation and no policy error. */
    readonly passed: boolean;
}

/** Evaluate the pack over recorded resources (tests edit the resources in between). */
export async function evaluateStack(recorded: RecordedStack, policyConfig?: PolicyPackConfig, pack: PackDefinition = PACK): Promise<CheckResult> {
    const ev = await evaluatePack(pack, recorded.resources, policyConfig);
    const mandatory = ev.violations.filter((v) => v.enforcementLevel === "mandatory").length;
    return { ...recorded, ...ev, mandatory, advisory: ev.violations.length - mandatory, passed: mandatory === 0 && ev.errors.length === 0 };
}

export interface CheckOptions extends RecordStackOptions {
    readonly policyConfig?: PolicyPackConfig;
    readonly pack?: PackDefinition;
}

/** Record the stack and evaluate every policy on it. */
export async function checkStack(o: CheckOptions): Promise<CheckResult> {
    // A bad policy config is a usage error: refuse it before running the program.
    resolvePackConfig(o.pack ?? PACK, o.policyConfig);
    return evaluateStack(await recordStack(o), o.policyConfig, o.pack);
}

export { UsageError };
