/**
 * The phase model: the one typed place that says which phases exist, in which order, what
 * each enables, and which transitions are allowed (README "Phases").
 * Pure: no Pulumi, no I/O.
 */

export const PHASES = ["perl-only", "rust-read-only", "rust-basic-write", "rust-advanced", "rust-sdn", "rust-full"] as const;

export type Phase = (typeof PHASES)[number];

export interface PhaseInfo {
    readonly phase: Phase;
    readonly index: number;
    /** `features.rust_cli` in migration.toml. */
    readonly rustCli: boolean;
    /** `features.rust_daemon` in migration.toml; the Rust daemon is enabled and running. */
    readonly rustDaemon: boolean;
    /** Rust writes configuration in this phase: a verified backup must exist on entry and exit. */
    readonly write: boolean;
    /** Default soak before the next promotion, in seconds (0: none). */
    readonly soakSeconds: number;
    /** `fallback_enabled` must stay true in this phase. */
    readonly fallbackRequired: boolean;
}

const HOUR = 3600;
const DAY = 24 * HOUR;

const TABLE: Record<Phase, Omit<PhaseInfo, "phase" | "index">> = {
    "perl-only": { rustCli: false, rustDaemon: false, write: false, soakSeconds: 0, fallbackRequired: true },
    "rust-read-only": { rustCli: true, rustDaemon: true, write: false, soakSeconds: DAY, fallbackRequired: true },
    "rust-basic-write": { rustCli: true, rustDaemon: true, write: true, soakSeconds: 7 * DAY, fallbackRequired: true },
    "rust-advanced": { rustCli: true, rustDaemon: true, write: true, soakSeconds: 7 * DAY, fallbackRequired: true },
    "rust-sdn": { rustCli: true, rustDaemon: true, write: true, soakSeconds: 7 * DAY, fallbackRequired: true },
    "rust-full": { rustCli: true, rustDaemon: true, write: true, soakSeconds: 0, fallbackRequired: false },
};

export function isPhase(value: unknown): value is Phase {
    return typeof value === "string" && (PHASES as readonly string[]).includes(value);
}

export function phaseIndex(phase: Phase): number {
    return PHASES.indexOf(phase);
}

export function phaseInfo(phase: Phase): PhaseInfo {
    return { phase, index: phaseIndex(phase), ...TABLE[phase] };
}

export function isWritePhase(phase: Phase): boolean {
    return TABLE[phase].write;
}

/** Default soak durations per phase, in seconds; stacks and the policy pack may override them. */
export const DEFAULT_SOAK_SECONDS: Readonly<Record<Phase, number>> = Object.fromEntries(PHASES.map((p) => [p, TABLE[p].soakSeconds])) as Record<Phase, number>;

export type TransitionKind = "none" | "promotion" | "rollback";

export interface Transition {
    readonly from: Phase;
    readonly to: Phase;
    readonly kind: TransitionKind;
    /** Phases moved; negative for a rollback. */
    readonly steps: number;
    /** A verified backup must be taken before the migration config changes. */
    readonly backupRequired: boolean;
    /** The latest Perl-era backup is restored (leaving the write phases for a non-write phase). */
    readonly restoreRequired: boolean;
}

export function transition(from: Phase, to: Phase): Transition {
    const steps = phaseIndex(to) - phaseIndex(from);
    const kind: TransitionKind = steps === 0 ? "none" : steps > 0 ? "promotion" : "rollback";
    const backupRequired = kind !== "none" && (isWritePhase(to) || isWritePhase(from));
    const restoreRequired = kind === "rollback" && isWritePhase(from) && !isWritePhase(to);
    return { from, to, kind, steps, backupRequired, restoreRequired };
}

export interface TransitionVerdict {
    readonly allowed: boolean;
    /** Why it is refused; empty when allowed. */
    readonly reason: string;
}

/**
 * Forward one phase at a time; backward any number of phases (a rollback) is always allowed.
 */
export function checkTransition(from: Phase, to: Phase): TransitionVerdict {
    const t = transition(from, to);
    if (t.kind === "promotion" && t.steps > 1) {
        const next = PHASES[phaseIndex(from) + 1];
        return {
            allowed: false,
            reason: `promotion from ${from} to ${to} skips ${t.steps - 1} phase(s); promote one phase at a time (next: ${next})`,
        };
    }
    return { allowed: true, reason: "" };
}

/** The next phase after `phase`, or undefined at the end. */
export function nextPhase(phase: Phase): Phase | undefined {
    return PHASES[phaseIndex(phase) + 1];
}

/** The phase before `phase`, or undefined for `perl-only`. */
export function previousPhase(phase: Phase): Phase | undefined {
    const i = phaseIndex(phase);
    return i > 0 ? PHASES[i - 1] : undefined;
}
