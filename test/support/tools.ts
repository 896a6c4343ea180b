/**
 * The system tools the real-system tests run, checked up front: a test file calls
 * `requireTools(...)` at its top, and a missing tool fails that file with
 * `missing tool X (install package Y)` instead of an assertion on the null exit status of a
 * spawn that could not start. Found like the shell finds a command (each PATH folder, an
 * executable regular file), plus the sbin folders that a non-root PATH leaves out (sshd). Helm
 * is not here: test/support/helm.ts finds a Helm 3 on PATH or extracts the pinned one, and names
 * the package when there is neither.
 */
import * as fs from "fs";
import * as path from "path";

/** Tool -> the Debian 12 package that ships it (what `.ci/run` installs). */
export const TOOL_PACKAGES = {
    shellcheck: "shellcheck",
    promtool: "prometheus",
    prometheus: "prometheus",
    "systemd-analyze": "systemd",
    systemctl: "systemd",
    "systemd-nspawn": "systemd-container",
    debootstrap: "debootstrap",
    dpkg: "dpkg",
    "dpkg-deb": "dpkg",
    "dpkg-query": "dpkg",
    openssl: "openssl",
    ssh: "openssh-client",
    "ssh-keygen": "openssh-client",
    sshd: "openssh-server",
    git: "git",
    strace: "strace",
    unzip: "unzip",
} as const;

export type Tool = keyof typeof TOOL_PACKAGES;

const SBIN = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

function executable(file: string): boolean {
    try {
        fs.accessSync(file, fs.constants.X_OK);
        return fs.statSync(file).isFile();
    } catch {
        return false;
    }
}

/** Absolute path of `tool` (a name, or an absolute path the test uses as is), or undefined. */
export function findTool(tool: string, pathEnv: string = process.env.PATH ?? ""): string | undefined {
    if (path.isAbsolute(tool)) return executable(tool) ? tool : undefined;
    for (const dir of [...pathEnv.split(path.delimiter), ...SBIN]) {
        if (dir === "" || !path.isAbsolute(dir)) continue;
        const f = path.join(dir, tool);
        if (executable(f)) return f;
    }
    return undefined;
}

/** One line per missing tool: `missing tool X (install package Y)`; empty when all are there. */
export function missingTools(tools: readonly (Tool | string)[], pathEnv?: string): string[] {
    return tools.flatMap((t) => {
        if (findTool(t, pathEnv) !== undefined) return [];
        const pkg = (TOOL_PACKAGES as Record<string, string>)[path.basename(t)];
        return [`missing tool ${t} (${pkg !== undefined ? `install package ${pkg}` : "not a tool this helper knows: add it to TOOL_PACKAGES"})`];
    });
}

/** Throw (failing the test file that calls it at its top) unless every tool is there. */
export function requireTools(...tools: (Tool | string)[]): void {
    const missing = missingTools(tools);
    if (missing.length > 0) throw new Error(`${missing.join("; ")}; .ci/run installs every tool the tests need`);
}
