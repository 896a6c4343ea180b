/** Bundle comparison: parsers, the pure comparison, tar safety. */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BundleError, compareBundleFiles, formatComparison, parseChecksums, parsePackages, readBundle } from "../../components/diagnostics/compare";
import { tempDir } from "./sandbox";

let dir: string;
beforeAll(() => {
    dir = tempDir("diag-compare-");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("parsers", () => {
    test("parseChecksums", () => {
        const h = "a".repeat(64);
        expect([...parseChecksums(`${h}  /etc/network/interfaces\nMISSING  /etc/pve/sdn.cfg\ngarbage\n`)]).toEqual([
            ["/etc/network/interfaces", h],
            ["/etc/pve/sdn.cfg", null],
        ]);
    });

    test("parsePackages", () => {
        expect([...parsePackages("pve-network-rs\t0.4.2-1\tinstall ok installed\npve-network\t-\tnot-installed\n\n")]).toEqual([
            ["pve-network-rs", "0.4.2-1 (install ok installed)"],
            ["pve-network", "not installed"],
        ]);
    });
});

describe("compareBundleFiles (pure)", () => {
    const h = (c: string) => c.repeat(64);
    const bundle = (o: { phase: string; iface: string; pkg: string; at: string; extra?: Record<string, string> }) =>
        new Map<string, Buffer>(
            Object.entries({
                FORMAT: "pve-network-diagnostics 1\n",
                "node.txt": "pve1",
                "meta.txt": `collected_at=${o.at}\nroot=/\nphase_file=/etc/pve/network/migration.toml\nservice_manager=systemd\nlock=held\n`,
                "phase.txt": `${o.phase}\n`,
                "config/sha256sums.txt": `${o.iface}  /etc/network/interfaces\n${h("c")}  /etc/pve/storage.cfg\n`,
                "config/files/etc/network/interfaces": `auto vmbr0\niface vmbr0 inet static\n\taddress ${o.iface === h("a") ? "10.0.0.2/24" : "10.0.0.9/24"}\n`,
                "packages/versions.txt": `pve-network-rs\t${o.pkg}\n`,
                ...(o.extra ?? {}),
            }).map(([k, v]) => [k, Buffer.from(v)]),
        );

    test("identical bundles but for the collection time: nothing to report", () => {
        const a = bundle({ phase: "perl-only", iface: h("a"), pkg: "0.4.2-1\tinstall ok installed", at: "2024-05-01T10:00:00Z" });
        const b = bundle({ phase: "perl-only", iface: h("a"), pkg: "0.4.2-1\tinstall ok installed", at: "2024-05-01T12:00:00Z" });
        const c = compareBundleFiles("A", a, "B", b);
        expect(c.phase).toEqual({ before: "perl-only", after: "perl-only", changed: false });
        expect(c.config).toEqual({ changed: [], added: [], removed: [] });
        expect(c.files).toEqual({ changed: [], added: [], removed: [] });
        expect(c.packages).toEqual([]);
        expect(c.textDiffs).toEqual([]);
        expect(c.a.collectedAt).toBe("2024-05-01T10:00:00Z");
        expect(c.b.collectedAt).toBe("2024-05-01T12:00:00Z");
    });

    test("phase, config checksum, package and files changes", () => {
        const a = bundle({ phase: "rust-basic-write", iface: h("a"), pkg: "0.4.2-1\tinstall ok installed", at: "t1" });
        const b = bundle({
            phase: "perl-only",
            iface: h("b"),
            pkg: "0.4.2-1\tdeinstall ok config-files",
            at: "t2",
            extra: { "logs/migration.log.MISSING": "/var/log/pve-network/migration.log is missing\n" },
        });
        const c = compareBundleFiles("A", a, "B", b);
        expect(c.phase).toEqual({ before: "rust-basic-write", after: "perl-only", changed: true });
        expect(c.config).toEqual({ changed: [{ path: "/etc/network/interfaces", before: h("a"), after: h("b") }], added: [], removed: [] });
        expect(c.packages).toEqual([{ name: "pve-network-rs", before: "0.4.2-1 (install ok installed)", after: "0.4.2-1 (deinstall ok config-files)" }]);
        expect(c.files.changed.map((f) => f.path)).toEqual(["config/files/etc/network/interfaces", "config/sha256sums.txt", "packages/versions.txt", "phase.txt"]);
        expect(c.files.added.map((f) => f.path)).toEqual(["logs/migration.log.MISSING"]);
        expect(c.files.removed).toEqual([]);
        expect(c.textDiffs.find((d) => d.file === "config/files/etc/network/interfaces")!.diff).toBe(
            "--- a/config/files/etc/network/interfaces\n+++ b/config/files/etc/network/interfaces\n@@ -1,3 +1,3 @@\n auto vmbr0\n iface vmbr0 inet static\n-\taddress 10.0.0.2/24\n+\taddress 10.0.0.9/24\n",
        );
        expect(c.textDiffs.find((d) => d.file === "logs/migration.log.MISSING")!.diff).toBe(
            "--- /dev/null\n+++ b/logs/migration.log.MISSING\n@@ -0,0 +1,1 @@\n+/var/log/pve-network/migration.log is missing\n",
        );
        const text = formatComparison(c);
        expect(text).toContain("phase: rust-basic-write -> perl-only\n");
        expect(text).toContain(`node config files (sha256):\n  changed  /etc/network/interfaces  aaaaaaaaaaaa -> bbbbbbbbbbbb\n`);
        expect(text).toContain("packages:\n  pve-network-rs: 0.4.2-1 (install ok installed) -> 0.4.2-1 (deinstall ok config-files)\n");
        expect(text).toContain("  added    logs/migration.log.MISSING  ");
    });

    test("binary or large files are listed but not diffed", () => {
        const base = { phase: "perl-only", iface: h("a"), pkg: "1\tinstall ok installed", at: "t" };
        const a = bundle({ ...base, extra: { "bin.dat": "\u0000\u0001" } });
        const b = bundle({ ...base, extra: { "bin.dat": "\u0000\u0002" } });
        const c = compareBundleFiles("A", a, "B", b);
        expect(c.files.changed.map((f) => f.path)).toEqual(["bin.dat"]);
        expect(c.textDiffs).toEqual([]);
    });

    test("a tarball that is not a bundle is refused", () => {
        const a = new Map([["FORMAT", Buffer.from("something else\n")]]);
        expect(() => compareBundleFiles("A.tar.gz", a, "B", a)).toThrow(
            new BundleError('A.tar.gz: not a diagnostics bundle (FORMAT "something else", expected "pve-network-diagnostics 1")'),
        );
    });
});

describe("readBundle refuses unsafe tarballs", () => {
    test("a member outside bundle/", () => {
        const src = path.join(dir, "evil1");
        fs.mkdirSync(path.join(src, "bundle"), { recursive: true });
        fs.writeFileSync(path.join(src, "bundle", "FORMAT"), "pve-network-diagnostics 1\n");
        fs.writeFileSync(path.join(src, "other"), "x");
        const t = path.join(dir, "evil1.tar.gz");
        spawnSync("tar", ["-C", src, "-czf", t, "bundle", "other"]);
        expect(() => readBundle(t)).toThrow(new BundleError(`${t}: member "other" is outside bundle/`));
    });

    test("a symbolic link", () => {
        const src = path.join(dir, "evil2");
        fs.mkdirSync(path.join(src, "bundle"), { recursive: true });
        fs.symlinkSync("/etc/passwd", path.join(src, "bundle", "FORMAT"));
        const t = path.join(dir, "evil2.tar.gz");
        spawnSync("tar", ["-C", src, "-czf", t, "bundle"]);
        expect(() => readBundle(t)).toThrow(new BundleError(`${t}: member "bundle/FORMAT" is not a regular file or folder`));
    });

    test("not a tarball, and a missing file", () => {
        const t = path.join(dir, "junk.tar.gz");
        fs.writeFileSync(t, "junk");
        expect(() => readBundle(t)).toThrow(BundleError);
        expect(() => readBundle(path.join(dir, "none.tar.gz"))).toThrow(new BundleError(`${path.join(dir, "none.tar.gz")}: no such file`));
    });
});
