/**
 * The phase model as bash functions, for the prelude of every rendered step script (see
 * renderStepScript), generated from the phase table so that the node scripts cannot restate
 * it differently. sh/lib.sh and the step bodies call these and define no phase list of their own.
 */
import { PHASES, phaseInfo } from "./index";

/** `is_phase P`, `is_write_phase P` (status 0 or 1) and `phase_index P` (prints the index, -1 for no phase). */
export function renderPhaseFunctions(): string {
    // Phase names are plain words (lower-case letters and '-'): safe as case patterns unquoted.
    for (const p of PHASES) if (!/^[a-z][a-z-]*$/.test(p)) throw new Error(`phase name ${p} is not a plain word`);
    const writes = PHASES.filter((p) => phaseInfo(p).write);
    return [
        "# The phase model (components/phases), generated.",
        "is_phase() {",
        '  case "$1" in',
        `    ${PHASES.join("|")}) return 0 ;;`,
        "    *) return 1 ;;",
        "  esac",
        "}",
        "",
        "is_write_phase() {",
        '  case "$1" in',
        `    ${writes.join("|")}) return 0 ;;`,
        "    *) return 1 ;;",
        "  esac",
        "}",
        "",
        "phase_index() {",
        '  case "$1" in',
        ...PHASES.map((p) => `    ${p}) echo ${phaseInfo(p).index} ;;`),
        "    *) echo -1 ;;",
        "  esac",
        "}",
    ].join("\n");
}
