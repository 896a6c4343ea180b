/**
 * ClusterMigration: the nodes of one stack (a ring) and what pmxcfs makes cluster-wide.
 *
 * - The transition record (`<cluster>-transition`, a random.RandomId) carries the transition
 *   in its keepers, as structured inputs the policy pack can read (CrossGuard sees only new
 *   inputs: the deployed phase is carried in here). Its id names the transition's backups.
 *   Its keepers do not change while the phase does not, so a second run has no diff.
 * - A cluster-wide migration.toml is written once, through the writer node; sdn.cfg and
 *   storage.cfg are restored once, through the writer node.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { StackConfig } from "../config/schema";
import { Phase } from "../phases";
import { Plan } from "../plan";
import { planFor } from "../steps";
import { Backups, MigrationConfigFile, MigrationNode, StepScope } from "../node";
import { StepRegistry, Transport } from "../node/transport";

/** Keepers of the transition record: what the policies check. All values are strings. */
export interface TransitionRecord {
    readonly kind: "pve-migration/transition";
    readonly stack: string;
    readonly cluster: string;
    readonly ring: string;
    readonly from: Phase;
    readonly to: Phase;
    readonly nodes: string;
    readonly scope: "cluster" | "node";
    readonly writerNode: string;
    readonly configPath: string;
    readonly fallbackEnabled: string;
    readonly logMigrationDecisions: string;
    readonly backupRetention: string;
    readonly perlApiBaseUrl: string;
    readonly perlApiTimeout: string;
    readonly packageVersion: string;
    readonly packageSha256: string;
    /** Upstream ring: stack, deployed phase, when it entered it ("" when none). */
    readonly upstreamStack: string;
    readonly upstreamPhase: string;
    readonly upstreamEnteredAt: string;
    readonly behindUntilSoaked: string;
    /** Secret-class config keys (sshPrivateKeys, kubeconfig) given without the secret mark, comma-separated (engine's own list). */
    readonly plaintextSecretKeys: string;
    /** Evidence for leaving `from` by promotion: "" (not a promotion) or its JSON summary. */
    readonly evidence: string;
}

export interface ClusterMigrationArgs {
    /** The typed stack config. */
    readonly cfg: StackConfig;
    /** Phase deployed now (the stack's last outputs). */
    readonly from: Phase;
    /** The transition record's keepers (computed by the program). */
    readonly record: TransitionRecord;
    readonly transport: Transport;
}

export class ClusterMigration extends pulumi.ComponentResource {
    public readonly transition: random.RandomId;
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
        this.plan = planFor(cfg, from, to);
        const registry = new StepRegistry();
        const scopeOf = (nodeName: string): StepScope => ({
            cfg,
            node: cfg.nodes.find((n) => n.name === nodeName)!,
            from,
            to,
            transitionId: this.transition.hex,
            transport: args.transport,
            registry,
        });
        this.nodes = {};
        for (const n of cfg.nodes) {
            const steps = this.plan.steps.filter((s) => !s.cluster && s.node === n.name);
            this.nodes[n.name] = new MigrationNode(n.name, { scope: scopeOf(n.name), steps }, { parent: this });
        }
        const clusterSteps = this.plan.steps.filter((s) => s.cluster);
        const writer = scopeOf(cfg.migrationConfig.writerNode);
        const cfgSteps = clusterSteps.filter((s) => s.kind === "cluster-config");
        this.clusterConfig = cfgSteps.length
            ? new MigrationConfigFile(`${name}-migration-config`, { scope: writer, steps: cfgSteps }, { parent: this })
            : undefined;
        const restoreSteps = clusterSteps.filter((s) => s.kind === "cluster-restore");
        this.clusterBackups = restoreSteps.length
            ? new Backups(`${name}-cluster-backups`, { scope: writer, steps: restoreSteps }, { parent: this })
            : undefined;
        registry.finish();
        this.stepIds = this.plan.steps.map((s) => s.id);
        this.registerOutputs({ transition: this.transition, stepIds: this.stepIds });
    }
}
