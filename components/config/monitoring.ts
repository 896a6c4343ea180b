/**
 * `pve-migration:monitoring`: the alert rules deployed with the stack and where they go (a
 * rules file on the monitoring host, a PrometheusRule in the blue-green cluster). Pure; part
 * of the one parse of the stack config (parseStackConfig), and used by components/monitoring.
 */
import { z } from "zod";
import { ConfigError, NAMESPACE, addressSchema, argWordSchema, hostKeySchema, missingKeyMessage, writePathSchema } from "./base";
import { BOUNDS, NODE_NAME_RE } from "./bounds";
import { formatPath } from "../evidence";
import { AlertRulesError, parseAlertRulesConfig } from "../gates/rules";

export const MonitoringSchema = z
    .object({
        /** Alert rule options (components/gates/rules.ts): perlBaselineSeconds is required. */
        alerts: z.unknown(),
        /** A Prometheus rules file on the monitoring host. */
        rulesFile: z
            .object({
                /** The monitoring host (ssh transport); with transport local, a sandbox root `<sandboxDir>/<name>`. */
                host: z
                    .object({
                        name: z.string().regex(NODE_NAME_RE, "must be a host name (letters, digits, '-')"),
                        /** Validated exactly as the nodes' addresses are (addressSchema). */
                        address: addressSchema.optional(),
                        port: z.number().int().min(1).max(65535).default(22),
                        sshUser: z
                            .string()
                            .regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a POSIX user name")
                            .default("root"),
                        hostKey: hostKeySchema.optional(),
                        sshKey: z.string().min(1).default("default"),
                    })
                    .strict(),
                path: writePathSchema(false).default("/etc/prometheus/rules/pve-network-migration.yml"),
                /** Command that reloads Prometheus after the file changed. */
                reload: z
                    .array(argWordSchema)
                    .max(BOUNDS.commandArgs.max, `must have at most ${BOUNDS.commandArgs.max} arguments`)
                    .default(["systemctl", "reload", "prometheus"]),
                /** Check the rules with promtool before installing them. */
                check: z.boolean().default(true),
            })
            .strict()
            .optional(),
        /** A PrometheusRule object (needs the blue-green Kubernetes provider). */
        prometheusRule: z
            .object({
                namespace: z.string().min(1),
                name: z.string().min(1).optional(),
                /** Labels the Prometheus operator's ruleSelector matches. */
                labels: z.record(z.string()).optional(),
            })
            .strict()
            .optional(),
    })
    .strict();

export type MonitoringConfig = z.infer<typeof MonitoringSchema>;

/** Validate `pve-migration:monitoring`; errors name the key. */
/** `pve-migration:monitoring` validated, with its alert rule options. */
export type ParsedMonitoringConfig = MonitoringConfig & { alertOptions: ReturnType<typeof parseAlertRulesConfig> };

/** What the monitoring block is checked against: the rest of the stack config. */
export interface MonitoringContext {
    readonly stack: string;
    readonly transport: "ssh" | "local";
    /** Names of the SSH keys of sshPrivateKeys (the monitoring host's sshKey must be one). */
    readonly sshKeyNames: readonly string[];
    /** `pve-migration:blueGreen` (the PrometheusRule needs its cluster). */
    readonly blueGreen?: unknown;
}

export function parseMonitoringConfig(raw: unknown, cfg: MonitoringContext): ParsedMonitoringConfig {
    const r = MonitoringSchema.safeParse(raw);
    const errors: string[] = [];
    if (!r.success) {
        throw new ConfigError(r.error.issues.map((i) => `${NAMESPACE}:monitoring${i.path.length ? "." : ""}${formatPath(i.path)}: ${i.message}`));
    }
    const m = r.data;
    let alertOptions: ReturnType<typeof parseAlertRulesConfig> | undefined;
    try {
        alertOptions = parseAlertRulesConfig({ labels: { stack: cfg.stack }, ...(m.alerts as object) }, `${NAMESPACE}:monitoring.alerts.`);
    } catch (e) {
        if (e instanceof AlertRulesError) errors.push(...e.errors);
        else throw e;
    }
    if (!m.rulesFile && !m.prometheusRule) errors.push(`${NAMESPACE}:monitoring: set rulesFile, prometheusRule or both`);
    if (m.prometheusRule && cfg.blueGreen === undefined) {
        errors.push(`${NAMESPACE}:monitoring.prometheusRule: needs ${NAMESPACE}:blueGreen (its Kubernetes provider and cluster)`);
    }
    if (m.rulesFile && cfg.transport === "ssh") {
        if (!m.rulesFile.host.address) errors.push(`${NAMESPACE}:monitoring.rulesFile.host.address: required with transport ssh`);
        if (!m.rulesFile.host.hostKey) errors.push(`${NAMESPACE}:monitoring.rulesFile.host.hostKey: required with transport ssh (host keys are pinned)`);
        if (!cfg.sshKeyNames.includes(m.rulesFile.host.sshKey)) {
            errors.push(missingKeyMessage("monitoring.rulesFile.host.sshKey", m.rulesFile.host.sshKey));
        }
    }
    if (errors.length > 0) throw new ConfigError(errors);
    return { ...m, alertOptions: alertOptions! };
}
