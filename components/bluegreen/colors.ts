/**
 * Active color, flips, rollback target and idle scale-down: the pure functions behind
 * `migration-ctl color get|set|flip` and the replica counts the component registers.
 *
 * Idle scale-down without a clock in the inputs: a flip records `lastFlip` (time, and the
 * color/version/image tag the traffic left) in the stack config. The program computes, on
 * each run, `idleReplicas(config, now)`: the idle color keeps its configured replicas until
 * `now >= lastFlip.at + idleScaleDownAfterSeconds`, then 0; never while it is the rollback
 * target; never when the idle release differs from the one recorded (a new version deployed
 * to the idle color for the next promotion runs at its replicas). The result changes at most
 * once per flip, so there is no perpetual diff; the scale-down happens on the first
 * `pulumi up` after the delay (a preview shows it coming).
 */
import { BlueGreenConfig, COLORS, Color, LastFlip, holdsRollbackTarget, idleColor, key, otherColor, parseBlueGreenConfig } from "../config/bluegreen";

/** The keys `migration-ctl color` writes into `pve-migration:blueGreen` (all others stay as written). */
export interface ColorFragment {
    readonly activeColor: Color;
    /** `undefined`: the key is absent (removed from the stack file). */
    readonly lastFlip: LastFlip | undefined;
    /** `undefined`: the key is absent (the default applies). */
    readonly rollbackTarget: boolean | undefined;
}

export interface ColorChange {
    /** False when the command changes nothing (set to the active color). */
    readonly changed: boolean;
    readonly fragment: ColorFragment;
    /** One line for the operator. */
    readonly message: string;
}

/** An ISO UTC time to the second, as written into `lastFlip.at`: 2025-06-01T10:00:00Z. */
export function isoSeconds(d: Date): string {
    return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

function isColor(c: string): c is Color {
    return (COLORS as readonly string[]).includes(c);
}

/** When the idle color will be (or was) scaled down, or undefined if it is not scheduled to be. */
export function idleScaleDownAt(cfg: BlueGreenConfig): Date | undefined {
    const idle = idleColor(cfg);
    const rel = cfg.releases[idle];
    const f = cfg.lastFlip;
    if (rel === undefined || holdsRollbackTarget(cfg) || f === undefined) return undefined;
    // Only the release the traffic left, unchanged: a new version on the idle color is a new candidate.
    if (f.from !== idle || f.version !== rel.version || f.imageTag !== rel.imageTag) return undefined;
    return new Date(Date.parse(f.at) + cfg.idleScaleDownAfterSeconds * 1000);
}

/** Replicas of the idle color at time `now` (0 when it has no release). */
export function idleReplicas(cfg: BlueGreenConfig, now: Date): number {
    const rel = cfg.releases[idleColor(cfg)];
    if (rel === undefined) return 0;
    const at = idleScaleDownAt(cfg);
    return at !== undefined && now.getTime() >= at.getTime() ? 0 : rel.replicas;
}

/** Replicas each configured color runs at time `now`. */
export function effectiveReplicas(cfg: BlueGreenConfig, now: Date): Partial<Record<Color, number>> {
    const out: Partial<Record<Color, number>> = {};
    const active = cfg.releases[cfg.activeColor];
    if (active !== undefined) out[cfg.activeColor] = active.replicas;
    if (cfg.releases[idleColor(cfg)] !== undefined) out[idleColor(cfg)] = idleReplicas(cfg, now);
    return out;
}

/**
 * Why the active color cannot become `to` at time `now` (empty: it can). Flipping to the
 * active color itself is not a problem here (setColor treats it as no change).
 */
export function validateFlip(cfg: BlueGreenConfig, to: string, now: Date = new Date()): string[] {
    if (!isColor(to)) return [`unknown color ${JSON.stringify(to)}: must be blue or green`];
    if (to === cfg.activeColor) return [];
    const rel = cfg.releases[to];
    if (rel === undefined) return [`cannot flip to ${to}: it has no release (${key(["releases", to])} is not set)`];
    if (rel.replicas < 1) return [`cannot flip to ${to}: ${key(["releases", to, "replicas"])} is 0`];
    if (idleReplicas(cfg, now) < 1) {
        const at = isoSeconds(idleScaleDownAt(cfg)!);
        return [
            `cannot flip to ${to}: it was scaled down at ${at} (idle, not the rollback target); ` +
                `set ${key(["rollbackTarget"])} to true and run pulumi up to bring it back first`,
        ];
    }
    return [];
}

/** Make `to` the active color: the fragment to write. Throws an Error naming every reason it cannot. */
export function setColor(cfg: BlueGreenConfig, to: string, now: Date = new Date()): ColorChange {
    const problems = validateFlip(cfg, to, now);
    if (problems.length > 0) throw new Error(problems.join("\n"));
    const unchanged = { activeColor: cfg.activeColor, lastFlip: cfg.lastFlip, rollbackTarget: cfg.rollbackTarget };
    if (to === cfg.activeColor) {
        return { changed: false, fragment: unchanged, message: `${key(["activeColor"])} is already ${to}; nothing to change` };
    }
    const from = cfg.releases[cfg.activeColor]!;
    const at = isoSeconds(now);
    return {
        changed: true,
        fragment: {
            activeColor: to as Color,
            lastFlip: { at, from: cfg.activeColor, version: from.version, imageTag: from.imageTag },
            rollbackTarget: true,
        },
        message:
            `${key(["activeColor"])}: ${cfg.activeColor} -> ${to} at ${at}; ${cfg.activeColor} (${from.version}) is the rollback target ` +
            `until ${key(["rollbackTarget"])} is set to false, then scales down ${cfg.idleScaleDownAfterSeconds}s after the flip`,
    };
}

/** Swap the active and the idle color. */
export function flipColor(cfg: BlueGreenConfig, now: Date = new Date()): ColorChange {
    return setColor(cfg, otherColor(cfg.activeColor), now);
}

/**
 * Hold (true) or release (false) the idle color as the rollback target. Holding it again
 * after a scale-down brings it back to its replicas on the next `pulumi up`.
 */
export function setRollbackTarget(cfg: BlueGreenConfig, hold: boolean): ColorChange {
    const idle = idleColor(cfg);
    const rel = cfg.releases[idle];
    if (hold && (rel === undefined || rel.replicas < 1)) {
        const why = rel === undefined ? `${key(["releases", idle])} is not set` : `${key(["releases", idle, "replicas"])} is 0`;
        throw new Error(`cannot hold ${idle} as the rollback target: ${why}`);
    }
    const downAt = idleScaleDownAt({ ...cfg, rollbackTarget: false });
    return {
        changed: cfg.rollbackTarget !== hold,
        fragment: { activeColor: cfg.activeColor, lastFlip: cfg.lastFlip, rollbackTarget: hold },
        message: hold
            ? `${key(["rollbackTarget"])}: true; ${idle} is kept at ${rel!.replicas} replica(s) as the rollback target`
            : `${key(["rollbackTarget"])}: false; ${idle} is no longer the rollback target` +
              (downAt !== undefined ? ` and scales down on the first pulumi up at or after ${isoSeconds(downAt)}` : ""),
    };
}

/**
 * Write `fragment` into the raw `pve-migration:blueGreen` object as the stack file holds it
 * (other keys untouched, defaults not expanded; `undefined` removes a key), then validate the
 * result. Returns the new raw object; throws ConfigError if it is not valid.
 */
export function applyColorFragment(raw: unknown, fragment: ColorFragment): Record<string, unknown> {
    parseBlueGreenConfig(raw);
    const out: Record<string, unknown> = { ...(raw as Record<string, unknown>) };
    for (const [k, v] of Object.entries(fragment)) {
        if (v === undefined) delete out[k];
        else out[k] = v;
    }
    parseBlueGreenConfig(out);
    return out;
}

export interface ColorStatus {
    readonly activeColor: Color;
    readonly idleColor: Color;
    /** Configured and effective (at `now`) replicas and versions per configured color. */
    readonly colors: Partial<Record<Color, { version: string; imageTag: string; replicas: number; effectiveReplicas: number }>>;
    /** The idle color when it is held as the rollback target, else null. */
    readonly rollbackTarget: Color | null;
    readonly lastFlip: LastFlip | null;
    /** ISO time the idle color is (was) scaled down, or null when not scheduled. */
    readonly idleScaleDownAt: string | null;
}

/** What `migration-ctl color get` shows. */
export function colorStatus(cfg: BlueGreenConfig, now: Date = new Date()): ColorStatus {
    const eff = effectiveReplicas(cfg, now);
    const colors: ColorStatus["colors"] = {};
    for (const c of COLORS) {
        const r = cfg.releases[c];
        if (r !== undefined) colors[c] = { version: r.version, imageTag: r.imageTag, replicas: r.replicas, effectiveReplicas: eff[c]! };
    }
    const idle = idleColor(cfg);
    const at = idleScaleDownAt(cfg);
    return {
        activeColor: cfg.activeColor,
        idleColor: idle,
        colors,
        rollbackTarget: holdsRollbackTarget(cfg) && cfg.releases[idle] !== undefined ? idle : null,
        lastFlip: cfg.lastFlip ?? null,
        idleScaleDownAt: at === undefined ? null : isoSeconds(at),
    };
}

/** Human-readable `color get` output, one fact per line. */
export function formatColorStatus(s: ColorStatus): string {
    const lines = [`active: ${s.activeColor}`];
    for (const c of COLORS) {
        const r = s.colors[c];
        if (r === undefined) {
            lines.push(`${c}: no release`);
            continue;
        }
        const role = c === s.activeColor ? "active" : s.rollbackTarget === c ? "idle, rollback target" : "idle";
        const scaled = r.effectiveReplicas !== r.replicas ? ` (scaled down to ${r.effectiveReplicas})` : "";
        lines.push(`${c}: ${role}, version ${r.version}, image tag ${r.imageTag}, replicas ${r.replicas}${scaled}`);
    }
    lines.push(s.lastFlip ? `last flip: ${s.lastFlip.at} from ${s.lastFlip.from} (${s.lastFlip.version})` : "last flip: none recorded");
    if (s.idleScaleDownAt !== null) lines.push(`idle scale-down: ${s.idleScaleDownAt}`);
    return lines.join("\n");
}
