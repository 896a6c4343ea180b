/**
 * Per-node components, one concern each, composed by MigrationNode. The plan's commands
 * (components/plan planCommands: a node's steps between two cluster steps run as one command)
 * are registered by the component that owns each command's first step, each a command resource
 * named by its plan id, ordered by `dependsOn` as the plan's commands say.
 */
import * as pulumi from "@pulumi/pulumi";
import { NodeConfig, StackConfig } from "../config/schema";
import { Phase } from "../phases";
import { PlannedCommand } from "../plan";
import { renderStepStub } from "../scripts";
import { STEP_CATALOGUE, StepKind, StepOwner, scriptOf, stepArgs } from "../steps";
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

/** The component that registers a command: the owner (step catalogue) of its first step. */
export function commandOwner(command: PlannedCommand): StepOwner {
    return STEP_CATALOGUE[command.steps[0].kind].owner;
}

/** The commands of `commands` that `owner` registers, in their order. */
export function ownedCommands(commands: readonly PlannedCommand[], owner: StepOwner): PlannedCommand[] {
    return commands.filter((c) => commandOwner(c) === owner);
}

/**
 * Register one planned command (its steps, in order) as a command resource under `parent`. A
 * command the plan orders after nothing depends on its node's step library copy; every other
 * command comes after one of those on its own node (through the cluster steps for a node's
 * later steps: they wait for every node's earlier ones), so it runs after the copy too without
 * one more edge in the state.
 */
export function registerCommand(parent: pulumi.Resource, scope: StepScope, command: PlannedCommand, extraDeps: pulumi.Input<pulumi.Resource>[] = []): StepResource {
    const ctx = { cfg: scope.cfg, node: scope.node, from: scope.from, to: scope.to };
    const steps = command.steps.map((s) => {
        const script = scriptOf(s.kind);
        return { step: script, timeLimit: scope.cfg.stepTimeouts[script], args: stepArgs(ctx, s.kind, scope.transitionId) };
    });
    const library = scope.library;
    if (library === undefined) throw new Error(`command ${command.id}: the step library of node ${scope.node.name} is not staged`);
    const res = scope.transport.command(
        command.id,
        scope.node,
        { script: renderStepStub(scope.node.name, library.place), steps },
        {
            parent,
            dependsOn: [...scope.registry.deps(command.dependsOn), ...(library.resource && command.dependsOn.length === 0 ? [library.resource] : []), ...extraDeps],
        },
    );
    scope.registry.register(command.id, res);
    return res;
}

export interface ConcernArgs {
    readonly scope: StepScope;
    /** The planned commands given to this component; it registers those it owns (commandOwner). */
    readonly commands: readonly PlannedCommand[];
    /** More dependencies of the command that runs a step of some kind (the .deb copy before the package step). */
    readonly extraDeps?: Partial<Record<StepKind, pulumi.Input<pulumi.Resource>[]>>;
}

/** A component of one concern: registers the commands it owns, by command id. */
abstract class Concern extends pulumi.ComponentResource {
    /** Its commands by plan id, in plan order. */
    public readonly commands = new Map<string, StepResource>();

    protected registerCommands(owner: StepOwner, args: ConcernArgs): void {
        registerOwnedCommands(this, owner, args).forEach((r, id) => this.commands.set(id, r));
    }
}

/**
 * Register, under `parent`, the commands of `args.commands` that `owner` registers (commandOwner),
 * each with the extra dependencies of the step kinds it runs; the resources by command id.
 */
function registerOwnedCommands(parent: pulumi.Resource, owner: StepOwner, args: ConcernArgs): Map<string, StepResource> {
    const out = new Map<string, StepResource>();
    for (const c of ownedCommands(args.commands, owner)) {
        out.set(
            c.id,
            registerCommand(
                parent,
                args.scope,
                c,
                c.steps.flatMap((s) => args.extraDeps?.[s.kind] ?? []),
            ),
        );
    }
    return out;
}

/** The pinned pve-network-rs package: copied to the node when it comes from a local file (before the command that installs it), sha256-checked, installed. */
export class RustPackage extends Concern {
    public readonly deb: pulumi.CustomResource | undefined;

    constructor(name: string, args: ConcernArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pve-migration:node:RustPackage", name, {}, opts);
        const { scope } = args;
        const installs = args.commands.some((c) => c.steps.some((s) => s.kind === "package"));
        this.deb = installs ? scope.transport.copyDeb(`${scope.node.name}-package-deb`, scope.node, { parent: this }) : undefined;
        // The command that installs the package waits for the copy (also when this component registers it).
        this.registerCommands("RustPackage", { ...args, extraDeps: this.deb ? { package: [this.deb] } : args.extraDeps });
        this.registerOutputs({ deb: this.deb, commands: [...this.commands.values()] });
    }
}

/** The systemd units (rendered from code) and their state: middleware restart, Rust daemon on or off. */
export class SystemdUnits extends Concern {
    constructor(name: string, args: ConcernArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pve-migration:node:SystemdUnits", name, {}, opts);
        this.registerCommands("SystemdUnits", args);
        this.registerOutputs({ commands: [...this.commands.values()] });
    }
}

/** A migration.toml: one per node (node scope) or one per cluster written through the writer node. */
export class MigrationConfigFile extends Concern {
    constructor(name: string, args: ConcernArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pve-migration:node:MigrationConfigFile", name, {}, opts);
        this.registerCommands("MigrationConfigFile", args);
        if (this.commands.size === 0) throw new Error("MigrationConfigFile: the plan gives it no command");
        this.registerOutputs({ commands: [...this.commands.values()] });
    }
}

/** Backups: the pre-transition snapshot (with a verified backup when the transition needs one) and the restore. */
export class Backups extends Concern {
    constructor(name: string, args: ConcernArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pve-migration:node:Backups", name, {}, opts);
        this.registerCommands("Backups", args);
        if (this.commands.size === 0) throw new Error("Backups: the plan gives it no command");
        this.registerOutputs({ commands: [...this.commands.values()] });
    }
}

export interface MigrationNodeArgs {
    readonly scope: StepScope;
    /** This node's planned commands (cluster steps excluded). */
    readonly commands: readonly PlannedCommand[];
}

/**
 * One Proxmox VE node: its step library, and its commands registered by the components of their
 * concerns (the owner of each command's first step, step catalogue), each component only where
 * it owns something. `steps` says which command runs each step kind.
 */
export class MigrationNode extends pulumi.ComponentResource {
    public readonly package: RustPackage | undefined;
    public readonly systemd: SystemdUnits | undefined;
    public readonly config: MigrationConfigFile | undefined;
    public readonly backups: Backups | undefined;
    /** The command that runs each of this node's planned step kinds. */
    public readonly steps: ReadonlyMap<StepKind, StepResource>;
    /** The command that runs this node's verify step. */
    public readonly verify: StepResource;
    /** Where this node's steps find the step library (and the copy that staged it there, over SSH). */
    public readonly library: NodeLibrary;

    constructor(name: string, args: MigrationNodeArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pve-migration:node:MigrationNode", name, {}, opts);
        this.library = args.scope.transport.stageLibrary(`${name}-step-library`, args.scope.node, args.scope.libraryFile, { parent: this });
        const scope: StepScope = { ...args.scope, library: this.library };
        const { commands } = args;
        const owns = (owner: StepOwner) => ownedCommands(commands, owner).length > 0;
        // RustPackage where it owns a command, or holds the .deb copy (a package from a local file over SSH),
        // which the command that installs the package waits for; not an empty wrapper (each registration costs the plan).
        const installs = commands.some((c) => c.steps.some((s) => s.kind === "package"));
        const copiesDeb = installs && scope.transport.capability.copiesDeb && scope.cfg.package.path !== undefined;
        this.package = owns("RustPackage") || copiesDeb ? new RustPackage(`${name}-rust-package`, { scope, commands }, { parent: this }) : undefined;
        const extraDeps = this.package?.deb ? { package: [this.package.deb] } : {};
        this.backups = owns("Backups") ? new Backups(`${name}-backups`, { scope, commands, extraDeps }, { parent: this }) : undefined;
        this.systemd = owns("SystemdUnits") ? new SystemdUnits(`${name}-systemd`, { scope, commands, extraDeps }, { parent: this }) : undefined;
        this.config = owns("MigrationConfigFile")
            ? new MigrationConfigFile(`${name}-migration-config`, { scope, commands, extraDeps }, { parent: this })
            : undefined;
        const registered = new Map<string, StepResource>();
        for (const c of [this.package, this.backups, this.systemd, this.config]) c?.commands.forEach((r, id) => registered.set(id, r));
        registerOwnedCommands(this, "MigrationNode", { scope, commands, extraDeps }).forEach((r, id) => registered.set(id, r));
        const steps = new Map<StepKind, StepResource>();
        for (const c of commands) for (const s of c.steps) steps.set(s.kind, registered.get(c.id)!);
        this.steps = steps;
        const verify = steps.get("verify");
        if (verify === undefined) throw new Error(`MigrationNode ${name}: the plan gives it no verify step`);
        this.verify = verify;
        this.registerOutputs({
            package: this.package,
            systemd: this.systemd,
            config: this.config,
            backups: this.backups,
            library: this.library.resource,
            verify: this.verify,
        });
    }
}
