/**
 * Node-side scripts: rendered by pure functions. Every step is one bash script (the shared
 * prelude in sh/lib.sh plus the step body in sh/steps/<step>.sh) fed on standard input, read
 * whole and run as `bash -c <script> <step> <arguments>` (STEP_RUNNER). Values travel only as single-quoted arguments, so a node name,
 * path or URL holding quotes, `$(...)`, backticks, `;` or a newline executes nothing.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { renderDiagnosticsFunction } from "./diagnostics";
import { MAX_ARG_STRLEN, renderBoundsPrelude } from "../config/bounds";
import { renderPhaseFunctions } from "../phases/bash";
import { DEFAULT_STEP_TIMEOUTS, LIBRARY_STEPS, MAX_STEP_TIMEOUT, NODE_STEPS, NodeStep, STEP_SCRIPTS } from "../steps/kinds";

export { renderMigrationToml, renderMiddlewareUnit, renderRustUnit } from "./render";
export type { MigrationTomlInput, UnitInput } from "./render";
export type { NodeStep } from "../steps/kinds";

export { DEFAULT_STEP_TIMEOUTS, LIBRARY_STEPS, MAX_STEP_TIMEOUT, NODE_STEPS } from "../steps/kinds";

const SH_DIR = path.join(__dirname, "sh");
const LIB = fs.readFileSync(path.join(SH_DIR, "lib.sh"), "utf8");
/** The running network against its configuration (verify, snapshot): part of the prelude. */
const NETWORK_FUNCTIONS = fs.readFileSync(path.join(SH_DIR, "network.sh"), "utf8");
/**
 * The dead-man switch's revert (sh/net-revert.sh): a standalone script that the arm writes to the
 * node and a systemd timer runs, carried in the prelude as one single-quoted value.
 */
export const NET_REVERT_SCRIPT = fs.readFileSync(path.join(SH_DIR, "net-revert.sh"), "utf8");
const NETWORK = [
    NETWORK_FUNCTIONS,
    "# The dead-man switch's revert script (sh/net-revert.sh), data: written to the node, run by its timer.",
    "# shellcheck disable=SC2016",
    `PVE_NET_REVERT_SCRIPT=${shQuote(NET_REVERT_SCRIPT)}`,
    "",
].join("\n");
const BODIES: Record<NodeStep, string> = Object.fromEntries(NODE_STEPS.map((s) => [s, fs.readFileSync(path.join(SH_DIR, "steps", `${s}.sh`), "utf8")])) as Record<
    NodeStep,
    string
>;

/**
 * The whole bash script of one step (fed on stdin; the runner reads it whole and runs it with
 * `bash -c`, the arguments after it).
 *
 * bash reads a script from stdin as it runs it, so a command that reads stdin (a site's
 * pvenet-legacy, a systemctl asking for a password, ssh) would receive the rest of the script.
 * So the whole script is one function, `pve_step_main`, called on the last line: bash has read
 * (and parsed) everything before the first command runs, and the function's first command
 * points its stdin at /dev/null, for itself and every command it runs.
 */
export function renderStepScript(step: NodeStep): string {
    const script = [
        "#!/bin/bash",
        `# pve-network-migration node step: ${step}. Rendered from components/scripts; do not edit.`,
        "# The prelude is shared by every step; not every step calls every helper in it.",
        "# shellcheck disable=SC2034,SC2317",
        "pve_step_main() {",
        "exec </dev/null",
        `STEP=${step}`,
        renderBoundsPrelude(),
        renderPhaseFunctions(),
        LIB,
        NETWORK,
        ...(STEP_SCRIPTS[step].diagnostics ? [renderDiagnosticsFunction()] : []),
        'parse_args "$@"',
        BODIES[step],
        "}",
        'pve_step_main "$@"',
        "",
    ].join("\n");
    // The runner hands the script to `bash -c` as one argument, which Linux refuses above MAX_ARG_STRLEN.
    if (Buffer.byteLength(script, "utf8") >= MAX_ARG_STRLEN)
        throw new Error(`step ${step}: the script is ${Buffer.byteLength(script, "utf8")} bytes, above the ${MAX_ARG_STRLEN - 1} bash -c accepts`);
    return script;
}

/** The read-only preview of a restore (sh/restore-preview.sh): run by `migration-ctl plan --read-nodes`, not a step. */
const RESTORE_PREVIEW = fs.readFileSync(path.join(SH_DIR, "restore-preview.sh"), "utf8");
/** The read-only drift check (sh/drift-check.sh): run by `migration-ctl drift`, not a step. */
const DRIFT_CHECK = fs.readFileSync(path.join(SH_DIR, "drift-check.sh"), "utf8");

/** A read-only node script: a step's prelude (with the network checks) and `body`, no init_step (no lock, no write, no log). */
function renderReadOnlyScript(name: string, what: string, body: string): string {
    return [
        "#!/bin/bash",
        `# pve-network-migration: ${what} (read only). Rendered from components/scripts; do not edit.`,
        "# shellcheck disable=SC2034,SC2317",
        "pve_readonly_main() {",
        "exec </dev/null",
        `STEP=${name}`,
        renderBoundsPrelude(),
        renderPhaseFunctions(),
        LIB,
        NETWORK,
        'parse_args "$@"',
        body,
        "}",
        'pve_readonly_main "$@"',
        "",
    ].join("\n");
}

/** The whole bash script `migration-ctl drift` runs on a node (sh/drift-check.sh, verify's checks read only). */
export function renderDriftScript(): string {
    return renderReadOnlyScript("drift-check", "what differs from what the stack deployed", DRIFT_CHECK);
}

/**
 * The whole bash script that lists what a rollback's restore would change on a node, read only
 * (sh/restore-preview.sh): the prelude of a step (bounds, phase functions, sh/lib.sh, whose
 * backup selection it shares with the restore step) without init_step, so it takes no lock and
 * writes nothing. Fed on stdin to `bash -s`; one function called on its last line, as a step.
 */
export function renderRestorePreviewScript(): string {
    return renderReadOnlyScript("restore-preview", "what a rollback's restore would change on this node", RESTORE_PREVIEW);
}

/**
 * The step library: every node step's code in one file, installed on each node once and run by
 * the steps' stubs (renderStepStub), so that the registered inputs (and the state the engine
 * keeps) carry each step's arguments and a short stub, not the prelude and the step bodies
 * once per step and node. It holds the prelude of renderStepScript (bounds, phase functions,
 * sh/lib.sh, the diagnostics collector) once, then each node step's body as a function
 * `pve_step_<step>` (dashes as underscores). Its name carries its sha256
 * (`steps-<sha256>.sh`), so a changed library is a new file and a changed input of every step.
 */
export interface StepLibrary {
    readonly text: string;
    readonly sha256: string;
    /** `steps-<sha256>.sh` */
    readonly fileName: string;
}

/** The function that runs node step `step` in the step library. */
export function stepFunctionName(step: NodeStep): string {
    return `pve_step_${step.replace(/-/g, "_")}`;
}

let library: StepLibrary | undefined;

export function renderStepLibrary(): StepLibrary {
    if (library) return library;
    const text = [
        "# pve-network-migration step library: the code of every node step. Rendered from components/scripts; do not edit.",
        "# Sourced by a step's stub (renderStepStub) inside its function pve_step_main, after the stub checked",
        "# the file's sha256; the stub then calls parse_args and the step's function.",
        "# One step runs per process, so the bodies of different steps reuse names (an array in one, a string in another):",
        "# SC2030/SC2031/SC2128/SC2178 across them are not bugs. Each step alone is shellcheck-clean without these (renderStepScript).",
        "# shellcheck shell=bash disable=SC2034,SC2317,SC2030,SC2031,SC2128,SC2178",
        renderBoundsPrelude(),
        renderPhaseFunctions(),
        LIB,
        NETWORK,
        renderDiagnosticsFunction(),
        ...LIBRARY_STEPS.map((s) => `${stepFunctionName(s)}() {\n${BODIES[s].replace(/\n?$/, "\n")}}`),
        "",
    ].join("\n");
    const sha256 = crypto.createHash("sha256").update(text, "utf8").digest("hex");
    library = { text, sha256, fileName: `steps-${sha256}.sh` };
    return library;
}

/** The folder of a project (relative to it) where the program writes build output that a transport stages: the step library. */
export const BUILD_DIR = ".pulumi-build";

/** Where the installed step library lives on a node (under its root): root-owned, 0700. */
export const LIBRARY_DIR = "/var/lib/pve-network-rs/lib";
/** Where the library is staged on a node reached over SSH (CopyToRemote writes it as the SSH user, who may not be root). */
export const LIBRARY_STAGING_DIR = "/var/tmp/pve-network-migration";

/** Where one node's steps find the step library. */
export interface LibraryPlace {
    /** The node's root ("/" on a node, the sandbox root locally). */
    readonly root: string;
    /** The staged copy the stub installs from when the installed one is missing or altered (a path on the node). */
    readonly staged: string;
    /** What the operator does when neither copy is intact (the refusal's last words). */
    readonly remedy: string;
}

/** Node path `p` under `root`. */
function underRoot(root: string, p: string): string {
    return root === "/" ? p : `${root.replace(/\/+$/, "")}${p}`;
}

/** The installed library's path on a node with root `root`. */
export function installedLibraryPath(root: string, lib: StepLibrary = renderStepLibrary()): string {
    return underRoot(root, `${LIBRARY_DIR}/${lib.fileName}`);
}

/** Exit status of a step whose library is neither installed nor staged intact on its node (EX_UNAVAILABLE). */
export const LIBRARY_MISSING_EXIT = 69;

/**
 * The script a registered command sends (its stdin), the same for every step of a node: the stub
 * that checks the step library's sha256, installs it from the staged copy when the installed one is missing or altered, and
 * runs the function of the step named by its $0 from it. Nothing of a library that does not match its sha256 runs:
 *
 * - the installed copy (LIBRARY_DIR, root's) is checked with sha256sum and then sourced; bash
 *   reads a sourced file whole before it runs any of it (builtins/evalfile.c _evalfile: one
 *   read(2) of st_size bytes, then parse_and_execute), so what ran is what was checked;
 * - the staged copy (written by the SSH user, possibly not root) is first copied into the root's
 *   folder, and that copy is checked before it is renamed into place (temp file + rename);
 * - when neither matches, the step exits LIBRARY_MISSING_EXIT naming both paths and what to do,
 *   before it takes the lock or writes anything.
 *
 * The stub is a function like renderStepScript's, so bash has read all of it before it runs
 * (stdin then points at /dev/null).
 */
export function renderStepStub(node: string, place: LibraryPlace, lib: StepLibrary = renderStepLibrary()): string {
    const installed = installedLibraryPath(place.root, lib);
    return [
        "#!/bin/bash",
        `# pve-network-migration node steps, from the step library ${lib.fileName} (components/scripts). Rendered; do not edit.`,
        "# The runner starts it once per step, the step's name as $0 (bash -c SCRIPT STEP ARGS...).",
        "pve_step_main() {",
        "exec </dev/null",
        "STEP=$0",
        `case $STEP in ${LIBRARY_STEPS.join("|")}) ;; *) printf 'pve-migration: %s is not a node step\\n' "$STEP" >&2; exit 64 ;; esac`,
        `local pve_lib=${shQuote(installed)} pve_staged=${shQuote(place.staged)} pve_sha=${lib.sha256} pve_node=${shQuote(node)} pve_remedy=${shQuote(place.remedy)} pve_sum pve_tmp="" pve_was pve_staged_was`,
        'pve_sum=$(sha256sum 2>/dev/null < "$pve_lib") || pve_sum=""',
        'if [ "${pve_sum%% *}" != "$pve_sha" ]; then',
        '  pve_was=missing; [ ! -e "$pve_lib" ] || pve_was=altered',
        '  if mkdir -p -- "${pve_lib%/*}" && chmod 0700 -- "${pve_lib%/*}" && pve_tmp=$(mktemp -- "${pve_lib%/*}/.steps.XXXXXX") && cat -- "$pve_staged" > "$pve_tmp" 2>/dev/null &&',
        '    pve_sum=$(sha256sum < "$pve_tmp") && [ "${pve_sum%% *}" = "$pve_sha" ] && chmod 0644 -- "$pve_tmp" && mv -f -- "$pve_tmp" "$pve_lib"; then',
        '    find "${pve_lib%/*}" -maxdepth 1 -name "steps-*.sh" ! -name "${pve_lib##*/}" -delete 2>/dev/null || true',
        '    [ "$pve_was" = missing ] || printf \'pve-migration %s on %s: the installed step library %s did not match its sha256; installed it again from %s\\n\' "$STEP" "$pve_node" "$pve_lib" "$pve_staged" >&2',
        "  else",
        '    [ -z "$pve_tmp" ] || rm -f -- "$pve_tmp"',
        '    pve_staged_was=missing; [ ! -e "$pve_staged" ] || pve_staged_was=altered',
        "    printf 'pve-migration %s on %s: the step library %s is not on this node intact: the installed copy %s is %s and the staged copy %s is %s; nothing ran. %s\\n' " +
            '"$STEP" "$pve_node" "${pve_lib##*/}" "$pve_lib" "$pve_was" "$pve_staged" "$pve_staged_was" "$pve_remedy" >&2',
        `    exit ${LIBRARY_MISSING_EXIT}`,
        "  fi",
        "fi",
        "# shellcheck source=/dev/null",
        '. "$pve_lib"',
        'parse_args "$@"',
        '"pve_step_${STEP//-/_}"',
        "}",
        'pve_step_main "$@"',
        "",
    ].join("\n");
}

/**
 * Write the step library to `<dir>/<fileName>` (atomically: temp file + rename; nothing when an
 * identical file is there) and return its path: the file a transport stages on each node
 * (CopyToRemote's FileAsset, or the staged copy of a sandbox).
 */
export function writeStepLibrary(dir: string, lib: StepLibrary = renderStepLibrary()): string {
    const file = path.join(dir, lib.fileName);
    try {
        if (fs.readFileSync(file, "utf8") === lib.text) return file;
    } catch {
        // absent: written below
    }
    fs.mkdirSync(dir, { recursive: true });
    const tmp = path.join(dir, `.${lib.fileName}.${process.pid}.${crypto.randomBytes(4).toString("hex")}`);
    fs.writeFileSync(tmp, lib.text, { mode: 0o644 });
    fs.renameSync(tmp, file);
    return file;
}

/** POSIX single-quote a value: the shell sees it as one literal word, whatever it holds. */
export function shQuote(value: string): string {
    if (value.includes("\0")) throw new Error("a shell argument cannot contain NUL");
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Arguments of a step: `--name value` pairs, then optional argv after `--`. */
export interface StepArgs {
    readonly options: Readonly<Record<string, string>>;
    readonly argv?: readonly string[];
}

export function stepArgv(args: StepArgs): string[] {
    const out: string[] = [];
    for (const [k, v] of Object.entries(args.options)) {
        if (!/^[a-z0-9-]+$/.test(k)) throw new Error(`bad step option name ${k}`);
        out.push(`--${k}`, v);
    }
    if (args.argv && args.argv.length > 0) out.push("--", ...args.argv);
    return out;
}

/**
 * Seconds between the SIGTERM and the SIGKILL of a step that outlives its time limit
 * (`timeout -k`), so that a command ignoring SIGTERM dies too.
 */
export const STEP_KILL_AFTER_SECONDS = 10;

/**
 * The code of `bash -c` that runs the steps of one command, one after another, each under its
 * own time limit. Arguments: node, kill-after, then per step: step, limit, the number of its
 * arguments, its arguments. Every step is a `bash -c` of the same script (the node's stub, which
 * runs the step named by its $0 from the step library, or a whole step script) with its own
 * arguments; the first step that fails ends the command with its exit status, after a line that
 * names it and the steps not run.
 *
 * GNU timeout (coreutils src/timeout.c: main() calls setpgid (0, 0) unless --foreground;
 * cleanup() sends the signal to the child and then send_sig (0, sig) to the whole group,
 * SIGTERM first and SIGKILL -k seconds later) puts itself and the step in a process group of
 * their own, so bash, its site commands and their children all die and the node lock (held on
 * fd 9 by those processes only) is free for the next step. It exits 124 when the step ended on
 * SIGTERM; when SIGKILL was needed it kills itself with it (137). Either, once the step's limit
 * has passed since it started, becomes 124 with a message naming step and node; a step that the
 * script itself ends with 124 or 137 before the limit is a kill by someone else (70).
 * `--time-limit` tells the script its limit for the decision log. This bash's own stderr is
 * /dev/null (the steps' goes to the real one through fd 3), so bash's report of a child killed
 * by a signal ("line 1: ... Killed") is not printed.
 *
 * The script is read whole first (`$(cat)`, one read per pipe buffer) and run with `bash -c`:
 * `bash -s` reads a script on a pipe one byte per read(2), so that it never consumes input past
 * the command it runs (bash input.c, unbuffered reads on a non-seekable fd), which was about a
 * quarter of a sandbox rollback (bench/results.md). Read whole, a script cut short in transit is
 * a syntax error (pve_step_main is never closed) before anything runs, an empty one is refused
 * (70), and nothing a step runs can read the rest of its script from stdin.
 */
export const STEP_RUNNER = [
    "exec 3>&2 2>/dev/null",
    "script=$(cat)",
    "node=$1 kill=$2",
    "shift 2",
    'if [ -z "$script" ]; then printf \'pve-migration %s on %s: no step script on stdin\\n\' "$1" "$node" >&3; exit 70; fi',
    'while [ "$#" -gt 0 ]; do',
    "  step=$1 limit=$2 n=$3",
    '  if ! shift 3 || [ "$#" -lt "$n" ]; then printf \'pve-migration on %s: malformed step list at %s\\n\' "$node" "$step" >&3; exit 70; fi',
    "  start=$SECONDS",
    '  timeout -k "$kill" "$limit" bash -c "$script" "$step" --time-limit "$limit" "${@:1:$n}" 2>&3 3>&-',
    "  rc=$?",
    '  shift "$n"',
    '  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then',
    '    if [ $((SECONDS - start)) -ge "$limit" ]; then printf \'pve-migration %s on %s: timed out after %s s\\n\' "$step" "$node" "$limit" >&3; rc=124',
    '    else printf \'pve-migration %s on %s: killed by a signal (exit %s)\\n\' "$step" "$node" "$rc" >&3; rc=70; fi',
    "  fi",
    '  if [ "$rc" != 0 ]; then',
    '    rest=""',
    '    while [ "$#" -ge 3 ]; do rest="$rest $1"; n=$3; shift 3; shift "$n" || break; done',
    '    [ -z "$rest" ] || printf \'pve-migration %s on %s: failed (exit %s); not run:%s\\n\' "$step" "$node" "$rc" "$rest" >&3',
    '    exit "$rc"',
    "  fi",
    "done",
].join("\n");
const RUNNER_NAME = "pve-migration-steps";

/** One step of a command: which node script, its time limit, its arguments. */
export interface CommandStep {
    /** The step (names the script and the default limit). */
    readonly step: NodeStep;
    /** Seconds before the step is stopped (1..MAX_STEP_TIMEOUT); default DEFAULT_STEP_TIMEOUTS[step]. */
    readonly timeLimit?: number;
    readonly args: StepArgs;
}

/** How a step's command line runs it. */
export interface StepInvocation {
    /** The step (names the script and the limit). */
    readonly step: NodeStep;
    /** Seconds before the step is stopped (1..MAX_STEP_TIMEOUT); default DEFAULT_STEP_TIMEOUTS[step]. */
    readonly timeLimit?: number;
    /** Run through `sudo -n` (a non-root SSH user). */
    readonly sudo?: boolean;
}

function checkTimeLimit(n: number): void {
    if (!Number.isInteger(n) || n < 1 || n > MAX_STEP_TIMEOUT) throw new Error(`step time limit must be a whole number of seconds, 1..${MAX_STEP_TIMEOUT}: ${n}`);
}

/**
 * The command line that runs `steps` (one node's, in order) with the script given on stdin:
 * `[sudo -n --] bash -c RUNNER pve-migration-steps NODE KILL_AFTER (STEP LIMIT N ARGS...)...`,
 * RUNNER being STEP_RUNNER. sudo stays outside so that the time limits hold for what runs as
 * root; every word is single-quoted.
 */
export function commandLine(steps: readonly CommandStep[], how: { readonly sudo?: boolean } = {}): string {
    if (steps.length === 0) throw new Error("a command runs at least one step");
    const node = steps[0].args.options.node;
    const words = ["bash", "-c", shQuote(STEP_RUNNER), RUNNER_NAME];
    const values: string[] = [];
    for (const s of steps) {
        if (!(NODE_STEPS as readonly string[]).includes(s.step)) throw new Error(`unknown node step ${s.step}`);
        const n = s.args.options.node;
        if (n === undefined) throw new Error(`step ${s.step}: the step arguments name no --node`);
        if (n !== node) throw new Error(`step ${s.step}: --node ${n} differs from the command's node ${node}`);
        const limit = s.timeLimit ?? DEFAULT_STEP_TIMEOUTS[s.step];
        checkTimeLimit(limit);
        const argv = stepArgv(s.args);
        values.push(s.step, String(limit), String(argv.length), ...argv);
    }
    words.push(...[node as string, String(STEP_KILL_AFTER_SECONDS), ...values].map(shQuote));
    const line = (how.sudo ? ["sudo", "-n", "--", ...words] : words).join(" ");
    // The line is one argument of `sh -c` (locally and through sshd): Linux refuses it above MAX_ARG_STRLEN.
    if (Buffer.byteLength(line, "utf8") >= MAX_ARG_STRLEN) {
        throw new Error(
            `steps ${steps.map((s) => s.step).join(", ")} on ${node}: the command line is ${Buffer.byteLength(line, "utf8")} bytes, above the ${MAX_ARG_STRLEN - 1} a shell accepts as one argument`,
        );
    }
    return line;
}

/** The command line of one step (a command of that step alone). */
export function stepCommandLine(args: StepArgs, how: StepInvocation): string {
    return commandLine([{ step: how.step, timeLimit: how.timeLimit, args }], { sudo: how.sudo });
}

/** A registered command line, read back. */
export interface ParsedCommand {
    readonly node: string;
    readonly killAfter: number;
    readonly sudo: boolean;
    readonly steps: readonly { readonly step: NodeStep; readonly timeLimit: number; readonly args: StepArgs }[];
}

function splitWords(line: string): string[] {
    const words: string[] = [];
    const re = /'((?:[^']|'\\'')*)'|(\S+)/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(line)) !== null) words.push(m[1] !== undefined ? m[1].replace(/'\\''/g, "'") : m[2]);
    return words;
}

function parseArgv(argv: readonly string[]): StepArgs {
    const options: Record<string, string> = {};
    let i = 0;
    while (i < argv.length && argv[i] !== "--") {
        const k = argv[i];
        if (!k.startsWith("--") || i + 1 >= argv.length) throw new Error(`not a step command line (bad step option at ${k})`);
        options[k.slice(2)] = argv[i + 1];
        i += 2;
    }
    return i < argv.length ? { options, argv: argv.slice(i + 1) } : { options };
}

/**
 * The inverse of commandLine (for the policy pack, which sees only the registered inputs).
 * Throws on anything commandLine would not have rendered exactly so: the line is rendered again
 * from what was read and must come out the same.
 */
export function parseCommand(line: string): ParsedCommand {
    const bad = () => new Error("not a step command line");
    const words = splitWords(line);
    let i = 0;
    const sudo = words[0] === "sudo";
    if (sudo) {
        if (words[1] !== "-n" || words[2] !== "--") throw bad();
        i = 3;
    }
    if (words[i] !== "bash" || words[i + 1] !== "-c" || words[i + 2] !== STEP_RUNNER || words[i + 3] !== RUNNER_NAME) throw bad();
    const [node, killText] = words.slice(i + 4, i + 6);
    if (killText !== String(STEP_KILL_AFTER_SECONDS)) throw bad();
    i += 6;
    const steps: { step: NodeStep; timeLimit: number; args: StepArgs }[] = [];
    while (i < words.length) {
        const [step, limitText, countText] = words.slice(i, i + 3);
        if (!(NODE_STEPS as readonly string[]).includes(step) || !/^[1-9][0-9]*$/.test(limitText ?? "") || !/^(0|[1-9][0-9]*)$/.test(countText ?? "")) throw bad();
        const n = Number(countText);
        if (i + 3 + n > words.length) throw bad();
        steps.push({ step: step as NodeStep, timeLimit: Number(limitText), args: parseArgv(words.slice(i + 3, i + 3 + n)) });
        i += 3 + n;
    }
    let again: string;
    try {
        again = commandLine(steps, { sudo });
    } catch {
        throw bad();
    }
    if (again !== line || steps.some((s) => s.args.options.node !== node)) throw bad();
    return { node, killAfter: STEP_KILL_AFTER_SECONDS, sudo, steps };
}

/** A registered step command line, read back. */
export interface ParsedStepCommand {
    readonly step: NodeStep;
    readonly node: string;
    readonly timeLimit: number;
    readonly killAfter: number;
    readonly sudo: boolean;
    readonly args: StepArgs;
}

/**
 * The inverse of stepCommandLine (for the policy pack, which sees only the registered
 * inputs). Throws on anything stepCommandLine would not have rendered exactly so: the line is
 * rendered again from what was read and must come out the same.
 */
export function parseStepCommand(line: string): ParsedStepCommand {
    const c = parseCommand(line);
    if (c.steps.length !== 1) throw new Error(`not a command of one step (${c.steps.length} steps)`);
    const [s] = c.steps;
    return { step: s.step, node: c.node, timeLimit: s.timeLimit, killAfter: c.killAfter, sudo: c.sudo, args: s.args };
}

/** The step arguments of a registered step command line (see parseStepCommand). */
export function parseStepCommandLine(line: string): StepArgs {
    return parseStepCommand(line).args;
}
