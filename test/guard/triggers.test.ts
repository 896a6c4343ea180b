/**
 * The rollback guard's triggers as PromQL (components/guard/triggers.ts), pure: the exact queries
 * for a node ring and a blue-green color from the stack config's defaults and overrides, and each
 * trigger's verdict at, above and below its threshold and with no data. A real Prometheus
 * evaluates the node queries in test/guard/prometheus.test.ts.
 */
import { RollbackSchema } from "../../components/config/rollback";
import { colorTriggers, judge, nodeTriggers, sustained } from "../../components/guard/triggers";

const rb = (extra: Record<string, unknown> = {}) => RollbackSchema.parse({ enabled: true, prometheus: { url: "http://127.0.0.1:9090" }, ...extra });

test("node ring: health (3 checks of 60 s), fallback (300 s), apply latency against the Perl baseline", () => {
    expect(nodeTriggers(rb(), "pve1", 0.8).map((t) => [t.name, t.query, t.direction, t.threshold, t.windowSeconds, t.missingHolds])).toEqual([
        ["health", 'max_over_time(up{instance="pve1:9187"}[180s])', "below", 1, 180, true],
        ["fallback", 'sum(increase(pve_network_fallback_total{instance="pve1:9187"}[300s]))', "above", 0, 300, false],
        [
            "applyLatency",
            'sum(rate(pve_network_apply_duration_seconds_sum{instance="pve1:9187"}[300s])) / sum(rate(pve_network_apply_duration_seconds_count{instance="pve1:9187"}[300s]))',
            "above",
            0.8,
            300,
            false,
        ],
    ]);
    // No Perl baseline configured (monitoring.alerts): no latency trigger.
    expect(nodeTriggers(rb({ triggers: { healthCheckFailures: 2, healthCheckInterval: 5, fallbackWindow: 60 } }), "pve2", undefined).map((t) => t.query)).toEqual([
        'max_over_time(up{instance="pve2:9187"}[10s])',
        'sum(increase(pve_network_fallback_total{instance="pve2:9187"}[60s]))',
    ]);
});

test("blue-green: the active color's health, error rate, p95, CPU and memory (sustained), defaults and overrides", () => {
    const t = colorTriggers(rb({ queries: { errorRate: 'my_errors{color="{color}"}[{window}]' } }), "green", 30);
    expect(t.map((x) => [x.name, x.query, x.threshold, x.windowSeconds])).toEqual([
        ["health", 'max_over_time((min(probe_success{job="pve-network-rs-health",color="green"}))[180s:30s])', 1, 180],
        ["errorRate", 'my_errors{color="green"}[300s]', 0.1, 300],
        [
            "responseTimeP95",
            'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{pod=~"pve-network-rs-green-.*"}[300s]))) * 1000',
            5000,
            300,
        ],
        [
            "cpu",
            sustained(
                'sum(rate(container_cpu_usage_seconds_total{pod=~"pve-network-rs-green-.*",container!=""}[1m])) / sum(kube_pod_container_resource_requests{pod=~"pve-network-rs-green-.*",resource="cpu"})',
                120,
                30,
            ),
            0.95,
            120,
        ],
        [
            "memory",
            'min_over_time((sum(container_memory_working_set_bytes{pod=~"pve-network-rs-green-.*",container!=""}) / sum(kube_pod_container_resource_limits{pod=~"pve-network-rs-green-.*",resource="memory"}))[120s:30s])',
            0.9,
            120,
        ],
    ]);
});

test("verdicts: above its threshold holds, at it does not; health below 1 holds; no data holds only for health", () => {
    const [health, fallback, latency] = nodeTriggers(rb(), "pve1", 0.8);
    expect([judge(fallback, 0).holds, judge(fallback, 0.01).holds, judge(fallback, undefined).holds]).toEqual([false, true, false]);
    expect([judge(latency, 0.8).holds, judge(latency, 0.8001).holds, judge(latency, NaN).holds]).toEqual([false, true, false]);
    expect([judge(health, 1).holds, judge(health, 0).holds, judge(health, undefined)]).toEqual([
        false,
        true,
        { name: "health", subject: "pve1", query: health.query, value: null, threshold: 1, direction: "below", windowSeconds: 180, holds: true },
    ]);
});
