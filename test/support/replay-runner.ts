/**
 * The replay runner: a stand-in for the Pulumi CLI behind components/automation's PulumiRunner,
 * for tests only (no Pulumi CLI exists on these machines). It runs the project's own program
 * through the replay of registered resources (test/support/replay, a stand-in for the engine
 * and @pulumi/command, not the engine), so the registered steps really execute on sandbox
 * roots, and it reports what ran as EngineEvent objects in the Automation API's shape
 * (automation/events.d.ts), built from the replay's operations after the run (a real engine
 * streams them while it runs). Its "plan file" is its own JSON of the planned operations, not a
 * Pulumi plan file; an update with it fails, as the engine does, when an operation differs.
 *
 * State: one JSON checkpoint per stack in the file:// backend's folder (PULUMI_BACKEND_URL of
 * the run), under .replay-stand-in/, else in `stateDir`.
 */
import * as fs from "fs";
import * as path from "path";
import type { EngineEvent, PulumiRunner, RunResult, RunTarget } from "../../components/automation";
import { readStackFile } from "../../components/config/stackfile";
import { NAMESPACE } from "../../components/config/schema";
import { up } from "./program-replay";
import { ReplayOp, ReplayState } from "./replay";

const SIG_KEY = "4dabf18193072939515e22adb298388d";

/** The version the stand-in CLI answers with. */
export const STAND_IN_VERSION = "3.999.0-replay-stand-in";

export interface ReplayRunnerOptions {
    /** Where states live when the run has no file:// backend. */
    readonly stateDir: string;
    /** Whether a CLI is "on PATH" (false: cliVersion answers undefined until installCli). */
    readonly cliOnPath?: boolean;
    /** The program's clock. */
    readonly now?: Date;
    /** Fail a step resource by name (as a non-zero exit would). */
    readonly fail?: (resourceName: string) => string | undefined;
    /** Make every preview fail with this message (as the CLI's first error line). */
    readonly previewError?: string;
}

export interface RunnerCall {
    readonly op: "outputs" | "preview" | "up" | "install";
    readonly stack?: string;
    readonly create?: boolean;
    readonly plan?: string;
    readonly cliRoot?: string;
    readonly envVars?: Readonly<Record<string, string>>;
}

/** Plain outputs: secrets as "[secret]", as `pulumi stack output --json` shows them without --show-secrets. */
function plainOutputs(o: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v !== null && typeof v === "object" && SIG_KEY in (v as object) ? "[secret]" : v]));
}

export class ReplayRunner implements PulumiRunner {
    readonly calls: RunnerCall[] = [];
    private readonly installed = new Set<string>();

    constructor(private readonly o: ReplayRunnerOptions) {}

    private stateFile(t: Pick<RunTarget, "stack" | "envVars">): string {
        const url = t.envVars.PULUMI_BACKEND_URL;
        const dir = url !== undefined && url.startsWith("file://") ? path.join(url.slice("file://".length), ".replay-stand-in") : this.o.stateDir;
        return path.join(dir, `${t.stack}.json`);
    }

    private readState(t: Pick<RunTarget, "stack" | "envVars">): ReplayState | undefined {
        const f = this.stateFile(t);
        return fs.existsSync(f) ? (JSON.parse(fs.readFileSync(f, "utf8")) as ReplayState) : undefined;
    }

    async cliVersion(cliRoot?: string): Promise<string | undefined> {
        if (cliRoot !== undefined) return this.installed.has(cliRoot) ? STAND_IN_VERSION : undefined;
        return this.o.cliOnPath === false ? undefined : STAND_IN_VERSION;
    }

    async installCli(cliRoot: string): Promise<string> {
        this.calls.push({ op: "install", cliRoot });
        // What PulumiCommand.install leaves behind: <root>/bin/pulumi.
        fs.mkdirSync(path.join(cliRoot, "bin"), { recursive: true });
        fs.writeFileSync(path.join(cliRoot, "bin", "pulumi"), "#!/bin/sh\necho 'replay runner stand-in: not a Pulumi CLI' >&2\nexit 1\n", { mode: 0o755 });
        this.installed.add(cliRoot);
        return STAND_IN_VERSION;
    }

    async outputs(t: Omit<RunTarget, "onEvent" | "create">): Promise<Record<string, unknown> | undefined> {
        this.calls.push({ op: "outputs", stack: t.stack, cliRoot: t.cliRoot, envVars: t.envVars });
        const st = this.readState(t);
        return st === undefined ? undefined : plainOutputs(st.stackOutputs);
    }

    /** The program through the replay, with the stack file's config as the engine passes it. */
    private async run(t: RunTarget, preview: boolean) {
        const sf = readStackFile(t.workDir, t.stack);
        const strip = (k: string) => k.slice(NAMESPACE.length + 1);
        const values = Object.fromEntries(Object.entries(sf.engine).map(([k, v]) => [strip(k), v]));
        return up({
            projectDir: t.workDir,
            stack: t.stack,
            values,
            secretKeys: sf.engineSecretKeys.map(strip),
            state: this.readState(t),
            now: this.o.now,
            fail: this.o.fail,
            preview,
        });
    }

    private missing(t: RunTarget, what: string): RunResult | undefined {
        if (t.create || this.readState(t) !== undefined) return undefined;
        return { result: "failed", changes: {}, message: `${what}: no stack named '${t.stack}' found` };
    }

    async preview(t: RunTarget & { readonly savePlan: string }): Promise<RunResult> {
        this.calls.push({ op: "preview", stack: t.stack, create: t.create, plan: t.savePlan, cliRoot: t.cliRoot, envVars: t.envVars });
        const what = `pulumi preview --stack ${t.stack} --save-plan ${t.savePlan}`;
        const missing = this.missing(t, what);
        if (missing !== undefined) return missing;
        if (this.o.previewError !== undefined) return { result: "failed", changes: {}, message: `${what}: ${this.o.previewError}` };
        const r = await this.run(t, true);
        const changes = emitEvents(r.replay.ops, r.state, true, t.onEvent, r.replay.errors);
        if (r.replay.errored) return { result: "failed", changes, message: `${what}: ${r.replay.errors[0]}` };
        const operations = Object.fromEntries(r.replay.ops.filter((o) => o.op !== "same").map((o) => [o.urn, o.op]));
        fs.writeFileSync(t.savePlan, JSON.stringify({ standIn: "replay runner: not a Pulumi plan file", stack: t.stack, operations }, null, 2));
        return { result: "succeeded", changes, message: `${what}: succeeded` };
    }

    async up(t: RunTarget & { readonly plan?: string }): Promise<RunResult> {
        this.calls.push({ op: "up", stack: t.stack, create: t.create, plan: t.plan, cliRoot: t.cliRoot, envVars: t.envVars });
        const what = `pulumi up --stack ${t.stack}${t.plan !== undefined ? ` --plan ${t.plan}` : ""}`;
        const missing = this.missing(t, what);
        if (missing !== undefined) return missing;
        if (t.plan !== undefined) {
            // The engine checks every operation against the plan (pulumi/pulumi
            // pkg/resource/deploy/step_generator.go, "resource violates plan"); this stand-in
            // compares the whole set before it runs anything.
            const planned = (JSON.parse(fs.readFileSync(t.plan, "utf8")) as { operations: Record<string, string> }).operations;
            const pre = await this.run(t, true);
            const now = Object.fromEntries(pre.replay.ops.filter((o) => o.op !== "same").map((o) => [o.urn, o.op]));
            const differs = [...new Set([...Object.keys(planned), ...Object.keys(now)])].filter((u) => planned[u] !== now[u]).sort();
            if (differs.length > 0) {
                return {
                    result: "failed",
                    changes: {},
                    message: `${what}: resource violates plan: ${differs[0]} (planned ${planned[differs[0]] ?? "same"}, now ${now[differs[0]] ?? "same"})`,
                };
            }
        }
        const r = await this.run(t, false);
        const file = this.stateFile(t);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, JSON.stringify(r.state, null, 2));
        const changes = emitEvents(r.replay.ops, r.state, false, t.onEvent, r.replay.errors);
        return { result: r.replay.errored ? "failed" : "succeeded", changes, message: `${what}: ${r.replay.errored ? "failed" : "succeeded"}` };
    }
}

/** EngineEvents of a replay run, in the Automation API's shape; returns the change counts. */
function emitEvents(
    ops: readonly ReplayOp[],
    state: ReplayState,
    planning: boolean,
    onEvent: (e: EngineEvent) => void,
    errors: readonly string[],
): Record<string, number> {
    const t0 = Math.floor(Date.now() / 1000);
    let sequence = 0;
    const ev = (at: number, body: Partial<EngineEvent>): void => onEvent({ sequence: sequence++, timestamp: t0 + Math.floor(at / 1000), ...body } as EngineEvent);
    ev(0, { preludeEvent: { config: {} } });
    const byUrn = new Map(state.resources.map((r) => [r.urn, r]));
    const changes: Record<string, number> = {};
    const timeline: { at: number; body: Partial<EngineEvent> }[] = [];
    for (const op of ops) {
        changes[op.op] = (changes[op.op] ?? 0) + 1;
        const res = byUrn.get(op.urn);
        const meta = (withOutputs: boolean) => ({
            op: op.op,
            urn: op.urn,
            type: op.type,
            provider: "",
            new: {
                type: op.type,
                urn: op.urn,
                custom: true,
                id: res?.id ?? "",
                parent: "",
                inputs: {},
                outputs: withOutputs && res !== undefined ? plainOutputs(res.outputs) : {},
                provider: "",
            },
        });
        timeline.push({ at: op.startedAt, body: { resourcePreEvent: { metadata: meta(false), planning } } });
        if (planning || op.op === "same" || op.result === "not-run" || op.result === "skipped") continue;
        if (op.result === "failed") {
            timeline.push({ at: op.endedAt, body: { diagnosticEvent: { urn: op.urn, message: `${op.error ?? "failed"}\n`, color: "never", severity: "error" } } });
            timeline.push({ at: op.endedAt, body: { resOpFailedEvent: { metadata: meta(false), status: 1, steps: 0 } } });
        } else timeline.push({ at: op.endedAt, body: { resOutputsEvent: { metadata: meta(true) } } });
    }
    timeline.sort((a, b) => a.at - b.at);
    for (const x of timeline) ev(x.at, x.body);
    const end = Math.max(0, ...ops.map((o) => o.endedAt));
    for (const e of errors.filter((m) => !ops.some((o) => o.error !== undefined && m.includes(o.name)))) {
        ev(end, { diagnosticEvent: { message: `${e}\n`, color: "never", severity: "error" } });
    }
    ev(end, { summaryEvent: { maybeCorrupt: false, durationSeconds: Math.round(end / 1000), resourceChanges: changes, policyPacks: {} } });
    // The engine ends every update's stream with a cancel event (pulumi/pulumi pkg/engine/update.go:
    // `defer func() { ctx.Events <- NewCancelEvent() }()`).
    ev(end, { cancelEvent: {} });
    return changes;
}
