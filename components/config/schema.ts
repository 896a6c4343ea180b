/**
 * The typed stack config, validated with zod before a single resource is registered.
 * Pure: takes the raw config map (as the Pulumi engine hands it to the program) and returns
 * the typed config or every error, each naming the exact key (`nodes[2].address: ...`).
 */
import * as path from "path";
import { z } from "zod";
import { PHASES, Phase, DEFAULT_SOAK_SECONDS, phaseInfo } from "../phases";
import { formatPath } from "../evidence";
import { DEFAULT_STEP_TIMEOUTS, MAX_STEP_TIMEOUT, NODE_STEPS, NodeStep } from "../steps/kinds";
import { BOUNDS, DEB_VERSION_RE, NODE_NAME_RE } from "./bounds";
import { ConfigError, NAMESPACE, addressSchema, argvSchema, hostKeySchema, missingKeyMessage, safeUrl, unitNameSchema, writePathSchema } from "./base";
import { hasOwn } from "./own";
import { ParsedMonitoringConfig, parseMonitoringConfig } from "./monitoring";
import { BlueGreenConfig, parseBlueGreenConfig } from "./bluegreen";
import { RollbackSchema } from "./rollback";
import { WindowsSchema } from "../windows";

export {
    NAMESPACE,
    ConfigError,
    SSH_RSA_HOST_KEY_MESSAGE,
    addressSchema,
    argWordSchema,
    argvSchema,
    hostKeySchema,
    isHostAddress,
    missingKeyMessage,
    safeUrl,
    unitNameSchema,
    writePathSchema,
} from "./base";
export { DEB_VERSION_RE, NODE_NAME_RE } from "./bounds";
const address = addressSchema;
const argv = argvSchema;
const SHA256_RE = /^[0-9a-f]{64}$/;

export const NodeSchema = z
    .object({
        /** Proxmox VE node name (as in /etc/pve/nodes/<name>). */
        name: z.string().regex(NODE_NAME_RE, "must be a Proxmox VE node name (letters, digits, '-', at most 63)"),
        /** Address the SSH connection goes to (ssh transport). */
        address: address.optional(),
        /** SSH port. */
        port: z.number().int().min(1).max(65535).default(22),
        /** SSH user; a non-root user runs the node steps through `sudo -n`. */
        sshUser: z
            .string()
            .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a POSIX user name")
            .default("root"),
        /** The node's SSH host key (`ssh-ed25519 AAAA...`); connections to any other key fail. */
        hostKey: hostKeySchema.optional(),
        /** Name of the entry of the secret `sshPrivateKeys` this node logs in with. */
        sshKey: z.string().min(1).default("default"),
    })
    .strict();

const PackageSchema = z
    .object({
        /** Debian version of pve-network-rs, pinned. */
        version: z
            .string()
            .regex(DEB_VERSION_RE, "must be a Debian package version such as 0.4.2-1")
            .max(BOUNDS.versionLength.max, `must be at most ${BOUNDS.versionLength.max} characters (the .deb's file name must fit 255)`),
        /** sha256 of the .deb, pinned; checked on the node before dpkg -i (required: a guard). */
        sha256: z.string().regex(SHA256_RE, "must be 64 lowercase hex digits").optional(),
        /** Path of the .deb on the machine running Pulumi (copied to each node). */
        path: z.string().min(1).optional(),
        /** https URL the node downloads the .deb from (a package repository). */
        url: z
            .string()
            .refine((u) => safeUrl(u, ["https:"]), "must be an https:// URL without credentials")
            .optional(),
    })
    .strict()
    .refine((p) => (p.path === undefined) !== (p.url === undefined), {
        message: "set exactly one of path or url",
        path: ["path"],
    });

const PerlApiSchema = z
    .object({
        /** Base URL of the Perl API, https only (`https://<cluster>:8006`). */
        baseUrl: z.string().refine((u) => safeUrl(u, ["https:", "http:"]), "must be an https:// URL without credentials, query or fragment"),
        /** Request timeout in seconds. */
        timeout: z.number().int().min(1, "must be at least 1 second").max(600, "must be at most 600 seconds").default(60),
    })
    .strict();

const MigrationConfigSchema = z
    .object({
        /** `cluster`: one file under /etc/pve for all nodes (pmxcfs); `node`: one file per node. */
        scope: z.enum(["cluster", "node"]).default("cluster"),
        /** Path; `{node}` is replaced by the node name (required for scope `node`). */
        path: writePathSchema(true).optional(),
        /** Node that writes cluster-wide files (scope `cluster`); default: the first node. */
        writerNode: z.string().optional(),
    })
    .strict();

const CommandsSchema = z
    .object({
        legacyApply: argv.default(["pvenet-legacy", "apply"]),
        legacyValidate: argv.default(["pvenet-legacy", "validate", "--config", "/etc/network/interfaces"]),
        verify: argv.default(["pvenet", "status", "--verbose"]),
        middlewareService: unitNameSchema.default("pve-network-migration.service"),
        rustService: unitNameSchema.default("pve-network-rs.service"),
        legacyService: unitNameSchema.default("pve-network.service"),
    })
    .strict();

const RingSchema = z
    .object({
        /** Ring name (canary-a, canary-b, prod, dev). */
        name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "must be a lower-case ring name"),
        /**
         * The stack the ring follows: a stack name of this project (`canary-a`, resolved in the
         * current organization and project) or a full `org/project/stack`.
         */
        upstream: z
            .string()
            .regex(/^([A-Za-z0-9._-]+\/[A-Za-z0-9._-]+\/)?[A-Za-z0-9._-]+$/, "must be a stack name of this project or org/project/stack")
            .optional(),
        /** Stay at least one phase behind the upstream until the upstream has soaked. */
        behindUntilSoaked: z.boolean().default(false),
    })
    .strict();

const stepSeconds = z
    .number()
    .int("must be a whole number of seconds")
    .min(1, "must be at least 1 second")
    .max(MAX_STEP_TIMEOUT, `must be at most ${MAX_STEP_TIMEOUT} seconds`)
    .optional();
/** Time limit per node step, seconds; `default` applies to every step not listed. */
const StepTimeoutsSchema = z
    .object({ default: stepSeconds, ...(Object.fromEntries(NODE_STEPS.map((s) => [s, stepSeconds])) as Record<NodeStep, typeof stepSeconds>) })
    .strict()
    .default({});

const soakKeys = Object.fromEntries(PHASES.map((p) => [p, z.number().int().nonnegative().optional()])) as Record<Phase, z.ZodOptional<z.ZodNumber>>;

/**
 * `backups.restoreId`: the backup a rollback out of the write phases restores instead of the
 * one the snapshot recorded: a backup's folder name (`<yyyymmdd>T<hhmmss>Z-<transition id>`,
 * one node's backup) or a transition id (that transition's backup on every node). The node's
 * restore step checks it as it checks the recorded one (its node and its own id).
 */
export const RestoreIdSchema = z
    .string()
    .regex(
        /^(?:[0-9]{8}T[0-9]{6}Z-)?[0-9a-f]{4,64}$/,
        "must be a backup's folder name (<yyyymmdd>T<hhmmss>Z-<transition id>, as in the snapshot's log line) or a transition id (4 to 64 lowercase hex digits)",
    );

/** A Linux interface name: at most IFNAMSIZ - 1 = 15 bytes (include/uapi/linux/if.h), no '/' or space. */
export const IFACE_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,14}$/;

export const StackConfigSchema = z
    .object({
        cluster: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, "must be a cluster name (letters, digits, '.', '_', '-')"),
        phase: z.enum(PHASES, { errorMap: () => ({ message: `must be one of ${PHASES.join(", ")}` }) }),
        perlApi: PerlApiSchema,
        fallbackEnabled: z.boolean().default(true),
        logMigrationDecisions: z.boolean().default(true),
        package: PackageSchema,
        nodes: z.array(NodeSchema).min(1, "must list at least one node"),
        /** `ssh`: real nodes; `local`: sandbox node roots on this machine (the dev stack). */
        transport: z.enum(["ssh", "local"]).default("ssh"),
        /** Folder holding one sandbox root per node (transport `local`). */
        sandboxDir: z.string().min(1).optional(),
        migrationConfig: MigrationConfigSchema.default({}),
        backups: z
            .object({
                retention: z
                    .number()
                    .int("must be a whole number")
                    .min(BOUNDS.retention.min, `must keep at least ${BOUNDS.retention.min} backup`)
                    .max(BOUNDS.retention.max, `must be at most ${BOUNDS.retention.max}`)
                    .default(5),
                restoreId: RestoreIdSchema.optional(),
            })
            .strict()
            .default({}),
        commands: CommandsSchema.default({}),
        ring: RingSchema.optional(),
        /** Promotion gates: evidence for leaving a phase (stacks/evidence/<stack>/<phase>.json). */
        gates: z
            .object({
                /** A promotion needs passing evidence (the dev sandbox turns this off). */
                requireEvidence: z.boolean().default(true),
                /** Allowed ratio of Rust apply latency to the Perl baseline. */
                maxLatencyRatio: z.number().positive().max(10).default(1),
            })
            .strict()
            .default({}),
        /** Soak per phase before the next promotion, seconds; defaults from the phase model. */
        soakSeconds: z.object(soakKeys).strict().default({}),
        ssh: z
            .object({
                /** Dial attempts before a step fails (bounds an unreachable host). */
                dialErrorLimit: z.number().int().min(1).max(20).default(3),
                /** Seconds per dial attempt. */
                perDialTimeout: z.number().int().min(1).max(120).default(10),
            })
            .strict()
            .default({}),
        /**
         * Time limit of each node step on the node (GNU timeout around the step), seconds:
         * `{ default: 600, package: 1200 }`; unlisted steps take `default`, else their own default.
         */
        stepTimeouts: StepTimeoutsSchema,
        /** What verify checks of the running network besides /etc/network/interfaces (components/scripts/sh/network.sh). */
        network: z
            .object({
                /** Interfaces that must exist and be up on every node (a runbook's storage VLANs and bonds), checked by name. */
                requiredInterfaces: z
                    .array(z.string().regex(IFACE_NAME_RE, "must be a Linux interface name (1 to 15 letters, digits, '_', '.', ':', '-')"))
                    .max(64, "must list at most 64 interfaces")
                    .refine((a) => new Set(a).size === a.length, "must not list an interface twice")
                    .default([]),
                /**
                 * Seconds from arming the dead-man switch (just before legacy-apply applies the network)
                 * until the node reverts by itself unless network-confirm, over a new SSH connection,
                 * confirmed the apply: well inside Proxmox VE HA's 60 s fencing window.
                 */
                confirmTimeout: z
                    .number()
                    .int("must be a whole number of seconds")
                    .min(BOUNDS.confirmTimeout.min, `must be at least ${BOUNDS.confirmTimeout.min} s`)
                    .max(BOUNDS.confirmTimeout.max, `must be at most ${BOUNDS.confirmTimeout.max} s: the node must revert well inside HA's 60 s fencing window`)
                    .default(BOUNDS.confirmTimeout.default),
                /** A site command network-confirm runs before it confirms (the cluster seen healthy); none by default. */
                healthCommand: argv.optional(),
                /**
                 * Raise it to apply the network again after the dead-man switch reverted an apply (the
                 * same transition, the same files): legacy-apply and network-confirm carry it, so the
                 * engine runs both again. 0 (the default) is not carried.
                 */
                applyAttempt: z.number().int("must be a whole number").min(0, "must be 0 or more").max(1_000_000, "must be at most 1000000").default(0),
            })
            .strict()
            .default({}),
        /**
         * Proxmox VE HA maintenance around a node's services (README "HA maintenance"): with
         * `maintenance: true`, every transition puts the node in HA maintenance before its services
         * step (`ha-enter`) and takes it out after verify (`ha-leave`); a step that fails in between
         * takes it out again on the node itself, as it was before the transition.
         */
        ha: z
            .object({
                maintenance: z.boolean().default(false),
                /** Site command that puts the node in maintenance; `{node}` is the node's name. */
                enterCommand: argv.default(["ha-manager", "crm-command", "node-maintenance", "enable", "{node}"]),
                /** Site command that takes it out again. */
                leaveCommand: argv.default(["ha-manager", "crm-command", "node-maintenance", "disable", "{node}"]),
                /**
                 * Site command that exits 0 when the node is in maintenance and 1 when it is not (none by
                 * default): a node found in maintenance is left as found, and after entering, ha-enter
                 * waits until it says so (settleTimeout).
                 */
                statusCommand: argv.optional(),
                /** Seconds ha-enter waits for statusCommand to see the node in maintenance (its HA resources moved away). */
                settleTimeout: z
                    .number()
                    .int("must be a whole number of seconds")
                    .min(BOUNDS.haSettleTimeout.min, `must be at least ${BOUNDS.haSettleTimeout.min} s`)
                    .max(BOUNDS.haSettleTimeout.max, `must be at most ${BOUNDS.haSettleTimeout.max} s`)
                    .default(BOUNDS.haSettleTimeout.default),
            })
            .strict()
            .default({}),
        /** Names of SSH private keys, as a Pulumi secret object: { default: "-----BEGIN ..." }. */
        sshPrivateKeys: z.record(z.string().min(1)).optional(),
        /** Blue-green Kubernetes releases (validated by parseBlueGreenConfig, in parseStackConfig). */
        blueGreen: z.unknown().optional(),
        /** Kubeconfig of the blue-green cluster, as a Pulumi secret. */
        kubeconfig: z.string().min(1).optional(),
        /** Alert rules and monitoring host (validated by parseMonitoringConfig, in parseStackConfig). */
        monitoring: z.unknown().optional(),
        /** Change windows: a promotion only inside one (components/windows). */
        windows: WindowsSchema.optional(),
        /** The automatic rollback guard (components/guard; components/config/rollback.ts). */
        rollback: RollbackSchema.optional(),
        /** Pipelines (migration-ctl plan --out / apply): how old a saved plan may be when applied. */
        pipeline: z
            .object({
                planMaxAgeMinutes: z
                    .number()
                    .int("must be a whole number of minutes")
                    .min(1, "must be at least 1 minute")
                    .max(10080, "must be at most 10080 minutes (7 days)")
                    .default(60),
            })
            .strict()
            .default({}),
    })
    .strict();

type Parsed = z.infer<typeof StackConfigSchema>;

export interface NodeConfig extends z.infer<typeof NodeSchema> {
    /** Root folder the node's files live under: "/" on real nodes, the sandbox root in dev. */
    readonly root: string;
}

export interface StackConfig extends Omit<
    Parsed,
    "nodes" | "migrationConfig" | "soakSeconds" | "sshPrivateKeys" | "kubeconfig" | "stepTimeouts" | "blueGreen" | "monitoring"
> {
    /** `pve-migration:blueGreen`, validated. */
    readonly blueGreen?: BlueGreenConfig;
    /** `pve-migration:monitoring`, validated, with its alert rule options. */
    readonly monitoring?: ParsedMonitoringConfig;
    readonly stack: string;
    readonly nodes: NodeConfig[];
    readonly migrationConfig: { scope: "cluster" | "node"; path: string; writerNode: string };
    readonly soakSeconds: Record<Phase, number>;
    /** Time limit of each node step, seconds (config, else `default`, else DEFAULT_STEP_TIMEOUTS). */
    readonly stepTimeouts: Record<NodeStep, number>;
    /** Names of the SSH keys present (values stay secret, read separately). */
    readonly sshKeyNames: string[];
}

export const DEFAULT_CLUSTER_CONFIG_PATH = "/etc/pve/network/migration.toml";
export const DEFAULT_NODE_CONFIG_PATH = "/etc/pve/nodes/{node}/network/migration.toml";

/** Keys whose values are JSON (objects, lists, numbers, booleans) rather than plain strings. */
const JSON_KEYS = new Set([
    "gates",
    "perlApi",
    "fallbackEnabled",
    "logMigrationDecisions",
    "package",
    "nodes",
    "migrationConfig",
    "backups",
    "commands",
    "ring",
    "soakSeconds",
    "ssh",
    "stepTimeouts",
    "network",
    "ha",
    "rollback",
    "windows",
    "pipeline",
    "sshPrivateKeys",
    "blueGreen",
    "monitoring",
]);

/** Config keys whose values must be Pulumi secrets. */
export const SECRET_CONFIG_KEYS = ["sshPrivateKeys", "kubeconfig"] as const;
const SECRET_KEYS = SECRET_CONFIG_KEYS;

export interface ParseOptions {
    /**
     * The safety rules the policy pack also enforces (https Perl API, package pinned by
     * sha256, SSH keys as secrets, fallback below rust-full, one writer of a cluster-wide
     * file). On by default; only the offline policy check turns them off, to show that the
     * policies alone stop such a change.
     */
    readonly guards?: boolean;
}

export interface RawConfig {
    /** Config values by key without the namespace, as strings (objects as JSON). */
    readonly values: Record<string, string>;
    /** Keys (without namespace) whose values are Pulumi secrets. */
    readonly secretKeys: ReadonlySet<string>;
    readonly stack: string;
    /** Folder relative paths (sandboxDir, package.path) are resolved against. */
    readonly projectDir: string;
}

/**
 * Validate the stack config: the one parse every reader uses (the program, migration-ctl,
 * diagnostics, metrics-gate, the offline policy check), `blueGreen` and `monitoring` included.
 * Throws ConfigError listing every problem at once, each as `pve-migration:<key path>: <reason>`:
 * each key is validated on its own, so a bad value of one key hides no problem of another, and
 * a check across keys runs whenever the keys it reads are valid.
 */
export function parseStackConfig(raw: RawConfig, opts: ParseOptions = {}): StackConfig {
    const guards = opts.guards ?? true;
    const errors: string[] = [];
    const input: Record<string, unknown> = {};
    const failed = new Set<string>();
    for (const [key, text] of Object.entries(raw.values)) {
        if (JSON_KEYS.has(key)) {
            try {
                input[key] = JSON.parse(text);
            } catch {
                failed.add(key);
                errors.push(
                    `${NAMESPACE}:${key}: must be ${key === "fallbackEnabled" || key === "logMigrationDecisions" ? "true or false" : "a YAML object or list"}`,
                );
            }
        } else {
            input[key] = text;
        }
    }
    for (const key of SECRET_KEYS) {
        if (guards && key in raw.values && !raw.secretKeys.has(key)) {
            errors.push(`${NAMESPACE}:${key}: must be a Pulumi secret (pulumi config set --secret --path '${key}.default' ...)`);
        }
    }
    const shape = StackConfigSchema.shape as Record<string, z.ZodTypeAny>;
    const data: Record<string, unknown> = {};
    for (const [key, schema] of Object.entries(shape)) {
        if (failed.has(key)) continue;
        const r = schema.safeParse(input[key]);
        if (r.success) {
            data[key] = r.data;
        } else {
            failed.add(key);
            errors.push(...r.error.issues.map((i) => issueMessage(i, [key, ...i.path])));
        }
    }
    const unknown = Object.keys(input).filter((k) => !Object.prototype.hasOwnProperty.call(shape, k));
    if (unknown.length > 0) errors.push(`${NAMESPACE}: unknown key(s) ${unknown.map((k) => `${NAMESPACE}:${k}`).join(", ")}`);
    const ok = (...keys: string[]) => keys.every((k) => !failed.has(k));
    const c = data as Partial<Parsed>;
    errors.push(...crossErrors(c, ok, guards));

    let blueGreen: BlueGreenConfig | undefined;
    if (input.blueGreen !== undefined && ok("blueGreen")) {
        try {
            blueGreen = parseBlueGreenConfig(input.blueGreen);
        } catch (e) {
            if (!(e instanceof ConfigError)) throw e;
            errors.push(...e.errors);
        }
    }
    let monitoring: ParsedMonitoringConfig | undefined;
    if (input.monitoring !== undefined && ok("monitoring")) {
        // The checks of the monitoring host against transport ssh and sshPrivateKeys need both valid.
        const sshKnown = ok("transport", "sshPrivateKeys");
        try {
            monitoring = parseMonitoringConfig(input.monitoring, {
                stack: raw.stack,
                transport: sshKnown ? (c.transport ?? "ssh") : "local",
                sshKeyNames: Object.keys(c.sshPrivateKeys ?? {}),
                blueGreen: input.blueGreen,
            });
        } catch (e) {
            if (!(e instanceof ConfigError)) throw e;
            errors.push(...e.errors);
        }
    }
    if (errors.length > 0) throw new ConfigError(errors);
    return finish(c as Parsed, raw, blueGreen, monitoring);
}

/** One zod issue as `pve-migration:<key path>: <reason>` (unknown keys listed by name). */
function issueMessage(i: z.ZodIssue, at: readonly (string | number)[]): string {
    const p = formatPath(at);
    if (i.code === "unrecognized_keys") return `${NAMESPACE}:${p}: unknown key(s) ${i.keys.join(", ")}`;
    return `${NAMESPACE}:${p}: ${i.message}`;
}

/** The checks across keys, each run when the keys it reads are valid (`ok`). */
function crossErrors(c: Partial<Parsed>, ok: (...keys: string[]) => boolean, guards: boolean): string[] {
    const errors: string[] = [];
    if (ok("nodes") && c.nodes) {
        const seen = new Map<string, number>();
        c.nodes.forEach((n, i) => {
            const k = n.name.toLowerCase();
            if (seen.has(k)) errors.push(`${NAMESPACE}:nodes[${i}].name: duplicate node name ${n.name} (also nodes[${seen.get(k)}])`);
            seen.set(k, i);
            if (ok("transport") && c.transport === "ssh") {
                if (n.address === undefined) errors.push(`${NAMESPACE}:nodes[${i}].address: required with transport ssh`);
                if (n.hostKey === undefined) errors.push(`${NAMESPACE}:nodes[${i}].hostKey: required with transport ssh (host keys are pinned)`);
                // An own key only: `constructor`, `toString`, `__proto__`... are not keys of the secret.
                if (ok("sshPrivateKeys") && !hasOwn(c.sshPrivateKeys, n.sshKey)) errors.push(missingKeyMessage(`nodes[${i}].sshKey`, n.sshKey));
            }
        });
    }
    if (c.blueGreen !== undefined && ok("kubeconfig") && c.kubeconfig === undefined) {
        errors.push(`${NAMESPACE}:kubeconfig: required with ${NAMESPACE}:blueGreen (pulumi config set --secret ${NAMESPACE}:kubeconfig < file)`);
    }
    if (ok("transport", "sandboxDir")) {
        if (c.transport === "local" && c.sandboxDir === undefined) errors.push(`${NAMESPACE}:sandboxDir: required with transport local`);
        if (c.transport === "ssh" && c.sandboxDir !== undefined) errors.push(`${NAMESPACE}:sandboxDir: only valid with transport local`);
    }
    if (ok("migrationConfig") && c.migrationConfig) {
        const scope = c.migrationConfig.scope;
        const cfgPath = configPathOf(c.migrationConfig);
        if (guards && scope === "node" && !cfgPath.includes("{node}")) {
            errors.push(`${NAMESPACE}:migrationConfig.path: must contain {node} with scope node (one file per node)`);
        }
        if (scope === "cluster" && cfgPath.includes("{node}")) {
            errors.push(`${NAMESPACE}:migrationConfig.path: must not contain {node} with scope cluster`);
        }
        if (scope === "cluster" && !cfgPath.startsWith("/etc/pve/")) {
            errors.push(`${NAMESPACE}:migrationConfig.path: a cluster-wide file must live under /etc/pve/ (pmxcfs)`);
        }
        if (scope === "cluster" && cfgPath.startsWith("/etc/pve/nodes/")) {
            errors.push(`${NAMESPACE}:migrationConfig.path: /etc/pve/nodes/ is node-scoped; use scope node`);
        }
        if (ok("nodes") && c.nodes) {
            const writerNode = c.migrationConfig.writerNode ?? c.nodes[0].name;
            if (!c.nodes.some((n) => n.name === writerNode)) {
                errors.push(`${NAMESPACE}:migrationConfig.writerNode: ${writerNode} is not one of the stack's nodes`);
            }
        }
    }
    if (ok("ring") && c.ring?.behindUntilSoaked && !c.ring.upstream) {
        errors.push(`${NAMESPACE}:ring.behindUntilSoaked: needs ring.upstream`);
    }
    if (guards) errors.push(...safetyErrors(c, ok));
    return errors;
}

function configPathOf(m: Parsed["migrationConfig"]): string {
    return m.path ?? (m.scope === "cluster" ? DEFAULT_CLUSTER_CONFIG_PATH : DEFAULT_NODE_CONFIG_PATH);
}

function finish(c: Parsed, raw: RawConfig, blueGreen: BlueGreenConfig | undefined, monitoring: ParsedMonitoringConfig | undefined): StackConfig {
    const scope = c.migrationConfig.scope;
    const cfgPath = configPathOf(c.migrationConfig);
    const writerNode = c.migrationConfig.writerNode ?? c.nodes[0].name;
    const sandbox = c.sandboxDir !== undefined ? path.resolve(raw.projectDir, c.sandboxDir) : undefined;
    const { sshPrivateKeys, kubeconfig, blueGreen: _bg, monitoring: _m, ...rest } = c;
    return {
        ...rest,
        ...(blueGreen !== undefined ? { blueGreen } : {}),
        ...(monitoring !== undefined ? { monitoring } : {}),
        stack: raw.stack,
        ...(sandbox !== undefined ? { sandboxDir: sandbox } : {}),
        package: { ...c.package, path: c.package.path !== undefined ? path.resolve(raw.projectDir, c.package.path) : undefined },
        nodes: c.nodes.map((n) => ({ ...n, root: sandbox !== undefined ? path.join(sandbox, n.name) : "/" })),
        migrationConfig: { scope, path: cfgPath, writerNode },
        soakSeconds: { ...DEFAULT_SOAK_SECONDS, ...stripUndefined(c.soakSeconds) },
        stepTimeouts: Object.fromEntries(NODE_STEPS.map((s) => [s, c.stepTimeouts[s] ?? c.stepTimeouts.default ?? DEFAULT_STEP_TIMEOUTS[s]])) as Record<
            NodeStep,
            number
        >,
        sshKeyNames: Object.keys(sshPrivateKeys ?? {}),
    };
}

/** The safety rules shared with the policy pack, as config errors (each when its keys are valid). */
export function safetyErrors(
    c: Partial<Pick<Parsed, "fallbackEnabled" | "phase" | "perlApi" | "package">>,
    ok: (...keys: string[]) => boolean = () => true,
): string[] {
    const errors: string[] = [];
    if (ok("fallbackEnabled", "phase") && c.fallbackEnabled === false && c.phase !== undefined && phaseInfo(c.phase).fallbackRequired) {
        errors.push(`${NAMESPACE}:fallbackEnabled: must be true in phase ${c.phase} (only rust-full may disable the fallback)`);
    }
    if (ok("perlApi") && c.perlApi !== undefined && !c.perlApi.baseUrl.startsWith("https://")) {
        errors.push(`${NAMESPACE}:perlApi.baseUrl: must be an https:// URL (the Perl API carries credentials)`);
    }
    if (ok("package") && c.package !== undefined && c.package.sha256 === undefined) {
        errors.push(`${NAMESPACE}:package.sha256: required: the package is pinned by version and sha256`);
    }
    return errors;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
    return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The migration config path for `node` (scope node substitutes the node name). */
export function migrationConfigPath(cfg: Pick<StackConfig, "migrationConfig">, node: string): string {
    return cfg.migrationConfig.path.split("{node}").join(node);
}
