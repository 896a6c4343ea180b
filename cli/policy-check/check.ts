/**
 * The offline policy check: run the real program for one stack under the mock runtime (its own
 * guards off, so that the policies alone decide), record every resource it registers, and
 * evaluate every policy of the pack on them. No Pulumi CLI, no backend.
 */
import * as fs from "fs";
import * as path from "path";
import { PolicyPackConfig } from "@pulumi/policy";
import YAML from "yaml";
import { UsageError } from "../errors";
import { ownGet, setOwn } from "../../components/config/own";
import { Phase } from "../../components/phases";
import { plaintextSecretLeaves } from "../../components/config/secrets-file";
import { StackFile, StackFileError, parseStackFile, readStackFile, stackFilePath } from "../../components/config/stackfile";
import { Deployed, DeployedLookup } from "../../components/ctl/deployed";
import { ProgramOptions, run as runProgram } from "../../components/program";
import { PACK_ENFORCEMENT_LEVEL, PACK_NAME, POLICIES } from "../../policies/pack";
import { Evaluation, PackDefinition, evaluatePack, resolvePackConfig } from "../../components/policycheck/evaluate";
import { RecordedResource, StackOutputsByName, recordProgram } from "../../components/policycheck/record";

/** The `config:` map of a stack file (full keys). */
export type StackFileConfig = Record<string, unknown>;

/** What a stack has deployed, as its outputs say (`phase`, `phaseEnteredAt`). */
export interface DeployedState {
    readonly phase: Phase;
    readonly phaseEnteredAt?: string;
}

/** The project name from Pulumi.yaml. */
export function readProjectName(projectDir: string): string {
    const file = path.join(projectDir, "Pulumi.yaml");
    let doc: { name?: unknown };
    try {
        doc = YAML.parse(fs.readFileSync(file, "utf8")) ?? {};
    } catch {
        throw new UsageError(`no readable Pulumi.yaml in ${projectDir} (--project-dir)`);
    }
    if (typeof doc.name !== "string" || doc.name === "") throw new UsageError(`${file}: no project name`);
    return doc.name;
}

/** The one reader (components/config/stackfile.ts) over a file, or over a `config:` map given directly; errors are usage errors. */
function stackFileOf(o: Pick<RecordStackOptions, "projectDir" | "stack" | "stackConfig" | "stackFile">): StackFile {
    const file = o.stackFile ?? stackFilePath(o.projectDir, o.stack);
    try {
        return o.stackConfig !== undefined
            ? parseStackFile(YAML.stringify({ config: o.stackConfig }), o.stack, file, o.projectDir)
            : readStackFile(o.projectDir, o.stack, file);
    } catch (e) {
        if (e instanceof StackFileError) throw new UsageError(e.kind === "unreadable" ? `no stack file ${file}` : e.message);
        throw e;
    }
}

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
    /**
     * What the stacks have deployed: by stack name, or the `--deployed-file` lookup
     * (components/ctl/deployed.ts). A stack whose deployed state is not known (not named here,
     * not in the file) is taken as deployed in its configured phase; a stack the file shows as
     * never deployed (`{}`) has no outputs.
     */
    readonly deployed?: Record<string, DeployedState> | DeployedLookup;
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

/** A deployed state from the lookup: known, never deployed ("none"), or not known (undefined). */
function fromLookup(d: Deployed): DeployedState | "none" | undefined {
    if (!d.known) return undefined;
    if (d.neverDeployed) return "none";
    return d.phaseEnteredAt !== undefined ? { phase: d.phase, phaseEnteredAt: d.phaseEnteredAt } : { phase: d.phase };
}

/** The stack outputs the program's stack references answer with. */
export function deployedOutputs(
    sf: StackFile,
    o: Pick<RecordStackOptions, "from" | "deployed" | "projectDir">,
): { outputs: StackOutputsByName; from: Phase | undefined } {
    const outputs: StackOutputsByName = {};
    const given = o.deployed;
    const known = (name: string): DeployedState | "none" | undefined => (typeof given === "function" ? fromLookup(given(name)) : ownGet(given ?? {}, name));
    const stack = sf.stack;
    const self = known(stack);
    const fromState: DeployedState | undefined =
        o.from !== undefined
            ? { phase: o.from, phaseEnteredAt: self !== undefined && self !== "none" ? self.phaseEnteredAt : undefined }
            : self === "none"
              ? undefined
              : (self ?? toState(sf.phase));
    if (fromState) setOwn(outputs, stack, stateOutputs(fromState));
    const up = sf.upstream;
    if (up !== undefined && up !== stack) {
        let upState = known(up);
        if (upState === undefined) {
            const file = stackFilePath(o.projectDir, up);
            if (fs.existsSync(file)) upState = toState(stackFileOf({ projectDir: o.projectDir, stack: up, stackFile: file }).phase);
        }
        if (upState !== undefined && upState !== "none") setOwn(outputs, up, stateOutputs(upState));
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
    const sf = stackFileOf(o);
    const doc = sf.configMap as StackFileConfig;
    const project = readProjectName(o.projectDir);
    const { engine: config, engineSecretKeys: secretKeys, placeholders } = sf;
    const { outputs, from } = deployedOutputs(sf, o);
    // The program reads the leaves from the stack file it is given (stackFileConfig) into the
    // record's plaintextSecretKeys; the offline check hands it the file it checks.
    const programOptions: ProgramOptions = { projectDir: o.projectDir, guards: false, now: o.now, stackFileConfig: doc };
    const run = await recordProgram(
        { project, stack: o.stack, config: { ...config }, secretKeys: [...secretKeys], stackOutputs: outputs, preview: o.preview },
        async () => (await runProgram(programOptions)).planned,
    );
    return {
        stack: o.stack,
        from: from ?? "perl-only",
        to: run.outputs.transition.to,
        resources: run.resources,
        placeholders: [...placeholders],
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
