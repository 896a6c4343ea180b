/**
 * Kubernetes blue-green (README "Blue-green on Kubernetes"): the color the active Service selects has a
 * Helm release with at least one replica, and the color held as the rollback target (the
 * preview Service annotated pve-migration/rollback-target "true") is neither removed nor
 * scaled to zero. Releases and Services are matched by namespace, group (part-of) and color.
 */
import { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import * as k8s from "@pulumi/kubernetes";
import { configOf, known } from "./lib";

export const LABEL_ROLE = "pve-migration/role";
export const LABEL_PART_OF = "app.kubernetes.io/part-of";
export const ANNOTATION_ROLLBACK_TARGET = "pve-migration/rollback-target";

export interface BlueGreenSafeConfig {
    /** Replicas the active color's release must have at least. */
    minActiveReplicas: number;
    /** Replicas the rollback target's release must keep at least. */
    minRollbackTargetReplicas: number;
}

export const BLUE_GREEN_DEFAULTS: BlueGreenSafeConfig = { minActiveReplicas: 1, minRollbackTargetReplicas: 1 };

interface ReleaseView {
    readonly res: PolicyResource;
    readonly name: string;
    readonly namespace: unknown;
    readonly group: unknown;
    readonly color: unknown;
    readonly replicas: unknown;
}

interface ServiceView {
    readonly res: PolicyResource;
    readonly name: string;
    readonly namespace: unknown;
    readonly role: unknown;
    readonly group: unknown;
    readonly color: unknown;
    readonly rollbackTarget: unknown;
}

function releaseView(r: PolicyResource): ReleaseView {
    const p = r.props;
    return {
        res: r,
        name: String(known(() => p.name) ?? r.name),
        namespace: known(() => p.namespace),
        group: known(() => p.values?.partOf),
        color: known(() => p.values?.color),
        replicas: known(() => p.values?.replicaCount),
    };
}

function serviceView(r: PolicyResource): ServiceView {
    const p = r.props;
    return {
        res: r,
        name: String(known(() => p.metadata?.name) ?? r.name),
        namespace: known(() => p.metadata?.namespace),
        role: known(() => p.metadata?.labels?.[LABEL_ROLE]),
        group: known(() => p.metadata?.labels?.[LABEL_PART_OF]),
        color: known(() => p.spec?.selector?.color),
        rollbackTarget: known(() => p.metadata?.annotations?.[ANNOTATION_ROLLBACK_TARGET]),
    };
}

export const blueGreenSafe: StackValidationPolicy = {
    name: "blue-green-safe",
    description: "The active color has a Helm release with at least one replica, and the color held as the rollback target is not removed or scaled to zero.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minActiveReplicas: {
                type: "integer",
                minimum: 1,
                default: BLUE_GREEN_DEFAULTS.minActiveReplicas,
                description: "Replicas the active color's release must have at least.",
            },
            minRollbackTargetReplicas: {
                type: "integer",
                minimum: 1,
                default: BLUE_GREEN_DEFAULTS.minRollbackTargetReplicas,
                description: "Replicas the rollback target's release must keep at least.",
            },
        },
    },
    validateStack: (args, report) => {
        const c = configOf(args, BLUE_GREEN_DEFAULTS);
        const releases = args.resources.filter((r) => r.isType(k8s.helm.v3.Release)).map(releaseView);
        const services = args.resources.filter((r) => r.isType(k8s.core.v1.Service)).map(serviceView);
        for (const s of services) {
            let what: string;
            let min: number;
            if (s.role === "active") {
                what = `active Service ${s.namespace}/${s.name} selects color ${s.color}`;
                min = c.minActiveReplicas;
            } else if (s.role === "preview" && s.rollbackTarget === "true") {
                what = `preview Service ${s.namespace}/${s.name} holds color ${s.color} as the rollback target`;
                min = c.minRollbackTargetReplicas;
            } else {
                continue;
            }
            const rel = releases.find((r) => r.namespace === s.namespace && r.group === s.group && r.color === s.color);
            if (!rel) {
                report(`${what} of ${s.group}, but no Helm release of that color exists in namespace ${s.namespace}`, s.res.urn);
            } else if (typeof rel.replicas !== "number" || rel.replicas < min) {
                report(
                    `${what} of ${s.group}, but its release ${rel.name} has replicaCount ${JSON.stringify(rel.replicas ?? null)} (at least ${min} needed)`,
                    rel.res.urn,
                );
            }
        }
    },
};
