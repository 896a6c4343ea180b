/**
 * Host-side helpers of the node lab: required tools, processes, mounts, the lab bridge.
 * Every command runs with an argument vector (never a shell line) and a time bound.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

export const BRIDGE = "pvelab0";
export const SUBNET_PREFIX = "10.181.0";
export const HOST_ADDRESS = `${SUBNET_PREFIX}.1`;

/** The tools the lab runs on the host, with the Debian package that provides each. */
const TOOLS: readonly [string, string][] = [
    ["systemd-nspawn", "systemd-container"],
    ["debootstrap", "debootstrap"],
    ["ssh", "openssh-client"],
    ["ssh-keygen", "openssh-client"],
    ["nsenter", "util-linux"],
    ["ip", "iproute2"],
    ["dpkg-deb", "dpkg"],
];

function which(tool: string): boolean {
    const dirs = (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/sbin", "/usr/bin", "/bin"]);
    return dirs.some((d) => d && fs.existsSync(path.join(d, tool)));
}

/** Throws a clear error when not root or when a tool is missing ("install systemd-container"). */
export function checkHost(env: { uid?: number; exists?: (tool: string) => boolean } = {}): void {
    const uid = env.uid ?? (typeof process.getuid === "function" ? process.getuid() : 0);
    if (uid !== 0) {
        throw new Error("lab: the node lab needs root (systemd-nspawn, overlay mounts, a bridge); run it as root");
    }
    const missing = TOOLS.filter(([t]) => !(env.exists ?? which)(t));
    if (missing.length > 0) {
        throw new Error(`lab: ${missing.map(([t, p]) => `${t} is missing: install ${p}`).join("; ")}`);
    }
}

export interface Run {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

export function run(argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): Run {
    const r = spawnSync(argv[0], argv.slice(1), { input: opts.input, encoding: "utf8", timeout: opts.timeoutMs ?? 30_000 });
    return { code: r.error ? null : r.status, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error.message) : "") };
}

export function mustRun(argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): string {
    const r = run(argv, opts);
    if (r.code !== 0) throw new Error(`lab: ${argv.join(" ")} failed (exit ${r.code}): ${r.stderr.trim()}`);
    return r.stdout;
}

/** Write a file atomically (temp file in the same folder, fsync, rename). */
export function writeAtomic(file: string, content: string, mode = 0o644): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.tmp.${process.pid}`;
    const fd = fs.openSync(tmp, "w", mode);
    try {
        fs.writeSync(fd, content);
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
    fs.chmodSync(tmp, mode);
    fs.renameSync(tmp, file);
}

export function isMounted(dir: string): boolean {
    const target = path.resolve(dir);
    return fs
        .readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .some((l) => l.split(" ")[4] === target);
}

/** Mounts at or under `dir`, deepest first. */
export function mountsUnder(dir: string): string[] {
    const base = path.resolve(dir);
    return fs
        .readFileSync("/proc/self/mountinfo", "utf8")
        .split("\n")
        .map((l) => l.split(" ")[4])
        .filter((m): m is string => !!m && (m === base || m.startsWith(`${base}/`)))
        .sort((a, b) => b.length - a.length);
}

/**
 * A live (not zombie) process whose command line satisfies `match`.
 * A process inside execve reads an empty /proc/<pid>/cmdline for a moment: the kernel installs the
 * new mm in exec_mmap() and sets its arg_start/arg_end only later, in create_elf_tables()
 * (fs/exec.c, fs/binfmt_elf.c), and proc_pid_cmdline_read() returns 0 bytes while they are 0.
 * The lab's `sh -c ... exec systemd-nspawn` passes through that window, so an empty command line
 * is read again (up to 200 ms) before it counts; treated as "not ours", it once made the lab
 * report a booting node as exited (CI, stop 24).
 */
export function processAlive(pid: number, match: (argv: string[]) => boolean): boolean {
    for (let tries = 0; ; tries++) {
        let argv: string[];
        try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
            if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return false;
            argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
        } catch {
            return false;
        }
        if (argv.length > 0 || tries >= 40) return match(argv);
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
}

/** systemd-nspawn processes booting a root under `stateDir` (also those a lost state file forgot). */
export function labNspawnPids(stateDir: string): { pid: number; machine: string }[] {
    const out: { pid: number; machine: string }[] = [];
    for (const e of fs.readdirSync("/proc")) {
        if (!/^\d+$/.test(e)) continue;
        let argv: string[];
        try {
            argv = fs.readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0").filter(Boolean);
        } catch {
            continue;
        }
        if (!argv[0] || path.basename(argv[0]) !== "systemd-nspawn") continue;
        const d = argv.indexOf("-D");
        const machine = argv.find((a) => a.startsWith("--machine="))?.slice("--machine=".length);
        if (d >= 0 && argv[d + 1]?.startsWith(`${path.resolve(stateDir)}/`) && machine) out.push({ pid: Number(e), machine });
    }
    return out;
}

/** The container's PID 1 (a child of the nspawn process, in its own PID namespace). */
export function leaderPid(nspawnPid: number): number | undefined {
    let children: string;
    try {
        children = fs.readFileSync(`/proc/${nspawnPid}/task/${nspawnPid}/children`, "utf8");
    } catch {
        return undefined;
    }
    const own = fs.readlinkSync("/proc/self/ns/pid");
    for (const c of children.trim().split(/\s+/).filter(Boolean)) {
        try {
            if (fs.readlinkSync(`/proc/${c}/ns/pid`) !== own) return Number(c);
        } catch {
            /* exited meanwhile */
        }
    }
    return undefined;
}

export function sleep(ms: number): Promise<void> {
    return new Promise((r) => setTimeout(r, ms));
}

export function linkExists(name: string): boolean {
    return fs.existsSync(`/sys/class/net/${name}`);
}

/** Links enslaved to the lab bridge (nspawn's vb-<machine> veths). */
export function bridgePorts(): string[] {
    const d = `/sys/class/net/${BRIDGE}/brif`;
    return fs.existsSync(d) ? fs.readdirSync(d) : [];
}

/** The lab bridge with the host's lab address; nothing is routed or NATed from it. */
export function createBridge(): void {
    if (!linkExists(BRIDGE)) mustRun(["ip", "link", "add", BRIDGE, "type", "bridge"]);
    const addrs = mustRun(["ip", "-br", "addr", "show", "dev", BRIDGE]);
    if (!addrs.includes(`${HOST_ADDRESS}/24`)) mustRun(["ip", "addr", "add", `${HOST_ADDRESS}/24`, "dev", BRIDGE]);
    mustRun(["ip", "link", "set", BRIDGE, "up"]);
}

/** Remove the lab bridge and any veth still attached to it. */
export function deleteBridge(): void {
    for (const port of bridgePorts()) run(["ip", "link", "del", port]);
    if (linkExists(BRIDGE)) mustRun(["ip", "link", "del", BRIDGE]);
}
