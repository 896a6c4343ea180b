/**
 * The arguments of every node step, from the typed stack config and the step catalogue
 * (catalogue.ts). Pure; the Pulumi wiring registers exactly these, and the real-node tests and
 * benchmarks run exactly these.
 */
import { Phase } from "../phases";
import { NodeConfig, StackConfig, migrationConfigPath } from "../config/schema";
import { transportCapability } from "../node/capability";
import { Plan, planSteps } from "../plan";
import { StepArgs, renderMigrationToml } from "../scripts";
import { NodeStep, STEP_CATALOGUE, StepKind, haWindowOf } from "./catalogue";

export { STEP_CATALOGUE, STEP_KINDS, STEP_SCRIPTS, ownedSteps, sha256Text, stepEntry } from "./catalogue";
export type { NodeStep, ScriptEntry, StepEntry, StepInput, StepKind, StepOwner } from "./catalogue";

/** The step plan of a stack's nodes for the transition from `from` to `to`. */
export function planFor(cfg: StackConfig, from: Phase, to: Phase): Plan {
    return planSteps({
        cluster: cfg.cluster,
        from,
        to,
        nodes: cfg.nodes.map((n) => n.name),
        scope: cfg.migrationConfig.scope,
        writerNode: cfg.migrationConfig.writerNode,
        haMaintenance: cfg.ha.maintenance,
    });
}

export interface StepContext {
    readonly cfg: StackConfig;
    readonly node: NodeConfig;
    readonly from: Phase;
    readonly to: Phase;
}

export function migrationToml(cfg: StackConfig, phase: Phase): string {
    return renderMigrationToml({
        phase,
        fallbackEnabled: cfg.fallbackEnabled,
        perlApiBaseUrl: cfg.perlApi.baseUrl,
        perlApiTimeout: cfg.perlApi.timeout,
        logMigrationDecisions: cfg.logMigrationDecisions,
    });
}

/**
 * Arguments of step `kind` on the context's node (its catalogue entry's). `transitionId` is
 * the transition's id: every step carries it (`--transition`), so each step of a new
 * transition has new inputs and the engine runs it (a command resource whose inputs are
 * unchanged is never run again); the snapshot names its backup with it (`--id`) and verify
 * reports it.
 */
export function stepArgs(ctx: StepContext, kind: StepKind, transitionId = ""): StepArgs {
    const { cfg, node, to } = ctx;
    const input = {
        ...ctx,
        transitionId,
        configPath: migrationConfigPath(cfg, node.name),
        toml: migrationToml(cfg, to),
        transport: transportCapability(cfg),
    };
    const args = STEP_CATALOGUE[kind].args(input);
    const window = haWindowOf(input, kind);
    return Object.keys(window).length === 0 ? args : { ...args, options: { ...args.options, ...window } };
}

/** The node script that runs step `kind` (cluster steps run the node script of the same concern). */
export function scriptOf(kind: StepKind): NodeStep {
    return STEP_CATALOGUE[kind].script;
}
