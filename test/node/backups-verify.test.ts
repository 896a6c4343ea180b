/**
 * Verification accepts only regular files listed in the manifest, and a
 * restore that aborts part-way leaves no staged file in a live folder: removed on every exit
 * path (a failed copy, a refused rename, the time limit) and, after a SIGKILL, by the next run.
 * Real scripts on sandbox roots; a shim of `cp` or `mv` on PATH fails or blocks at a chosen call.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
    backupDir,
    backupLab,
    changeLiveFiles,
    digest,
    killRestoreInside,
    lastLogLine,
    lxcDir,
    perlBackup,
    restore,
    shim,
    stagedFiles,
    step,
} from "../support/backups";
import { Lab } from "../support/node";

const REFUSE = "refusing to restore, nothing changed";

function recordedBackup(): { lab: Lab; name: string; dir: string } {
    const lab = backupLab();
    const name = perlBackup(lab, "b2b2");
    changeLiveFiles(lab);
    return { lab, name, dir: backupDir(lab, name) };
}

describe("every entry that is not a regular file listed in the manifest fails verification", () => {
    // [case, make the entry (the backup folder, a scratch folder outside it), problem]
    const kinds: [string, (dir: string, scratch: string) => void, string][] = [
        [
            "a symlink to /etc/shadow as a container config",
            (d) => fs.symlinkSync("/etc/shadow", path.join(d, "lxc/666.conf")),
            "holds lxc/666.conf, which is not a regular file (find type l)",
        ],
        [
            "interfaces replaced by a symlink to a file of the same content (its checksum still matches)",
            (d, s) => {
                fs.copyFileSync(path.join(d, "interfaces"), path.join(s, "same"));
                fs.rmSync(path.join(d, "interfaces"));
                fs.symlinkSync(path.join(s, "same"), path.join(d, "interfaces"));
            },
            "holds interfaces, which is not a regular file (find type l)",
        ],
        [
            "the lxc folder replaced by a symlink to a copy",
            (d, s) => {
                fs.cpSync(path.join(d, "lxc"), path.join(s, "lxc"), { recursive: true });
                fs.rmSync(path.join(d, "lxc"), { recursive: true });
                fs.symlinkSync(path.join(s, "lxc"), path.join(d, "lxc"));
            },
            "holds lxc, which is not a regular file (find type l)",
        ],
        ["a dangling symlink", (d) => fs.symlinkSync("/nonexistent", path.join(d, "lxc/667.conf")), "holds lxc/667.conf, which is not a regular file (find type l)"],
        ["a fifo", (d) => execFileSync("mkfifo", [path.join(d, "lxc/668.conf")]), "holds lxc/668.conf, which is not a regular file (find type p)"],
        [
            "a unix socket",
            (d) => execFileSync("python3", ["-c", "import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])", path.join(d, "sock")]),
            "holds sock, which is not a regular file (find type s)",
        ],
        [
            "a character device",
            (d) => execFileSync("mknod", [path.join(d, "lxc/669.conf"), "c", "1", "3"]),
            "holds lxc/669.conf, which is not a regular file (find type c)",
        ],
        ["a block device", (d) => execFileSync("mknod", [path.join(d, "blk"), "b", "7", "0"]), "holds blk, which is not a regular file (find type b)"],
        ["an extra folder", (d) => fs.mkdirSync(path.join(d, "extra")), "holds extra, which is not a regular file (find type d)"],
        ["a folder inside lxc", (d) => fs.mkdirSync(path.join(d, "lxc/sub.conf")), "holds lxc/sub.conf, which is not a regular file (find type d)"],
        [
            "a file inside a folder inside lxc",
            (d) => {
                fs.mkdirSync(path.join(d, "lxc/sub"));
                fs.writeFileSync(path.join(d, "lxc/sub/x.conf"), "");
            },
            "holds lxc/sub, which is not a regular file (find type d)",
        ],
        [
            "a hard link to a file outside the backup",
            (d, s) => {
                fs.copyFileSync(path.join(d, "lxc/101.conf"), path.join(s, "101.conf"));
                fs.rmSync(path.join(d, "lxc/101.conf"));
                fs.linkSync(path.join(s, "101.conf"), path.join(d, "lxc/101.conf"));
            },
            "holds lxc/101.conf, which has 2 hard links",
        ],
        [
            "two names of one file inside the backup",
            (d) => fs.linkSync(path.join(d, "lxc/101.conf"), path.join(d, "lxc/106.conf")),
            "holds lxc/101.conf, which has 2 hard links",
        ],
        ["a regular file of a name no backup has", (d) => fs.writeFileSync(path.join(d, "shadow"), "x"), "holds shadow, which is not a file a backup has"],
        [
            "a file under lxc that is not a .conf",
            (d) => fs.writeFileSync(path.join(d, "lxc/notes.txt"), "x"),
            "holds lxc/notes.txt, which is not a file a backup has",
        ],
        [
            "the manifest itself a symlink to a copy",
            (d, s) => {
                fs.copyFileSync(path.join(d, "MANIFEST.sha256"), path.join(s, "m"));
                fs.rmSync(path.join(d, "MANIFEST.sha256"));
                fs.symlinkSync(path.join(s, "m"), path.join(d, "MANIFEST.sha256"));
            },
            "has no manifest (MANIFEST.sha256)",
        ],
    ];

    test.each(kinds)("%s: restore refuses, nothing changed; a snapshot re-run takes the backup again", (_name, make, problem) => {
        const { lab, name, dir } = recordedBackup();
        const scratch = fs.mkdtempSync(path.join(lab.dir, "scratch-"));
        try {
            make(dir, scratch);
            const before = digest(lab);
            const r = restore(lab);
            const message = `backup ${name} (recorded in ${path.join(lab.root("pve1"), "var/lib/pve-network-rs/perl-backup")}) ${problem}: ${REFUSE}`;
            expect([r.status, r.stderr]).toEqual([65, `pve-migration restore on pve1: ${message}\n`]);
            expect(lastLogLine(lab).endsWith(` step=restore result=failed detail=${message}`)).toBe(true);
            expect(digest(lab)).toEqual(before);
            // The snapshot of that transition sees a backup that does not verify: it is replaced.
            const s = step(lab.config("rust-basic-write"), "snapshot", "pve1", "rust-read-only", "rust-basic-write", "b2b2");
            expect(s.status).toBe(0);
            expect(s.stdout).toMatch(/result=changed detail=backup \d{8}T\d{6}Z-b2b2 taken \(8 files\); pruned 0/);
        } finally {
            lab.cleanup();
        }
    });
});

describe("an aborted restore leaves no staged file in a live folder", () => {
    // The rollback restores 6 node files (interfaces, lxc/101..105.conf): 6 cp calls (staging), then 6 mv calls (renames).
    const live = (lab: Lab) => ({
        interfaces: fs.readFileSync(path.join(lab.root("pve1"), "etc/network/interfaces"), "utf8"),
        lxc: fs.readdirSync(lxcDir(lab)).map((f) => fs.readFileSync(path.join(lxcDir(lab), f), "utf8")),
    });
    const restored = (lab: Lab, dir: string) => ({
        interfaces: fs.readFileSync(path.join(dir, "interfaces"), "utf8"),
        lxc: fs.readdirSync(path.join(dir, "lxc")).map((f) => fs.readFileSync(path.join(dir, "lxc", f), "utf8")),
    });

    test.each([1, 3, 6])("the copy into staging fails at file %i (a full disk): exit 73, nothing staged left, live files unchanged", (nth) => {
        const { lab } = recordedBackup();
        const sh = shim("cp", nth, "fail");
        try {
            const before = digest(lab);
            const r = restore(lab, { env: sh.env });
            expect(r.status).toBe(73);
            expect(r.stderr).toMatch(/^pve-migration restore on pve1: cannot stage \/\S+\n$/);
            expect(stagedFiles(lab)).toEqual([]);
            expect(digest(lab)).toEqual(before);
        } finally {
            fs.rmSync(sh.dir, { recursive: true, force: true });
            lab.cleanup();
        }
    });

    test.each([1, 2, 6])("rename %i is refused: exit 73, nothing staged left; the next run completes the restore", (nth) => {
        const { lab, dir } = recordedBackup();
        const sh = shim("mv", nth, "fail");
        try {
            const r = restore(lab, { env: sh.env });
            expect(r.status).toBe(73);
            expect(r.stderr).toMatch(/^pve-migration restore on pve1: cannot rename the staged file over \/\S+\n$/);
            expect(stagedFiles(lab)).toEqual([]);
            const again = restore(lab);
            expect(again.status).toBe(0);
            expect(again.stdout).toContain(`detail=restored ${7 - nth} node file(s) from backup`);
            expect(live(lab)).toEqual(restored(lab, dir));
            expect(stagedFiles(lab)).toEqual([]);
        } finally {
            fs.rmSync(sh.dir, { recursive: true, force: true });
            lab.cleanup();
        }
    });

    test.each([
        ["cp", 1],
        ["cp", 4],
        ["mv", 1],
        ["mv", 5],
    ] as const)("SIGKILL inside %s call %i: staged files are left, and the next run removes them and completes", async (cmd, nth) => {
        const { lab, dir } = recordedBackup();
        try {
            await killRestoreInside(lab, cmd, nth);
            // Staged: the files copied so far (cp) or not yet renamed (mv).
            expect(stagedFiles(lab)).toHaveLength(cmd === "cp" ? nth : 6 - (nth - 1));
            const r = restore(lab);
            expect(r.status).toBe(0);
            expect(stagedFiles(lab)).toEqual([]);
            expect(live(lab)).toEqual(restored(lab, dir));
            // The lock died with the killed step; a third run has nothing to do.
            expect(restore(lab).stdout).toContain("result=unchanged detail=node files already match backup");
        } finally {
            lab.cleanup();
        }
    });

    test("the step's time limit strikes while staging (SIGTERM): exit 124, nothing staged left", () => {
        const { lab } = recordedBackup();
        const sh = shim("cp", 3, "block");
        try {
            const before = digest(lab);
            const r = restore(lab, { env: sh.env, timeLimit: 2 });
            expect(r.status).toBe(124);
            // bash reports its foreground cp dying of SIGTERM ("Terminated"), then the runner names the limit.
            expect(r.stderr).toBe("Terminated\npve-migration restore on pve1: timed out after 2 s\n");
            expect(lastLogLine(lab)).toMatch(/ step=restore result=failed detail=timed out after 2 s \(the step's time limit\)$/);
            expect(stagedFiles(lab)).toEqual([]);
            expect(digest(lab)).toEqual(before);
        } finally {
            fs.rmSync(sh.dir, { recursive: true, force: true });
            lab.cleanup();
        }
    });

    test("staged files of the older naming (.<name>.restore.XXXXXX) and of the cluster part are removed by the next run of their part", () => {
        const { lab } = recordedBackup();
        try {
            const leftovers = [
                path.join(lab.root("pve1"), "etc/network/.interfaces.restore.AbC123"),
                path.join(lxcDir(lab), ".101.conf.restore.XyZ789"),
                path.join(lxcDir(lab), ".pve-restore.Q1w2E3"),
            ];
            const cluster = path.join(lab.sandbox, "cluster-pve/.pve-restore.R4t5Y6");
            for (const f of [...leftovers, cluster]) fs.writeFileSync(f, "staged");
            expect(restore(lab).status).toBe(0);
            expect(leftovers.filter((f) => fs.existsSync(f))).toEqual([]);
            expect(fs.existsSync(cluster)).toBe(true);
            expect(restore(lab, { cluster: true }).status).toBe(0);
            expect(stagedFiles(lab)).toEqual([]);
        } finally {
            lab.cleanup();
        }
    });
});
