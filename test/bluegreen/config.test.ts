import { ConfigError } from "../../components/config/schema";
import { BlueGreenConfig, parseBlueGreenConfig, quantity } from "../../components/bluegreen";
import { edited, exampleBlueGreen } from "./helpers";

const canary = exampleBlueGreen("canary-a");

function errorsOf(raw: unknown): string[] {
    try {
        parseBlueGreenConfig(raw);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).errors;
    }
    throw new Error("expected a ConfigError");
}

describe("parseBlueGreenConfig", () => {
    test("canary-a example: every default filled in", () => {
        const expected: BlueGreenConfig = {
            namespace: "pve-network-canary",
            appName: "pve-network-rs",
            chart: { path: "charts/pve-network-rs" },
            image: { repository: "registry.example.com/pve/pve-network-rs", pullPolicy: "IfNotPresent" },
            activeColor: "blue",
            releases: {
                blue: { version: "0.4.2", imageTag: "0.4.2", replicas: 1 },
                green: { version: "0.5.0", imageTag: "0.5.0", replicas: 1 },
            },
            idleScaleDownAfterSeconds: 1800,
            rollback: {
                enabled: true,
                automatic: true,
                triggers: { healthCheckFailures: 3, errorRateThreshold: 0.1, responseTimeThreshold: 5000 },
                cooldownPeriod: 300,
                maximumRetries: 5,
            },
            health: { livenessPath: "/health/live", readinessPath: "/health/ready", port: 8080, periodSeconds: 10, failureThreshold: 3 },
            servicePort: 80,
            resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "500m", memory: "256Mi" } },
            helmTimeoutSeconds: 300,
        };
        expect(parseBlueGreenConfig(canary)).toEqual(expected);
    });

    test("its own output parses to the same value (the component validates again)", () => {
        const once = parseBlueGreenConfig(exampleBlueGreen("prod"));
        expect(parseBlueGreenConfig(once)).toEqual(once);
    });

    test("the message lists every problem, one per line, each with its key", () => {
        const bad = edited(canary, (c) => {
            delete c.namespace;
            c.releases.green.replicas = -1;
        });
        expect(() => parseBlueGreenConfig(bad)).toThrow(
            "invalid stack config:\n" + "  pve-migration:blueGreen.namespace: required\n" + "  pve-migration:blueGreen.releases.green.replicas: must be >= 0",
        );
    });

    const cases: [string, unknown, string[]][] = [
        ["not an object", "blue", ["pve-migration:blueGreen: must be an object (namespace, image, activeColor, releases, ...)"]],
        ["absent", undefined, ["pve-migration:blueGreen: must be an object (namespace, image, activeColor, releases, ...)"]],
        ["missing namespace", edited(canary, (c) => delete c.namespace), ["pve-migration:blueGreen.namespace: required"]],
        [
            "namespace not a DNS label",
            edited(canary, (c) => (c.namespace = "PVE_net")),
            ["pve-migration:blueGreen.namespace: must be a Kubernetes namespace name (DNS label)"],
        ],
        ["unknown color", edited(canary, (c) => (c.activeColor = "red")), ['pve-migration:blueGreen.activeColor: must be blue or green (got "red")']],
        ["missing activeColor", edited(canary, (c) => delete c.activeColor), ["pve-migration:blueGreen.activeColor: required"]],
        ["negative replica count", edited(canary, (c) => (c.releases.green.replicas = -1)), ["pve-migration:blueGreen.releases.green.replicas: must be >= 0"]],
        ["string replica count", edited(canary, (c) => (c.releases.blue.replicas = "3")), ["pve-migration:blueGreen.releases.blue.replicas: must be a number"]],
        [
            "fractional replica count",
            edited(canary, (c) => (c.releases.blue.replicas = 1.5)),
            ["pve-migration:blueGreen.releases.blue.replicas: must be an integer"],
        ],
        ["both colors absent", edited(canary, (c) => (c.releases = {})), ["pve-migration:blueGreen.releases: must configure blue, green or both"]],
        ["releases missing", edited(canary, (c) => delete c.releases), ["pve-migration:blueGreen.releases: required (blue, green or both)"]],
        [
            "active color without release",
            edited(canary, (c) => {
                c.activeColor = "green";
                delete c.releases.green;
            }),
            ["pve-migration:blueGreen.activeColor: green has no release (pve-migration:blueGreen.releases.green is not set)"],
        ],
        [
            "active color with zero replicas",
            edited(canary, (c) => (c.releases.blue.replicas = 0)),
            ["pve-migration:blueGreen.releases.blue.replicas: must be >= 1 for the active color (blue)"],
        ],
        [
            "version as a YAML number",
            edited(canary, (c) => (c.releases.green.version = 1.0)),
            ["pve-migration:blueGreen.releases.green.version: must be a string (quote versions in YAML: '1.0')"],
        ],
        ["unknown key", edited(canary, (c) => (c.releases.blue.tag = "x")), ["pve-migration:blueGreen.releases.blue: unknown key(s) tag"]],
        [
            "rollback target removed",
            edited(canary, (c) => {
                c.activeColor = "green";
                c.lastFlip = { at: "2025-06-01T10:00:00Z", from: "blue", version: "0.4.2", imageTag: "0.4.2" };
                delete c.releases.blue;
            }),
            [
                "pve-migration:blueGreen.releases.blue: the idle color blue is the rollback target (a flip is recorded (lastFlip) and rollbackTarget is not set); keep its release or set pve-migration:blueGreen.rollbackTarget to false",
            ],
        ],
        [
            "rollback target at zero replicas",
            edited(canary, (c) => {
                c.rollbackTarget = true;
                c.releases.green.replicas = 0;
            }),
            [
                "pve-migration:blueGreen.releases.green.replicas: the idle color green is the rollback target (rollbackTarget is true) and must keep >= 1 replica; or set pve-migration:blueGreen.rollbackTarget to false",
            ],
        ],
        [
            "lastFlip time not UTC",
            edited(canary, (c) => (c.lastFlip = { at: "2025-06-01 10:00", from: "green", version: "0.5.0", imageTag: "0.5.0" })),
            ["pve-migration:blueGreen.lastFlip.at: must be a UTC time such as 2025-06-01T10:00:00Z"],
        ],
        [
            "chart path and repo together",
            edited(canary, (c) => (c.chart = { path: "charts/pve-network-rs", repo: "https://charts.example.com", name: "pve-network-rs", version: "1.0.0" })),
            ["pve-migration:blueGreen.chart: set either path, or repo + name + version, not both"],
        ],
        [
            "chart path outside the project",
            edited(canary, (c) => (c.chart = { path: "../elsewhere/chart" })),
            ['pve-migration:blueGreen.chart.path: must be a folder inside the project, relative to it (got "../elsewhere/chart")'],
        ],
        [
            "repository chart without version",
            edited(canary, (c) => (c.chart = { repo: "https://charts.example.com", name: "pve-network-rs" })),
            ["pve-migration:blueGreen.chart: set path, or repo + name + version (missing version)"],
        ],
        [
            "repository with credentials",
            edited(canary, (c) => (c.chart = { repo: "https://user:pw@charts.example.com", name: "pve-network-rs", version: "1.0.0" })),
            ["pve-migration:blueGreen.chart.repo: must be an https:// URL without credentials or an oci:// registry path"],
        ],
        [
            "chartVersion with a local chart",
            edited(canary, (c) => (c.releases.green.chartVersion = "1.1.0")),
            ["pve-migration:blueGreen.releases.green.chartVersion: only with a repository chart (chart.repo); a local chart's version is in its Chart.yaml"],
        ],
        [
            "request above limit",
            edited(canary, (c) => (c.resources = { requests: { memory: "1Gi" }, limits: { memory: "512Mi" } })),
            ["pve-migration:blueGreen.resources.requests.memory: 1Gi exceeds the limit 512Mi"],
        ],
        [
            "missing probe path",
            edited(canary, (c) => (c.health = { livenessPath: "" })),
            ["pve-migration:blueGreen.health.livenessPath: must be an absolute URL path"],
        ],
        [
            "same path for both probes",
            edited(canary, (c) => (c.health = { readinessPath: "/health/live" })),
            ["pve-migration:blueGreen.health.readinessPath: must differ from health.livenessPath (/health/live)"],
        ],
        [
            "error rate above 1",
            edited(canary, (c) => (c.rollback = { triggers: { errorRateThreshold: 10 } })),
            ["pve-migration:blueGreen.rollback.triggers.errorRateThreshold: must be <= 1"],
        ],
        [
            "app name too long for a Helm release",
            edited(canary, (c) => (c.appName = "a".repeat(48))),
            ["pve-migration:blueGreen.appName: must be at most 47 characters (Helm release names are at most 53)"],
        ],
        [
            "image with a tag",
            edited(canary, (c) => (c.image.repository = "registry.example.com/pve/pve-network-rs:0.4.2")),
            ["pve-migration:blueGreen.image.repository: must be an image repository such as registry.example.com/pve/pve-network-rs (no tag)"],
        ],
    ];
    test.each(cases)("%s", (_name, raw, expected) => {
        expect(errorsOf(raw)).toEqual(expected);
    });
});

describe("quantity", () => {
    test.each([
        ["250m", 0.25],
        ["1", 1],
        ["1.5", 1.5],
        ["128Mi", 128 * 1024 * 1024],
        ["1Gi", 1024 ** 3],
        ["1G", 1e9],
        ["512k", 512000],
    ])("%s = %d", (q, v) => {
        expect(quantity(q)).toBe(v);
    });
    test("refuses an unknown suffix", () => {
        expect(() => quantity("1Xi")).toThrow("not a quantity: 1Xi");
    });
});
