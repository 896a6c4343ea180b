/**
 * Alert rules deployed with the stack: the rules rendered by components/gates/rules.ts
 * go to a Prometheus rules file on the monitoring host (checked with promtool before they
 * replace the live file, then Prometheus reloads), and/or to a PrometheusRule through the
 * stack's Kubernetes provider (stacks with blue-green releases).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { NodeConfig, StackConfig } from "../config/schema";
import { MonitoringConfig, parseMonitoringConfig } from "../config/monitoring";
import { renderAlertRulesYaml, renderPrometheusRule } from "../gates/rules";
import { StepArgs, renderStepScript } from "../scripts";
import { sha256Text } from "../steps";
import { Transport } from "../node/transport";
import { transportCapability } from "../node/capability";

export { MonitoringSchema, parseMonitoringConfig } from "../config/monitoring";
export type { MonitoringConfig, ParsedMonitoringConfig } from "../config/monitoring";

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
        // A sandbox host is a root beside the nodes' (<sandboxDir>/<name>).
        root: transportCapability(cfg).nodeRoot(cfg.sandboxDir, h.name),
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
                {
                    // The monitoring host is no Proxmox VE node: it gets the whole rules script, not the step library.
                    script: renderStepScript("rules"),
                    steps: [
                        {
                            step: "rules",
                            timeLimit: cfg.stepTimeouts.rules,
                            args: rulesStepArgs(host, m.rulesFile.path, this.rulesYaml, m.rulesFile.check, m.rulesFile.reload),
                        },
                    ],
                },
                { parent: this },
            );
        }
        if (m.prometheusRule) {
            const obj = renderPrometheusRule({
                ...options,
                namespace: m.prometheusRule.namespace,
                name: m.prometheusRule.name,
                metadataLabels: m.prometheusRule.labels,
            });
            this.prometheusRule = new k8s.apiextensions.CustomResource(
                `${name}-prometheus-rule`,
                { apiVersion: obj.apiVersion, kind: obj.kind, metadata: obj.metadata, spec: obj.spec },
                { parent: this, provider: args.k8sProvider },
            );
        }
        this.registerOutputs({ rulesFile: this.rulesFile, prometheusRule: this.prometheusRule });
    }
}
