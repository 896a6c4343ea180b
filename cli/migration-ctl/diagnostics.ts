/** `migration-ctl diagnostics collect` and `migration-ctl diagnostics compare`. */
import * as path from "path";
import type * as Diagnostics from "../../components/diagnostics/command";
import { CommandDecl } from "../command";
import { listOption, stringOption } from "../values";
import { CtlIo, requiredOption, session } from "./session";

const diagnostics = () => require("../../components/diagnostics/command") as typeof Diagnostics;

export const diagnosticsCollect: CommandDecl<CtlIo> = {
    name: "diagnostics collect",
    summary: "collect a diagnostics bundle from every node (or --node) of a stack",
    options: [
        { flags: "--stack <S>", description: "the stack whose nodes to collect from (required)" },
        { flags: "--node <N>", description: "only this node (repeatable)", repeatable: true },
        { flags: "--root-dir <DIR>", description: "folder holding stacks/ (default: --repo, or the repository of the current folder)" },
        { flags: "--out <DIR>", description: "bundle folder (default <root-dir>/stacks/evidence/<S>/diagnostics)" },
        { flags: "--label <L>", description: "added to the bundle names (lower-case letters, digits, '-')" },
        { flags: "--identity <FILE>", description: "ssh private key (transport ssh)" },
    ],
    help: `Runs the collector on each node (transport local: against <sandboxDir>/<node>; transport ssh: over
the system ssh with the host key pinned from the stack file), one bundle per node
<node>-<UTC time>[-<label>].tar.gz. A node that fails is reported; the others are still collected
(exit 1).`,
    run: async ({ opts, io }) => {
        const stack = requiredOption(opts, "stack", "--stack", "diagnostics collect");
        const root = stringOption(opts.rootDir);
        const s = session(opts, io);
        const out = stringOption(opts.out);
        return diagnostics().collectDiagnostics(
            {
                stack,
                rootDir: root !== undefined ? path.resolve(io.cwd, root) : s.repo,
                nodes: listOption(opts.node),
                outDir: out !== undefined ? path.resolve(io.cwd, out) : undefined,
                label: stringOption(opts.label),
                identity: stringOption(opts.identity),
                when: s.now,
            },
            io,
        );
    },
};

export const diagnosticsCompare: CommandDecl<CtlIo> = {
    name: "diagnostics compare",
    summary: "what changed between two bundles",
    args: [
        { name: "A.tar.gz", description: "the earlier bundle" },
        { name: "B.tar.gz", description: "the later bundle" },
    ],
    options: [{ flags: "--json", description: "print the comparison as JSON" }],
    run: ({ args, opts, io }) => diagnostics().compareDiagnostics(path.resolve(io.cwd, args[0]), path.resolve(io.cwd, args[1]), opts.json === true, io),
};
