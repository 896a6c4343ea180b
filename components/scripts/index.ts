/**
 * Node-side scripts: rendered by pure functions. Every step is one bash script (the shared
 * prelude in sh/lib.sh plus the step body in sh/steps/<step>.sh) fed on standard input to
 * `bash -s -- <arguments>`. Values travel only as single-quoted arguments, so a node name,
 * path or URL holding quotes, `$(...)`, backticks, `;` or a newline executes nothing.
 */
import * as fs from "fs";
import * as path from "path";
import { stringify } from "smol-toml";
import { Phase, phaseInfo } from "../phases";
import { renderDiagnosticsFunction } from "../diagnostics/script";

export const NODE_STEPS = ["snapshot", "package", "units", "config", "services", "restore", "legacy-apply", "verify", "rules"] as const;
export type NodeStep = (typeof NODE_STEPS)[number];

const SH_DIR = path.join(__dirname, "sh");
const LIB = fs.readFileSync(path.join(SH_DIR, "lib.sh"), "utf8");
const BODIES: Record<NodeStep, string> = Object.fromEntries(
    NODE_STEPS.map((s) => [s, fs.readFileSync(path.join(SH_DIR, "steps", `${s}.sh`), "utf8")]),
) as Record<NodeStep, string>;

/** The whole bash script of one step (fed on stdin; arguments follow `bash -s --`). */
export function renderStepScript(step: NodeStep): string {
    return [
        "#!/bin/bash",
        `# pve-network-migration node step: ${step}. Rendered from components/scripts; do not edit.`,
        "# The prelude is shared by every step; not every step calls every helper in it.",
        "# shellcheck disable=SC2034,SC2317",
        `STEP=${step}`,
        LIB,
        ...(step === "snapshot" || step === "verify" ? [renderDiagnosticsFunction()] : []),
        'parse_args "$@"',
        BODIES[step],
    ].join("\n");
}

/** POSIX single-quote a value: the shell sees it as one literal word, whatever it holds. */
export function shQuote(value: string): string {
    if (value.includes("\0")) throw new Error("a shell argument cannot contain NUL");
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Arguments of a step: `--name value` pairs, then optional argv after `--`. */
export interface StepArgs {
    readonly options: Readonly<Record<string, string>>;
    readonly argv?: readonly string[];
}

export function stepArgv(args: StepArgs): string[] {
    const out: string[] = [];
    for (const [k, v] of Object.entries(args.options)) {
        if (!/^[a-z0-9-]+$/.test(k)) throw new Error(`bad step option name ${k}`);
        out.push(`--${k}`, v);
    }
    if (args.argv && args.argv.length > 0) out.push("--", ...args.argv);
    return out;
}

/** The command line that runs a step script given on stdin; `sudo -n` for a non-root user. */
export function stepCommandLine(args: StepArgs, opts: { sudo?: boolean } = {}): string {
    const words = ["bash", "-s", "--", ...stepArgv(args).map(shQuote)];
    return (opts.sudo ? ["sudo", "-n", "--", ...words] : words).join(" ");
}

/**
 * The inverse of stepCommandLine: the step arguments of a registered command line (for the
 * policy pack, which sees only the registered inputs). Throws on anything it did not render.
 */
export function parseStepCommandLine(line: string): StepArgs {
    const words: string[] = [];
    const re = /'((?:[^']|'\\'')*)'|(\S+)/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(line)) !== null) {
        words.push(m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]);
    }
    let i = 0;
    if (words[0] === "sudo") {
        if (words[1] !== "-n" || words[2] !== "--") throw new Error("not a step command line");
        i = 3;
    }
    if (words[i] !== "bash" || words[i + 1] !== "-s" || words[i + 2] !== "--") throw new Error("not a step command line");
    i += 3;
    const options: Record<string, string> = {};
    while (i < words.length && words[i] !== "--") {
        const k = words[i];
        if (!k.startsWith("--") || i + 1 >= words.length) throw new Error(`bad step option at ${k}`);
        options[k.slice(2)] = words[i + 1];
        i += 2;
    }
    const argv = i < words.length ? words.slice(i + 1) : undefined;
    return argv ? { options, argv } : { options };
}

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
