/**
 * `migration-ctl`: phase changes as reviewed stack config diffs. Every command is one
 * declaration in its own module of this folder; `main(argv, io)` returns the exit code and never
 * exits, so tests run it in-process; bin/migration-ctl.ts runs it for real.
 */
import { ToolDecl, helpText, processIo, runTool } from "../command";
import { EXIT } from "../errors";
import { apply } from "./apply";
import { check } from "./check";
import { colorFlip, colorGet, colorSet } from "./color";
import { diagnosticsCollect, diagnosticsCompare } from "./diagnostics";
import { drift } from "./drift";
import { guard } from "./guard";
import { health } from "./health";
import { phaseGet } from "./phase-get";
import { phaseSet } from "./phase-set";
import { plan } from "./plan";
import { rollback } from "./rollback";
import { up } from "./up";
import { CtlIo } from "./session";

export type { CtlIo } from "./session";

export const EXIT_CODES = `exit codes:
  ${EXIT.OK}   done (check, health: nothing wrong)
  ${EXIT.VIOLATIONS}   check or health found violations (listed in the report); diagnostics collect: a node failed
  ${EXIT.USAGE}   usage error (unknown command or flag, missing or bad value)
  ${EXIT.UNKNOWN_STACK}   unknown stack (no stacks/Pulumi.<stack>.yaml; up, plan --out: not in the backend)
  ${EXIT.UNKNOWN_VALUE}   unknown phase (or color)
  ${EXIT.MALFORMED_YAML}   malformed YAML in a stack file (nothing written)
  ${EXIT.INVALID_CONFIG}   invalid stack config (nothing written)
  ${EXIT.UNKNOWN_REV}   unknown git revision (or not a git repository)
  ${EXIT.REFUSED}   change refused: illegal transition, ring order, not a lower phase, flip not possible
  ${EXIT.IO}   file or git I/O error
  ${EXIT.DEPLOYED_UNKNOWN}  health: nothing wrong in the configured phases, but no stack's deployed phase is known (deployed checks not run)
  ${EXIT.DRIFT}  drift: a node differs from what the stack deployed
  ${EXIT.GATE_REFUSED}  up, plan --out: refused by a gate (check's rules); Pulumi did not run
  ${EXIT.POLICY_REFUSED}  up, plan --out: refused by the policy pack; Pulumi did not run
  ${EXIT.PLAN_REFUSED}  apply: the saved plan may not be applied (another stack, a changed stack file, too old)
  ${EXIT.NO_PULUMI}  up, plan --out, apply: no Pulumi CLI (the message says how to install it)
  plan --out --detailed-exitcode: 2 the plan holds changes (a usage error writes no summary.json)
  drift --detailed-exitcode: 2 a node drifted (a usage error prints no report)
  up, apply: 1 the update failed; plan --out: 1 the preview failed
  ${EXIT.INTERNAL}  internal error`;

const DEPLOYED = `deployed phase: from --deployed-file; else pulumi stack output --json --stack <stack> when a pulumi
binary is on PATH (an upstream ring by its org/project/stack name); else "unknown (no pulumi CLI)".
--deployed-file FILE: JSON {"<stack>": <outputs>}, each <outputs> as printed by pulumi stack output
--json (phase, phaseEnteredAt, ...), {} for a stack that never deployed; a stack the file does not
list is not known from it: reported as "unknown", nothing guessed.`;

export const MIGRATION_CTL: ToolDecl<CtlIo> = {
    name: "migration-ctl",
    description: `Phase changes are changes of the stack files stacks/Pulumi.<stack>.yaml: made with this tool or by
hand, reviewed as a pull request (where migration-ctl check --base <rev> runs), merged, then
applied with pulumi up --stack <stack>.`,
    globalOptions: [
        { flags: "--repo <DIR>", description: "repository holding stacks/ (default: git top level of the current folder, else the current folder)" },
        { flags: "--now <ISO>", description: "current time for soak arithmetic, e.g. 2025-06-01T12:00:00Z (default: the clock)" },
        { flags: "--deployed-file <FILE>", description: "deployed states instead of asking pulumi (below)" },
    ],
    groups: {
        phase: "configured and deployed phase of the stacks",
        color: "blue-green active color (pve-migration:blueGreen)",
        diagnostics: "diagnostics bundles: collect from the nodes, compare two",
    },
    commands: [phaseGet, phaseSet, rollback, plan, health, check, up, apply, colorGet, colorSet, colorFlip, diagnosticsCollect, diagnosticsCompare, drift, guard],
    footer: `${DEPLOYED}\n\n${EXIT_CODES}\n`,
};

/** Run migration-ctl with `argv` (without the program name); returns the exit code. */
export function main(argv: readonly string[], io: Partial<CtlIo> = {}): Promise<number> {
    return runTool(MIGRATION_CTL, argv, { ...processIo(), ...io });
}

/** The `--help` text of a command ("" for migration-ctl itself, "phase set", ...). */
export function help(words: string): string {
    return helpText(MIGRATION_CTL, words, { ...processIo(), stdout: () => undefined });
}
