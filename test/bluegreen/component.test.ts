/**
 * BlueGreenRelease under the mock runtime: exact registrations, and the exact difference between
 * the registrations of two configs (flip, version bump, scale-down after the delay).
 */
import * as pulumi from "@pulumi/pulumi";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import type * as BlueGreen from "../../components/bluegreen";
import { PROJECT_DIR, Registration, diffRuns, edited, exampleBlueGreen, record, recordFailure, urnOf } from "./helpers";

let bg: typeof BlueGreen;

beforeAll(async () => {
    // Mocks first, then the program's modules.
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

const KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n";
const T = "2025-06-01T10:00:00Z";
const at = (seconds: number) => new Date(Date.parse(T) + seconds * 1000);
const COMPONENT = "pve-migration:k8s:BlueGreenRelease";
const PARENT = urnOf(COMPONENT, "bg");
const PROVIDER_REF = `${urnOf("pulumi:providers:kubernetes", "bg-provider", COMPONENT)}::bg-provider-id`;
const RELEASE = "kubernetes:helm.sh/v3:Release";
const SERVICE = "kubernetes:core/v1:Service";

/** Register the component for a raw blueGreen config at time `now`. */
function run(raw: unknown, now: Date): Promise<Registration[]> {
    return record(() => {
        const c = new bg.BlueGreenRelease("bg", { config: raw as BlueGreen.BlueGreenConfig, kubeconfig: KUBECONFIG, now, projectDir: PROJECT_DIR });
        return [c, c.provider, ...Object.values(c.releases), c.activeService, ...(c.previewService ? [c.previewService] : [])];
    });
}

const prodRaw = exampleBlueGreen("prod");
const flip = (raw: unknown, now: Date) => bg.applyColorFragment(raw, bg.flipColor(bg.parseBlueGreenConfig(raw), now).fragment);
const hold = (raw: unknown, value: boolean) => bg.applyColorFragment(raw, bg.setRollbackTarget(bg.parseBlueGreenConfig(raw), value).fragment);

function prodValues(color: "blue" | "green", replicaCount: number) {
    return {
        color,
        partOf: "pve-network-rs",
        version: "0.4.2",
        replicaCount,
        image: { repository: "registry.example.com/pve/pve-network-rs", tag: "0.4.2", pullPolicy: "IfNotPresent" },
        containerPort: 8080,
        probes: {
            liveness: { path: "/health/live", periodSeconds: 10, failureThreshold: 3 },
            readiness: { path: "/health/ready", periodSeconds: 10, failureThreshold: 3 },
        },
        resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "512Mi" } },
        service: { enabled: true, port: 80 },
        rollback: {
            enabled: true,
            automatic: true,
            triggers: [{ healthCheckFailures: 3 }, { errorRateThreshold: 0.1 }, { responseTimeThreshold: 5000 }],
            cooldownPeriod: 300,
            maximumRetries: 5,
        },
    };
}

function prodService(role: "active" | "preview", color: string, annotations: Record<string, string>) {
    return {
        apiVersion: "v1",
        kind: "Service",
        metadata: {
            name: role === "active" ? "pve-network-rs" : "pve-network-rs-preview",
            namespace: "pve-network",
            labels: { "app.kubernetes.io/part-of": "pve-network-rs", "pve-migration/role": role },
            annotations,
        },
        spec: {
            type: "ClusterIP",
            selector: { "app.kubernetes.io/part-of": "pve-network-rs", color },
            ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
        },
    };
}

describe("registrations", () => {
    test("prod example: component, provider, two releases, active and preview Services, exactly", async () => {
        const regs = await run(prodRaw, at(0));
        const releaseInputs = (color: "blue" | "green") => ({
            name: `pve-network-rs-${color}`,
            namespace: "pve-network",
            chart: "./charts/pve-network-rs",
            values: prodValues(color, 3),
            atomic: true,
            cleanupOnFail: true,
            timeout: 300,
            maxHistory: 10,
            compat: "true",
        });
        const releaseUrns = [urnOf(RELEASE, "bg-blue", COMPONENT), urnOf(RELEASE, "bg-green", COMPONENT)];
        expect(regs).toEqual([
            { type: COMPONENT, name: "bg", inputs: {}, provider: "", parent: "", dependencies: [], custom: false },
            {
                type: "pulumi:providers:kubernetes",
                name: "bg-provider",
                inputs: { kubeconfig: { [specialSigKey]: specialSecretSig, value: KUBECONFIG }, namespace: "pve-network" },
                provider: "",
                parent: PARENT,
                dependencies: [],
                custom: true,
            },
            { type: RELEASE, name: "bg-blue", inputs: releaseInputs("blue"), provider: PROVIDER_REF, parent: PARENT, dependencies: [], custom: true },
            { type: RELEASE, name: "bg-green", inputs: releaseInputs("green"), provider: PROVIDER_REF, parent: PARENT, dependencies: [], custom: true },
            {
                type: SERVICE,
                name: "bg-active",
                inputs: prodService("active", "blue", {}),
                provider: PROVIDER_REF,
                parent: PARENT,
                dependencies: releaseUrns,
                custom: true,
            },
            {
                type: SERVICE,
                name: "bg-preview",
                inputs: prodService("preview", "green", { "pve-migration/rollback-target": "false" }),
                provider: PROVIDER_REF,
                parent: PARENT,
                dependencies: releaseUrns,
                custom: true,
            },
        ]);
    });

    test("the component's outputs name its children", async () => {
        let c!: BlueGreen.BlueGreenRelease;
        await record(() => {
            c = new bg.BlueGreenRelease("bg", { config: bg.parseBlueGreenConfig(prodRaw), kubeconfig: KUBECONFIG, now: at(0), projectDir: PROJECT_DIR });
            return [c, c.activeService];
        });
        expect(c.activeColor).toBe("blue");
        expect(Object.keys(c.releases)).toEqual(["blue", "green"]);
        const urns = await new Promise<string[]>((resolve) =>
            pulumi.all([c.releases.blue!.urn, c.releases.green!.urn, c.activeService.urn, c.previewService!.urn]).apply(resolve),
        );
        expect(urns).toEqual([
            urnOf(RELEASE, "bg-blue", COMPONENT),
            urnOf(RELEASE, "bg-green", COMPONENT),
            urnOf(SERVICE, "bg-active", COMPONENT),
            urnOf(SERVICE, "bg-preview", COMPONENT),
        ]);
    });

    test("one color only: no preview Service", async () => {
        const regs = await run(
            edited(prodRaw, (c: any) => delete c.releases.green),
            at(0),
        );
        expect(regs.map((r) => `${r.type}::${r.name}`)).toEqual([
            `${COMPONENT}::bg`,
            "pulumi:providers:kubernetes::bg-provider",
            `${RELEASE}::bg-blue`,
            `${SERVICE}::bg-active`,
        ]);
    });

    test("repository charts: https repo with a per-color chart version, and oci", async () => {
        const https = edited(prodRaw, (c: any) => {
            c.chart = { repo: "https://charts.example.com/pve", name: "pve-network-rs", version: "1.2.0" };
            c.releases.green.chartVersion = "1.3.0";
        });
        const regs = await run(https, at(0));
        const pick = (r: Registration) => ({ chart: r.inputs.chart, version: r.inputs.version, repositoryOpts: r.inputs.repositoryOpts });
        expect(regs.filter((r) => r.type === RELEASE).map(pick)).toEqual([
            { chart: "pve-network-rs", version: "1.2.0", repositoryOpts: { repo: "https://charts.example.com/pve" } },
            { chart: "pve-network-rs", version: "1.3.0", repositoryOpts: { repo: "https://charts.example.com/pve" } },
        ]);
        const oci = edited(prodRaw, (c: any) => (c.chart = { repo: "oci://registry.example.com/charts", name: "pve-network-rs", version: "1.2.0" }));
        const ociRegs = await run(oci, at(0));
        expect(ociRegs.filter((r) => r.type === RELEASE).map(pick)).toEqual([
            { chart: "oci://registry.example.com/charts/pve-network-rs", version: "1.2.0", repositoryOpts: undefined },
            { chart: "oci://registry.example.com/charts/pve-network-rs", version: "1.2.0", repositoryOpts: undefined },
        ]);
    });
});

describe("what changes between two configs", () => {
    test("first flip: only the Services change (selectors swap; the preview now holds the rollback target)", async () => {
        const before = await run(prodRaw, at(0));
        const after = await run(flip(prodRaw, at(0)), at(1));
        expect(diffRuns(before, after)).toEqual([
            `${SERVICE}::bg-active inputs.spec.selector.color: "blue" -> "green"`,
            `${SERVICE}::bg-preview inputs.metadata.annotations.pve-migration/rollback-target: "false" -> "true"`,
            `${SERVICE}::bg-preview inputs.spec.selector.color: "green" -> "blue"`,
        ]);
    });

    test("rollback (flip back while the old color is held): only the two Service selectors change", async () => {
        const promoted = edited(prodRaw, (c: any) => {
            c.releases.green.version = "0.5.0";
            c.releases.green.imageTag = "0.5.0";
        });
        const flipped = flip(promoted, at(0));
        const rolledBack = flip(flipped, at(300));
        const before = await run(flipped, at(300));
        const after = await run(rolledBack, at(300));
        expect(diffRuns(before, after)).toEqual([
            `${SERVICE}::bg-active inputs.spec.selector.color: "green" -> "blue"`,
            `${SERVICE}::bg-preview inputs.spec.selector.color: "blue" -> "green"`,
        ]);
    });

    test("version bump of the idle color: only that release changes", async () => {
        const bumped = edited(prodRaw, (c: any) => {
            c.releases.green.version = "0.5.0";
            c.releases.green.imageTag = "0.5.0";
        });
        expect(diffRuns(await run(prodRaw, at(0)), await run(bumped, at(0)))).toEqual([
            `${RELEASE}::bg-green inputs.values.image.tag: "0.4.2" -> "0.5.0"`,
            `${RELEASE}::bg-green inputs.values.version: "0.4.2" -> "0.5.0"`,
        ]);
    });

    describe("idle scale-down after the delay (prod: 3600 s)", () => {
        const flipped = () => flip(prodRaw, at(0));
        const released = () => hold(flipped(), false);

        test("releasing the rollback target changes only the preview annotation; replicas stay until the delay", async () => {
            expect(diffRuns(await run(flipped(), at(3599)), await run(released(), at(3599)))).toEqual([
                `${SERVICE}::bg-preview inputs.metadata.annotations.pve-migration/rollback-target: "true" -> "false"`,
            ]);
        });

        test("before the delay the idle release is unchanged; at the delay only its replicaCount goes to 0", async () => {
            const early = await run(released(), at(3599));
            expect(early.find((r) => r.name === "bg-blue")!.inputs.values.replicaCount).toBe(3);
            expect(diffRuns(early, await run(released(), at(3600)))).toEqual([`${RELEASE}::bg-blue inputs.values.replicaCount: 3 -> 0`]);
        });

        test("the result is stable after the delay (no perpetual diff)", async () => {
            expect(diffRuns(await run(released(), at(3600)), await run(released(), at(30 * 86400)))).toEqual([]);
        });

        test("never while it is the rollback target, however long", async () => {
            expect(diffRuns(await run(flipped(), at(0)), await run(flipped(), at(30 * 86400)))).toEqual([]);
        });

        test("deploying a new version to the scaled-down idle color brings it back: only that release changes", async () => {
            const next = edited(released(), (c: any) => {
                c.releases.blue.version = "0.6.0";
                c.releases.blue.imageTag = "0.6.0";
            });
            expect(diffRuns(await run(released(), at(7200)), await run(next, at(7200)))).toEqual([
                `${RELEASE}::bg-blue inputs.values.image.tag: "0.4.2" -> "0.6.0"`,
                `${RELEASE}::bg-blue inputs.values.replicaCount: 0 -> 3`,
                `${RELEASE}::bg-blue inputs.values.version: "0.4.2" -> "0.6.0"`,
            ]);
        });
    });
});

describe("bad input is refused before anything is registered", () => {
    const cases: [string, unknown, string][] = [
        ["missing namespace", edited(prodRaw, (c: any) => delete c.namespace), "invalid stack config:\n  pve-migration:blueGreen.namespace: required"],
        [
            "unknown color",
            edited(prodRaw, (c: any) => (c.activeColor = "purple")),
            'invalid stack config:\n  pve-migration:blueGreen.activeColor: must be blue or green (got "purple")',
        ],
        [
            "negative replica count",
            edited(prodRaw, (c: any) => (c.releases.green.replicas = -2)),
            "invalid stack config:\n  pve-migration:blueGreen.releases.green.replicas: must be >= 0",
        ],
        [
            "both colors absent",
            edited(prodRaw, (c: any) => (c.releases = {})),
            "invalid stack config:\n  pve-migration:blueGreen.releases: must configure blue, green or both",
        ],
        [
            "flipped to a color with no release",
            edited(prodRaw, (c: any) => {
                delete c.releases.green;
                c.activeColor = "green";
            }),
            "invalid stack config:\n  pve-migration:blueGreen.activeColor: green has no release (pve-migration:blueGreen.releases.green is not set)",
        ],
        [
            "flipped to a color with zero replicas",
            edited(prodRaw, (c: any) => {
                c.releases.green.replicas = 0;
                c.activeColor = "green";
            }),
            "invalid stack config:\n  pve-migration:blueGreen.releases.green.replicas: must be >= 1 for the active color (green)",
        ],
        [
            "local chart without Chart.yaml",
            edited(prodRaw, (c: any) => (c.chart = { path: "charts/no-such-chart" })),
            `invalid stack config:\n  pve-migration:blueGreen.chart.path: charts/no-such-chart has no Chart.yaml (looked for ${PROJECT_DIR}/charts/no-such-chart/Chart.yaml)`,
        ],
    ];
    test.each(cases)("%s", async (_name, raw, message) => {
        const { error, registrations } = await recordFailure(
            () => new bg.BlueGreenRelease("bg", { config: raw as BlueGreen.BlueGreenConfig, kubeconfig: KUBECONFIG, now: at(0), projectDir: PROJECT_DIR }),
        );
        expect(error.message).toBe(message);
        expect(registrations).toEqual([]);
    });
});
