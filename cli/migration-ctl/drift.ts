/** `migration-ctl drift`. */
import * as path from "path";
import type * as Commands from "../../components/ctl/commands";
import { CommandDecl } from "../command";
import { stringOption } from "../values";
import { CtlIo, requiredOption, session } from "./session";

export const drift: CommandDecl<CtlIo> = {
    name: "drift",
    summary: "which nodes differ from what the stack deployed (read only)",
    options: [
        { flags: "--stack <S>", description: "the stack (required)" },
        { flags: "--identity <FILE>", description: "ssh private key (transport ssh)" },
        { flags: "--detailed-exitcode", description: "exit 2 (not 12) when a node drifted (terraform's convention)" },
        { flags: "--json", description: "print JSON (below)" },
    ],
    help: `Runs verify's own checks on every node of the stack, read only (no lock, nothing written, no log
line), over its transport (ssh with the pinned host key, or the sandbox root), against the phase the
stack deployed (its outputs: --deployed-file or pulumi; else its configured phase, said so): the
phase the node last verified (or a transition still in progress), the pinned package, the
migration config's checksum, the Rust daemon and the middleware, a pending interfaces.new, the
running network against /etc/network/interfaces, and the site's verify command. A pulumi up with
no change runs no step, so this is how an operator finds drift.

Exit 0 every node in step, 12 a node drifted (2 with --detailed-exitcode, as terraform plan
-refresh-only -detailed-exitcode; opt-in, because 2 is a usage error in every other case, which
prints no report), 1 a node could not be read (drift wins when both).
--json: {"schemaVersion":1,"command":"drift","stack","phase","phaseSource","drifted",
        "nodes":[{"node","lastVerified","drift":[],"error"}]}`,
    run: ({ opts, io }) => {
        const stack = requiredOption(opts, "stack", "--stack", "drift");
        const identity = stringOption(opts.identity);
        const s = session(opts, io);
        return (require("../../components/ctl/commands") as typeof Commands).drift(s, {
            stack,
            json: opts.json === true,
            detailedExitcode: opts.detailedExitcode === true,
            identity: identity !== undefined ? path.resolve(io.cwd, identity) : undefined,
        });
    },
};
