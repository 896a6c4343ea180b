/** `migration-ctl health`. */
import type * as Commands from "../../components/ctl/commands";
import { CommandDecl } from "../command";
import { CtlIo, session } from "./session";

export const health: CommandDecl<CtlIo> = {
    name: "health",
    summary: "phase uniformity, ring order, soak of all stacks",
    options: [{ flags: "--json", description: "print JSON (below)" }],
    help: `Checks all stacks together; exits 1 when something is wrong:
  - every stack file is valid YAML and a valid stack config;
  - stacks of one cluster with a cluster-wide migration config (migrationConfig.scope cluster)
    are in the same phase and use the same file (configured, and deployed where known);
    node-scoped canaries may differ; no node is in two stacks of a cluster;
  - ring order: every ring.upstream exists, no cycle, no ring ahead of its upstream, and no ring
    level with an upstream that has not soaked (behindUntilSoaked), configured and deployed;
  - evidence files of the current phases are valid.
Soak status per stack (time in phase, required soak, evidence for the next promotion) is shown.

--json: {"schemaVersion":1,"command":"health","now","ok","problems":[],"stacks":[{"stack","file",
        "phase","deployed","cluster","scope","nodes","upstream","soak","notes"}]}`,
    run: ({ opts, io }) => (require("../../components/ctl/commands") as typeof Commands).health(session(opts, io), opts.json === true),
};
