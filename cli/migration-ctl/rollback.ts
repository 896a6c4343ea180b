/** `migration-ctl rollback`. */
import type * as Commands from "../../components/ctl/commands";
import { PHASES } from "../../components/phases";
import { CommandDecl } from "../command";
import { stringOption } from "../values";
import { CtlIo, JSON_WRITE_HELP, requiredOption, runWriting } from "./session";

export const rollback: CommandDecl<CtlIo> = {
    name: "rollback",
    summary: "write the previous (or a given lower) phase",
    options: [
        { flags: "--stack <S>", description: "the stack to roll back (required)" },
        { flags: "--to <PHASE>", description: "the target phase; must be lower than the configured phase (else exit 8)" },
        { flags: "--dry-run", description: "print the diff, write nothing" },
        { flags: "--json", description: "print what was done as JSON (below)" },
    ],
    help: `Write a lower phase into stacks/Pulumi.<S>.yaml (same in-place edit and diff as phase set): the
phase before the configured one, or PHASE. A rollback is always allowed and needs no evidence;
pulumi up --stack S then runs the rollback steps (README "What runs on a node"), restoring the latest
verified backup when leaving the write phases for a non-write phase.

phases, in order: ${PHASES.join(", ")}

${JSON_WRITE_HELP}`,
    run: ({ opts, io }) => {
        const stack = requiredOption(opts, "stack", "--stack", "rollback");
        return runWriting("rollback", opts, io, (s) =>
            (require("../../components/ctl/commands") as typeof Commands).rollback(s, stack, stringOption(opts.to), opts.dryRun === true),
        );
    },
};
