/** The machine and code a benchmark ran on, for the results file. */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export interface Machine {
    readonly cpuModel: string;
    /** CPUs this process may use (`nproc`). */
    readonly nproc: number;
    readonly memoryGiB: number;
    readonly node: string;
    readonly os: string;
}

export interface CodeState {
    /** Short commit id, or "unknown" outside a git checkout. */
    readonly commit: string;
    /** Paths under components/, policies/, bench/, index.ts that differ from the commit. */
    readonly uncommitted: string[];
}

export function machine(): Machine {
    let cpuModel = os.cpus()[0]?.model ?? "unknown";
    try {
        const m = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"));
        if (m) cpuModel = m[1].trim();
    } catch {
        // not Linux: os.cpus() is all there is
    }
    let nproc = os.cpus().length;
    try {
        nproc = Number(execFileSync("nproc", { encoding: "utf8" }).trim()) || nproc;
    } catch {
        // no coreutils nproc
    }
    let release = `${os.type()} ${os.release()}`;
    try {
        const m = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(fs.readFileSync("/etc/os-release", "utf8"));
        if (m) release = `${m[1]}, ${os.type()} ${os.release()}`;
    } catch {
        // no os-release
    }
    return { cpuModel, nproc, memoryGiB: os.totalmem() / 2 ** 30, node: process.version, os: release };
}

/** One-minute load average (other work sharing the CPUs skews every timing). */
export function load1(): number {
    return os.loadavg()[0];
}

export function codeState(dir: string): CodeState {
    try {
        const commit = execFileSync("git", ["-C", dir, "rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
        const status = execFileSync("git", ["-C", dir, "status", "--porcelain", "--", "components", "policies", "bench/*.ts", "index.ts"], {
            encoding: "utf8",
            stdio: ["ignore", "pipe", "ignore"],
        });
        const uncommitted = status
            .split("\n")
            .filter((l) => l.trim() !== "")
            .map((l) => l.slice(3));
        return { commit, uncommitted };
    } catch {
        return { commit: "unknown", uncommitted: [] };
    }
}

/** What the measured code is made of (the program, the policies, the harness, the scripts, the pins). */
export const MEASURED_PATHS = [
    "index.ts",
    "Pulumi.yaml",
    "package-lock.json",
    "components",
    "policies",
    "bench",
    "test/support",
    "stacks/Pulumi.prod.yaml",
    "charts/pve-network-rs",
];

/**
 * sha256 (12 hex digits) over the paths and contents of the measured files (node_modules and
 * bench/results.md left out): equal at the start and the end of a run means one code version.
 */
export function sourceDigest(dir: string): string {
    const h = crypto.createHash("sha256");
    const visit = (rel: string) => {
        const abs = path.join(dir, rel);
        if (!fs.existsSync(abs)) return;
        const st = fs.statSync(abs);
        if (st.isDirectory()) {
            for (const e of fs.readdirSync(abs).sort()) if (e !== "node_modules") visit(path.join(rel, e));
        } else if (rel !== path.join("bench", "results.md") && !rel.endsWith(".tmp")) {
            h.update(`${rel}\0`).update(fs.readFileSync(abs)).update("\0");
        }
    };
    MEASURED_PATHS.forEach(visit);
    return h.digest("hex").slice(0, 12);
}
