/**
 * Alert rules for the migration, rendered from code (the operators' alerting and rollback
 * procedures): a Prometheus rules file for a monitoring host, or a PrometheusRule object for a
 * stack with Kubernetes (prometheus-operator). Pure.
 *
 * Alerts:
 * - PveNetworkFallback (critical): `increase(pve_network_fallback_total[5m]) > 0`, any
 *   request the middleware handed back to Perl. `increase` counts across counter resets.
 * - PveNetworkApplyLatencyAboveBaseline (warning): mean apply latency over 5m, per instance,
 *   `increase(_sum[5m]) / increase(_count[5m])`, above the Perl baseline (a parameter). No apply
 *   in 5m gives NaN, which never fires.
 * - PveNetworkRustDaemonDown (critical): node_exporter's systemd collector reports the Rust
 *   unit not active: `node_systemd_unit_state{name="pve-network-rs.service",state="active"} == 0`.
 *   Rendered only for phases that run the daemon (perl-only stops it on purpose).
 * - PveNetworkMigrationMiddlewareDown (critical): the same for pve-network-migration.service,
 *   which routes every request in every phase.
 * - PveNetworkMetricsDown (warning): `up{job="<exporter job>"} == 0`; the <node>:9187 exporter
 *   cannot be scraped, so the promotion gate would have no data.
 * The systemd alerts need node_exporter with `--collector.systemd`; a node whose unit is not
 * known to systemd at all has no such series and is covered by the fallback alert instead.
 */
import YAML from "yaml";
import { z } from "zod";
import { Phase, PHASES, phaseInfo } from "../phases";

const DURATION_RE = /^[0-9]+(ms|s|m|h|d|w)$/;
const JOB_RE = /^[A-Za-z0-9_.:-]+$/;
const UNIT_RE = /^[A-Za-z0-9@._-]+\.service$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Options, also accepted as stack config under `pve-migration:monitoring.alerts`. */
export const AlertRulesConfigSchema = z
    .object({
        /** The Perl implementation's mean apply latency, seconds. */
        perlBaselineSeconds: z.number().positive("must be greater than 0").finite(),
        /** Scrape job of the <node>:9187 exporter. */
        exporterJob: z.string().regex(JOB_RE, "must be a Prometheus job name").default("pve-network"),
        /** Unit names (stack config commands.rustService / middlewareService). */
        rustService: z.string().regex(UNIT_RE, "must be a systemd service name").default("pve-network-rs.service"),
        middlewareService: z.string().regex(UNIT_RE, "must be a systemd service name").default("pve-network-migration.service"),
        /** Range of the fallback and latency expressions. */
        window: z.string().regex(DURATION_RE, "must be a Prometheus duration such as 5m").default("5m"),
        /** `for:` of each alert. */
        fallbackFor: z.string().regex(DURATION_RE, "must be a Prometheus duration such as 0m").default("0m"),
        latencyFor: z.string().regex(DURATION_RE, "must be a Prometheus duration such as 10m").default("10m"),
        downFor: z.string().regex(DURATION_RE, "must be a Prometheus duration such as 2m").default("2m"),
        /** Rule group name. */
        groupName: z
            .string()
            .regex(/^[A-Za-z0-9_.-]+$/, "must be letters, digits, '.', '_', '-'")
            .default("pve-network-migration"),
        /** Labels added to every alert (e.g. { stack: "canary-a" }). */
        labels: z.record(z.string().regex(LABEL_RE, "must be a label name"), z.string()).default({}),
    })
    .strict();

export type AlertRulesConfig = z.input<typeof AlertRulesConfigSchema>;

export interface AlertRulesOptions extends AlertRulesConfig {
    /** The stack's phase: without the Rust daemon (perl-only) its down alert is left out. */
    readonly phase?: Phase;
}

export interface AlertRule {
    readonly alert: string;
    readonly expr: string;
    readonly for: string;
    readonly labels: Record<string, string>;
    readonly annotations: Record<string, string>;
}

export interface RuleGroup {
    readonly name: string;
    readonly rules: AlertRule[];
}

export class AlertRulesError extends Error {
    constructor(readonly errors: string[]) {
        super(`invalid alert rule options:\n${errors.map((e) => `  ${e}`).join("\n")}`);
        this.name = "AlertRulesError";
    }
}

/** Validate options; errors are `<prefix><key>: <reason>` (prefix e.g. `pve-migration:monitoring.alerts.`). */
export function parseAlertRulesConfig(raw: unknown, prefix = ""): z.output<typeof AlertRulesConfigSchema> {
    const r = AlertRulesConfigSchema.safeParse(raw);
    if (!r.success) {
        throw new AlertRulesError(
            r.error.issues.map((i) =>
                i.code === "unrecognized_keys"
                    ? `${prefix.replace(/\.$/, "") || "(root)"}: unknown key(s) ${i.keys.join(", ")}`
                    : `${prefix}${i.path.join(".")}: ${i.message}`,
            ),
        );
    }
    return r.data;
}

function promString(s: string): string {
    return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

/** The rule groups (plain objects), validated. */
export function alertRuleGroups(opts: AlertRulesOptions): RuleGroup[] {
    const { phase, ...raw } = opts;
    if (phase !== undefined && !(PHASES as readonly string[]).includes(phase)) throw new AlertRulesError([`phase: unknown phase ${phase}`]);
    const o = parseAlertRulesConfig(raw);
    const base = o.labels;
    const w = o.window;
    const rules: AlertRule[] = [
        {
            alert: "PveNetworkFallback",
            expr: `increase(pve_network_fallback_total[${w}]) > 0`,
            for: o.fallbackFor,
            labels: { ...base, severity: "critical" },
            annotations: {
                summary: "pve-network-rs fell back to Perl on {{ $labels.instance }}",
                description:
                    `{{ $value | humanize }} request(s) fell back from Rust to Perl in the last ${w} on {{ $labels.instance }}. ` +
                    "Any fallback blocks promotion; roll back (the README's Roll back section) if it persists.",
            },
        },
        {
            alert: "PveNetworkApplyLatencyAboveBaseline",
            expr:
                `(sum by (instance) (increase(pve_network_apply_duration_seconds_sum[${w}]))` +
                ` / sum by (instance) (increase(pve_network_apply_duration_seconds_count[${w}])))` +
                ` > ${o.perlBaselineSeconds}`,
            for: o.latencyFor,
            labels: { ...base, severity: "warning" },
            annotations: {
                summary: "pve-network-rs apply latency above the Perl baseline on {{ $labels.instance }}",
                description: `Mean apply latency over ${w} is {{ printf "%.3f" $value }}s, above the Perl baseline of ${o.perlBaselineSeconds}s.`,
            },
        },
    ];
    if (phase === undefined || phaseInfo(phase).rustDaemon) {
        rules.push({
            alert: "PveNetworkRustDaemonDown",
            expr: `node_systemd_unit_state{name=${promString(o.rustService)},state="active"} == 0`,
            for: o.downFor,
            labels: { ...base, severity: "critical" },
            annotations: {
                summary: `${o.rustService} is not active on {{ $labels.instance }}`,
                description: `systemd reports ${o.rustService} not active for ${o.downFor}; requests fall back to Perl.`,
            },
        });
    }
    rules.push(
        {
            alert: "PveNetworkMigrationMiddlewareDown",
            expr: `node_systemd_unit_state{name=${promString(o.middlewareService)},state="active"} == 0`,
            for: o.downFor,
            labels: { ...base, severity: "critical" },
            annotations: {
                summary: `${o.middlewareService} is not active on {{ $labels.instance }}`,
                description: `systemd reports ${o.middlewareService} not active for ${o.downFor}; network API requests are not routed.`,
            },
        },
        {
            alert: "PveNetworkMetricsDown",
            expr: `up{job=${promString(o.exporterJob)}} == 0`,
            for: o.downFor,
            labels: { ...base, severity: "warning" },
            annotations: {
                summary: "pve-network metrics cannot be scraped from {{ $labels.instance }}",
                description: `The ${o.exporterJob} exporter has been down for ${o.downFor}; the promotion gate will have no data for this node.`,
            },
        },
    );
    return [{ name: o.groupName, rules }];
}

/** The Prometheus rules file (YAML text) for a monitoring host. */
export function renderAlertRulesYaml(opts: AlertRulesOptions): string {
    const header = "# Rendered by pve-network-migration (components/gates/rules.ts). Do not edit by hand.\n";
    return header + YAML.stringify({ groups: alertRuleGroups(opts) }, { lineWidth: 0 });
}

export interface PrometheusRuleOptions extends AlertRulesOptions {
    readonly name?: string;
    readonly namespace: string;
    /** Labels the Prometheus operator's ruleSelector matches (e.g. { release: "kube-prometheus-stack" }). */
    readonly metadataLabels?: Record<string, string>;
}

/** A prometheus-operator PrometheusRule object (monitoring.coreos.com/v1) for stacks with Kubernetes. */
export function renderPrometheusRule(opts: PrometheusRuleOptions) {
    const { name, namespace, metadataLabels, ...rest } = opts;
    const k8sName = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
    const n = name ?? "pve-network-migration";
    const errors: string[] = [];
    if (!k8sName.test(n) || n.length > 253) errors.push(`name: ${JSON.stringify(n)} is not a Kubernetes object name`);
    if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(namespace) || namespace.length > 63)
        errors.push(`namespace: ${JSON.stringify(namespace)} is not a Kubernetes namespace`);
    if (errors.length > 0) throw new AlertRulesError(errors);
    return {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PrometheusRule",
        metadata: {
            name: n,
            namespace,
            labels: { "app.kubernetes.io/name": "pve-network-migration", "app.kubernetes.io/component": "alert-rules", ...(metadataLabels ?? {}) },
        },
        spec: { groups: alertRuleGroups(rest) },
    };
}
