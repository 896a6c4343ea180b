/**
 * `pve-migration:rollback`: the automatic rollback guard of a stack (components/guard; README
 * "Automatic rollback"), in the shape of the rollback procedures' own block (`enabled`,
 * `automatic`, `triggers`, `cooldownPeriod`, `maximumRetries`), with each trigger's threshold and
 * window. Pure: a zod schema, part of the one stack config parse (components/config/schema.ts).
 */
import { z } from "zod";
import { PHASES } from "../phases";
import { argvSchema } from "./base";

const seconds = (min: number, max: number, def: number) =>
    z.number().int("must be a whole number of seconds").min(min, `must be at least ${min} s`).max(max, `must be at most ${max} s`).default(def);
const fraction = (def: number) => z.number().gt(0, "must be above 0").max(1, "must be at most 1").default(def);

/** A PromQL expression that answers one number (a single series, or a scalar). */
const promqlSchema = z.string().min(1, "must be a PromQL expression").max(4096, "must be at most 4096 characters");

export const RollbackTriggersSchema = z
    .object({
        /** Health checks: this many consecutive failed checks (target down, or no data at all) act. */
        healthCheckFailures: z.number().int("must be a whole number").min(1, "must be at least 1").max(100, "must be at most 100").default(3),
        /** Seconds between two health checks (the window is failures x interval). */
        healthCheckInterval: seconds(1, 3600, 60),
        /** Blue-green: failed requests / all requests above this over errorRateWindow. */
        errorRateThreshold: fraction(0.1),
        errorRateWindow: seconds(30, 3600, 300),
        /** Blue-green: p95 response time above this many milliseconds over responseTimeWindow. */
        responseTimeThreshold: z
            .number()
            .int("must be a whole number of milliseconds")
            .min(1, "must be at least 1 ms")
            .max(600_000, "must be at most 600000 ms")
            .default(5000),
        responseTimeWindow: seconds(30, 3600, 300),
        /** Blue-green: CPU (cores used / cores requested) and memory (used / limit) above these, sustained. */
        cpuThreshold: fraction(0.95),
        memoryThreshold: fraction(0.9),
        sustainedSeconds: seconds(10, 3600, 120),
        /** Node rings: any increase of pve_network_fallback_total over this window acts. */
        fallbackWindow: seconds(30, 86_400, 300),
        /** Node rings: apply latency above this ratio of the Perl baseline (monitoring.alerts.perlBaselineSeconds). */
        applyLatencyRatio: z.number().gt(0, "must be above 0").max(100, "must be at most 100").default(1),
        applyLatencyWindow: seconds(30, 86_400, 300),
    })
    .strict();

export const RollbackSchema = z
    .object({
        enabled: z.boolean().default(false),
        /** What it watches and rolls back: the stack's nodes (a phase down) or its blue-green releases (a color flip); default blueGreen when the stack has one. */
        watch: z.enum(["nodes", "blueGreen"]).optional(),
        /** Act on a trigger (true) or only alert (false). */
        automatic: z.boolean().default(false),
        /** Act without health-checking the previous color first (the runbook's emergency rollback). */
        emergency: z.boolean().default(false),
        /** The Prometheus that scrapes the nodes' exporters (and the blue-green pods). */
        prometheus: z.object({ url: z.string().url("must be an http(s) URL").max(2048) }).strict(),
        /** Seconds between two evaluations. */
        interval: seconds(5, 3600, 30),
        triggers: RollbackTriggersSchema.default({}),
        /** PromQL overrides per blue-green trigger; `{color}` is the color evaluated. */
        queries: z
            .object({
                health: promqlSchema.optional(),
                errorRate: promqlSchema.optional(),
                responseTimeP95: promqlSchema.optional(),
                cpu: promqlSchema.optional(),
                memory: promqlSchema.optional(),
            })
            .strict()
            .default({}),
        /** Seconds after an action before the guard acts again on this stack. */
        cooldownPeriod: seconds(0, 86_400, 300),
        /** Actions after which the guard stops acting and escalates to a person. */
        maximumRetries: z.number().int("must be a whole number").min(1, "must be at least 1").max(100, "must be at most 100").default(5),
        /** Node rings: the phase to roll back to (default: one phase down). */
        targetPhase: z.enum(PHASES as unknown as [string, ...string[]]).optional(),
        /** How the stack file change reaches the repository: a commit on the checked-out branch, or on a branch of its own. */
        commit: z
            .object({
                mode: z.enum(["main", "branch"]).default("main"),
                /** Push the commit to `origin` (the checked-out branch, or the guard's branch) before pulumi up. */
                push: z.boolean().default(false),
                /** branch mode: a site command run with the branch name appended (it opens the pull request). */
                pullRequestCommand: argvSchema.optional(),
            })
            .strict()
            .default({}),
        /** A file holding the Slack-compatible webhook URL (a URL with a token: never in the stack file). */
        webhookUrlFile: z.string().min(1).max(1024).optional(),
    })
    .strict();

export type RollbackConfig = z.infer<typeof RollbackSchema>;
export type RollbackTriggers = z.infer<typeof RollbackTriggersSchema>;
