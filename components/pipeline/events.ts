/**
 * Pulumi engine events in this project's terms (issue 17 part 4: `migration-ctl up --json`, `plan
 * --out` and `apply`): the Automation API hands every engine event to `onEvent`
 * (components/automation); `EventMapper` turns them into step events (a planned command of a node
 * started, finished or failed, with the decision log lines its steps printed), other resources'
 * events, diagnostics and policy violations, and `summary()` sums the run up per node. Each
 * PipelineEvent and the summary is one JSON line of `--json`. Stateful (durations, error text per
 * resource), otherwise pure: no clock, no I/O.
 *
 * How the engine's stream behaves, from pulumi/pulumi (pkg/engine/update.go, pkg/backend/display/
 * events.go, sdk/go/common/apitype/events.go):
 * - Every resource operation is a resourcePreEvent, then a resOutputsEvent (done) or, after an
 *   error diagnostic carrying the resource's URN, a resOpFailedEvent. A preview sends the same
 *   pre and outputs events with `planning: true`; nothing runs then.
 * - A replacement is several operations on one URN, one after another (create-replacement,
 *   replace, delete-replaced): each is mapped on its own.
 * - `custom` is omitted when false (`json:"custom,omitempty"`): a component resource has no
 *   `custom` key, so only `custom: true` marks a resource that a provider manages.
 * - Diagnostic and policy messages keep the CLI's colour tags (`<{%reset%}>`, colour "raw"; only
 *   ANSI codes are removed): they are removed here.
 * - The cancelEvent is the end of every stream, sent when the update returns, cancelled or not
 *   (Update: `defer func() { ctx.Events <- NewCancelEvent() }()`). An operation that started and
 *   has neither finished nor failed by then was interrupted (the CLI's display says "creating
 *   (interrupted)" for it); a graceful cancellation shows as the engine's error diagnostic
 *   ("update canceled").
 */
import type { EngineEvent } from "../automation";

/** One planned command as the mapper knows it: its resource name (`id`), node and step kinds in run order. */
export interface EventCommand {
    readonly id: string;
    /** The node it runs on (the writer node for a cluster step). */
    readonly node: string;
    readonly cluster: boolean;
    readonly steps: readonly string[];
}

/** The planned commands of components/plan (`planCommands`) as the mapper takes them. */
export function eventCommands(commands: readonly { id: string; node: string; cluster: boolean; steps: readonly { kind: string }[] }[]): EventCommand[] {
    return commands.map((c) => ({ id: c.id, node: c.node, cluster: c.cluster, steps: c.steps.map((s) => s.kind) }));
}

/** One decision log line a step printed (components/scripts/sh/lib.sh log_line). */
export interface StepLogLine {
    readonly step: string;
    readonly result: string;
    readonly detail: string;
    /** The line's own time stamp (the node's clock, UTC). */
    readonly at: string;
}

interface StepKeys {
    readonly type: "step";
    readonly node: string;
    readonly cluster: boolean;
    readonly resource: string;
    readonly steps: readonly string[];
    readonly op: string;
}

/** A step resource's operation began (`started`), or would begin (`planned`, a preview). */
export interface StepStarted extends StepKeys {
    readonly event: "started" | "planned";
    readonly at: string;
}

/** A step resource's operation ended. `durationSeconds` is null when its start was not seen. */
export interface StepFinished extends StepKeys {
    readonly event: "finished";
    readonly result: "ok";
    readonly durationSeconds: number | null;
    readonly log: readonly StepLogLine[];
    readonly at: string;
}

/** A step resource's operation failed; `error` is the last error diagnostic of its URN. */
export interface StepFailed extends StepKeys {
    readonly event: "failed";
    readonly result: "failed";
    readonly durationSeconds: number | null;
    readonly log: readonly StepLogLine[];
    readonly error: string | null;
    readonly at: string;
}

/** A step resource's operation had neither finished nor failed when the engine's stream ended. */
export interface StepInterrupted extends StepKeys {
    readonly event: "interrupted";
    readonly durationSeconds: number;
    readonly at: string;
}

/** An event of a step resource (a planned command). */
export type StepEvent = StepStarted | StepFinished | StepFailed | StepInterrupted;

/** A resource that is not a step (a custom resource, not a provider): same events, fewer keys. */
export type ResourceEvent =
    | {
          readonly type: "resource";
          readonly event: "started" | "planned";
          readonly resource: string;
          readonly resourceType: string;
          readonly op: string;
          readonly at: string;
      }
    | {
          readonly type: "resource";
          readonly event: "finished" | "interrupted";
          readonly resource: string;
          readonly resourceType: string;
          readonly op: string;
          readonly durationSeconds: number | null;
          readonly at: string;
      }
    | {
          readonly type: "resource";
          readonly event: "failed";
          readonly resource: string;
          readonly resourceType: string;
          readonly op: string;
          readonly durationSeconds: number | null;
          readonly error: string | null;
          readonly at: string;
      };

/** An engine diagnostic; `node` and `resource` when it is about a step, `resource` alone for another URN. */
export interface DiagnosticOut {
    readonly type: "diagnostic";
    readonly severity: string;
    readonly node?: string;
    readonly resource?: string;
    readonly message: string;
}

/** A policy violation. */
export interface PolicyOut {
    readonly type: "policy";
    readonly pack: string;
    readonly policy: string;
    readonly enforcement: string;
    readonly resource?: string;
    readonly message: string;
}

/** One line of `--json`. */
export type PipelineEvent = StepEvent | ResourceEvent | DiagnosticOut | PolicyOut;

/** A step resource's last state in a run. */
export interface StepSummary {
    readonly resource: string;
    readonly steps: readonly string[];
    readonly result: "ok" | "failed" | "planned" | "running" | "interrupted";
    /** Null while planned or running. */
    readonly durationSeconds: number | null;
}

/** The last line of `--json`. */
export interface PipelineSummary {
    readonly type: "summary";
    /** failed: a step or resource failed or was interrupted, an error diagnostic, a mandatory policy, or the engine said so; unknown: no summary event and none of these. */
    readonly result: "succeeded" | "failed" | "unknown";
    /** The engine's counts by operation (its summary event), {} without one. */
    readonly changes: Readonly<Record<string, number>>;
    readonly durationSeconds: number | null;
    readonly maybeCorrupt: boolean;
    /** Nodes in the order their first step event came, each with its steps in that order (cluster steps under the writer node). */
    readonly nodes: readonly { readonly node: string; readonly steps: readonly StepSummary[] }[];
    /** Names of the failed steps and resources, in the order they failed. */
    readonly failed: readonly string[];
    /** Names of the steps and resources interrupted by the end of the stream. */
    readonly interrupted: readonly string[];
}

/** The name of a URN: the part after its last `::`. */
export function resourceName(urn: string): string {
    const i = urn.lastIndexOf("::");
    return i < 0 ? urn : urn.slice(i + 2);
}

/** An engine time stamp (Unix seconds) as ISO 8601 UTC, without milliseconds when they are zero. */
export function isoTime(unixSeconds: number): string {
    return new Date(unixSeconds * 1000).toISOString().replace(/\.000Z$/, "Z");
}

/** A message without the CLI's colour tags (`<{%reset%}>`, `<{%fg 1%}>`) and trailing white space. */
export function plainMessage(message: string): string {
    return message.replace(/<\{%[^%]*%\}>/g, "").trimEnd();
}

const LOG_LINE = /^(\S+) node=\S* from=\S* to=\S* step=(\S+) result=(\S+) detail=(.*)$/;

/** The decision log lines in a step command's stdout (other lines are dropped); none when it is not a string. */
export function stepLogLines(stdout: unknown): StepLogLine[] {
    if (typeof stdout !== "string") return [];
    return stdout.split(/\r?\n/).flatMap((line) => {
        const m = LOG_LINE.exec(line);
        return m ? [{ step: m[2], result: m[3], detail: m[4], at: m[1] }] : [];
    });
}

type Metadata = NonNullable<EngineEvent["resourcePreEvent"]>["metadata"];

/** Whether a provider manages the resource (`custom: true`; absent for components and the stack) and it is not a provider. */
function isCustom(m: Metadata): boolean {
    return (m.new?.custom === true || m.old?.custom === true) && !m.type.startsWith("pulumi:providers:") && m.type !== "pulumi:pulumi:Stack";
}

/** An operation begun and not ended yet. */
interface Running {
    readonly op: string;
    readonly type: string;
    /** Unix seconds. */
    readonly since: number;
    readonly command: EventCommand | undefined;
}

/** The leading keys of a step event, in the JSON lines' order. */
function stepHead<E extends StepEvent["event"]>(event: E, c: EventCommand, op: string) {
    return { type: "step" as const, event, node: c.node, cluster: c.cluster, resource: c.id, steps: c.steps, op };
}

/** The leading keys of a resource event, in the JSON lines' order. */
function resourceHead<E extends ResourceEvent["event"]>(event: E, urn: string, resourceType: string, op: string) {
    return { type: "resource" as const, event, resource: resourceName(urn), resourceType, op };
}

/** Engine events in, PipelineEvents out; `summary()` at the end. One mapper per run. */
export class EventMapper {
    private readonly commands: ReadonlyMap<string, EventCommand>;
    /** Operations begun and not ended, by URN. */
    private readonly running = new Map<string, Running>();
    /** The last error diagnostic per URN since its operation began. */
    private readonly errors = new Map<string, string>();
    /** Each step resource's last state, in the order they first came. */
    private readonly stepStates = new Map<string, StepSummary>();
    private readonly nodeOrder: string[] = [];
    private readonly failed: string[] = [];
    private readonly interrupted: string[] = [];
    private sawError = false;
    private summaryEvent: NonNullable<EngineEvent["summaryEvent"]> | undefined;

    constructor(options: { readonly commands: readonly EventCommand[] }) {
        this.commands = new Map(options.commands.map((c) => [c.id, c]));
    }

    /** The events of one engine event (often none). */
    map(e: EngineEvent): PipelineEvent[] {
        const at = isoTime(e.timestamp);
        if (e.resourcePreEvent) return this.pre(e.resourcePreEvent.metadata, e.resourcePreEvent.planning === true, e.timestamp, at);
        if (e.resOutputsEvent) return e.resOutputsEvent.planning === true ? [] : this.ended(e.resOutputsEvent.metadata, false, e.timestamp, at);
        if (e.resOpFailedEvent) return this.ended(e.resOpFailedEvent.metadata, true, e.timestamp, at);
        if (e.diagnosticEvent) return this.diagnostic(e.diagnosticEvent);
        if (e.policyEvent) return [this.policy(e.policyEvent)];
        if (e.summaryEvent) this.summaryEvent = e.summaryEvent;
        if (e.cancelEvent) return this.end(e.timestamp, at);
        return [];
    }

    /** The run so far, summed up (call it after the last event). */
    summary(): PipelineSummary {
        const s = this.summaryEvent;
        // Newer CLIs add the update's result to the summary event (not in the SDK's type).
        const engineFailed = (s as { result?: unknown } | undefined)?.result === "failed";
        const failed = this.failed.length > 0 || this.interrupted.length > 0 || this.sawError || engineFailed;
        const steps = [...this.stepStates.values()];
        return {
            type: "summary",
            result: failed ? "failed" : s ? "succeeded" : "unknown",
            changes: s?.resourceChanges ?? {},
            durationSeconds: s?.durationSeconds ?? null,
            maybeCorrupt: s?.maybeCorrupt ?? false,
            nodes: this.nodeOrder.map((node) => ({ node, steps: steps.filter((x) => this.commands.get(x.resource)?.node === node) })),
            failed: [...this.failed],
            interrupted: [...this.interrupted],
        };
    }

    /** The planned command a resource is: its name is a command id and a provider manages it. */
    private command(m: Metadata): EventCommand | undefined {
        const c = this.commands.get(resourceName(m.urn));
        return c && isCustom(m) ? c : undefined;
    }

    private setStep(c: EventCommand, result: StepSummary["result"], durationSeconds: number | null): void {
        if (!this.nodeOrder.includes(c.node)) this.nodeOrder.push(c.node);
        this.stepStates.set(c.id, { resource: c.id, steps: c.steps, result, durationSeconds });
    }

    private pre(m: Metadata, planning: boolean, ts: number, at: string): PipelineEvent[] {
        if (m.op === "same" || !isCustom(m)) return [];
        const c = this.command(m);
        const event = planning ? "planned" : "started";
        this.errors.delete(m.urn);
        if (!planning) this.running.set(m.urn, { op: m.op, type: m.type, since: ts, command: c });
        if (!c) return [{ ...resourceHead(event, m.urn, m.type, m.op), at }];
        this.setStep(c, planning ? "planned" : "running", null);
        return [{ ...stepHead(event, c, m.op), at }];
    }

    private ended(m: Metadata, failed: boolean, ts: number, at: string): PipelineEvent[] {
        if (m.op === "same" || !isCustom(m)) return [];
        const c = this.command(m);
        const started = this.running.get(m.urn);
        this.running.delete(m.urn);
        const durationSeconds = started ? Math.round(ts - started.since) : null;
        const error = this.errors.get(m.urn)?.trim() ?? null;
        if (failed) this.failed.push(resourceName(m.urn));
        if (!c) {
            if (failed) return [{ ...resourceHead("failed", m.urn, m.type, m.op), durationSeconds, error, at }];
            return [{ ...resourceHead("finished", m.urn, m.type, m.op), durationSeconds, at }];
        }
        this.setStep(c, failed ? "failed" : "ok", durationSeconds);
        const log = stepLogLines(m.new?.outputs?.stdout);
        if (!failed) return [{ ...stepHead("finished", c, m.op), result: "ok", durationSeconds, log, at }];
        return [{ ...stepHead("failed", c, m.op), result: "failed", durationSeconds, log, error, at }];
    }

    private diagnostic(d: NonNullable<EngineEvent["diagnosticEvent"]>): PipelineEvent[] {
        const message = plainMessage(d.message);
        if (d.ephemeral === true || message === "") return [];
        if (d.severity === "error") {
            this.sawError = true;
            if (d.urn) this.errors.set(d.urn, message);
        }
        if (!d.urn) return [{ type: "diagnostic", severity: d.severity, message }];
        const c = this.commands.get(resourceName(d.urn));
        if (c) return [{ type: "diagnostic", severity: d.severity, node: c.node, resource: c.id, message }];
        return [{ type: "diagnostic", severity: d.severity, resource: resourceName(d.urn), message }];
    }

    private policy(p: NonNullable<EngineEvent["policyEvent"]>): PolicyOut {
        // The SDK's type says "warning" | "mandatory"; the engine sends advisory, mandatory, remediate or disabled.
        if (p.enforcementLevel === "mandatory") this.sawError = true;
        const head = { type: "policy" as const, pack: p.policyPackName, policy: p.policyName, enforcement: p.enforcementLevel };
        const message = plainMessage(p.message);
        return p.resourceUrn ? { ...head, resource: resourceName(p.resourceUrn), message } : { ...head, message };
    }

    /** The end of the stream: every operation still running was interrupted. */
    private end(ts: number, at: string): PipelineEvent[] {
        const out: PipelineEvent[] = [];
        for (const [urn, r] of this.running) {
            const durationSeconds = Math.round(ts - r.since);
            this.interrupted.push(resourceName(urn));
            if (r.command) {
                this.setStep(r.command, "interrupted", durationSeconds);
                out.push({ ...stepHead("interrupted", r.command, r.op), durationSeconds, at });
            } else {
                out.push({ ...resourceHead("interrupted", urn, r.type, r.op), durationSeconds, at });
            }
        }
        this.running.clear();
        return out;
    }
}
