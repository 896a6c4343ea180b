/**
 * bench/results.md from the measurements: the machine, each figure as median [min–max] of its
 * runs, the project's targets with a verdict, and for each missed target why and what would
 * fix it (from the diagnosis runs). Pure: no I/O.
 */
import { PHASES, Phase } from "../components/phases";
import { BOUNDS } from "../components/config/bounds";
import type { ProgramSample } from "./program-child";
import type { PlanSample } from "./node-side";
import type { CodeState, Machine } from "./machine";
import { Summary, formatSummary, summarize } from "./stats";
import type { SuiteResult } from "./suite";

export interface MeasuredSample extends ProgramSample {
    /** Spawn to exit of the run's process, measured by the parent, ms. */
    readonly wallMs: number;
}

export interface CostSize {
    readonly nodes: number;
    readonly samples: MeasuredSample[];
}

export interface Diagnosis {
    /** One run with V8's own stack formatting (ts-node's source-map formatter removed), counting the SDK's promises. */
    readonly unmapped: MeasuredSample;
}

export interface PathRow {
    readonly from: Phase;
    readonly to: Phase;
    readonly nodes: number;
    /** Command resources registered. */
    readonly steps: number;
    readonly registered: string[];
    readonly plan: string[];
}

export interface FlipResult {
    readonly nodes: number;
    /** `type name` of every resource the flip changes. */
    readonly changed: string[];
    /** Longest chain among the changed resources. */
    readonly chain: string[];
    /** Resources that change when the same config runs twice (no perpetual diff: 0). */
    readonly secondRunChanged: number;
    /** Policy problems on the flipped config (none expected). */
    readonly problems: string[];
}

/** One step of a lab rollback: the replay's op of a command that ran, ms from the start of the run. */
export interface LabStepTime {
    readonly name: string;
    readonly startMs: number;
    readonly endMs: number;
}

/** One rollback rust-full -> perl-only on the node lab. */
export interface LabRollbackSample {
    readonly nodes: number;
    /** The whole `pulumi up` through the replay (program and every step), ms. */
    readonly wallMs: number;
    /** Steps whose command ran, in start order. */
    readonly steps: LabStepTime[];
}

/** Runs of figure 5 at most: each needs a walk up to rust-full first (about 30 s a run); figure 7 (the same lab session) makes as many, each a walk and a wait for the timer. */
export const MAX_LAB_RUNS = 3;

/** Figure 5, or why it was not measured. */
export type LabRollback = { readonly skipped: string } | { readonly nodes: number; readonly samples: LabRollbackSample[] };

/** network.confirmTimeout of figure 7's runs, s (bench/lab-revert.ts; the default is BOUNDS.confirmTimeout.default). */
export const REVERT_CONFIRM_TIMEOUT_S = 10;

/**
 * One bad network apply on the node lab (figure 7, bench/lab-revert.ts). Times are ms from t0,
 * the start of the node's legacy-apply command in the rollback that applies the bad file (the
 * replay's op start), on the host's clock.
 */
export interface LabRevertSample {
    readonly node: string;
    /** Its management address (what the probes dial). */
    readonly address: string;
    /** network.confirmTimeout of the run, s. */
    readonly confirmTimeoutS: number;
    /** End of the last new ssh connection that succeeded before the first failed one (negative: before t0). */
    readonly lastReachableMs: number;
    /** Start of the first new ssh connection started after t0 that failed. */
    readonly unreachableMs: number;
    /** t1 - t0: end of the first new ssh connection that succeeded among those started after the first failed one. */
    readonly reachableMs: number;
    /** The node's migration.log: its network-revert line's time minus its legacy-apply line's, s (whole seconds: the log's resolution). */
    readonly nodeRevertS: number;
    /** Probe connections started during the run, and how many of them failed. */
    readonly probes: number;
    readonly failedProbes: number;
    /** Failed probes outside the unreachable window (started before its first failed probe, or after the probe that gave t1). */
    readonly failedOutside: number;
}

/** Figure 7, or why it was not measured. */
export type LabRevert = { readonly skipped: string } | { readonly nodes: number; readonly samples: LabRevertSample[] };

/** Runs of figure 8 at most: each waits out at least one guard interval (30 s) after a healthy evaluation. */
export const MAX_GUARD_RUNS = 3;

/**
 * One run of figure 8 (bench/guard.ts): a fallback raised on a node of a ring the rollback guard
 * watches, and the guard's action. Times are ms from t_raise, when the stand-in exporter's
 * counter went up, on the host's clock.
 */
export interface GuardSample {
    /** Healthy evaluations before the raise. */
    readonly healthyBefore: number;
    /** t_raise − the start of the last healthy evaluation before it (the run's place in the guard's schedule). */
    readonly raiseAfterEvaluationMs: number;
    /** t_hold: the time of the first of the bench's queries whose answer says the fallback trigger holds. */
    readonly holdMs: number;
    /** The start of the evaluation that acted (its decision record's `at`). */
    readonly evaluationMs: number;
    /** That evaluation's queries (its decision record's durationsMs.evaluate). */
    readonly queryMs: number;
    /** t_act: when the stand-in for the Automation API's up was called (after the stack file edit and the commit). */
    readonly actMs: number;
    /** The rollback commit the guard made. */
    readonly commit: string;
    /** Its committer time by `git log` (whole seconds) − t_raise's whole second, s. */
    readonly commitGitS: number;
}

/** Figure 8, or why it was not measured. */
export type GuardFigure =
    | { readonly skipped: string }
    | {
          readonly stack: string;
          readonly node: string;
          /** rollback.interval, s (the default). */
          readonly intervalS: number;
          /** Prometheus's scrape_interval, s. */
          readonly scrapeIntervalS: number;
          /** rollback.triggers.fallbackWindow, s. */
          readonly fallbackWindowS: number;
          /** How often the bench asks Prometheus whether the trigger holds, ms. */
          readonly pollMs: number;
          readonly samples: GuardSample[];
      };

export interface BenchData {
    readonly date: Date;
    readonly argv: string[];
    readonly durationS: number;
    readonly machine: Machine;
    /** Git state at the start of the run. */
    readonly code: CodeState;
    /** sourceDigest at the start and at the end (different: the code changed during the run). */
    readonly digest: { readonly start: string; readonly end: string };
    readonly loadStart: number;
    readonly loadEnd: number;
    readonly runs: number;
    readonly cost: { readonly from: Phase; readonly to: Phase; readonly sizes: CostSize[]; readonly diagnosis?: Diagnosis };
    readonly paths: { readonly rollbacks: PathRow[]; readonly flip: FlipResult };
    readonly nodeSide: {
        readonly runs: number;
        readonly samples: PlanSample[];
        /** `/bin/sh -c 'bash -s --'` with an empty script. */
        readonly spawnFloor: Summary;
        /** The diagnostics bundle collector alone on a node root. */
        readonly collector: Summary;
        /** One step that does only what every step does (bench/node-side.ts measureEmptyStep). */
        readonly emptyStep: Summary;
        /** Processes each step of the rollback rust-full -> perl-only started (bench/node-side.ts countStepProcesses). */
        readonly rollbackProcesses: readonly { readonly id: string; readonly execs: number; readonly forks: number }[];
    };
    /** Figure 5: the rollback on the node lab (absent in data from before it existed). */
    readonly lab?: LabRollback;
    /** Figure 6: the test suite with workers and in band (bench/suite.ts), or why not measured. */
    readonly suite?: SuiteResult | { readonly skipped: string };
    /** Figure 7: a bad network apply on the node lab, reachable again (absent in data from before it existed). */
    readonly labRevert?: LabRevert;
    /** Figure 8: the rollback guard, a trigger holding in Prometheus to its action (absent in data from before it existed). */
    readonly guard?: GuardFigure;
}

export const TARGETS = {
    cost256Ms: 3000,
    growth1024over256: 4.0,
    inputKiBPerNode: 16,
    stepsPerNode: 6,
    flipSteps: 1,
    rollbackFullMs: 300,
    rollbackOverEmptySteps: 2,
    noopRatio: 0.2,
    /** Figure 7: reachable again within network.confirmTimeout + this, s. */
    revertOverTimeoutS: 15,
    /** Figure 7: Proxmox HA's fencing window, s: with the default confirmTimeout the node must be back well before it. */
    haFencingS: 60,
    /** Figure 8: the guard's action starts within Prometheus's scrape interval + this, s, after a trigger holds there (issue 16). */
    guardOverScrapeS: 30,
    /** Figure 8: the runbook's recovery time objective, s (raise → action starting must be well inside it). */
    rtoS: 300,
} as const;

export interface Verdict {
    readonly figure: string;
    readonly target: string;
    readonly measured: string;
    /** undefined: not measured in this run (e.g. a size left out), or a figure without a target. */
    readonly met: boolean | undefined;
    /** No target is set for this figure (reported for the record). */
    readonly noTarget?: boolean;
}

const total = (s: ProgramSample) => s.programMs + s.policyMs;
const sizeOf = (d: BenchData, n: number) => d.cost.sizes.find((s) => s.nodes === n);
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const secSummary = (x: Summary) => formatSummary({ ...x, median: x.median / 1000, min: x.min / 1000, max: x.max / 1000 }, 2) + " s";
const mib = (kib: number) => kib / 1024;
const pct = (r: number) => `${(r * 100).toFixed(0)} %`;

function nodeSamples(d: BenchData, kind: PlanSample["kind"], from: Phase, to: Phase): PlanSample[] {
    return d.nodeSide.samples.filter((s) => s.kind === kind && s.from === from && s.to === to);
}

function msOf(samples: PlanSample[]): Summary {
    return summarize(samples.map((s) => s.ms));
}

export interface NoopPair {
    readonly noopAt: Phase;
    readonly after: string;
    readonly noop: Summary;
    readonly transition: Summary;
    readonly ratio: number;
}

/** Each second run next to the transition that preceded it (median / median). */
export function noopPairs(d: BenchData): NoopPair[] {
    const out: NoopPair[] = [];
    for (const top of PHASES.slice(1)) {
        const i = PHASES.indexOf(top);
        const promo = nodeSamples(d, "promotion", PHASES[i - 1], top);
        // The second run at `top` happens in the walks that stop at `top`.
        const noopTop = d.nodeSide.samples.filter((s, k, all) => s.kind === "noop" && s.from === top && all[k + 1]?.kind === "rollback");
        if (promo.length && noopTop.length) {
            const noop = msOf(noopTop);
            const transition = msOf(promo);
            out.push({ noopAt: top, after: `promotion ${PHASES[i - 1]} → ${top}`, noop, transition, ratio: noop.median / transition.median });
        }
    }
    for (const top of PHASES.slice(1)) {
        const rb = nodeSamples(d, "rollback", top, "perl-only");
        const noopPerl = d.nodeSide.samples.filter(
            (s, k, all) => s.kind === "noop" && s.from === "perl-only" && all[k - 1]?.kind === "rollback" && all[k - 1].from === top,
        );
        if (rb.length && noopPerl.length) {
            const noop = msOf(noopPerl);
            const transition = msOf(rb);
            out.push({ noopAt: "perl-only", after: `rollback ${top} → perl-only`, noop, transition, ratio: noop.median / transition.median });
        }
    }
    return out;
}

export function verdicts(d: BenchData): Verdict[] {
    const v: Verdict[] = [];
    const s256 = sizeOf(d, 256);
    const s1024 = sizeOf(d, 1024);
    const m256 = s256 ? summarize(s256.samples.map(total)) : undefined;
    const m1024 = s1024 ? summarize(s1024.samples.map(total)) : undefined;
    v.push({
        figure: "1. Plan + every policy, 256 nodes (in-process)",
        target: `< ${sec(TARGETS.cost256Ms)}`,
        measured: m256 ? secSummary(m256) : "not measured (256 not in --sizes)",
        met: m256 ? m256.median < TARGETS.cost256Ms : undefined,
    });
    const growth = m256 && m1024 ? m1024.median / m256.median : undefined;
    v.push({
        figure: "1. Growth, 1024 nodes / 256 nodes",
        target: `≤ ${TARGETS.growth1024over256} ×`,
        measured:
            growth !== undefined && m256 && m1024
                ? `${growth.toFixed(2)} × (medians; minima: ${(m1024.min / m256.min).toFixed(2)} ×)`
                : "not measured (needs 256 and 1024 in --sizes)",
        met: growth !== undefined ? growth <= TARGETS.growth1024over256 : undefined,
    });
    const inputs = s256?.samples[0] ? s256.samples[0].inputBytes / 256 / 1024 : undefined;
    v.push({
        figure: "1. Registered inputs per node, 256 nodes",
        target: `< ${TARGETS.inputKiBPerNode} KiB`,
        measured: inputs !== undefined ? `${inputs.toFixed(1)} KiB` : "not measured (256 not in --sizes)",
        met: inputs !== undefined ? inputs < TARGETS.inputKiBPerNode : undefined,
    });
    const one = d.paths.rollbacks.find((r) => r.nodes === 1 && r.from === "rust-full");
    const big = [...d.paths.rollbacks].filter((r) => r.from === "rust-full").sort((a, b) => b.nodes - a.nodes)[0];
    v.push({
        figure: `2. Rollback rust-full → perl-only, longest chain of commands, 1 node vs ${big?.nodes ?? "?"} nodes`,
        target: `equal, ≤ ${TARGETS.stepsPerNode}`,
        measured: one && big ? `${one.registered.length} and ${big.registered.length}` : "not measured",
        met: one && big ? one.registered.length === big.registered.length && big.registered.length <= TARGETS.stepsPerNode : undefined,
    });
    v.push({
        figure: "2. Blue-green flip, longest chain of changed resources",
        target: `${TARGETS.flipSteps} step`,
        measured: `${d.paths.flip.chain.length}`,
        met: d.paths.flip.chain.length === TARGETS.flipSteps,
    });
    const rb = nodeSamples(d, "rollback", "rust-full", "perl-only");
    const rbm = rb.length ? msOf(rb) : undefined;
    v.push({
        figure: "3. Rollback rust-full → perl-only, script time on a sandbox node (restarts excluded)",
        target: `< ${TARGETS.rollbackFullMs} ms`,
        measured: rbm ? `${formatSummary(rbm)} ms` : "not measured",
        met: rbm ? rbm.median < TARGETS.rollbackFullMs : undefined,
    });
    const empty = d.nodeSide.emptyStep;
    const steps = rb[0]?.steps.length;
    const overEmpty = rbm && steps && empty.n > 0 ? rbm.median / (steps * empty.median) : undefined;
    v.push({
        figure: "3. Rollback rust-full → perl-only on a sandbox node / (its steps × one empty step)",
        target: `≤ ${TARGETS.rollbackOverEmptySteps} ×`,
        measured: overEmpty !== undefined ? `${overEmpty.toFixed(2)} × (${rbm!.median.toFixed(0)} ms / (${steps} × ${empty.median.toFixed(1)} ms))` : "not measured",
        met: overEmpty !== undefined ? overEmpty <= TARGETS.rollbackOverEmptySteps : undefined,
    });
    const pairs = noopPairs(d);
    const worst = [...pairs].sort((a, b) => b.ratio - a.ratio)[0];
    v.push({
        figure: "4. Second run with nothing to do / the transition before it (worst pair)",
        target: `< ${pct(TARGETS.noopRatio)}`,
        measured: worst ? `${pct(worst.ratio)} (at ${worst.noopAt}, after ${worst.after})` : "not measured",
        met: worst ? worst.ratio < TARGETS.noopRatio : undefined,
    });
    const lab = d.lab;
    const labWall = lab && "samples" in lab ? summarize(lab.samples.map((x) => x.wallMs)) : undefined;
    v.push({
        figure: `5. Rollback rust-full → perl-only on the node lab, ${lab && "nodes" in lab ? lab.nodes : 3} nodes, wall time`,
        target: "none set",
        measured: labWall ? secSummary(labWall) : `not measured (${lab && "skipped" in lab ? lab.skipped : "no lab data"})`,
        met: undefined,
        noTarget: true,
    });
    const suite = d.suite && "runs" in d.suite ? d.suite : undefined;
    v.push({
        figure: "6. Test suite wall time, parallel workers (as npm test runs it) vs --runInBand",
        target: "reported",
        measured: suite
            ? `${sec(suite.workersMs)} vs ${sec(suite.inBandMs)} (workers: ${pct(1 - suite.workersMs / suite.inBandMs)} less)`
            : `not measured (${d.suite && "skipped" in d.suite ? d.suite.skipped : "no suite data"})`,
        met: undefined,
        noTarget: true,
    });
    v.push(...revertVerdicts(d));
    v.push(...guardVerdicts(d));
    return v;
}

/** Figure 8's data when measured. */
function guardData(d: BenchData): Exclude<GuardFigure, { skipped: string }> | undefined {
    return d.guard && "samples" in d.guard ? d.guard : undefined;
}

/** Per run: t_act − t_hold, ms (the figure). */
export const holdToActMs = (x: GuardSample): number => x.actMs - x.holdMs;

/** Figure 8's two rows: trigger holds → action starts against scrape interval + 30 s, and raise → action against the runbook's RTO. */
export function guardVerdicts(d: BenchData): Verdict[] {
    const g = guardData(d);
    const why = `not measured (${d.guard && "skipped" in d.guard ? d.guard.skipped : "no guard data"})`;
    const intervalS = g?.intervalS ?? 30;
    const scrapeS = g?.scrapeIntervalS ?? 1;
    const limitMs = (scrapeS + TARGETS.guardOverScrapeS) * 1000;
    const hold = g ? summarize(g.samples.map(holdToActMs)) : undefined;
    const raise = g ? summarize(g.samples.map((x) => x.actMs)) : undefined;
    return [
        {
            figure: `8. Rollback guard (interval ${intervalS} s, Prometheus scrape ${scrapeS} s): the fallback trigger holds in Prometheus → the guard's action starts`,
            target: `≤ ${sec(limitMs)} (scrape interval + ${TARGETS.guardOverScrapeS} s), every run`,
            measured: hold ? secSummary(hold) : why,
            met: hold ? hold.max <= limitMs : undefined,
        },
        {
            figure: "8. The same from the fallback counter's raise: raise → the guard's action starts",
            target: `< ${sec(TARGETS.rtoS * 1000)} (the runbook's 5-minute RTO), every run`,
            measured: raise ? secSummary(raise) : why,
            met: raise ? raise.max < TARGETS.rtoS * 1000 : undefined,
        },
    ];
}

function guardSection(d: BenchData): string {
    const head = "## 8. Rollback guard: a trigger holds in Prometheus → the action starts";
    const g = guardData(d);
    if (!g) {
        return [
            head,
            "",
            `Not measured: ${d.guard && "skipped" in d.guard ? d.guard.skipped : "no guard data"}. It needs Debian's Prometheus (/usr/bin/prometheus, package prometheus) and git, runs on 127.0.0.1 only, and is left out with \`--no-guard\`.`,
        ].join("\n");
    }
    const s = (ms: number) => (ms / 1000).toFixed(2);
    const hold = summarize(g.samples.map(holdToActMs));
    const raise = summarize(g.samples.map((x) => x.actMs));
    const editCommit = (x: GuardSample) => x.actMs - x.evaluationMs - x.queryMs;
    const rows = g.samples.map((x, i) => [
        String(i + 1),
        String(x.healthyBefore),
        s(x.raiseAfterEvaluationMs),
        s(x.holdMs),
        s(x.evaluationMs - x.holdMs),
        String(x.queryMs),
        String(editCommit(x)),
        `${x.commit} (${x.commitGitS} s)`,
        s(holdToActMs(x)),
        s(x.actMs),
    ]);
    return [
        head,
        "",
        `The automatic rollback guard (components/guard \`runGuard\`, as \`migration-ctl guard --stack ${g.stack}\` runs it) on a temporary git repository holding this project's stacks/, ${g.stack} (a node ring of one node, ${g.node}, at rust-read-only) given a \`pve-migration:rollback\` block: \`automatic: true\`, the default \`interval\` of ${g.intervalS} s, \`triggers.fallbackWindow\` ${g.fallbackWindowS} s, \`triggers.healthCheckInterval\` ${g.scrapeIntervalS} s. ` +
            `Its queries go through its own Prometheus client (realDeps().query) to a real Prometheus (Debian's /usr/bin/prometheus on 127.0.0.1, \`scrape_interval\` ${g.scrapeIntervalS} s, a fresh TSDB each run) that scrapes a stand-in exporter on 127.0.0.1 serving \`pve_network_fallback_total\` for ${g.node}. ` +
            "Its `up` is a stand-in for the Automation API's (no Pulumi CLI here) that records when it is called: the action starting, after the stack file edit (rust-read-only → perl-only) and its commit; the commit and the stack file are checked after each run. " +
            `${g.samples.length} run(s) (at most ${MAX_GUARD_RUNS}: each waits out at least one interval), each with a fresh Prometheus, guard state folder and repository (reset to its first commit): the guard starts once Prometheus has scraped the exporter and no trigger holds, makes a healthy evaluation, and run i of n raises the counter from 0 to 1 (t_raise) (i − ½)/n of the interval after that evaluation's start, so that the runs sample the guard's schedule evenly, as a fault at a random moment would.`,
        "",
        `t_hold is the first moment Prometheus's own answer to the fallback trigger's query (\`sum(increase(pve_network_fallback_total{...}[${g.fallbackWindowS}s]))\` > 0, asked by the bench every ${g.pollMs} ms from t_raise, each at the time it is asked) holds; t_act is when the stand-in up is called. ` +
            `Hold → action (t_act − t_hold): ${secSummary(hold)} (target: at most the scrape interval + ${TARGETS.guardOverScrapeS} s = ${sec((g.scrapeIntervalS + TARGETS.guardOverScrapeS) * 1000)} in every run); raise → action (t_act − t_raise): ${secSummary(raise)}, against the runbook's 5-minute RTO (${sec(TARGETS.rtoS * 1000)}). ` +
            `The trigger held ${secSummary(summarize(g.samples.map((x) => x.holdMs)))} after the raise (the next scrape, to the bench's ${g.pollMs} ms). ` +
            `With an \`interval\` of ${g.intervalS} s the guard sees a trigger at its next evaluation: t_act − t_hold is spread over 0 to ${g.intervalS} s by where t_hold falls in the guard's schedule (the runs' spread above is that of their raises, not noise), plus that evaluation's queries (${formatSummary(summarize(g.samples.map((x) => x.queryMs)))} ms) and the stack file edit and commit (${formatSummary(summarize(g.samples.map(editCommit)))} ms); a trigger that holds just after an evaluation started waits the whole interval.`,
        "",
        table(
            [
                "run",
                "healthy evaluations before",
                "raise after a healthy evaluation's start (s)",
                "holds after the raise (s)",
                "acting evaluation's start after the hold (s)",
                "its queries (ms)",
                "edit and commit (ms)",
                "commit (git log time, whole s after the raise)",
                "hold → action (s)",
                "raise → action (s)",
            ],
            rows,
        ),
    ].join("\n");
}

/** Figure 7's samples, all of one confirmTimeout (a mix is an error), or undefined when not measured. */
function revertSamples(d: BenchData): { timeoutS: number; samples: LabRevertSample[] } | undefined {
    const r = d.labRevert;
    if (!r || "skipped" in r) return undefined;
    const timeouts = [...new Set(r.samples.map((x) => x.confirmTimeoutS))];
    if (timeouts.length !== 1) throw new Error(`figure 7: the runs had different confirmTimeouts (${timeouts.join(", ")} s)`);
    return { timeoutS: timeouts[0], samples: r.samples };
}

/** Per run: what reachable-again would be with the default confirmTimeout, s (the default plus the measured overhead over the run's own timeout). */
export function atDefaultTimeoutS(x: LabRevertSample): number {
    return BOUNDS.confirmTimeout.default + (x.reachableMs / 1000 - x.confirmTimeoutS);
}

/** Figure 7's two rows: reachable again against confirmTimeout + 15 s, and the bound at the default timeout against HA's fencing window. */
export function revertVerdicts(d: BenchData): Verdict[] {
    const m = revertSamples(d);
    const timeoutS = m?.timeoutS ?? REVERT_CONFIRM_TIMEOUT_S;
    const def = BOUNDS.confirmTimeout.default;
    const why = `not measured (${d.labRevert && "skipped" in d.labRevert ? d.labRevert.skipped : "no lab data"})`;
    const reach = m ? summarize(m.samples.map((x) => x.reachableMs)) : undefined;
    const limitMs = (timeoutS + TARGETS.revertOverTimeoutS) * 1000;
    const atDefault = m ? summarize(m.samples.map(atDefaultTimeoutS)) : undefined;
    return [
        {
            figure: `7. Bad network apply on the node lab (management address left out), confirmTimeout ${timeoutS} s: start of the apply → a new ssh connection succeeds`,
            target: `≤ ${sec(limitMs)} (confirmTimeout + ${TARGETS.revertOverTimeoutS} s), every run`,
            measured: reach ? secSummary(reach) : why,
            met: reach ? reach.max <= limitMs : undefined,
        },
        {
            figure: `7. The same with the default confirmTimeout (${def} s): ${def} s + the measured (reachable − confirmTimeout)`,
            target: `< ${sec(TARGETS.haFencingS * 1000)} (Proxmox HA's fencing window), every run`,
            measured: atDefault ? `${formatSummary(atDefault, 2)} s` : why,
            met: atDefault ? atDefault.max < TARGETS.haFencingS : undefined,
        },
    ];
}

function revertSection(d: BenchData): string {
    const head = "## 7. Bad network apply on the node lab: reachable again";
    const m = revertSamples(d);
    if (!m) {
        const r = d.labRevert;
        return [
            head,
            "",
            `Not measured: ${r && "skipped" in r ? r.skipped : "no lab data"}. It runs on the node lab after section 5's runs (root, systemd-nspawn and debootstrap: lab/host.ts), and is left out with \`--no-lab\`.`,
        ].join("\n");
    }
    const x0 = m.samples[0];
    const def = BOUNDS.confirmTimeout.default;
    const reach = summarize(m.samples.map((x) => x.reachableMs));
    const rows = m.samples.map((x, i) => [
        String(i + 1),
        String(x.lastReachableMs),
        String(x.unreachableMs),
        String(x.reachableMs),
        atDefaultTimeoutS(x).toFixed(2),
        String(x.nodeRevertS),
        `${x.probes} (${x.failedProbes}; ${x.failedOutside})`,
    ]);
    return [
        head,
        "",
        `The network dead-man switch (README "The dead-man switch of every network apply") on the same lab as section 5, after its runs; ${m.samples.length} run(s) (at most ${MAX_LAB_RUNS}), with \`network.confirmTimeout\` = ${m.timeoutS} s (the default is ${def} s). ` +
            `Each run provokes what test/lab/dead-man.test.ts does: the stack walks perl-only → rust-read-only → rust-basic-write with ${x0.node}'s own interfaces (that backup is the good one) and back to rust-read-only; ${x0.node}'s /etc/network/interfaces without its management interface (host0, ${x0.address}) is the Perl-era file the next backup records (rust-basic-write), the good file is written back, and the stack rolls back to perl-only: the restore brings the bad file back, \`legacy-apply\` (\`ifreload -a\`) takes the address away, nothing can confirm over a new connection, and the node's transient systemd timer puts the saved files back and runs \`ifreload -a\` again. ` +
            "Then a run with a correct config (`backups.restoreId` naming the good backup) restores, applies and confirms, and the next run starts from perl-only.",
        "",
        `t0 is the start of ${x0.node}'s \`legacy-apply\` command in that rollback (the replay's op start, host clock; its ssh connection, the validation and the timer's arm come before the \`ifreload -a\` that takes the address away, so t1 − t0 is an upper bound on apply → reachable). ` +
            `t1 is the end of the first new ssh connection that succeeds (\`ssh -o ConnectTimeout=1 root@${x0.address} true\`, pinned host key, as the lab dials) among those started after the first one that failed after t0: the host starts one every 200 ms without waiting for the one before (each killed after 5 s), from the start of that \`pulumi up\` to its end (at most 90 s and 450 connections), so t1 is at most 200 ms later than the end of the earliest connection that could have succeeded; t1 includes that connection's handshake. ` +
            "Failed connections outside the window (started before its first failed one, or after the one that gave t1) are counted apart in the table, such as a connection started just before t0 whose handshake had not ended when the address went. " +
            "The node's own revert is the time of its migration.log line `step=network-revert result=reverted` minus that of its `step=legacy-apply result=changed` line (written when the apply has ended), in whole seconds (the log's resolution).",
        "",
        `Reachable again (t1 − t0): ${secSummary(reach)} (target: within confirmTimeout + ${TARGETS.revertOverTimeoutS} s = ${sec((m.timeoutS + TARGETS.revertOverTimeoutS) * 1000)} in every run), ${secSummary({ ...reach, median: reach.median - m.timeoutS * 1000, min: reach.min - m.timeoutS * 1000, max: reach.max - m.timeoutS * 1000 })} after the timeout. ` +
            `The first failed connection started ${formatSummary(summarize(m.samples.map((x) => x.unreachableMs)))} ms after t0 (the last one that succeeded among those started before it ended at ${formatSummary(summarize(m.samples.map((x) => x.lastReachableMs)))} ms: a handshake can outlast the 200 ms between two connections, so that one can end after the first failed one started; the address was still there when it ended). ` +
            `The node's own revert: ${formatSummary(summarize(m.samples.map((x) => x.nodeRevertS)))} s after its apply by its log. ` +
            `With the default confirmTimeout of ${def} s the same overhead gives ${formatSummary(summarize(m.samples.map(atDefaultTimeoutS)), 2)} s, against Proxmox HA's ${TARGETS.haFencingS} s fencing window.`,
        "",
        table(
            [
                "run",
                "last connection before (ms after t0)",
                "first failed, its start (ms)",
                "reachable again (ms)",
                `with confirmTimeout ${def} s (s)`,
                "node's revert by its log (s)",
                "connections (failed; of them outside the window)",
            ],
            rows,
        ),
    ].join("\n");
}

function suiteSection(d: BenchData): string {
    const head = "## 6. Test suite wall time\n\n";
    if (!d.suite || "skipped" in d.suite) return `${head}Not measured: ${d.suite ? d.suite.skipped : "no suite data"}.\n`;
    const s = d.suite;
    const serial = s.runs.find((r) => r.project === "serial");
    return (
        head +
        "Each jest project of `npm test` run once with its workers (package.json: unit `--maxWorkers=100%`, real `--maxWorkers=2`) and once `--runInBand`, one after another in the same bench run (bench/suite.ts); " +
        "the serial project (the node lab, the wall-clock bounds) runs in band either way, so it is run once and counted in both totals. tsc, the build and lint, which `npm test` runs first, are not included. Every run passed every test.\n\n" +
        table(
            ["project", "how", "jest arguments", "tests", "wall time"],
            s.runs.map((r) => [r.project, r.mode, r.args.join(" "), String(r.tests), sec(r.wallMs)]),
        ) +
        `\n\nTotal with workers: ${sec(s.workersMs)}; in band: ${sec(s.inBandMs)}${serial ? ` (both with the serial project's ${sec(serial.wallMs)})` : ""}: the workers take ${pct(1 - s.workersMs / s.inBandMs)} less.\n`
    );
}

/** Per step of the lab rollbacks: start, end and duration over the runs, in order of median start. */
export function labStepRows(samples: readonly LabRollbackSample[]): { name: string; start: Summary; end: Summary; duration: Summary }[] {
    const names = samples[0].steps.map((x) => x.name);
    for (const [i, s] of samples.entries()) {
        const got = s.steps.map((x) => x.name).sort();
        if (JSON.stringify(got) !== JSON.stringify([...names].sort())) {
            throw new Error(`lab rollback run ${i + 1} ran other steps (${got.join(", ")}) than run 1 (${[...names].sort().join(", ")})`);
        }
    }
    const of = (name: string, f: (x: LabStepTime) => number) => summarize(samples.map((s) => f(s.steps.find((x) => x.name === name)!)));
    return names
        .map((name) => ({ name, start: of(name, (x) => x.startMs), end: of(name, (x) => x.endMs), duration: of(name, (x) => x.endMs - x.startMs) }))
        .sort((a, b) => a.start.median - b.start.median || a.name.localeCompare(b.name));
}

function labSection(d: BenchData): string {
    const head = "## 5. Rollback on the node lab";
    const lab = d.lab;
    if (!lab || "skipped" in lab)
        return [
            head,
            "",
            `Not measured: ${lab ? lab.skipped : "no lab data"}. It needs root, systemd-nspawn and debootstrap (lab/host.ts), and is left out with \`--no-lab\`.`,
        ].join("\n");
    const rows = labStepRows(lab.samples).map((r) => [r.name, formatSummary(r.start), formatSummary(r.end), formatSummary(r.duration)]);
    const wall = summarize(lab.samples.map((x) => x.wallMs));
    const last = summarize(lab.samples.map((x) => Math.max(...x.steps.map((y) => y.endMs))));
    return [
        head,
        "",
        `A ${lab.nodes}-node rollback rust-full → perl-only on the node lab (lab/index.ts: Debian 12 nodes under systemd-nspawn with systemd, sshd and ifupdown2, reached over OpenSSH with pinned host keys), after a walk perl-only → rust-full one phase at a time; ${lab.samples.length} run(s) (at most ${MAX_LAB_RUNS}: each needs the walk up first). ` +
            "Each `pulumi up` is the project's program through the replay of registered resources (test/support/replay, a stand-in for the Pulumi engine and @pulumi/command that runs the registered commands over real ssh: one connection per step, as the provider dials one per command). " +
            "Unlike section 3 the service restarts are real: the middleware restart and the Rust daemon's stop and disable by systemd, and `pvenet-legacy apply` (ifreload).",
        "",
        `Wall time of the run (the program and every step): ${secSummary(wall)}; the last step ends at ${formatSummary(last)} ms. Steps of one node run in the plan's order, nodes in parallel; the cluster's migration.toml and cluster files go through the writer node (pve1).`,
        "",
        table(["step", "start (ms from the run's start)", "end (ms)", "duration (ms)"], rows),
    ].join("\n");
}

function table(head: string[], rows: string[][]): string {
    const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
    return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

function stepKinds(ids: readonly string[]): string {
    return ids.map((id) => id.replace(/^pve\d{4}-/, "").replace(/^bench-|^lab-/, "")).join(" → ");
}

/**
 * The state per node and what the file backend writes for one transition, estimated from the
 * largest ring measured. The file backend saves the whole checkpoint on every mutation of the
 * snapshot (pulumi/pulumi pkg/backend/diy/snapshot.go diySnapshotPersister.Save, called by
 * pkg/backend/snapshot.go SnapshotManager.mutate): an update step writes it when it begins
 * (markOperationPending) and when it ends (markOperationComplete); only same steps without a
 * meaningful change elide the write. In a transition every command resource is updated (each
 * carries the transition id).
 */
function stateParagraph(d: BenchData): string {
    const big = [...d.cost.sizes].sort((a, b) => b.nodes - a.nodes)[0];
    const x = big?.samples[0];
    if (!x) return "State: not measured.";
    const perNode = x.stateBytes / big.nodes / 1024;
    const writes = 2 * x.commands;
    const total = writes * x.stateBytes;
    return (
        `State (estimate: each resource's inputs, and its outputs, which for a command repeat the inputs and add about 160 bytes of stdout per step): ` +
        `${(x.stateBytes / 2 ** 20).toFixed(1)} MiB at ${big.nodes} nodes, ${perNode.toFixed(1)} KiB per node. ` +
        `The file backend writes the whole checkpoint when each update step begins and when it ends (pulumi/pulumi pkg/backend/snapshot.go, SnapshotManager.mutate; pkg/backend/diy/snapshot.go), ` +
        `so one transition of that ring (${x.commands} commands, each updated) writes about ${writes} checkpoints of up to that size: ${(total / 2 ** 30).toFixed(1)} GiB.`
    );
}

function costSection(d: BenchData): string {
    const rows = d.cost.sizes.map((s) => {
        const x = s.samples;
        const tot = summarize(x.map(total));
        return [
            String(s.nodes),
            String(x[0].resources),
            String(x[0].steps),
            formatSummary(summarize(x.map((y) => y.programMs))),
            formatSummary(summarize(x.map((y) => y.policyMs))),
            formatSummary(tot),
            formatSummary(summarize(x.map((y) => y.gcMs))),
            (tot.median / s.nodes).toFixed(1),
            formatSummary(summarize(x.map((y) => y.loadMs))),
            formatSummary(summarize(x.map((y) => y.wallMs))),
            formatSummary(summarize(x.map((y) => mib(y.maxRssKiB)))),
            `${(x[0].inputBytes / 2 ** 20).toFixed(1)} (${((100 * x[0].scriptBytes) / x[0].inputBytes).toFixed(0)} % scripts)`,
        ];
    });
    const growth: string[] = [];
    for (let i = 1; i < d.cost.sizes.length; i++) {
        const a = d.cost.sizes[i - 1];
        const b = d.cost.sizes[i];
        const r = summarize(b.samples.map(total)).median / summarize(a.samples.map(total)).median;
        growth.push(`${a.nodes} → ${b.nodes} nodes (× ${(b.nodes / a.nodes).toFixed(0)}): time × ${r.toFixed(2)}`);
    }
    const first = d.cost.sizes[0]?.samples[0];
    const perNode = d.cost.sizes.length >= 2 ? perNodeResources(d) : "";
    return [
        "## 1. Plan and policy cost against ring size",
        "",
        `The real program (components/program.ts) under the SDK's mock runtime, recorded as the offline policy check records it, then every policy of the pack (${first?.policiesRun ?? "?"} policies) evaluated on what it registered (components/policycheck \`evaluatePack\`). ` +
            `Scenario: an SSH ring deployed at ${d.cost.from}, configured at ${d.cost.to} (the rollback: the largest plan, 7 steps per node), guards on. ` +
            "Each run is a process of its own (`node -r ts-node/register/transpile-only bench/program-child.ts`), so peak memory is per run: peak RSS is the process's getrusage maximum (the figure `/usr/bin/time -v` prints). " +
            "Every run must pass every policy (no violation, no policy error) or the benchmark fails.",
        "",
        table(
            [
                "nodes",
                "resources registered",
                "node steps",
                "program (ms)",
                "policies (ms)",
                "program + policies (ms)",
                "of which GC (ms)",
                "per node (ms)",
                "process start to program ready (ms)",
                "process spawn to exit (ms)",
                "peak RSS (MiB)",
                "registered inputs (MiB)",
            ],
            rows,
        ),
        "",
        `Resources registered are registrations (what the policy server sees); the program also reads ${first?.stackReferences ?? "?"} stack reference (its own deployed phase). ${perNode} ` +
            "Registered inputs: every registration's inputs as JSON, what the engine keeps in the stack's state; each command carries its steps' arguments on its command line and the node's step stub as its stdin (the step library itself is a file asset: its path and hash).",
        "",
        "Growth: " + (growth.length ? growth.join("; ") : "one size only") + ".",
        "",
        stateParagraph(d),
        "",
        "The target applies to program + policies; the process start (Node.js, ts-node, the Pulumi SDKs, compiling the program) comes on top once per `pulumi preview`, whatever the size (and more there: without `noCheck` in tsconfig.json, Pulumi's ts-node also type-checks the program at start, which `--transpile-only` here does not). Under `pulumi preview` the engine's own work (gRPC, state, diff) comes on top as well; it is not measured here (no Pulumi CLI).",
        "",
        diagnosisText(d),
    ].join("\n");
}

function perNodeResources(d: BenchData): string {
    const [a, b] = [d.cost.sizes[0], d.cost.sizes[d.cost.sizes.length - 1]];
    const per = (b.samples[0].resources - a.samples[0].resources) / (b.nodes - a.nodes);
    const fixed = a.samples[0].resources - per * a.nodes;
    const types = Object.entries(b.samples[0].byType)
        .map(([t, n]) => `${t} ${n}`)
        .join(", ");
    return `Per node: ${per} registrations, plus ${fixed} per stack. At ${b.nodes} nodes: ${types}.`;
}

function diagnosisText(d: BenchData): string {
    const diag = d.cost.diagnosis;
    if (!diag) return "";
    const u = diag.unmapped;
    const measured = sizeOf(d, u.nodes);
    if (!measured) return "";
    const m = summarize(measured.samples.map((s) => s.programMs));
    const perResource = u.promises !== undefined ? (u.promises / u.resources).toFixed(1) : "?";
    return [
        `Diagnosis (${u.nodes} nodes, one run): the same program with V8's own stack formatting instead of ts-node's source-mapped one took ` +
            `${u.programMs.toFixed(0)} ms of program time (measured above: ${formatSummary(m)} ms), peak RSS ${mib(u.maxRssKiB).toFixed(0)} MiB. ` +
            `The Pulumi Node.js SDK created ${u.promises ?? "?"} debuggable promises in that run, ${perResource} per registered resource; ` +
            "each captures `new Error().stack` (runtime/debuggable.js), without a frame while the program registers (components/program.ts quietStackCapture sets Error.stackTraceLimit to 0), and each resource also captures a full stack for its source position (resource.js Resource.callsites, which raises the limit itself). " +
            "Under ts-node (how `npm run bench` and `pulumi` run a TypeScript program: Pulumi.yaml has `typescript: true`) every captured frame is rewritten through the source maps; the difference above is that rewriting.",
    ].join("\n");
}

function pathsSection(d: BenchData): string {
    const rows = d.paths.rollbacks.map((r) => [
        `${r.from} → ${r.to}`,
        String(r.nodes),
        String(r.steps),
        String(r.registered.length),
        String(r.plan.length),
        stepKinds(r.registered),
    ]);
    const f = d.paths.flip;
    return [
        "## 2. Rollback critical path",
        "",
        "The longest chain of commands in the graph a rollback config registers: the command resources and the dependencies each was registered with (through the transition record and components to the commands behind them), next to components/plan's `commandCriticalPath` of the plan's commands for the same transition (planCommands: a node's steps between two cluster steps are one command, which runs them in order). Nodes roll back in parallel; the cluster-wide migration.toml and the cluster files are written once, through the writer node.",
        "",
        table(["rollback", "nodes", "commands registered", "longest chain (registered)", "longest chain (plan)", "chain"], rows),
        "",
        `Blue-green flip (${f.nodes}-node stack with the prod stack's blueGreen block, activeColor flipped with \`flipColor\`): the resources whose registration changes are ${f.changed.map((c) => `\`${c}\``).join(", ")}; ` +
            `the longest chain among them is ${f.chain.length} (${f.chain.join(" ∥ ") || "none"}): the Services' selectors change together, no release is upgraded and no node step runs. ` +
            `The same config run twice changes ${f.secondRunChanged} resources (no perpetual diff). Policies on the flipped config: ${f.problems.length === 0 ? "all pass" : f.problems.join("; ")}.`,
    ].join("\n");
}

function nodeSection(d: BenchData): string {
    const promoRows: string[][] = [];
    const deploy = d.nodeSide.samples.filter((s) => s.kind === "deploy");
    if (deploy.length) promoRows.push(["first deployment at perl-only", String(deploy[0].steps.length), formatSummary(msOf(deploy)), String(deploy.length)]);
    for (let i = 1; i < PHASES.length; i++) {
        const s = nodeSamples(d, "promotion", PHASES[i - 1], PHASES[i]);
        if (s.length) promoRows.push([`${PHASES[i - 1]} → ${PHASES[i]}`, String(s[0].steps.length), formatSummary(msOf(s)), String(s.length)]);
    }
    const rbRows: string[][] = [];
    for (const top of PHASES.slice(1)) {
        const s = nodeSamples(d, "rollback", top, "perl-only");
        if (s.length) {
            const restored = s[0].steps.some((x) => x.id.endsWith("-restore"));
            rbRows.push([
                `${top} → perl-only`,
                String(s[0].steps.length),
                restored ? "yes" : "no (nothing written by Rust)",
                formatSummary(msOf(s)),
                String(s.length),
            ]);
        }
    }
    const full = nodeSamples(d, "rollback", "rust-full", "perl-only");
    const stepRows = full.length
        ? full[0].steps.map((st, k) => [st.id, st.result, st.diagnostics ? "yes" : "", formatSummary(summarize(full.map((f) => f.steps[k].ms)))])
        : [];
    const skipped = [...new Set(d.nodeSide.samples.flatMap((s) => s.skipped))].sort();
    return [
        "## 3. Node-side script time",
        "",
        `The node steps run with bash on a sandbox node root as the local transport runs them (components/sandbox/run.ts: \`/bin/sh -c\` on the step runner, which reads the node's step stub from stdin and starts \`timeout -k 10 <limit> bash -c <stub> <step> <args>\`; the stub checks the step library's sha256 and sources it), each step as a command of its own so that each has its own time, one after another: a one-node cluster with the cluster-wide migration.toml, so the node runs the cluster steps too, as the writer node does. Script time is the sum of the steps' times, each from spawn to exit. ` +
            `${d.nodeSide.runs} walk(s) per rollback source: fresh root, first deployment, promotions one phase at a time, a second run, Rust's writes, the rollback, a second run. A rollback from a write phase restores the latest verified backup (its manifest checked before anything is restored), and every rollback must bring back the Perl-era files byte for byte, or the benchmark fails.`,
        "",
        `**Service restarts are excluded**: the sandbox has no service manager, so the scripts skip them and log that they did (${skipped.map((s) => `“${s}”`).join(", ") || "none seen"}); unit enablement is changed with \`systemctl --root\`. On a real node the restart of the middleware (and the stop of the Rust daemon) come on top.`,
        "",
        `Floor per step on this machine: spawning \`/bin/sh -c 'bash -s --'\` with an empty script takes ${formatSummary(d.nodeSide.spawnFloor, 1)} ms (n = ${d.nodeSide.spawnFloor.n}).`,
        "",
        "Promotions:",
        "",
        table(["transition", "steps", "script time (ms)", "n"], promoRows),
        "",
        "Rollbacks to perl-only:",
        "",
        table(["rollback", "steps", "restore", "script time (ms)", "n"], rbRows),
        "",
        "Rollback rust-full → perl-only, step by step:",
        "",
        table(["step", "result", "collects a diagnostics bundle", "ms"], stepRows),
        "",
        `The diagnostics bundle collector alone (components/scripts/diagnostics.ts, which the snapshot step runs before a transition, inside its time, and the verify step of a rollback starts after itself, in its own session and outside any step's time), on the node root after the rollback: ${formatSummary(d.nodeSide.collector)} ms (n = ${d.nodeSide.collector.n}).`,
        "",
        `One empty step (the step library with the units step's body replaced by nothing but \`init_step\` and \`done_step\`, through the step runner and the node's stub: the library's sha256 checked and sourced, the prelude, the node lock, the state folder, the decision line): ${formatSummary(d.nodeSide.emptyStep, 1)} ms (n = ${d.nodeSide.emptyStep.n}).`,
        "",
        "Processes each step of the rollback rust-full → perl-only starts (one walk, `strace -f -c` around the step's `/bin/sh -c`; successful execve and fork/clone calls of every process of the step; the verify step's count includes the post-rollback bundle it starts):",
        "",
        table(
            ["step", "execs", "forks"],
            [
                ...d.nodeSide.rollbackProcesses.map((p) => [p.id, String(p.execs), String(p.forks)]),
                [
                    "total",
                    String(d.nodeSide.rollbackProcesses.reduce((a, p) => a + p.execs, 0)),
                    String(d.nodeSide.rollbackProcesses.reduce((a, p) => a + p.forks, 0)),
                ],
            ],
        ),
    ].join("\n");
}

function noopSection(d: BenchData): string {
    const rows = noopPairs(d).map((p) => [p.noopAt, formatSummary(p.noop), p.after, formatSummary(p.transition), pct(p.ratio)]);
    const n = d.nodeSide.samples.filter((s) => s.kind === "noop");
    return [
        "## 4. No-op cost",
        "",
        `A second run of the plan with nothing to do, on the node root the transition just converged: every step must report \`unchanged\` or \`ok\` and nothing but the decision log may change (checked on all ${n.length} second runs, by hashing every file of the sandbox before and after). ` +
            `Under Pulumi the first \`pulumi up\` after a transition runs the steady-state plan once (every step carries the transition id, which the no-change plan's record renews); a further \`pulumi up\` with the same config runs no step: the program registers the same inputs (section 2: ${d.paths.flip.secondRunChanged} resources change), so the engine has nothing to update. The figure below is the cost of that one run of the steady-state plan (and of a replaced resource or a manual re-run).`,
        "",
        table(["second run at", "script time (ms)", "after", "transition (ms)", "ratio of medians"], rows),
    ].join("\n");
}

function missesSection(d: BenchData, v: Verdict[]): string {
    const out: string[] = ["## Missed targets: why, and what would fix it", ""];
    const missed = v.filter((x) => x.met === false);
    if (missed.length === 0) return [...out, "None."].join("\n");
    for (const m of missed) {
        out.push(`- **${m.figure}** (target ${m.target}, measured ${m.measured}).`);
        out.push(`  ${whyText(d, m)}`);
    }
    return out.join("\n");
}

/** What one node registers in a sample, from the registrations by type (the ring's own resources left out). */
function perNodeMix(x: MeasuredSample, nodes: number): { total: number; text: string } {
    const n = (t: string) => (x.byType[t] ?? 0) / nodes;
    const commands = n("command:remote:Command") + n("command:local:Command");
    const copies = n("command:remote:CopyToRemote");
    const components = [
        "pve-migration:node:MigrationNode",
        "pve-migration:node:Backups",
        "pve-migration:node:RustPackage",
        "pve-migration:node:SystemdUnits",
        "pve-migration:node:MigrationConfigFile",
    ]
        .map(n)
        .reduce((a, b) => a + b, 0);
    return {
        total: commands + copies + components,
        text: `${commands.toFixed(1)} commands, ${copies.toFixed(1)} step-library copy, ${components.toFixed(1)} components`,
    };
}

function whyText(d: BenchData, m: Verdict): string {
    if (m.figure.startsWith("8. The same")) {
        const g = guardData(d)!;
        return (
            `Why: raise → action is the time until Prometheus's answer holds (${secSummary(summarize(g.samples.map((x) => x.holdMs)))}: the next scrape) plus hold → action (${secSummary(summarize(g.samples.map(holdToActMs)))}: the guard's next evaluation, at most its \`interval\` of ${g.intervalS} s later, its queries, the edit and the commit); section 8 has each run. ` +
            "What would fix it: a shorter `rollback.interval`, or a faster Prometheus and repository."
        );
    }
    if (m.figure.startsWith("8.")) {
        const g = guardData(d)!;
        const late = g.samples.filter((x) => holdToActMs(x) > (g.scrapeIntervalS + TARGETS.guardOverScrapeS) * 1000);
        return (
            `Why: the guard acts at its first evaluation after the trigger holds, at most its \`interval\` (${g.intervalS} s) later, plus that evaluation's queries and the stack file edit and commit; ` +
            `${late.length} run(s) took longer (section 8: the acting evaluation started ${late.map((x) => ((x.evaluationMs - x.holdMs) / 1000).toFixed(2)).join(", ") || "-"} s after the hold, its queries took ${late.map((x) => x.queryMs).join(", ") || "-"} ms): a slow Prometheus answer, a later evaluation than the one after the hold (the trigger stopped holding in between), or a slow commit. ` +
            "What would fix it: a shorter `rollback.interval`, or a faster Prometheus and repository."
        );
    }
    if (m.figure.startsWith("7.")) {
        const r = revertSamples(d)!;
        const over = summarize(r.samples.map((x) => x.reachableMs / 1000 - x.confirmTimeoutS));
        const node = summarize(r.samples.map((x) => x.nodeRevertS));
        return (
            `Why: the node answered a new connection ${formatSummary(over, 2)} s after its confirmTimeout of ${r.timeoutS} s; by its own log it reverted ${formatSummary(node)} s after its apply. ` +
            "The time after the timeout is the revert itself (the files put back, `ifreload -a`, bounded at 60 s) and the link and sshd answering again; section 7 has each run. " +
            "What would fix it: a shorter `ifreload` (only the interfaces the revert changed: `ifreload` of those, not `-a`), or a smaller confirmTimeout."
        );
    }
    if (m.figure.startsWith("1. Plan")) {
        const s = sizeOf(d, 256)!;
        const x = s.samples;
        const res = x[0].resources;
        const tot = summarize(x.map(total)).median;
        const prog = summarize(x.map((y) => y.programMs)).median;
        const pol = summarize(x.map((y) => y.policyMs)).median;
        const gc = summarize(x.map((y) => y.gcMs)).median;
        const parts = [
            `Why: the cost is per registered resource: ${(tot / res).toFixed(2)} ms each at 256 nodes (${res} resources; per node ${perNodeMix(x[0], 256).text}). ` +
                `Of the ${tot.toFixed(0)} ms, the program under the SDK takes ${prog.toFixed(0)} ms and the policies ${pol.toFixed(0)} ms; garbage collection ${gc.toFixed(0)} ms of it. ` +
                "The program's own logic (config validation, plans, rendering) is a small part. The SDK's per-promise stacks (runtime/debuggable.js) are off while the program registers (components/program.ts quietStackCapture sets Error.stackTraceLimit to 0); what stays is the full stack the SDK captures for every resource's source position (resource.js Resource.callsites raises the limit itself), which ts-node, as `pulumi` does with source-map-support, rewrites through the source maps.",
        ];
        const u = d.cost.diagnosis?.unmapped;
        const um = u ? sizeOf(d, u.nodes) : undefined;
        if (u && um) {
            const measured = summarize(um.samples.map((y) => y.programMs)).median;
            const perRes = u.programMs / u.resources;
            parts.push(
                `Measured at ${u.nodes} nodes: ${u.promises ?? "?"} SDK promises (${u.promises !== undefined ? (u.promises / u.resources).toFixed(1) : "?"} per resource); with V8's own stack formatting the program part takes ${u.programMs.toFixed(0)} ms instead of ${measured.toFixed(0)} ms (${perRes.toFixed(2)} ms per resource).`,
            );
            const budgetPerNode = (TARGETS.cost256Ms - pol) / 256;
            const alone =
                u.nodes === 256
                    ? ` Without the source-map rewriting of the per-resource stacks the program would take about ${sec(u.programMs + pol)} with the policies (the diagnosis run).`
                    : "";
            parts.push(
                `What would fix it: fewer registrations per node: after the policies' ${pol.toFixed(0)} ms, 3 s at 256 nodes leaves ${budgetPerNode.toFixed(1)} ms per node, about ${Math.max(0, Math.floor(budgetPerNode / perRes))} registrations per node at ${perRes.toFixed(2)} ms each, against ${perNodeMix(x[0], 256).total.toFixed(1)} now (${perNodeMix(x[0], 256).text}; the commands are already the fewest that keep the plan's ordering barriers, so what is left is the component wrappers).` +
                    alone +
                    " Compiling the program to JavaScript does not help under `pulumi`, whose runner loads source-map-support whatever the program is. Smaller rings also help: each stack is planned on its own, so a 1024-node cluster split into rings of at most 256 nodes waits for one ring at a time.",
            );
        } else {
            parts.push("What would fix it: run with the diagnosis (drop --no-diagnose) to see the share of the stack formatting.");
        }
        return parts.join(" ");
    }
    if (m.figure.startsWith("1. Growth")) {
        const a = sizeOf(d, 256)!.samples;
        const b = sizeOf(d, 1024)!.samples;
        const per = (x: MeasuredSample[]) => summarize(x.map(total)).median / x[0].resources;
        const gcShare = (x: MeasuredSample[]) => summarize(x.map((y) => y.gcMs)).median / summarize(x.map(total)).median;
        const noGc = (x: MeasuredSample[]) => summarize(x.map((y) => total(y) - y.gcMs)).median;
        return (
            `Why: the cost per resource rises from ${per(a).toFixed(2)} ms at 256 nodes to ${per(b).toFixed(2)} ms at 1024, and garbage collection's share of the time from ${pct(gcShare(a))} to ${pct(gcShare(b))}; ` +
            `without the collector's pauses the ratio would be ${(noGc(b) / noGc(a)).toFixed(2)} × (${noGc(b) / noGc(a) <= TARGETS.growth1024over256 ? "within the target" : "still above the target: the rest grows with the ring too"}). ` +
            `The heap grows with everything the run keeps alive per resource (peak RSS ${mib(summarize(b.map((y) => y.maxRssKiB)).median).toFixed(0)} MiB at 1024 nodes): its inputs and outputs (${(b[0].inputBytes / 2 ** 20).toFixed(0)} MiB of inputs as JSON, ${pct(b[0].scriptBytes / b[0].inputBytes)} of it the steps' scripts) and the SDK's captured stack strings. ` +
            "What would fix it: fewer registrations per node (the component wrappers), or rings of at most 256 nodes."
        );
    }
    if (m.figure.startsWith("1. Registered inputs")) {
        const x = sizeOf(d, 256)!.samples[0];
        return (
            `Why: of the ${(x.inputBytes / 2 ** 20).toFixed(1)} MiB registered at 256 nodes, the commands' stdin (the node's step stub, once per command) is ${pct(x.scriptBytes / x.inputBytes)}; the rest is mostly the steps' arguments on the command lines (the units step carries both rendered unit files, the config step the migration.toml) and the runner, once per command, and each command's connection. ` +
            "What would fix it: the runner and the stub in the step library too (a command line that only names the library), and the unit files and the migration.toml sent as files (assets) rather than arguments."
        );
    }
    if (m.figure.startsWith("3. Rollback rust-full → perl-only on a sandbox node /")) {
        const full = nodeSamples(d, "rollback", "rust-full", "perl-only");
        const e = d.nodeSide.emptyStep.median;
        const steps = full[0].steps.length;
        const c = d.nodeSide.collector.median;
        const collecting = full[0].steps.filter((st) => st.diagnostics).length;
        return (
            `Why: one empty step (the runner, the prelude parsed, the node lock, the state folder, the decision line) takes ${e.toFixed(1)} ms, ${(steps * e).toFixed(0)} ms for the ${steps} steps; the rollback takes ${msOf(full).median.toFixed(0)} ms. ` +
            `On top of the fixed cost come each step's own checks and writes, each a process of its own (dpkg-query, sha256sum, systemctl --root, cp, sync, mv; temp files are made by bash itself), and ${collecting} diagnostics collection(s) of ${c.toFixed(0)} ms each. ` +
            "What would fix it: fewer process starts in the steps' own work (the collector's tar and gzip, tail, dpkg-query, sha256sum, stat and cp; the backup manifest's find, sort, xargs and sed)."
        );
    }
    if (m.figure.startsWith("3.")) {
        const full = nodeSamples(d, "rollback", "rust-full", "perl-only");
        const total3 = msOf(full).median;
        const per = full[0].steps
            .map((st, k) => ({ id: st.id, diag: st.diagnostics, ms: summarize(full.map((f) => f.steps[k].ms)).median }))
            .sort((a, b) => b.ms - a.ms);
        const collecting = per.filter((p) => p.diag);
        const c = d.nodeSide.collector.median;
        const floor = d.nodeSide.spawnFloor.median;
        const rest = total3 - collecting.length * c;
        return (
            `Why: the ${per.length} steps run one after another, each a fresh \`/bin/sh\` and \`bash\` (floor ${floor.toFixed(1)} ms per step, ${(per.length * floor).toFixed(0)} ms for the rollback) that parses the shared prelude, takes the lock and writes its decision line, and each check or write is a process of its own (dpkg-query, sha256sum, systemctl --root, cp, sync, mv; temp files are made by bash itself). ` +
            `${collecting.length} of the steps (${collecting.map((p) => p.id).join(", ") || "none"}) collect a diagnostics bundle: the collector alone takes ${c.toFixed(0)} ms on this root, so about ${(collecting.length * c).toFixed(0)} ms of the ${total3.toFixed(0)} ms; the rest is ${rest.toFixed(0)} ms. Slowest steps: ${per
                .slice(0, 3)
                .map((p) => `${p.id} ${p.ms.toFixed(0)} ms`)
                .join(", ")}. ` +
            "What would fix it: the steps of one command in one bash process (the step library parsed once per command, not once per step; today each step is a process of its own so that each has its own time limit, a `timeout` around it), and fewer process starts in the collector (tar and gzip, tail, dpkg-query, sha256sum, stat, cp, two mktemp) and in the backup manifest (find, sort, xargs, sed). The post-rollback bundle is already collected after the verify step, outside any step's time."
        );
    }
    if (m.figure.startsWith("4.")) {
        const noop = d.nodeSide.samples.filter((s) => s.kind === "noop");
        const perStep = summarize(noop.flatMap((s) => s.steps.map((x) => x.ms)));
        return (
            `Why: a second run still runs every step of the steady-state plan (${noop[0]?.steps.length ?? "?"} steps), and a step that finds nothing to do pays the same fixed cost as one that acts (process start, prelude, lock, its own checks with dpkg-query, sha256sum, systemctl --root and the verify command, the decision line): ${formatSummary(perStep, 1)} ms per no-op step against a floor of ${d.nodeSide.spawnFloor.median.toFixed(1)} ms per process start. ` +
            "A transition is only a few steps more, so the ratio stays far above 20 % while each step re-checks on its own. What would fix it: one check per node first, comparing the node's recorded state (phase, config sha256, package version, unit enablement) with the plan and ending the other steps at once when nothing differs. Under Pulumi this cost is paid once, on the first `pulumi up` after a transition; later no-op runs run no step."
        );
    }
    return "";
}

export function renderResults(d: BenchData): string {
    const v = verdicts(d);
    const mach = d.machine;
    const code =
        (d.code.uncommitted.length ? `commit ${d.code.commit} with uncommitted changes in ${d.code.uncommitted.join(", ")}` : `commit ${d.code.commit}`) +
        (d.digest.start === d.digest.end
            ? `, source digest ${d.digest.start}`
            : `. **The code changed during the run** (source digest ${d.digest.start} at the start, ${d.digest.end} at the end): the figures mix two versions; run it again`);
    return [
        "# Benchmarks",
        "",
        `Written by \`npm run bench${d.argv.length ? " -- " + d.argv.join(" ") : ""}\` (bench/run.ts) on ${d.date.toISOString().replace(/\.\d+Z$/, "Z")}, in ${Math.round(d.durationS)} s. Code: ${code}.`,
        "",
        `Machine: ${mach.cpuModel}, ${mach.nproc} CPUs (nproc), ${mach.memoryGiB.toFixed(1)} GiB memory, Node.js ${mach.node}, ${mach.os}. ` +
            `Load average (1 min) ${d.loadStart.toFixed(2)} at the start and ${d.loadEnd.toFixed(2)} at the end: other work on the machine shares the CPUs and inflates every timing.`,
        "",
        `Each figure is the median of its runs with [min–max]; ${d.runs} run${d.runs === 1 ? "" : "s"} per figure unless a table says otherwise (n).`,
        "",
        "## Targets",
        "",
        table(
            ["figure", "target", "measured", "verdict"],
            v.map((x) => [x.figure, x.target, x.measured, x.noTarget ? "no target" : x.met === undefined ? "not measured" : x.met ? "met" : "**missed**"]),
        ),
        "",
        costSection(d),
        "",
        pathsSection(d),
        "",
        nodeSection(d),
        "",
        noopSection(d),
        "",
        labSection(d),
        "",
        suiteSection(d),
        "",
        revertSection(d),
        "",
        guardSection(d),
        "",
        missesSection(d, v),
        "",
    ].join("\n");
}
