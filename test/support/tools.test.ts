/**
 * The up-front tool check of the real-system tests (test/support/tools.ts): found on PATH or in
 * the sbin folders, executable regular files only; a missing tool is named with its package.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { findTool, missingTools, requireTools } from "./tools";

let bin: string;
beforeAll(() => {
    bin = fs.mkdtempSync(path.join(os.tmpdir(), "tools-bin-"));
    fs.writeFileSync(path.join(bin, "shellcheck"), "#!/bin/sh\n", { mode: 0o755 });
    fs.writeFileSync(path.join(bin, "promtool"), "not executable\n", { mode: 0o644 });
    fs.mkdirSync(path.join(bin, "strace"));
});
afterAll(() => fs.rmSync(bin, { recursive: true, force: true }));

test("an executable on PATH is found; a file without the x bit and a folder are not", () => {
    expect(findTool("shellcheck", bin)).toBe(path.join(bin, "shellcheck"));
    expect(findTool("promtool", bin)).toBeUndefined();
    expect(findTool("strace", bin)).toBeUndefined();
});

test("each missing tool is one line naming its Debian package", () => {
    expect(missingTools(["shellcheck", "promtool", "strace", "systemd-nspawn", "not-a-tool-xyz"], bin)).toEqual([
        "missing tool promtool (install package prometheus)",
        "missing tool strace (install package strace)",
        "missing tool systemd-nspawn (install package systemd-container)",
        "missing tool not-a-tool-xyz (not a tool this helper knows: add it to TOOL_PACKAGES)",
    ]);
    expect(missingTools([path.join(bin, "promtool"), path.join(bin, "shellcheck")], "")).toEqual([
        `missing tool ${path.join(bin, "promtool")} (install package prometheus)`,
    ]);
});

test("sshd is found in /usr/sbin with a PATH that leaves sbin out (as a non-root PATH does)", () => {
    // The test machine has openssh-server (README "Prerequisites"); requireTools names it otherwise.
    requireTools("/usr/sbin/sshd");
    expect(findTool("sshd", bin)).toBe("/usr/sbin/sshd");
});

test("requireTools throws with every missing tool and where to get them", () => {
    const saved = process.env.PATH;
    process.env.PATH = bin;
    try {
        expect(() => requireTools("shellcheck", "promtool", "git")).toThrow(
            new Error("missing tool promtool (install package prometheus); missing tool git (install package git); .ci/run installs every tool the tests need"),
        );
        expect(() => requireTools("shellcheck")).not.toThrow();
    } finally {
        process.env.PATH = saved;
    }
});
