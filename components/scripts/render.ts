/**
 * What the steps write, rendered by pure functions: migration.toml and the systemd units.
 * Apart from the step scripts (index.ts) so that the step catalogue can use them.
 */
import { stringify } from "smol-toml";
import { Phase, phaseInfo } from "../phases";

// ---------------------------------------------------------------------------------------
// migration.toml

export interface MigrationTomlInput {
    readonly phase: Phase;
    readonly fallbackEnabled: boolean;
    readonly perlApiBaseUrl: string;
    readonly perlApiTimeout: number;
    readonly logMigrationDecisions: boolean;
}

/** migration.toml with exactly the runbook keys, rendered with smol-toml. */
export function renderMigrationToml(input: MigrationTomlInput): string {
    const info = phaseInfo(input.phase);
    const body = stringify({
        phase: input.phase,
        fallback_enabled: input.fallbackEnabled,
        perl_api_base_url: input.perlApiBaseUrl,
        perl_api_timeout: input.perlApiTimeout,
        log_migration_decisions: input.logMigrationDecisions,
        features: { rust_cli: info.rustCli, rust_daemon: info.rustDaemon },
    });
    return `# Managed by pve-network-migration (Pulumi). Change the phase in the stack config, not here.\n${body}${body.endsWith("\n") ? "" : "\n"}`;
}

// ---------------------------------------------------------------------------------------
// systemd units

export interface UnitInput {
    /** Absolute path of the migration config the services read. */
    readonly configPath: string;
    readonly rustService: string;
    readonly middlewareService: string;
}

/** pve-network-rs.service: the Rust daemon. Enabled and started only in phases that need it. */
export function renderRustUnit(u: UnitInput): string {
    return [
        "# Managed by pve-network-migration (Pulumi); do not edit.",
        "[Unit]",
        "Description=Proxmox VE network daemon (Rust implementation, pve-network-rs)",
        "After=pve-cluster.service network-online.target",
        "Wants=pve-cluster.service",
        `ConditionPathExists=${u.configPath}`,
        "",
        "[Service]",
        "Type=simple",
        `ExecStart=/usr/sbin/pve-network-rs --config ${u.configPath}`,
        "Restart=on-failure",
        "RestartSec=5s",
        "NoNewPrivileges=yes",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
}

/**
 * pve-network-migration.service: the middleware that routes requests by phase. Restarting it
 * applies a new phase; it is not bound to the network (no PartOf/BindsTo networking), so its
 * restart never restarts the network.
 */
export function renderMiddlewareUnit(u: UnitInput): string {
    return [
        "# Managed by pve-network-migration (Pulumi); do not edit.",
        "[Unit]",
        "Description=Proxmox VE network migration middleware (routes API calls to Perl or Rust by phase)",
        "After=pve-cluster.service",
        "Wants=pve-cluster.service",
        "",
        "[Service]",
        "Type=simple",
        `ExecStart=/usr/sbin/pve-network-migration --config ${u.configPath}`,
        "Restart=always",
        "RestartSec=2s",
        "NoNewPrivileges=yes",
        "PrivateTmp=yes",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
}
