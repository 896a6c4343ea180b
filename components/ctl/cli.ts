/**
 * `migration-ctl`: argument parsing and dispatch. `main(argv, io)` returns the exit code and
 * never calls process.exit, so tests run it in-process; bin/migration-ctl.ts runs it for real.
 */
import * as path from "path";
import { z } from "zod";
import { ownGet } from "../config/own";
import { FlagSpecs, ParsedArgs, UsageError, parseArgs } from "../gates/argv";
import { Session, check, colorCommand, health, phaseGet, phaseSet, plan, rollback } from "./commands";
import { DeployedLookup, defaultDeployedLookup } from "./deployed";
import { CtlError, EXIT } from "./errors";
import { HELP } from "./help";
import { findRepo } from "./repo";

export interface CliIo {
    readonly stdout: (s: string) => void;
    readonly stderr: (s: string) => void;
    readonly cwd: string;
    readonly env: NodeJS.ProcessEnv;
    /** Deployed states; overrides --deployed-file and the pulumi CLI (for callers and tests). */
    readonly deployed?: DeployedLookup;
}

const SPECS: FlagSpecs = {
    repo: { kind: "string" },
    now: { kind: "string" },
    "deployed-file": { kind: "string" },
    help: { kind: "boolean" },
    stack: { kind: "string" },
    json: { kind: "boolean" },
    "dry-run": { kind: "boolean" },
    to: { kind: "string" },
    from: { kind: "string" },
    base: { kind: "string" },
};

const GLOBAL_FLAGS = ["repo", "now", "deployed-file", "help"];

interface CommandSpec {
    readonly flags: readonly string[];
    /** Positional arguments after the command words. */
    readonly args: readonly string[];
}

const COMMANDS: Record<string, CommandSpec> = {
    "phase get": { flags: ["stack", "json"], args: [] },
    "phase set": { flags: ["stack", "dry-run"], args: ["phase"] },
    rollback: { flags: ["stack", "to", "dry-run"], args: [] },
    plan: { flags: ["stack", "from", "base", "to", "json"], args: [] },
    health: { flags: ["json"], args: [] },
    check: { flags: ["base", "json"], args: [] },
    "color get": { flags: ["stack", "json"], args: [] },
    "color set": { flags: ["stack", "dry-run"], args: ["color"] },
    "color flip": { flags: ["stack", "dry-run"], args: [] },
};

const GROUPS: Record<string, readonly string[]> = { phase: ["get", "set"], color: ["get", "set", "flip"] };

const isoTime = z.string().datetime({ offset: true });

function flag(p: ParsedArgs, name: string): string | undefined {
    const v = ownGet(p.flags, name);
    return typeof v === "string" ? v : undefined;
}

function required(p: ParsedArgs, name: string, key: string): string {
    const v = flag(p, name);
    if (v === undefined) throw new UsageError(`${key}: --${name} is required`);
    if (v === "") throw new UsageError(`${key}: --${name} must not be empty`);
    return v;
}

interface Resolved {
    readonly key: string;
    readonly args: string[];
}

/** The command words and positional arguments; help requests return the help key. */
function resolveCommand(p: ParsedArgs): Resolved | { help: string } {
    const [cmd, ...rest] = p.positionals;
    const wantsHelp = p.flags.help === true;
    if (cmd === undefined || cmd === "help") {
        if (wantsHelp || cmd === "help") {
            const two = rest.slice(0, 2).join(" ");
            return { help: two in HELP ? two : rest[0] in HELP ? rest[0] : "main" };
        }
        throw new UsageError("missing command (phase, rollback, plan, health, check, color, diagnostics)");
    }
    if (cmd in GROUPS) {
        const sub = rest[0];
        if (sub === undefined) {
            if (wantsHelp) return { help: cmd };
            throw new UsageError(`${cmd}: missing sub-command (${GROUPS[cmd].join(", ")})`);
        }
        if (!GROUPS[cmd].includes(sub)) throw new UsageError(`${cmd}: unknown sub-command ${JSON.stringify(sub)} (${GROUPS[cmd].join(", ")})`);
        const key = `${cmd} ${sub}`;
        if (wantsHelp) return { help: key in HELP ? key : cmd };
        return { key, args: rest.slice(1) };
    }
    if (cmd === "diagnostics" && wantsHelp) return { help: "main" };
    if (!(cmd in COMMANDS)) throw new UsageError(`unknown command ${JSON.stringify(cmd)} (phase, rollback, plan, health, check, color, diagnostics)`);
    if (wantsHelp) return { help: cmd };
    return { key: cmd, args: rest };
}

function session(p: ParsedArgs, io: CliIo): Session {
    const repo = findRepo(io.cwd, flag(p, "repo"));
    const nowFlag = flag(p, "now");
    if (nowFlag !== undefined && !isoTime.safeParse(nowFlag).success) {
        throw new UsageError(`--now: ${JSON.stringify(nowFlag)} is not an ISO time with a zone (e.g. 2025-06-01T12:00:00Z)`);
    }
    const now = nowFlag !== undefined ? new Date(nowFlag) : new Date();
    const file = flag(p, "deployed-file");
    const deployed = io.deployed ?? defaultDeployedLookup(repo, io.env, file === undefined ? undefined : path.resolve(io.cwd, file));
    return { repo, now, deployed, out: io.stdout, err: io.stderr };
}

function run(r: Resolved, p: ParsedArgs, io: CliIo): number {
    const spec = COMMANDS[r.key];
    for (const name of Object.keys(p.flags)) {
        if (!GLOBAL_FLAGS.includes(name) && !spec.flags.includes(name)) throw new UsageError(`${r.key}: unknown flag --${name}`);
    }
    if (r.args.length < spec.args.length) throw new UsageError(`${r.key}: missing <${spec.args[r.args.length]}>`);
    if (r.args.length > spec.args.length) throw new UsageError(`${r.key}: unexpected argument ${JSON.stringify(r.args[spec.args.length])}`);
    const json = p.flags.json === true;
    const dryRun = p.flags["dry-run"] === true;
    // Check what needs no repository before looking for one.
    const stack = spec.flags.includes("stack") && r.key !== "phase get" ? required(p, "stack", r.key) : flag(p, "stack");
    const base = r.key === "check" ? required(p, "base", r.key) : flag(p, "base");
    if (r.key === "plan" && flag(p, "from") !== undefined && base !== undefined) throw new UsageError("plan: give --from or --base, not both");
    const s = session(p, io);
    switch (r.key) {
        case "phase get":
            return phaseGet(s, stack, json);
        case "phase set":
            return phaseSet(s, r.args[0], stack!, dryRun);
        case "rollback":
            return rollback(s, stack!, flag(p, "to"), dryRun);
        case "plan":
            return plan(s, { stack: stack!, from: flag(p, "from"), base, to: flag(p, "to"), json });
        case "health":
            return health(s, json);
        case "check":
            return check(s, base!, json);
        case "color get":
        case "color set":
        case "color flip":
            return colorCommand(s, r.key.split(" ")[1], r.args[0], stack!, json, dryRun);
        default:
            throw new CtlError(EXIT.INTERNAL, `no handler for ${r.key}`);
    }
}

const processIo: CliIo = {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    cwd: process.cwd(),
    env: process.env,
};

/** Index of the first word that is not a global flag or its value (the command), or -1. */
function commandIndex(args: readonly string[]): number {
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (!a.startsWith("--")) return i;
        const name = a.slice(2).split("=")[0];
        if (ownGet(SPECS, name)?.kind === "string" && !a.includes("=")) i++;
    }
    return -1;
}

/**
 * `migration-ctl [global flags] diagnostics ...`: handed to diagnosticsCommand
 * (components/diagnostics) with the words after `diagnostics` untouched, plus `--root-dir
 * <repo>` unless given (global --repo or the repository found from the current folder).
 */
async function diagnostics(prefix: string[], rest: string[], io: CliIo): Promise<number> {
    const p = parseArgs(prefix, Object.fromEntries(GLOBAL_FLAGS.map((f) => [f, SPECS[f]])));
    const s = session(p, io);
    const { diagnosticsCommand } = await import("../diagnostics");
    const hasRoot = rest.some((a) => a === "--root-dir" || a.startsWith("--root-dir="));
    const argv = rest[0] === "compare" || hasRoot || rest.includes("--help") ? rest : [...rest, "--root-dir", s.repo];
    return diagnosticsCommand(argv, { stdout: io.stdout, stderr: io.stderr }, io.cwd, () => s.now);
}

/** Run migration-ctl with `argv` (without the program name); returns the exit code. */
export async function main(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
    const cio: CliIo = { ...processIo, ...io };
    const args = argv.map((a) => (a === "-h" ? "--help" : a));
    let p: ParsedArgs | undefined;
    try {
        const at = commandIndex(args);
        if (at >= 0 && args[at] === "diagnostics" && !args.slice(0, at).includes("--help")) {
            return await diagnostics(args.slice(0, at), args.slice(at + 1), cio);
        }
        p = parseArgs(args, SPECS);
        const r = resolveCommand(p);
        if ("help" in r) {
            cio.stdout(HELP[r.help]);
            return EXIT.OK;
        }
        return run(r, p, cio);
    } catch (e) {
        if (e instanceof UsageError) {
            cio.stderr(`migration-ctl: ${e.message} (see migration-ctl --help)\n`);
            return EXIT.USAGE;
        }
        if (e instanceof CtlError) {
            cio.stderr(`migration-ctl: ${e.message}\n`);
            for (const d of e.details) cio.stderr(`  - ${d}\n`);
            return e.code;
        }
        cio.stderr(`migration-ctl: internal error: ${(e as Error).stack ?? String(e)}\n`);
        return EXIT.INTERNAL;
    }
}
