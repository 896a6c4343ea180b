/**
 * Alert rules: exact rendering (pure), `promtool check rules`, and `promtool test rules` unit
 * tests showing each alert firing and not firing on input series.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { AlertRulesError, alertRuleGroups, parseAlertRulesConfig, renderAlertRulesYaml, renderPrometheusRule } from "../../components/gates/rules";
import { tempDir } from "./helpers";
import { requireTools } from "../support/tools";

requireTools("/usr/bin/promtool");

const PROMTOOL = "/usr/bin/promtool";

function promtool(args: string[], cwd: string) {
    const r = spawnSync(PROMTOOL, args, { cwd, encoding: "utf8" });
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe("rendering (pure)", () => {
    test("the default rules, exactly", () => {
        expect(alertRuleGroups({ perlBaselineSeconds: 0.5 })).toEqual([
            {
                name: "pve-network-migration",
                rules: [
                    {
                        alert: "PveNetworkFallback",
                        expr: "increase(pve_network_fallback_total[5m]) > 0",
                        for: "0m",
                        labels: { severity: "critical" },
                        annotations: {
                            summary: "pve-network-rs fell back to Perl on {{ $labels.instance }}",
                            description:
                                "{{ $value | humanize }} request(s) fell back from Rust to Perl in the last 5m on {{ $labels.instance }}. " +
                                "Any fallback blocks promotion; roll back (the README's Roll back section) if it persists.",
                        },
                    },
                    {
                        alert: "PveNetworkApplyLatencyAboveBaseline",
                        expr:
                            "(sum by (instance) (increase(pve_network_apply_duration_seconds_sum[5m])) / " +
                            "sum by (instance) (increase(pve_network_apply_duration_seconds_count[5m]))) > 0.5",
                        for: "10m",
                        labels: { severity: "warning" },
                        annotations: {
                            summary: "pve-network-rs apply latency above the Perl baseline on {{ $labels.instance }}",
                            description: 'Mean apply latency over 5m is {{ printf "%.3f" $value }}s, above the Perl baseline of 0.5s.',
                        },
                    },
                    {
                        alert: "PveNetworkRustDaemonDown",
                        expr: 'node_systemd_unit_state{name="pve-network-rs.service",state="active"} == 0',
                        for: "2m",
                        labels: { severity: "critical" },
                        annotations: {
                            summary: "pve-network-rs.service is not active on {{ $labels.instance }}",
                            description: "systemd reports pve-network-rs.service not active for 2m; requests fall back to Perl.",
                        },
                    },
                    {
                        alert: "PveNetworkMigrationMiddlewareDown",
                        expr: 'node_systemd_unit_state{name="pve-network-migration.service",state="active"} == 0',
                        for: "2m",
                        labels: { severity: "critical" },
                        annotations: {
                            summary: "pve-network-migration.service is not active on {{ $labels.instance }}",
                            description: "systemd reports pve-network-migration.service not active for 2m; network API requests are not routed.",
                        },
                    },
                    {
                        alert: "PveNetworkMetricsDown",
                        expr: 'up{job="pve-network"} == 0',
                        for: "2m",
                        labels: { severity: "warning" },
                        annotations: {
                            summary: "pve-network metrics cannot be scraped from {{ $labels.instance }}",
                            description: "The pve-network exporter has been down for 2m; the promotion gate will have no data for this node.",
                        },
                    },
                ],
            },
        ]);
    });

    test.each([
        ["perl-only", ["PveNetworkFallback", "PveNetworkApplyLatencyAboveBaseline", "PveNetworkMigrationMiddlewareDown", "PveNetworkMetricsDown"]],
        [
            "rust-read-only",
            ["PveNetworkFallback", "PveNetworkApplyLatencyAboveBaseline", "PveNetworkRustDaemonDown", "PveNetworkMigrationMiddlewareDown", "PveNetworkMetricsDown"],
        ],
        [
            "rust-full",
            ["PveNetworkFallback", "PveNetworkApplyLatencyAboveBaseline", "PveNetworkRustDaemonDown", "PveNetworkMigrationMiddlewareDown", "PveNetworkMetricsDown"],
        ],
    ] as const)("phase %s: the Rust daemon alert only where the daemon runs", (phase, names) => {
        expect(alertRuleGroups({ perlBaselineSeconds: 1, phase })[0].rules.map((r) => r.alert)).toEqual(names);
    });

    test("options: units, job, window, durations, extra labels (severity cannot be overridden)", () => {
        const g = alertRuleGroups({
            perlBaselineSeconds: 1.25,
            rustService: "pvenet-rs.service",
            middlewareService: "pvenet-mw.service",
            exporterJob: "pve",
            window: "10m",
            latencyFor: "30m",
            downFor: "5m",
            groupName: "canary",
            labels: { stack: "canary-a", severity: "info" },
        })[0];
        expect(g.name).toBe("canary");
        expect(g.rules.map((r) => [r.expr, r.for, r.labels])).toEqual([
            ["increase(pve_network_fallback_total[10m]) > 0", "0m", { stack: "canary-a", severity: "critical" }],
            [
                "(sum by (instance) (increase(pve_network_apply_duration_seconds_sum[10m])) / sum by (instance) (increase(pve_network_apply_duration_seconds_count[10m]))) > 1.25",
                "30m",
                { stack: "canary-a", severity: "warning" },
            ],
            ['node_systemd_unit_state{name="pvenet-rs.service",state="active"} == 0', "5m", { stack: "canary-a", severity: "critical" }],
            ['node_systemd_unit_state{name="pvenet-mw.service",state="active"} == 0', "5m", { stack: "canary-a", severity: "critical" }],
            ['up{job="pve"} == 0', "5m", { stack: "canary-a", severity: "warning" }],
        ]);
    });

    test.each<[unknown, string[]]>([
        [{}, ["pve-migration:monitoring.alerts.perlBaselineSeconds: Required"]],
        [{ perlBaselineSeconds: 0 }, ["pve-migration:monitoring.alerts.perlBaselineSeconds: must be greater than 0"]],
        [{ perlBaselineSeconds: 1, window: "5 minutes" }, ["pve-migration:monitoring.alerts.window: must be a Prometheus duration such as 5m"]],
        [{ perlBaselineSeconds: 1, rustService: "rs; rm -rf /" }, ["pve-migration:monitoring.alerts.rustService: must be a systemd service name"]],
        [{ perlBaselineSeconds: 1, exporterJob: 'a"b' }, ["pve-migration:monitoring.alerts.exporterJob: must be a Prometheus job name"]],
        [{ perlBaselineSeconds: 1, labels: { "bad-label": "x" } }, ["pve-migration:monitoring.alerts.labels.bad-label: must be a label name"]],
        [{ perlBaselineSeconds: 1, treshold: 2 }, ["pve-migration:monitoring.alerts: unknown key(s) treshold"]],
    ])("invalid options %# name the key", (raw, errors) => {
        let caught: unknown;
        try {
            parseAlertRulesConfig(raw, "pve-migration:monitoring.alerts.");
        } catch (e) {
            caught = e;
        }
        expect(caught).toBeInstanceOf(AlertRulesError);
        expect((caught as AlertRulesError).errors).toEqual(errors);
    });

    test("the YAML text parses back to the rule groups", () => {
        const opts = { perlBaselineSeconds: 0.5, phase: "rust-basic-write" as const };
        const text = renderAlertRulesYaml(opts);
        expect(text.split("\n")[0]).toBe("# Rendered by pve-network-migration (components/gates/rules.ts). Do not edit by hand.");
        expect(YAML.parse(text)).toEqual({ groups: alertRuleGroups(opts) });
    });

    test("the PrometheusRule object for Kubernetes stacks", () => {
        const pr = renderPrometheusRule({ perlBaselineSeconds: 0.5, namespace: "monitoring", metadataLabels: { release: "kube-prometheus-stack" } });
        expect(pr).toEqual({
            apiVersion: "monitoring.coreos.com/v1",
            kind: "PrometheusRule",
            metadata: {
                name: "pve-network-migration",
                namespace: "monitoring",
                labels: {
                    "app.kubernetes.io/name": "pve-network-migration",
                    "app.kubernetes.io/component": "alert-rules",
                    release: "kube-prometheus-stack",
                },
            },
            spec: { groups: alertRuleGroups({ perlBaselineSeconds: 0.5 }) },
        });
    });

    test("PrometheusRule name and namespace are checked", () => {
        expect(() => renderPrometheusRule({ perlBaselineSeconds: 0.5, namespace: "Monitoring", name: "x_y" })).toThrow(
            'invalid alert rule options:\n  name: "x_y" is not a Kubernetes object name\n  namespace: "Monitoring" is not a Kubernetes namespace',
        );
    });
});

describe("promtool", () => {
    let dir: string;
    beforeAll(() => {
        dir = tempDir("alert-rules-");
        fs.writeFileSync(path.join(dir, "rules.yml"), renderAlertRulesYaml({ perlBaselineSeconds: 0.5, labels: { stack: "canary-a" } }));
        // The PrometheusRule's spec is a rules file too.
        const pr = renderPrometheusRule({ perlBaselineSeconds: 0.5, namespace: "monitoring", phase: "perl-only" });
        fs.writeFileSync(path.join(dir, "k8s-rules.yml"), YAML.stringify(pr.spec));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("promtool check rules accepts the rendered files", () => {
        const a = promtool(["check", "rules", "rules.yml"], dir);
        expect(a.out).toBe("Checking rules.yml\n  SUCCESS: 5 rules found\n\n");
        expect(a.code).toBe(0);
        const b = promtool(["check", "rules", "k8s-rules.yml"], dir);
        expect(b.out).toBe("Checking k8s-rules.yml\n  SUCCESS: 4 rules found\n\n");
        expect(b.code).toBe(0);
    });

    const stackLabel = { stack: "canary-a" };
    const fallbackAnn = (v: string, inst: string) => ({
        summary: `pve-network-rs fell back to Perl on ${inst}`,
        description: `${v} request(s) fell back from Rust to Perl in the last 5m on ${inst}. Any fallback blocks promotion; roll back (the README's Roll back section) if it persists.`,
    });
    const UNIT_TESTS = {
        rule_files: ["rules.yml"],
        evaluation_interval: "1m",
        tests: [
            {
                name: "fallback: fires on one fallback, and across a counter reset; silent when flat",
                interval: "1m",
                input_series: [
                    { series: 'pve_network_fallback_total{instance="pve1:9187",job="pve-network"}', values: "0 0 0 1 1 1 1 1 1 1 1 1" },
                    { series: 'pve_network_fallback_total{instance="pve2:9187",job="pve-network"}', values: "5 5 0 1 1 1 1 1 1 1 1 1" },
                    { series: 'pve_network_fallback_total{instance="pve3:9187",job="pve-network"}', values: "7 7 7 7 7 7 7 7 7 7 7 7" },
                ],
                alert_rule_test: [
                    { eval_time: "2m", alertname: "PveNetworkFallback", exp_alerts: [] },
                    {
                        eval_time: "5m",
                        alertname: "PveNetworkFallback",
                        exp_alerts: [
                            {
                                exp_labels: { ...stackLabel, severity: "critical", instance: "pve1:9187", job: "pve-network" },
                                exp_annotations: fallbackAnn("1", "pve1:9187"),
                            },
                            {
                                exp_labels: { ...stackLabel, severity: "critical", instance: "pve2:9187", job: "pve-network" },
                                exp_annotations: fallbackAnn("1", "pve2:9187"),
                            },
                        ],
                    },
                    // More than 5m after the last increase: silent again.
                    { eval_time: "11m", alertname: "PveNetworkFallback", exp_alerts: [] },
                ],
            },
            {
                name: "apply latency: fires after 10m above the baseline; silent under it or without applies",
                interval: "1m",
                input_series: [
                    // pve1: 0.6 s per apply (10 applies/min, 6 s/min); pve2: 0.4 s; pve3: no applies.
                    { series: 'pve_network_apply_duration_seconds_sum{instance="pve1:9187",job="pve-network"}', values: "0+6x30" },
                    { series: 'pve_network_apply_duration_seconds_count{instance="pve1:9187",job="pve-network"}', values: "0+10x30" },
                    { series: 'pve_network_apply_duration_seconds_sum{instance="pve2:9187",job="pve-network"}', values: "0+4x30" },
                    { series: 'pve_network_apply_duration_seconds_count{instance="pve2:9187",job="pve-network"}', values: "0+10x30" },
                    { series: 'pve_network_apply_duration_seconds_sum{instance="pve3:9187",job="pve-network"}', values: "3x30" },
                    { series: 'pve_network_apply_duration_seconds_count{instance="pve3:9187",job="pve-network"}', values: "5x30" },
                ],
                alert_rule_test: [
                    // Above the baseline since 1m, but not yet for 10m: pending, not firing.
                    { eval_time: "8m", alertname: "PveNetworkApplyLatencyAboveBaseline", exp_alerts: [] },
                    {
                        eval_time: "15m",
                        alertname: "PveNetworkApplyLatencyAboveBaseline",
                        exp_alerts: [
                            {
                                exp_labels: { ...stackLabel, severity: "warning", instance: "pve1:9187" },
                                exp_annotations: {
                                    summary: "pve-network-rs apply latency above the Perl baseline on pve1:9187",
                                    description: "Mean apply latency over 5m is 0.600s, above the Perl baseline of 0.5s.",
                                },
                            },
                        ],
                    },
                ],
            },
            {
                name: "daemon and middleware down: fire after 2m inactive; silent while active",
                interval: "1m",
                input_series: [
                    { series: 'node_systemd_unit_state{instance="pve1:9100",job="node",name="pve-network-rs.service",state="active"}', values: "1 1 0 0 0 0 0 0" },
                    { series: 'node_systemd_unit_state{instance="pve2:9100",job="node",name="pve-network-rs.service",state="active"}', values: "1 1 1 1 1 1 1 1" },
                    {
                        series: 'node_systemd_unit_state{instance="pve1:9100",job="node",name="pve-network-migration.service",state="active"}',
                        values: "1 1 1 1 1 1 1 1",
                    },
                    {
                        series: 'node_systemd_unit_state{instance="pve2:9100",job="node",name="pve-network-migration.service",state="active"}',
                        values: "1 1 1 0 0 0 0 0",
                    },
                ],
                alert_rule_test: [
                    { eval_time: "3m", alertname: "PveNetworkRustDaemonDown", exp_alerts: [] },
                    {
                        eval_time: "5m",
                        alertname: "PveNetworkRustDaemonDown",
                        exp_alerts: [
                            {
                                exp_labels: {
                                    ...stackLabel,
                                    severity: "critical",
                                    instance: "pve1:9100",
                                    job: "node",
                                    name: "pve-network-rs.service",
                                    state: "active",
                                },
                                exp_annotations: {
                                    summary: "pve-network-rs.service is not active on pve1:9100",
                                    description: "systemd reports pve-network-rs.service not active for 2m; requests fall back to Perl.",
                                },
                            },
                        ],
                    },
                    { eval_time: "4m", alertname: "PveNetworkMigrationMiddlewareDown", exp_alerts: [] },
                    {
                        eval_time: "6m",
                        alertname: "PveNetworkMigrationMiddlewareDown",
                        exp_alerts: [
                            {
                                exp_labels: {
                                    ...stackLabel,
                                    severity: "critical",
                                    instance: "pve2:9100",
                                    job: "node",
                                    name: "pve-network-migration.service",
                                    state: "active",
                                },
                                exp_annotations: {
                                    summary: "pve-network-migration.service is not active on pve2:9100",
                                    description: "systemd reports pve-network-migration.service not active for 2m; network API requests are not routed.",
                                },
                            },
                        ],
                    },
                ],
            },
            {
                name: "metrics down: fires after 2m of failed scrapes",
                interval: "1m",
                input_series: [
                    { series: 'up{instance="pve1:9187",job="pve-network"}', values: "1 0 0 0 0" },
                    { series: 'up{instance="pve2:9187",job="pve-network"}', values: "1 1 1 1 1" },
                    { series: 'up{instance="pve1:9100",job="node"}', values: "0 0 0 0 0" },
                ],
                alert_rule_test: [
                    { eval_time: "2m", alertname: "PveNetworkMetricsDown", exp_alerts: [] },
                    {
                        eval_time: "4m",
                        alertname: "PveNetworkMetricsDown",
                        exp_alerts: [
                            {
                                exp_labels: { ...stackLabel, severity: "warning", instance: "pve1:9187", job: "pve-network" },
                                exp_annotations: {
                                    summary: "pve-network metrics cannot be scraped from pve1:9187",
                                    description: "The pve-network exporter has been down for 2m; the promotion gate will have no data for this node.",
                                },
                            },
                        ],
                    },
                ],
            },
        ],
    };

    test("promtool test rules: each alert fires and stays silent as expected", () => {
        fs.writeFileSync(path.join(dir, "tests.yml"), YAML.stringify(UNIT_TESTS));
        const r = promtool(["test", "rules", "tests.yml"], dir);
        expect(r.out).toBe("Unit Testing:  tests.yml\n  SUCCESS\n\n");
        expect(r.code).toBe(0);
    });

    test("the harness can fail: expecting silence while the fallback alert fires is reported", () => {
        const wrong = {
            ...UNIT_TESTS,
            tests: [{ ...UNIT_TESTS.tests[0], alert_rule_test: [{ eval_time: "5m", alertname: "PveNetworkFallback", exp_alerts: [] }] }],
        };
        fs.writeFileSync(path.join(dir, "wrong.yml"), YAML.stringify(wrong));
        const r = promtool(["test", "rules", "wrong.yml"], dir);
        expect(r.code).toBe(1);
        expect(r.out).toContain("FAILED:");
        expect(r.out).toContain("alertname: PveNetworkFallback, time: 5m");
    });
});
