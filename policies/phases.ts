/**
 * Phase policies: the transition itself (forward one phase at a time, backward any number),
 * and that what the nodes are told matches the transition record the other policies read.
 */
import { ResourceValidationPolicy, StackValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import * as random from "@pulumi/random";
import { PHASES, checkTransition, isPhase } from "../components/phases";
import { RECORD_TYPE, isCommandType, parseMigrationToml, quote, recordOf, stepLabel, stepsOf } from "./lib";

export const phaseTransition: ResourceValidationPolicy = {
    name: "phase-transition",
    description: "A stack moves forward one phase at a time and backward any number of phases (from the deployed phase carried in the transition record).",
    enforcementLevel: "mandatory",
    validateResource: validateResourceOfType(random.RandomId, (id, args, report) => {
        const r = recordOf(id);
        if (!r) return;
        // The record's own stack must be this stack (a record copied from another stack would lie).
        const stackName = args.urn.split("::")[0].replace(/^urn:pulumi:/, "");
        if (r.stack !== stackName) report(`transition record ${args.name} is for stack ${quote(r.stack)}, but this is stack ${quote(stackName)}`);
        for (const [field, value] of [
            ["from", r.from],
            ["to", r.to],
        ] as const) {
            if (!isPhase(value)) report(`transition record of stack ${r.stack}: ${field} ${quote(value)} is not a phase (one of ${PHASES.join(", ")})`);
        }
        if (!isPhase(r.from) || !isPhase(r.to)) return;
        const v = checkTransition(r.from, r.to);
        if (!v.allowed) report(`stack ${r.stack}: ${v.reason}`);
    }),
};

/**
 * The other policies trust the record: every node step must agree with it (the phase each
 * step is told, the phase each migration.toml holds), and a stack with node steps has exactly
 * one record. These compare resources with each other, so this is a stack policy and runs
 * only after every step (with `pulumi up --skip-preview` it fails the update but stops no
 * step); what each step shows by itself (an allowed transition, a migration.toml of the phase
 * it is told) is checked before the step runs by step-phases (steps.ts).
 */
export const transitionRecord: StackValidationPolicy = {
    name: "transition-record",
    description: "Node steps are registered with exactly one transition record, and every step and migration.toml agrees with its from and to phases.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const records = args.resources
            .filter((r) => r.type === RECORD_TYPE)
            .flatMap((r) => {
                const rec = recordOf(r.props);
                return rec ? [{ res: r, rec }] : [];
            });
        const steps = args.resources.filter((r) => isCommandType(r.type)).flatMap((r) => stepsOf(r.props).map((step) => ({ res: r, step })));
        if (records.length === 0) {
            if (steps.length > 0) {
                report(
                    `${steps.length} node step(s) are registered without a transition record (a ${RECORD_TYPE} with keepers.kind "pve-migration/transition"): the phase policies cannot check them`,
                );
            }
            return;
        }
        if (records.length > 1) {
            report(`more than one transition record in the stack (${records.map((x) => x.res.name).join(", ")}): one stack is one ring with one transition`);
            return;
        }
        const { rec } = records[0];
        for (const { res, step } of steps) {
            const o = step.options;
            if (!o) continue;
            for (const field of ["from", "to"] as const) {
                if (o[field] !== undefined && o[field] !== rec[field]) {
                    report(
                        `step ${stepLabel(res.name, step)}: --${field} ${quote(o[field])} does not match the transition record (${field} ${quote(rec[field])})`,
                        res.urn,
                    );
                }
            }
            if (step.script === "config" && o.content !== undefined) {
                const toml = parseMigrationToml(o.content);
                const phase = toml.ok ? toml.value.phase : undefined;
                if (phase !== rec.to) {
                    report(
                        `step ${stepLabel(res.name, step)}: ${o.path ?? "the migration config"} says phase = ${quote(phase ?? null)}, but the transition record says to ${quote(rec.to)}`,
                        res.urn,
                    );
                }
            }
        }
    },
};
