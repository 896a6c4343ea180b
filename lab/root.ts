/**
 * The node lab's cached Debian 12 root: `debootstrap --variant=minbase` once per machine into a
 * cache folder outside the repository, then provisioned (lab/sh/provision.sh) into a second
 * cached folder. Both names carry the sha256 of their inputs, so a root is reused while its
 * inputs are unchanged and rebuilt when one changes; lab/sh/ensure-root.sh builds each into a
 * temp folder and renames it when complete.
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

export const LAB_CACHE_DIR = process.env.PVE_LAB_CACHE_DIR ?? "/var/cache/pve-migration-lab";
export const SUITE = "bookworm";
/** What the nodes need: systemd as PID 1, sshd, ifupdown2 (with bridge-utils, as on Proxmox VE), sudo, busybox (httpd), and what the steps use. */
export const PACKAGES = [
    "systemd",
    "systemd-sysv",
    "dbus",
    "openssh-server",
    "iproute2",
    "ifupdown2",
    "bridge-utils",
    "sudo",
    "busybox",
    "curl",
    "ca-certificates",
    "procps",
] as const;

const SH_DIR = path.join(__dirname, "sh");
export const ENSURE_ROOT_SCRIPT = path.join(SH_DIR, "ensure-root.sh");
export const PROVISION_SCRIPT = path.join(SH_DIR, "provision.sh");

/**
 * The Debian mirror apt uses on this machine (deb822 `.sources` or one-line `.list` files): the
 * first URI serving `suite` itself (not -security or -updates) with component main.
 */
export function debianMirror(files: readonly { name: string; text: string }[], suite = SUITE): string {
    for (const f of files) {
        if (f.name.endsWith(".sources")) {
            for (const stanza of f.text.split(/\n\s*\n/)) {
                const field = (k: string) => (stanza.match(new RegExp(`^${k}:\\s*(.+)$`, "mi"))?.[1] ?? "").trim().split(/\s+/);
                if (!field("Types").includes("deb") || !field("Suites").includes(suite) || !field("Components").includes("main")) continue;
                const uri = field("URIs").find((u) => /^https?:\/\//.test(u));
                if (uri) return uri;
            }
        } else {
            for (const line of f.text.split("\n")) {
                const m = line.trim().match(/^deb\s+(?:\[[^\]]*\]\s+)?(https?:\/\/\S+)\s+(\S+)\s+(.+)$/);
                if (m && m[2] === suite && m[3].split(/\s+/).includes("main")) return m[1];
            }
        }
    }
    throw new Error(`no Debian mirror for ${suite} (main) in /etc/apt/sources.list or /etc/apt/sources.list.d/*`);
}

export function machineMirror(): string {
    const files: { name: string; text: string }[] = [];
    if (fs.existsSync("/etc/apt/sources.list")) files.push({ name: "sources.list", text: fs.readFileSync("/etc/apt/sources.list", "utf8") });
    const d = "/etc/apt/sources.list.d";
    if (fs.existsSync(d)) {
        for (const n of fs.readdirSync(d).sort()) files.push({ name: n, text: fs.readFileSync(path.join(d, n), "utf8") });
    }
    return debianMirror(files);
}

const sha = (...parts: string[]) => {
    const h = crypto.createHash("sha256");
    for (const p of parts) h.update(`${Buffer.byteLength(p)}:${p}`);
    return h.digest("hex");
};

export interface RootPaths {
    readonly base: string;
    readonly root: string;
}

/** Cache folders for the given inputs: base-<sha256(suite, mirror, packages, build script)>, root-<sha256(base, provision)>. */
export function rootPaths(mirror: string, cacheDir = LAB_CACHE_DIR): RootPaths {
    const builder = fs.readFileSync(ENSURE_ROOT_SCRIPT, "utf8");
    const baseKey = sha("base", SUITE, mirror, PACKAGES.join(","), builder);
    const rootKey = sha("root", baseKey, fs.readFileSync(PROVISION_SCRIPT, "utf8"));
    return { base: path.join(cacheDir, `base-${baseKey}`), root: path.join(cacheDir, `root-${rootKey}`) };
}

export interface EnsuredRoot extends RootPaths {
    /** Whether this call built the debootstrap root / the provisioned root. */
    readonly builtBase: boolean;
    readonly builtRoot: boolean;
    /** Wall time of this call, milliseconds. */
    readonly ms: number;
}

/** The provisioned root, built if missing (bounded: 30 min for a cold debootstrap). */
export function ensureRoot(cacheDir = LAB_CACHE_DIR): EnsuredRoot {
    const mirror = machineMirror();
    const p = rootPaths(mirror, cacheDir);
    const hadBase = fs.existsSync(p.base);
    const hadRoot = fs.existsSync(p.root);
    const started = Date.now();
    if (!hadRoot) {
        const r = spawnSync("bash", [ENSURE_ROOT_SCRIPT, SUITE, mirror, PACKAGES.join(","), p.base, PROVISION_SCRIPT, p.root], {
            encoding: "utf8",
            timeout: 1_800_000,
        });
        if (r.status !== 0) {
            throw new Error(`lab: building the Debian root failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.error?.message || "").trim()}`);
        }
    }
    return { ...p, builtBase: !hadBase, builtRoot: !hadRoot, ms: Date.now() - started };
}
