/**
 * The commands of migration-ctl, each a function of a Session (repository, clock, deployed
 * lookup, output) and its parsed arguments, returning the exit code or throwing a CtlError.
 */
// The pure modules of components/bluegreen, not its index (which loads the Pulumi SDK).
import { applyColorFragment, colorStatus, flipColor, formatColorStatus, setColor } from "../bluegreen/colors";
import { COLORS, parseBlueGreenConfig } from "../config/bluegreen";
import { ConfigError, NAMESPACE } from "../config/schema";
import { PHASES, Phase, checkTransition, isPhase, phaseIndex, phaseInfo, previousPhase, transition } from "../phases";
import { planSteps } from "../plan";
import { CheckStackReport, checkChanges } from "./check";
import { planBasis } from "../deployed";
import { DeployedLookup, deployedJson } from "./deployed";
import { FILE_HEADERS_ONLY, createTwoFilesPatch } from "diff";
import { CtlError, EXIT } from "./errors";
import { previewRestore, renderRestorePreview } from "./restore-preview";
import { driftOfStack, renderDrift } from "./drift";
import { healthReport } from "./health";
import { PlanView, describeDeployedJson, planJson, renderCheck, renderHealth, renderPlan } from "./render";
import type { StackConfig } from "../config/schema";
import {
    LoadedStack,
    checkStackName,
    listStacks,
    loadStack,
    mergeBase,
    readRepoFile,
    readStack,
    readStackText,
    requireConfig,
    resolveRev,
    stacksAtRev,
    writeStackText,
} from "./repo";
import { Context, Loaded, evidenceGate, resolveUpstream, ringReasons } from "./rules";
import { PREFIX, stackFileRel } from "../config/stackfile";
import { YamlEdit, editYaml, parseYaml } from "./yamledit";

export interface Session {
    readonly repo: string;
    readonly now: Date;
    readonly deployed: DeployedLookup;
    readonly out: (s: string) => void;
    readonly err: (s: string) => void;
    /** Receives what a writing command did (for `--json`); called once, after the write. */
    readonly result?: (r: WriteResult) => void;
}

/** What `phase set`, `rollback` and `color set|flip` did, as `--json` prints it (schemaVersion 1). */
export interface WriteResult {
    readonly stack: string;
    readonly file: string;
    /** The phase (or active color) before and after; equal when nothing changed. */
    readonly from: string | null;
    readonly to: string | null;
    /** promotion | rollback | none (phase); color (color set/flip). */
    readonly kind: "promotion" | "rollback" | "none" | "color";
    readonly changed: boolean;
    readonly written: boolean;
    readonly dryRun: boolean;
    /** The unified diff of the stack file ("" when nothing changed). */
    readonly diff: string;
    readonly notes: readonly string[];
    readonly warnings: readonly string[];
}

export function contextOf(s: Session): Context {
    return { deployed: s.deployed, readFile: (rel) => readRepoFile(s.repo, rel), now: s.now };
}

/** Every stack of the working tree; a malformed one is kept as an error entry. */
export function loadAll(repo: string): Map<string, Loaded> {
    const out = new Map<string, Loaded>();
    for (const name of listStacks(repo))
        out.set(
            name,
            loadEither(() => readStack(repo, name), name),
        );
    return out;
}

function loadEither(load: () => LoadedStack, name: string): Loaded {
    try {
        return { ok: true, stack: load() };
    } catch (e) {
        if (e instanceof CtlError && e.code === EXIT.MALFORMED_YAML) return { ok: false, name, file: stackFileRel(name), error: e.message };
        throw e;
    }
}

export function parsePhaseArg(value: string, what: string): Phase {
    if (!isPhase(value)) throw new CtlError(EXIT.UNKNOWN_VALUE, `${what}: unknown phase ${JSON.stringify(value)} (one of ${PHASES.join(", ")})`);
    return value;
}

// ---- phase get ----

export function phaseGet(s: Session, stack: string | undefined, json: boolean): number {
    const names = stack !== undefined ? (checkStackName(s.repo, stack), [stack]) : listStacks(s.repo);
    let code: number = EXIT.OK;
    const rows: { stack: string; file: string; phase: Phase | null; configValid: boolean; deployed: ReturnType<typeof deployedJson>; error: string | null }[] = [];
    for (const name of names) {
        const l = loadEither(() => readStack(s.repo, name), name);
        const dep = deployedJson(s.deployed(name));
        if (!l.ok) {
            if (stack !== undefined) throw new CtlError(EXIT.MALFORMED_YAML, l.error);
            code = EXIT.MALFORMED_YAML;
            rows.push({ stack: name, file: l.file, phase: null, configValid: false, deployed: dep, error: l.error });
            continue;
        }
        rows.push({ stack: name, file: l.stack.file, phase: l.stack.phase ?? null, configValid: l.stack.config !== undefined, deployed: dep, error: null });
    }
    if (json) {
        s.out(JSON.stringify({ schemaVersion: 1, command: "phase get", stacks: rows }, null, 2) + "\n");
    } else {
        const w = Math.max(...rows.map((r) => r.stack.length));
        const pw = Math.max(...rows.map((r) => (r.phase ?? "?").length));
        for (const r of rows) {
            if (r.error !== null) {
                s.out(`${r.stack.padEnd(w)}  error: ${r.error}\n`);
                continue;
            }
            const pending = r.deployed.known && r.deployed.phase !== r.phase ? "  (pending pulumi up)" : "";
            const invalid = r.configValid ? "" : "  (config invalid: run migration-ctl health)";
            s.out(`${r.stack.padEnd(w)}  ${(r.phase ?? "?").padEnd(pw)}  deployed: ${describeDeployedJson(r.deployed)}${pending}${invalid}\n`);
        }
    }
    return code;
}

// ---- phase set / rollback ----

/** Apply `edits` to the stack file, print the diff, write it unless dry-run. Returns the diff. */
function writeEdits(s: Session, st: LoadedStack, edits: YamlEdit[], dryRun: boolean): string {
    const next = editYaml(st.text, st.file, edits);
    const reloaded = loadStack(next, st.stack, s.repo);
    if (!reloaded.config && st.config) {
        throw new CtlError(EXIT.INVALID_CONFIG, `${st.file}: the change would make the stack config invalid; nothing written`, reloaded.errors);
    }
    const diff =
        st.text === next
            ? ""
            : createTwoFilesPatch(`a/${st.file}`, `b/${st.file}`, st.text, next, undefined, undefined, { context: 3, headerOptions: FILE_HEADERS_ONLY });
    s.out(diff);
    if (!dryRun) writeStackText(s.repo, st.stack, next);
    return diff;
}

function phaseEdits(st: LoadedStack, to: Phase): { edits: YamlEdit[]; notes: string[] } {
    const edits: YamlEdit[] = [{ path: ["config", `${PREFIX}phase`], value: to }];
    const notes: string[] = [];
    if (phaseInfo(to).fallbackRequired && st.config?.fallbackEnabled === false) {
        edits.push({ path: ["config", `${PREFIX}fallbackEnabled`], value: true });
        notes.push(`${PREFIX}fallbackEnabled set back to true (required below rust-full)`);
    }
    return { edits, notes };
}

function nextSteps(s: Session, stack: string, dryRun: boolean, file: string): void {
    if (dryRun) {
        s.out(`(dry run: ${file} not written)\n`);
        return;
    }
    s.out(`next: commit ${file}, open a pull request (migration-ctl check --base <target branch> runs there), merge, then pulumi up --stack ${stack}\n`);
}

export function phaseSet(s: Session, phaseArg: string, stack: string, dryRun: boolean): number {
    const to = parsePhaseArg(phaseArg, "phase set");
    const st = loadStack(readStackText(s.repo, stack), stack, s.repo);
    const cfg = requireConfig(st);
    const from = cfg.phase;
    if (from === to) {
        s.out(`${stack}: already in ${to}; nothing to change\n`);
        s.result?.({ stack, file: st.file, from, to, kind: "none", changed: false, written: false, dryRun, diff: "", notes: [], warnings: [] });
        return EXIT.OK;
    }
    const t = transition(from, to);
    const ctx = contextOf(s);
    const dep = s.deployed(stack);
    if (t.kind === "promotion") {
        const reasons: string[] = [];
        const verdict = checkTransition(from, to);
        if (!verdict.allowed) reasons.push(verdict.reason);
        if (dep.known && phaseIndex(to) > phaseIndex(dep.phase)) {
            const d = checkTransition(dep.phase, to);
            if (!d.allowed) reasons.push(`deployed phase is ${dep.phase}: ${d.reason}`);
        }
        const up = resolveUpstream(st, loadAll(s.repo), ctx);
        if (up !== undefined && !up.ok) reasons.push(up.error);
        if (up?.ok) reasons.push(...ringReasons(cfg, from, to, up.info, s.now));
        if (reasons.length > 0) throw new CtlError(EXIT.REFUSED, `refused: ${stack} ${from} -> ${to}`, reasons);
    }
    const { edits, notes } = phaseEdits(st, to);
    const diff = writeEdits(s, st, edits, dryRun);
    s.out(`${stack}: ${from} -> ${to} (${t.kind})${dryRun ? "" : ` written to ${st.file}`}\n`);
    for (const n of notes) s.out(`note: ${n}\n`);
    const warnings: string[] = [];
    if (t.kind === "promotion") {
        const gate = evidenceGate(cfg, from, ctx, { deployed: dep });
        for (const r of gate.reasons) warnings.push(`migration-ctl check will refuse this promotion until: ${r}`);
        for (const w of warnings) s.err(`warning: ${w}\n`);
    } else {
        s.out(`rollback: allowed at any time, no evidence needed${t.restoreRequired ? "; pulumi up restores the latest verified backup" : ""}\n`);
    }
    nextSteps(s, stack, dryRun, st.file);
    s.result?.({
        stack,
        file: st.file,
        from,
        to,
        kind: t.kind === "promotion" ? "promotion" : "rollback",
        changed: true,
        written: !dryRun,
        dryRun,
        diff,
        notes,
        warnings,
    });
    return EXIT.OK;
}

export function rollback(s: Session, stack: string, toArg: string | undefined, dryRun: boolean): number {
    const st = loadStack(readStackText(s.repo, stack), stack, s.repo);
    const cfg = requireConfig(st);
    const from = cfg.phase;
    const to = toArg !== undefined ? parsePhaseArg(toArg, "--to") : previousPhase(from);
    if (to === undefined) throw new CtlError(EXIT.REFUSED, `refused: ${stack} is in perl-only, the lowest phase; nothing to roll back to`);
    if (to === from) {
        // As phase set does: the file already says it, so a `rollback ... && pulumi up` goes on.
        s.out(`${stack}: already in ${to}; nothing to change\n`);
        return EXIT.OK;
    }
    if (phaseIndex(to) >= phaseIndex(from)) {
        throw new CtlError(
            EXIT.REFUSED,
            `refused: --to ${to} is not lower than ${stack}'s configured phase ${from}; a rollback goes to a lower phase (promote with phase set)`,
        );
    }
    const t = transition(from, to);
    const { edits, notes } = phaseEdits(st, to);
    const diff = writeEdits(s, st, edits, dryRun);
    s.out(`${stack}: ${from} -> ${to} (rollback)${dryRun ? "" : ` written to ${st.file}`}\n`);
    for (const n of notes) s.out(`note: ${n}\n`);
    s.out(`rollback: allowed at any time, no evidence needed${t.restoreRequired ? "; pulumi up restores the latest verified backup" : ""}\n`);
    nextSteps(s, stack, dryRun, st.file);
    s.result?.({ stack, file: st.file, from, to, kind: "rollback", changed: true, written: !dryRun, dryRun, diff, notes, warnings: [] });
    return EXIT.OK;
}

// ---- plan ----

export interface PlanArgs {
    readonly stack: string;
    readonly from?: string;
    readonly base?: string;
    readonly to?: string;
    readonly json: boolean;
    /** Read each node (read only) for what the restore would revert (restore-preview.ts). */
    readonly readNodes?: boolean;
    /** SSH private key file for --read-nodes over ssh. */
    readonly identity?: string;
}

/**
 * The transition `pulumi up --stack S` would make and its step plan: to = the configured phase
 * (or --to), from = the deployed phase when known, else --from, else the phase at --base. Throws
 * a CtlError when the program would refuse it (nothing registered, no plan to show).
 */
export function planView(
    s: Session,
    a: Pick<PlanArgs, "stack" | "from" | "base" | "to"> & {
        /** Plan an illegal transition too, instead of refusing it (a caller that reports it through gateReport). */
        readonly unchecked?: boolean;
    },
): PlanView & { readonly config: StackConfig; readonly from: Phase; readonly to: Phase } {
    const st = loadStack(readStackText(s.repo, a.stack), a.stack, s.repo);
    const cfg = requireConfig(st);
    const to = a.to !== undefined ? parsePhaseArg(a.to, "--to") : cfg.phase;
    const toSource = a.to !== undefined ? "--to" : `configured in ${st.file}`;
    const explicitFrom = a.from !== undefined ? parsePhaseArg(a.from, "--from") : undefined;
    const dep = s.deployed(a.stack);
    let from: Phase;
    let fromSource: string;
    if (dep.known && dep.state && !dep.state.complete) {
        // What the program will plan from (components/deployed planBasis): resume, or roll back
        // from the highest phase a node may be in, or refuse.
        const basis = planBasis(dep.state, to);
        if ("error" in basis) throw new CtlError(EXIT.REFUSED, `plan: ${a.stack}: pulumi up would refuse this: ${basis.error}`);
        from = basis.from;
        fromSource = `${basis.kind === "resume" ? "resuming" : "rolling back"} the last update, which did not complete (${dep.source})`;
    } else if (dep.known) {
        from = dep.phase;
        fromSource = `deployed, ${describeDeployedJson(deployedJson(dep))}`;
        if (explicitFrom !== undefined && explicitFrom !== from) s.err(`note: --from ${explicitFrom} ignored: the deployed phase is known (${from})\n`);
    } else if (explicitFrom !== undefined) {
        from = explicitFrom;
        fromSource = `--from; deployed ${describeDeployedJson(deployedJson(dep))}`;
    } else if (a.base !== undefined) {
        const sha = resolveRev(s.repo, a.base);
        const text = stacksAtRev(s.repo, sha).get(a.stack);
        if (text === undefined) {
            from = "perl-only";
            fromSource = `${st.file} does not exist at ${a.base}: a new stack starts from perl-only`;
        } else {
            const old = loadStack(text, a.stack, s.repo);
            if (old.phase === undefined) throw new CtlError(EXIT.INVALID_CONFIG, `${st.file} at ${a.base}: no valid ${NAMESPACE}:phase`);
            from = old.phase;
            fromSource = `configured at ${a.base}`;
        }
    } else {
        throw new CtlError(EXIT.USAGE, `plan: the deployed phase of ${a.stack} is ${describeDeployedJson(deployedJson(dep))}; give --from PHASE or --base REV`);
    }
    const verdict = checkTransition(from, to);
    if (!verdict.allowed && a.unchecked !== true) {
        // The program refuses this before registering anything (components/program.ts guardErrors): no step would run.
        throw new CtlError(
            EXIT.REFUSED,
            `plan: ${a.stack} ${from} -> ${to} is refused: ${verdict.reason}; pulumi up --stack ${a.stack} stops before any step runs, so there is no plan to show`,
        );
    }
    const nodes = cfg.nodes.map((n) => n.name);
    const p = planSteps({
        cluster: cfg.cluster,
        from,
        to,
        nodes,
        scope: cfg.migrationConfig.scope,
        writerNode: cfg.migrationConfig.writerNode,
        haMaintenance: cfg.ha.maintenance,
    });
    return {
        stack: a.stack,
        cluster: cfg.cluster,
        scope: cfg.migrationConfig.scope,
        writerNode: cfg.migrationConfig.writerNode,
        nodes,
        from,
        fromSource,
        to,
        toSource,
        plan: p,
        config: cfg,
    };
}

export function plan(s: Session, a: PlanArgs): number | Promise<number> {
    const { config: cfg, ...view } = planView(s, a);
    const { from, to } = view;
    const p = view.plan;
    if (a.readNodes !== true) {
        s.out(a.json ? JSON.stringify(planJson(view), null, 2) + "\n" : renderPlan(view));
        return EXIT.OK;
    }
    if (!p.transition.restoreRequired) {
        const note = `${from} -> ${to} restores no backup: nothing to read from the nodes`;
        s.out(a.json ? JSON.stringify({ ...planJson(view), restorePreview: [], restorePreviewNote: note }, null, 2) + "\n" : `${renderPlan(view)}\n${note}\n`);
        return EXIT.OK;
    }
    return previewRestore(cfg, { identity: a.identity, now: s.now }).then((previews) => {
        s.out(a.json ? JSON.stringify({ ...planJson(view), restorePreview: previews }, null, 2) + "\n" : renderPlan(view) + renderRestorePreview(previews));
        // A node not read: 1 (as diagnostics collect); a restore that would refuse: pulumi up would fail there.
        if (previews.some((x) => x.error !== undefined)) return EXIT.VIOLATIONS;
        return previews.some((x) => x.refused !== undefined) ? EXIT.REFUSED : EXIT.OK;
    });
}

/**
 * The gates of `stack`'s change from `from` (the deployed phase) to its configured phase: the
 * rules `check` applies to a pull request (legal transition, ring order and soak, evidence,
 * change windows), with the stack file at `from` as the base side. A pipeline's plan runs these
 * before it previews, so a refusal names its reason before the engine starts.
 */
export function gateReport(s: Session, stack: string, from: Phase): CheckStackReport {
    const head = loadAll(s.repo);
    const st = loadStack(readStackText(s.repo, stack), stack, s.repo);
    const baseText = st.phase === from ? st.text : editYaml(st.text, st.file, [{ path: ["config", `${NAMESPACE}:phase`], value: from }]);
    const base = new Map(head);
    base.set(
        stack,
        loadEither(() => loadStack(baseText, stack, s.repo), stack),
    );
    const report = checkChanges({ baseRev: `deployed (${from})`, mergeBase: "", base, head, ctx: contextOf(s) });
    const mine = report.stacks.find((r) => r.stack === stack);
    if (mine === undefined) throw new Error(`gateReport: ${stack} missing from its own check`);
    return mine;
}

// ---- drift ----

/** `drift --detailed-exitcode`'s code when a node drifted (terraform's "changes present", as plan's). */
export const EXIT_DRIFT_DETAILED = 2;

/** `migration-ctl drift`: verify's checks, read only, on every node, against the deployed phase (drift.ts). */
export async function drift(s: Session, a: { stack: string; json: boolean; detailedExitcode?: boolean; identity?: string }): Promise<number> {
    const cfg = requireConfig(loadStack(readStackText(s.repo, a.stack), a.stack, s.repo));
    const dep = s.deployed(a.stack);
    const phase: Phase = dep.known ? dep.phase : cfg.phase;
    const source = dep.known
        ? `deployed, ${describeDeployedJson(deployedJson(dep))}`
        : `configured; the deployed phase is ${describeDeployedJson(deployedJson(dep))}`;
    const nodes = await driftOfStack(cfg, phase, { identity: a.identity });
    const drifted = nodes.some((n) => (n.drift ?? []).length > 0);
    const unread = nodes.some((n) => n.error !== undefined);
    s.out(
        a.json
            ? JSON.stringify({ schemaVersion: 1, command: "drift", stack: a.stack, phase, phaseSource: source, drifted, nodes }, null, 2) + "\n"
            : renderDrift(a.stack, phase, source, nodes),
    );
    // --detailed-exitcode: terraform's 2 for "differs" (plan -refresh-only -detailed-exitcode).
    return drifted ? (a.detailedExitcode === true ? EXIT_DRIFT_DETAILED : EXIT.DRIFT) : unread ? EXIT.VIOLATIONS : EXIT.OK;
}

// ---- health / check ----

export function health(s: Session, json: boolean): number {
    const report = healthReport(loadAll(s.repo), contextOf(s));
    s.out(json ? JSON.stringify(report, null, 2) + "\n" : renderHealth(report));
    return report.status === "problems" ? EXIT.VIOLATIONS : report.status === "deployed-unknown" ? EXIT.DEPLOYED_UNKNOWN : EXIT.OK;
}

export function check(s: Session, baseRev: string, json: boolean): number {
    const sha = resolveRev(s.repo, baseRev);
    // The branch changes what it was made from: compare with the merge base, not the base's
    // tip (which may have promoted other stacks since; the branch would seem to roll them back).
    const mb = mergeBase(s.repo, baseRev, sha);
    const base = new Map<string, Loaded>();
    for (const [name, text] of stacksAtRev(s.repo, mb.sha))
        base.set(
            name,
            loadEither(() => loadStack(text, name, s.repo), name),
        );
    const warnings =
        mb.behind > 0
            ? [
                  `this branch is ${mb.behind} commit(s) behind ${baseRev}: checked against their merge base ${mb.sha.slice(0, 12)}; ` +
                      `merge or rebase onto ${baseRev} to check against its current stack files`,
              ]
            : [];
    const report = checkChanges({ baseRev, mergeBase: mb.sha, warnings, base, head: loadAll(s.repo), ctx: contextOf(s) });
    s.out(json ? JSON.stringify(report, null, 2) + "\n" : renderCheck(report));
    return report.ok ? EXIT.OK : EXIT.VIOLATIONS;
}

// ---- color ----

const BLUE_GREEN = `${PREFIX}blueGreen`;

function rawBlueGreen(text: string, file: string): unknown {
    const data = parseYaml(text, file).toJS() as { config?: Record<string, unknown> } | null;
    return data?.config?.[BLUE_GREEN];
}

/** Stacks of the working tree whose file sets pve-migration:blueGreen (a malformed file is left out). */
function blueGreenStacks(repo: string): string[] {
    return listStacks(repo).filter((name) => {
        try {
            return rawBlueGreen(readStackText(repo, name), stackFileRel(name)) !== undefined;
        } catch (e) {
            if (e instanceof CtlError) return false;
            throw e;
        }
    });
}

function blueGreenOf(s: Session, sub: string, st: { stack: string; file: string; text: string }): { raw: unknown; cfg: ReturnType<typeof parseBlueGreenConfig> } {
    const raw = rawBlueGreen(st.text, st.file);
    if (raw === undefined) {
        // The stack is valid; the command does not apply to it: a bad --stack value (exit 2).
        const with_ = blueGreenStacks(s.repo);
        throw new CtlError(
            EXIT.USAGE,
            `color ${sub}: --stack ${st.stack}: ${st.file} does not set ${BLUE_GREEN}, so ${st.stack} has no blue-green releases ` +
                `(stacks that have: ${with_.join(", ") || "none"})`,
        );
    }
    try {
        return { raw, cfg: parseBlueGreenConfig(raw) };
    } catch (e) {
        if (e instanceof ConfigError)
            throw new CtlError(EXIT.INVALID_CONFIG, `${st.file}: invalid ${BLUE_GREEN} (${e.errors.length} error(s)); nothing written`, e.errors);
        throw e;
    }
}

export function colorCommand(s: Session, sub: string, colorArg: string | undefined, stack: string, json: boolean, dryRun: boolean): number {
    const file = stackFileRel(stack);
    const text = readStackText(s.repo, stack);
    const { raw, cfg } = blueGreenOf(s, sub, { stack, file, text });
    if (sub === "get") {
        const status = colorStatus(cfg, s.now);
        s.out(json ? JSON.stringify({ schemaVersion: 1, command: "color get", stack, ...status }, null, 2) + "\n" : formatColorStatus(status) + "\n");
        return EXIT.OK;
    }
    if (sub === "set" && (colorArg === undefined || !(COLORS as readonly string[]).includes(colorArg))) {
        throw new CtlError(EXIT.UNKNOWN_VALUE, `color set: unknown color ${JSON.stringify(colorArg ?? "")} (one of ${COLORS.join(", ")})`);
    }
    let change;
    try {
        change = sub === "flip" ? flipColor(cfg, s.now) : setColor(cfg, colorArg!, s.now);
    } catch (e) {
        if (e instanceof ConfigError) throw new CtlError(EXIT.INVALID_CONFIG, `${file}: invalid ${BLUE_GREEN}`, e.errors);
        const lines = (e as Error).message.split("\n");
        throw new CtlError(EXIT.REFUSED, `refused: color ${sub}${colorArg ? ` ${colorArg}` : ""} on ${stack}`, lines);
    }
    const fromColor = cfg.activeColor;
    if (!change.changed) {
        s.out(`${stack}: ${change.message}\n`);
        s.result?.({
            stack,
            file,
            from: fromColor,
            to: fromColor,
            kind: "color",
            changed: false,
            written: false,
            dryRun,
            diff: "",
            notes: [change.message],
            warnings: [],
        });
        return EXIT.OK;
    }
    try {
        applyColorFragment(raw, change.fragment);
    } catch (e) {
        if (e instanceof ConfigError) throw new CtlError(EXIT.INVALID_CONFIG, `${file}: the flip would make ${BLUE_GREEN} invalid; nothing written`, e.errors);
        throw e;
    }
    const f = change.fragment;
    const path = (k: string) => ["config", BLUE_GREEN, k];
    const edits: YamlEdit[] = [
        { path: path("activeColor"), value: f.activeColor },
        { path: path("lastFlip"), value: f.lastFlip === undefined ? undefined : { ...f.lastFlip } },
        { path: path("rollbackTarget"), value: f.rollbackTarget },
    ];
    const next = editYaml(text, file, edits);
    const diff =
        text === next ? "" : createTwoFilesPatch(`a/${file}`, `b/${file}`, text, next, undefined, undefined, { context: 3, headerOptions: FILE_HEADERS_ONLY });
    s.out(diff);
    if (!dryRun) writeStackText(s.repo, stack, next);
    s.out(`${stack}: ${change.message}\n`);
    nextSteps(s, stack, dryRun, file);
    s.result?.({
        stack,
        file,
        from: fromColor,
        to: f.activeColor,
        kind: "color",
        changed: true,
        written: !dryRun,
        dryRun,
        diff,
        notes: [change.message],
        warnings: [],
    });
    return EXIT.OK;
}
