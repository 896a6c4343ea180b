/**
 * The chart rendered by a real Helm (test/support/helm.ts: `helm lint` and `helm template` on the
 * local chart, no cluster, no network) with exactly the values the program passes to each
 * color's helm.v3.Release: planBlueGreen, the pure function BlueGreenRelease registers from,
 * for every stack in stacks/ that sets pve-migration:blueGreen. The rendered objects are
 * compared with literal expectations, and the selectors of the two Services the program itself
 * registers (Pulumi resources, not chart templates; recorded under the SDK's mock runtime) are
 * matched against the labels of the rendered pods.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import * as pulumi from "@pulumi/pulumi";
import type * as BlueGreen from "../../components/bluegreen";
import { Manifest, helmLint, helmTemplate } from "../support/helm";
import { CHART_DIR, PROJECT_DIR, record } from "./helpers";

let bg: typeof BlueGreen;
beforeAll(async () => {
    // Mocks first, then the program's modules (as in component.test.ts).
    await pulumi.runtime.setMocks(
        {
            newResource: () => {
                throw new Error("no resource expected before the first test");
            },
            call: (a) => {
                throw new Error(`unmocked call ${a.token}`);
            },
        },
        "pve-network-migration",
        "test",
        false,
    );
    bg = await import("../../components/bluegreen");
});

const NOW = new Date("2025-06-01T10:00:00Z");
const STACKS_DIR = path.join(PROJECT_DIR, "stacks");

/** The raw pve-migration:blueGreen of every stack file that has one, by stack name. */
function stacksWithBlueGreen(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const f of fs.readdirSync(STACKS_DIR).sort()) {
        const m = /^Pulumi\.(.+)\.yaml$/.exec(f);
        if (!m) continue;
        const bgRaw = YAML.parse(fs.readFileSync(path.join(STACKS_DIR, f), "utf8"))?.config?.["pve-migration:blueGreen"];
        if (bgRaw !== undefined) out[m[1]] = bgRaw;
    }
    return out;
}
const STACKS = stacksWithBlueGreen();

/** What each example stack must render, written out by hand from the stack files. */
interface Expected {
    namespace: string;
    activeColor: "blue" | "green";
    colors: Record<"blue" | "green", { version: string; image: string; replicas: number }>;
    containerPort: number;
    servicePort: number;
    resources: { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } };
}
const EXPECTED: Record<string, Expected> = {
    "canary-a": {
        namespace: "pve-network-canary",
        activeColor: "blue",
        colors: {
            blue: { version: "0.4.2", image: "registry.example.com/pve/pve-network-rs:0.4.2", replicas: 1 },
            green: { version: "0.5.0", image: "registry.example.com/pve/pve-network-rs:0.5.0", replicas: 1 },
        },
        containerPort: 8080,
        servicePort: 80,
        // The schema's defaults: canary-a sets no resources.
        resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
    },
    prod: {
        namespace: "pve-network",
        activeColor: "blue",
        colors: {
            blue: { version: "0.4.2", image: "registry.example.com/pve/pve-network-rs:0.4.2", replicas: 3 },
            green: { version: "0.4.2", image: "registry.example.com/pve/pve-network-rs:0.4.2", replicas: 3 },
        },
        containerPort: 8080,
        servicePort: 80,
        resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "512Mi" } },
    },
};

function labels(color: string, version: string): Record<string, string> {
    return {
        "helm.sh/chart": "pve-network-rs-0.1.0",
        "app.kubernetes.io/name": "pve-network-rs",
        "app.kubernetes.io/instance": `pve-network-rs-${color}`,
        "app.kubernetes.io/version": version,
        "app.kubernetes.io/part-of": "pve-network-rs",
        "app.kubernetes.io/managed-by": "Helm",
        color,
    };
}

function selectorLabels(color: string): Record<string, string> {
    return {
        "app.kubernetes.io/name": "pve-network-rs",
        "app.kubernetes.io/instance": `pve-network-rs-${color}`,
        "app.kubernetes.io/part-of": "pve-network-rs",
        color,
    };
}

/** The three objects one color's release must render, in Helm's install order. */
function expectedManifests(e: Expected, color: "blue" | "green", replicas: number): Manifest[] {
    const c = e.colors[color];
    const meta = (name: string) => ({ name, namespace: e.namespace, labels: labels(color, c.version) });
    return [
        {
            apiVersion: "v1",
            kind: "ConfigMap",
            metadata: meta(`pve-network-rs-${color}-rollback`),
            data: {
                "rollback.yaml":
                    "rollback:\n  automatic: true\n  cooldownPeriod: 300\n  enabled: true\n  maximumRetries: 5\n  triggers:\n" +
                    "  - healthCheckFailures: 3\n  - errorRateThreshold: 0.1\n  - responseTimeThreshold: 5000\n",
            },
        },
        {
            apiVersion: "v1",
            kind: "Service",
            metadata: meta(`pve-network-rs-${color}`),
            spec: {
                type: "ClusterIP",
                selector: selectorLabels(color),
                ports: [{ name: "http", port: e.servicePort, targetPort: "http", protocol: "TCP" }],
            },
        },
        {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: meta(`pve-network-rs-${color}`),
            spec: {
                replicas,
                revisionHistoryLimit: 5,
                strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
                selector: { matchLabels: selectorLabels(color) },
                template: {
                    metadata: { labels: labels(color, c.version) },
                    spec: {
                        containers: [
                            {
                                name: "pve-network-rs",
                                image: c.image,
                                imagePullPolicy: "IfNotPresent",
                                env: [{ name: "PVE_NETWORK_RS_COLOR", value: color }],
                                ports: [{ name: "http", containerPort: e.containerPort, protocol: "TCP" }],
                                livenessProbe: { httpGet: { path: "/health/live", port: "http" }, periodSeconds: 10, failureThreshold: 3 },
                                readinessProbe: { httpGet: { path: "/health/ready", port: "http" }, periodSeconds: 10, failureThreshold: 3 },
                                resources: e.resources,
                                securityContext: { allowPrivilegeEscalation: false },
                            },
                        ],
                    },
                },
            },
        },
    ];
}

/** `helm template` of every release of a plan, by color. */
function renderPlan(plan: BlueGreen.BlueGreenPlan): Partial<Record<"blue" | "green", Manifest[]>> {
    const out: Partial<Record<"blue" | "green", Manifest[]>> = {};
    for (const r of plan.releases) {
        // The Release's chart input is "./charts/pve-network-rs", relative to the project folder.
        out[r.color] = helmTemplate({ releaseName: r.releaseName, chartDir: path.join(PROJECT_DIR, r.chart), namespace: plan.namespace, values: r.values });
    }
    return out;
}

/** Does `selector` select an object with `labels` (every selector pair present)? */
function selects(selector: Record<string, string>, labelsOf: Record<string, string>): boolean {
    return Object.entries(selector).every(([k, v]) => labelsOf[k] === v);
}

const podsOf = (ms: Manifest[]) => ms.find((m) => m.kind === "Deployment")!.spec.template;

test("the example stacks with blueGreen are canary-a and prod", () => {
    expect(Object.keys(STACKS)).toEqual(["canary-a", "prod"]);
});

describe("helm lint", () => {
    test("with the chart's own values.yaml: fails only on image.repository, which values.yaml leaves empty on purpose", () => {
        // values.yaml has no image repository so that a release the stack does not configure
        // fails the schema check instead of pulling a wrong image (see the comment in values.yaml).
        const r = helmLint(CHART_DIR);
        const pattern = "^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)+$";
        expect(r.status).toBe(1);
        expect(r.stdout).toBe(
            `==> Linting ${CHART_DIR}\n` +
                "[INFO] Chart.yaml: icon is recommended\n" +
                `[ERROR] values.yaml: - image.repository: Does not match pattern '${pattern}'\n\n` +
                "[ERROR] templates/: values don't meet the specifications of the schema(s) in the following chart(s):\n" +
                `pve-network-rs:\n- image.repository: Does not match pattern '${pattern}'\n\n\n`,
        );
        expect(r.stderr).toBe("Error: 1 chart(s) linted, 1 chart(s) failed\n");
    });

    test("with only image.repository set over values.yaml: passes", () => {
        const r = helmLint(CHART_DIR, { image: { repository: "registry.example.com/pve/pve-network-rs" } });
        expect([r.status, r.stdout, r.stderr]).toEqual([
            0,
            `==> Linting ${CHART_DIR}\n[INFO] Chart.yaml: icon is recommended\n\n1 chart(s) linted, 0 chart(s) failed\n`,
            "",
        ]);
    });

    test.each(Object.keys(EXPECTED))("%s: passes with the values of each color's release", (stack) => {
        const plan = bg.planBlueGreen(bg.parseBlueGreenConfig(STACKS[stack]), NOW);
        expect(plan.releases.map((r) => r.color)).toEqual(["blue", "green"]);
        for (const r of plan.releases) {
            const res = helmLint(CHART_DIR, r.values);
            expect([r.color, res.status, res.stdout]).toEqual([
                r.color,
                0,
                `==> Linting ${CHART_DIR}\n[INFO] Chart.yaml: icon is recommended\n\n1 chart(s) linted, 0 chart(s) failed\n`,
            ]);
        }
    });

    test("a value the schema refuses fails lint with Helm's own message (replicaCount as a string)", () => {
        const plan = bg.planBlueGreen(bg.parseBlueGreenConfig(STACKS.prod), NOW);
        const res = helmLint(CHART_DIR, { ...plan.releases[0].values, replicaCount: "3" });
        expect(res.status).toBe(1);
        const why = "- replicaCount: Invalid type. Expected: integer, given: string";
        expect(res.stdout).toBe(
            `==> Linting ${CHART_DIR}\n[INFO] Chart.yaml: icon is recommended\n[ERROR] values.yaml: ${why}\n\n` +
                `[ERROR] templates/: values don't meet the specifications of the schema(s) in the following chart(s):\npve-network-rs:\n${why}\n\n\n`,
        );
    });
});

describe("helm template with the values the program passes", () => {
    test.each(Object.keys(EXPECTED))("%s: each color renders exactly its ConfigMap, Service and Deployment", (stack) => {
        const e = EXPECTED[stack];
        const plan = bg.planBlueGreen(bg.parseBlueGreenConfig(STACKS[stack]), NOW);
        expect(plan.namespace).toBe(e.namespace);
        expect(plan.releases.map((r) => [r.releaseName, r.chart])).toEqual([
            ["pve-network-rs-blue", "./charts/pve-network-rs"],
            ["pve-network-rs-green", "./charts/pve-network-rs"],
        ]);
        const rendered = renderPlan(plan);
        expect(rendered.blue).toEqual(expectedManifests(e, "blue", e.colors.blue.replicas));
        expect(rendered.green).toEqual(expectedManifests(e, "green", e.colors.green.replicas));
    });

    test.each(Object.keys(EXPECTED))("%s: each Deployment's selector matches its own pods and not the other color's", (stack) => {
        const rendered = renderPlan(bg.planBlueGreen(bg.parseBlueGreenConfig(STACKS[stack]), NOW));
        for (const [color, other] of [
            ["blue", "green"],
            ["green", "blue"],
        ] as const) {
            const dep = rendered[color]!.find((m) => m.kind === "Deployment")!;
            const svc = rendered[color]!.find((m) => m.kind === "Service")!;
            expect([
                selects(dep.spec.selector.matchLabels, podsOf(rendered[color]!).metadata.labels),
                selects(dep.spec.selector.matchLabels, podsOf(rendered[other]!).metadata.labels),
            ]).toEqual([true, false]);
            expect([
                selects(svc.spec.selector, podsOf(rendered[color]!).metadata.labels),
                selects(svc.spec.selector, podsOf(rendered[other]!).metadata.labels),
            ]).toEqual([true, false]);
        }
    });

    test("prod after a flip to green, rollback target released and the delay passed: blue renders 0 replicas, green 3", () => {
        const raw = bg.applyColorFragment(STACKS.prod, {
            activeColor: "green",
            lastFlip: { at: "2025-06-01T10:00:00Z", from: "blue", version: "0.4.2", imageTag: "0.4.2" },
            rollbackTarget: false,
        });
        const cfg = bg.parseBlueGreenConfig(raw);
        // 3600 s (prod's idleScaleDownAfterSeconds) after the flip: the plan scales blue down.
        const later = new Date("2025-06-01T11:00:00Z");
        expect(bg.effectiveReplicas(cfg, later)).toEqual({ green: 3, blue: 0 });
        const rendered = renderPlan(bg.planBlueGreen(cfg, later));
        expect(rendered.blue).toEqual(expectedManifests(EXPECTED.prod, "blue", 0));
        expect(rendered.green).toEqual(expectedManifests(EXPECTED.prod, "green", 3));
        // One second earlier blue still runs its 3 replicas.
        const before = renderPlan(bg.planBlueGreen(cfg, new Date("2025-06-01T10:59:59Z")));
        expect(before.blue).toEqual(expectedManifests(EXPECTED.prod, "blue", 3));
    });
});

describe("the active and preview Services the program registers select the rendered pods", () => {
    /** The Release values and Service inputs the component registers, under the SDK's mock runtime. */
    async function registered(raw: unknown, now: Date) {
        const regs = await record(() => {
            const c = new bg.BlueGreenRelease("bg", { config: bg.parseBlueGreenConfig(raw), kubeconfig: "apiVersion: v1\n", now, projectDir: PROJECT_DIR });
            return [c, ...Object.values(c.releases), c.activeService, ...(c.previewService ? [c.previewService] : [])];
        });
        const releases = regs.filter((r) => r.type === "kubernetes:helm.sh/v3:Release").map((r) => r.inputs);
        const services = regs.filter((r) => r.type === "kubernetes:core/v1:Service").map((r) => r.inputs);
        return { releases, services };
    }

    test.each(Object.keys(EXPECTED))("%s: the registered Release values are planBlueGreen's, so the rendering above is the program's", async (stack) => {
        const plan = bg.planBlueGreen(bg.parseBlueGreenConfig(STACKS[stack]), NOW);
        const { releases } = await registered(STACKS[stack], NOW);
        expect(releases.map((r) => ({ name: r.name, namespace: r.namespace, chart: r.chart, values: r.values }))).toEqual(
            plan.releases.map((r) => ({ name: r.releaseName, namespace: plan.namespace, chart: r.chart, values: r.values })),
        );
    });

    const cases: [string, string, "blue" | "green", (raw: unknown) => unknown][] = [
        ["canary-a", "as configured", "blue", (raw) => raw],
        ["prod", "as configured", "blue", (raw) => raw],
        ["prod", "after a flip to green", "green", (raw) => bg.applyColorFragment(raw, bg.flipColor(bg.parseBlueGreenConfig(raw), NOW).fragment)],
    ];
    test.each(cases)(
        "%s %s: pve-network-rs selects exactly the %s pods, pve-network-rs-preview the other color's, on their named port",
        async (stack, _what, active, change) => {
            const raw = change(STACKS[stack]);
            const e = EXPECTED[stack];
            const cfg = bg.parseBlueGreenConfig(raw);
            const { services } = await registered(raw, NOW);
            const rendered = renderPlan(bg.planBlueGreen(cfg, NOW));
            const idle = active === "blue" ? "green" : "blue";
            expect(services.map((s) => [s.metadata.name, s.metadata.namespace])).toEqual([
                ["pve-network-rs", e.namespace],
                ["pve-network-rs-preview", e.namespace],
            ]);
            for (const [svc, color] of [
                [services[0], active],
                [services[1], idle],
            ] as const) {
                const selected = (["blue", "green"] as const).filter((c) => selects(svc.spec.selector, podsOf(rendered[c]!).metadata.labels));
                expect([svc.metadata.name, selected]).toEqual([svc.metadata.name, [color]]);
                // targetPort "http" is the name of the pods' container port.
                const container = podsOf(rendered[color]!).spec.containers[0];
                expect(svc.spec.ports).toEqual([{ name: "http", port: e.servicePort, targetPort: "http", protocol: "TCP" }]);
                expect(container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort])).toEqual([["http", e.containerPort]]);
            }
        },
    );
});
