/**
 * Per-node components, one concern each, composed by MigrationNode. Every component registers
 * only the steps the plan gives it, each a command resource named by its plan id, ordered by
 * `dependsOn` exactly as the plan says.
 */
import * as pulumi from "@pulumi/pulumi";
import { NodeConfig, StackConfig } from "../config/schema";
import { Phase } from "../phases";
import { PlannedStep } from "../plan";
import { renderStepScript } from "../scripts";
import { remoteDebPath, scriptOf, stepArgs } from "../steps";
import { StepRegistry, StepResource, Transport } from "./transport";

/** What every step-owning component needs to register its steps. */
export interface StepScope {
    /** The typed stack config. */
    readonly cfg: StackConfig;
    /** The node the steps run on. */
    readonly node: NodeConfig;
    /** Deployed phase (from the stack's last outputs). */
    readonly from: Phase;
    /** Configured phase. */
    readonly to: Phase;
    /** The transition's id (names the snapshot's backup and diagnostics bundle). */
    readonly transitionId: string;
    readonly transport: Transport;
    readonly registry: StepRegistry;
}

/** Register one planned step as a command resource under `parent`. */
export function registerStep(
    parent: pulumi.Resource,
    scope: StepScope,
    step: PlannedStep,
    extraDeps: pulumi.Input<pulumi.Resource>[] = [],
): StepResource {
    const ctx = { cfg: scope.cfg, node: scope.node, from: scope.from, to: scope.to };
    const args = stepArgs(ctx, step.kind, scope.transitionId);
    const script = scriptOf(step.kind);
    const res = scope.transport.command(
        step.id,
        scope.node,
        { script: renderStepScript(script), step: script, timeLimit: scope.cfg.stepTimeouts[script], args },
        { parent, dependsOn: [...scope.registry.deps(step.dependsOn), ...extraDeps] },
    );
    scope.registry.register(step.id, res);
    return res;
}

export interface ConcernArgs {
    readonly scope: StepScope;
    /** The planned steps this component owns (in plan order). */
    readonly steps: readonly PlannedStep[];
}

function stepsOf(steps: readonly PlannedStep[], ...kinds: PlannedStep["kind"][]): PlannedStep[] {
    return steps.filter((s) => kinds.includes(s.kind));
}

/** The pinned pve-network-rs package: copied to the node when it comes from a local file, sha256-checked, installed. */
export class RustPackage extends pulumi.ComponentResource {
    public readonly install: pulumi.CustomResource;
    public readonly deb: pulumi.CustomResource | undefined;

    constructor(name: string, args: ConcernArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pve-migration:node:RustPackage", name, {}, opts);
        const [step] = stepsOf(args.steps, "package");
        const { scope } = args;
        this.deb = scope.transport.copyDeb(`${step.id}-deb`, scope.node, remoteDebPath(scope.cfg.package.version), { parent: this });
        this.install = registerStep(this, scope, step, this.deb ? [this.deb] : []);
        this.registerOutputs({ install: this.install, deb: this.deb });
    }
}

/** The systemd units (rendered from code) and their state: middleware restart, Rust daemon on or off. */
export class SystemdUnits extends pulumi.ComponentResource {
    public readonly units: pulumi.CustomResource;
    public readonly services: pulumi.CustomResource;

    constructor(name: string, args: ConcernArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pve-migration:node:SystemdUnits", name, {}, opts);
        const [units] = stepsOf(args.steps, "units");
        const [services] = stepsOf(args.steps, "services");
        this.units = registerStep(this, args.scope, units);
        this.services = registerStep(this, args.scope, services);
        this.registerOutputs({ units: this.units, services: this.services });
    }
}

/** A migration.toml: one per node (node scope) or one per cluster written through the writer node. */
export class MigrationConfigFile extends pulumi.ComponentResource {
    public readonly write: pulumi.CustomResource;

    constructor(name: string, args: ConcernArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pve-migration:node:MigrationConfigFile", name, {}, opts);
        const [step] = stepsOf(args.steps, "config", "cluster-config");
        this.write = registerStep(this, args.scope, step);
        this.registerOutputs({ write: this.write });
    }
}

/** Backups: the pre-transition snapshot (with a verified backup when the transition needs one) and the restore. */
export class Backups extends pulumi.ComponentResource {
    public readonly snapshot: pulumi.CustomResource | undefined;
    public readonly restore: pulumi.CustomResource | undefined;

    constructor(name: string, args: ConcernArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pve-migration:node:Backups", name, {}, opts);
        const [snapshot] = stepsOf(args.steps, "snapshot");
        const [restore] = stepsOf(args.steps, "restore", "cluster-restore");
        this.snapshot = snapshot ? registerStep(this, args.scope, snapshot) : undefined;
        this.restore = restore ? registerStep(this, args.scope, restore) : undefined;
        this.registerOutputs({ snapshot: this.snapshot, restore: this.restore });
    }
}

export interface MigrationNodeArgs {
    readonly scope: StepScope;
    /** This node's planned steps (cluster steps excluded). */
    readonly steps: readonly PlannedStep[];
}

/** One Proxmox VE node: its package, units, (node-scoped) config, backups, legacy apply and verification. */
export class MigrationNode extends pulumi.ComponentResource {
    public readonly package: RustPackage;
    public readonly systemd: SystemdUnits;
    public readonly config: MigrationConfigFile | undefined;
    public readonly backups: Backups | undefined;
    public readonly legacyApply: pulumi.CustomResource | undefined;
    public readonly verify: StepResource;

    constructor(name: string, args: MigrationNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pve-migration:node:MigrationNode", name, {}, opts);
        const { scope, steps } = args;
        const has = (...kinds: PlannedStep["kind"][]) => stepsOf(steps, ...kinds).length > 0;
        this.backups = has("snapshot", "restore") ? new Backups(`${name}-backups`, { scope, steps }, { parent: this }) : undefined;
        this.package = new RustPackage(`${name}-rust-package`, { scope, steps }, { parent: this });
        this.systemd = new SystemdUnits(`${name}-systemd`, { scope, steps }, { parent: this });
        this.config = has("config") ? new MigrationConfigFile(`${name}-migration-config`, { scope, steps }, { parent: this }) : undefined;
        const [apply] = stepsOf(steps, "legacy-apply");
        this.legacyApply = apply ? registerStep(this, scope, apply) : undefined;
        this.verify = registerStep(this, scope, stepsOf(steps, "verify")[0]);
        this.registerOutputs({
            package: this.package,
            systemd: this.systemd,
            config: this.config,
            backups: this.backups,
            legacyApply: this.legacyApply,
            verify: this.verify,
        });
    }
}
