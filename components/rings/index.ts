/**
 * Rings (README "Promote (GitOps)"): canary-a -> canary-b -> prod. A ring reads the phase its
 * upstream ring has deployed. Pure: the Pulumi program feeds it the upstream's stack outputs,
 * `migration-ctl` feeds it the configured phases in the repository.
 */
import { Phase, phaseIndex } from "../phases";
import { formatDuration } from "../evidence";

export interface UpstreamState {
    /** Upstream stack name (for messages). */
    readonly stack: string;
    /** The phase the upstream has deployed (or is configured to, for migration-ctl). */
    readonly phase: Phase;
    /** When the upstream entered that phase (ISO time); unknown: not soaked. */
    readonly enteredAt?: string;
}

export interface RingCheckInput {
    /** This ring's stack name. */
    readonly stack: string;
    /** Phase this ring is deployed in now. */
    readonly from: Phase;
    /** Phase this ring is asked to be in. */
    readonly to: Phase;
    readonly upstream?: UpstreamState;
    /** Stay at least one phase behind the upstream until the upstream has soaked. */
    readonly behindUntilSoaked: boolean;
    /** Soak per phase (seconds) for the upstream's phase. */
    readonly soakSeconds: Readonly<Record<Phase, number>>;
    readonly now: Date;
}

/** Has the upstream soaked in its phase? */
export function upstreamSoaked(up: UpstreamState, soakSeconds: Readonly<Record<Phase, number>>, now: Date): boolean {
    if (soakSeconds[up.phase] === 0) return true;
    if (!up.enteredAt) return false;
    const entered = Date.parse(up.enteredAt);
    if (Number.isNaN(entered)) return false;
    return (now.getTime() - entered) / 1000 >= soakSeconds[up.phase];
}

/**
 * Reasons a ring may not move from `from` to `to` (empty: allowed). Rollbacks and staying put
 * are always allowed: a ring may always go back, even when its upstream went back first.
 */
export function checkRing(input: RingCheckInput): string[] {
    const { upstream } = input;
    if (!upstream) return [];
    if (phaseIndex(input.to) <= phaseIndex(input.from)) return [];
    const reasons: string[] = [];
    if (phaseIndex(input.to) > phaseIndex(upstream.phase)) {
        reasons.push(
            `ring ${input.stack} would be ahead of its upstream ${upstream.stack}: ${input.to} is after ${upstream.phase} (promote ${upstream.stack} first)`,
        );
    } else if (input.behindUntilSoaked && phaseIndex(input.to) === phaseIndex(upstream.phase) && !upstreamSoaked(upstream, input.soakSeconds, input.now)) {
        const entered = upstream.enteredAt ? Date.parse(upstream.enteredAt) : NaN;
        const soaked = Number.isNaN(entered) ? "an unknown time" : formatDuration((input.now.getTime() - entered) / 1000);
        reasons.push(
            `ring ${input.stack} must stay at least one phase behind ${upstream.stack} until ${upstream.stack} has soaked in ${upstream.phase} ` +
                `(${soaked} of ${formatDuration(input.soakSeconds[upstream.phase])})`,
        );
    }
    return reasons;
}
