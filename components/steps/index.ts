/**
 * The arguments of every node step, from the typed stack config. Pure; the Pulumi wiring
 * registers exactly these, and the real-node tests and benchmarks run exactly these.
 */
import * as crypto from "crypto";
import { Phase, phaseInfo, transition } from "../phases";
import { NodeConfig, StackConfig, migrationConfigPath } from "../config/schema";
import { Plan, StepKind, planSteps } from "../plan";
import { StepArgs, renderMigrationToml, renderMiddlewareUnit, renderRustUnit } from "../scripts";

/** Where the .deb is put on a node reached over SSH (CopyToRemote); the package step then copies it into its own cache. */
export function remoteDebPath(version: string): string {
    return `/var/tmp/pve-network-rs_${version}_amd64.deb`;
}

export function sha256Text(text: string): string {
    return crypto.createHash("sha256").update(text, "utf8").digest("hex");
}

/** The step plan of a stack's nodes for the transition from `from` to `to`. */
export function planFor(cfg: StackConfig, from: Phase, to: Phase): Plan {
    return planSteps({
        cluster: cfg.cluster,
        from,
        to,
        nodes: cfg.nodes.map((n) => n.name),
        scope: cfg.migrationConfig.scope,
        writerNode: cfg.migrationConfig.writerNode,
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
 * Arguments of step `kind` on the context's node. `transitionId` is the transition's id: every
 * step carries it (`--transition`), so each step of a new transition has new inputs and the
 * engine runs it (a command resource whose inputs are unchanged is never run again); the
 * snapshot names its backup with it (`--id`) and verify reports it.
 */
export function stepArgs(ctx: StepContext, kind: StepKind, transitionId = ""): StepArgs {
    const { cfg, node, from, to } = ctx;
    const base = { root: node.root, node: node.name, transition: transitionId };
    const cmds = cfg.commands;
    const cfgPath = migrationConfigPath(cfg, node.name);
    const toml = migrationToml(cfg, to);
    const daemon = phaseInfo(to).rustDaemon ? "1" : "0";
    switch (kind) {
        case "snapshot":
            return {
                options: {
                    ...base,
                    from,
                    to,
                    id: transitionId,
                    backup: transition(from, to).backupRequired ? "1" : "0",
                    retention: String(cfg.backups.retention),
                    "config-path": cfgPath,
                    "rust-service": cmds.rustService,
                    "middleware-service": cmds.middlewareService,
                },
            };
        case "package": {
            const source: Record<string, string> =
                cfg.package.url !== undefined
                    ? { url: cfg.package.url }
                    : { "deb-path": cfg.transport === "local" ? (cfg.package.path as string) : remoteDebPath(cfg.package.version) };
            return {
                options: { ...base, version: cfg.package.version, sha256: cfg.package.sha256 ?? "", ...source, "rust-service": cmds.rustService },
            };
        }
        case "units": {
            const u = { configPath: cfgPath, rustService: cmds.rustService, middlewareService: cmds.middlewareService };
            return {
                options: {
                    ...base,
                    "rust-service": cmds.rustService,
                    "rust-unit": renderRustUnit(u),
                    "middleware-service": cmds.middlewareService,
                    "middleware-unit": renderMiddlewareUnit(u),
                },
            };
        }
        case "config":
        case "cluster-config":
            return {
                options: {
                    ...base,
                    to,
                    path: cfgPath,
                    content: toml,
                    sha256: sha256Text(toml),
                    "require-quorum": cfg.migrationConfig.scope === "cluster" && cfg.transport === "ssh" ? "1" : "0",
                    // The nodes whose backup of this transition must exist first (only when it needs one).
                    ...(transition(from, to).backupRequired
                        ? { "backups-from": kind === "cluster-config" ? cfg.nodes.map((n) => n.name).join(",") : node.name }
                        : {}),
                },
            };
        case "services":
            return {
                options: {
                    ...base,
                    to,
                    "middleware-service": cmds.middlewareService,
                    "rust-service": cmds.rustService,
                    daemon,
                    "config-sha256": sha256Text(toml),
                },
            };
        case "restore":
        case "cluster-restore":
            // --backup-id only when a backup is chosen: the restore of a stack without one keeps its inputs.
            return {
                options: {
                    ...base,
                    from,
                    to,
                    part: kind === "restore" ? "node" : "cluster",
                    ...(cfg.backups.restoreId !== undefined ? { "backup-id": cfg.backups.restoreId } : {}),
                },
            };
        case "legacy-apply":
            return {
                options: { ...base, from, to, "validate-argc": String(cmds.legacyValidate.length), "legacy-service": cmds.legacyService },
                argv: [...cmds.legacyValidate, ...cmds.legacyApply],
            };
        case "verify":
            return {
                options: {
                    ...base,
                    to,
                    version: cfg.package.version,
                    "config-path": cfgPath,
                    "config-sha256": sha256Text(toml),
                    daemon,
                    "rust-service": cmds.rustService,
                    "middleware-service": cmds.middlewareService,
                },
                argv: cmds.verify,
            };
    }
}

/** The node script that runs step `kind` (cluster steps run the node script of the same concern). */
export function scriptOf(kind: StepKind): "snapshot" | "package" | "units" | "config" | "services" | "restore" | "legacy-apply" | "verify" {
    if (kind === "cluster-config") return "config";
    if (kind === "cluster-restore") return "restore";
    return kind;
}
