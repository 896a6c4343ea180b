/**
 * Exit codes of `migration-ctl` (printed by `--help`) and the error that carries one.
 */

export const EXIT = {
    /** Done; for check and health: nothing wrong. */
    OK: 0,
    /** `check` or `health` found at least one violation (the report lists them). */
    VIOLATIONS: 1,
    /** Bad command line: unknown command or flag, missing or bad flag value. */
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
    /** A bug in migration-ctl. */
    INTERNAL: 70,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error `migration-ctl` reports as `migration-ctl: <message>` and exits with `code`. */
export class CtlError extends Error {
    constructor(
        readonly code: ExitCode,
        message: string,
        /** Further lines (reasons of a refusal), printed after the message. */
        readonly details: readonly string[] = [],
    ) {
        super(message);
        this.name = "CtlError";
    }
}
