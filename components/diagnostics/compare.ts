/**
 * Compare two diagnostics bundles (for the post-mortem: pre-deploy against
 * post-rollback). Extraction uses the system `tar`; everything after is pure
 * (`compareBundleFiles`) and works on the files of each bundle.
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { BUNDLE_FORMAT } from "../scripts/diagnostics";
import { FILE_HEADERS_ONLY, createTwoFilesPatch } from "diff";

/** Files of one bundle, by path relative to `bundle/`. */
export type BundleFiles = ReadonlyMap<string, Buffer>;

export interface BundleSummary {
    readonly file: string;
    readonly node: string;
    readonly collectedAt: string;
    readonly phase: string;
    readonly root: string;
    readonly lock: string;
}

export interface FileChange {
    readonly path: string;
    /** sha256 before (bundle A); null when added. */
    readonly before: string | null;
    /** sha256 after (bundle B); null when removed. */
    readonly after: string | null;
}

export interface ChangeSet {
    readonly changed: FileChange[];
    readonly added: FileChange[];
    readonly removed: FileChange[];
}

export interface PackageChange {
    readonly name: string;
    /** "0.4.2-1 (install ok installed)" or "not installed". */
    readonly before: string;
    readonly after: string;
}

export interface TextDiff {
    readonly file: string;
    readonly diff: string;
}

export interface BundleComparison {
    readonly a: BundleSummary;
    readonly b: BundleSummary;
    readonly phase: { readonly before: string; readonly after: string; readonly changed: boolean };
    /** Node config files, from config/sha256sums.txt (paths as on the node). */
    readonly config: ChangeSet;
    readonly packages: PackageChange[];
    /** Every file of the bundles except meta.txt (collection time always differs). */
    readonly files: ChangeSet;
    /** Unified diffs of the changed, added and removed small text files. */
    readonly textDiffs: TextDiff[];
}

export class BundleError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "BundleError";
    }
}

/** Files whose change says nothing (the time of collection). */
const VOLATILE_BUNDLE_FILES = new Set(["meta.txt"]);
const MAX_TEXT_DIFF_BYTES = 64 * 1024;

function sha256(b: Buffer): string {
    return crypto.createHash("sha256").update(b).digest("hex");
}

function text(files: BundleFiles, p: string): string | undefined {
    return files.get(p)?.toString("utf8");
}

function metaField(files: BundleFiles, key: string): string {
    for (const line of (text(files, "meta.txt") ?? "").split("\n")) {
        if (line.startsWith(`${key}=`)) return line.slice(key.length + 1);
    }
    return "";
}

export function summarise(file: string, files: BundleFiles): BundleSummary {
    return {
        file,
        node: text(files, "node.txt") ?? "",
        collectedAt: metaField(files, "collected_at"),
        phase: (text(files, "phase.txt") ?? "unknown (no phase.txt)").trim(),
        root: metaField(files, "root"),
        lock: metaField(files, "lock"),
    };
}

/** `<sha256>  <path>` / `MISSING  <path>` lines: path -> sha256 or null (missing). */
export function parseChecksums(t: string): Map<string, string | null> {
    const m = new Map<string, string | null>();
    for (const line of t.split("\n")) {
        const r = /^([0-9a-f]{64}|MISSING) {2}(.+)$/.exec(line);
        if (r) m.set(r[2], r[1] === "MISSING" ? null : r[1]);
    }
    return m;
}

/** `name<TAB>version<TAB>status` lines: name -> "version (status)" or "not installed". */
export function parsePackages(t: string): Map<string, string> {
    const m = new Map<string, string>();
    for (const line of t.split("\n")) {
        const f = line.split("\t");
        if (f.length < 3 || f[0] === "") continue;
        m.set(f[0], f[2] === "not-installed" ? "not installed" : `${f[1]} (${f.slice(2).join("\t")})`);
    }
    return m;
}

function changeSet(before: Map<string, string | null>, after: Map<string, string | null>): ChangeSet {
    const cs: ChangeSet = { changed: [], added: [], removed: [] };
    const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
    for (const k of keys) {
        const a = before.has(k) ? before.get(k)! : null;
        const b = after.has(k) ? after.get(k)! : null;
        if (a === b) continue;
        if (a === null) cs.added.push({ path: k, before: null, after: b });
        else if (b === null) cs.removed.push({ path: k, before: a, after: null });
        else cs.changed.push({ path: k, before: a, after: b });
    }
    return cs;
}

function isSmallText(b: Buffer | undefined): boolean {
    return b === undefined || (b.length <= MAX_TEXT_DIFF_BYTES && !b.includes(0));
}

/** Compare two bundles' files (pure). */
export function compareBundleFiles(aName: string, a: BundleFiles, bName: string, b: BundleFiles): BundleComparison {
    for (const [name, files] of [
        [aName, a],
        [bName, b],
    ] as const) {
        const fmt = text(files, "FORMAT")?.trim();
        if (fmt !== BUNDLE_FORMAT)
            throw new BundleError(`${name}: not a diagnostics bundle (FORMAT ${JSON.stringify(fmt ?? null)}, expected ${JSON.stringify(BUNDLE_FORMAT)})`);
    }
    const sa = summarise(aName, a);
    const sb = summarise(bName, b);
    const hashes = (f: BundleFiles) =>
        new Map<string, string | null>([...f.entries()].filter(([p]) => !VOLATILE_BUNDLE_FILES.has(p)).map(([p, buf]) => [p, sha256(buf)]));
    const files = changeSet(hashes(a), hashes(b));
    const config = changeSet(parseChecksums(text(a, "config/sha256sums.txt") ?? ""), parseChecksums(text(b, "config/sha256sums.txt") ?? ""));
    const pa = parsePackages(text(a, "packages/versions.txt") ?? "");
    const pb = parsePackages(text(b, "packages/versions.txt") ?? "");
    const packages: PackageChange[] = [...new Set([...pa.keys(), ...pb.keys()])]
        .sort()
        .map((name) => ({ name, before: pa.get(name) ?? "not recorded", after: pb.get(name) ?? "not recorded" }))
        .filter((p) => p.before !== p.after);
    const textDiffs: TextDiff[] = [];
    for (const c of [...files.changed, ...files.added, ...files.removed].sort((x, y) => (x.path < y.path ? -1 : 1))) {
        const ba = a.get(c.path);
        const bb = b.get(c.path);
        if (!isSmallText(ba) || !isSmallText(bb)) continue;
        const [ta, tb] = [ba?.toString("utf8") ?? "", bb?.toString("utf8") ?? ""];
        const diff =
            ta === tb
                ? ""
                : createTwoFilesPatch(ba ? `a/${c.path}` : "/dev/null", bb ? `b/${c.path}` : "/dev/null", ta, tb, undefined, undefined, {
                      context: 3,
                      headerOptions: FILE_HEADERS_ONLY,
                  });
        if (diff !== "") textDiffs.push({ file: c.path, diff });
    }
    return {
        a: sa,
        b: sb,
        phase: { before: sa.phase, after: sb.phase, changed: sa.phase !== sb.phase },
        config,
        packages,
        files,
        textDiffs,
    };
}

/** List, check and extract a bundle; return its files. Only regular files and folders under bundle/. */
export function readBundle(tarball: string): Map<string, Buffer> {
    if (!fs.existsSync(tarball)) throw new BundleError(`${tarball}: no such file`);
    const list = spawnSync("tar", ["-tvzf", tarball], { encoding: "utf8" });
    if (list.status !== 0) throw new BundleError(`${tarball}: not a readable .tar.gz: ${list.stderr.trim()}`);
    const names = spawnSync("tar", ["-tzf", tarball], { encoding: "utf8" })
        .stdout.split("\n")
        .filter((l) => l !== "");
    const types = list.stdout
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => l[0]);
    if (names.length !== types.length) throw new BundleError(`${tarball}: unexpected tar listing`);
    names.forEach((n, i) => {
        if (!(n === "bundle/" || n.startsWith("bundle/")) || n.split("/").includes(".."))
            throw new BundleError(`${tarball}: member ${JSON.stringify(n)} is outside bundle/`);
        if (types[i] !== "-" && types[i] !== "d") throw new BundleError(`${tarball}: member ${JSON.stringify(n)} is not a regular file or folder`);
    });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pve-bundle-"));
    try {
        const x = spawnSync("tar", ["-xzf", tarball, "-C", dir, "--no-same-owner", "--no-same-permissions"], { encoding: "utf8" });
        if (x.status !== 0) throw new BundleError(`${tarball}: extraction failed: ${x.stderr.trim()}`);
        const files = new Map<string, Buffer>();
        const walk = (rel: string) => {
            for (const e of fs.readdirSync(path.join(dir, "bundle", rel), { withFileTypes: true })) {
                const r = rel === "" ? e.name : `${rel}/${e.name}`;
                if (e.isDirectory()) walk(r);
                else if (e.isFile()) files.set(r, fs.readFileSync(path.join(dir, "bundle", r)));
            }
        };
        if (!fs.existsSync(path.join(dir, "bundle"))) throw new BundleError(`${tarball}: no bundle/ folder`);
        walk("");
        return files;
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** Extract both bundles and compare them. */
export function compareBundles(a: string, b: string): BundleComparison {
    return compareBundleFiles(a, readBundle(a), b, readBundle(b));
}

const short = (h: string | null) => (h === null ? "-" : h.slice(0, 12));

/** Text report of a comparison. */
export function formatComparison(c: BundleComparison): string {
    const out: string[] = [];
    const side = (tag: string, s: BundleSummary) =>
        `${tag}: ${s.file}\n   node ${s.node}, collected ${s.collectedAt || "?"}, phase ${s.phase}, root ${s.root || "?"}, lock ${s.lock || "?"}`;
    out.push(side("A", c.a), side("B", c.b), "");
    out.push(c.phase.changed ? `phase: ${c.phase.before} -> ${c.phase.after}` : `phase: ${c.phase.before} (unchanged)`);
    const cs = (title: string, s: ChangeSet) => {
        const n = s.changed.length + s.added.length + s.removed.length;
        if (n === 0) {
            out.push(`${title}: no change`);
            return;
        }
        out.push(`${title}:`);
        for (const f of s.changed) out.push(`  changed  ${f.path}  ${short(f.before)} -> ${short(f.after)}`);
        for (const f of s.added) out.push(`  added    ${f.path}  ${short(f.after)}`);
        for (const f of s.removed) out.push(`  removed  ${f.path}  ${short(f.before)}`);
    };
    cs("node config files (sha256)", c.config);
    if (c.packages.length === 0) out.push("packages: no change");
    else {
        out.push("packages:");
        for (const p of c.packages) out.push(`  ${p.name}: ${p.before} -> ${p.after}`);
    }
    cs("bundle files", c.files);
    if (c.textDiffs.length > 0) {
        out.push("", "diffs:");
        for (const d of c.textDiffs) out.push(d.diff.replace(/\n$/, ""));
    }
    return out.join("\n") + "\n";
}
