/** `migration-ctl up`. */
import type * as Pipeline from "../pipeline";
import type * as PolicyCheck from "../policy-check";
import { CommandDecl } from "../command";
import { stringOption } from "../values";
import { CtlIo, pipelineIo, requiredOption, session } from "./session";

export const PIPELINE_EVENTS_HELP = `--json: one JSON object per line: every engine event in this project's terms, then a summary
        {"type":"step","event":"started|planned|finished|failed","node","cluster","resource","steps":[],
        "op","at",("result","durationSeconds","log":[{"step","result","detail","at"}],"error")}
        {"type":"resource",...} other resources, {"type":"diagnostic","severity","node","resource","message"},
        {"type":"policy","pack","policy","enforcement","resource","message"}, {"type":"cancelled","at"},
        last {"type":"summary",...}. Without --json: a progress display per node on a terminal (stderr),
        else one line per step.`;

export const up: CommandDecl<CtlIo> = {
    name: "up",
    summary: "the main job in one command: gates, policies, pulumi up (Automation API)",
    options: [
        { flags: "--stack <S>", description: "the stack (required)" },
        { flags: "--install-cli", description: "install the Pulumi CLI into .tools/pulumi when none is found" },
        { flags: "--policy-config <FILE>", description: "policy pack config for the offline check, as for pulumi --policy-pack-config" },
        { flags: "--json", description: "JSON lines: engine events, then a summary (below)" },
    ],
    help: `Runs pulumi up --stack S through the Pulumi Automation API, after this project's gates
(migration-ctl check's rules: legal transition, ring order and soak, evidence, change windows)
and its policy pack (the offline check) passed for the transition from the deployed phase.

Backend: PULUMI_BACKEND_URL when set; else for the dev stack a local file backend in the
project (.pulumi-state/, gitignored), else the Pulumi CLI's login. The dev stack: its sandbox
(npm run dev:sandbox) is created when missing, the stack is created when missing, and an empty
passphrase is used when PULUMI_CONFIG_PASSPHRASE(_FILE) is not set (it holds no secret). Any
other stack must exist in the backend (exit 3 otherwise: pulumi stack init creates a ring).

Needs the Pulumi CLI (.tools/pulumi, else on PATH); without one it says how to install it, or
installs it with the Automation API's installer when given --install-cli.

${PIPELINE_EVENTS_HELP}

Exit 0 the update succeeded, 1 it failed, 3 the stack does not exist in the backend, 13 refused
by a gate, 14 refused by the policy pack, 16 no Pulumi CLI.`,
    run: ({ opts, io }) => {
        const stack = requiredOption(opts, "stack", "--stack", "up");
        const s = session(opts, io);
        const policyConfig = stringOption(opts.policyConfig);
        return (require("../pipeline") as typeof Pipeline).runUp(s, pipelineIo(opts, io), {
            stack,
            installCli: opts.installCli === true,
            policyConfig: policyConfig !== undefined ? (require("../policy-check") as typeof PolicyCheck).readPolicyConfig(io.cwd, policyConfig) : undefined,
        });
    },
};
