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
import { Plan, PlannedCommand, planCommands } from "../plan";
import { planFor } from "../steps";
import { Backups, MigrationConfigFile, MigrationNode, StepScope, ownedCommands } from "../node";
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
    /** Ids of the planned steps, in plan order. */
    public readonly stepIds: string[];
    /** The commands registered (components/plan planCommands): each node's steps between two cluster steps, and each cluster step. */
    public readonly commands: PlannedCommand[];

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
        this.commands = planCommands(this.plan);
        this.nodes = {};
        for (const n of cfg.nodes) {
            const commands = this.commands.filter((c) => !c.cluster && c.node === n.name);
            this.nodes[n.name] = new MigrationNode(n.name, { scope: scopeOf(n.name), commands }, { parent: this });
        }
        const clusterCommands = this.commands.filter((c) => c.cluster);
        // The cluster steps run on the writer node, from the step library its MigrationNode staged.
        const writer: StepScope = { ...scopeOf(cfg.migrationConfig.writerNode), library: this.nodes[cfg.migrationConfig.writerNode]?.library };
        const cfgCommands = ownedCommands(clusterCommands, "MigrationConfigFile");
        this.clusterConfig = cfgCommands.length
            ? new MigrationConfigFile(`${name}-migration-config`, { scope: writer, commands: cfgCommands }, { parent: this })
            : undefined;
        const restoreCommands = ownedCommands(clusterCommands, "Backups");
        this.clusterBackups = restoreCommands.length
            ? new Backups(`${name}-cluster-backups`, { scope: writer, commands: restoreCommands }, { parent: this })
            : undefined;
        this.stepIds = this.plan.steps.map((s) => s.id);
        registry.finish(this.commands.map((c) => c.id));
        this.registerOutputs({ transition: this.transition, transitionId: this.transitionId, stepIds: this.stepIds });
    }
}
