/**
 * The rollback guard's decision (components/guard/decide.ts), pure: cooldown, the retry cap, no
 * flapping, alert-only, escalation, and query errors, as tables of what the triggers say and
 * what the guard did before.
 */
import { Decision, DecisionInput, GuardState, decide, reasonOf } from "../../components/guard/decide";
import { TriggerResult } from "../../components/guard/triggers";

const T0 = Date.parse("2026-12-07T10:00:00Z");
const MIN = 60_000;

const fallback = (value: number | null, holds = value !== null && value > 0): TriggerResult => ({
    name: "fallback",
    subject: "pve1",
    query: "q",
    value,
    threshold: 0,
    direction: "above",
    windowSeconds: 300,
    holds,
});
const healthMissing: TriggerResult = { name: "health", subject: "pve2", query: "h", value: null, threshold: 1, direction: "below", windowSeconds: 180, holds: true };
const failed: TriggerResult = { ...fallback(null, false), error: "connect ECONNREFUSED 127.0.0.1:9" };

function input(results: TriggerResult[], state: GuardState, o: Partial<DecisionInput> = {}): DecisionInput {
    return { now: T0, automatic: true, cooldownSeconds: 300, maximumRetries: 5, results, state, ...o };
}
const acted = (...minutesAgo: number[]): GuardState => ({ actions: minutesAgo.map((m) => ({ at: T0 - m * MIN, what: "rollback", result: "done" as const })) });

const FALLBACK_REASON = "fallback on pve1: 3 > 0 over 300 s";

test("reasons name the trigger, the subject, the value against the threshold, the window; no data counts as failing", () => {
    expect(reasonOf(fallback(3))).toBe(FALLBACK_REASON);
    expect(reasonOf(fallback(0.333333333))).toBe("fallback on pve1: 0.333333 > 0 over 300 s");
    expect(reasonOf(healthMissing)).toBe("health on pve2: no data (counts as failing) over 180 s");
});

test.each<[string, DecisionInput, Decision]>([
    ["nothing holds", input([fallback(0)], { actions: [] }), { kind: "healthy" }],
    ["a trigger holds, nothing done before", input([fallback(3)], { actions: [] }), { kind: "act", reasons: [FALLBACK_REASON] }],
    ["missing health data holds", input([healthMissing], { actions: [] }), { kind: "act", reasons: ["health on pve2: no data (counts as failing) over 180 s"] }],
    [
        "a failed query alone is no verdict",
        input([failed, fallback(0)], { actions: [] }),
        { kind: "unknown", errors: ["fallback on pve1: connect ECONNREFUSED 127.0.0.1:9"] },
    ],
    ["a failed query beside one that holds still acts", input([failed, fallback(3)], { actions: [] }), { kind: "act", reasons: [FALLBACK_REASON] }],
    ["inside the cooldown of the last action", input([fallback(3)], acted(4)), { kind: "cooldown", reasons: [FALLBACK_REASON], until: T0 + MIN }],
    ["the cooldown's last millisecond", input([fallback(3)], acted(5), { now: T0 - 1 }), { kind: "cooldown", reasons: [FALLBACK_REASON], until: T0 }],
    ["exactly the cooldown after the last action", input([fallback(3)], acted(5)), { kind: "act", reasons: [FALLBACK_REASON] }],
    [
        "cleared and back inside the cooldown: no second action (the cooldown runs from the action)",
        input([fallback(1)], acted(2)),
        { kind: "cooldown", reasons: ["fallback on pve1: 1 > 0 over 300 s"], until: T0 + 3 * MIN },
    ],
    ["4 actions of 5 taken, cooldown over", input([fallback(3)], acted(40, 30, 20, 10)), { kind: "act", reasons: [FALLBACK_REASON] }],
    [
        "5 actions of 5 taken: escalate",
        input([fallback(3)], acted(50, 40, 30, 20, 10)),
        { kind: "escalate", reasons: [FALLBACK_REASON], why: "5 automatic rollback(s) taken already (maximumRetries 5); a person must decide" },
    ],
    [
        "escalated before: acts no more",
        input([fallback(3)], { actions: [], escalated: { at: T0 - MIN, reason: "the previous color is unhealthy after the flip" } }),
        { kind: "escalated", reasons: [FALLBACK_REASON], why: "the previous color is unhealthy after the flip" },
    ],
    ["escalated, but healthy now: healthy", input([fallback(0)], { actions: [], escalated: { at: T0 - MIN, reason: "x" } }), { kind: "healthy" }],
    ["automatic off: alert", input([fallback(3)], { actions: [] }, { automatic: false }), { kind: "alert", reasons: [FALLBACK_REASON] }],
    [
        "automatic off, alerted 1 minute ago: not again inside the cooldown",
        input([fallback(3)], { actions: [], lastAlertAt: T0 - MIN }, { automatic: false }),
        { kind: "alert-suppressed", reasons: [FALLBACK_REASON], until: T0 + 4 * MIN },
    ],
    [
        "automatic off, alerted 5 minutes ago: alert again",
        input([fallback(3)], { actions: [], lastAlertAt: T0 - 5 * MIN }, { automatic: false }),
        { kind: "alert", reasons: [FALLBACK_REASON] },
    ],
    ["cooldown 0: acts every time below the cap", input([fallback(3)], acted(0), { cooldownSeconds: 0 }), { kind: "act", reasons: [FALLBACK_REASON] }],
])("%s", (_name, i, expected) => {
    expect(decide(i)).toEqual(expected);
});
