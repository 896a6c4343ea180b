/**
 * ClusterMigration: the nodes of one stack (a ring) and what pmxcfs makes cluster-wide.
 *
 * - The transition record (`<cluster>-transition`, a random.RandomId) carries the transition
 *   in its keepers, as structured inputs the policy pack can read (CrossGuard sees only new
 *   inputs: the deployed phase is carried in here). The transition id (record.ts) names the
 *   transition's backups; it is known in a preview. The keepers do not change while the phase
 *   does not, so a second run has no diff.
 * - A cluster-wide migration.toml is written once, through the writer node; sdn.cfg and
 *   storage.cfg are restored once, through the writer node.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { StackConfig } from "../config/schema";
import { Phase } from "../phases";
import { Plan } from "../plan";
import { ownedSteps, planFor } from "../steps";
import { Backups, MigrationConfigFile, MigrationNode, StepScope } from "../node";
import { StepRegistry, Transport } from "../node/transport";
import { TransitionRecord, transitionId } from "./record";

export { TransitionRecord, TRANSITION_RECORD_FIELDS, transitionId } from "./record";

export interface ClusterMigrationArgs {
    /** The typed stack config. */
    readonly cfg: StackConfig;
    /** Phase deployed now (the stack's last outputs). */
    readonly from: Phase;
    /** The transition record's keepers (computed by the program). */
    readonly record: TransitionRecord;
    readonly transport: Transport;
    /** The step library as written locally (components/scripts writeStepLibrary), staged on every node. */
    readonly libraryFile: string;
}

export class ClusterMigration extends pulumi.ComponentResource {
    /** The transition record (its keepers); its own random value is not used. */
    public readonly transition: random.RandomId;
    /** The transition's id (names its backups and diagnostics bundles). */
    public readonly transitionId: string;
    public readonly plan: Plan;
    public readonly nodes: Record<string, MigrationNode>;
    public readonly clusterConfig: MigrationConfigFile | undefined;
    public readonly clusterBackups: Backups | undefined;
    /** Ids of the registered steps, in plan order. */
    public readonly stepIds: string[];

    constructor(name: string, args: ClusterMigrationArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pve-migration:cluster:ClusterMigration", name, {}, opts);
        const { cfg, from, record } = args;
        const to = cfg.phase;
        this.transition = new random.RandomId(`${name}-transition`, { byteLength: 4, keepers: { ...record } }, { parent: this });
        this.transitionId = transitionId(record);
        this.plan = planFor(cfg, from, to);
        const registry = new StepRegistry();
        const scopeOf = (nodeName: string): StepScope => ({
            cfg,
            node: cfg.nodes.find((n) => n.name === nodeName)!,
            from,
            to,
            transitionId: this.transitionId,
            transport: args.transport,
            registry,
            libraryFile: args.libraryFile,
        });
        this.nodes = {};
        for (const n of cfg.nodes) {
            const steps = this.plan.steps.filter((s) => !s.cluster && s.node === n.name);
            this.nodes[n.name] = new MigrationNode(n.name, { scope: scopeOf(n.name), steps }, { parent: this });
        }
        const clusterSteps = this.plan.steps.filter((s) => s.cluster);
        // The cluster steps run on the writer node, from the step library its MigrationNode staged.
        const writer: StepScope = { ...scopeOf(cfg.migrationConfig.writerNode), library: this.nodes[cfg.migrationConfig.writerNode]?.library };
        const cfgSteps = ownedSteps(clusterSteps, "MigrationConfigFile");
        this.clusterConfig = cfgSteps.length ? new MigrationConfigFile(`${name}-migration-config`, { scope: writer, steps: cfgSteps }, { parent: this }) : undefined;
        const restoreSteps = ownedSteps(clusterSteps, "Backups");
        this.clusterBackups = restoreSteps.length ? new Backups(`${name}-cluster-backups`, { scope: writer, steps: restoreSteps }, { parent: this }) : undefined;
        this.stepIds = this.plan.steps.map((s) => s.id);
        registry.finish(this.stepIds);
        this.registerOutputs({ transition: this.transition, transitionId: this.transitionId, stepIds: this.stepIds });
    }
}
