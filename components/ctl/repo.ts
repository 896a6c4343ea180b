/**
 * The repository migration-ctl works on: stack files in the working tree and at a git
 * revision, evidence files. All git calls go through execFileSync with an argument list
 * (no shell) and `--end-of-options` before any user-given revision.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { UsageError } from "../../cli/errors";
import { writeFileAtomic } from "../gates/files";
import { CtlError, EXIT } from "./errors";
import { StackConfig } from "../config/schema";
import { STACK_NAME_RE, StackFile, StackFileError, parseStackFile, stackConfigOf, stackFileExitCode, stackFileRel } from "../config/stackfile";

export const STACKS_DIR = "stacks";
const STACK_FILE_RE = /^Pulumi\.([A-Za-z0-9][A-Za-z0-9._-]*)\.yaml$/;

function git(repo: string, args: string[]): { ok: true; out: string } | { ok: false; err: string } {
    try {
        const out = execFileSync("git", ["-C", repo, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
        return { ok: true, out };
    } catch (e) {
        const err = e as { stderr?: string; message: string };
        return { ok: false, err: (err.stderr || err.message).trim().split("\n")[0] ?? "" };
    }
}

/** `--repo` when given, else the git top level of `cwd`, else `cwd`. */
export function findRepo(cwd: string, repoFlag?: string): string {
    if (repoFlag !== undefined) {
        const dir = path.resolve(cwd, repoFlag);
        if (!fs.existsSync(path.join(dir, STACKS_DIR))) {
            throw new UsageError(`--repo: ${dir} has no ${STACKS_DIR}/ folder`);
        }
        return dir;
    }
    const top = git(cwd, ["rev-parse", "--show-toplevel"]);
    return top.ok && top.out.trim() !== "" ? top.out.trim() : cwd;
}

/** Stack names with a `stacks/Pulumi.<stack>.yaml` in the working tree, sorted. */
export function listStacks(repo: string): string[] {
    let names: string[];
    try {
        names = fs.readdirSync(path.join(repo, STACKS_DIR));
    } catch (e) {
        throw new CtlError(EXIT.IO, `cannot list ${path.join(repo, STACKS_DIR)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return names.flatMap((n) => STACK_FILE_RE.exec(n)?.[1] ?? []).sort();
}

/** Check `--stack`: a known stack name, else CtlError(UNKNOWN_STACK) listing the known ones. */
export function checkStackName(repo: string, stack: string): void {
    const known = listStacks(repo);
    if (!STACK_NAME_RE.test(stack) || !known.includes(stack)) {
        throw new CtlError(
            EXIT.UNKNOWN_STACK,
            `unknown stack ${JSON.stringify(stack)}: no ${stackFileRel(stack)} in ${repo} (stacks: ${known.join(", ") || "none"})`,
        );
    }
}

export function readStackText(repo: string, stack: string): string {
    checkStackName(repo, stack);
    const file = path.join(repo, stackFileRel(stack));
    try {
        return fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new CtlError(EXIT.IO, `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
}

/** A stack file as migration-ctl reads it: the one reader's view, and the typed config or its errors. */
export interface LoadedStack extends StackFile {
    /** The typed config; undefined when invalid (see errors). */
    readonly config?: StackConfig;
    /** Config errors, each naming the file and the key (`stacks/Pulumi.x.yaml: pve-migration:nodes[0].name: ...`). */
    readonly errors: readonly string[];
    /** Things migration-ctl did not check: the placeholder secrets (it never decrypts one). */
    readonly notes: readonly string[];
}

/**
 * Read a stack file's text (components/config/stackfile.ts, then parseStackConfig). Malformed
 * YAML throws CtlError(MALFORMED_YAML), a file that is no stack file CtlError(INVALID_CONFIG);
 * an invalid config does not throw: `config` is undefined and `errors` says why.
 */
export function loadStack(text: string, stack: string, projectDir: string, file = stackFileRel(stack)): LoadedStack {
    let sf: StackFile;
    try {
        sf = parseStackFile(text, stack, file, projectDir);
    } catch (e) {
        if (e instanceof StackFileError) throw new CtlError(stackFileExitCode(e), e.message);
        throw e;
    }
    const r = stackConfigOf(sf);
    return r.ok ? { ...sf, config: r.config, errors: [], notes: sf.placeholders } : { ...sf, errors: r.errors.map((x) => `${file}: ${x}`), notes: sf.placeholders };
}

/** The config, or a CtlError(INVALID_CONFIG) listing why there is none. */
export function requireConfig(s: LoadedStack): StackConfig {
    if (s.config) return s.config;
    throw new CtlError(EXIT.INVALID_CONFIG, `${s.file}: invalid stack config (${s.errors.length} error(s)); nothing written`, s.errors);
}

/** Read and parse one stack of the working tree (unknown stack and malformed YAML throw). */
export function readStack(repo: string, stack: string): LoadedStack {
    return loadStack(readStackText(repo, stack), stack, repo);
}

/** Write a stack file atomically (temp file + rename), keeping its mode. */
export function writeStackText(repo: string, stack: string, text: string): void {
    const file = path.join(repo, stackFileRel(stack));
    try {
        const mode = fs.statSync(file).mode & 0o777;
        writeFileAtomic(file, text, mode);
    } catch (e) {
        throw new CtlError(EXIT.IO, `cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
}

/** Read a file of the working tree by its repository-relative path; undefined when absent. */
export function readRepoFile(repo: string, rel: string): string | undefined {
    try {
        return fs.readFileSync(path.join(repo, rel), "utf8");
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw new CtlError(EXIT.IO, `cannot read ${rel}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
}

/** Resolve a revision to a commit id; an unknown revision is CtlError(UNKNOWN_REV). */
export function resolveRev(repo: string, rev: string, flag = "--base"): string {
    if (rev === "" || rev.startsWith("-") || /[\0\n]/.test(rev)) {
        throw new CtlError(EXIT.UNKNOWN_REV, `${flag}: ${JSON.stringify(rev)} is not a git revision`);
    }
    const inside = git(repo, ["rev-parse", "--is-inside-work-tree"]);
    if (!inside.ok) throw new CtlError(EXIT.UNKNOWN_REV, `${flag} ${rev}: ${repo} is not a git repository`);
    const r = git(repo, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${rev}^{commit}`]);
    if (!r.ok || r.out.trim() === "") {
        const ref = remoteRef(repo, rev);
        const hint = ref === undefined ? "" : `; ${rev} is not fetched in this clone (a single-branch clone?): git fetch ${ref.remote} ${ref.refspec}`;
        throw new CtlError(EXIT.UNKNOWN_REV, `${flag}: unknown git revision ${JSON.stringify(rev)} in ${repo}${hint}`);
    }
    return r.out.trim();
}

/** `<remote>/<branch>` of a configured remote: the refspec that fetches it as a remote-tracking branch. */
function remoteRef(repo: string, rev: string): { remote: string; refspec: string } | undefined {
    const m = /^([^/]+)\/(.+)$/.exec(rev);
    const remotes = git(repo, ["remote"]);
    if (!m || !remotes.ok || !remotes.out.split("\n").includes(m[1])) return undefined;
    return { remote: m[1], refspec: `+refs/heads/${m[2]}:refs/remotes/${m[1]}/${m[2]}` };
}

export interface MergeBase {
    /** The newest commit both HEAD and the base have: what the branch was made from (or last merged). */
    readonly sha: string;
    /** Commits on the base since the merge base (the branch is behind by these). */
    readonly behind: number;
}

/**
 * The merge base of HEAD and `sha` (the base as the branch saw it), and how far the base moved
 * on since. No merge base (a shallow clone, unrelated histories) is CtlError(UNKNOWN_REV).
 */
export function mergeBase(repo: string, rev: string, sha: string, flag = "--base"): MergeBase {
    const mb = git(repo, ["merge-base", "--end-of-options", "HEAD", sha]);
    if (!mb.ok || mb.out.trim() === "") {
        const shallow = git(repo, ["rev-parse", "--is-shallow-repository"]);
        const ref = remoteRef(repo, rev);
        const why =
            shallow.ok && shallow.out.trim() === "true"
                ? `this clone is shallow: fetch the history, e.g. git fetch --unshallow${ref ? ` ${ref.remote} ${ref.refspec}` : ""}`
                : `their histories are unrelated: give the branch this one was made from`;
        throw new CtlError(EXIT.UNKNOWN_REV, `${flag} ${rev}: HEAD and ${rev} have no common commit in ${repo} (${why})`);
    }
    const base = mb.out.trim();
    const count = git(repo, ["rev-list", "--count", `${base}..${sha}`]);
    if (!count.ok) throw new CtlError(EXIT.IO, `git rev-list --count ${base}..${sha}: ${count.err}`);
    return { sha: base, behind: Number(count.out.trim()) };
}

/** The stack files at commit `sha` (stack name -> text). */
export function stacksAtRev(repo: string, sha: string): Map<string, string> {
    const ls = git(repo, ["ls-tree", "--name-only", sha, "--", `${STACKS_DIR}/`]);
    if (!ls.ok) throw new CtlError(EXIT.IO, `git ls-tree ${sha} ${STACKS_DIR}/: ${ls.err}`);
    const out = new Map<string, string>();
    for (const line of ls.out.split("\n")) {
        const m = STACK_FILE_RE.exec(path.posix.basename(line));
        if (!m || path.posix.dirname(line) !== STACKS_DIR) continue;
        const show = git(repo, ["show", `${sha}:./${line}`]);
        if (!show.ok) throw new CtlError(EXIT.IO, `git show ${sha}:${line}: ${show.err}`);
        out.set(m[1], show.out);
    }
    return out;
}

/** The text of one stack file at `sha`; undefined when the stack has no file there. */
export function stackTextAtRev(repo: string, sha: string, stack: string): string | undefined {
    return stacksAtRev(repo, sha).get(stack);
}

/** Which version of a stack file a saved plan was made from. */
export interface StackFileIdentity {
    /** Repository-relative path. */
    readonly file: string;
    /** sha256 of its text. */
    readonly sha256: string;
    /** The last commit that changed it (null: not a git repository, or never committed). */
    readonly commit: string | null;
    /** It differs from that commit (uncommitted changes). */
    readonly dirty: boolean;
    /** The commit checked out (null: not a git repository, or no commit yet). */
    readonly head: string | null;
}

/** The identity of `stacks/Pulumi.<stack>.yaml` in `repo` now. */
export function stackFileIdentity(repo: string, stack: string): StackFileIdentity {
    const file = stackFileRel(stack);
    const text = readStackText(repo, stack);
    const sha256 = crypto.createHash("sha256").update(text).digest("hex");
    const last = git(repo, ["log", "-1", "--format=%H", "--", file]);
    const commit = last.ok && last.out.trim() !== "" ? last.out.trim() : null;
    const status = git(repo, ["status", "--porcelain", "--", file]);
    const head = git(repo, ["rev-parse", "--verify", "--quiet", "HEAD"]);
    return { file, sha256, commit, dirty: commit === null || (status.ok && status.out.trim() !== ""), head: head.ok ? head.out.trim() : null };
}
