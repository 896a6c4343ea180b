/** `migration-ctl plan`. */
import * as path from "path";
import type * as Commands from "../../components/ctl/commands";
import { CommandDecl } from "../command";
import { UsageError } from "../errors";
import { stringOption } from "../values";
import { CtlIo, requiredOption, session } from "./session";

export const plan: CommandDecl<CtlIo> = {
    name: "plan",
    summary: "which nodes change, which steps run on each, in order",
    options: [
        { flags: "--stack <S>", description: "the stack (required)" },
        { flags: "--from <PHASE>", description: "the phase the nodes are in, when the deployed phase is unknown" },
        { flags: "--base <REV>", description: "take the from-phase from the stack file at this git revision" },
        { flags: "--to <PHASE>", description: "plan towards this phase instead of the configured one" },
        { flags: "--json", description: "print JSON (below)" },
        { flags: "--read-nodes", description: "read each node (read only) for what a rollback's restore would revert" },
        { flags: "--identity <FILE>", description: "ssh private key for --read-nodes (transport ssh)" },
    ],
    help: `Which nodes change and which steps run on each, in order, for the transition pulumi up --stack S
would make (README "What runs on a node"; components/plan). Touches nothing.

to:   the configured phase, or --to PHASE.
from: the deployed phase when known (--deployed-file or pulumi); else --from PHASE; else the
      phase configured at git revision --base REV (perl-only if the stack has no file there).
      The output says which.

--json: {"schemaVersion":1,"command":"plan","stack","cluster","scope","writerNode","from",
        "fromSource","to","toSource","transition":{"kind","steps","backupRequired",
        "restoreRequired"},"changingNodes":[],"nodes":[{"node","steps":[{"id","kind",
        "dependsOn"}]}],"clusterSteps":[{"id","kind","node","dependsOn"}],"criticalPath":[],"commands":[{"id","node","steps","dependsOn"}]}

--read-nodes: for a rollback that restores a backup, reads every node over the stack's transport
      (ssh with the pinned host key and --identity, or the sandbox root), read only (no lock,
      nothing written), and lists per node the backup the restore takes, its age, and a unified
      diff of each file it would change (interfaces, lxc/*.conf; sdn.cfg and storage.cfg on the
      writer node). Off by default: a pull request's CI cannot reach the nodes. With --json:
      "restorePreview":[{"node","parts","backup","backupTakenAt","backupAgeSeconds",
      "files":[{"path","change","diff"}],"refused","error"}]. Exit 1 when a node could not be
      read, 8 when a restore would refuse.`,
    run: ({ opts, io }) => {
        const stack = requiredOption(opts, "stack", "--stack", "plan");
        const from = stringOption(opts.from);
        const base = stringOption(opts.base);
        if (from !== undefined && base !== undefined) throw new UsageError("plan: give --from or --base, not both");
        const s = session(opts, io);
        const identity = stringOption(opts.identity);
        if (identity !== undefined && opts.readNodes !== true) throw new UsageError("plan: --identity goes with --read-nodes");
        return (require("../../components/ctl/commands") as typeof Commands).plan(s, {
            stack,
            from,
            base,
            to: stringOption(opts.to),
            json: opts.json === true,
            readNodes: opts.readNodes === true,
            identity: identity !== undefined ? path.resolve(io.cwd, identity) : undefined,
        });
    },
};
