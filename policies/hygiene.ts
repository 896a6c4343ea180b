/**
 * Advisory hygiene: the decision log stays on (it is how fallbacks are audited), and enough
 * backups are kept to roll back more than one step.
 */
import * as command from "@pulumi/command";
import { ResourceValidationPolicy, ReportViolation, validateResourceOfType } from "@pulumi/policy";
import * as random from "@pulumi/random";
import { configOf, parseMigrationToml, quote, recordOf, stepsOf } from "./lib";

function onSteps(check: (script: string, o: { readonly [k: string]: string }, args: { getConfig<C extends object>(): C }, report: ReportViolation) => void) {
    const f = (props: { create?: unknown }, args: { getConfig<C extends object>(): C }, report: ReportViolation) => {
        for (const step of stepsOf(props)) check(step.script, step.options, args, report);
    };
    return [validateResourceOfType(command.remote.Command, f), validateResourceOfType(command.local.Command, f)];
}

export const logMigrationDecisions: ResourceValidationPolicy = {
    name: "log-migration-decisions",
    description: "log_migration_decisions stays true in every migration.toml, so every fallback is in the decision log.",
    enforcementLevel: "advisory",
    validateResource: [
        ...onSteps((script, o, _args, report) => {
            if (script !== "config") return;
            const toml = parseMigrationToml(o.content ?? "");
            if (toml.ok && toml.value.log_migration_decisions !== true) {
                report(
                    `${o.path}: log_migration_decisions should be true (got ${quote(toml.value.log_migration_decisions ?? null)}): the decision log is how fallbacks are audited`,
                );
            }
        }),
        validateResourceOfType(random.RandomId, (id, _args, report) => {
            const r = recordOf(id);
            if (r && r.logMigrationDecisions !== "true") {
                report(`transition record of stack ${r.stack}: logMigrationDecisions should be "true" (got ${quote(r.logMigrationDecisions)})`);
            }
        }),
    ],
};

export interface BackupRetentionConfig {
    /** Backups a node keeps at least. */
    minRetention: number;
}

export const BACKUP_RETENTION_DEFAULTS: BackupRetentionConfig = { minRetention: 2 };

export const backupRetention: ResourceValidationPolicy = {
    name: "backup-retention",
    description: "Nodes keep at least the configured number of backups, so a rollback can go back more than one step.",
    enforcementLevel: "advisory",
    configSchema: {
        properties: {
            minRetention: { type: "integer", minimum: 1, default: BACKUP_RETENTION_DEFAULTS.minRetention, description: "Backups a node keeps at least." },
        },
    },
    validateResource: [
        ...onSteps((script, o, args, report) => {
            if (script !== "snapshot") return;
            const c = configOf(args, BACKUP_RETENTION_DEFAULTS);
            const n = Number(o.retention);
            if (!/^[0-9]+$/.test(o.retention ?? "") || n < c.minRetention) {
                report(`snapshot step: --retention should keep at least ${c.minRetention} backups (got ${quote(o.retention ?? null)})`);
            }
        }),
        validateResourceOfType(random.RandomId, (id, args, report) => {
            const r = recordOf(id);
            if (!r) return;
            const c = configOf(args, BACKUP_RETENTION_DEFAULTS);
            if (!/^[0-9]+$/.test(r.backupRetention) || Number(r.backupRetention) < c.minRetention) {
                report(`transition record of stack ${r.stack}: backupRetention should be at least ${c.minRetention} (got ${quote(r.backupRetention)})`);
            }
        }),
    ],
};
