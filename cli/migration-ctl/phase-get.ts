/** `migration-ctl phase get`. */
import type * as Commands from "../../components/ctl/commands";
import { CommandDecl } from "../command";
import { stringOption } from "../values";
import { CtlIo, session } from "./session";

export const phaseGet: CommandDecl<CtlIo> = {
    name: "phase get",
    summary: "configured (and deployed) phase of one or every stack",
    options: [
        { flags: "--stack <S>", description: "only this stack" },
        { flags: "--json", description: "print JSON (below)" },
    ],
    help: `The configured phase (pve-migration:phase in stacks/Pulumi.<stack>.yaml) of one stack, or of every
stack, and the deployed phase where known. A stack whose deployed phase differs from its configured
one is marked "pending pulumi up".

--json: {"schemaVersion":1,"command":"phase get","stacks":[{"stack","file","phase","configValid",
        "deployed":{"known","phase","phaseEnteredAt","source","reason"},"error"}]}`,
    run: ({ opts, io }) => {
        const s = session(opts, io);
        const c = require("../../components/ctl/commands") as typeof Commands;
        return c.phaseGet(s, stringOption(opts.stack), opts.json === true);
    },
};
