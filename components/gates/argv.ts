/**
 * A small, strict command-line parser shared by the gate and diagnostics CLIs.
 * Pure: takes argv, returns values or a UsageError naming the flag and the bad value.
 */
import { hasOwn, ownGet } from "../config/own";

export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

export type FlagKind = "string" | "boolean" | "list";

export interface FlagSpec {
    readonly kind: FlagKind;
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

export interface ParsedArgs {
    /** Flag values by name (without `--`): string, true, or string[] for repeatable flags. */
    readonly flags: Readonly<Record<string, string | boolean | string[]>>;
    /** Positional arguments, in order. */
    readonly positionals: readonly string[];
}

/**
 * Parse `--name value`, `--name=value`, boolean `--name`, repeatable `--name a --name b`.
 * `--` ends the flags. Unknown flags, missing values and repeated single flags are errors.
 */
export function parseArgs(argv: readonly string[], specs: FlagSpecs): ParsedArgs {
    const flags: Record<string, string | boolean | string[]> = {};
    const positionals: string[] = [];
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        if (arg === "--") {
            positionals.push(...argv.slice(i + 1));
            break;
        }
        if (!arg.startsWith("--") || arg === "--") {
            positionals.push(arg);
            continue;
        }
        const eq = arg.indexOf("=");
        const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
        const spec = ownGet(specs, name);
        if (spec === undefined) throw new UsageError(`unknown flag --${name}`);
        if (spec.kind === "boolean") {
            if (eq >= 0) throw new UsageError(`--${name} takes no value (got ${JSON.stringify(arg.slice(eq + 1))})`);
            flags[name] = true;
            continue;
        }
        let value: string;
        if (eq >= 0) {
            value = arg.slice(eq + 1);
        } else {
            if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value`);
            value = argv[++i];
        }
        if (spec.kind === "list") {
            const prev = flags[name];
            flags[name] = [...(Array.isArray(prev) ? prev : []), value];
        } else {
            if (hasOwn(flags, name)) throw new UsageError(`--${name} given more than once`);
            flags[name] = value;
        }
    }
    return { flags, positionals };
}

export function str(p: ParsedArgs, name: string): string | undefined {
    const v = ownGet(p.flags, name);
    return typeof v === "string" ? v : undefined;
}

export function list(p: ParsedArgs, name: string): string[] {
    const v = ownGet(p.flags, name);
    return Array.isArray(v) ? v : [];
}

export function bool(p: ParsedArgs, name: string): boolean {
    return ownGet(p.flags, name) === true;
}

/** A number flag: finite, >= min (and <= max), integer when asked. */
export function num(
    p: ParsedArgs,
    name: string,
    dflt: number,
    o: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {},
): number {
    const raw = str(p, name);
    if (raw === undefined) return dflt;
    const v = raw.trim() === "" ? NaN : Number(raw);
    const bad = (why: string) => new UsageError(`--${name}: ${why} (got ${JSON.stringify(raw)})`);
    if (!Number.isFinite(v)) throw bad("must be a number");
    if (o.integer && !Number.isInteger(v)) throw bad("must be a whole number");
    if (o.min !== undefined && (o.exclusiveMin ? v <= o.min : v < o.min)) {
        throw bad(`must be ${o.exclusiveMin ? "greater than" : "at least"} ${o.min}`);
    }
    if (o.max !== undefined && v > o.max) throw bad(`must be at most ${o.max}`);
    return v;
}

/** An ISO 8601 time with an offset (`2024-05-01T10:00:00Z`), returned as epoch milliseconds. */
export function isoTime(p: ParsedArgs, name: string): number | undefined {
    const raw = str(p, name);
    if (raw === undefined) return undefined;
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(raw) || Number.isNaN(Date.parse(raw))) {
        throw new UsageError(`--${name}: must be an ISO 8601 time with an offset such as 2024-05-01T10:00:00Z (got ${JSON.stringify(raw)})`);
    }
    return Date.parse(raw);
}
