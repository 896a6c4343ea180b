/**
 * The automatic rollback guard (README "Automatic rollback"; `migration-ctl guard`): one process
 * per ring or blue-green stack that evaluates the stack's triggers against Prometheus every
 * `rollback.interval` seconds and, when `rollback.automatic` is on and a trigger holds, rolls the
 * stack back the way a person would: the same stack file change `migration-ctl rollback` or
 * `color flip` writes (components/ctl/commands), committed to the repository, then `pulumi up` of
 * that stack through the Automation API (automation.ts), so that Pulumi stays the source of truth
 * and the next `pulumi up` does not undo it. Every evaluation is a line of the decision log
 * (JSON lines); alerts, actions and escalations go to a Slack-compatible webhook.
 *
 * State (per stack, in the state folder: `$XDG_STATE_HOME/pve-network-migration/guard` unless
 * --state-dir): `<stack>.state.json` (actions taken, last alert, escalation), `<stack>.decisions.jsonl`,
 * and `<stack>.lock`, which a guard holds while it runs: a second guard of the same stack refuses
 * to start, naming the first one's pid.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CliError, EXIT, UsageError } from "../../cli/errors";
import type { RollbackConfig } from "../config/rollback";
import type { StackConfig } from "../config/schema";
import { colorCommand, rollback as rollbackCommand, Session, WriteResult } from "../ctl/commands";
import { loadStack, readStackText, requireConfig } from "../ctl/repo";
import { Phase, phaseIndex, PHASES } from "../phases";
import { Decision, EMPTY_STATE, GuardAction, GuardState, decide, reasonOf } from "./decide";
import { promQuery } from "../gates/metrics-cli";
import { UpRunner, automationUp } from "./automation";
import { Trigger, TriggerResult, colorTriggers, judge, nodeTriggers } from "./triggers";
import { postJson } from "./webhook";

export type { UpRunner } from "./automation";

export interface GuardDeps {
    /** One instant query at `timeMs`: its one number, undefined when Prometheus has no data; throws when it cannot answer. */
    readonly query: (url: string, q: string, timeMs: number) => Promise<number | undefined>;
    readonly up: UpRunner;
    /** POST a JSON body to the webhook URL; throws on failure (logged, never fatal). */
    readonly post: (url: string, body: unknown) => Promise<void>;
    readonly now: () => number;
}

export interface GuardOptions {
    readonly repo: string;
    readonly stack: string;
    readonly stateDir: string;
    /** Act without health-checking the previous color (the runbook's emergency rollback); also `rollback.emergency`. */
    readonly emergency?: boolean;
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
    const xdg = env.XDG_STATE_HOME;
    const state = xdg !== undefined && path.isAbsolute(xdg) ? xdg : path.join(env.HOME || os.homedir(), ".local", "state");
    return path.join(state, "pve-network-migration", "guard");
}

const stateFile = (o: GuardOptions) => path.join(o.stateDir, `${o.stack}.state.json`);
export const decisionLogFile = (o: Pick<GuardOptions, "stateDir" | "stack">) => path.join(o.stateDir, `${o.stack}.decisions.jsonl`);
const lockFile = (o: GuardOptions) => path.join(o.stateDir, `${o.stack}.lock`);

function writeAtomic(file: string, text: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, text, { mode: 0o600 });
    fs.renameSync(tmp, file);
}

export function readState(o: GuardOptions): GuardState {
    try {
        return JSON.parse(fs.readFileSync(stateFile(o), "utf8")) as GuardState;
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return EMPTY_STATE;
        throw new CliError(EXIT.IO, `${stateFile(o)}: ${(e as Error).message}`);
    }
}

function pidAlive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

/**
 * Take the stack's lock (O_EXCL create of `<stack>.lock` holding this pid); a lock whose process
 * is gone is taken over. Returns the release function. Guards of one stack share a state folder
 * (one systemd unit, or one Deployment replica, per stack).
 */
export function takeLock(o: GuardOptions): () => void {
    fs.mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
    const file = lockFile(o);
    for (let i = 0; i < 2; i++) {
        try {
            const fd = fs.openSync(file, "wx", 0o600);
            fs.writeSync(fd, `${process.pid}\n`);
            fs.closeSync(fd);
            return () => {
                try {
                    if (fs.readFileSync(file, "utf8").trim() === String(process.pid)) fs.rmSync(file);
                } catch {
                    // gone already
                }
            };
        } catch (e) {
            if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
            const pid = Number(fs.readFileSync(file, "utf8").trim());
            if (Number.isInteger(pid) && pid > 0 && pidAlive(pid)) {
                throw new CliError(EXIT.REFUSED, `guard: another guard (pid ${pid}) holds ${file}: two guards never act on one stack`);
            }
            fs.rmSync(file, { force: true });
        }
    }
    throw new CliError(EXIT.REFUSED, `guard: cannot take ${file}`);
}

function loadConfig(o: GuardOptions): { cfg: StackConfig; rb: RollbackConfig } {
    const cfg = requireConfig(loadStack(readStackText(o.repo, o.stack), o.stack, o.repo));
    const rb = cfg.rollback;
    if (rb === undefined || !rb.enabled) throw new UsageError(`guard: ${o.stack} has no pve-migration:rollback with enabled: true`);
    if (rb.watch === "blueGreen" && !cfg.blueGreen)
        throw new UsageError(`guard: ${o.stack}: pve-migration:rollback.watch is blueGreen, but the stack sets no pve-migration:blueGreen`);
    return { cfg, rb };
}

/** Whether the guard watches the stack's blue-green releases (rollback.watch; default: when it has them). */
function watchesBlueGreen(cfg: StackConfig, rb: RollbackConfig): boolean {
    return (rb.watch ?? (cfg.blueGreen ? "blueGreen" : "nodes")) === "blueGreen";
}

/** The stack's triggers: its active color's (blue-green) or every node's. */
export function stackTriggers(cfg: StackConfig, rb: RollbackConfig): Trigger[] {
    if (watchesBlueGreen(cfg, rb)) return colorTriggers(rb, cfg.blueGreen!.activeColor, Math.min(rb.interval, 60));
    const baseline = cfg.monitoring?.alertOptions.perlBaselineSeconds;
    return cfg.nodes.flatMap((n) => nodeTriggers(rb, n.name, baseline));
}

async function evaluate(deps: GuardDeps, url: string, triggers: readonly Trigger[], at: number): Promise<TriggerResult[]> {
    return Promise.all(
        triggers.map(async (t) => {
            try {
                return judge(t, await deps.query(url, t.query, at));
            } catch (e) {
                return { ...judge(t, undefined), holds: false, error: (e as Error).message };
            }
        }),
    );
}

function git(cwd: string, ...args: string[]): string {
    const r = spawnSync("git", args, { cwd, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${(r.stderr || r.stdout).trim()}`);
    return r.stdout.trim();
}

/** What an action did (the decision log's `action`). */
export interface ActionRecord {
    readonly what: string;
    readonly file?: string;
    readonly commit?: string;
    readonly branch?: string;
    readonly up?: { readonly result: string; readonly message: string };
    /** Blue-green: the previous color's health after the flip (skipped in an emergency). */
    readonly healthAfter?: { readonly healthy: boolean; readonly reasons: readonly string[] } | "skipped: emergency";
    readonly result: GuardAction["result"];
    readonly error?: string;
}

/**
 * The action: the stack file change migration-ctl makes (rollback one phase or to
 * rollback.targetPhase; or a color flip), committed (on the checked-out branch, or on a branch of
 * its own in a worktree, with the pull-request command), then `up` of the stack from there.
 */
async function act(o: GuardOptions, cfg: StackConfig, rb: RollbackConfig, deps: GuardDeps, reasons: readonly string[]): Promise<ActionRecord> {
    if (rb.commit.mode !== "branch") return actIn(o.repo, undefined, o, cfg, rb, deps, reasons);
    // A branch of its own, in a worktree of its own (the guard's checkout stays as it is); the branch stays for its pull request.
    const branch = `rollback-guard/${o.stack}-${new Date(deps.now())
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d+Z$/, "Z")}`;
    const workDir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "pve-guard-")), "checkout");
    git(o.repo, "worktree", "add", "-q", "-b", branch, workDir, "HEAD");
    try {
        return await actIn(workDir, branch, o, cfg, rb, deps, reasons);
    } finally {
        git(o.repo, "worktree", "remove", "--force", workDir);
        fs.rmSync(path.dirname(workDir), { recursive: true, force: true });
    }
}

async function actIn(
    workDir: string,
    branch: string | undefined,
    o: GuardOptions,
    cfg: StackConfig,
    rb: RollbackConfig,
    deps: GuardDeps,
    reasons: readonly string[],
): Promise<ActionRecord> {
    const now = deps.now();
    let written: WriteResult | undefined;
    const out: string[] = [];
    const s: Session = {
        repo: workDir,
        now: new Date(now),
        deployed: () => ({ known: false, reason: "not read by the rollback guard" }),
        out: (x) => out.push(x),
        err: (x) => out.push(x),
        result: (r) => (written = r),
    };
    let what: string;
    try {
        if (watchesBlueGreen(cfg, rb)) {
            what = `color flip of ${o.stack}`;
            colorCommand(s, "flip", undefined, o.stack, false, false);
        } else {
            const target = rollbackTarget(cfg.phase, rb.targetPhase as Phase | undefined);
            if (target === undefined)
                return {
                    what: `rollback of ${o.stack}`,
                    result: "escalated",
                    error: `${o.stack} is configured in ${cfg.phase}: there is no lower phase to roll back to`,
                };
            what = `rollback of ${o.stack} ${cfg.phase} -> ${target}`;
            rollbackCommand(s, o.stack, target, false);
        }
    } catch (e) {
        const detail = e instanceof CliError ? [e.message, ...e.details].join("; ") : (e as Error).message;
        return { what: watchesBlueGreen(cfg, rb) ? `color flip of ${o.stack}` : `rollback of ${o.stack}`, result: "escalated", error: detail, branch };
    }
    const w = written as WriteResult | undefined;
    if (w === undefined || !w.written) return { what, result: "escalated", error: `nothing was written: ${out.join("").trim()}`, branch };
    try {
        git(workDir, "add", "--", w.file);
        git(
            workDir,
            "-c",
            "user.name=pve-migration rollback guard",
            "-c",
            "user.email=rollback-guard@localhost",
            "commit",
            "-q",
            "-m",
            `rollback guard: ${what}\n\n${reasons.map((r) => `- ${r}`).join("\n")}\n`,
        );
    } catch (e) {
        // Not committed: the file goes back to what is committed, so a later action starts from it, not from this edit.
        git(workDir, "checkout", "-q", "HEAD", "--", w.file);
        throw e;
    }
    const commit = git(workDir, "rev-parse", "HEAD");
    if (rb.commit.push) {
        try {
            git(workDir, "push", "-q", "origin", branch ?? "HEAD");
        } catch (e) {
            return { what, file: w.file, commit, branch, result: "failed", error: `the commit is not pushed: ${(e as Error).message}` };
        }
    }
    if (branch !== undefined && rb.commit.pullRequestCommand) {
        const [cmd, ...args] = rb.commit.pullRequestCommand;
        const r = spawnSync(cmd, [...args, branch], { cwd: workDir, encoding: "utf8", timeout: 120_000 });
        if (r.status !== 0)
            return {
                what,
                file: w.file,
                commit,
                branch,
                result: "failed",
                error: `pull request command ${cmd} failed: ${(r.stderr || r.error?.message || "").trim()}`,
            };
    }
    const up = await deps.up({ workDir, stack: o.stack });
    if (up.result !== "succeeded") return { what, file: w.file, commit, branch, up, result: "failed" };
    if (!watchesBlueGreen(cfg, rb) || !cfg.blueGreen) return { what, file: w.file, commit, branch, up, result: "done" };
    if (o.emergency || rb.emergency) return { what, file: w.file, commit, branch, up, healthAfter: "skipped: emergency", result: "done" };
    // The runbook's flow: health-check the previous color, now active; unhealthy -> escalate to a person.
    const previous = cfg.blueGreen.activeColor === "blue" ? "green" : "blue";
    const results = await evaluate(deps, rb.prometheus.url, colorTriggers(rb, previous, Math.min(rb.interval, 60)), deps.now());
    const bad = results.filter((r) => r.holds || r.error !== undefined).map((r) => (r.error !== undefined ? `${r.name} on ${r.subject}: ${r.error}` : reasonOf(r)));
    return { what, file: w.file, commit, branch, up, healthAfter: { healthy: bad.length === 0, reasons: bad }, result: bad.length === 0 ? "done" : "escalated" };
}

/** The phase a node ring's automatic rollback goes to: rollback.targetPhase, or one phase down; undefined at or below it. */
export function rollbackTarget(current: Phase, target: Phase | undefined): Phase | undefined {
    const t = target ?? (phaseIndex(current) > 0 ? PHASES[phaseIndex(current) - 1] : undefined);
    return t !== undefined && phaseIndex(t) < phaseIndex(current) ? t : undefined;
}

/** One line of the decision log. */
export interface DecisionRecord {
    readonly at: string;
    readonly stack: string;
    readonly triggers: readonly TriggerResult[];
    readonly decision: Decision["kind"];
    readonly reasons: readonly string[];
    readonly action?: ActionRecord;
    readonly notified?: string;
    readonly durationsMs: { readonly evaluate: number; readonly action?: number };
}

/** The Slack-compatible message (the fast rollback procedure's incident template, Appendix B). */
export function incidentMessage(stack: string, d: Decision, detectedAt: number, action?: ActionRecord): { text: string } {
    const reasons = "reasons" in d ? d.reasons : [];
    const subjects = [...new Set(reasons.map((r) => r.split(" on ")[1]?.split(":")[0]).filter((x): x is string => x !== undefined))];
    const rolledBack =
        action?.result === "done" ? `${action.what} at ${new Date(detectedAt).toISOString()} (commit ${action.commit?.slice(0, 12)})` : "not rolled back";
    const next =
        d.kind === "alert"
            ? `automatic rollback is off for ${stack}: a person decides (migration-ctl rollback / color flip, then pulumi up)`
            : d.kind === "escalate" || action?.result !== "done"
              ? `the guard stopped acting on ${stack}: a person takes over (${d.kind === "escalate" ? d.why : (action?.error ?? action?.up?.message ?? "the action did not complete")}); clear it with migration-ctl guard --reset --stack ${stack}`
              : `watch ${stack} for 30 minutes; find the cause before promoting again (the rollback is committed${action.branch ? ` on ${action.branch}: merge its pull request` : ""})`;
    return {
        text: [
            `*pve-network-migration rollback guard: ${stack}: ${d.kind}*`,
            `*Incident summary:* ${reasons.join("; ") || "-"}`,
            `*Time of detection:* ${new Date(detectedAt).toISOString()}`,
            `*Time of rollback:* ${rolledBack}`,
            `*Impact:* ${subjects.join(", ") || stack}`,
            `*Next steps:* ${next}`,
        ].join("\n"),
    };
}

/** One evaluation of the stack: triggers, decision, action, log line, state. */
export async function evaluateOnce(o: GuardOptions, deps: GuardDeps): Promise<DecisionRecord> {
    const { cfg, rb } = loadConfig(o);
    const t0 = deps.now();
    const results = await evaluate(deps, rb.prometheus.url, stackTriggers(cfg, rb), t0);
    const evaluated = deps.now();
    const state = readState(o);
    const d = decide({ now: t0, automatic: rb.automatic, cooldownSeconds: rb.cooldownPeriod, maximumRetries: rb.maximumRetries, results, state });
    let next: GuardState = state;
    let action: ActionRecord | undefined;
    let notify = false;
    if (d.kind === "alert") {
        next = { ...state, lastAlertAt: t0 };
        notify = true;
    } else if (d.kind === "escalate") {
        next = { ...state, escalated: { at: t0, reason: d.why } };
        notify = true;
    } else if (d.kind === "act") {
        // Whatever fails inside the action (git, the pull request command) is a failed action: it is
        // recorded, so the cooldown and the retry cap hold and a restarted guard does not act again at once.
        action = await act(o, cfg, rb, deps, d.reasons).catch((e: unknown): ActionRecord => ({
            what: `action on ${o.stack}`,
            result: "failed",
            error: (e as Error).message,
        }));
        next = {
            ...state,
            actions: [...state.actions, { at: t0, what: action.what, result: action.result }],
            ...(action.result === "escalated" ? { escalated: { at: t0, reason: action.error ?? "the previous color is unhealthy after the flip" } } : {}),
        };
        notify = true;
    }
    let notified: string | undefined;
    if (notify && rb.webhookUrlFile !== undefined) {
        try {
            await deps.post(fs.readFileSync(rb.webhookUrlFile, "utf8").trim(), incidentMessage(o.stack, d, t0, action));
            notified = "sent";
        } catch (e) {
            notified = `failed: ${(e as Error).message}`;
        }
    }
    const record: DecisionRecord = {
        at: new Date(t0).toISOString(),
        stack: o.stack,
        triggers: results,
        decision: d.kind,
        reasons: "reasons" in d ? d.reasons : "errors" in d ? d.errors : [],
        ...(action ? { action } : {}),
        ...(notified ? { notified } : {}),
        durationsMs: { evaluate: evaluated - t0, ...(action ? { action: deps.now() - evaluated } : {}) },
    };
    fs.mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
    fs.appendFileSync(decisionLogFile(o), JSON.stringify(record) + "\n", { mode: 0o600 });
    if (next !== state) writeAtomic(stateFile(o), JSON.stringify(next, null, 2) + "\n");
    return record;
}

/** `--reset`: forget the actions and the escalation (a person took over and decided). */
export function resetState(o: GuardOptions): void {
    writeAtomic(stateFile(o), JSON.stringify(EMPTY_STATE, null, 2) + "\n");
}

/**
 * Run until `stop` resolves: one evaluation every `rollback.interval` seconds, holding the stack's
 * lock. The wait's timer is cleared when `stop` ends it, so that a stopped guard's process exits
 * at once instead of when the interval would have ended.
 */
export async function runGuard(o: GuardOptions, deps: GuardDeps, log: (r: DecisionRecord) => void, stop: Promise<void>): Promise<void> {
    const release = takeLock(o);
    let stopped = false;
    void stop.then(() => (stopped = true));
    try {
        while (!stopped) {
            const r = await evaluateOnce(o, deps);
            log(r);
            const { rb } = loadConfig(o);
            let timer: NodeJS.Timeout | undefined;
            await Promise.race([new Promise((res) => (timer = setTimeout(res, rb.interval * 1000))), stop]);
            clearTimeout(timer);
        }
    } finally {
        release();
    }
}

/** The guard's real dependencies: Prometheus over HTTP(S), the Automation API, the webhook, the clock. */
export function realDeps(): GuardDeps {
    return {
        query: (url, q, t) => promQuery({ url, timeoutMs: 10_000, retries: 2 }, q, t),
        up: automationUp,
        post: (url, body) => postJson(url, body),
        now: () => Date.now(),
    };
}
