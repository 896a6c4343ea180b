/**
 * Figure 8: the automatic rollback guard (components/guard), from a trigger holding in Prometheus
 * to the guard's action starting. Measured in-process, everything on 127.0.0.1:
 *
 * - a real Prometheus (Debian's /usr/bin/prometheus, test/gates/prometheus.ts startPrometheus:
 *   scrape_interval 1 s, a fresh TSDB each run) scraping a stand-in exporter that serves
 *   pve_network_fallback_total for the one node of canary-b, a counter the bench raises;
 * - a temporary git repository with this project's stacks/, canary-b (a node ring at
 *   rust-read-only) given a `pve-migration:rollback` block: automatic, the default `interval`
 *   (30 s), `fallbackWindow` 60 s (twice the interval: a raise is always inside the window of
 *   the next evaluation), `healthCheckInterval` 1 s (a window of 3 scrapes);
 * - `runGuard`, as `migration-ctl guard --stack canary-b` runs it, with the guard's real
 *   Prometheus client (realDeps().query) and a stand-in for the Automation API's `up` (no Pulumi
 *   CLI here) that records when it is called: the action starting, after the stack file edit
 *   and the commit.
 *
 * Each run: a fresh Prometheus, guard state folder and repository (reset to its first commit);
 * the guard starts once Prometheus has scraped the exporter and every trigger answers healthy,
 * makes a healthy evaluation, and run i of n raises the counter (i − ½)/n of the interval after
 * that evaluation's start, so that the runs sample the guard's schedule evenly. The bench asks
 * Prometheus the fallback trigger's own query every 100 ms from the raise: t_hold is the time of
 * the first answer that holds; t_act is the stand-in up's call. Every wait is bounded.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import YAML from "yaml";
import { DecisionRecord, GuardDeps, GuardOptions, realDeps, runGuard, stackTriggers } from "../components/guard";
import { Trigger, judge } from "../components/guard/triggers";
import { loadStack, readStackText, requireConfig } from "../components/ctl/repo";
import { PROMETHEUS_BIN, exposition, startPrometheus } from "../test/gates/prometheus";
import { missingTools } from "../test/support/tools";
import { GuardFigure, GuardSample, MAX_GUARD_RUNS } from "./report";

export const GUARD_STACK = "canary-b";
/** test/gates/prometheus.ts startPrometheus's scrape_interval. */
export const SCRAPE_INTERVAL_S = 1;
export const FALLBACK_WINDOW_S = 60;
export const POLL_MS = 100;
/** Bounds of the waits: Prometheus answering healthy, the first evaluation, the trigger holding after the raise. */
const READY_MS = 20_000;
const HOLD_MS = 15_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/** Fixed identity for the bench's own commits; the guard's commit sets its own. */
const GIT_ENV = {
    GIT_AUTHOR_NAME: "pve-migration bench",
    GIT_AUTHOR_EMAIL: "bench@localhost",
    GIT_COMMITTER_NAME: "pve-migration bench",
    GIT_COMMITTER_EMAIL: "bench@localhost",
    GIT_CONFIG_NOSYSTEM: "1",
};

function git(cwd: string, ...args: string[]): string {
    const r = spawnSync("git", ["-C", cwd, ...args], { encoding: "utf8", env: { ...process.env, ...GIT_ENV } });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${(r.stderr || r.stdout || r.error?.message || "").trim()}`);
    return r.stdout.trim();
}

/** Poll `f` every `stepMs` until it gives a value; throws after `ms`. */
async function waitFor<T>(what: string, ms: number, f: () => T | undefined | Promise<T | undefined>, stepMs = POLL_MS): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
        const v = await f();
        if (v !== undefined) return v;
        if (Date.now() > end) throw new Error(`figure 8: ${what} not within ${ms} ms`);
        await sleep(stepMs);
    }
}

/** Why figure 8 cannot run here, or undefined when it can. */
export function guardUnavailable(): string | undefined {
    const missing = missingTools([PROMETHEUS_BIN, "git"]);
    return missing.length > 0 ? missing.join("; ") : undefined;
}

/** The loopback exporter: /nodes/<node>/metrics with the fallback counter the bench sets. */
async function startCounter(node: string): Promise<{ port: number; set(v: number): void; close(): Promise<void> }> {
    let value = 0;
    const server = http.createServer((req, res) => {
        if (req.url !== `/nodes/${node}/metrics`) {
            res.writeHead(404).end();
            return;
        }
        res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" }).end(exposition({ fallback: { "/nodes/{node}/network": value } }));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    return {
        port: (server.address() as net.AddressInfo).port,
        set: (v) => (value = v),
        close: () => new Promise<void>((r) => server.close(() => r())),
    };
}

/** Append `pve-migration:rollback` to the stack file's config mapping (as test/guard/guard.test.ts addRollback). */
function addRollback(repo: string, stack: string, block: Record<string, unknown>): void {
    const file = path.join(repo, "stacks", `Pulumi.${stack}.yaml`);
    const text = YAML.stringify({ "pve-migration:rollback": block })
        .trimEnd()
        .split("\n")
        .map((l) => `  ${l}`)
        .join("\n");
    fs.writeFileSync(file, `${fs.readFileSync(file, "utf8").trimEnd()}\n${text}\n`);
}

/** The stack as the guard reads it: its phase, its rollback config and its triggers. */
function readStack(repo: string, stack: string) {
    const cfg = requireConfig(loadStack(readStackText(repo, stack), stack, repo));
    if (!cfg.rollback) throw new Error(`figure 8: ${stack} has no pve-migration:rollback`);
    return { cfg, rb: cfg.rollback, triggers: stackTriggers(cfg, cfg.rollback) };
}

/** Figure 8, or why it was not measured. */
export async function measureGuard(o: { runs: number; workDir: string; projectDir: string; enabled: boolean; log: (line: string) => void }): Promise<GuardFigure> {
    if (!o.enabled) return { skipped: "--no-guard" };
    const why = guardUnavailable();
    if (why) return { skipped: why };
    const runs = Math.min(o.runs, MAX_GUARD_RUNS);
    fs.mkdirSync(o.workDir, { recursive: true });
    const repo = path.join(o.workDir, "repo");
    fs.cpSync(path.join(o.projectDir, "stacks"), path.join(repo, "stacks"), {
        recursive: true,
        filter: (src) => !path.relative(o.projectDir, src).split(path.sep).includes("diagnostics"),
    });
    git(repo, "init", "-q", "-b", "main");
    git(repo, "add", "-A");
    git(repo, "commit", "-q", "-m", "bench: this project's stacks/");
    const base = git(repo, "rev-parse", "HEAD");
    const node = requireConfig(loadStack(readStackText(repo, GUARD_STACK), GUARD_STACK, repo)).nodes.map((n) => n.name);
    if (node.length !== 1) throw new Error(`figure 8: ${GUARD_STACK} has ${node.length} nodes, not one`);
    const counter = await startCounter(node[0]);
    const samples: GuardSample[] = [];
    let intervalS = 0;
    try {
        for (let i = 0; i < runs; i++) {
            const s = await oneRun({ repo, base, node: node[0], counter, dir: path.join(o.workDir, `run-${i + 1}`), offset: (i + 0.5) / runs });
            intervalS = s.intervalS;
            samples.push(s.sample);
            const x = s.sample;
            o.log(
                `rollback guard, run ${i + 1}/${runs}: hold → action ${((x.actMs - x.holdMs) / 1000).toFixed(2)} s, raise → action ${(x.actMs / 1000).toFixed(2)} s ` +
                    `(raised ${(x.raiseAfterEvaluationMs / 1000).toFixed(2)} s after a healthy evaluation; held ${(x.holdMs / 1000).toFixed(2)} s after the raise; queries ${x.queryMs} ms, edit and commit ${x.actMs - x.evaluationMs - x.queryMs} ms)`,
            );
        }
    } finally {
        await counter.close();
    }
    return { stack: GUARD_STACK, node: node[0], intervalS, scrapeIntervalS: SCRAPE_INTERVAL_S, fallbackWindowS: FALLBACK_WINDOW_S, pollMs: POLL_MS, samples };
}

interface RunInput {
    readonly repo: string;
    readonly base: string;
    readonly node: string;
    readonly counter: { readonly port: number; set(v: number): void };
    readonly dir: string;
    /** Where the raise falls after the healthy evaluation's start, as a fraction of the interval. */
    readonly offset: number;
}

async function oneRun(x: RunInput): Promise<{ intervalS: number; sample: GuardSample }> {
    fs.mkdirSync(x.dir, { recursive: true });
    x.counter.set(0);
    const prom = await startPrometheus(x.dir, x.counter.port, [x.node]);
    try {
        git(x.repo, "reset", "-q", "--hard", x.base);
        git(x.repo, "clean", "-qfdx");
        addRollback(x.repo, GUARD_STACK, {
            enabled: true,
            automatic: true,
            prometheus: { url: prom.url },
            triggers: { fallbackWindow: FALLBACK_WINDOW_S, healthCheckInterval: SCRAPE_INTERVAL_S },
        });
        git(x.repo, "commit", "-q", "-am", `bench: the rollback guard of ${GUARD_STACK} on ${prom.url}`);
        const { cfg, rb, triggers } = readStack(x.repo, GUARD_STACK);
        if (cfg.phase !== "rust-read-only") throw new Error(`figure 8: ${GUARD_STACK} is at ${cfg.phase}, not rust-read-only`);
        const fallback = triggers.find((t) => t.name === "fallback" && t.subject === x.node);
        if (!fallback) throw new Error(`figure 8: no fallback trigger for ${x.node} among ${triggers.map((t) => `${t.name} on ${t.subject}`).join(", ")}`);
        const deps = realDeps();
        const ask = async (t: Trigger, at: number) => judge(t, await deps.query(prom.url, t.query, at));

        // Prometheus has scraped the exporter (twice: an increase needs two samples) and no trigger holds.
        await waitFor("every trigger answering and healthy", READY_MS, async () => {
            const r = await Promise.all(triggers.map((t) => ask(t, Date.now())));
            return r.every((y) => y.value !== null && !y.holds) ? true : undefined;
        });

        const records: DecisionRecord[] = [];
        const ups: { at: number; workDir: string; stack: string }[] = [];
        let stopGuard = () => {};
        const stop = new Promise<void>((r) => (stopGuard = r));
        const guardDeps: GuardDeps = {
            ...deps,
            up: async ({ workDir, stack }) => {
                ups.push({ at: Date.now(), workDir, stack });
                stopGuard();
                return { result: "succeeded", message: `stand-in up of ${stack}: succeeded` };
            },
        };
        const opts: GuardOptions = { repo: x.repo, stack: GUARD_STACK, stateDir: path.join(x.dir, "guard-state") };
        let failed: Error | undefined;
        let ended = false;
        void runGuard(opts, guardDeps, (r) => records.push(r), stop).then(
            () => (ended = true),
            (e: Error) => ((failed = e), (ended = true)),
        );
        const check = () => {
            if (failed) throw new Error(`figure 8: the guard stopped: ${failed.message}`);
        };
        try {
            const first = await waitFor("the guard's first evaluation", READY_MS, () => (check(), records[0]));
            if (first.decision !== "healthy") throw new Error(`figure 8: the guard's first evaluation was not healthy: ${JSON.stringify(first)}`);
            const evaluatedAt = Date.parse(first.at);
            await sleep(evaluatedAt + x.offset * rb.interval * 1000 - Date.now());
            check();
            const before = [...records];
            if (before.some((r) => r.decision !== "healthy")) throw new Error(`figure 8: before the raise: ${JSON.stringify(before.map((r) => r.decision))}`);
            const last = Date.parse(before[before.length - 1].at);
            x.counter.set(1);
            const raised = Date.now();

            // t_hold: the time of the first query whose answer holds (one every POLL_MS, each at the time it is asked).
            let held: number | undefined;
            for (let k = 0; held === undefined; k++) {
                const at = Date.now();
                if (at - raised > HOLD_MS) throw new Error(`figure 8: the fallback trigger did not hold within ${HOLD_MS} ms of the raise`);
                if ((await ask(fallback, at)).holds) held = at;
                else await sleep(raised + (k + 1) * POLL_MS - Date.now());
            }
            const acted = await waitFor("the guard's action", 2 * rb.interval * 1000 + HOLD_MS, () => (check(), ups[0]?.at));
            stopGuard();
            await waitFor("the guard's end", READY_MS, () => (ended ? true : undefined));
            check();

            const act = records[records.length - 1];
            const decisions = records.map((r) => r.decision);
            if (act.decision !== "act" || decisions.slice(0, -1).some((d) => d !== "healthy"))
                throw new Error(`figure 8: the guard's decisions were ${decisions.join(", ")}; expected healthy ones, then act`);
            const head = git(x.repo, "rev-parse", "HEAD");
            if (act.action?.result !== "done" || act.action.commit !== head)
                throw new Error(`figure 8: the action ${JSON.stringify(act.action)} is not done at ${head}`);
            if (!act.reasons.some((r) => r.startsWith(`fallback on ${x.node}: `))) throw new Error(`figure 8: the guard acted on ${act.reasons.join("; ")}`);
            if (ups.length !== 1 || ups[0].workDir !== x.repo || ups[0].stack !== GUARD_STACK) throw new Error(`figure 8: up was called ${JSON.stringify(ups)}`);
            const now = readStack(x.repo, GUARD_STACK).cfg.phase;
            if (now !== "perl-only") throw new Error(`figure 8: ${GUARD_STACK} is at ${now} after the rollback, not perl-only`);
            const evaluation = Date.parse(act.at);
            const committed = Number(git(x.repo, "log", "-1", "--format=%ct", head));
            if (committed < Math.floor(evaluation / 1000) || committed > Math.ceil(acted / 1000))
                throw new Error(`figure 8: git says the commit was made at ${committed}, outside the acting evaluation (${evaluation} ms to ${acted} ms)`);
            return {
                intervalS: rb.interval,
                sample: {
                    healthyBefore: before.length,
                    raiseAfterEvaluationMs: raised - last,
                    holdMs: held - raised,
                    evaluationMs: evaluation - raised,
                    queryMs: act.durationsMs.evaluate,
                    actMs: acted - raised,
                    commit: head.slice(0, 12),
                    commitGitS: committed - Math.floor(raised / 1000),
                },
            };
        } finally {
            // Bounded, and no timer left behind: after a stop the guard ends once its evaluation in flight has.
            stopGuard();
            for (const end = Date.now() + READY_MS; !ended && Date.now() < end;) await sleep(POLL_MS);
        }
    } finally {
        await prom.stop();
    }
}
