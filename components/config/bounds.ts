/**
 * The bounds that the stack config schema and the node scripts must agree on, defined once.
 * The schema (components/config/schema.ts, components/monitoring) refuses what lies outside
 * them, naming the key; the rendered scripts get the same numbers and patterns as bash
 * variables in their prelude (renderBoundsPrelude, see renderStepScript) and refuse, with exit
 * 64, a value outside them given directly.
 *
 * Patterns are POSIX extended regular expressions that mean the same in JavaScript and in
 * bash's `[[ =~ ]]` under LC_ALL=C (the scripts export it): only literal characters, bracket
 * ranges of ASCII letters and digits, `?`, `+`, `{m,n}`, groups and anchors.
 */

/** Longest single argument Linux passes to a program (MAX_ARG_STRLEN, 32 pages of 4 KiB). */
export const MAX_ARG_STRLEN = 131_072;
/** Longest file name Linux allows (NAME_MAX). */
export const NAME_MAX = 255;
/**
 * Characters the scripts add around a file name when they write it atomically: the temp file
 * is `.<name>.XXXXXX` (atomic_write in sh/lib.sh), so a name may be NAME_MAX minus these.
 */
export const TEMP_NAME_OVERHEAD = ".".length + ".XXXXXX".length;

/** Suffixes the diagnostics bundle appends to a service name to name its files (components/scripts/diagnostics.ts). */
export const UNIT_FILE_SUFFIXES = [".is-enabled.txt", ".status.txt", ".show.txt"] as const;

export const BOUNDS = {
    /** backups.retention: newest N backups kept (snapshot --retention). */
    retention: { min: 1, max: 100 },
    /**
     * network.confirmTimeout, seconds (legacy-apply --confirm-timeout): the dead-man switch's
     * deadline, well inside Proxmox VE HA's 60 s fencing window (a revert and its reload must end
     * before a node without its network would fence itself).
     */
    confirmTimeout: { min: 5, max: 45, default: 30 },
    /**
     * ha.settleTimeout, seconds (ha-enter --settle-timeout): how long ha-enter waits for the
     * status command to see the node in HA maintenance, within ha-enter's default time limit.
     */
    haSettleTimeout: { min: 1, max: 1200, default: 300 },
    /**
     * Arguments of one site command (commands.legacyApply, legacyValidate, verify,
     * monitoring.rulesFile.reload); legacy-apply gets the validate command's count as
     * --validate-argc.
     */
    commandArgs: { min: 1, max: 100 },
    /**
     * Characters of one argument of a site command. The words travel inside the step's command
     * line, and that whole line is ONE argument of `sh -c` (the local transport's interpreter;
     * sshd runs the exec request as `$SHELL -c LINE`), which Linux refuses above MAX_ARG_STRLEN
     * (131072 bytes, E2BIG). legacy-apply carries two commands: 2 x 100 x (512 + 3 for quotes
     * and space) = 103000 bytes leaves room for the rest of the line (stepCommandLine checks it).
     */
    argLength: { min: 1, max: 512 },
    /**
     * A systemd service name (commands.*Service). Every file name made from it must fit
     * NAME_MAX: the unit file /etc/systemd/system/<name> written through `.<name>.XXXXXX`, and
     * the diagnostics bundle's systemd/<name>.is-enabled.txt (sandbox), <name>.status.txt and
     * <name>.show.txt (components/scripts/diagnostics.ts), the longest of which wins.
     */
    unitNameLength: { min: ".service".length + 1, max: NAME_MAX - Math.max(TEMP_NAME_OVERHEAD, ...UNIT_FILE_SUFFIXES.map((x) => x.length)) },
    /** An absolute path the scripts write (migrationConfig.path, monitoring.rulesFile.path), after {node} is substituted. */
    pathLength: { min: 2, max: 1024 },
    /** One component of such a path (it is written through `.<name>.XXXXXX`). */
    pathComponentLength: { min: 1, max: NAME_MAX - TEMP_NAME_OVERHEAD },
    /**
     * package.version: the package step caches the .deb as `pve-network-rs_<version>_amd64.deb`
     * (a file name, NAME_MAX) and the SSH transport copies it to /var/tmp under the same name.
     */
    versionLength: { min: 1, max: NAME_MAX - "pve-network-rs_".length - "_amd64.deb".length },
} as const;

/** A Proxmox VE node name: a DNS label (pvecm refuses anything else), at most 63 characters. */
export const NODE_NAME_ERE = "^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$";
/** A systemd service name (the length is bounded by BOUNDS.unitNameLength). */
export const UNIT_NAME_ERE = "^[A-Za-z0-9@._-]+[.]service$";
/** The characters of a path the scripts write (absolute; `..` is refused separately). */
export const PATH_ERE = "^/[A-Za-z0-9._/-]+$";
/** A Debian package version (policy 5.6.12) without an epoch (the length is BOUNDS.versionLength). */
export const DEB_VERSION_ERE = "^[0-9][A-Za-z0-9.+~-]*$";

export const NODE_NAME_RE = new RegExp(NODE_NAME_ERE);
export const UNIT_NAME_RE = new RegExp(UNIT_NAME_ERE);
export const PATH_RE = new RegExp(PATH_ERE);
export const DEB_VERSION_RE = new RegExp(DEB_VERSION_ERE);

/**
 * Why a path the scripts write is out of bounds, or undefined when it is within them. `{node}`
 * (migrationConfig.path) counts as the longest node name (63 characters).
 */
export function pathProblem(p: string): string | undefined {
    const longest = p.split("{node}").join("n".repeat(63));
    if (!PATH_RE.test(longest) || longest.split("/").some((c) => c === "..")) return "must be an absolute path without '..'";
    if (longest.length > BOUNDS.pathLength.max) return `must be at most ${BOUNDS.pathLength.max} characters (with {node} as 63)`;
    const c = longest.split("/").find((x) => x.length > BOUNDS.pathComponentLength.max);
    if (c !== undefined) return `each part between '/' must be at most ${BOUNDS.pathComponentLength.max} characters (the file is written through .<name>.XXXXXX)`;
    return undefined;
}

/** Single-quote for bash (the values here are plain; this keeps them literal anyway). */
function bashWord(v: string): string {
    return `'${v.replace(/'/g, `'\\''`)}'`;
}

/**
 * The bounds as bash variables, for the prelude of every rendered step script. sh/lib.sh and
 * the step bodies use these names only.
 */
export function renderBoundsPrelude(): string {
    const vars: [string, string | number][] = [
        ["PVE_MAX_RETENTION", BOUNDS.retention.max],
        ["PVE_MIN_CONFIRM_TIMEOUT", BOUNDS.confirmTimeout.min],
        ["PVE_MAX_CONFIRM_TIMEOUT", BOUNDS.confirmTimeout.max],
        ["PVE_MAX_HA_SETTLE_TIMEOUT", BOUNDS.haSettleTimeout.max],
        ["PVE_MAX_COMMAND_ARGS", BOUNDS.commandArgs.max],
        ["PVE_MAX_ARG_LENGTH", BOUNDS.argLength.max],
        ["PVE_MAX_UNIT_NAME_LENGTH", BOUNDS.unitNameLength.max],
        ["PVE_MAX_PATH_LENGTH", BOUNDS.pathLength.max],
        ["PVE_MAX_PATH_COMPONENT_LENGTH", BOUNDS.pathComponentLength.max],
        ["PVE_MAX_VERSION_LENGTH", BOUNDS.versionLength.max],
        ["PVE_NODE_NAME_ERE", NODE_NAME_ERE],
        ["PVE_UNIT_NAME_ERE", UNIT_NAME_ERE],
        ["PVE_PATH_ERE", PATH_ERE],
        ["PVE_DEB_VERSION_ERE", DEB_VERSION_ERE],
    ];
    return [
        "# Bounds shared with the stack config schema (components/config/bounds.ts), generated.",
        ...vars.map(([k, v]) => `${k}=${typeof v === "number" ? String(v) : bashWord(v)}`),
    ].join("\n");
}
