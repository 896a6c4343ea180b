/**
 * The typed `pve-migration:blueGreen` stack config (README "Blue-green on Kubernetes", seed 003), validated
 * with zod before anything is registered. Pure: no Pulumi, no I/O.
 *
 * Every problem is reported as `pve-migration:blueGreen.<path>: <reason>` inside a ConfigError
 * (the same error class the stack config uses), so the lead's program prints them the same way.
 */
import * as path from "path";
import { z } from "zod";
import { ConfigError, NAMESPACE, safeUrl } from "./base";
import { formatPath } from "../evidence";

export const CONFIG_KEY = `${NAMESPACE}:blueGreen`;
/** The separate secret key holding the kubeconfig contents. */
export const KUBECONFIG_KEY = `${NAMESPACE}:kubeconfig`;

export const COLORS = ["blue", "green"] as const;
export type Color = (typeof COLORS)[number];

/** The chart shipped in this repository, relative to the project folder. */
export const DEFAULT_CHART_PATH = "charts/pve-network-rs";

/** A DNS-1123 label (namespaces, Service names). */
const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A Kubernetes label value (the release version becomes `app.kubernetes.io/version`). */
const LABEL_VALUE_RE = /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
/** An OCI image tag. */
const IMAGE_TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
/** An image reference without tag or digest: `registry[:port]/path/name`, lower case. */
const IMAGE_REPO_RE = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)+$/;
/** A chart version (SemVer 2). */
const SEMVER_RE = /^v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
/** A Helm chart name. */
const CHART_NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
/** An absolute UTC time as `migration-ctl color flip` writes it. */
const ISO_UTC_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
/** A Kubernetes cpu quantity (cores or millicores). */
const CPU_RE = /^(\d+(\.\d+)?|\d+m)$/;
/** A Kubernetes memory quantity (bytes, SI or binary suffix). */
const MEMORY_RE = /^\d+(\.\d+)?(k|M|G|T|Ki|Mi|Gi|Ti)?$/;

/** Longest app name: Helm release names are at most 53 characters, and `-green` is appended. */
export const MAX_APP_NAME = 53 - "-green".length;

const str = (what: string) => z.string({ required_error: "required", invalid_type_error: `must be ${what}` });
const int = (min: number, max: number) =>
    z
        .number({ required_error: "required", invalid_type_error: "must be a number" })
        .int("must be an integer")
        .min(min, `must be >= ${min}`)
        .max(max, `must be <= ${max}`);
const num = (min: number, max: number) =>
    z.number({ required_error: "required", invalid_type_error: "must be a number" }).min(min, `must be >= ${min}`).max(max, `must be <= ${max}`);
const bool = () => z.boolean({ invalid_type_error: "must be true or false" });
const color = () =>
    z.enum(COLORS, {
        errorMap: (issue, ctx) => ({
            message: issue.code === "invalid_type" && ctx.data === undefined ? "required" : `must be blue or green (got ${JSON.stringify(ctx.data)})`,
        }),
    });

export const ColorReleaseSchema = z
    .object(
        {
            /** The service version this color runs (label `app.kubernetes.io/version`). Quote it in YAML. */
            version: str("a string (quote versions in YAML: '1.0')").regex(
                LABEL_VALUE_RE,
                "must be a Kubernetes label value such as 0.5.0 (letters, digits, '.', '-', '_', at most 63)",
            ),
            /** The container image tag this color runs. */
            imageTag: str("a string (quote tags in YAML)").regex(IMAGE_TAG_RE, "must be an image tag (letters, digits, '_', '.', '-', at most 128)"),
            /** Pods of this color while it serves or is kept (the idle color may be scaled to 0, see idleReplicas). */
            replicas: int(0, 100),
            /** Chart version for this color; only with a repository chart (default: chart.version). */
            chartVersion: str("a string").regex(SEMVER_RE, "must be a chart version (SemVer, e.g. 1.2.0)").optional(),
        },
        { invalid_type_error: "must be an object (version, imageTag, replicas)" },
    )
    .strict();

const ChartSchema = z
    .object({
        /** Local chart folder, relative to the project folder (the chart shipped in the repo). */
        path: str("a string").optional(),
        /** Chart repository: an https:// URL or an oci:// registry path. */
        repo: str("a string").optional(),
        /** Chart name in the repository. */
        name: str("a string").regex(CHART_NAME_RE, "must be a chart name (lower-case letters, digits, '-')").optional(),
        /** Chart version in the repository (pinned). */
        version: str("a string").regex(SEMVER_RE, "must be a chart version (SemVer, e.g. 1.2.0)").optional(),
    })
    .strict();

const QuantitiesSchema = (cpu: string, memory: string) =>
    z
        .object({
            cpu: str("a string").regex(CPU_RE, "must be a cpu quantity such as 250m or 1").default(cpu),
            memory: str("a string").regex(MEMORY_RE, "must be a memory quantity such as 128Mi or 1Gi").default(memory),
        })
        .strict()
        .default({});

export const BlueGreenConfigSchema = z
    .object({
        /** Kubernetes namespace of both releases and both Services (must exist). */
        namespace: str("a string").regex(DNS_LABEL_RE, "must be a Kubernetes namespace name (DNS label)"),
        /** Base name of the Kubernetes objects: releases `<appName>-blue|green`, Services `<appName>` and `<appName>-preview`. */
        appName: str("a string")
            .regex(DNS_LABEL_RE, "must be a DNS label (lower-case letters, digits, '-')")
            .max(MAX_APP_NAME, `must be at most ${MAX_APP_NAME} characters (Helm release names are at most 53)`)
            .default("pve-network-rs"),
        /** The chart: `{ path }` (local) or `{ repo, name, version }`. Default: the chart shipped in the repo. */
        chart: ChartSchema.default({ path: DEFAULT_CHART_PATH }),
        /** Container image repository (without tag). */
        image: z
            .object(
                {
                    repository: str("a string").regex(IMAGE_REPO_RE, "must be an image repository such as registry.example.com/pve/pve-network-rs (no tag)"),
                    pullPolicy: z
                        .enum(["IfNotPresent", "Always", "Never"], { errorMap: () => ({ message: "must be IfNotPresent, Always or Never" }) })
                        .default("IfNotPresent"),
                },
                { required_error: "required", invalid_type_error: "must be an object" },
            )
            .strict(),
        /** The color the active Service selects. Changed by `migration-ctl color flip|set`. */
        activeColor: color(),
        /** One release per color; at least one. */
        releases: z
            .object(
                { blue: ColorReleaseSchema.optional(), green: ColorReleaseSchema.optional() },
                { required_error: "required (blue, green or both)", invalid_type_error: "must be an object" },
            )
            .strict(),
        /** Seconds after a flip before the idle color is scaled to 0 (never while it is the rollback target). */
        idleScaleDownAfterSeconds: int(0, 30 * 24 * 3600).default(3600),
        /**
         * The last flip, written by `migration-ctl color flip|set`: when, and the release the traffic
         * left (color, version, image tag). Scale-down applies only to that release, unchanged.
         */
        lastFlip: z
            .object({
                at: str("a string").refine((s) => ISO_UTC_RE.test(s) && !Number.isNaN(Date.parse(s)), "must be a UTC time such as 2025-06-01T10:00:00Z"),
                from: color(),
                version: str("a string"),
                imageTag: str("a string"),
            })
            .strict()
            .optional(),
        /**
         * Keep the idle color at its replicas as the rollback target. Default: true once a flip
         * is recorded (lastFlip), false before. Set false when the new color is trusted.
         */
        rollbackTarget: bool().optional(),
        /** The runbook's `rollback:` block, passed to the chart as values. */
        rollback: z
            .object({
                enabled: bool().default(true),
                automatic: bool().default(true),
                triggers: z
                    .object({
                        /** Consecutive failed health checks. */
                        healthCheckFailures: int(1, 100).default(3),
                        /** Error rate, 0..1. */
                        errorRateThreshold: num(0, 1).default(0.1),
                        /** Response time, milliseconds. */
                        responseTimeThreshold: int(1, 600000).default(5000),
                    })
                    .strict()
                    .default({}),
                /** Seconds between two automatic rollbacks. */
                cooldownPeriod: int(0, 86400).default(300),
                maximumRetries: int(0, 100).default(5),
            })
            .strict()
            .default({}),
        /** Probes of the service container. */
        health: z
            .object({
                livenessPath: str("a string")
                    .regex(/^\/[A-Za-z0-9._~/-]*$/, "must be an absolute URL path")
                    .default("/health/live"),
                readinessPath: str("a string")
                    .regex(/^\/[A-Za-z0-9._~/-]*$/, "must be an absolute URL path")
                    .default("/health/ready"),
                /** Container port serving HTTP and the probes. */
                port: int(1, 65535).default(8080),
                periodSeconds: int(1, 300).default(10),
                failureThreshold: int(1, 100).default(3),
            })
            .strict()
            .default({}),
        /** Port of the active and preview Services. */
        servicePort: int(1, 65535).default(80),
        /** Resource requests and limits of the service container. */
        resources: z
            .object({ requests: QuantitiesSchema("100m", "128Mi"), limits: QuantitiesSchema("500m", "256Mi") })
            .strict()
            .default({}),
        /** Seconds Helm waits for a release to become ready (atomic: a failed upgrade is rolled back). */
        helmTimeoutSeconds: int(30, 3600).default(300),
    })
    .strict();

export type BlueGreenConfig = z.infer<typeof BlueGreenConfigSchema>;
/** The config as written in the stack file (defaults not applied). */
export type BlueGreenConfigInput = z.input<typeof BlueGreenConfigSchema>;
export type ColorRelease = z.infer<typeof ColorReleaseSchema>;
export type LastFlip = NonNullable<BlueGreenConfig["lastFlip"]>;

/** `pve-migration:blueGreen.<path>` */
export function key(p: readonly (string | number)[]): string {
    const f = formatPath(p);
    return f ? `${CONFIG_KEY}.${f}` : CONFIG_KEY;
}

export function otherColor(c: Color): Color {
    return c === "blue" ? "green" : "blue";
}

export function idleColor(cfg: Pick<BlueGreenConfig, "activeColor">): Color {
    return otherColor(cfg.activeColor);
}

/** Is the idle color held as the rollback target? Default: yes once a flip is recorded. */
export function holdsRollbackTarget(cfg: Pick<BlueGreenConfig, "rollbackTarget" | "lastFlip">): boolean {
    return cfg.rollbackTarget ?? cfg.lastFlip !== undefined;
}

/**
 * Validate `pve-migration:blueGreen`. Throws ConfigError listing every problem as
 * `pve-migration:blueGreen.<path>: <reason>`. Accepts its own output (idempotent).
 */
export function parseBlueGreenConfig(raw: unknown): BlueGreenConfig {
    if (raw === undefined || raw === null || typeof raw !== "object" || Array.isArray(raw)) {
        throw new ConfigError([`${CONFIG_KEY}: must be an object (namespace, image, activeColor, releases, ...)`]);
    }
    const r = BlueGreenConfigSchema.safeParse(raw);
    if (!r.success) {
        throw new ConfigError(
            r.error.issues.map((i) => (i.code === "unrecognized_keys" ? `${key(i.path)}: unknown key(s) ${i.keys.join(", ")}` : `${key(i.path)}: ${i.message}`)),
        );
    }
    const errors = crossCheck(r.data);
    if (errors.length > 0) throw new ConfigError(errors);
    return r.data;
}

function crossCheck(c: BlueGreenConfig): string[] {
    const errors: string[] = [];
    const { blue, green } = c.releases;
    if (blue === undefined && green === undefined) {
        errors.push(`${key(["releases"])}: must configure blue, green or both`);
        return errors;
    }
    const active = c.releases[c.activeColor];
    if (active === undefined) {
        errors.push(`${key(["activeColor"])}: ${c.activeColor} has no release (${key(["releases", c.activeColor])} is not set)`);
    } else if (active.replicas < 1) {
        errors.push(`${key(["releases", c.activeColor, "replicas"])}: must be >= 1 for the active color (${c.activeColor})`);
    }
    const idle = idleColor(c);
    const idleRel = c.releases[idle];
    if (holdsRollbackTarget(c)) {
        const why = c.rollbackTarget === undefined ? "a flip is recorded (lastFlip) and rollbackTarget is not set" : "rollbackTarget is true";
        if (idleRel === undefined) {
            errors.push(
                `${key(["releases", idle])}: the idle color ${idle} is the rollback target (${why}); keep its release or set ${key(["rollbackTarget"])} to false`,
            );
        } else if (idleRel.replicas < 1) {
            errors.push(
                `${key(["releases", idle, "replicas"])}: the idle color ${idle} is the rollback target (${why}) and must keep >= 1 replica; or set ${key(["rollbackTarget"])} to false`,
            );
        }
    }
    errors.push(...checkChart(c));
    for (const kind of ["cpu", "memory"] as const) {
        const req = quantity(c.resources.requests[kind]);
        const lim = quantity(c.resources.limits[kind]);
        if (req > lim) {
            errors.push(`${key(["resources", "requests", kind])}: ${c.resources.requests[kind]} exceeds the limit ${c.resources.limits[kind]}`);
        }
    }
    if (c.health.livenessPath === c.health.readinessPath) {
        errors.push(`${key(["health", "readinessPath"])}: must differ from health.livenessPath (${c.health.livenessPath})`);
    }
    return errors;
}

function checkChart(c: BlueGreenConfig): string[] {
    const errors: string[] = [];
    const { path: p, repo, name, version } = c.chart;
    if (p !== undefined) {
        if (repo !== undefined || name !== undefined || version !== undefined) {
            errors.push(`${key(["chart"])}: set either path, or repo + name + version, not both`);
        }
        const norm = path.posix.normalize(p);
        if (p === "" || path.posix.isAbsolute(p) || path.win32.isAbsolute(p) || norm === ".." || norm.startsWith("../") || p.includes("\0")) {
            errors.push(`${key(["chart", "path"])}: must be a folder inside the project, relative to it (got ${JSON.stringify(p)})`);
        }
        for (const color of COLORS) {
            if (c.releases[color]?.chartVersion !== undefined) {
                errors.push(`${key(["releases", color, "chartVersion"])}: only with a repository chart (chart.repo); a local chart's version is in its Chart.yaml`);
            }
        }
    } else {
        if (repo === undefined || name === undefined || version === undefined) {
            const missing = (["repo", "name", "version"] as const).filter((k) => c.chart[k] === undefined);
            errors.push(`${key(["chart"])}: set path, or repo + name + version (missing ${missing.join(", ")})`);
        }
        if (repo !== undefined && !safeUrl(repo, ["https:"]) && !/^oci:\/\/[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/.test(repo)) {
            errors.push(`${key(["chart", "repo"])}: must be an https:// URL without credentials or an oci:// registry path`);
        }
    }
    return errors;
}

const SUFFIX: Record<string, number> = {
    "": 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
    Ti: 1024 ** 4,
};

/** The numeric value of a cpu or memory quantity accepted by the schema (`250m` = 0.25, `1Ki` = 1024). */
export function quantity(q: string): number {
    const m = /^(\d+(?:\.\d+)?)([a-zA-Z]*)$/.exec(q);
    if (!m || !(m[2] in SUFFIX)) throw new Error(`not a quantity: ${q}`);
    return Number(m[1]) * SUFFIX[m[2]];
}
