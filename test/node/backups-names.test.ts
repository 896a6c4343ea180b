/**
 * Hostile container config names: every name the file system allows
 * round-trips byte-identical through the real snapshot and restore scripts, the manifest stays
 * one line per file in sha256sum's own escaped format (`sha256sum -c` reads it back), and no
 * name executes anything. Names are handled as bytes (Buffer paths), never decoded.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { backupLab, backupNamed, backupDir, lxcDir, perlBackup, restore, stagedFiles, step } from "../support/backups";

const b = (s: string) => Buffer.from(s, "utf8");
const HOSTILE: [string, Buffer][] = [
    ["newline", b("10\n7.conf")],
    ["backslash", b("10\\8.conf")],
    ["backslash n (not a newline)", b("10\\n9.conf")],
    ["carriage return", b("11\r0.conf")],
    ["tab", b("11\t1.conf")],
    ["single and double quotes", b(`11'2"x.conf`)],
    ["spaces", b(" 113  x .conf")],
    ["leading dash", b("-114.conf")],
    ["leading double dash", b("--115=x.conf")],
    ["shell code", b("$(touch PWNED)`touch PWNED`;116.conf")],
    ["glob characters", b("*11[7]?.conf")],
    ["a whole manifest line", b(`${"0".repeat(64)}  meta.conf`)],
    ["240 characters", b(`${"a".repeat(235)}.conf`)],
    ["255 characters (NAME_MAX)", b(`${"b".repeat(250)}.conf`)],
    ["bytes that are not UTF-8", Buffer.concat([b("12"), Buffer.from([0xff, 0xfe, 0x80]), b("0.conf")])],
    ["UTF-8 beyond ASCII", b("ctr-ü-€-121.conf")],
];

const join = (dir: string, name: Buffer) => Buffer.concat([b(dir), b("/"), name]);
const names = (dir: string) => (fs.readdirSync(dir, { encoding: "buffer" }) as Buffer[]).map((n) => n.toString("hex")).sort();

test("every hostile container config name round-trips byte-identical through snapshot and restore", () => {
    const lab = backupLab();
    try {
        const lxc = lxcDir(lab);
        HOSTILE.forEach(([, name], i) => fs.writeFileSync(join(lxc, name), `arch: amd64\nhostname: hostile${i}\n`));
        const liveNames = names(lxc);
        expect(liveNames).toHaveLength(5 + HOSTILE.length);

        const name = perlBackup(lab, "b2b2");
        const dir = backupDir(lab, name);
        expect(names(path.join(dir, "lxc"))).toEqual(liveNames);
        const manifest = fs.readFileSync(path.join(dir, "MANIFEST.sha256"));
        // One line per file (4 + 5 + hostile), no raw newline or carriage return inside a name.
        expect(manifest.toString("latin1").split("\n").filter(Boolean)).toHaveLength(9 + HOSTILE.length);
        const check = spawnSync("sha256sum", ["--strict", "-c", "MANIFEST.sha256"], { cwd: dir, encoding: "utf8" });
        expect([check.status, check.stderr]).toEqual([0, ""]);
        expect(check.stdout.split("\n").filter(Boolean)).toHaveLength(9 + HOSTILE.length);

        // A re-run finds the backup whole.
        const again = step(lab.config("rust-basic-write"), "snapshot", "pve1", "rust-read-only", "rust-basic-write", "b2b2");
        expect(again.stdout).toContain(`result=unchanged detail=backup ${name} exists and verifies`);
        expect(backupNamed(lab, "b2b2")).toBe(name);

        // The Rust era changes every container config and removes one hostile one.
        for (const n of fs.readdirSync(lxc, { encoding: "buffer" }) as Buffer[]) fs.appendFileSync(join(lxc, n), "net1: rust\n");
        fs.rmSync(join(lxc, HOSTILE[0][1]) as unknown as string);
        fs.appendFileSync(path.join(lab.root("pve1"), "etc/network/interfaces"), "# rust\n");

        const r = restore(lab);
        expect(r.status).toBe(0);
        expect(r.stdout).toContain(`result=changed detail=restored ${1 + 5 + HOSTILE.length} node file(s) from backup ${name}`);
        expect(names(lxc)).toEqual(liveNames);
        for (const n of fs.readdirSync(path.join(dir, "lxc"), { encoding: "buffer" }) as Buffer[]) {
            expect(fs.readFileSync(join(lxc, n)).equals(fs.readFileSync(join(path.join(dir, "lxc"), n)))).toBe(true);
        }
        expect(stagedFiles(lab)).toEqual([]);
        expect(restore(lab).stdout).toContain(`result=unchanged detail=node files already match backup ${name}`);
        // Nothing a name holds was executed (the steps ran with the sandbox and the test's folder as cwd).
        expect(fs.existsSync(path.join(lxc, "PWNED"))).toBe(false);
        expect(fs.existsSync("PWNED")).toBe(false);
    } finally {
        lab.cleanup();
    }
});

test.each(HOSTILE.map(([what, name]) => [what, name] as const))("a backup with only the hostile name %s verifies and restores", (_what, name) => {
    const lab = backupLab();
    try {
        const lxc = lxcDir(lab);
        fs.writeFileSync(join(lxc, name), "hostname: one\n");
        const backup = perlBackup(lab, "c3c3");
        fs.appendFileSync(join(lxc, name), "net1: rust\n");
        const r = restore(lab);
        expect([r.status, r.stderr]).toEqual([0, ""]);
        expect(r.stdout).toContain(`result=changed detail=restored 1 node file(s) from backup ${backup}`);
        expect(fs.readFileSync(join(lxc, name)).toString()).toBe("hostname: one\n");
        expect(stagedFiles(lab)).toEqual([]);
    } finally {
        lab.cleanup();
    }
});
