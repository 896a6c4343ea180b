/** `migration-ctl check --base REV`. */
import type * as Commands from "../../components/ctl/commands";
import { CommandDecl } from "../command";
import { CtlIo, requiredOption, session } from "./session";

export const check: CommandDecl<CtlIo> = {
    name: "check",
    summary: "check every stack config change since REV (pull requests)",
    options: [
        {
            flags: "--base <REV>",
            description:
                "the pull request's target (e.g. origin/main); required. A single-branch CI clone fetches it first: git fetch origin +refs/heads/main:refs/remotes/origin/main",
        },
        { flags: "--json", description: "print the report as JSON (below)" },
    ],
    help: `For pull requests: compares every stacks/Pulumi.<stack>.yaml at the merge base of HEAD and REV
(what the branch was made from) with the working tree and checks each change; exits 1 on any
violation, warns when REV has moved on since the merge base.
  promotion: at most one phase forward; ring order against the upstream's configured phase in the
    working tree (level with it only once it has soaked, when ring.behindUntilSoaked); evidence for
    leaving the base phase at stacks/evidence/<stack>/<base phase>.json present and passing
    (evaluated with the stack's soakSeconds, never less than at REV, its nodes and
    gates.maxLatencyRatio; not needed to leave perl-only, or with gates.requireEvidence false);
    evidence not collected after --now; when the deployed phase is known it must be the base
    phase, entered no later than the evidence says, and soaked.
  rollback: always allowed, no evidence needed.
  other changes: the config must stay valid. A new stack counts as a promotion from perl-only;
  removing a stack file is a violation unless it was in perl-only.

--json: {"schemaVersion":1,"command":"check","base","mergeBase","now","ok","violationCount","warningCount","warnings":[],
         "stacks":[{"stack","file","change":"added|removed|modified|unchanged","changedKeys":[],
         "basePhase","phase","transition":{"kind","steps","backupRequired","restoreRequired"}|null,
         "deployed":{"known","phase","phaseEnteredAt","source","reason"},
         "upstream":{"stack","phase","enteredAt","enteredAtSource","soaked","soakSeconds"}|null,
         "evidence":{"path","required","notRequiredBecause","present","valid","passed",
         "soakedSeconds","requiredSoakSeconds","reasons":[]}|null,
         "violations":[],"warnings":[],"notes":[]}]}`,
    run: ({ opts, io }) => {
        const base = requiredOption(opts, "base", "--base", "check");
        return (require("../../components/ctl/commands") as typeof Commands).check(session(opts, io), base, opts.json === true);
    },
};
