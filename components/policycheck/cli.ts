/**
 * `npm run policy -- --stack S [--from PHASE] [--deployed-file F] [--json] ...`: the offline
 * policy check as a command. Exit 0: no mandatory violation; 1: a mandatory violation, a
 * policy that failed, or a program that refused the config; 2: a usage error.
 */
import * as fs from "fs";
import * as path from "path";
import { PolicyPackConfig } from "@pulumi/policy";
import { UsageError, bool, parseArgs, str } from "../gates/argv";
import { PHASES, isPhase } from "../phases";
import { CheckResult, PACK, checkStack } from "./check";
import { CtlError } from "../ctl/errors";
import { deployedFromFile } from "../ctl/deployed";

export const USAGE = `usage: npm run policy -- --stack STACK [options]

Runs the Pulumi program for STACK under the SDK's mock runtime (no Pulumi CLI, no backend),
with the program's own guards off, and evaluates every policy of the pack in policies/ on
the resources it registers: the violations are what a preview reports; the last line says
what pulumi up --skip-preview would do (resource policies stop the first offending resource
before it is created; stack policies run only after every step).

  --stack STACK           stack to check (config from stacks/Pulumi.STACK.yaml)
  --from PHASE            the phase STACK has deployed (default: its configured phase)
  --deployed-file FILE    JSON { "<stack>": <outputs as pulumi stack output --json prints them> },
                          e.g. { "canary-a": { "phase": ..., "phaseEnteredAt": ... } }: what STACK
                          and its upstream have deployed; {} for a stack that never deployed; a
                          stack the file does not list is not known from it and is taken as
                          deployed in its configured phase (as without the flag)
  --stack-file FILE       check this stack file instead of stacks/Pulumi.STACK.yaml
  --policy-config FILE    policy pack config, as for pulumi --policy-pack-config
  --project-dir DIR       folder of Pulumi.yaml (default: the current folder)
  --json                  print the result as JSON
  --help                  print this help

Exit status: 0 no mandatory violation, 1 a mandatory violation (or a policy or the program
failed), 2 a usage error.
`;

export interface CliIo {
    readonly stdout: (text: string) => void;
    readonly stderr: (text: string) => void;
    readonly cwd: string;
}

const SPECS = {
    stack: { kind: "string" },
    from: { kind: "string" },
    "deployed-file": { kind: "string" },
    "stack-file": { kind: "string" },
    "policy-config": { kind: "string" },
    "project-dir": { kind: "string" },
    json: { kind: "boolean" },
    help: { kind: "boolean" },
} as const;

function readJsonFile(file: string, flag: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch {
        throw new UsageError(`--${flag}: cannot read ${file}`);
    }
}

/** Text report: one block per violation (level, policy, resource, message). */
export function formatText(r: CheckResult): string {
    const lines: string[] = [];
    lines.push(`policy check of stack ${r.stack}: ${r.from} -> ${r.to}, ${r.resources.length} resources, ${r.policiesRun.length} policies (pack ${PACK.name})`);
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
                    stackViolationsAfterSteps: r.skipPreview.stackViolationsAfterSteps.map((v) => ({ policy: v.policy, enforcementLevel: v.enforcementLevel, urn: v.urn, name: v.name, message: v.message })),
                },
            },
            null,
            2,
        ) + "\n"
    );
}

/** Run the check for `argv`; returns the exit status. */
export async function policyCheckMain(argv: readonly string[], io: CliIo): Promise<number> {
    let json = false;
    try {
        const a = parseArgs(argv, SPECS);
        if (bool(a, "help")) {
            io.stdout(USAGE);
            return 0;
        }
        json = bool(a, "json");
        if (a.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(a.positionals[0])}`);
        const stack = str(a, "stack");
        if (stack === undefined || stack === "") throw new UsageError("--stack is required");
        if (!/^[A-Za-z0-9._-]+$/.test(stack)) throw new UsageError(`--stack: not a stack name (got ${JSON.stringify(stack)})`);
        const from = str(a, "from");
        if (from !== undefined && !isPhase(from)) throw new UsageError(`--from: must be one of ${PHASES.join(", ")} (got ${JSON.stringify(from)})`);
        const projectDir = path.resolve(io.cwd, str(a, "project-dir") ?? ".");
        const deployedFile = str(a, "deployed-file");
        let deployed: ReturnType<typeof deployedFromFile> | undefined;
        try {
            deployed = deployedFile !== undefined ? deployedFromFile(path.resolve(io.cwd, deployedFile)) : undefined;
        } catch (e) {
            // The one --deployed-file parser (migration-ctl's); its errors are usage errors here too.
            if (e instanceof CtlError) throw new UsageError(e.message);
            throw e;
        }
        const configFile = str(a, "policy-config");
        let policyConfig: PolicyPackConfig | undefined;
        if (configFile !== undefined) {
            try {
                policyConfig = JSON.parse(readJsonFile(path.resolve(io.cwd, configFile), "policy-config"));
            } catch (e) {
                if (e instanceof UsageError) throw e;
                throw new UsageError(`--policy-config ${configFile}: not valid JSON: ${(e as Error).message}`);
            }
        }
        const stackFile = str(a, "stack-file");
        const result = await checkStack({
            projectDir,
            stack,
            stackFile: stackFile !== undefined ? path.resolve(io.cwd, stackFile) : undefined,
            from,
            deployed,
            policyConfig,
        });
        io.stdout(json ? formatJson(result) : formatText(result));
        return result.passed ? 0 : 1;
    } catch (e) {
        if (e instanceof UsageError) {
            io.stderr(`policy-check: ${e.message}\n`);
            if (!json) io.stderr(USAGE);
            return 2;
        }
        // The program refused the config (or failed): a real preview fails the same way.
        const message = `the program failed: ${(e as Error).message}`;
        if (json) io.stdout(JSON.stringify({ passed: false, error: message }, null, 2) + "\n");
        io.stderr(`policy-check: ${message}\n`);
        return 1;
    }
}
