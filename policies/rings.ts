/**
 * Ring policy (README "Promote (GitOps)"): no ring ahead of its upstream; a ring that must stay
 * behind (canary-b) stays at least one phase behind its upstream until the upstream has soaked.
 * The upstream's deployed phase and when it entered it reach the policy through the
 * transition record (the program reads them from the upstream stack's outputs).
 */
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import * as random from "@pulumi/random";
import { DEFAULT_SOAK_SECONDS, PHASES, isPhase } from "../components/phases";
import { checkRing } from "../components/rings";
import { SoakSeconds, configOf, quote, recordOf, soakSchema, transitionOf } from "./lib";

export interface RingOrderConfig {
    /** Soak per phase (seconds) the upstream must have spent in its phase. */
    soakSeconds: SoakSeconds;
    /** The upstream each ring must follow, by stack name. */
    upstreams: { [stack: string]: string };
    /** Stacks that stay at least one phase behind their upstream until it has soaked, whatever their own config says. */
    behindUntilSoakedStacks: string[];
}

export const RING_ORDER_DEFAULTS: RingOrderConfig = {
    soakSeconds: { ...DEFAULT_SOAK_SECONDS },
    upstreams: { "canary-b": "canary-a", prod: "canary-b" },
    behindUntilSoakedStacks: ["canary-b"],
};

/** The ring-order policy, judged against `clock()` (the time of the preview). */
export function ringOrderPolicy(clock: () => Date = () => new Date()): ResourceValidationPolicy {
    return {
        name: "ring-order",
        description: "No ring is promoted ahead of its upstream ring, and canary-b stays one phase behind canary-a until canary-a has soaked.",
        enforcementLevel: "mandatory",
        configSchema: {
            properties: {
                soakSeconds: soakSchema(RING_ORDER_DEFAULTS.soakSeconds),
                upstreams: {
                    type: "object",
                    description: "The upstream stack each ring must follow, by stack name.",
                    additionalProperties: { type: "string" },
                    default: RING_ORDER_DEFAULTS.upstreams,
                },
                behindUntilSoakedStacks: {
                    type: "array",
                    description: "Stacks that stay at least one phase behind their upstream until it has soaked.",
                    items: { type: "string" },
                    default: RING_ORDER_DEFAULTS.behindUntilSoakedStacks,
                },
            },
        },
        validateResource: validateResourceOfType(random.RandomId, (id, args, report) => {
            const r = recordOf(id);
            if (!r) return;
            const c = configOf(args, RING_ORDER_DEFAULTS);
            const soak = { ...RING_ORDER_DEFAULTS.soakSeconds, ...c.soakSeconds };
            const expected = c.upstreams[r.stack];
            if (expected !== undefined && r.upstreamStack !== expected) {
                report(
                    `ring ${r.stack} must follow ${expected} (policy config upstreams), but its transition record names upstream ${quote(r.upstreamStack)}: set ring.upstream to the ${expected} stack`,
                );
                return;
            }
            const t = transitionOf(r);
            if (!t || r.upstreamStack === "") return;
            if (!isPhase(r.upstreamPhase)) {
                report(`ring ${r.stack}: upstream ${r.upstreamStack} phase ${quote(r.upstreamPhase)} is not a phase (one of ${PHASES.join(", ")})`);
                return;
            }
            const behind = r.behindUntilSoaked === "true" || c.behindUntilSoakedStacks.includes(r.stack);
            const reasons = checkRing({
                stack: r.stack,
                from: t.from,
                to: t.to,
                upstream: { stack: r.upstreamStack, phase: r.upstreamPhase, enteredAt: r.upstreamEnteredAt || undefined },
                behindUntilSoaked: behind,
                soakSeconds: soak,
                now: clock(),
            });
            for (const reason of reasons) report(reason);
        }),
    };
}

export const ringOrder = ringOrderPolicy();
