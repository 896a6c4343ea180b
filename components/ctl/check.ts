/**
 * `migration-ctl check --base <rev>`: every stack config change between the base revision and
 * the working tree, checked the way the Pulumi program will check it at `pulumi up`, before it
 * is merged. Pure: the stack files of both sides, evidence and deployed states come in.
 *
 * Per stack:
 *  - promotion: one phase at a time (checkTransition); ring order against the upstream's
 *    configured phase in the working tree (checkRing; the upstream's soak from its deployed
 *    outputs or its passing evidence); evidence for leaving the base phase at
 *    evidencePath(stack, basePhase), present and passing (judgeEvidence with the stack's
 *    soak, never less than the base config's, and its nodes); the deployed phase, when known,
 *    must be the base phase.
 *  - rollback: allowed, no evidence (the report says what pulumi up will restore).
 *  - no phase change: other keys are only checked for validity; a ring left ahead of its
 *    upstream (the upstream rolled back) is a warning: a rollback is never blocked.
 *  - a new stack is checked as a promotion from perl-only (the program's starting point);
 *    a removed stack file is a violation unless the base had it in perl-only.
 */
import { isDeepStrictEqual } from "util";
import { NAMESPACE } from "../config/schema";
import { Phase, TransitionKind, checkTransition, previousPhase, transition } from "../phases";
import { DeployedJson, deployedJson } from "./deployed";
import { Context, EvidenceReport, Loaded, deployedMismatch, evidenceGate, resolveUpstream, ringReasons } from "./rules";
import { windowRefusal } from "../windows";
import { stackFileRel } from "../config/stackfile";

export type ChangeKind = "added" | "removed" | "modified" | "unchanged";

export interface UpstreamJson {
    readonly stack: string;
    readonly phase: Phase;
    readonly enteredAt: string | null;
    readonly enteredAtSource: "deployed" | "evidence" | "unknown";
    readonly soaked: boolean;
    readonly soakSeconds: number;
}

export interface CheckStackReport {
    readonly stack: string;
    readonly file: string;
    readonly change: ChangeKind;
    /** Top-level keys that differ (`pve-migration:phase`, ...), sorted. */
    readonly changedKeys: string[];
    readonly basePhase: Phase | null;
    readonly phase: Phase | null;
    readonly transition: { kind: TransitionKind; steps: number; backupRequired: boolean; restoreRequired: boolean } | null;
    readonly deployed: DeployedJson;
    readonly upstream: UpstreamJson | null;
    readonly evidence: EvidenceReport | null;
    readonly violations: string[];
    readonly warnings: string[];
    readonly notes: string[];
}

export interface CheckReport {
    readonly schemaVersion: 1;
    readonly command: "check";
    /** The revision as given to --base. */
    readonly base: string;
    /** The merge base of HEAD and --base: the stack files the change is compared with. */
    readonly mergeBase: string;
    readonly now: string;
    readonly ok: boolean;
    readonly violationCount: number;
    readonly warningCount: number;
    /** Warnings about the comparison itself (the branch is behind --base). */
    readonly warnings: string[];
    /** Every stack of the base and the working tree, sorted by name. */
    readonly stacks: CheckStackReport[];
}

export interface CheckInput {
    readonly baseRev: string;
    /** The commit the base side was read from (the merge base of HEAD and baseRev). */
    readonly mergeBase: string;
    /** Warnings about the comparison itself. */
    readonly warnings?: readonly string[];
    readonly base: ReadonlyMap<string, Loaded>;
    readonly head: ReadonlyMap<string, Loaded>;
    readonly ctx: Context;
}

function dataOf(l: Loaded | undefined): Record<string, unknown> | undefined {
    return l?.ok ? ((l.stack.doc.toJS() ?? {}) as Record<string, unknown>) : undefined;
}

/** Keys that differ between two stack files: `config` entries by their key, other top-level keys by name. */
export function changedKeys(base: Loaded | undefined, head: Loaded | undefined): string[] {
    const a = dataOf(base);
    const b = dataOf(head);
    if (a === undefined || b === undefined) return [];
    const keys = new Set<string>();
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
        if (k === "config") continue;
        if (!isDeepStrictEqual(a[k], b[k])) keys.add(k);
    }
    const ca = (a.config ?? {}) as Record<string, unknown>;
    const cb = (b.config ?? {}) as Record<string, unknown>;
    for (const k of new Set([...Object.keys(ca), ...Object.keys(cb)])) {
        if (!isDeepStrictEqual(ca[k], cb[k])) keys.add(k);
    }
    return [...keys].sort();
}

function textOf(l: Loaded | undefined): string | undefined {
    return l === undefined ? undefined : l.ok ? l.stack.text : `\0malformed\0${l.error}`;
}

function checkOne(name: string, input: CheckInput): CheckStackReport {
    const { ctx } = input;
    const base = input.base.get(name);
    const head = input.head.get(name);
    const change: ChangeKind = base === undefined ? "added" : head === undefined ? "removed" : textOf(base) === textOf(head) ? "unchanged" : "modified";
    const violations: string[] = [];
    const warnings: string[] = [];
    const notes: string[] = [];
    const basePhase = base?.ok ? (base.stack.phase ?? null) : null;
    const phase = head?.ok ? (head.stack.phase ?? null) : null;
    const deployed = ctx.deployed(name);
    let upstream: UpstreamJson | null = null;
    let evidence: EvidenceReport | null = null;
    let t: ReturnType<typeof transition> | null = null;

    const report = (): CheckStackReport => ({
        stack: name,
        file: stackFileRel(name),
        change,
        changedKeys: changedKeys(base, head),
        basePhase,
        phase,
        transition: t && { kind: t.kind, steps: t.steps, backupRequired: t.backupRequired, restoreRequired: t.restoreRequired },
        deployed: deployedJson(deployed),
        upstream,
        evidence,
        violations,
        warnings,
        notes,
    });

    if (head === undefined) {
        if (basePhase !== "perl-only") {
            violations.push(
                `${stackFileRel(name)} removed while ${name} is configured in ${basePhase ?? "an unknown phase"} at the base: ` +
                    `roll ${name} back to perl-only (and pulumi up) before removing its stack file`,
            );
        }
        return report();
    }
    if (!head.ok) {
        violations.push(head.error);
        return report();
    }
    const hs = head.stack;
    violations.push(...hs.errors);
    if (base !== undefined && !base.ok) {
        violations.push(`base ${base.file} at ${input.baseRev}: ${base.error}; cannot tell the phase before this change`);
        return report();
    }
    if (base !== undefined && basePhase === null) {
        violations.push(`base ${stackFileRel(name)} at ${input.baseRev}: no valid ${NAMESPACE}:phase; cannot tell the phase before this change`);
        return report();
    }
    if (phase === null) return report(); // the config errors say why
    const from: Phase = basePhase ?? "perl-only";
    if (base === undefined) notes.push(`new stack: checked as a promotion from perl-only (where the program starts a stack that never deployed)`);
    t = transition(from, phase);

    const up = resolveUpstream(hs, input.head, ctx);
    if (up !== undefined && !up.ok) violations.push(up.error);
    if (up?.ok) {
        const i = up.info;
        upstream = {
            stack: i.state.stack,
            phase: i.state.phase,
            enteredAt: i.state.enteredAt ?? null,
            enteredAtSource: i.source,
            soaked: i.soaked,
            soakSeconds: i.soakSeconds[i.state.phase],
        };
        if (i.note !== undefined && t.kind === "promotion") notes.push(`upstream ${i.state.stack}: ${i.note}`);
    }

    if (t.kind === "promotion") {
        const verdict = checkTransition(from, phase);
        if (!verdict.allowed) violations.push(`${NAMESPACE}:phase: ${verdict.reason}`);
        if (hs.config && up?.ok) violations.push(...ringReasons(hs.config, from, phase, up.info, ctx.now).map((r) => `${NAMESPACE}:phase: ${r}`));
        if (hs.config) {
            const minSoak = base?.ok && base.stack.config ? base.stack.config.soakSeconds[from] : undefined;
            evidence = evidenceGate(hs.config, from, ctx, { minSoakSeconds: minSoak, deployed: base === undefined ? undefined : deployed });
            if (!evidence.required) notes.push(`no evidence needed to leave ${from}: ${evidence.notRequiredBecause}`);
            violations.push(...evidence.reasons);
        }
        if (hs.config) {
            const closed = windowRefusal(hs.config.windows, ctx.now);
            if (closed !== undefined) violations.push(`${NAMESPACE}:windows: ${closed}`);
        }
        if (base !== undefined) {
            const mismatch = deployedMismatch(name, from, deployed);
            if (mismatch !== undefined) violations.push(mismatch);
        }
    } else if (t.kind === "rollback") {
        notes.push(
            `rollback ${from} -> ${phase}: allowed at any time, no evidence needed` +
                (t.restoreRequired ? `; pulumi up restores the latest verified backup (leaving the write phases)` : ""),
        );
    } else if (hs.config && up?.ok) {
        const stay = previousPhase(phase) ?? phase;
        for (const r of ringReasons(hs.config, stay, phase, up.info, ctx.now, false, true)) {
            warnings.push(`${r}; a warning only: a rollback of the upstream never blocks a pull request`);
        }
    }
    return report();
}

/** Check every stack of the base and the working tree. */
export function checkChanges(input: CheckInput): CheckReport {
    const names = [...new Set([...input.base.keys(), ...input.head.keys()])].sort();
    const stacks = names.map((n) => checkOne(n, input));
    const violationCount = stacks.reduce((s, r) => s + r.violations.length, 0);
    const warnings = [...(input.warnings ?? [])];
    const warningCount = stacks.reduce((s, r) => s + r.warnings.length, warnings.length);
    return {
        schemaVersion: 1,
        command: "check",
        base: input.baseRev,
        mergeBase: input.mergeBase,
        now: input.ctx.now.toISOString(),
        ok: violationCount === 0,
        violationCount,
        warningCount,
        warnings,
        stacks,
    };
}
