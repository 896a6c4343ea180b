/**
 * Real node steps on sandbox node roots: the rendered scripts run with bash, a real .deb is
 * installed with dpkg, unit enablement is changed with `systemctl --root`. The sandbox has no
 * service manager, so starts / stops / restarts are not performed there (the steps say so in
 * the decision log, and these tests check that they do).
 */
import * as fs from "fs";
import * as path from "path";
import { PHASES, Phase, phaseInfo } from "../../components/phases";
import { runPlan } from "../../components/sandbox/run";
import { compareBundles } from "../../components/diagnostics";
import { Lab, configFiles, installedVersion, isEnabled, makeLab, mustRun, results, tomlAt, tree } from "../support/node";

describe("walk perl-only to rust-full one phase at a time, 3 nodes, cluster-wide migration.toml", () => {
    let lab: Lab;
    beforeAll(() => {
        lab = makeLab(["pve1", "pve2", "pve3"]);
    });
    afterAll(() => lab.cleanup());

    test("initial deployment installs the pinned package with the daemon left disabled", () => {
        const runs = mustRun(lab.config("perl-only"), "perl-only", "perl-only", "00000000");
        expect(results(runs)).toEqual([
            "pve1-package:changed",
            "pve1-units:changed",
            "pve2-package:changed",
            "pve2-units:changed",
            "pve3-package:changed",
            "pve3-units:changed",
            "lab-cluster-config:changed",
            "pve1-services:changed",
            "pve1-verify:ok",
            "pve2-services:changed",
            "pve2-verify:ok",
            "pve3-services:changed",
            "pve3-verify:ok",
        ]);
        for (const n of lab.nodes) {
            const root = lab.root(n);
            expect(installedVersion(root)).toBe("0.4.2-1");
            // The package's postinst enables its unit (as dh_installsystemd does); the step undoes that.
            expect(isEnabled(root)).toBe(false);
            expect(fs.readFileSync(path.join(root, "etc/systemd/system/pve-network-rs.service"), "utf8")).toContain(
                "ExecStart=/usr/sbin/pve-network-rs --config /etc/pve/network/migration.toml",
            );
        }
        // One cluster-wide file, written once, seen by every node through the shared /etc/pve.
        const file = path.join(lab.sandbox, "cluster-pve/network/migration.toml");
        expect(tomlAt(file)).toEqual({
            phase: "perl-only",
            fallback_enabled: true,
            perl_api_base_url: "https://lab.example.internal:8006",
            perl_api_timeout: 60,
            log_migration_decisions: true,
            features: { rust_cli: false, rust_daemon: false },
        });
        expect(fs.statSync(file).mode & 0o777).toBe(0o640);
        const configLines = fs
            .readFileSync(path.join(lab.root("pve1"), "var/log/pve-network/migration.log"), "utf8")
            .split("\n")
            .filter((l) => l.includes("step=config"));
        expect(configLines).toHaveLength(1);
        expect(fs.existsSync(path.join(lab.root("pve2"), "var/log/pve-network/migration.log"))).toBe(true);
        expect(fs.readFileSync(path.join(lab.root("pve2"), "var/log/pve-network/migration.log"), "utf8").includes("step=config")).toBe(false);
    });

    const promotions = PHASES.slice(1).map((to, i) => [PHASES[i], to] as [Phase, Phase]);
    test.each(promotions)("promote %s -> %s", (from, to) => {
        const id = `a${PHASES.indexOf(to)}a${PHASES.indexOf(to)}`;
        const runs = mustRun(lab.config(to), from, to, id);
        const write = phaseInfo(to).write || phaseInfo(from).write;
        expect(results(runs)).toEqual([
            `pve1-snapshot:${write ? "changed" : "unchanged"}`,
            "pve1-package:unchanged",
            "pve1-units:unchanged",
            `pve2-snapshot:${write ? "changed" : "unchanged"}`,
            "pve2-package:unchanged",
            "pve2-units:unchanged",
            `pve3-snapshot:${write ? "changed" : "unchanged"}`,
            "pve3-package:unchanged",
            "pve3-units:unchanged",
            "lab-cluster-config:changed",
            "pve1-services:changed",
            "pve1-verify:ok",
            "pve2-services:changed",
            "pve2-verify:ok",
            "pve3-services:changed",
            "pve3-verify:ok",
        ]);
        const info = phaseInfo(to);
        expect(tomlAt(path.join(lab.sandbox, "cluster-pve/network/migration.toml"))).toMatchObject({
            phase: to,
            features: { rust_cli: info.rustCli, rust_daemon: info.rustDaemon },
        });
        for (const n of lab.nodes) {
            const root = lab.root(n);
            expect(isEnabled(root)).toBe(info.rustDaemon);
            const log = fs.readFileSync(path.join(root, "var/log/pve-network/migration.log"), "utf8").trim().split("\n");
            const mine = log.filter((l) => l.includes(`from=${from} to=${to} `));
            // snapshot, package, units, services, verify on every node; config only on the writer.
            expect(mine.map((l) => /step=(\S+)/.exec(l)?.[1])).toEqual(
                n === "pve1" ? ["snapshot", "package", "units", "config", "services", "verify"] : ["snapshot", "package", "units", "services", "verify"],
            );
            for (const l of mine) expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ node=pve\d from=\S+ to=\S+ step=\S+ result=\S+ detail=/);
            const backups = fs.existsSync(path.join(root, "var/lib/pve-network-rs/backups"))
                ? fs.readdirSync(path.join(root, "var/lib/pve-network-rs/backups"))
                : [];
            if (write) expect(backups.filter((b) => b.endsWith(`-${id}`))).toHaveLength(1);
            expect(fs.existsSync(path.join(root, "var/lib/pve-network-rs/transition"))).toBe(false);
            expect(fs.readFileSync(path.join(root, "var/lib/pve-network-rs/transition.last"), "utf8")).toBe(`id=${id}\nfrom=${from}\nto=${to}\n`);
        }
    });

    test("a second run changes nothing and says so", () => {
        const before = tree(lab.sandbox);
        const runs = mustRun(lab.config("rust-full"), "rust-full", "rust-full", "ffff");
        for (const r of runs) expect(r.stdout).toMatch(/result=(unchanged|ok) /);
        const after = tree(lab.sandbox);
        // Only the decision logs grew (one line per step); nothing else changed.
        const changed = Object.keys(after).filter((k) => after[k] !== before[k]);
        expect(changed.sort()).toEqual(lab.nodes.map((n) => `${n}/var/log/pve-network/migration.log`));
    });

    test("a re-run of a transition that already completed converges without change", () => {
        const runs = runPlan(lab.config("rust-full"), "rust-sdn", "rust-full", "a5a5");
        expect(results(runs).filter((r) => r.endsWith(":changed"))).toEqual([]);
        expect(runs.every((r) => r.status === 0)).toBe(true);
    });

    test("upgrade to a new pinned version, then downgrade back by setting the previous version", () => {
        mustRun(lab.config("rust-full", { version: "0.5.0-1" }), "rust-full", "rust-full", "0");
        for (const n of lab.nodes) {
            expect(installedVersion(lab.root(n))).toBe("0.5.0-1");
            expect(isEnabled(lab.root(n))).toBe(true);
        }
        const runs = mustRun(lab.config("rust-full", { version: "0.4.2-1" }), "rust-full", "rust-full", "0");
        expect(runs.find((r) => r.id === "pve1-package")?.stdout).toContain("installed pve-network-rs 0.4.2-1 (was 0.5.0-1)");
        for (const n of lab.nodes) {
            expect(installedVersion(lab.root(n))).toBe("0.4.2-1");
            expect(isEnabled(lab.root(n))).toBe(true);
        }
    });

    test("rollback rust-full -> perl-only restores the Perl-era files byte for byte", async () => {
        const before = Object.fromEntries(lab.nodes.map((n) => [n, configFiles(lab.root(n), n)]));
        // Rust changed the configuration while it owned writes.
        for (const n of lab.nodes) {
            fs.appendFileSync(path.join(lab.root(n), "etc/network/interfaces"), "\nauto vmbr1\n");
        }
        fs.appendFileSync(path.join(lab.sandbox, "cluster-pve/sdn.cfg"), "\nvnet: rs1\n");
        const runs = mustRun(lab.config("perl-only"), "rust-full", "perl-only", "b0b0");
        expect(runs.map((r) => r.id)).toEqual([
            "pve1-snapshot",
            "pve2-snapshot",
            "pve3-snapshot",
            "lab-cluster-config",
            "pve1-services",
            "pve1-package",
            "pve1-units",
            "pve1-restore",
            "lab-cluster-restore",
            "pve1-legacy-apply",
            "pve1-network-confirm",
            "pve1-verify",
            "pve2-services",
            "pve2-package",
            "pve2-units",
            "pve2-restore",
            "pve2-legacy-apply",
            "pve2-network-confirm",
            "pve2-verify",
            "pve3-services",
            "pve3-package",
            "pve3-units",
            "pve3-restore",
            "pve3-legacy-apply",
            "pve3-network-confirm",
            "pve3-verify",
        ]);
        for (const n of lab.nodes) {
            expect(configFiles(lab.root(n), n)).toEqual(before[n]);
            expect(isEnabled(lab.root(n))).toBe(false);
            expect(fs.readFileSync(path.join(lab.root(n), "var/log/pve-network/legacy-calls.log"), "utf8")).toBe(
                "validate --config /etc/network/interfaces\napply\n",
            );
        }
        expect(tomlAt(path.join(lab.sandbox, "cluster-pve/network/migration.toml")).phase).toBe("perl-only");
        // Diagnostics bundles before the rollback and after it, kept as evidence.
        // The post-rollback bundle is collected after the verify step has ended (off the
        // rollback's critical path); it appears, atomically, once the node lock is free.
        const ddir = path.join(lab.root("pve1"), "var/lib/pve-network-rs/diagnostics");
        const posts = () => fs.readdirSync(ddir).filter((f) => f.endsWith("-b0b0-post-rollback.tar.gz"));
        for (let i = 0; i < 200 && posts().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
        const pre = fs.readdirSync(ddir).filter((f) => f.endsWith("-b0b0-pre.tar.gz"));
        const post = posts();
        expect([pre.length, post.length]).toEqual([1, 1]);
        const cmp = compareBundles(path.join(ddir, pre[0]), path.join(ddir, post[0]));
        expect(cmp.phase).toEqual({ before: "rust-full", after: "perl-only", changed: true });
        // The pre bundle is taken inside the snapshot step (which holds the lock); the post
        // bundle took the node lock itself, after the verify step had released it.
        expect([cmp.a.lock, cmp.b.lock]).toEqual(["held-by-step", "held"]);
        expect(runs.find((r) => r.id === "pve1-verify")?.stdout).toMatch(
            /result=ok detail=phase perl-only verified; transition from rust-full complete; diagnostics \d{8}T\d{6}Z-b0b0-post-rollback \(collected after this step\)\n$/,
        );
        // The pre-rollback snapshot keeps what Rust wrote: nothing is lost.
        const backup = fs.readdirSync(path.join(lab.root("pve1"), "var/lib/pve-network-rs/backups")).find((b) => b.endsWith("-b0b0"));
        expect(fs.readFileSync(path.join(lab.root("pve1"), "var/lib/pve-network-rs/backups", backup as string, "interfaces"), "utf8")).toContain("auto vmbr1");
    });
});
