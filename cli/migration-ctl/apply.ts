/** `migration-ctl apply`. */
import * as path from "path";
import type * as Pipeline from "../pipeline";
import { CommandDecl } from "../command";
import { stringOption } from "../values";
import { CtlIo, pipelineIo, session } from "./session";
import { PIPELINE_EVENTS_HELP } from "./up";

export const apply: CommandDecl<CtlIo> = {
    name: "apply",
    summary: "pulumi up --plan on exactly a plan saved by plan --out",
    args: [{ name: "DIR", description: "the folder plan --out wrote" }],
    options: [
        { flags: "--stack <S>", description: "refuse the plan unless it was made for this stack" },
        { flags: "--install-cli", description: "install the Pulumi CLI into .tools/pulumi when none is found" },
        { flags: "--json", description: "JSON lines: engine events, then a summary (below)" },
    ],
    help: `Applies exactly the plan in DIR: pulumi up --plan DIR/pulumi-plan.json through the Automation
API (the engine refuses any operation the plan does not allow). Refused first (exit 15, every
reason listed, nothing run) when
  - DIR holds no appliable plan (the plan was refused or its preview failed),
  - it was made for another project, or another stack than --stack, or against another backend,
  - stacks/Pulumi.<stack>.yaml changed since (another content, or another commit of it),
  - it is older than pve-migration:pipeline.planMaxAgeMinutes (default 60) by --now or the clock,
  - the stack's outputs changed since the plan (another update ran).

${PIPELINE_EVENTS_HELP}

Exit 0 the update succeeded, 1 it failed, 15 the plan was refused, 16 no Pulumi CLI.`,
    run: ({ args, opts, io }) => {
        const s = session(opts, io);
        return (require("../pipeline") as typeof Pipeline).runApply(s, pipelineIo(opts, io), {
            dir: path.resolve(io.cwd, args[0]),
            stack: stringOption(opts.stack),
            installCli: opts.installCli === true,
        });
    },
};
