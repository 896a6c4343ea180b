/**
 * `npm run policy -- --stack S [--from PHASE] [--deployed-file F] [--json] ...`: the offline
 * policy check as a command (check.ts). A single-command tool; relative paths are the caller's
 * (INIT_CWD under npm run).
 */
import * as fs from "fs";
import * as path from "path";
import type { PolicyPackConfig } from "@pulumi/policy";
import { ConfigError } from "../../components/config/schema";
import { PHASES, isPhase } from "../../components/phases";
import { deployedFromFile } from "../../components/ctl/deployed";
import { Io, ToolDecl, helpText, processIo, runTool } from "../command";
import { CliError, UsageError } from "../errors";
import { packageRoot } from "../version";
import { stringOption } from "../values";
import type { CheckResult } from "./check";

function readJsonFile(file: string, flag: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch {
        throw new UsageError(`--${flag}: cannot read ${file}`);
    }
}

/** A policy pack config file (`--policy-config FILE`, the format of pulumi --policy-pack-config); errors name the flag. */
export function readPolicyConfig(cwd: string, file: string): PolicyPackConfig {
    const text = readJsonFile(path.resolve(cwd, file), "policy-config");
    try {
        return JSON.parse(text) as PolicyPackConfig;
    } catch (e) {
        throw new UsageError(`--policy-config ${file}: not valid JSON: ${(e as Error).message}`);
    }
}

/** The folder of Pulumi.yaml: the nearest one at or above `cwd`, else this package's. */
export function findProjectDir(cwd: string): string {
    for (let d = cwd; ; d = path.dirname(d)) {
        if (fs.existsSync(path.join(d, "Pulumi.yaml"))) return d;
        if (path.dirname(d) === d) return packageRoot();
    }
}

/** The pack's name (loads the pack, as the check itself does). */
const packName = (): string => (require("./check") as typeof import("./check")).PACK.name;

/** Text report: one block per violation (level, policy, resource, message). */
export function formatText(r: CheckResult): string {
    const lines: string[] = [];
    lines.push(`policy check of stack ${r.stack}: ${r.from} -> ${r.to}, ${r.resources.length} resources, ${r.policiesRun.length} policies (pack ${packName()})`);
    for (const p of r.placeholders) lines.push(`note: ${p}`);
    for (const v of r.violations) {
        lines.push(`${v.enforcementLevel.padEnd(9)} ${v.policy}  ${v.urn || "(stack)"}`);
        lines.push(`          ${v.message}`);
    }
    for (const e of r.errors) lines.push(`error     ${e}`);
    lines.push(...formatSkipPreview(r));
    lines.push(
        `${r.violations.length} violation(s): ${r.mandatory} mandatory, ${r.advisory} advisory` +
            (r.errors.length ? `; ${r.errors.length} policy error(s)` : "") +
            ` -> ${r.passed ? "passed" : "FAILED"}`,
    );
    return lines.join("\n") + "\n";
}

/**
 * What `pulumi up --skip-preview` would do (no preview stops it first): resource policies run
 * as each resource is registered, before it is created; stack policies only after every step.
 */
export function formatSkipPreview(r: CheckResult): string[] {
    const s = r.skipPreview;
    if (s.stoppedAt) {
        const before = s.registeredBefore.length ? s.registeredBefore.join(", ") : "none";
        return [
            `with --skip-preview: pulumi up stops at ${s.stoppedAt.name} (${s.stoppedAt.policy}) before creating it; registered before it, so possibly created already: ${before}`,
        ];
    }
    const stack = s.stackViolationsAfterSteps.filter((v) => v.enforcementLevel === "mandatory");
    if (stack.length === 0) return ["with --skip-preview: no resource policy stops a step; the stack policies find nothing mandatory after the steps"];
    return [
        `with --skip-preview: no resource policy stops a step; every step runs, then the stack policies fail the update (${[...new Set(stack.map((v) => v.policy))].join(", ")}): run pulumi preview (or pulumi up without --skip-preview) first`,
    ];
}

export function formatJson(r: CheckResult): string {
    return (
        JSON.stringify(
            {
                stack: r.stack,
                from: r.from,
                to: r.to,
                passed: r.passed,
                mandatory: r.mandatory,
                advisory: r.advisory,
                resources: r.resources.length,
                policies: r.policiesRun,
                placeholders: r.placeholders,
                violations: r.violations.map((v) => ({ policy: v.policy, enforcementLevel: v.enforcementLevel, urn: v.urn, name: v.name, message: v.message })),
                errors: r.errors,
                skipPreview: {
                    stoppedAt: r.skipPreview.stoppedAt ?? null,
                    registeredBefore: r.skipPreview.registeredBefore,
                    stackViolationsAfterSteps: r.skipPreview.stackViolationsAfterSteps.map((v) => ({
                        policy: v.policy,
                        enforcementLevel: v.enforcementLevel,
                        urn: v.urn,
                        name: v.name,
                        message: v.message,
                    })),
                },
            },
            null,
            2,
        ) + "\n"
    );
}

export const POLICY_CHECK: ToolDecl = {
    name: "policy-check",
    description: `Runs the Pulumi program for STACK under the SDK's mock runtime (no Pulumi CLI, no backend), with the
program's own guards off, and evaluates every policy of the pack in policies/ on the resources it
registers: the violations are what a preview reports; the last line says what pulumi up
--skip-preview would do (resource policies stop the first offending resource before it is created;
stack policies run only after every step).`,
    commands: [
        {
            name: "",
            summary: "",
            options: [
                { flags: "--stack <STACK>", description: "stack to check (config from stacks/Pulumi.STACK.yaml); required" },
                { flags: "--from <PHASE>", description: "the phase STACK has deployed (default: its configured phase)" },
                {
                    flags: "--deployed-file <FILE>",
                    description:
                        'JSON { "<stack>": <outputs as pulumi stack output --json prints them> }, e.g. { "canary-a": { "phase": ..., "phaseEnteredAt": ... } }: what STACK and its upstream have deployed; {} for a stack that never deployed; a stack the file does not list is not known from it and is taken as deployed in its configured phase (as without the flag)',
                },
                { flags: "--stack-file <FILE>", description: "check this stack file instead of stacks/Pulumi.STACK.yaml" },
                { flags: "--policy-config <FILE>", description: "policy pack config, as for pulumi --policy-pack-config" },
                { flags: "--project-dir <DIR>", description: "folder of Pulumi.yaml (default: the nearest one at or above the current folder)" },
                { flags: "--json", description: "print the result as JSON" },
            ],
            help: "Relative paths are taken from the folder the command was started in (under npm run: INIT_CWD).",
            run: async ({ opts, io }) => {
                const stack = stringOption(opts.stack);
                if (stack === undefined || stack === "") throw new UsageError("--stack is required");
                if (!/^[A-Za-z0-9._-]+$/.test(stack)) throw new UsageError(`--stack: not a stack name (got ${JSON.stringify(stack)})`);
                const from = stringOption(opts.from);
                if (from !== undefined && !isPhase(from)) throw new UsageError(`--from: must be one of ${PHASES.join(", ")} (got ${JSON.stringify(from)})`);
                const dirFlag = stringOption(opts.projectDir);
                const projectDir = dirFlag !== undefined ? path.resolve(io.cwd, dirFlag) : findProjectDir(io.cwd);
                const deployedFile = stringOption(opts.deployedFile);
                // The one --deployed-file parser (migration-ctl's): its errors are exit 2, one line naming the file.
                const deployed = deployedFile !== undefined ? deployedFromFile(path.resolve(io.cwd, deployedFile)) : undefined;
                const configFile = stringOption(opts.policyConfig);
                const policyConfig = configFile !== undefined ? readPolicyConfig(io.cwd, configFile) : undefined;
                const stackFile = stringOption(opts.stackFile);
                const json = opts.json === true;
                // The Pulumi SDK and the pack load only here: --help and usage errors need neither.
                const { checkStack } = await import("./check");
                let result: CheckResult;
                try {
                    result = await checkStack({
                        projectDir,
                        stack,
                        stackFile: stackFile !== undefined ? path.resolve(io.cwd, stackFile) : undefined,
                        from,
                        deployed,
                        policyConfig,
                    });
                } catch (e) {
                    // The program refused the config: a real preview fails the same way (exit 1).
                    if (!(e instanceof ConfigError)) throw e;
                    const message = `the program failed: ${e.message}`;
                    if (json) io.stdout(JSON.stringify({ passed: false, error: message }, null, 2) + "\n");
                    throw new CliError(1, message);
                }
                io.stdout(json ? formatJson(result) : formatText(result));
                return result.passed ? 0 : 1;
            },
        },
    ],
    footer: `exit codes:
  0   no mandatory violation
  1   a mandatory violation, a policy that failed, or a program that refused the config
  2   usage error
  70  internal error
`,
};

/** Run the check for `argv`; returns the exit status. */
export function policyCheckMain(argv: readonly string[], io: Partial<Io> = {}): Promise<number> {
    return runTool(POLICY_CHECK, argv, { ...processIo(), ...io });
}

/** The `--help` text. */
export const usage = (): string => helpText(POLICY_CHECK, "", { ...processIo(), stdout: () => undefined });
