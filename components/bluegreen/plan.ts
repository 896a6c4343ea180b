/**
 * What the BlueGreenRelease component registers, computed as plain data: the Helm release of
 * each configured color (chart reference and values) and the active and preview Services.
 * Pure: tests and policies read the same shapes the component passes to Pulumi.
 *
 * Invariant: nothing derived from `activeColor` goes into a release. A flip changes only the
 * Services' selectors (and the preview Service's rollback-target annotation when the hold
 * changes with it); no release is upgraded, no pod restarted.
 */
import * as path from "path";
import { BlueGreenConfig, COLORS, Color, holdsRollbackTarget, idleColor } from "../config/bluegreen";
import { effectiveReplicas } from "./colors";

/** Group label shared by the pods of both colors and the Services' selectors. */
export const LABEL_PART_OF = "app.kubernetes.io/part-of";
/** Color label on pods (the runbook's `color`: `kubectl ... -l color=green`). */
export const LABEL_COLOR = "color";
/** Role of a Service made by the component: `active` or `preview`. */
export const LABEL_ROLE = "pve-migration/role";
/** On the preview Service: "true" when the color it selects is held as the rollback target. */
export const ANNOTATION_ROLLBACK_TARGET = "pve-migration/rollback-target";

/** The chart's values for one color (validated by charts/pve-network-rs/values.schema.json). */
export interface ReleaseValues {
    color: Color;
    partOf: string;
    version: string;
    replicaCount: number;
    image: { repository: string; tag: string; pullPolicy: string };
    containerPort: number;
    probes: {
        liveness: { path: string; periodSeconds: number; failureThreshold: number };
        readiness: { path: string; periodSeconds: number; failureThreshold: number };
    };
    resources: { requests: { cpu: string; memory: string }; limits: { cpu: string; memory: string } };
    service: { enabled: boolean; port: number };
    /** The runbook's block, in the runbook's shape (triggers as a list of one-key maps). */
    rollback: {
        enabled: boolean;
        automatic: boolean;
        triggers: [{ healthCheckFailures: number }, { errorRateThreshold: number }, { responseTimeThreshold: number }];
        cooldownPeriod: number;
        maximumRetries: number;
    };
}

export interface ReleasePlan {
    readonly color: Color;
    /** Helm release name (also the Deployment's name): `<appName>-<color>`. */
    readonly releaseName: string;
    /** `chart`, `version`, `repositoryOpts` inputs of the helm.v3.Release. */
    readonly chart: string;
    readonly chartVersion?: string;
    readonly repo?: string;
    readonly values: ReleaseValues;
}

export interface ServicePlan {
    readonly role: "active" | "preview";
    readonly serviceName: string;
    readonly labels: Record<string, string>;
    readonly annotations: Record<string, string>;
    readonly selector: Record<string, string>;
}

export interface BlueGreenPlan {
    readonly namespace: string;
    readonly releases: ReleasePlan[];
    readonly services: ServicePlan[];
}

/** The chart reference for the Release: local path (`./...`), `oci://.../name`, or name + repo. */
export function chartRef(cfg: BlueGreenConfig, color: Color): Pick<ReleasePlan, "chart" | "chartVersion" | "repo"> {
    const c = cfg.chart;
    if (c.path !== undefined) {
        // "./" so Helm never reads it as <repo alias>/<chart>.
        return { chart: `./${path.posix.normalize(c.path).replace(/\/+$/, "")}` };
    }
    const chartVersion = cfg.releases[color]?.chartVersion ?? c.version!;
    if (c.repo!.startsWith("oci://")) return { chart: `${c.repo!.replace(/\/+$/, "")}/${c.name!}`, chartVersion };
    return { chart: c.name!, chartVersion, repo: c.repo! };
}

/** The chart values of `color` with `replicaCount` pods. Independent of the active color. */
export function releaseValues(cfg: BlueGreenConfig, color: Color, replicaCount: number): ReleaseValues {
    const rel = cfg.releases[color];
    if (rel === undefined) throw new Error(`no release configured for ${color}`);
    const h = cfg.health;
    const r = cfg.rollback;
    return {
        color,
        partOf: cfg.appName,
        version: rel.version,
        replicaCount,
        image: { repository: cfg.image.repository, tag: rel.imageTag, pullPolicy: cfg.image.pullPolicy },
        containerPort: h.port,
        probes: {
            liveness: { path: h.livenessPath, periodSeconds: h.periodSeconds, failureThreshold: h.failureThreshold },
            readiness: { path: h.readinessPath, periodSeconds: h.periodSeconds, failureThreshold: h.failureThreshold },
        },
        resources: {
            requests: { ...cfg.resources.requests },
            limits: { ...cfg.resources.limits },
        },
        service: { enabled: true, port: cfg.servicePort },
        rollback: {
            enabled: r.enabled,
            automatic: r.automatic,
            triggers: [
                { healthCheckFailures: r.triggers.healthCheckFailures },
                { errorRateThreshold: r.triggers.errorRateThreshold },
                { responseTimeThreshold: r.triggers.responseTimeThreshold },
            ],
            cooldownPeriod: r.cooldownPeriod,
            maximumRetries: r.maximumRetries,
        },
    };
}

/** Everything the component registers for `cfg` at time `now` (a validated config). */
export function planBlueGreen(cfg: BlueGreenConfig, now: Date): BlueGreenPlan {
    const replicas = effectiveReplicas(cfg, now);
    const releases: ReleasePlan[] = COLORS.filter((c) => cfg.releases[c] !== undefined).map((color) => ({
        color,
        releaseName: `${cfg.appName}-${color}`,
        ...chartRef(cfg, color),
        values: releaseValues(cfg, color, replicas[color]!),
    }));
    const service = (role: "active" | "preview", color: Color, annotations: Record<string, string>): ServicePlan => ({
        role,
        serviceName: role === "active" ? cfg.appName : `${cfg.appName}-preview`,
        labels: { [LABEL_PART_OF]: cfg.appName, [LABEL_ROLE]: role },
        annotations,
        selector: { [LABEL_PART_OF]: cfg.appName, [LABEL_COLOR]: color },
    });
    const services = [service("active", cfg.activeColor, {})];
    const idle = idleColor(cfg);
    if (cfg.releases[idle] !== undefined) {
        services.push(service("preview", idle, { [ANNOTATION_ROLLBACK_TARGET]: String(holdsRollbackTarget(cfg)) }));
    }
    return { namespace: cfg.namespace, releases, services };
}
