/**
 * The one error type of every CLI of this repository and the exit codes it carries.
 *
 * This module imports nothing, so the logic modules under components/ may throw CliError
 * without depending on the rest of the CLI layer. Each CLI's entry runs `runMain`, the one
 * top-level catch: a CliError prints one line (`<tool>: <message>`, then its details), a usage
 * error never a stack trace; anything else is an internal error (70, EX_SOFTWARE of sysexits.h).
 */

/**
 * Exit codes. 0, 1, 2 and 70 mean the same in every CLI; 3 to 10 are migration-ctl's (its
 * README section and `--help` list them); the single-command tools document their own 3.
 */
export const EXIT = {
    /** Done; for a check: nothing wrong. */
    OK: 0,
    /** A check found violations (the report lists them), or a gate failed. */
    VIOLATIONS: 1,
    /** Bad command line: unknown command or flag, missing or bad value. */
    USAGE: 2,
    /** No `stacks/Pulumi.<stack>.yaml` for the stack named. */
    UNKNOWN_STACK: 3,
    /** Not a phase (or, for `color`, not a color). */
    UNKNOWN_VALUE: 4,
    /** A stack file is not valid YAML (nothing is written). */
    MALFORMED_YAML: 5,
    /** A stack file is valid YAML but not a valid stack config (nothing is written). */
    INVALID_CONFIG: 6,
    /** The git revision does not exist (or the folder is not a git repository). */
    UNKNOWN_REV: 7,
    /** The change is refused: illegal transition, ring order, not a lower phase, flip not possible. */
    REFUSED: 8,
    /** A file or git command failed for another reason (permissions, I/O). */
    IO: 9,
    /** `health` found nothing wrong, but the deployed phase of every stack is unknown: the deployed checks did not run. */
    DEPLOYED_UNKNOWN: 10,
    /** `drift`: a node differs from what the stack deployed (not 2, which is a usage error in every command). */
    DRIFT: 12,
    /** `plan --out`, `up`: a gate refuses the change (check's rules: transition, ring order, soak, evidence, change window); Pulumi did not run. */
    GATE_REFUSED: 13,
    /** `plan --out`, `up`: a mandatory policy of the pack refuses the change (the offline policy check); Pulumi did not run. */
    POLICY_REFUSED: 14,
    /** `apply`: the saved plan is for another stack or project, its stack file changed since, it is too old, or it holds no plan. */
    PLAN_REFUSED: 15,
    /** `up`, `plan --out`, `apply`: no Pulumi CLI (the message says how to install it). */
    NO_PULUMI: 16,
    /** A bug: an exception no command expected. */
    INTERNAL: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT] | number;

/** An error a CLI reports as `<tool>: <message>` (then each detail as `  - <detail>`) and exits with `code`. */
export class CliError extends Error {
    constructor(
        readonly code: ExitCode,
        message: string,
        /** Further lines (reasons of a refusal, every config error), printed after the message. */
        readonly details: readonly string[] = [],
    ) {
        super(message);
        this.name = "CliError";
    }
}

/** A bad command line (exit 2): the message names the argument. */
export class UsageError extends CliError {
    constructor(message: string, details: readonly string[] = []) {
        super(EXIT.USAGE, message, details);
        this.name = "UsageError";
    }
}

export interface ErrorIo {
    readonly stderr: (s: string) => void;
}

/** Print `e` the way every CLI does and return its exit code. */
export function reportError(tool: string, e: unknown, io: ErrorIo, usageHint?: string): number {
    if (e instanceof CliError) {
        const hint = e instanceof UsageError && usageHint !== undefined ? ` (${usageHint})` : "";
        io.stderr(`${tool}: ${e.message}${hint}\n`);
        for (const d of e.details) io.stderr(`  - ${d}\n`);
        return e.code;
    }
    io.stderr(`${tool}: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return EXIT.INTERNAL;
}

/** Run a CLI's main for this process: its exit code, or the top-level catch's. Never calls process.exit. */
export function runMain(tool: string, main: () => Promise<number> | number): void {
    // A reader that stops early (`migration-ctl --help | head`) closes the pipe: the rest of the
    // output has nowhere to go, which is not an error of the command. Node emits EPIPE as an
    // 'error' event on process.stdout, an uncaught exception (a stack trace) unless handled.
    process.stdout.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code !== "EPIPE") throw e;
        process.exit(process.exitCode ?? 0);
    });
    Promise.resolve()
        .then(main)
        .then(
            (code) => {
                process.exitCode = code;
            },
            (e) => {
                process.exitCode = reportError(tool, e, { stderr: (s) => process.stderr.write(s) });
            },
        );
}
