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
    /**
     * The ring is already in `to` (a state checked, not a move asked for): the fix for a ring
     * ahead of its upstream is then to roll it back, or to promote the upstream.
     */
    readonly current?: boolean;
    /** What else gives the upstream's entry time when it is unknown (appended to the reason). */
    readonly unknownEnteredAtHint?: string;
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
        const gap = phaseIndex(input.to) - phaseIndex(upstream.phase);
        const promote = `promote ${upstream.stack} to ${input.to}${input.current ? "" : " first"}${gap > 1 ? `, ${gap} promotions` : ""}`;
        // A ring already past its upstream (the upstream rolled back) is fixed by rolling it back.
        const ahead = input.current === true || phaseIndex(input.from) > phaseIndex(upstream.phase);
        const fix = ahead ? `roll ${input.stack} back to ${upstream.phase}, or ${promote}` : gap > 1 ? promote : `promote ${upstream.stack} first`;
        reasons.push(`ring ${input.stack} would be ahead of its upstream ${upstream.stack}: ${input.to} is after ${upstream.phase} (${fix})`);
    } else if (input.behindUntilSoaked && phaseIndex(input.to) === phaseIndex(upstream.phase) && !upstreamSoaked(upstream, input.soakSeconds, input.now)) {
        const entered = upstream.enteredAt ? Date.parse(upstream.enteredAt) : NaN;
        const soak = formatDuration(input.soakSeconds[upstream.phase]);
        const wait = `ring ${input.stack} must stay at least one phase behind ${upstream.stack} until ${upstream.stack} has soaked in ${upstream.phase}`;
        if (Number.isNaN(entered)) {
            reasons.push(
                `${wait} (${soak}), but ${upstream.stack}'s phaseEnteredAt in ${upstream.phase} is unknown, so its soak cannot be counted: ` +
                    `a pulumi up --stack ${upstream.stack} that completes records it in ${upstream.stack}'s stack outputs` +
                    (input.unknownEnteredAtHint ? `; ${input.unknownEnteredAtHint}` : ""),
            );
        } else {
            reasons.push(`${wait} (${formatDuration((input.now.getTime() - entered) / 1000)} of ${soak})`);
        }
    }
    return reasons;
}
