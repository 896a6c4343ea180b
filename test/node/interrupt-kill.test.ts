/**
 * Every node step killed with SIGKILL at several named points, then run again: the re-run
 * completes, the end state equals an uninterrupted run's (a tree digest with times taken out),
 * no temp file is left anywhere in the root or in the step's private $TMPDIR, retention has run
 * and the node lock is free.
 *
 * The kill is the scripts' test hook `kill_point NAME` (components/scripts/sh/lib.sh): in a
 * sandbox root only, when <root>/var/lib/pve-network-rs/.kill-at names the point, the marker is
 * removed and the step's whole process group gets SIGKILL there. The steps run for real (bash,
 * dpkg, systemctl --root, promtool) on sandbox roots, through their command lines.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { StackConfig } from "../../components/config/schema";
import { rulesStepArgs } from "../../components/monitoring";
import { Phase } from "../../components/phases";
import { renderStepScript, stepCommandLine } from "../../components/scripts";
import { runStep, waitForPostRollbackBundle } from "../../components/sandbox/run";
import { planFor } from "../../components/steps";
import { localConfig } from "../support/config";
import { debs, isEnabled, makeLab, simulateRustWrites } from "../support/node";

const NODE = "pve1";

/** A lab folder (sandbox + private TMPDIR) and the stack config that points at it. */
interface Site {
    readonly dir: string;
    readonly sandbox: string;
    readonly tmp: string;
    readonly root: string;
    readonly env: NodeJS.ProcessEnv;
    cfg(phase: Phase, version?: string): StackConfig;
}

function siteAt(dir: string): Site {
    const sandbox = path.join(dir, "sandbox");
    const tmp = path.join(dir, "tmp");
    fs.mkdirSync(tmp, { recursive: true });
    return {
        dir,
        sandbox,
        tmp,
        root: path.join(sandbox, NODE),
        env: { ...process.env, TMPDIR: tmp },
        cfg(phase, version = "0.4.2-1") {
            const deb = debs()[version];
            return localConfig({ sandboxDir: sandbox, debPath: deb.path, sha256: deb.sha256, version, nodes: [NODE], phase, retention: 2 });
        },
    };
}

interface Run {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Run step `id` of the (from, to) plan with the site's private TMPDIR. */
function planStep(site: Site, phase: Phase, from: Phase, to: Phase, id: string, tid: string): Run {
    const cfg = site.cfg(phase);
    const step = planFor(cfg, from, to).steps.find((s) => s.id === id);
    if (!step) throw new Error(`no step ${id} from ${from} to ${to}`);
    return runStep(cfg, step, from, to, tid, site.env);
}

/** Run a whole plan (each step with the private TMPDIR), failing on the first failed step. */
function plan(site: Site, from: Phase, to: Phase, tid: string, until?: string): void {
    const cfg = site.cfg(to);
    const p = planFor(cfg, from, to);
    for (const step of p.steps) {
        if (step.id === until) return;
        const r = runStep(cfg, step, from, to, tid, site.env);
        if (r.status !== 0) throw new Error(`setup step ${step.id} failed (${r.status}): ${r.stdout}${r.stderr}`);
    }
    if (p.transition.kind === "rollback") waitForPostRollbackBundle(site.root, tid);
}

const RULES = "groups:\n  - name: pve-network\n    rules:\n      - alert: PveNetworkDown\n        expr: up == 0\n        for: 5m\n";

function rulesStep(site: Site): Run {
    const cfg = site.cfg("perl-only");
    const args = rulesStepArgs(cfg.nodes[0], "/etc/prometheus/rules/pve-network.yml", RULES, true, []);
    const r = spawnSync("/bin/sh", ["-c", stepCommandLine(args, { step: "rules", timeLimit: 60 })], {
        input: renderStepScript("rules"),
        encoding: "utf8",
        timeout: 60_000,
        env: site.env,
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Point {
    readonly name: string;
    /** A path (relative to the site folder) matching this exists right after the kill: the debris the re-run must remove. */
    readonly debris?: RegExp;
}

interface Scenario {
    readonly step: string;
    /** The script's name in the "killed by a signal" message. */
    readonly script: string;
    setup(site: Site): void;
    run(site: Site): Run;
    readonly points: readonly Point[];
    /** The re-run's decision, after each point (default: any success). */
    readonly rerun?: Readonly<Record<string, RegExp>>;
    /** Extra checks on the end state. */
    check?(site: Site): void;
    /** The post-rollback bundle this step starts (waited for before comparing). */
    readonly bundleOf?: string;
}

const TEMP = /\.pve-tmp\.\d+\./;

const scenarios: Scenario[] = [
    {
        step: "snapshot (leaving a write phase, retention 2, one backup to prune)",
        script: "snapshot",
        setup(site) {
            plan(site, "perl-only", "perl-only", "0");
            plan(site, "perl-only", "rust-read-only", "a1a1");
            plan(site, "rust-read-only", "rust-basic-write", "a2a2");
            plan(site, "rust-basic-write", "rust-read-only", "a3a3");
            plan(site, "rust-read-only", "rust-basic-write", "a4a4");
        },
        run: (site) => planStep(site, "rust-read-only", "rust-basic-write", "rust-read-only", "pve1-snapshot", "cafe"),
        points: [
            { name: "locked" },
            { name: "staged:transition", debris: /var\/lib\/pve-network-rs\/\.transition\.pve-tmp\.\d+\./ },
            { name: "written:transition" },
            { name: "network-staged", debris: /net-guard\/\.saved\.pve-tmp\.\d+\.[A-Za-z0-9]{6}$/ },
            { name: "network-saved" },
            { name: "diagnostics-started" },
            { name: "backup-staged", debris: /backups\/\.tmp-\d{8}T\d{6}Z-cafe$/ },
            { name: "backup-verified", debris: /backups\/\.tmp-\d{8}T\d{6}Z-cafe$/ },
            { name: "backup-renamed" },
            { name: "pruned-one" },
            { name: "finished" },
        ],
        rerun: {
            // The pre-transition bundle is collected beside the backup: whether the collector had
            // finished when the step was killed depends on timing; if not, the re-run collects it
            // (check() asserts that it exists either way).
            "backup-renamed":
                /result=changed detail=backup \d{8}T\d{6}Z-cafe exists and verifies; pruned 1 \(retention of an interrupted run\); diagnostics \d{8}T\d{6}Z-cafe-pre( exists)?; the network files saved at the start of transition cafe kept\n$/,
            "pruned-one":
                /result=unchanged detail=backup \d{8}T\d{6}Z-cafe exists and verifies; diagnostics \d{8}T\d{6}Z-cafe-pre( exists)?; the network files saved at the start of transition cafe kept\n$/,
            "backup-staged": /result=changed detail=backup \d{8}T\d{6}Z-cafe taken \(5 files\); pruned 1; diagnostics /,
        },
        check(site) {
            const backups = fs.readdirSync(path.join(site.root, "var/lib/pve-network-rs/backups")).sort();
            expect(backups.map((b) => b.replace(/^\d{8}T\d{6}Z-/, ""))).toEqual(["a4a4", "cafe"]);
            const bundles = fs.readdirSync(path.join(site.root, "var/lib/pve-network-rs/diagnostics")).filter((f) => /-cafe-pre\.tar\.gz$/.test(f));
            expect(bundles).toHaveLength(1);
        },
    },
    {
        step: "package (first install: the postinst enables the daemon, the step disables it again)",
        script: "package",
        setup: () => undefined,
        run: (site) => planStep(site, "perl-only", "perl-only", "perl-only", "pve1-package", "b1b1"),
        points: [
            { name: "locked" },
            { name: "downloaded", debris: /var\/cache\/pve-network-rs\/\.download\.pve-tmp\.\d+\./ },
            { name: "cached" },
            { name: "staged:package.pending", debris: /\.package\.pending\.pve-tmp\./ },
            { name: "installed", debris: /var\/lib\/pve-network-rs\/package\.pending$/ },
            { name: "finished" },
        ],
        rerun: { installed: /result=changed detail=installed pve-network-rs 0\.4\.2-1 \(was none\) \(finishing an interrupted install\)\n$/ },
        check(site) {
            expect(isEnabled(site.root)).toBe(false);
        },
    },
    {
        step: "units",
        script: "units",
        setup: () => undefined,
        run: (site) => planStep(site, "perl-only", "perl-only", "perl-only", "pve1-units", "b2b2"),
        points: [
            { name: "locked" },
            { name: "staged:units.reload-pending", debris: /\.units\.reload-pending\.pve-tmp\./ },
            { name: "staged:pve-network-rs.service", debris: /etc\/systemd\/system\/\.pve-network-rs\.service\.pve-tmp\.\d+\./ },
            { name: "written:pve-network-rs.service" },
            { name: "staged:pve-network-migration.service", debris: /\.pve-network-migration\.service\.pve-tmp\./ },
            { name: "units-written", debris: /units\.reload-pending$/ },
            { name: "finished" },
        ],
        rerun: {
            "units-written": /result=changed detail=unit files written by an interrupted run; daemon-reload skipped: the sandbox has no service manager\n$/,
            "written:pve-network-rs.service": /result=changed detail=wrote pve-network-migration.service; daemon-reload skipped/,
            finished: /result=unchanged detail=unit files up to date\n$/,
        },
    },
    {
        step: "config (cluster-wide migration.toml)",
        script: "config",
        setup: (site) => plan(site, "perl-only", "perl-only", "0"),
        run: (site) => planStep(site, "rust-read-only", "perl-only", "rust-read-only", "lab-cluster-config", "c1c1"),
        points: [
            { name: "locked" },
            { name: "staged:migration.toml", debris: /cluster-pve\/network\/\.migration\.toml\.pve-tmp\.\d+\./ },
            { name: "written:migration.toml" },
            { name: "finished" },
        ],
        rerun: { "staged:migration.toml": /result=changed detail=\/etc\/pve\/network\/migration.toml: phase perl-only -> rust-read-only\n$/ },
    },
    {
        step: "services",
        script: "services",
        setup: (site) => plan(site, "perl-only", "perl-only", "0"),
        run: (site) => planStep(site, "rust-read-only", "perl-only", "rust-read-only", "pve1-services", "d1d1"),
        points: [
            { name: "locked" },
            { name: "staged:middleware.config-sha256", debris: /\.middleware\.config-sha256\.pve-tmp\./ },
            { name: "middleware-done" },
            { name: "finished" },
        ],
        check(site) {
            expect(isEnabled(site.root)).toBe(true);
        },
    },
    ...(["pve1-restore", "lab-cluster-restore"] as const).map((id): Scenario => ({
        step: `restore (${id})`,
        script: "restore",
        setup(site) {
            plan(site, "perl-only", "perl-only", "0");
            plan(site, "perl-only", "rust-read-only", "a1a1");
            plan(site, "rust-read-only", "rust-basic-write", "a2a2");
            simulateRustWrites(site.root, NODE, "rust-basic-write");
            plan(site, "rust-basic-write", "rust-read-only", "e3e3", id);
        },
        run: (site) => planStep(site, "rust-read-only", "rust-basic-write", "rust-read-only", id, "e3e3"),
        points: [{ name: "locked" }, { name: "backup-verified" }, { name: "finished" }],
    })),
    {
        step: "legacy-apply",
        script: "legacy-apply",
        setup(site) {
            plan(site, "perl-only", "perl-only", "0");
            plan(site, "perl-only", "rust-read-only", "a1a1");
            plan(site, "rust-read-only", "perl-only", "f1f1", "pve1-legacy-apply");
        },
        run: (site) => planStep(site, "perl-only", "rust-read-only", "perl-only", "pve1-legacy-apply", "f1f1"),
        points: [
            { name: "locked" },
            { name: "validated" },
            { name: "armed" },
            { name: "applied" },
            { name: "staged:legacy-applied.sha256", debris: /\.legacy-applied\.sha256\.pve-tmp\./ },
            { name: "finished" },
        ],
    },
    {
        step: "network-confirm",
        script: "network-confirm",
        setup(site) {
            plan(site, "perl-only", "perl-only", "0");
            plan(site, "perl-only", "rust-read-only", "a1a1");
            plan(site, "rust-read-only", "perl-only", "c0c0", "pve1-network-confirm");
        },
        run: (site) => planStep(site, "perl-only", "rust-read-only", "perl-only", "pve1-network-confirm", "c0c0"),
        points: [{ name: "locked" }, { name: "confirmed" }, { name: "finished" }],
        // Killed before or after it finished, the re-run finds the arm confirmed and restarts the
        // legacy service again (a restart is idempotent; it may not have happened).
        rerun: {
            confirmed:
                /result=changed detail=an earlier run of this step confirmed the network apply of transition c0c0 \(deadline 30 s\); the dead-man switch is disarmed; restart of pve-network\.service skipped: sandbox\n$/,
            finished:
                /result=changed detail=an earlier run of this step confirmed the network apply of transition c0c0 \(deadline 30 s\); the dead-man switch is disarmed; restart of pve-network\.service skipped: sandbox\n$/,
        },
    },
    {
        step: "verify (closing a rollback: starts the post-rollback bundle)",
        script: "verify",
        setup(site) {
            plan(site, "perl-only", "perl-only", "0");
            plan(site, "perl-only", "rust-read-only", "a1a1");
            plan(site, "rust-read-only", "perl-only", "abba", "pve1-verify");
        },
        run: (site) => planStep(site, "perl-only", "rust-read-only", "perl-only", "pve1-verify", "abba"),
        points: [
            { name: "locked" },
            { name: "checked" },
            { name: "staged:transition", debris: /\.transition\.pve-tmp\./ },
            { name: "written:transition" },
            { name: "transition-closed", debris: /var\/lib\/pve-network-rs\/transition\.last$/ },
            { name: "finished" },
        ],
        rerun: {
            "transition-closed": /result=ok detail=phase perl-only verified; diagnostics \d{8}T\d{6}Z-abba-post-rollback \(collected after this step\)\n$/,
        },
        bundleOf: "abba",
    },
    {
        step: "rules (checked with promtool, installed atomically)",
        script: "rules",
        setup: () => undefined,
        run: rulesStep,
        points: [
            { name: "locked" },
            { name: "rules-check-staged", debris: /^tmp\/pve-rules\.pve-tmp\.\d+\.\w{6}\.yml$/ },
            { name: "rules-checked" },
            { name: "staged:pve-network.yml", debris: /etc\/prometheus\/rules\/\.pve-network\.yml\.pve-tmp\./ },
            { name: "finished" },
        ],
    },
];

/** Every path under `dir`, relative, links not followed (a folder removed meanwhile, by a collector ending, is skipped). */
function allPaths(dir: string, rel = ""): string[] {
    const out: string[] = [];
    let entries: fs.Dirent[];
    try {
        entries = fs.readdirSync(path.join(dir, rel), { withFileTypes: true });
    } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT") return out;
        throw e;
    }
    for (const e of entries) {
        const r = rel ? `${rel}/${e.name}` : e.name;
        out.push(r);
        if (e.isDirectory()) out.push(...allPaths(dir, r));
    }
    return out.sort();
}

const STAMPS = [/\d{8}T\d{6}Z/g, /\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\dZ?/g];
const noStamps = (s: string) => STAMPS.reduce((t, re) => t.replace(re, "TIME"), s);

/**
 * The end state of a node root, times taken out: every file's content with timestamps replaced
 * (backup and bundle names, meta's created=, dpkg.log, transition.last), a backup manifest's
 * line for meta without its hash (meta holds the time), bundles by name only (their content
 * holds times). Not compared: the decision log (the killed run has no line in it) and the
 * stand-in pvenet-legacy's call record (a run killed after the apply and before recording it
 * applies again, by design).
 */
function endState(site: Site): Record<string, string> {
    const out: Record<string, string> = {};
    for (const rel of allPaths(site.sandbox)) {
        const p = path.join(site.sandbox, rel);
        const st = fs.lstatSync(p);
        if (/var\/log\/pve-network\/(migration|legacy-calls)\.log$/.test(rel)) continue;
        const key = noStamps(rel);
        if (st.isSymbolicLink()) out[key] = `-> ${fs.readlinkSync(p)}`;
        else if (st.isDirectory()) out[key] = "dir";
        else if (rel.endsWith(".tar.gz")) out[key] = "bundle";
        // The dead-man switch's arm records when it was armed (epoch seconds): a re-run arms again.
        else
            out[key] = noStamps(fs.readFileSync(p, "utf8"))
                .replace(/^[0-9a-f]{64} {2}meta$/m, "HASH  meta")
                .replace(/^at=\d+$/m, "at=EPOCH");
    }
    return out;
}

/** Wait until `ok` (at most `ms`); the assertion that follows says what is wrong if it never is. */
function waitFor(ok: () => boolean, ms = 5000): void {
    const deadline = Date.now() + ms;
    while (!ok()) {
        if (Date.now() > deadline) return;
        spawnSync("sleep", ["0.05"]);
    }
}

/** No temp file in the site (root and private TMPDIR); waits for detached collectors to end. */
function temps(site: Site): string[] {
    return allPaths(site.dir).filter((p) => TEMP.test(p) || /(^|\/)\.tmp-/.test(p) || p.startsWith("tmp/"));
}

const lockFree = (site: Site) => spawnSync("flock", ["-n", path.join(site.root, "var/lib/pve-network-rs/.lock"), "true"]).status === 0;

describe.each(scenarios.map((s) => [s.step, s] as const))("SIGKILL of %s, then a re-run", (_name, sc) => {
    let base: string;
    let reference: Record<string, string>;

    beforeAll(() => {
        const lab = makeLab([NODE]);
        base = lab.dir;
        const site = siteAt(base);
        sc.setup(site);
        const ref = copy("reference");
        const r = sc.run(ref);
        expect([r.status, r.stderr]).toEqual([0, ""]);
        if (sc.bundleOf) waitForPostRollbackBundle(ref.root, sc.bundleOf);
        waitFor(() => temps(ref).length === 0);
        sc.check?.(ref);
        reference = endState(ref);
    });

    afterAll(() => fs.rmSync(base, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 }));

    function copy(name: string): Site {
        const dir = fs.mkdtempSync(path.join(base, `${name.replace(/[^a-z0-9-]/gi, "_")}-`));
        execFileSync("cp", ["-a", "--", path.join(base, "sandbox"), path.join(base, "tmp"), dir], { stdio: "pipe" });
        return siteAt(dir);
    }

    test("the points are distinct and more than two", () => {
        expect(new Set(sc.points.map((p) => p.name)).size).toBe(sc.points.length);
        expect(sc.points.length).toBeGreaterThanOrEqual(3);
    });

    test.each(sc.points.map((p) => [p.name, p] as const))("killed at %s: the re-run completes as an uninterrupted run, no temp file, the lock free", (_p, point) => {
        const site = copy(point.name);
        const marker = path.join(site.root, "var/lib/pve-network-rs/.kill-at");
        fs.mkdirSync(path.dirname(marker), { recursive: true });
        fs.writeFileSync(marker, `${point.name}\n`);
        const killed = sc.run(site);
        expect([killed.status, killed.stderr]).toEqual([70, `pve-migration ${sc.script} on ${NODE}: killed by a signal (exit 137)\n`]);
        expect(fs.existsSync(marker)).toBe(false);
        if (point.debris) expect(allPaths(site.dir).filter((p) => point.debris!.test(p))).toHaveLength(1);
        const again = sc.run(site);
        expect([again.status, again.stderr]).toEqual([0, ""]);
        const want = sc.rerun?.[point.name];
        if (want) expect(again.stdout).toMatch(want);
        if (sc.bundleOf) waitForPostRollbackBundle(site.root, sc.bundleOf);
        waitFor(() => temps(site).length === 0);
        expect(temps(site)).toEqual([]);
        expect(fs.readdirSync(site.tmp)).toEqual([]);
        expect(endState(site)).toEqual(reference);
        sc.check?.(site);
        // The post-rollback bundle's collector holds the lock (shared) until it exits, just after
        // it renames the bundle into place: wait for that exit, bounded by waitFor.
        waitFor(() => lockFree(site));
        expect(lockFree(site)).toBe(true);
        fs.rmSync(site.dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
    });
});

test("kill points do nothing on a node (root /): the hook is only honoured in a sandbox root", () => {
    const script = renderStepScript("config");
    // The hook is the first thing kill_point checks: `is_sandbox || return 0`.
    expect(script).toMatch(/kill_point\(\) \{\n {2}is_sandbox \|\| return 0\n/);
});
