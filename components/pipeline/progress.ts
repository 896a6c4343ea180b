/**
 * The progress display of `migration-ctl up`, `plan --out` and `apply` on a terminal (issue 17
 * part 4): one line per node, what its planned commands are doing, and a line of totals,
 * redrawn in place as step events (components/pipeline/events.ts) come.
 *
 *   pve1  ▸ services, verify  12s
 *   pve2  ✗ pve2-snapshot-package-units failed: exit status 3: running "..."
 *   pve3  ✓ 5 steps done
 *   3 nodes: 1 running, 1 done, 1 failed
 *
 * Pure: `applyEvent` folds events into a ProgressState, `renderProgress` draws it for a time and
 * a width. `ProgressDisplay` writes the lines to a stream (a TTY), moving the cursor back over
 * the lines it wrote before; it keeps no timer (the caller calls refresh() for the elapsed time).
 */
import type { PipelineEvent } from "./events";

/** Where a step command is. */
export type ProgressStatus = "planned" | "running" | "ok" | "failed" | "interrupted";

/** One step command of a node. */
export interface ProgressStep {
    readonly resource: string;
    readonly steps: readonly string[];
    readonly status: ProgressStatus;
    /** When it started, ms since the epoch (running). */
    readonly startedAt?: number;
    /** The first line of its error (failed). */
    readonly error?: string;
    /** How long it ran before the stream ended (interrupted). */
    readonly durationSeconds?: number;
}

/** The nodes in the order their first step event came, each with its commands in that order. */
export interface ProgressState {
    readonly nodes: readonly { readonly node: string; readonly steps: readonly ProgressStep[] }[];
}

/** Before the first event: no node. */
export const EMPTY_PROGRESS: ProgressState = { nodes: [] };

/** The step a step event leaves behind. */
function stepOf(ev: Extract<PipelineEvent, { type: "step" }>): ProgressStep {
    const base = { resource: ev.resource, steps: ev.steps };
    switch (ev.event) {
        case "planned":
            return { ...base, status: "planned" };
        case "started":
            return { ...base, status: "running", startedAt: Date.parse(ev.at) };
        case "finished":
            return { ...base, status: "ok" };
        case "failed":
            return ev.error === null ? { ...base, status: "failed" } : { ...base, status: "failed", error: ev.error.split("\n")[0] };
        case "interrupted":
            return { ...base, status: "interrupted", durationSeconds: ev.durationSeconds };
    }
}

/** The state after one event (step events change it; the others leave it as it is). */
export function applyEvent(state: ProgressState, ev: PipelineEvent): ProgressState {
    if (ev.type !== "step") return state;
    const i = state.nodes.findIndex((n) => n.node === ev.node);
    const steps = i < 0 ? [] : state.nodes[i].steps;
    const j = steps.findIndex((s) => s.resource === ev.resource);
    const step = stepOf(ev);
    const next = { node: ev.node, steps: j < 0 ? [...steps, step] : steps.map((s, k) => (k === j ? step : s)) };
    return { nodes: i < 0 ? [...state.nodes, next] : state.nodes.map((n, k) => (k === i ? next : n)) };
}

/** What a node's line says, by the most telling of its commands. */
type NodeStatus = "failed" | "interrupted" | "running" | "done" | "planned";

function nodeStatus(steps: readonly ProgressStep[]): NodeStatus {
    for (const s of ["failed", "interrupted", "running"] as const) if (steps.some((x) => x.status === s)) return s;
    return steps.some((x) => x.status === "ok") ? "done" : "planned";
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** A node's line after its name: `▸ services, verify  12s`, `✓ 3 steps done`, `✗ <command> failed: <error>`, `· planned: ...`. */
function nodeText(steps: readonly ProgressStep[], now: number): string {
    const status = nodeStatus(steps);
    const first = (s: ProgressStatus) => steps.find((x) => x.status === s) as ProgressStep;
    const kinds = (s: ProgressStatus) => steps.filter((x) => x.status === s).flatMap((x) => x.steps);
    switch (status) {
        case "failed": {
            const f = first("failed");
            return `✗ ${f.resource} failed${f.error === undefined ? "" : `: ${f.error}`}`;
        }
        case "interrupted": {
            const f = first("interrupted");
            return `✗ ${f.resource} interrupted after ${f.durationSeconds}s`;
        }
        case "running": {
            const since = Math.min(...steps.filter((x) => x.status === "running").map((x) => x.startedAt as number));
            return `▸ ${kinds("running").join(", ")}  ${Math.max(0, Math.floor((now - since) / 1000))}s`;
        }
        case "done":
            return `✓ ${plural(kinds("ok").length, "step", "steps")} done`;
        case "planned":
            return `· planned: ${kinds("planned").join(", ")}`;
    }
}

/** `3 nodes: 1 running, 1 done, 1 failed`: the nodes by their line's status, those with none left out. */
function totalsLine(state: ProgressState): string {
    if (state.nodes.length === 0) return "no step yet";
    const statuses = state.nodes.map((n) => nodeStatus(n.steps));
    const counts = (["running", "done", "failed", "interrupted", "planned"] as const)
        .map((s) => [s, statuses.filter((x) => x === s).length] as const)
        .filter(([, n]) => n > 0)
        .map(([s, n]) => `${n} ${s}`);
    return `${plural(state.nodes.length, "node", "nodes")}: ${counts.join(", ")}`;
}

/** At most `width` characters (code points) of a line. */
function cut(line: string, width: number): string {
    const chars = [...line];
    return chars.length > width ? chars.slice(0, width).join("") : line;
}

/** One line per node (names padded to the longest), then the totals; each at most `width` characters. `now`: ms since the epoch. */
export function renderProgress(state: ProgressState, now: number, width: number): string[] {
    const pad = Math.max(0, ...state.nodes.map((n) => n.node.length));
    const lines = state.nodes.map((n) => `${n.node.padEnd(pad)}  ${nodeText(n.steps, now)}`);
    return [...lines, totalsLine(state)].map((l) => cut(l, width));
}

/** Where the display writes (process.stderr, or a fake in the tests). */
export interface TextStream {
    write(s: string): void;
}

/** The escape sequence that moves the cursor up `n` lines (CSI n A). */
export const CURSOR_UP = (n: number) => `\x1b[${n}A`;
/** The escape sequence that erases the cursor's whole line (CSI 2 K). */
export const ERASE_LINE = "\x1b[2K";

/**
 * Progress lines on a terminal, redrawn in place: each redraw moves the cursor up over the
 * lines written before and rewrites each after erasing it. A redraw that would write the same
 * lines writes nothing. After finish() the lines stay as they are and nothing more is written.
 */
export class ProgressDisplay {
    private state: ProgressState = EMPTY_PROGRESS;
    private drawn: readonly string[] = [];
    private finished = false;
    private readonly now: () => number;
    private readonly width: () => number;

    constructor(
        private readonly out: TextStream,
        options: { readonly now?: () => number; readonly width?: () => number } = {},
    ) {
        this.now = options.now ?? Date.now;
        this.width = options.width ?? (() => 80);
    }

    /** Take one event and redraw. */
    update(ev: PipelineEvent): void {
        this.state = applyEvent(this.state, ev);
        this.draw(false);
    }

    /** Redraw for the time now (the running nodes' seconds). */
    refresh(): void {
        this.draw(false);
    }

    /** Write the final state once more (even when unchanged) and leave it on the screen. */
    finish(): void {
        this.draw(true);
        this.finished = true;
    }

    private draw(always: boolean): void {
        if (this.finished) return;
        // As many lines as before or more: nodes come and never go.
        const lines = renderProgress(this.state, this.now(), this.width());
        if (!always && lines.length === this.drawn.length && lines.every((l, i) => l === this.drawn[i])) return;
        const up = this.drawn.length > 0 ? CURSOR_UP(this.drawn.length) : "";
        this.out.write(up + lines.map((l) => `${ERASE_LINE}${l}\n`).join(""));
        this.drawn = lines;
    }
}
