/**
 * The rollback guard's `pulumi up` of one stack: components/automation's runner (the one module
 * that runs Pulumi) with the stack's backend (components/pipeline/backend.ts, as
 * `migration-ctl up` uses it). It needs the Pulumi CLI and the stack's backend, as an operator's
 * `pulumi up` does. No Pulumi CLI exists on the development and CI machines: the tests give the
 * guard a stand-in UpRunner that records what it was asked to run.
 */
import { automationRunner } from "../automation";
import { backendFor } from "../pipeline/backend";

/** The Automation API's `up` of one stack, or a stand-in (tests): what ran and how it ended. */
export type UpRunner = (o: { workDir: string; stack: string }) => Promise<{ result: "succeeded" | "failed"; message: string }>;

export const automationUp: UpRunner = async ({ workDir, stack }) => {
    try {
        const backend = backendFor(workDir, stack, process.env);
        const r = await automationRunner().up({ workDir, stack, envVars: backend.envVars, create: false, onEvent: () => undefined });
        return { result: r.result, message: r.message };
    } catch (e) {
        return { result: "failed", message: `pulumi up --stack ${stack}: ${(e as Error).message.split("\n")[0]}` };
    }
};
