/** `migration-ctl phase set <phase>`. */
import type * as Commands from "../../components/ctl/commands";
import { PHASES } from "../../components/phases";
import { CommandDecl } from "../command";
import { CtlIo, JSON_WRITE_HELP, requiredOption, runWriting } from "./session";

export const phaseSet: CommandDecl<CtlIo> = {
    name: "phase set",
    summary: "change a stack's configured phase; prints the diff",
    args: [{ name: "phase", description: PHASES.join(" | ") }],
    options: [
        { flags: "--stack <S>", description: "the stack to change (required)" },
        { flags: "--dry-run", description: "print the diff, write nothing" },
        { flags: "--json", description: "print what was done as JSON (below)" },
    ],
    help: `Set pve-migration:phase in stacks/Pulumi.<S>.yaml, in place: only the value changes; comments, key
order and formatting stay byte for byte. Prints the change as a unified diff.

Refused (exit 8, file untouched):
  - a promotion of more than one phase (the reason names the next phase);
  - when the deployed phase is known: a promotion more than one phase past it;
  - a promotion that puts the ring ahead of its upstream's configured phase, or level with it
    before the upstream has soaked (ring.behindUntilSoaked); the upstream's soak is measured from
    its deployed phaseEnteredAt, else from its passing evidence for leaving its phase.
A rollback to any lower phase is always allowed (and, below rust-full, sets
pve-migration:fallbackEnabled back to true if it was false). Promotion gates that migration-ctl
check enforces (evidence, own soak) are shown as warnings.

Then: commit, open a pull request (migration-ctl check --base <target branch> runs), merge,
pulumi up --stack S.

${JSON_WRITE_HELP}`,
    run: ({ args, opts, io }) => {
        const stack = requiredOption(opts, "stack", "--stack", "phase set");
        return runWriting("phase set", opts, io, (s) =>
            (require("../../components/ctl/commands") as typeof Commands).phaseSet(s, args[0], stack, opts.dryRun === true),
        );
    },
};
