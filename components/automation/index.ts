/**
 * The one module of this repository that runs Pulumi: the Automation API (LocalWorkspace on this
 * project, its stack files in stacks/) behind `PulumiRunner`, a four-call interface. Everything
 * else (migration-ctl up / plan --out / apply, the rollback guard) takes a PulumiRunner, so the
 * tests give it a stand-in: no Pulumi CLI exists on the development and CI machines, and none
 * can be installed there (its installers download binaries). `npm run e2e` runs this module for
 * real on a machine that has the CLI.
 *
 * How the Automation API behaves, from its source (@pulumi/pulumi 3.270.0, node_modules):
 * - It drives the CLI: automation/cmd.js `PulumiCommand.get({ root })` runs `<root>/bin/pulumi
 *   version` (without root: `pulumi` on PATH) and throws when that fails; every operation then
 *   runs that binary with `--non-interactive` (PulumiCommand.run).
 * - `PulumiCommand.install({ root })` first tries `get`, then downloads
 *   https://get.pulumi.com/install.sh and runs it with `--install-root <root> --version <the
 *   SDK's own version>`.
 * - automation/stack.js `preview({ plan })` passes `--save-plan <plan>`; `up({ plan })` passes
 *   `--plan <plan>`. pulumi/pulumi pkg/cmd/pulumi/operations/preview.go writes the plan file
 *   (`pkgPlan.Write`) only when the preview succeeded, and up.go reads it into
 *   `opts.Engine.Plan`, which makes the engine refuse any operation the plan does not allow.
 *   The `--plan` flag of up is hidden unless PULUMI_EXPERIMENTAL is set, but it is parsed either
 *   way (up.go: `MarkHidden("plan")` only hides it from help).
 * - `onEvent` receives every engine event (automation/events.ts `EngineEvent`), read from the
 *   CLI's `--event-log` file; `preview` returns the summary event's `resourceChanges` as
 *   `changeSummary`, `up` returns `summary.resourceChanges` and `summary.result`.
 * - A passphrase secrets provider reads PULUMI_CONFIG_PASSPHRASE even when it is empty
 *   (pulumi/pulumi pkg/secrets/passphrase/manager.go readPassphrase: `os.LookupEnv`; its test
 *   TestPassphraseManagerEmptyPassphraseIsValid).
 */
import type { EngineEvent } from "@pulumi/pulumi/automation";

export type { EngineEvent } from "@pulumi/pulumi/automation";

/** Where and how one operation runs. */
export interface RunTarget {
    /** The project folder (Pulumi.yaml). */
    readonly workDir: string;
    readonly stack: string;
    /** Environment of the CLI (PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE, ...), over this process's. */
    readonly envVars: Readonly<Record<string, string>>;
    /** Create the stack when it does not exist (else select it, and fail when it does not exist). */
    readonly create: boolean;
    /** Every engine event, in order. */
    readonly onEvent: (e: EngineEvent) => void;
    /** Where the CLI is installed (`<root>/bin/pulumi`); undefined: `pulumi` on PATH. */
    readonly cliRoot?: string;
}

/** Resource operations by kind ("create", "same", ...), as the engine's summary counts them. */
export type ChangeCounts = Readonly<Record<string, number>>;

export interface RunResult {
    readonly result: "succeeded" | "failed";
    readonly changes: ChangeCounts;
    /** One line: what ran and how it ended (the CLI's first error line when it failed). */
    readonly message: string;
}

/** The Pulumi operations this project runs. */
export interface PulumiRunner {
    /** The CLI's version (`pulumi version`), or undefined when there is none at `cliRoot` / on PATH. */
    cliVersion(cliRoot?: string): Promise<string | undefined>;
    /** Install the CLI into `cliRoot` with the Automation API's installer; returns its version. */
    installCli(cliRoot: string): Promise<string>;
    /**
     * The stack's outputs (`pulumi stack output --json`), secret values as "[secret]"; undefined
     * when the stack does not exist in the backend (it never deployed).
     */
    outputs(t: Omit<RunTarget, "onEvent" | "create">): Promise<Record<string, unknown> | undefined>;
    /** `pulumi preview --save-plan <planFile>`. */
    preview(t: RunTarget & { readonly savePlan: string }): Promise<RunResult>;
    /** `pulumi up`, with `--plan <plan>` when given. */
    up(t: RunTarget & { readonly plan?: string }): Promise<RunResult>;
}

function firstLine(e: unknown): string {
    return (e instanceof Error ? e.message : String(e)).trim().split("\n")[0];
}

/** The real runner: the Automation API's LocalWorkspace (loaded on first use). */
export function automationRunner(): PulumiRunner {
    const load = () => import("@pulumi/pulumi/automation");
    async function stackOf(t: RunTarget) {
        const auto = await load();
        const pulumiCommand = await auto.PulumiCommand.get(t.cliRoot !== undefined ? { root: t.cliRoot } : undefined);
        const args = { stackName: t.stack, workDir: t.workDir };
        const opts = { pulumiCommand, envVars: { ...t.envVars } };
        return t.create ? auto.LocalWorkspace.createOrSelectStack(args, opts) : auto.LocalWorkspace.selectStack(args, opts);
    }
    const counts = (m: Record<string, number | undefined> | undefined): ChangeCounts =>
        Object.fromEntries(Object.entries(m ?? {}).filter((e): e is [string, number] => typeof e[1] === "number"));
    return {
        async cliVersion(cliRoot) {
            const auto = await load();
            try {
                return (await auto.PulumiCommand.get(cliRoot !== undefined ? { root: cliRoot } : undefined)).version?.toString();
            } catch {
                return undefined;
            }
        },
        async installCli(cliRoot) {
            const auto = await load();
            const cmd = await auto.PulumiCommand.install({ root: cliRoot });
            return cmd.version?.toString() ?? "unknown";
        },
        async outputs(t) {
            const auto = await load();
            const pulumiCommand = await auto.PulumiCommand.get(t.cliRoot !== undefined ? { root: t.cliRoot } : undefined);
            let s;
            try {
                s = await auto.LocalWorkspace.selectStack({ stackName: t.stack, workDir: t.workDir }, { pulumiCommand, envVars: { ...t.envVars } });
            } catch (e) {
                // automation/errors.js createCommandError: stderr matching /no stack named.*found/ (what
                // `pulumi stack select` of a missing stack prints) becomes a StackNotFoundError.
                if (e instanceof auto.StackNotFoundError) return undefined;
                throw e;
            }
            const out = await s.outputs();
            return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.secret ? "[secret]" : v.value]));
        },
        async preview(t) {
            try {
                const s = await stackOf(t);
                const r = await s.preview({ plan: t.savePlan, onEvent: t.onEvent, color: "never" });
                return { result: "succeeded", changes: counts(r.changeSummary), message: `pulumi preview --stack ${t.stack} --save-plan ${t.savePlan}: succeeded` };
            } catch (e) {
                return { result: "failed", changes: {}, message: `pulumi preview --stack ${t.stack}: ${firstLine(e)}` };
            }
        },
        async up(t) {
            const what = `pulumi up --stack ${t.stack}${t.plan !== undefined ? ` --plan ${t.plan}` : ""}`;
            try {
                const s = await stackOf(t);
                const r = await s.up({ plan: t.plan, onEvent: t.onEvent, color: "never" });
                const ok = r.summary.result === "succeeded";
                return { result: ok ? "succeeded" : "failed", changes: counts(r.summary.resourceChanges), message: `${what}: ${r.summary.result}` };
            } catch (e) {
                return { result: "failed", changes: {}, message: `${what}: ${firstLine(e)}` };
            }
        },
    };
}
