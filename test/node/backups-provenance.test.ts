/**
 * Restore takes exactly the backup the rollback needs: the one the snapshot
 * recorded on entering the write phases, or one a person chose by id, after checking, in its
 * verified meta, its own id, its node and its transition. Every way that backup can be
 * missing, damaged or misplaced is refused with exit code and message, and nothing changes: no
 * other (older, newer-sorting, other node's) backup is ever used. Real scripts, sandbox roots.
 */
import * as fs from "fs";
import * as path from "path";
import { ConfigError, parseStackConfig } from "../../components/config/schema";
import { renderStepScript, stepCommandLine } from "../../components/scripts";
import { stepArgs } from "../../components/steps";
import { spawnSync } from "child_process";
import { localValues } from "../support/config";
import { BACKUPS, STATE, backupDir, backupLab, changeLiveFiles, digest, lastLogLine, lxcDir, perlBackup, restore, step } from "../support/backups";
import { Lab } from "../support/node";

const REFUSE = "refusing to restore, nothing changed";

/**
 * pve1 with two backups of a Perl-managed state: a1a1 (older; interfaces say "# era a1a1")
 * and b2b2 (the one recorded: interfaces say "# era b2b2"), then the Rust era changes every
 * live file.
 */
function twoBackups(nodes = ["pve1"]): { lab: Lab; older: string; recorded: string } {
    const lab = backupLab(nodes);
    const ifaces = path.join(lab.root("pve1"), "etc/network/interfaces");
    fs.appendFileSync(ifaces, "# era a1a1\n");
    const older = perlBackup(lab, "a1a1");
    fs.appendFileSync(ifaces, "# era b2b2\n");
    const recorded = perlBackup(lab, "b2b2");
    changeLiveFiles(lab);
    return { lab, older, recorded };
}

const record = (lab: Lab, node = "pve1") => path.join(lab.root(node), STATE, "perl-backup");
const recordedIn = (lab: Lab) => `recorded in ${record(lab)}`;

describe("the snapshot records the backup of a Perl-managed state in the node's state folder", () => {
    test("the record names the newest such backup, with its transition and node; a backup of a write-phase state leaves it alone", () => {
        const { lab, recorded } = twoBackups();
        try {
            expect(fs.readFileSync(record(lab), "utf8")).toBe(`id=${recorded}\ntransition=b2b2\nnode=pve1\n`);
            const cfg = lab.config("rust-advanced");
            expect(step(cfg, "snapshot", "pve1", "rust-basic-write", "rust-advanced", "c3c3").status).toBe(0);
            expect(fs.readFileSync(record(lab), "utf8")).toBe(`id=${recorded}\ntransition=b2b2\nnode=pve1\n`);
            const meta = fs.readFileSync(path.join(backupDir(lab, recorded), "meta"), "utf8");
            expect(meta).toMatch(
                new RegExp(`^id=${recorded}\\nnode=pve1\\ntransition=b2b2\\nfrom=rust-read-only\\nto=rust-basic-write\\ncreated=\\S+\\nperl_state=1\\nabsent=\\n$`),
            );
        } finally {
            lab.cleanup();
        }
    });

    test("a re-run of the snapshot whose record was lost (killed after the rename) writes it again", () => {
        const { lab, recorded } = twoBackups();
        try {
            fs.rmSync(record(lab));
            const r = step(lab.config("rust-basic-write"), "snapshot", "pve1", "rust-read-only", "rust-basic-write", "b2b2");
            expect(r.status).toBe(0);
            expect(r.stdout).toContain(`result=unchanged detail=backup ${recorded} exists and verifies`);
            expect(fs.readFileSync(record(lab), "utf8")).toBe(`id=${recorded}\ntransition=b2b2\nnode=pve1\n`);
        } finally {
            lab.cleanup();
        }
    });

    test("retention keeps the recorded backup, not a newer folder whose meta says perl_state=1", () => {
        const { lab, recorded } = twoBackups();
        try {
            const fake = path.join(lab.root("pve1"), BACKUPS, "99991231T235959Z-ffff");
            fs.cpSync(backupDir(lab, recorded), fake, { recursive: true });
            const cfg = lab.config("rust-advanced", { retention: 1 });
            expect(step(cfg, "snapshot", "pve1", "rust-basic-write", "rust-advanced", "c3c3").status).toBe(0);
            expect(fs.readdirSync(path.join(lab.root("pve1"), BACKUPS)).includes(recorded)).toBe(true);
        } finally {
            lab.cleanup();
        }
    });
});

describe("restore takes the recorded backup and no other", () => {
    test("the recorded backup is restored although an older one and a newer-sorting folder with other content exist", () => {
        const { lab, older, recorded } = twoBackups();
        try {
            // A folder that sorts newest, with a manifest that verifies and a meta that says perl_state=1.
            const fake = path.join(lab.root("pve1"), BACKUPS, "99991231T235959Z-ffff");
            fs.cpSync(backupDir(lab, older), fake, { recursive: true });
            const want = fs.readFileSync(path.join(backupDir(lab, recorded), "interfaces"), "utf8");
            expect(want).toContain("# era b2b2\n");
            const r = restore(lab);
            expect(r.status).toBe(0);
            expect(r.stdout).toMatch(new RegExp(`result=changed detail=restored 6 node file\\(s\\) from backup ${recorded} \\(recorded in \\S+/perl-backup\\)\\n$`));
            expect(fs.readFileSync(path.join(lab.root("pve1"), "etc/network/interfaces"), "utf8")).toBe(want);
            for (const f of fs.readdirSync(lxcDir(lab))) {
                expect(fs.readFileSync(path.join(lxcDir(lab), f), "utf8")).toBe(fs.readFileSync(path.join(backupDir(lab, recorded), "lxc", f), "utf8"));
            }
            // The cluster part (the writer node) takes the same recorded backup.
            const c = restore(lab, { cluster: true });
            expect(c.status).toBe(0);
            expect(c.stdout).toContain(`detail=restored 2 cluster file(s) from backup ${recorded} (recorded in`);
            // A second run changes nothing.
            const again = restore(lab);
            expect(again.stdout).toContain(`result=unchanged detail=node files already match backup ${recorded} (recorded in`);
        } finally {
            lab.cleanup();
        }
    });

    /** [case, damage, exit code, message (without the common tail)]; `n` is the recorded backup's name, `o` the older one's. */
    type Damage = [string, (lab: Lab, b: { older: string; dir: string }) => void, number, (lab: Lab, n: string, o: string) => string];
    const damages: Damage[] = [
        ["the backup folder is gone", (_l, b) => fs.rmSync(b.dir, { recursive: true }), 66, (l, n) => `backup ${n} (${recordedIn(l)}) is missing`],
        [
            "the backup folder is a link to the older backup",
            (_l, b) => {
                fs.rmSync(b.dir, { recursive: true });
                fs.symlinkSync(b.older, b.dir);
            },
            65,
            (l, n) => `backup ${n} (${recordedIn(l)}) is a symbolic link, not a folder`,
        ],
        [
            "the backup folder is a file",
            (_l, b) => {
                fs.rmSync(b.dir, { recursive: true });
                fs.writeFileSync(b.dir, "x");
            },
            65,
            (l, n) => `backup ${n} (${recordedIn(l)}) is not a folder`,
        ],
        ["its meta is missing", (_l, b) => fs.rmSync(path.join(b.dir, "meta")), 65, (l, n) => `backup ${n} (${recordedIn(l)}) has no meta`],
        [
            "its meta is a folder",
            (_l, b) => {
                fs.rmSync(path.join(b.dir, "meta"));
                fs.mkdirSync(path.join(b.dir, "meta"));
            },
            65,
            (l, n) => `backup ${n} (${recordedIn(l)}) holds meta, which is not a regular file (find type d)`,
        ],
        [
            "its meta was edited (perl_state=0)",
            (_l, b) => fs.writeFileSync(path.join(b.dir, "meta"), fs.readFileSync(path.join(b.dir, "meta"), "utf8").replace("perl_state=1", "perl_state=0")),
            65,
            (l, n) => `backup ${n} (${recordedIn(l)}) does not match its manifest`,
        ],
        [
            "its manifest is missing",
            (_l, b) => fs.rmSync(path.join(b.dir, "MANIFEST.sha256")),
            65,
            (l, n) => `backup ${n} (${recordedIn(l)}) has no manifest (MANIFEST.sha256)`,
        ],
        [
            "its manifest is empty",
            (_l, b) => fs.writeFileSync(path.join(b.dir, "MANIFEST.sha256"), ""),
            65,
            (l, n) => `backup ${n} (${recordedIn(l)}) does not match its manifest`,
        ],
        [
            "its manifest lacks the interfaces line",
            (_l, b) => {
                const m = path.join(b.dir, "MANIFEST.sha256");
                fs.writeFileSync(
                    m,
                    fs
                        .readFileSync(m, "utf8")
                        .split("\n")
                        .filter((x) => !x.endsWith("  interfaces"))
                        .join("\n"),
                );
            },
            65,
            (l, n) => `backup ${n} (${recordedIn(l)}) does not match its manifest`,
        ],
        [
            "its manifest lists a file twice",
            (_l, b) => {
                const m = path.join(b.dir, "MANIFEST.sha256");
                const t = fs.readFileSync(m, "utf8");
                fs.writeFileSync(m, t + t.split("\n")[0] + "\n");
            },
            65,
            (l, n) => `backup ${n} (${recordedIn(l)}) does not match its manifest`,
        ],
        [
            "a container config was changed",
            (_l, b) => fs.appendFileSync(path.join(b.dir, "lxc/101.conf"), "x\n"),
            65,
            (l, n) => `backup ${n} (${recordedIn(l)}) does not match its manifest`,
        ],
        [
            "an unlisted container config was added",
            (_l, b) => fs.writeFileSync(path.join(b.dir, "lxc/999.conf"), "x\n"),
            65,
            (l, n) => `backup ${n} (${recordedIn(l)}) does not match its manifest`,
        ],
        [
            "its whole content is the older backup's (manifest and meta included)",
            (_l, b) => {
                fs.rmSync(b.dir, { recursive: true });
                fs.cpSync(b.older, b.dir, { recursive: true });
            },
            65,
            (l, n, o) => `backup ${n} (${recordedIn(l)}) is not the backup its manifest names (meta id=${o})`,
        ],
        [
            "the record is missing",
            (l) => fs.rmSync(record(l)),
            66,
            (l) => `no backup of a Perl-managed state is recorded in ${record(l)}: ${REFUSE} (restore a chosen backup with pve-migration:backups.restoreId)`,
        ],
        [
            "the record is a link",
            (l) => {
                const t = path.join(l.dir, "elsewhere");
                fs.copyFileSync(record(l), t);
                fs.rmSync(record(l));
                fs.symlinkSync(t, record(l));
            },
            66,
            (l) => `no backup of a Perl-managed state is recorded in ${record(l)}: ${REFUSE} (restore a chosen backup with pve-migration:backups.restoreId)`,
        ],
        [
            "the record names no backup",
            (l) => fs.writeFileSync(record(l), "id=../../etc\ntransition=b2b2\n"),
            65,
            (l) => `the record ${record(l)} does not name a backup and its transition: ${REFUSE}`,
        ],
        [
            "the record names the older backup with the recorded transition",
            (l, b) => fs.writeFileSync(record(l), `id=${path.basename(b.older)}\ntransition=b2b2\nnode=pve1\n`),
            65,
            (l, _n, o) => `backup ${o} (${recordedIn(l)}) belongs to transition a1a1, not b2b2`,
        ],
    ];

    test.each(damages.map((d) => [d[0], d] as const))("refused when %s", (_name, [, damage, code, message]) => {
        const { lab, older, recorded } = twoBackups();
        try {
            damage(lab, { older: backupDir(lab, older), dir: backupDir(lab, recorded) });
            const before = digest(lab);
            const r = restore(lab);
            const want = message(lab, recorded, older);
            const full = want.includes(REFUSE) ? want : `${want}: ${REFUSE}`;
            expect([r.status, r.stderr]).toEqual([code, `pve-migration restore on pve1: ${full}\n`]);
            expect(digest(lab)).toEqual(before);
            expect(lastLogLine(lab)).toMatch(/^\S+ node=pve1 from=rust-basic-write to=rust-read-only step=restore result=failed detail=/);
            expect(lastLogLine(lab).endsWith(` result=failed detail=${full}`)).toBe(true);
            expect(r.stdout).toBe(`${lastLogLine(lab)}\n`);
        } finally {
            lab.cleanup();
        }
    });

    test("a backup copied from another node is refused, under the recorded name and as that node's folder", () => {
        const lab = backupLab(["pve1", "pve2"]);
        try {
            const mine = perlBackup(lab, "b2b2", "pve1");
            const theirs = perlBackup(lab, "b2b2", "pve2");
            changeLiveFiles(lab);
            // pve2's backup put in place of pve1's (content renamed to pve1's folder name).
            fs.rmSync(backupDir(lab, mine), { recursive: true });
            fs.cpSync(backupDir(lab, theirs, "pve2"), backupDir(lab, mine), { recursive: true });
            let before = digest(lab);
            let r = restore(lab);
            const idMismatch = mine === theirs ? `was taken on node pve2, not on pve1` : `is not the backup its manifest names (meta id=${theirs})`;
            expect([r.status, r.stderr]).toEqual([65, `pve-migration restore on pve1: backup ${mine} (${recordedIn(lab)}) ${idMismatch}: ${REFUSE}\n`]);
            expect(digest(lab)).toEqual(before);
            // pve2's backup copied under its own name, and the record pointed at it.
            fs.rmSync(backupDir(lab, mine), { recursive: true });
            fs.cpSync(backupDir(lab, theirs, "pve2"), backupDir(lab, theirs, "pve1"), { recursive: true });
            fs.writeFileSync(record(lab), `id=${theirs}\ntransition=b2b2\nnode=pve1\n`);
            before = digest(lab);
            r = restore(lab);
            expect([r.status, r.stderr]).toEqual([
                65,
                `pve-migration restore on pve1: backup ${theirs} (${recordedIn(lab)}) was taken on node pve2, not on pve1: ${REFUSE}\n`,
            ]);
            expect(digest(lab)).toEqual(before);
        } finally {
            lab.cleanup();
        }
    });
});

describe("explicit restore of a chosen backup (pve-migration:backups.restoreId -> --backup-id)", () => {
    test("by folder name and by transition id, the chosen older backup is restored", () => {
        const { lab, older } = twoBackups();
        try {
            for (const id of [older, "a1a1"]) {
                changeLiveFiles(lab, "pve1", `again ${id}`);
                const r = restore(lab, { restoreId: id });
                expect(r.status).toBe(0);
                expect(r.stdout).toMatch(new RegExp(`result=changed detail=restored 6 node file\\(s\\) from backup ${older} \\(chosen by --backup-id\\)\\n$`));
                expect(fs.readFileSync(path.join(lab.root("pve1"), "etc/network/interfaces"), "utf8")).toBe(
                    fs.readFileSync(path.join(backupDir(lab, older), "interfaces"), "utf8"),
                );
            }
        } finally {
            lab.cleanup();
        }
    });

    test.each([
        ["a backup that does not exist", (_l: Lab) => "20200101T000000Z-dead", 66, (_l: Lab) => "backup 20200101T000000Z-dead (chosen by --backup-id) is missing"],
        [
            "a transition without a backup on this node",
            (_l: Lab) => "dead",
            66,
            (l: Lab) => `no backup of transition dead (--backup-id) under ${path.join(l.root("pve1"), BACKUPS)}`,
        ],
        [
            "a newest-sorting folder holding another backup",
            (l: Lab) => {
                fs.cpSync(
                    backupDir(
                        l,
                        fs.readdirSync(path.join(l.root("pve1"), BACKUPS)).find((b) => b.endsWith("-a1a1"))!,
                    ),
                    path.join(l.root("pve1"), BACKUPS, "99991231T235959Z-ffff"),
                    { recursive: true },
                );
                return "99991231T235959Z-ffff";
            },
            65,
            (l: Lab) =>
                `backup 99991231T235959Z-ffff (chosen by --backup-id) is not the backup its manifest names (meta id=${fs.readdirSync(path.join(l.root("pve1"), BACKUPS)).find((b) => b.endsWith("-a1a1"))})`,
        ],
        [
            "a chosen backup with an unlisted entry",
            (l: Lab) => {
                const name = fs.readdirSync(path.join(l.root("pve1"), BACKUPS)).find((b) => b.endsWith("-a1a1"))!;
                fs.symlinkSync("/etc/shadow", path.join(backupDir(l, name), "lxc/evil.conf"));
                return "a1a1";
            },
            65,
            (l: Lab) =>
                `backup ${fs.readdirSync(path.join(l.root("pve1"), BACKUPS)).find((b) => b.endsWith("-a1a1"))} (chosen by --backup-id) holds lxc/evil.conf, which is not a regular file (find type l)`,
        ],
    ])("refused: %s", (_name, prepare, code, message) => {
        const { lab } = twoBackups();
        try {
            const id = prepare(lab);
            const before = digest(lab);
            const r = restore(lab, { restoreId: id });
            expect([r.status, r.stderr]).toEqual([code, `pve-migration restore on pve1: ${message(lab)}: ${REFUSE}\n`]);
            expect(digest(lab)).toEqual(before);
        } finally {
            lab.cleanup();
        }
    });

    test("two folders of the chosen transition are ambiguous and refused", () => {
        const { lab, older } = twoBackups();
        try {
            fs.cpSync(backupDir(lab, older), path.join(lab.root("pve1"), BACKUPS, "20000101T000000Z-a1a1"), { recursive: true });
            const before = digest(lab);
            const r = restore(lab, { restoreId: "a1a1" });
            expect([r.status, r.stderr]).toEqual([
                65,
                `pve-migration restore on pve1: 2 backups of transition a1a1 (--backup-id) under ${path.join(lab.root("pve1"), BACKUPS)} (20000101T000000Z-a1a1 ${older}): ${REFUSE}\n`,
            ]);
            expect(digest(lab)).toEqual(before);
        } finally {
            lab.cleanup();
        }
    });

    test("a backup copied from another node is refused by id too", () => {
        const lab = backupLab(["pve1", "pve2"]);
        try {
            perlBackup(lab, "b2b2", "pve1");
            const theirs = perlBackup(lab, "a1a1", "pve2");
            changeLiveFiles(lab);
            fs.cpSync(backupDir(lab, theirs, "pve2"), backupDir(lab, theirs, "pve1"), { recursive: true });
            const before = digest(lab);
            const r = restore(lab, { restoreId: theirs });
            expect([r.status, r.stderr]).toEqual([
                65,
                `pve-migration restore on pve1: backup ${theirs} (chosen by --backup-id) was taken on node pve2, not on pve1: ${REFUSE}\n`,
            ]);
            expect(digest(lab)).toEqual(before);
        } finally {
            lab.cleanup();
        }
    });

    test("the script refuses a --backup-id that is neither a backup name nor a transition id (exit 64, nothing run)", () => {
        const { lab } = twoBackups();
        try {
            const cfg = lab.config("rust-read-only");
            const before = fs.readFileSync(path.join(lab.root("pve1"), "var/log/pve-network/migration.log"), "utf8");
            for (const bad of ["../../etc", "a1a1/..", "A1A1", "a1a1\n", "-a1a1", "20261121T101500Z-a1a1/x", "", "$(touch /tmp/x)"]) {
                const node = cfg.nodes[0];
                const args = stepArgs(
                    { cfg: { ...cfg, backups: { ...cfg.backups, restoreId: bad } }, node, from: "rust-basic-write", to: "rust-read-only" },
                    "restore",
                    "e3e3",
                );
                const r = spawnSync("/bin/sh", ["-c", stepCommandLine(args, { step: "restore" })], { input: renderStepScript("restore"), encoding: "utf8" });
                expect([r.status, r.stderr]).toEqual([
                    64,
                    "pve-migration restore: --backup-id must be a backup's folder name (<yyyymmdd>T<hhmmss>Z-<transition id>) or a transition id (hex)\n",
                ]);
            }
            expect(fs.readFileSync(path.join(lab.root("pve1"), "var/log/pve-network/migration.log"), "utf8")).toBe(before);
        } finally {
            lab.cleanup();
        }
    });
});

describe("backups.restoreId in the stack config", () => {
    const parse = (backups: unknown) =>
        parseStackConfig({
            values: {
                ...localValues({ sandboxDir: "/tmp/x", debPath: "/tmp/x.deb", sha256: "a".repeat(64), version: "0.4.2-1", nodes: ["pve1"] }),
                backups: JSON.stringify(backups),
            },
            secretKeys: new Set(),
            stack: "test",
            projectDir: "/",
        });
    test.each(["20261121T101500Z-3fa2c1d9", "3fa2c1d9", "abcd", "a".repeat(64)])("accepts %s and passes it to the restore steps as --backup-id", (id) => {
        const cfg = parse({ retention: 3, restoreId: id });
        expect(cfg.backups).toEqual({ retention: 3, restoreId: id });
        const node = cfg.nodes[0];
        expect(stepArgs({ cfg, node, from: "rust-basic-write", to: "perl-only" }, "restore", "e3e3").options).toEqual({
            root: node.root,
            node: "pve1",
            transition: "e3e3",
            from: "rust-basic-write",
            to: "perl-only",
            part: "node",
            // A sandbox root (transport local) has no pmxcfs: no quorum check.
            "require-quorum": "0",
            "backup-id": id,
        });
        expect(stepArgs({ cfg, node, from: "rust-basic-write", to: "perl-only" }, "cluster-restore", "e3e3").options["backup-id"]).toBe(id);
    });
    test("without it the restore step has no --backup-id (its inputs do not change)", () => {
        const cfg = parse({ retention: 3 });
        expect(Object.keys(stepArgs({ cfg, node: cfg.nodes[0], from: "rust-basic-write", to: "perl-only" }, "restore", "e3e3").options)).toEqual([
            "root",
            "node",
            "transition",
            "from",
            "to",
            "part",
            "require-quorum",
        ]);
    });
    test.each(["../x", "3FA2C1D9", "abc", "a".repeat(65), "20261121T101500Z-", "20261121T101500Z-3fa2c1d9\n", "-3fa2c1d9", "20261121-3fa2c1d9", " 3fa2c1d9"])(
        "refuses %j naming the key",
        (id) => {
            let errors: string[] = [];
            try {
                parse({ retention: 3, restoreId: id });
            } catch (e) {
                expect(e).toBeInstanceOf(ConfigError);
                errors = (e as ConfigError).errors;
            }
            expect(errors).toEqual([
                "pve-migration:backups.restoreId: must be a backup's folder name (<yyyymmdd>T<hhmmss>Z-<transition id>, as in the snapshot's log line) or a transition id (4 to 64 lowercase hex digits)",
            ]);
        },
    );
});
