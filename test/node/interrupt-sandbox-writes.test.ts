/**
 * A sandbox step writes nothing outside its root: every step of a promotion into a write phase
 * and of the rollback out of it (dpkg install and upgrade, systemctl --root, backups, restore,
 * the Perl CLI stand-in, diagnostics bundles, the rules step with promtool) runs under
 * `strace -f`, which records every file system call that creates, writes, renames, removes or
 * changes a path. Every such path must be under the lab folder (the sandbox roots and the
 * step's private TMPDIR and HOME). This would have caught `dpkg --root` appending to the
 * host's /var/log/dpkg.log.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { rulesStepArgs } from "../../components/monitoring";
import { Phase } from "../../components/phases";
import { StepArgs, NodeStep, renderStepScript, stepCommandLine } from "../../components/scripts";
import { waitForPostRollbackBundle } from "../../components/sandbox/run";
import { planFor, scriptOf, stepArgs } from "../../components/steps";
import { makeLab } from "../support/node";
import { requireTools } from "../support/tools";

requireTools("strace", "dpkg-deb");

const SYSCALLS = [
    "chdir",
    "fchdir",
    "clone",
    "clone3",
    "fork",
    "vfork",
    "open",
    "openat",
    "creat",
    "mkdir",
    "mkdirat",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "rmdir",
    "symlink",
    "symlinkat",
    "link",
    "linkat",
    "chmod",
    "fchmod",
    "fchmodat",
    "chown",
    "fchown",
    "fchownat",
    "lchown",
    "truncate",
    "ftruncate",
    "utimensat",
    "mknod",
    "mknodat",
];

/**
 * Paths a strace log (strace -f -y) shows as written: opens for writing (the path strace
 * resolved for the returned descriptor), and the path arguments of the other calls (not a
 * symlink's target, which is its content), relative ones joined to the folder strace shows for
 * their directory descriptor, else to the process's working folder, followed through chdir,
 * fchdir and forks (`mkdir -p` works by chdir). Failed calls wrote nothing.
 */
/**
 * strace -f interleaves processes: a call another process interrupts is printed as
 * `PID call(args <unfinished ...>` and later `PID <... call resumed>rest`. Join each pair into
 * one line, in the order the calls ended.
 */
export function joinResumed(log: string): string[] {
    const pending = new Map<string, string>();
    const out: string[] = [];
    for (const line of log.split("\n")) {
        const u = /^(\d+) +(.*) <unfinished \.\.\.>$/.exec(line);
        if (u) {
            pending.set(u[1], `${u[1]} ${u[2]}`);
            continue;
        }
        const r = /^(\d+) +<\.\.\. \w+ resumed>(.*)$/.exec(line);
        if (r && pending.has(r[1])) {
            out.push(`${pending.get(r[1])}${r[2]}`);
            pending.delete(r[1]);
            continue;
        }
        out.push(line);
    }
    return out;
}

export function writtenPaths(log: string): string[] {
    const out = new Set<string>();
    const cwd = new Map<string, string>();
    for (const line of joinResumed(log)) {
        const m = /^(\d+) +(\w+)\((.*)\) += (-?\d+)(<[^>]*>)?/.exec(line);
        if (!m || Number(m[4]) < 0) continue;
        const [, pid, call, args, ret, fdPath] = m;
        const at = /AT_FDCWD<([^>]*)>/.exec(args);
        if (at) cwd.set(pid, at[1]);
        if (["clone", "clone3", "fork", "vfork"].includes(call)) {
            if (cwd.has(pid)) cwd.set(ret, cwd.get(pid)!);
            continue;
        }
        if (call === "chdir") {
            const d = /^"((?:[^"\\]|\\.)*)"/.exec(args)![1];
            cwd.set(pid, d.startsWith("/") ? path.normalize(d) : path.join(cwd.get(pid) ?? "UNRESOLVED", d));
            continue;
        }
        if (call === "fchdir") {
            const fd = /^\d+<([^>]*)>/.exec(args);
            cwd.set(pid, fd ? fd[1] : "UNRESOLVED");
            continue;
        }
        if (call === "open" || call === "openat" || call === "creat") {
            if (call !== "creat" && !/O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND/.test(args)) continue;
            out.add(fdPath ? fdPath.slice(1, -1) : `UNRESOLVED ${line}`);
            continue;
        }
        if (call === "fchmod" || call === "fchown" || call === "ftruncate") {
            const fd = /^\d+<([^>]*)>/.exec(args);
            out.add(fd ? fd[1] : `UNRESOLVED ${line}`);
            continue;
        }
        // Each path argument: [dirfd<dir>, ]"path".
        const re = /(?:(AT_FDCWD|\d+)<([^>]*)>, )?"((?:[^"\\]|\\.)*)"/g;
        let a: RegExpExecArray | null;
        let first = true;
        while ((a = re.exec(args)) !== null) {
            const isTarget = first && (call === "symlink" || call === "symlinkat");
            first = false;
            if (isTarget) continue;
            const p = a[3];
            const base = a[2] ?? cwd.get(pid);
            if (p.startsWith("/")) out.add(path.normalize(p));
            else if (base !== undefined && base !== "UNRESOLVED") out.add(path.join(base, p));
            else out.add(`UNRESOLVED ${line}`);
        }
    }
    return [...out].sort();
}

test("joinResumed joins a call another process interrupted (strace -f)", () => {
    expect(
        joinResumed(
            ['8988  mkdir(".tmp-x", 0777 <unfinished ...>', '8999  openat(AT_FDCWD</a>, "b", O_RDONLY) = 3</a/b>', "8988  <... mkdir resumed>)          = 0"].join(
                "\n",
            ),
        ),
    ).toEqual(['8999  openat(AT_FDCWD</a>, "b", O_RDONLY) = 3</a/b>', '8988 mkdir(".tmp-x", 0777)          = 0']);
    expect(writtenPaths(['8988 chdir("/r/backups") = 0', '8988  mkdir(".tmp-x", 0777 <unfinished ...>', "8988  <... mkdir resumed>) = 0"].join("\n"))).toEqual([
        "/r/backups/.tmp-x",
    ]);
});

test("writtenPaths reads opens for writing, renames with folders and relative paths, and skips reads and failures", () => {
    const log = [
        '12 openat(AT_FDCWD</tmp/a>, "x", O_WRONLY|O_CREAT|O_TRUNC, 0666) = 3</tmp/a/x>',
        '12 openat(AT_FDCWD</tmp/a>, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3</etc/passwd>',
        '12 openat(AT_FDCWD</tmp/a>, "/var/log/dpkg.log", O_WRONLY|O_CREAT|O_APPEND, 0644) = 4</var/log/dpkg.log>',
        '13 renameat2(AT_FDCWD</tmp/a>, "x", AT_FDCWD</tmp/a>, "/tmp/b/y", RENAME_NOREPLACE) = 0',
        '13 unlinkat(5</tmp/c>, "z", 0) = 0',
        '13 mkdir("/tmp/d", 0777) = -1 EEXIST (File exists)',
        "14 fchmod(3</tmp/a/x>, 0600) = 0",
        '14 symlinkat("/lib/systemd/system/u.service", 6</tmp/e>, "u.service") = 0',
        "14 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|SIGCHLD) = 15",
        '15 chdir("/tmp/f") = 0',
        '15 mkdir("g", 0777) = 0',
        "15 fchdir(7</tmp/h>) = 0",
        '15 mkdir("i", 0777) = 0',
        '16 mkdir("j", 0777) = 0',
    ].join("\n");
    expect(writtenPaths(log)).toEqual([
        "/tmp/a/x",
        "/tmp/b/y",
        "/tmp/c/z",
        "/tmp/e/u.service",
        "/tmp/f/g",
        "/tmp/h/i",
        "/var/log/dpkg.log",
        'UNRESOLVED 16 mkdir("j", 0777) = 0',
    ]);
});

describe("sandbox steps write only inside the lab folder (strace -f of every step)", () => {
    test("promotion to rust-basic-write, a package upgrade, the rollback with restore and legacy apply, and the rules step", () => {
        const lab = makeLab(["pve1"]);
        try {
            const tmp = path.join(lab.dir, "tmp");
            const home = path.join(lab.dir, "home");
            fs.mkdirSync(tmp);
            fs.mkdirSync(home);
            const env = { ...process.env, TMPDIR: tmp, HOME: home };
            const outside = new Set<string>();
            let traced = 0;
            const traceStep = (script: NodeStep, args: StepArgs) => {
                const log = path.join(lab.dir, `strace-${traced++}.log`);
                const line = stepCommandLine(args, { step: script, timeLimit: 120 });
                const r = spawnSync("strace", ["-f", "-qq", "-y", "-e", `trace=${SYSCALLS.join(",")}`, "-e", "signal=none", "-o", log, "/bin/sh", "-c", line], {
                    input: renderStepScript(script),
                    encoding: "utf8",
                    timeout: 120_000,
                    env,
                });
                if (r.status !== 0) throw new Error(`step ${script} failed (${r.status}): ${r.stdout}${r.stderr}`);
                for (const p of writtenPaths(fs.readFileSync(log, "utf8"))) {
                    if (p === "/dev/null" || p === "/dev/tty" || p.startsWith(`${lab.dir}/`)) continue;
                    outside.add(`${script}: ${p}`);
                }
                fs.rmSync(log);
            };
            const chain: [Phase, Phase, string, string?][] = [
                ["perl-only", "perl-only", "0"],
                ["perl-only", "rust-read-only", "a1a1", "0.5.0-1"],
                ["rust-read-only", "rust-basic-write", "a2a2", "0.5.0-1"],
                ["rust-basic-write", "perl-only", "a3a3"],
            ];
            for (const [from, to, tid, version] of chain) {
                const cfg = lab.config(to, { version });
                for (const step of planFor(cfg, from, to).steps) {
                    const node = cfg.nodes.find((n) => n.name === step.node)!;
                    traceStep(scriptOf(step.kind), stepArgs({ cfg, node, from, to }, step.kind, tid));
                }
                if (planFor(cfg, from, to).transition.kind === "rollback") waitForPostRollbackBundle(lab.root("pve1"), tid);
            }
            const cfg = lab.config("perl-only");
            traceStep("rules", rulesStepArgs(cfg.nodes[0], "/etc/prometheus/rules/pve-network.yml", "groups: []\n", true, []));
            // One node, cluster-wide config: perl-only (5 steps), two promotions (6 each), the rollback
            // with both restores and the network confirmation (10), then the rules step.
            expect(traced).toBe(28);
            expect([...outside].sort()).toEqual([]);
            // dpkg's log went to the root.
            expect(fs.readFileSync(path.join(lab.root("pve1"), "var/log/dpkg.log"), "utf8")).toMatch(/ status installed pve-network-rs:amd64 0\.5\.0-1\n/);
        } finally {
            lab.cleanup();
        }
    });
});
