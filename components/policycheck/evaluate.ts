/**
 * Evaluate a policy pack's policies over recorded resources the way the policy server
 * (@pulumi/policy/server.js) does, without a Pulumi CLI: enforcement level from the pack
 * config, then the policy, then the pack ("remediate" counts as mandatory, "disabled" skips);
 * props wrapped in the server's unknownCheckingProxy; a validation that reads an unknown value
 * becomes an advisory "can't run during preview"; `notApplicable()` skips; `getConfig()`
 * returns the policy's config with the schema's defaults applied (the CLI applies them before
 * it configures the pack); resource policies run per resource, stack policies once with
 * parents and dependencies linked.
 */
import Ajv from "ajv";
import {
    EnforcementLevel,
    Policies,
    PolicyConfigSchema,
    PolicyPackConfig,
    PolicyResource,
    ReportViolation,
    ResourceValidation,
    ResourceValidationPolicy,
    StackValidationPolicy,
} from "@pulumi/policy";
import { UsageError } from "../../cli/errors";
import { ownGet } from "../config/own";
import { RecordedResource } from "./record";

const proxy = require("@pulumi/policy/proxy") as {
    unknownCheckingProxy<T>(value: T): T;
    UnknownValueError: new (...args: never[]) => Error;
};

export interface PackDefinition {
    readonly name: string;
    readonly policies: Policies;
    /** Level of a policy that sets none (the server's default: advisory). */
    readonly enforcementLevel?: EnforcementLevel;
}

export type ReportedLevel = "mandatory" | "advisory";

export interface Violation {
    readonly policy: string;
    readonly enforcementLevel: ReportedLevel;
    readonly message: string;
    /** The resource it is about ("" for the whole stack). */
    readonly urn: string;
    readonly name: string;
    /** Reported by a resource policy (Analyze, before the resource is created) or a stack policy (AnalyzeStack, after every step). */
    readonly stage: Stage;
    /** For a resource policy: the resource's position in registration order. */
    readonly index?: number;
}

export type Stage = "resource" | "stack";

/** The verdict of `pulumi up --skip-preview` (no preview gates it). */
export interface SkipPreview {
    /** The first mandatory resource-policy violation: the update stops before creating this resource. */
    readonly stoppedAt: { readonly policy: string; readonly urn: string; readonly name: string; readonly message: string } | undefined;
    /** Custom resources registered before it (the engine may already have created them). */
    readonly registeredBefore: string[];
    /** When nothing stopped it: the stack-policy violations, reported only after every step has run. */
    readonly stackViolationsAfterSteps: Violation[];
}

export interface Evaluation {
    readonly violations: Violation[];
    /** Policies that threw (a real preview fails on these). */
    readonly errors: string[];
    /** Names of the policies that ran (not disabled). */
    readonly policiesRun: string[];
    /** What `pulumi up --skip-preview` would do. (`violations` is the preview's verdict: everything.) */
    readonly skipPreview: SkipPreview;
}

const LEVELS: readonly EnforcementLevel[] = ["advisory", "mandatory", "remediate", "disabled"];

interface ResolvedPolicyConfig {
    readonly level: EnforcementLevel;
    readonly props: Record<string, unknown>;
}

class NotApplicable extends Error {}

function isResourcePolicy(p: unknown): p is ResourceValidationPolicy {
    return (p as ResourceValidationPolicy).validateResource !== undefined;
}

function isStackPolicy(p: unknown): p is StackValidationPolicy {
    return typeof (p as StackValidationPolicy).validateStack === "function";
}

function pulumiTypeOf(x: unknown): string | undefined {
    const t = (x as { __pulumiType?: unknown } | undefined)?.__pulumiType;
    return typeof t === "string" && t !== "" ? t : undefined;
}

function isTypeOf(type: string, resourceClass: unknown): boolean {
    const t = pulumiTypeOf(resourceClass);
    if (t) return t === type;
    const isInstance = (resourceClass as { isInstance?: (o: unknown) => boolean }).isInstance;
    return typeof isInstance === "function" && isInstance({ __pulumiType: type }) === true;
}

/**
 * Each policy's level and config from a pack config (the `--policy-pack-config` format:
 * `{ "<policy>": "<level>" | { "enforcementLevel": ..., "<property>": ... }, "all": ... }`),
 * validated against the policy's configSchema with its defaults applied. Throws UsageError.
 */
export function resolvePackConfig(pack: PackDefinition, config: PolicyPackConfig = {}): Map<string, ResolvedPolicyConfig> {
    const byName = new Map(pack.policies.map((p) => [p.name, p]));
    for (const key of Object.keys(config)) {
        if (key !== "all" && !byName.has(key))
            throw new UsageError(`policy config: ${key} is not a policy of pack ${pack.name} (one of ${[...byName.keys()].join(", ")})`);
    }
    const levelOf = (key: string): EnforcementLevel | undefined => {
        const c = ownGet(config as Record<string, PolicyPackConfig[string]>, key);
        const level = typeof c === "string" ? c : c?.enforcementLevel;
        if (level !== undefined && !LEVELS.includes(level)) {
            throw new UsageError(`policy config: ${key}.enforcementLevel must be one of ${LEVELS.join(", ")} (got ${JSON.stringify(level)})`);
        }
        return level;
    };
    const all = levelOf("all");
    const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false });
    const out = new Map<string, ResolvedPolicyConfig>();
    for (const p of pack.policies) {
        const level = levelOf(p.name) ?? all ?? p.enforcementLevel ?? pack.enforcementLevel ?? "advisory";
        const c = config[p.name];
        const { enforcementLevel: _ignored, ...given } = typeof c === "object" && c !== null ? c : ({} as Record<string, unknown>);
        const props: Record<string, unknown> = structuredClone(given);
        const schema: PolicyConfigSchema = p.configSchema ?? { properties: {} };
        const validate = ajv.compile({ type: "object", properties: schema.properties, required: schema.required ?? [] });
        if (!validate(props)) {
            const why = (validate.errors ?? []).map((e) => `${e.instancePath || "(config)"} ${e.message}`).join("; ");
            throw new UsageError(`policy config: ${p.name}: ${why}`);
        }
        out.set(p.name, { level, props });
    }
    return out;
}

function reportedLevel(level: EnforcementLevel): ReportedLevel {
    return level === "advisory" ? "advisory" : "mandatory";
}

const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
};

const NO_OPTS = {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
};

/**
 * Run every enabled policy of `pack` over `resources`, in the engine's order:
 *
 * - Resource policies run per resource, as the engine registers it and before it creates it:
 *   pkg/resource/deploy/step_generator.go continueStepsFromImport calls analyzeAll (Analyze of
 *   every policy pack on the resource's inputs) before it generates the resource's step. With
 *   a mandatory violation outside a preview, analyzeResource (pkg/resource/deploy/
 *   analyze_snapshot.go) marks the resource invalid, the step generator returns
 *   BailErrorf("resource %s is invalid"), and deploymentExecutor.Execute
 *   (deployment_executor.go) cancels the deployment: that resource is not created and nothing
 *   registered after it is, but what was registered before it may already exist. In a preview
 *   (DryRun) the violation is only recorded (sawError) and every resource is still analyzed.
 *   Resources are evaluated here in `resources`' order (registration order), every policy on
 *   one resource before the next resource.
 * - Stack policies run once, after every step: Execute calls stepGenerator.AnalyzeResources
 *   (AnalyzeStack on the final state of every resource, with parents and dependencies) only
 *   when step generation and execution succeeded, so with `pulumi up --skip-preview` a stack
 *   policy can fail the update but cannot stop a step.
 *
 * An Analyze request carries type, name, URN, inputs, options (protect, ignoreChanges,
 * deleteBeforeReplace, aliases, customTimeouts, additionalSecretOutputs, parent) and the
 * provider (step_generator.go analyzeAll; @pulumi/policy server.js getResourceOptions), but no
 * dependencies: dependsOn is visible only to stack policies.
 */
export async function evaluatePack(pack: PackDefinition, resources: readonly RecordedResource[], config?: PolicyPackConfig): Promise<Evaluation> {
    const resolved = resolvePackConfig(pack, config);
    const violations: Violation[] = [];
    const errors: string[] = [];
    const policiesRun: string[] = [];
    const stackTags: ReadonlyMap<string, string> = new Map();

    interface Enabled {
        readonly p: ResourceValidationPolicy | StackValidationPolicy;
        readonly getConfig: <T extends object>() => T;
        readonly enforcementLevel: ReportedLevel;
    }
    const enabled: Enabled[] = [];
    for (const p of pack.policies) {
        const { level, props: policyConfig } = resolved.get(p.name)!;
        if (level === "disabled") continue;
        if (!isResourcePolicy(p) && !isStackPolicy(p)) continue;
        policiesRun.push(p.name);
        enabled.push({ p, getConfig: <T extends object>(): T => structuredClone(policyConfig) as T, enforcementLevel: reportedLevel(level) });
    }
    const preview = (policy: string, e: Error, urn: string, name: string, stage: Stage) =>
        violations.push({ policy, enforcementLevel: "advisory", message: `can't run policy '${policy}' during preview: ${e.message}`, urn, name, stage });

    // Resource policies: per resource in registration order, every policy on it.
    for (let index = 0; index < resources.length; index++) {
        const r = resources[index];
        for (const { p, getConfig, enforcementLevel } of enabled) {
            if (!isResourcePolicy(p)) continue;
            const validations: ResourceValidation[] = Array.isArray(p.validateResource) ? p.validateResource : [p.validateResource!];
            const onlyType = !Array.isArray(p.validateResource) ? pulumiTypeOf(p.validateResource) : undefined;
            if (onlyType && onlyType !== r.type) continue;
            const report: ReportViolation = (message) =>
                violations.push({ policy: p.name, enforcementLevel, message, urn: r.urn, name: r.name, stage: "resource", index });
            for (const validation of validations) {
                const props = proxy.unknownCheckingProxy(r.props);
                const args = {
                    type: r.type,
                    props,
                    urn: r.urn,
                    name: r.name,
                    opts: r.parent ? { ...NO_OPTS, parent: r.parent } : NO_OPTS,
                    stackTags,
                    isType: (cls: unknown) => isTypeOf(r.type, cls),
                    asType: (cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined),
                    getConfig,
                    notApplicable,
                };
                try {
                    await validation(args as never, report);
                } catch (e) {
                    if (e instanceof proxy.UnknownValueError) preview(p.name, e, r.urn, r.name, "resource");
                    else if (!(e instanceof NotApplicable)) errors.push(`policy '${p.name}' failed on ${r.urn}: ${(e as Error).message}`);
                }
            }
        }
    }

    // Stack policies: once, over every resource with parents and dependencies linked.
    for (const { p, getConfig, enforcementLevel } of enabled) {
        if (!isStackPolicy(p)) continue;
        const onlyType = pulumiTypeOf(p.validateStack);
        if (onlyType && !resources.some((r) => r.type === onlyType)) continue;
        const byUrn = new Map<string, PolicyResource>();
        const linked = resources.map((r) => {
            const props = proxy.unknownCheckingProxy(r.props);
            const res = {
                type: r.type,
                props,
                urn: r.urn,
                name: r.name,
                opts: r.parent ? { ...NO_OPTS, parent: r.parent } : NO_OPTS,
                dependencies: [] as PolicyResource[],
                propertyDependencies: {},
                isType: (cls: unknown) => isTypeOf(r.type, cls),
                asType: (cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined),
            } as unknown as PolicyResource;
            byUrn.set(r.urn, res);
            return { r, res };
        });
        for (const { r, res } of linked) {
            const parent = byUrn.get(r.parent);
            if (parent) (res as { parent?: PolicyResource }).parent = parent;
            res.dependencies = r.dependencies.map((d) => byUrn.get(d)).filter((d): d is PolicyResource => d !== undefined);
        }
        const report: ReportViolation = (message, urn) =>
            violations.push({ policy: p.name, enforcementLevel, message, urn: urn ?? "", name: urn ? (byUrn.get(urn)?.name ?? "") : "", stage: "stack" });
        try {
            await p.validateStack({ resources: linked.map((x) => x.res), stackTags, getConfig, notApplicable }, report);
        } catch (e) {
            if (e instanceof proxy.UnknownValueError) preview(p.name, e, "", "", "stack");
            else if (!(e instanceof NotApplicable)) errors.push(`policy '${p.name}' failed on the stack: ${(e as Error).message}`);
        }
    }
    return { violations, errors, policiesRun, skipPreview: skipPreviewOf(resources, violations) };
}

/**
 * What `pulumi up --skip-preview` does with these violations (see evaluatePack): it stops at the
 * first resource with a mandatory resource-policy violation, before creating it, with the
 * resources registered before it possibly created already; without one, every step runs and
 * the stack policies judge the result afterwards.
 */
export function skipPreviewOf(resources: readonly RecordedResource[], violations: readonly Violation[]): SkipPreview {
    const stop = violations.find((v) => v.stage === "resource" && v.enforcementLevel === "mandatory");
    if (stop) {
        const at = stop.index ?? 0;
        return {
            stoppedAt: { policy: stop.policy, urn: stop.urn, name: stop.name, message: stop.message },
            registeredBefore: resources
                .slice(0, at)
                .filter((r) => r.custom)
                .map((r) => r.name),
            stackViolationsAfterSteps: [],
        };
    }
    return { stoppedAt: undefined, registeredBefore: [], stackViolationsAfterSteps: violations.filter((v) => v.stage === "stack") };
}
