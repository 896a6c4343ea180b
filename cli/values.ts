/** Checks of option values (strings from commander) that several CLIs share. Each throws UsageError naming the option. */
import { UsageError } from "./errors";

/** A number option: finite, >= min (and <= max), integer when asked; `dflt` when absent. */
export function numberOption(name: string, raw: unknown, dflt: number, o: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {}): number {
    if (raw === undefined) return dflt;
    const s = String(raw);
    const v = s.trim() === "" ? NaN : Number(s);
    const bad = (why: string) => new UsageError(`--${name}: ${why} (got ${JSON.stringify(s)})`);
    if (!Number.isFinite(v)) throw bad("must be a number");
    if (o.integer && !Number.isInteger(v)) throw bad("must be a whole number");
    if (o.min !== undefined && (o.exclusiveMin ? v <= o.min : v < o.min)) {
        throw bad(`must be ${o.exclusiveMin ? "greater than" : "at least"} ${o.min}`);
    }
    if (o.max !== undefined && v > o.max) throw bad(`must be at most ${o.max}`);
    return v;
}

/** An ISO 8601 time with an offset (`2024-05-01T10:00:00Z`) as epoch milliseconds; undefined when absent. */
export function isoTimeOption(name: string, raw: unknown): number | undefined {
    if (raw === undefined) return undefined;
    const s = String(raw);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(s) || Number.isNaN(Date.parse(s))) {
        throw new UsageError(`--${name}: must be an ISO 8601 time with an offset such as 2024-05-01T10:00:00Z (got ${JSON.stringify(s)})`);
    }
    return Date.parse(s);
}

export function stringOption(raw: unknown): string | undefined {
    return typeof raw === "string" ? raw : undefined;
}

export function listOption(raw: unknown): string[] {
    return Array.isArray(raw) ? (raw as string[]) : [];
}
