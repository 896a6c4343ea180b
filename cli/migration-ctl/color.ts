/** `migration-ctl color get|set|flip`: three declarations sharing the blue-green text. */
import type * as Commands from "../../components/ctl/commands";
import { CommandDecl } from "../command";
import { CtlIo, JSON_WRITE_HELP, requiredOption, runWriting, session } from "./session";

const ABOUT = `The blue-green active color in pve-migration:blueGreen (components/bluegreen decides what a flip
may do and writes activeColor, lastFlip and rollbackTarget). set and flip edit the stack file in
place like phase set and print the diff; a refused flip exits 8 with the reason. Then: pull
request, merge, pulumi up --stack S.`;

const commands = () => require("../../components/ctl/commands") as typeof Commands;
const STACK = { flags: "--stack <S>", description: "the stack (required)" };
const DRY_RUN = { flags: "--dry-run", description: "print the diff, write nothing" };

export const colorGet: CommandDecl<CtlIo> = {
    name: "color get",
    summary: "the active color and what a flip would do",
    options: [STACK, { flags: "--json", description: "print the color status as JSON" }],
    help: ABOUT,
    run: ({ opts, io }) => {
        const stack = requiredOption(opts, "stack", "--stack", "color get");
        return commands().colorCommand(session(opts, io), "get", undefined, stack, opts.json === true, false);
    },
};

export const colorSet: CommandDecl<CtlIo> = {
    name: "color set",
    summary: "make a color active",
    args: [{ name: "color", description: "blue | green" }],
    options: [STACK, DRY_RUN, { flags: "--json", description: "print what was done as JSON (below)" }],
    help: `${ABOUT}\n\n${JSON_WRITE_HELP}`,
    run: ({ args, opts, io }) => {
        const stack = requiredOption(opts, "stack", "--stack", "color set");
        return runWriting("color set", opts, io, (s) => commands().colorCommand(s, "set", args[0], stack, false, opts.dryRun === true));
    },
};

export const colorFlip: CommandDecl<CtlIo> = {
    name: "color flip",
    summary: "make the idle color active (or roll a flip back)",
    options: [STACK, DRY_RUN, { flags: "--json", description: "print what was done as JSON (below)" }],
    help: `${ABOUT}\n\n${JSON_WRITE_HELP}`,
    run: ({ opts, io }) => {
        const stack = requiredOption(opts, "stack", "--stack", "color flip");
        return runWriting("color flip", opts, io, (s) => commands().colorCommand(s, "flip", undefined, stack, false, opts.dryRun === true));
    },
};
