/**
 * The rollback guard's decision, pure (README "Automatic rollback"): from what the triggers say
 * now and what the guard did before (its state file), whether to do nothing, alert, act, wait out
 * the cooldown, or stop and escalate to a person.
 *
 * - Nothing holds: healthy.
 * - A query failed and nothing else holds: unknown (no verdict, no action; logged).
 * - Something holds, and the guard escalated before: escalated (it acts no more until a person
 *   runs `migration-ctl guard --reset`).
 * - `automatic: false`: alert, at most once per cooldown period.
 * - `maximumRetries` actions taken already: escalate.
 * - The last action less than `cooldownPeriod` ago: cooldown. A trigger that clears and comes back
 *   inside the cooldown does not act twice (no flapping): the cooldown runs from the last action,
 *   whatever the triggers did since.
 * - Otherwise: act.
 */
import type { TriggerResult } from "./triggers";

export interface GuardAction {
    /** When it started, ms since the epoch. */
    readonly at: number;
    readonly what: string;
    readonly result: "done" | "escalated" | "failed";
}

/** What the guard keeps between evaluations (per stack, in its state folder). */
export interface GuardState {
    readonly actions: readonly GuardAction[];
    /** The last alert sent (automatic: false), ms. */
    readonly lastAlertAt?: number;
    /** Set when the guard stopped acting; cleared only by a person (--reset). */
    readonly escalated?: { readonly at: number; readonly reason: string };
}

export const EMPTY_STATE: GuardState = { actions: [] };

export interface DecisionInput {
    readonly now: number;
    readonly automatic: boolean;
    readonly cooldownSeconds: number;
    readonly maximumRetries: number;
    readonly results: readonly TriggerResult[];
    readonly state: GuardState;
}

export type Decision =
    | { readonly kind: "healthy" }
    | { readonly kind: "unknown"; readonly errors: readonly string[] }
    | { readonly kind: "alert"; readonly reasons: readonly string[] }
    | { readonly kind: "alert-suppressed"; readonly reasons: readonly string[]; readonly until: number }
    | { readonly kind: "act"; readonly reasons: readonly string[] }
    | { readonly kind: "cooldown"; readonly reasons: readonly string[]; readonly until: number }
    | { readonly kind: "escalate"; readonly reasons: readonly string[]; readonly why: string }
    | { readonly kind: "escalated"; readonly reasons: readonly string[]; readonly why: string };

/** One line per trigger that holds: `fallback on pve2: 3 > 0 over 300 s`. */
export function reasonOf(r: TriggerResult): string {
    const v = r.value === null ? "no data" : String(Number(r.value.toPrecision(6)));
    return `${r.name} on ${r.subject}: ${v} ${r.value === null ? "(counts as failing)" : `${r.direction === "above" ? ">" : "<"} ${r.threshold}`} over ${r.windowSeconds} s`;
}

export function decide(i: DecisionInput): Decision {
    const holding = i.results.filter((r) => r.error === undefined && r.holds);
    if (holding.length === 0) {
        const errors = i.results.filter((r) => r.error !== undefined).map((r) => `${r.name} on ${r.subject}: ${r.error}`);
        return errors.length > 0 ? { kind: "unknown", errors } : { kind: "healthy" };
    }
    const reasons = holding.map(reasonOf);
    if (i.state.escalated) return { kind: "escalated", reasons, why: i.state.escalated.reason };
    const cooldownMs = i.cooldownSeconds * 1000;
    if (!i.automatic) {
        const last = i.state.lastAlertAt;
        if (last !== undefined && i.now - last < cooldownMs) return { kind: "alert-suppressed", reasons, until: last + cooldownMs };
        return { kind: "alert", reasons };
    }
    const taken = i.state.actions.length;
    if (taken >= i.maximumRetries) {
        return { kind: "escalate", reasons, why: `${taken} automatic rollback(s) taken already (maximumRetries ${i.maximumRetries}); a person must decide` };
    }
    const last = i.state.actions[taken - 1];
    if (last !== undefined && i.now - last.at < cooldownMs) return { kind: "cooldown", reasons, until: last.at + cooldownMs };
    return { kind: "act", reasons };
}
