/**
 * Per-node components, one concern each, composed by MigrationNode. Every component registers
 * only the steps the plan gives it, each a command resource named by its plan id, ordered by
 * `dependsOn` exactly as the plan says.
 */
import * as pulumi from "@pulumi/pulumi";
import { NodeConfig, StackConfig } from "../config/schema";
import { Phase } from "../phases";
import { PlannedStep } from "../plan";
import { renderStepStub } from "../scripts";
import { StepKind, StepOwner, ownedSteps, scriptOf, stepArgs } from "../steps";
import { NodeLibrary, StepRegistry, StepResource, Transport } from "./transport";

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
    /** The step library as written locally (components/scripts writeStepLibrary), which MigrationNode stages on its node. */
    readonly libraryFile: string;
    /** Where this node's steps find the step library (set by MigrationNode once it staged it). */
    readonly library?: NodeLibrary;
}

/**
 * Register one planned step as a command resource under `parent`. A step the plan orders after
 * nothing depends on its node's step library copy; every other step comes after one of those on
 * its own node (through the cluster steps for a node's services: they wait for every node's
 * earlier steps), so it runs after the copy too without one more edge in the state.
 */
export function registerStep(parent: pulumi.Resource, scope: StepScope, step: PlannedStep, extraDeps: pulumi.Input<pulumi.Resource>[] = []): StepResource {
    const ctx = { cfg: scope.cfg, node: scope.node, from: scope.from, to: scope.to };
    const args = stepArgs(ctx, step.kind, scope.transitionId);
    const script = scriptOf(step.kind);
    const library = scope.library;
    if (library === undefined) throw new Error(`step ${step.id}: the step library of node ${scope.node.name} is not staged`);
    const res = scope.transport.command(
        step.id,
        scope.node,
        { script: renderStepStub(script, scope.node.name, library.place), step: script, timeLimit: scope.cfg.stepTimeouts[script], args },
        {
            parent,
            dependsOn: [...scope.registry.deps(step.dependsOn), ...(library.resource && step.dependsOn.length === 0 ? [library.resource] : []), ...extraDeps],
        },
    );
    scope.registry.register(step.id, res);
    return res;
}

/**
 * Register, in plan order, every step of `steps` whose catalogue entry names `owner`; the
 * resources by step kind. `extraDeps` adds dependencies to the steps of some kinds.
 */
export function registerOwned(
    parent: pulumi.Resource,
    scope: StepScope,
    steps: readonly PlannedStep[],
    owner: StepOwner,
    extraDeps: Partial<Record<StepKind, pulumi.Input<pulumi.Resource>[]>> = {},
): Map<StepKind, StepResource> {
    const out = new Map<StepKind, StepResource>();
    for (const step of ownedSteps(steps, owner)) out.set(step.kind, registerStep(parent, scope, step, extraDeps[step.kind] ?? []));
    return out;
}

export interface ConcernArgs {
    readonly scope: StepScope;
    /** The planned steps given to this component; it registers those its catalogue entry names it the owner of. */
    readonly steps: readonly PlannedStep[];
}

/** The one resource of `kind`, which the plan always has for this component. */
function required<T>(m: Map<StepKind, T>, kind: StepKind, owner: StepOwner): T {
    const r = m.get(kind);
    if (r === undefined) throw new Error(`${owner}: the plan gives it no ${kind} step`);
    return r;
}

/** The pinned pve-network-rs package: copied to the node when it comes from a local file, sha256-checked, installed. */
export class RustPackage extends pulumi.ComponentResource {
    public readonly install: pulumi.CustomResource;
    public readonly deb: pulumi.CustomResource | undefined;

    constructor(name: string, args: ConcernArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pve-migration:node:RustPackage", name, {}, opts);
        const { scope } = args;
        const [pkg] = ownedSteps(args.steps, "RustPackage").filter((s) => s.kind === "package");
        this.deb = pkg ? scope.transport.copyDeb(`${pkg.id}-deb`, scope.node, { parent: this }) : undefined;
        const steps = registerOwned(this, scope, args.steps, "RustPackage", { package: this.deb ? [this.deb] : [] });
        this.install = required(steps, "package", "RustPackage");
        this.registerOutputs({ install: this.install, deb: this.deb });
    }
}

/** The systemd units (rendered from code) and their state: middleware restart, Rust daemon on or off. */
export class SystemdUnits extends pulumi.ComponentResource {
    public readonly units: pulumi.CustomResource;
    public readonly services: pulumi.CustomResource;

    constructor(name: string, args: ConcernArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pve-migration:node:SystemdUnits", name, {}, opts);
        const steps = registerOwned(this, args.scope, args.steps, "SystemdUnits");
        this.units = required(steps, "units", "SystemdUnits");
        this.services = required(steps, "services", "SystemdUnits");
        this.registerOutputs({ units: this.units, services: this.services });
    }
}

/** A migration.toml: one per node (node scope) or one per cluster written through the writer node. */
export class MigrationConfigFile extends pulumi.ComponentResource {
    public readonly write: pulumi.CustomResource;

    constructor(name: string, args: ConcernArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pve-migration:node:MigrationConfigFile", name, {}, opts);
        const steps = registerOwned(this, args.scope, args.steps, "MigrationConfigFile");
        const [write] = [...steps.values()];
        if (write === undefined) throw new Error("MigrationConfigFile: the plan gives it no config step");
        this.write = write;
        this.registerOutputs({ write: this.write });
    }
}

/** Backups: the pre-transition snapshot (with a verified backup when the transition needs one) and the restore. */
export class Backups extends pulumi.ComponentResource {
    public readonly snapshot: pulumi.CustomResource | undefined;
    public readonly restore: pulumi.CustomResource | undefined;

    constructor(name: string, args: ConcernArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pve-migration:node:Backups", name, {}, opts);
        const steps = registerOwned(this, args.scope, args.steps, "Backups");
        this.snapshot = steps.get("snapshot");
        this.restore = steps.get("restore") ?? steps.get("cluster-restore");
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
    /** Where this node's steps find the step library (and the copy that staged it there, over SSH). */
    public readonly library: NodeLibrary;

    constructor(name: string, args: MigrationNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pve-migration:node:MigrationNode", name, {}, opts);
        this.library = args.scope.transport.stageLibrary(`${name}-step-library`, args.scope.node, args.scope.libraryFile, { parent: this });
        const scope: StepScope = { ...args.scope, library: this.library };
        const { steps } = args;
        const owns = (owner: StepOwner) => ownedSteps(steps, owner).length > 0;
        this.backups = owns("Backups") ? new Backups(`${name}-backups`, { scope, steps }, { parent: this }) : undefined;
        this.package = new RustPackage(`${name}-rust-package`, { scope, steps }, { parent: this });
        this.systemd = new SystemdUnits(`${name}-systemd`, { scope, steps }, { parent: this });
        this.config = owns("MigrationConfigFile") ? new MigrationConfigFile(`${name}-migration-config`, { scope, steps }, { parent: this }) : undefined;
        const own = registerOwned(this, scope, steps, "MigrationNode");
        this.legacyApply = own.get("legacy-apply");
        this.verify = required(own, "verify", "MigrationNode");
        this.registerOutputs({
            package: this.package,
            systemd: this.systemd,
            config: this.config,
            backups: this.backups,
            legacyApply: this.legacyApply,
            verify: this.verify,
            library: this.library.resource,
        });
    }
}
