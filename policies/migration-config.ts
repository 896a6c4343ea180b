/**
 * What the migration.toml written to the nodes holds (README "What runs on a node"): the fallback to
 * Perl stays on below rust-full, and the Perl API is reached over https with a bounded
 * timeout. Each rule reads the rendered TOML of every config step and the transition record.
 */
import * as command from "@pulumi/command";
import { ResourceValidation, ResourceValidationPolicy, ReportViolation, validateResourceOfType } from "@pulumi/policy";
import * as random from "@pulumi/random";
import { isPhase, phaseInfo } from "../components/phases";
import { Record, configOf, isHttpsUrl, parseMigrationToml, quote, recordOf, stepsOf, urlHasCredentials } from "./lib";

/** A config step of a node command (either transport), with its parsed TOML. */
type TomlCheck = (toml: { [k: string]: unknown }, path: string, report: ReportViolation, config: object) => void;

interface ConfigStepArgs {
    getConfig<C extends object>(): C;
}

function configStepValidations(check: TomlCheck, defaults: object): ResourceValidation[] {
    const onStep = (props: { create?: unknown }, args: ConfigStepArgs, report: ReportViolation) => {
        for (const step of stepsOf(props)) {
            if (step.script !== "config") continue;
            const path = step.options.path ?? "(no --path)";
            const toml = parseMigrationToml(step.options.content ?? "");
            if (!toml.ok) {
                report(`${path}: the migration config is not valid TOML: ${toml.error}`);
                continue;
            }
            check(toml.value, path, report, configOf(args, defaults));
        }
    };
    return [validateResourceOfType(command.remote.Command, onStep), validateResourceOfType(command.local.Command, onStep)];
}

function recordValidation(check: (r: Record, report: ReportViolation, config: object) => void, defaults: object): ResourceValidation {
    return validateResourceOfType(random.RandomId, (id, args, report) => {
        const r = recordOf(id);
        if (r) check(r, report, configOf(args, defaults));
    });
}

export const fallbackEnabled: ResourceValidationPolicy = {
    name: "fallback-enabled",
    description: "fallback_enabled stays true in every phase below rust-full, in every migration.toml written and in the transition record.",
    enforcementLevel: "mandatory",
    validateResource: [
        ...configStepValidations((toml, path, report) => {
            const phase = toml.phase;
            if (!isPhase(phase)) {
                report(`${path}: phase ${quote(phase ?? null)} is not a phase`);
                return;
            }
            if (phaseInfo(phase).fallbackRequired && toml.fallback_enabled !== true) {
                report(
                    `${path}: fallback_enabled must be true in phase ${phase} (got ${quote(toml.fallback_enabled ?? null)}); only rust-full may disable the fallback`,
                );
            }
        }, {}),
        recordValidation((r, report) => {
            if (isPhase(r.to) && phaseInfo(r.to).fallbackRequired && r.fallbackEnabled !== "true") {
                report(
                    `transition record of stack ${r.stack}: fallbackEnabled must be "true" in phase ${r.to} (got ${quote(r.fallbackEnabled)}); only rust-full may disable the fallback`,
                );
            }
        }, {}),
    ],
};

export interface PerlApiConfig {
    /** Shortest allowed perl_api_timeout, seconds. */
    minTimeoutSeconds: number;
    /** Longest allowed perl_api_timeout, seconds. */
    maxTimeoutSeconds: number;
}

export const PERL_API_DEFAULTS: PerlApiConfig = { minTimeoutSeconds: 5, maxTimeoutSeconds: 300 };

function urlProblem(url: unknown): string | undefined {
    if (typeof url !== "string" || !isHttpsUrl(url)) return `must be an https:// URL (got ${quote(url ?? null)})`;
    if (urlHasCredentials(url)) return "must not carry credentials (user:password@)";
    return undefined;
}

function timeoutProblem(timeout: unknown, c: PerlApiConfig): string | undefined {
    if (typeof timeout !== "number" || !Number.isInteger(timeout) || timeout < c.minTimeoutSeconds || timeout > c.maxTimeoutSeconds) {
        return `must be a whole number of seconds between ${c.minTimeoutSeconds} and ${c.maxTimeoutSeconds} (got ${quote(timeout ?? null)})`;
    }
    return undefined;
}

export const perlApi: ResourceValidationPolicy = {
    name: "perl-api",
    description: "The Perl API is reached over https only, with a timeout within the configured range, in every migration.toml and in the transition record.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            minTimeoutSeconds: {
                type: "integer",
                minimum: 1,
                default: PERL_API_DEFAULTS.minTimeoutSeconds,
                description: "Shortest allowed perl_api_timeout, seconds.",
            },
            maxTimeoutSeconds: {
                type: "integer",
                minimum: 1,
                default: PERL_API_DEFAULTS.maxTimeoutSeconds,
                description: "Longest allowed perl_api_timeout, seconds.",
            },
        },
    },
    validateResource: [
        ...configStepValidations((toml, path, report, config) => {
            const c = config as PerlApiConfig;
            const u = urlProblem(toml.perl_api_base_url);
            if (u) report(`${path}: perl_api_base_url ${u}`);
            const t = timeoutProblem(toml.perl_api_timeout, c);
            if (t) report(`${path}: perl_api_timeout ${t}`);
        }, PERL_API_DEFAULTS),
        recordValidation((r, report, config) => {
            const c = config as PerlApiConfig;
            const u = urlProblem(r.perlApiBaseUrl);
            if (u) report(`transition record of stack ${r.stack}: perlApiBaseUrl ${u}`);
            const n = /^[0-9]+$/.test(r.perlApiTimeout) ? Number(r.perlApiTimeout) : r.perlApiTimeout;
            const t = timeoutProblem(n, c);
            if (t) report(`transition record of stack ${r.stack}: perlApiTimeout ${t}`);
        }, PERL_API_DEFAULTS),
    ],
};
