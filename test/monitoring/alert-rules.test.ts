/**
 * Alert rules deployed with the stack: config errors, the rules step on a sandbox monitoring
 * host with the real promtool, and what the program registers (rules file over SSH, or a
 * PrometheusRule through the blue-green Kubernetes provider).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigError, parseStackConfig } from "../../components/config/schema";
import { monitoringHost, parseMonitoringConfig, rulesStepArgs } from "../../components/monitoring";
import { renderAlertRulesYaml } from "../../components/gates/rules";
import { run } from "../../components/program";
import { parseStepCommandLine, renderStepScript, stepCommandLine } from "../../components/scripts";
import { installMocks, setStackConfig, settleTree } from "../support/mocks";
import { requireTools } from "../support/tools";

requireTools("promtool");

const SHA = "873668e63f5e47ba54045e70565b7ff320e94dc9769f94e14c38b78a4a68db2a";
const HOSTKEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMonitoringHostKey";
function values(monitoring: unknown, extra: Record<string, string> = {}): Record<string, string> {
    return {
        cluster: "pve-west",
        phase: "rust-read-only",
        perlApi: JSON.stringify({ baseUrl: "https://pve-west.example.internal:8006" }),
        package: JSON.stringify({ version: "0.4.2-1", sha256: SHA, url: "https://apt.example.internal/p.deb" }),
        nodes: JSON.stringify([{ name: "pve1", address: "10.30.0.11", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINode1" }]),
        sshPrivateKeys: JSON.stringify({ default: "-----BEGIN OPENSSH PRIVATE KEY-----\nk\n-----END OPENSSH PRIVATE KEY-----\n" }),
        monitoring: JSON.stringify(monitoring),
        ...extra,
    };
}
const cfgOf = (v: Record<string, string>) => parseStackConfig({ values: v, secretKeys: new Set(["sshPrivateKeys", "kubeconfig"]), stack: "prod", projectDir: "/" });
const errorsOf = (monitoring: unknown) => {
    const v = values(monitoring);
    try {
        parseMonitoringConfig(JSON.parse(v.monitoring), cfgOf(v));
    } catch (e) {
        return (e as ConfigError).errors;
    }
    throw new Error("expected an error");
};
const fileTarget = { host: { name: "mon1", address: "10.30.0.5", hostKey: HOSTKEY } };

describe("pve-migration:monitoring", () => {
    test.each([
        ["no target", { alerts: { perlBaselineSeconds: 0.8 } }, ["pve-migration:monitoring: set rulesFile, prometheusRule or both"]],
        ["no baseline", { alerts: {}, rulesFile: fileTarget }, ["pve-migration:monitoring.alerts.perlBaselineSeconds: Required"]],
        [
            "PrometheusRule without Kubernetes",
            { alerts: { perlBaselineSeconds: 0.8 }, prometheusRule: { namespace: "monitoring" } },
            ["pve-migration:monitoring.prometheusRule: needs pve-migration:blueGreen (its Kubernetes provider and cluster)"],
        ],
        [
            "monitoring host without address or host key",
            { alerts: { perlBaselineSeconds: 0.8 }, rulesFile: { host: { name: "mon1" } } },
            [
                "pve-migration:monitoring.rulesFile.host.address: required with transport ssh",
                "pve-migration:monitoring.rulesFile.host.hostKey: required with transport ssh (host keys are pinned)",
            ],
        ],
        [
            "a path with ..",
            { alerts: { perlBaselineSeconds: 0.8 }, rulesFile: { ...fileTarget, path: "/etc/../x.yml" } },
            ["pve-migration:monitoring.rulesFile.path: must be an absolute path without '..'"],
        ],
        [
            "unknown key",
            { alerts: { perlBaselineSeconds: 0.8 }, rulesFile: fileTarget, grafana: true },
            ["pve-migration:monitoring: Unrecognized key(s) in object: 'grafana'"],
        ],
    ])("%s", (_n, monitoring, expected) => {
        expect(errorsOf(monitoring)).toEqual(expected);
    });
});

describe("pve-migration:monitoring.rulesFile.host.address: validated exactly as the nodes' addresses (one validator)", () => {
    const nodeErrors = (address: string) => {
        try {
            cfgOf(
                values(
                    { alerts: { perlBaselineSeconds: 0.8 }, rulesFile: fileTarget },
                    { nodes: JSON.stringify([{ name: "pve1", address, hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINode1" }]) },
                ),
            );
            return [];
        } catch (e) {
            return (e as ConfigError).errors;
        }
    };
    const monitoringErrors = (address: string) => {
        const v = values({ alerts: { perlBaselineSeconds: 0.8 }, rulesFile: { host: { name: "mon1", address, hostKey: HOSTKEY } } });
        try {
            parseMonitoringConfig(JSON.parse(v.monitoring), cfgOf(v));
            return [];
        } catch (e) {
            return (e as ConfigError).errors;
        }
    };
    const refused = [
        "-oProxyCommand=touch /tmp/x",
        "-p2222",
        "10.30.0.5\n-oProxyCommand=x",
        "mon1.example.internal\n",
        " 10.30.0.5",
        "10.30.0.5;reboot",
        "$(reboot)",
        "mon1 -oX",
        "fe80::1%eth0",
        "fe80::1%-oProxyCommand",
        ":::::",
        "1.2.3.4.5:",
        "",
        "a".repeat(64) + ".example",
        "-mon1",
    ];
    test.each(refused.map((a) => [JSON.stringify(a), a]))("%s is refused for the monitoring host as for a node", (_n, address) => {
        expect(monitoringErrors(address)).toEqual(["pve-migration:monitoring.rulesFile.host.address: must be an IPv4 or IPv6 address or a DNS name"]);
        expect(nodeErrors(address)).toEqual(["pve-migration:nodes[0].address: must be an IPv4 or IPv6 address or a DNS name"]);
    });
    const accepted = ["10.30.0.5", "fd00::5", "::1", "2001:db8::10.0.0.1", "mon1", "mon-1.example.internal", "a".repeat(63) + ".example"];
    test.each(accepted.map((a) => [a]))("%s is accepted for both", (address) => {
        expect(monitoringErrors(address)).toEqual([]);
        expect(nodeErrors(address)).toEqual([]);
    });
});

describe("the rules step on a sandbox monitoring host, with the real promtool", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pve-mon-"));
    const host = { name: "mon1", port: 22, sshUser: "root", sshKey: "default", root: path.join(dir, "mon1") };
    fs.mkdirSync(host.root);
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const runRules = (content: string) =>
        spawnSync(
            "/bin/sh",
            ["-c", stepCommandLine(rulesStepArgs(host, "/etc/prometheus/rules/pve.yml", content, true, ["systemctl", "reload", "prometheus"]), { step: "rules" })],
            {
                input: renderStepScript("rules"),
                encoding: "utf8",
            },
        );
    const live = path.join(host.root, "etc/prometheus/rules/pve.yml");
    const good = renderAlertRulesYaml({ perlBaselineSeconds: 0.8, phase: "rust-read-only" });

    test("installs checked rules, then says unchanged", () => {
        const first = runRules(good);
        expect(first.status).toBe(0);
        expect(first.stdout).toMatch(
            / node=mon1 from=- to=- step=rules result=changed detail=installed \/etc\/prometheus\/rules\/pve.yml; reload skipped: sandbox\n$/,
        );
        expect(fs.readFileSync(live, "utf8")).toBe(good);
        expect(spawnSync("promtool", ["check", "rules", live]).status).toBe(0);
        const second = runRules(good);
        expect(second.stdout).toMatch(/result=unchanged detail=\/etc\/prometheus\/rules\/pve.yml up to date\n$/);
    });

    test("rules that promtool rejects never replace the live file", () => {
        const bad = good.replace("increase(pve_network_fallback_total[5m]) > 0", "increase(pve_network_fallback_total[5m] > 0");
        expect(bad).not.toBe(good);
        const r = runRules(bad);
        expect(r.status).toBe(65);
        expect(r.stderr).toMatch(/^pve-migration rules on mon1: promtool check rules failed, not installed: /);
        expect(fs.readFileSync(live, "utf8")).toBe(good);
    });
});

describe("what the program registers", () => {
    test("a rules file on the monitoring host over SSH, in parallel with the node steps", async () => {
        const records = await installMocks({});
        const v = values({ alerts: { perlBaselineSeconds: 0.8 }, rulesFile: fileTarget });
        setStackConfig(v, ["sshPrivateKeys"]);
        const r = await run({ projectDir: "/", now: new Date("2026-11-21T12:00:00Z") });
        await settleTree(r.resources);
        const comp = records.find((x) => x.name === "pve-west-alert-rules");
        expect([comp?.type, comp?.parent]).toEqual(["pve-migration:monitoring:AlertRules", ""]);
        const file = records.find((x) => x.name === "pve-west-alert-rules-file")!;
        expect([file.type, file.parent, file.dependsOn]).toEqual(["command:remote:Command", "pve-west-alert-rules", []]);
        expect(file.inputs.stdin).toBe(renderStepScript("rules"));
        const expectedYaml = renderAlertRulesYaml({ perlBaselineSeconds: 0.8, labels: { stack: "test" }, phase: "rust-read-only" });
        expect(parseStepCommandLine(file.inputs.create)).toEqual(
            rulesStepArgs(
                monitoringHost(cfgOf(v), parseMonitoringConfig(JSON.parse(v.monitoring), cfgOf(v))),
                "/etc/prometheus/rules/pve-network-migration.yml",
                expectedYaml,
                true,
                ["systemctl", "reload", "prometheus"],
            ),
        );
        expect(file.inputs.connection.value.host).toBe("10.30.0.5");
        expect(file.inputs.connection.value.hostKey).toBe(HOSTKEY);
    });

    test("a PrometheusRule through the blue-green stack's Kubernetes provider", async () => {
        const bg = {
            namespace: "pve-network",
            image: { repository: "registry.example.com/pve/pve-network-rs" },
            activeColor: "blue",
            releases: { blue: { version: "0.4.2", imageTag: "0.4.2", replicas: 2 } },
        };
        const records = await installMocks({});
        setStackConfig(
            {
                ...values({ alerts: { perlBaselineSeconds: 0.8 }, prometheusRule: { namespace: "monitoring", labels: { release: "kube-prometheus-stack" } } }),
                blueGreen: JSON.stringify(bg),
                kubeconfig: "apiVersion: v1\nkind: Config\n",
            },
            ["sshPrivateKeys", "kubeconfig"],
        );
        const r = await run({ projectDir: path.resolve(__dirname, "../.."), now: new Date("2026-11-21T12:00:00Z") });
        await settleTree(r.resources);
        const rule = records.find((x) => x.name === "pve-west-alert-rules-prometheus-rule")!;
        expect(rule.type).toBe("kubernetes:monitoring.coreos.com/v1:PrometheusRule");
        expect(rule.inputs.metadata).toEqual({
            name: "pve-network-migration",
            namespace: "monitoring",
            labels: { "app.kubernetes.io/name": "pve-network-migration", "app.kubernetes.io/component": "alert-rules", release: "kube-prometheus-stack" },
        });
        expect(rule.inputs.spec.groups[0].rules.map((x: { alert: string }) => x.alert)).toEqual([
            "PveNetworkFallback",
            "PveNetworkApplyLatencyAboveBaseline",
            "PveNetworkRustDaemonDown",
            "PveNetworkMigrationMiddlewareDown",
            "PveNetworkMetricsDown",
        ]);
    });
});
