/**
 * Alert rules deployed with the stack (issue 6): the rules rendered by components/gates/rules.ts
 * go to a Prometheus rules file on the monitoring host (checked with promtool before they
 * replace the live file, then Prometheus reloads), and/or to a PrometheusRule through the
 * stack's Kubernetes provider (stacks with blue-green releases).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";
import { z } from "zod";
import { ConfigError, NAMESPACE, NODE_NAME_RE, NodeConfig, StackConfig, addressSchema, argWordSchema, hostKeySchema, missingKeyMessage, writePathSchema } from "../config/schema";
import { BOUNDS } from "../config/bounds";
import { formatPath } from "../evidence";
import { AlertRulesError, parseAlertRulesConfig, renderAlertRulesYaml, renderPrometheusRule } from "../gates/rules";
import { StepArgs, renderStepScript } from "../scripts";
import { sha256Text } from "../steps";
import { Transport } from "../node/transport";

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
                        sshUser: z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a POSIX user name").default("root"),
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
export function parseMonitoringConfig(raw: unknown, cfg: StackConfig): MonitoringConfig & { alertOptions: ReturnType<typeof parseAlertRulesConfig> } {
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

/** The monitoring host as a step target. */
export function monitoringHost(cfg: StackConfig, m: MonitoringConfig): NodeConfig {
    const h = m.rulesFile!.host;
    return {
        name: h.name,
        address: h.address,
        port: h.port,
        sshUser: h.sshUser,
        hostKey: h.hostKey,
        sshKey: h.sshKey,
        root: cfg.transport === "local" ? path.join(path.dirname(cfg.nodes[0].root), h.name) : "/",
    };
}

/** Arguments of the rules step. */
export function rulesStepArgs(host: NodeConfig, path: string, content: string, check: boolean, reload: readonly string[]): StepArgs {
    return {
        options: { root: host.root, node: host.name, path, content, sha256: sha256Text(content), check: check ? "1" : "0" },
        argv: reload,
    };
}

export interface AlertRulesArgs {
    readonly cfg: StackConfig;
    readonly monitoring: ReturnType<typeof parseMonitoringConfig>;
    readonly transport: Transport;
    /** Kubernetes provider of the stack (blue-green), for the PrometheusRule. */
    readonly k8sProvider?: k8s.Provider;
}

export class AlertRules extends pulumi.ComponentResource {
    public readonly rulesFile: pulumi.CustomResource | undefined;
    public readonly prometheusRule: k8s.apiextensions.CustomResource | undefined;
    /** The rendered rules file. */
    public readonly rulesYaml: string;

    constructor(name: string, args: AlertRulesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("pve-migration:monitoring:AlertRules", name, {}, opts);
        const { cfg, monitoring: m } = args;
        const options = { ...m.alertOptions, phase: cfg.phase };
        this.rulesYaml = renderAlertRulesYaml(options);
        if (m.rulesFile) {
            const host = monitoringHost(cfg, m);
            this.rulesFile = args.transport.command(
                `${name}-file`,
                host,
                { script: renderStepScript("rules"), step: "rules", timeLimit: cfg.stepTimeouts.rules, args: rulesStepArgs(host, m.rulesFile.path, this.rulesYaml, m.rulesFile.check, m.rulesFile.reload) },
                { parent: this },
            );
        }
        if (m.prometheusRule) {
            const obj = renderPrometheusRule({ ...options, namespace: m.prometheusRule.namespace, name: m.prometheusRule.name, metadataLabels: m.prometheusRule.labels });
            this.prometheusRule = new k8s.apiextensions.CustomResource(
                `${name}-prometheus-rule`,
                { apiVersion: obj.apiVersion, kind: obj.kind, metadata: obj.metadata, spec: obj.spec },
                { parent: this, provider: args.k8sProvider },
            );
        }
        this.registerOutputs({ rulesFile: this.rulesFile, prometheusRule: this.prometheusRule });
    }
}
