/**
 * The one module that runs Pulumi for the rollback guard: `pulumi up` of one stack through the
 * Automation API (LocalWorkspace on this project, its stack files in stacks/). It needs the
 * Pulumi CLI on PATH (the Automation API drives the CLI: @pulumi/pulumi automation/localWorkspace.js
 * runs `pulumi` for every operation) and the stack's backend login, as an operator's `pulumi up`
 * does. No Pulumi CLI exists on the development and CI machines: the tests give the guard a
 * stand-in UpRunner that records what it was asked to run.
 */
/** The Automation API's `up` of one stack, or a stand-in (tests): what ran and how it ended. */
export type UpRunner = (o: { workDir: string; stack: string }) => Promise<{ result: "succeeded" | "failed"; message: string }>;

export const automationUp: UpRunner = async ({ workDir, stack }) => {
    // Loaded here: the guard's other paths (and its tests) need none of it.
    const { LocalWorkspace } = await import("@pulumi/pulumi/automation");
    try {
        const s = await LocalWorkspace.selectStack({ stackName: stack, workDir });
        const r = await s.up({ color: "never" });
        return { result: r.summary.result === "succeeded" ? "succeeded" : "failed", message: `pulumi up --stack ${stack}: ${r.summary.result}` };
    } catch (e) {
        return { result: "failed", message: `pulumi up --stack ${stack}: ${(e as Error).message.split("\n")[0]}` };
    }
};
