/** `migration-ctl plan`. */
import * as path from "path";
import type * as Commands from "../../components/ctl/commands";
import type * as Pipeline from "../pipeline";
import type * as PolicyCheck from "../policy-check";
import { CommandDecl } from "../command";
import { UsageError } from "../errors";
import { stringOption } from "../values";
import { CtlIo, pipelineIo, requiredOption, session } from "./session";
import { PIPELINE_EVENTS_HELP } from "./up";

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
        { flags: "--out <DIR>", description: "a pipeline plan: gates, policies, pulumi preview --save-plan into DIR (below)" },
        { flags: "--detailed-exitcode", description: "with --out: exit 2 when the plan holds changes (terraform's convention)" },
        { flags: "--install-cli", description: "with --out: install the Pulumi CLI into .tools/pulumi when none is found" },
        { flags: "--policy-config <FILE>", description: "with --out: policy pack config for the offline check, as for pulumi --policy-pack-config" },
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
      read, 8 when a restore would refuse.

--out DIR: a plan a pipeline stores and applies later with migration-ctl apply DIR. From the
      deployed phase (the stack's outputs, through the Automation API) to the configured one: runs
      the gates (check's rules) and the policy pack (offline), then pulumi preview --save-plan
      (Automation API; needs the Pulumi CLI, see migration-ctl up --help for the backend) and
      writes DIR/pulumi-plan.json (only when it may be applied), DIR/plan-meta.json (what apply
      checks), DIR/summary.json and DIR/summary.txt: the transition, per node the step commands the
      program registers with the operation the preview planned, the gate and evidence and soak
      verdicts, every policy result, the engine's change counts, and with --read-nodes what a
      restore would revert. DIR is created; a folder with other files is refused.
      Exit 0 planned (no changes, or changes without --detailed-exitcode), 2 changes (with
      --detailed-exitcode), 1 the preview failed, 13 refused by a gate, 14 refused by the policy
      pack, 16 no Pulumi CLI. A usage error also exits 2, as in every command: it writes no
      summary.json, a plan always does.
${PIPELINE_EVENTS_HELP}`,
    run: ({ opts, io }) => {
        const stack = requiredOption(opts, "stack", "--stack", "plan");
        const out = stringOption(opts.out);
        if (out === undefined) {
            for (const [key, flag] of [
                ["detailedExitcode", "--detailed-exitcode"],
                ["installCli", "--install-cli"],
                ["policyConfig", "--policy-config"],
            ] as const)
                if (opts[key] !== undefined && opts[key] !== false) throw new UsageError(`plan: ${flag} goes with --out`);
        } else {
            for (const [key, flag] of [
                ["from", "--from"],
                ["base", "--base"],
                ["to", "--to"],
            ] as const)
                if (opts[key] !== undefined)
                    throw new UsageError(`plan: ${flag} does not go with --out (a saved plan is from the deployed phase to the configured one)`);
            if (out === "") throw new UsageError("plan: --out must not be empty");
            const identityOut = stringOption(opts.identity);
            if (identityOut !== undefined && opts.readNodes !== true) throw new UsageError("plan: --identity goes with --read-nodes");
            const s = session(opts, io);
            const policyConfig = stringOption(opts.policyConfig);
            return (require("../pipeline") as typeof Pipeline).runPlanOut(s, pipelineIo(opts, io), {
                stack,
                out: path.resolve(io.cwd, out),
                detailedExitcode: opts.detailedExitcode === true,
                readNodes: opts.readNodes === true,
                identity: identityOut !== undefined ? path.resolve(io.cwd, identityOut) : undefined,
                installCli: opts.installCli === true,
                policyConfig: policyConfig !== undefined ? (require("../policy-check") as typeof PolicyCheck).readPolicyConfig(io.cwd, policyConfig) : undefined,
            });
        }
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
