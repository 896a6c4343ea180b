/**
 * BlueGreenRelease: two Helm releases of one chart (blue, green) behind an active Service and a
 * preview Service, on an explicit Kubernetes provider. Thin wiring over planBlueGreen.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { ConfigError } from "../config/schema";
import { BlueGreenConfig, Color, key, parseBlueGreenConfig } from "../config/bluegreen";
import { BlueGreenPlan, planBlueGreen } from "./plan";

export const BLUE_GREEN_TYPE = "pve-migration:k8s:BlueGreenRelease";

export interface BlueGreenReleaseArgs {
    /** The `pve-migration:blueGreen` config (parseBlueGreenConfig's result); validated again here. */
    readonly config: BlueGreenConfig;
    /** Kubeconfig contents from the secret `pve-migration:kubeconfig` (kept secret). */
    readonly kubeconfig: pulumi.Input<string>;
    /** The clock idle scale-down is decided against; default: the time of the run. */
    readonly now?: Date;
    /** Folder a local chart path is relative to (the Pulumi project folder); default: the working directory. */
    readonly projectDir?: string;
}

export class BlueGreenRelease extends pulumi.ComponentResource {
    /** The explicit provider every child uses. */
    public readonly provider: k8s.Provider;
    /** One Helm release per configured color. */
    public readonly releases: Partial<Record<Color, k8s.helm.v3.Release>>;
    /** Service selecting the active color (`<appName>`). */
    public readonly activeService: k8s.core.v1.Service;
    /** Service selecting the idle color (`<appName>-preview`), when the idle color has a release. */
    public readonly previewService: k8s.core.v1.Service | undefined;
    /** The color the active Service selects. */
    public readonly activeColor: Color;

    constructor(name: string, args: BlueGreenReleaseArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validate before anything (including this component) is registered.
        const cfg = parseBlueGreenConfig(args.config);
        checkLocalChart(cfg, args.projectDir ?? process.cwd());
        const plan: BlueGreenPlan = planBlueGreen(cfg, args.now ?? new Date());

        super(BLUE_GREEN_TYPE, name, {}, opts);

        this.provider = new k8s.Provider(`${name}-provider`, { kubeconfig: pulumi.secret(args.kubeconfig), namespace: plan.namespace }, { parent: this });
        const childOpts = { parent: this, provider: this.provider };

        const releases: Partial<Record<Color, k8s.helm.v3.Release>> = {};
        for (const r of plan.releases) {
            releases[r.color] = new k8s.helm.v3.Release(
                `${name}-${r.color}`,
                {
                    name: r.releaseName,
                    namespace: plan.namespace,
                    chart: r.chart,
                    ...(r.chartVersion !== undefined ? { version: r.chartVersion } : {}),
                    ...(r.repo !== undefined ? { repositoryOpts: { repo: r.repo } } : {}),
                    values: r.values,
                    // A failed install/upgrade of one color is rolled back by Helm; the other color is untouched.
                    atomic: true,
                    cleanupOnFail: true,
                    timeout: cfg.helmTimeoutSeconds,
                    maxHistory: 10,
                },
                childOpts,
            );
        }
        this.releases = releases;

        // Services switch only after the releases are ready (a version bump and a flip in one run).
        const dependsOn = Object.values(releases);
        const services: Partial<Record<"active" | "preview", k8s.core.v1.Service>> = {};
        for (const s of plan.services) {
            services[s.role] = new k8s.core.v1.Service(
                `${name}-${s.role}`,
                {
                    metadata: { name: s.serviceName, namespace: plan.namespace, labels: s.labels, annotations: s.annotations },
                    spec: {
                        type: "ClusterIP",
                        selector: s.selector,
                        ports: [{ name: "http", port: cfg.servicePort, targetPort: "http", protocol: "TCP" }],
                    },
                },
                { ...childOpts, dependsOn },
            );
        }
        this.activeService = services.active!;
        this.previewService = services.preview;
        this.activeColor = cfg.activeColor;

        this.registerOutputs({
            provider: this.provider,
            releases: this.releases,
            activeService: this.activeService,
            previewService: this.previewService,
            activeColor: this.activeColor,
        });
    }
}

/** A local chart must be a folder with a Chart.yaml under `projectDir`. Throws ConfigError. */
export function checkLocalChart(cfg: BlueGreenConfig, projectDir: string): void {
    if (cfg.chart.path === undefined) return;
    const file = path.join(projectDir, cfg.chart.path, "Chart.yaml");
    if (!fs.existsSync(file)) {
        throw new ConfigError([`${key(["chart", "path"])}: ${cfg.chart.path} has no Chart.yaml (looked for ${file})`]);
    }
}
