/**
 * The step catalogue: one entry per step kind, saying which node script runs it, how its
 * arguments are built from the stack config, and which component registers it. The plan's
 * kinds (components/plan), the script list (components/scripts), `stepArgs` and the
 * components' filters (components/node, components/cluster) and where the plan places each
 * step (when a transition plans it, after which steps) all come from here, so adding a step
 * kind is one entry here, its script in sh/steps/ and its tests.
 *
 * Pure, and imports only what renders step inputs (types of the rest), so that the scripts
 * and the config schema can read the script list without an import cycle.
 */
import * as crypto from "crypto";
import type { NodeConfig, StackConfig } from "../config/schema";
import type { TransportCapability } from "../node/capability";
import { Phase, Transition, phaseInfo, transition } from "../phases";
import type { StepArgs } from "../scripts";
import { renderMiddlewareUnit, renderRustUnit } from "../scripts/render";

import { NodeStep } from "./kinds";

export { STEP_SCRIPTS } from "./kinds";
export type { NodeStep, ScriptEntry } from "./kinds";

/** The components that register planned steps (components/node). */
export type StepOwner = "Backups" | "RustPackage" | "SystemdUnits" | "MigrationConfigFile" | "MigrationNode";

/** What a step's arguments are built from. */
export interface StepInput {
    readonly cfg: StackConfig;
    readonly node: NodeConfig;
    readonly from: Phase;
    readonly to: Phase;
    /** The transition's id: every step carries it (see stepArgs). */
    readonly transitionId: string;
    /** The migration config's path on this node (`{node}` substituted). */
    readonly configPath: string;
    /** migration.toml of phase `to`. */
    readonly toml: string;
    /** What the stack's transport does (where a .deb is staged, whether pmxcfs is real). */
    readonly transport: TransportCapability;
}

/** The step kinds, one per catalogue entry (STEP_CATALOGUE below holds exactly these). */
export type StepKind =
    | "snapshot"
    | "package"
    | "units"
    | "config"
    | "cluster-config"
    | "ha-enter"
    | "services"
    | "restore"
    | "cluster-restore"
    | "legacy-apply"
    | "network-confirm"
    | "verify"
    | "ha-leave";

/** What the plan knows when it places a step: the transition and the migration config's scope. */
export interface PlanContext {
    readonly transition: Transition;
    readonly scope: "cluster" | "node";
    /** pve-migration:ha.maintenance: each node's services..verify run in HA maintenance (ha-enter, ha-leave). */
    readonly haMaintenance: boolean;
}

/**
 * A step that must finish first: the step of kind `same` on the same node; the steps of the
 * kinds `each` on every node, node by node; the cluster step `cluster`; or the step of kind
 * `writer` on the writer node.
 */
export type StepDependency = { readonly same: StepKind } | { readonly each: readonly StepKind[] } | { readonly cluster: StepKind } | { readonly writer: StepKind };

/** Where a step goes in a transition's plan (components/plan places every entry by it). */
export interface StepPlacement {
    /** Once per cluster through the writer node (true), or once per node. */
    readonly cluster: boolean;
    /** Whether the transition plans the step at all. */
    readonly when: (c: PlanContext) => boolean;
    /** The steps it runs after (each one planned: the plan refuses a dependency it did not plan). */
    readonly after: (c: PlanContext) => readonly StepDependency[];
    /** The node's next steps run in a command of their own, over a new SSH connection (components/plan planCommands). */
    readonly endsCommand?: boolean;
}

export interface StepEntry {
    /** The node script that runs the step (cluster steps run the node script of the same concern). */
    readonly script: NodeStep;
    /** The component that registers the step. */
    readonly owner: StepOwner;
    /** When the step is planned and after which steps. */
    readonly plan: StepPlacement;
    /** The step's arguments. */
    readonly args: (input: StepInput) => StepArgs;
}

const always = () => true;
const inTransition = (c: PlanContext) => c.transition.kind !== "none";
const rollback = (c: PlanContext) => c.transition.kind === "rollback";
const restoring = (c: PlanContext) => c.transition.restoreRequired;
const haMaintenance = (c: PlanContext) => inTransition(c) && c.haMaintenance;
/** What the services step (or ha-enter before it) runs after: the node's config, or the cluster's. */
const afterConfig = (c: PlanContext): StepDependency[] => [c.scope === "node" ? { same: "config" } : { cluster: "cluster-config" }];
/** Package and units: after the snapshot in a promotion, after the services in a rollback (the Rust side goes last). */
const packageAfter = (c: PlanContext): StepDependency[] => (rollback(c) ? [{ same: "services" }] : inTransition(c) ? [{ same: "snapshot" }] : []);

export function sha256Text(text: string): string {
    return crypto.createHash("sha256").update(text, "utf8").digest("hex");
}

const base = (i: StepInput) => ({ root: i.node.root, node: i.node.name, transition: i.transitionId });
/**
 * What makes the engine run the network apply and its confirmation again after a revert: the
 * backup a person chose (backups.restoreId, carried as by the restore: another backup runs all
 * three again) and network.applyAttempt (raised: the same files applied again).
 */
const applyAgain = (i: StepInput): Record<string, string> => ({
    ...(i.cfg.backups.restoreId !== undefined ? { "backup-id": i.cfg.backups.restoreId } : {}),
    ...(i.cfg.network.applyAttempt > 0 ? { "apply-attempt": String(i.cfg.network.applyAttempt) } : {}),
});
/**
 * The steps a transition runs after ha-enter (pve-migration:ha.maintenance): `--ha-window 1` makes
 * such a step, run again after a failure took the node out of HA maintenance, put it back first
 * (sh/lib.sh ha_reenter). A promotion's package and units run before ha-enter.
 */
const HA_WINDOW: Readonly<Record<"promotion" | "rollback", readonly StepKind[]>> = {
    promotion: ["services", "verify"],
    rollback: ["services", "package", "units", "restore", "legacy-apply", "network-confirm", "verify"],
};
export function haWindowOf(i: StepInput, kind: StepKind): Record<string, string> {
    const t = transition(i.from, i.to);
    if (!i.cfg.ha.maintenance || t.kind === "none" || !HA_WINDOW[t.kind].includes(kind)) return {};
    return { "ha-window": "1" };
}
const daemon = (i: StepInput) => (phaseInfo(i.to).rustDaemon ? "1" : "0");

function configArgs(i: StepInput, cluster: boolean): StepArgs {
    return {
        options: {
            ...base(i),
            to: i.to,
            path: i.configPath,
            content: i.toml,
            sha256: sha256Text(i.toml),
            "require-quorum": i.cfg.migrationConfig.scope === "cluster" && i.transport.clusterQuorum ? "1" : "0",
            // The nodes whose backup of this transition must exist first (only when it needs one).
            ...(transition(i.from, i.to).backupRequired ? { "backups-from": cluster ? i.cfg.nodes.map((n) => n.name).join(",") : i.node.name } : {}),
        },
    };
}

function restoreArgs(i: StepInput, part: "node" | "cluster"): StepArgs {
    // --backup-id only when a backup is chosen: the restore of a stack without one keeps its inputs.
    return {
        options: {
            ...base(i),
            from: i.from,
            to: i.to,
            part,
            // pmxcfs refuses writes without quorum: the restore checks it before it stages a file under /etc/pve.
            "require-quorum": i.transport.clusterQuorum ? "1" : "0",
            ...(i.cfg.backups.restoreId !== undefined ? { "backup-id": i.cfg.backups.restoreId } : {}),
        },
    };
}

export const STEP_CATALOGUE = {
    snapshot: {
        script: "snapshot",
        owner: "Backups",
        plan: { cluster: false, when: inTransition, after: () => [] },
        args: (i) => ({
            options: {
                ...base(i),
                from: i.from,
                to: i.to,
                id: i.transitionId,
                backup: transition(i.from, i.to).backupRequired ? "1" : "0",
                retention: String(i.cfg.backups.retention),
                "config-path": i.configPath,
                "rust-service": i.cfg.commands.rustService,
                "middleware-service": i.cfg.commands.middlewareService,
                // A rollback applies the network (legacy-apply): save what runs for its dead-man switch.
                ...(transition(i.from, i.to).kind === "rollback" ? { "network-guard": "1" } : {}),
            },
        }),
    },
    package: {
        script: "package",
        owner: "RustPackage",
        plan: { cluster: false, when: always, after: packageAfter },
        args: (i) => {
            const pkg = i.cfg.package;
            const source: Record<string, string> = pkg.url !== undefined ? { url: pkg.url } : { "deb-path": i.transport.debPath(pkg) };
            return { options: { ...base(i), version: pkg.version, sha256: pkg.sha256 ?? "", ...source, "rust-service": i.cfg.commands.rustService } };
        },
    },
    units: {
        script: "units",
        owner: "SystemdUnits",
        plan: { cluster: false, when: always, after: packageAfter },
        args: (i) => {
            const cmds = i.cfg.commands;
            const u = { configPath: i.configPath, rustService: cmds.rustService, middlewareService: cmds.middlewareService };
            return {
                options: {
                    ...base(i),
                    "rust-service": cmds.rustService,
                    "rust-unit": renderRustUnit(u),
                    "middleware-service": cmds.middlewareService,
                    "middleware-unit": renderMiddlewareUnit(u),
                },
            };
        },
    },
    config: {
        script: "config",
        owner: "MigrationConfigFile",
        // A promotion writes the config once the package and units are in place; a rollback right after the snapshot.
        plan: { cluster: false, when: (c) => c.scope === "node", after: (c) => (rollback(c) ? [{ same: "snapshot" }] : [{ same: "package" }, { same: "units" }]) },
        args: (i) => configArgs(i, false),
    },
    "cluster-config": {
        script: "config",
        owner: "MigrationConfigFile",
        // One cluster-wide file through the writer node, after every node's earlier steps.
        plan: { cluster: true, when: (c) => c.scope === "cluster", after: (c) => [{ each: rollback(c) ? ["snapshot"] : ["package", "units"] }] },
        args: (i) => configArgs(i, true),
    },
    "ha-enter": {
        script: "ha-enter",
        owner: "MigrationNode",
        plan: { cluster: false, when: haMaintenance, after: afterConfig },
        args: (i) => {
            const ha = i.cfg.ha;
            const status = ha.statusCommand ?? [];
            return {
                options: {
                    ...base(i),
                    "enter-argc": String(ha.enterCommand.length),
                    "leave-argc": String(ha.leaveCommand.length),
                    ...(status.length > 0 ? { "status-argc": String(status.length), "settle-timeout": String(ha.settleTimeout) } : {}),
                },
                argv: [...ha.enterCommand, ...ha.leaveCommand, ...status].map((w) => w.split("{node}").join(i.node.name)),
            };
        },
    },
    services: {
        script: "services",
        owner: "SystemdUnits",
        plan: { cluster: false, when: always, after: (c) => (haMaintenance(c) ? [{ same: "ha-enter" }] : afterConfig(c)) },
        args: (i) => ({
            options: {
                ...base(i),
                to: i.to,
                "middleware-service": i.cfg.commands.middlewareService,
                "rust-service": i.cfg.commands.rustService,
                daemon: daemon(i),
                "config-sha256": sha256Text(i.toml),
            },
        }),
    },
    restore: {
        script: "restore",
        owner: "Backups",
        plan: { cluster: false, when: (c) => rollback(c) && restoring(c), after: () => [{ same: "services" }] },
        args: (i) => restoreArgs(i, "node"),
    },
    "cluster-restore": {
        script: "restore",
        owner: "Backups",
        // sdn.cfg and storage.cfg, once per cluster through the writer node, after the config is back.
        plan: {
            cluster: true,
            when: (c) => rollback(c) && restoring(c),
            after: (c) => [c.scope === "cluster" ? { cluster: "cluster-config" } : { writer: "services" }],
        },
        args: (i) => restoreArgs(i, "cluster"),
    },
    "legacy-apply": {
        script: "legacy-apply",
        owner: "MigrationNode",
        // Ends its command: network-confirm must reach the node over a new SSH connection.
        plan: {
            cluster: false,
            when: rollback,
            after: (c) => (restoring(c) ? [{ same: "restore" }, { cluster: "cluster-restore" }] : [{ same: "services" }]),
            endsCommand: true,
        },
        args: (i) => {
            const cmds = i.cfg.commands;
            return {
                options: {
                    ...base(i),
                    from: i.from,
                    to: i.to,
                    "validate-argc": String(cmds.legacyValidate.length),
                    "confirm-timeout": String(i.cfg.network.confirmTimeout),
                    ...applyAgain(i),
                },
                argv: [...cmds.legacyValidate, ...cmds.legacyApply],
            };
        },
    },
    "network-confirm": {
        script: "network-confirm",
        owner: "MigrationNode",
        plan: { cluster: false, when: rollback, after: () => [{ same: "legacy-apply" }] },
        args: (i) => {
            const health = i.cfg.network.healthCommand ?? [];
            return {
                options: {
                    ...base(i),
                    from: i.from,
                    to: i.to,
                    "legacy-service": i.cfg.commands.legacyService,
                    ...(health.length > 0 ? { "health-argc": String(health.length) } : {}),
                    ...applyAgain(i),
                },
                argv: health,
            };
        },
    },
    verify: {
        script: "verify",
        owner: "MigrationNode",
        plan: {
            cluster: false,
            when: always,
            after: (c) => (rollback(c) ? [{ same: "network-confirm" }, { same: "package" }, { same: "units" }] : [{ same: "services" }]),
        },
        args: (i) => ({
            options: {
                ...base(i),
                to: i.to,
                version: i.cfg.package.version,
                "config-path": i.configPath,
                "config-sha256": sha256Text(i.toml),
                daemon: daemon(i),
                "rust-service": i.cfg.commands.rustService,
                "middleware-service": i.cfg.commands.middlewareService,
                // Only when some are named: a stack without them keeps its inputs.
                ...(i.cfg.network.requiredInterfaces.length > 0 ? { "required-interfaces": i.cfg.network.requiredInterfaces.join(",") } : {}),
            },
            argv: i.cfg.commands.verify,
        }),
    },
    "ha-leave": {
        script: "ha-leave",
        owner: "MigrationNode",
        plan: { cluster: false, when: haMaintenance, after: () => [{ same: "verify" }] },
        args: (i) => ({ options: base(i) }),
    },
} as const satisfies Record<StepKind, StepEntry>;

/** Every step kind, in catalogue order. */
export const STEP_KINDS = Object.keys(STEP_CATALOGUE) as StepKind[];

/** The catalogue entry of `kind`. */
export function stepEntry(kind: StepKind): StepEntry {
    return STEP_CATALOGUE[kind];
}

/** The steps of `steps` that `owner` registers, in their order. */
export function ownedSteps<S extends { readonly kind: StepKind }>(steps: readonly S[], owner: StepOwner): S[] {
    return steps.filter((s) => STEP_CATALOGUE[s.kind].owner === owner);
}
