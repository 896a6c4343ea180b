/**
 * The node-side scripts of the step catalogue (catalogue.ts) with their default time limits: a
 * leaf module (it imports nothing), so that the config schema can validate
 * `pve-migration:stepTimeouts` against the script list without importing what renders steps.
 */

/** A node-side script: sh/lib.sh plus sh/steps/<name>.sh. */
export interface ScriptEntry {
    /** Time limit in seconds unless the stack config (`pve-migration:stepTimeouts`) says otherwise. */
    readonly timeout: number;
    /** The script carries the diagnostics collector (components/scripts/diagnostics.ts). */
    readonly diagnostics: boolean;
    /** A step of the migration on a Proxmox VE node (in the node's step library), or a step on the monitoring host. */
    readonly host: "node" | "monitoring";
}

/**
 * The node-side scripts. Each time limit is above the sum of the bounded waits inside the
 * step: the node lock (120 s) plus its own commands (dpkg 300 s, curl 300 s, systemctl 120 s
 * each, site commands 300 s each, pvecm 30 s). The snapshot collects the pre-transition bundle
 * and verify the post-rollback one. `rules` is not a planned step: the alert rules
 * (components/monitoring) run it on the monitoring host.
 */
export const STEP_SCRIPTS = {
    snapshot: { timeout: 600, diagnostics: true, host: "node" },
    package: { timeout: 1200, diagnostics: false, host: "node" },
    units: { timeout: 300, diagnostics: false, host: "node" },
    config: { timeout: 300, diagnostics: false, host: "node" },
    services: { timeout: 600, diagnostics: false, host: "node" },
    restore: { timeout: 300, diagnostics: false, host: "node" },
    "legacy-apply": { timeout: 900, diagnostics: false, host: "node" },
    "network-confirm": { timeout: 600, diagnostics: false, host: "node" },
    // The lock (120 s), the status command, the enter command (300 s each) and the settle wait (ha.settleTimeout, default 300 s).
    "ha-enter": { timeout: 1200, diagnostics: false, host: "node" },
    "ha-leave": { timeout: 600, diagnostics: false, host: "node" },
    verify: { timeout: 600, diagnostics: true, host: "node" },
    rules: { timeout: 600, diagnostics: false, host: "monitoring" },
} as const satisfies Record<string, ScriptEntry>;

export type NodeStep = keyof typeof STEP_SCRIPTS;

/** The node-side scripts, sh/steps/<name>.sh: those of the step catalogue. */
export const NODE_STEPS = Object.keys(STEP_SCRIPTS) as NodeStep[];

/**
 * Time limit of each step, seconds, unless the stack config (`pve-migration:stepTimeouts`)
 * says otherwise (STEP_SCRIPTS above).
 */
export const DEFAULT_STEP_TIMEOUTS: Readonly<Record<NodeStep, number>> = Object.fromEntries(NODE_STEPS.map((s) => [s, STEP_SCRIPTS[s].timeout])) as Record<
    NodeStep,
    number
>;

/** The scripts that run on a Proxmox VE node: the step library's steps (components/scripts renderStepLibrary). */
export const LIBRARY_STEPS = NODE_STEPS.filter((s) => STEP_SCRIPTS[s].host === "node");

/** Longest time limit a step may be given (a day). */
export const MAX_STEP_TIMEOUT = 86_400;
