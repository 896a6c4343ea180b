/**
 * What must not go wrong on a node: a step killed mid-write, a missing or corrupted backup, a
 * package whose sha256 does not match, hostile values, two runs at once.
 */
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StackConfig } from "../../components/config/schema";
import { Phase } from "../../components/phases";
import { runPlan, runStep } from "../../components/sandbox/run";
import { NODE_STEPS, renderStepScript, stepCommandLine, shQuote } from "../../components/scripts";
import { planFor, scriptOf, stepArgs } from "../../components/steps";
import { configFiles, installedVersion, makeLab, mustRun, results, tomlAt, tree } from "../support/node";

const planOf = planFor;

/**
 * Start one step with a `sync` whose `nth` call blocks, wait until the step is inside it, and
 * SIGKILL the whole process group there.
 */
async function killInsideSync(cfg: StackConfig, stepId: string, from: Phase, to: Phase, id: string, nth = 1): Promise<void> {
    const shim = fs.mkdtempSync(path.join(os.tmpdir(), "pve-shim-"));
    const mark = path.join(shim, "inside-sync");
    const count = path.join(shim, "calls");
    fs.writeFileSync(
        path.join(shim, "sync"),
        `#!/bin/sh\necho x >> ${shQuote(count)}\n[ "$(wc -l < ${shQuote(count)})" -ge ${nth} ] || exit 0\ncut -d' ' -f5 /proc/$$/stat > ${shQuote(mark)}.tmp\nmv ${shQuote(mark)}.tmp ${shQuote(mark)}\nexec sleep 60\n`,
        { mode: 0o755 },
    );
    const step = planOf(cfg, from, to).steps.find((s) => s.id === stepId);
    if (!step) throw new Error(`no step ${stepId}`);
    const node = cfg.nodes.find((n) => n.name === step.node)!;
    const child = spawn("/bin/sh", ["-c", stepCommandLine(stepArgs({ cfg, node, from, to }, step.kind, id), { step: scriptOf(step.kind) })], {
        env: { ...process.env, PATH: `${shim}:${process.env.PATH}` },
        detached: true,
        stdio: ["pipe", "ignore", "ignore"],
    });
    child.stdin.end(renderStepScript(scriptOf(step.kind)));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_c, s) => resolve(s)));
    for (let i = 0; i < 200 && !fs.existsSync(mark); i++) await new Promise((r) => setTimeout(r, 25));
    expect(fs.existsSync(mark)).toBe(true);
    // The step runs under GNU timeout, which made a process group of its own (the step's):
    // the shim wrote that group's id. A crash kills both groups.
    const stepGroup = Number(fs.readFileSync(mark, "utf8").trim());
    expect(stepGroup).not.toBe(child.pid);
    // The runner's group first: killed second, it could see the step die and exit 70 on its own.
    process.kill(-(child.pid as number), "SIGKILL");
    process.kill(-stepGroup, "SIGKILL");
    expect(await exited).toBe("SIGKILL");
    fs.rmSync(shim, { recursive: true, force: true });
}

describe("SIGKILL in the middle of a transition; the next run converges", () => {
    test("killed while writing the cluster-wide migration.toml during rollback rust-sdn -> perl-only", async () => {
        const lab = makeLab(["pve1", "pve2"]);
        try {
            mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
            const perlEra = configFiles(lab.root("pve1"), "pve1");
            const chain: Phase[] = ["perl-only", "rust-read-only", "rust-basic-write", "rust-advanced", "rust-sdn"];
            for (let i = 1; i < chain.length; i++) mustRun(lab.config(chain[i]), chain[i - 1], chain[i], `e${i}e${i}`);
            fs.appendFileSync(path.join(lab.root("pve1"), "etc/network/interfaces"), "\nauto vmbr9\n");
            const cfg = lab.config("perl-only");
            for (const s of planOf(cfg, "rust-sdn", "perl-only").steps) {
                if (s.id === "lab-cluster-config") break;
                expect(runStep(cfg, s, "rust-sdn", "perl-only", "beef").status).toBe(0);
            }
            await killInsideSync(cfg, "lab-cluster-config", "rust-sdn", "perl-only", "beef");
            // Killed between the temp file and the rename: the live file is the old one, whole.
            const tomlPath = path.join(lab.sandbox, "cluster-pve/network/migration.toml");
            expect(tomlAt(tomlPath).phase).toBe("rust-sdn");
            expect(fs.readdirSync(path.dirname(tomlPath)).filter((f) => f.startsWith(".migration.toml.")).length).toBe(1);
            // `pulumi up` again: the whole plan re-runs and converges (the lock died with the process).
            const runs = mustRun(cfg, "rust-sdn", "perl-only", "beef");
            expect(results(runs).filter((r) => r.startsWith("pve1-"))).toEqual([
                "pve1-snapshot:unchanged",
                "pve1-services:changed",
                "pve1-package:unchanged",
                "pve1-units:unchanged",
                "pve1-restore:changed",
                "pve1-legacy-apply:changed",
                "pve1-network-confirm:changed",
                "pve1-verify:ok",
            ]);
            expect(tomlAt(tomlPath).phase).toBe("perl-only");
            expect(configFiles(lab.root("pve1"), "pve1")).toEqual(perlEra);
        } finally {
            lab.cleanup();
        }
    });

    test("killed while writing the backup; the half-made backup is discarded and taken again", async () => {
        const lab = makeLab(["pve1"]);
        try {
            mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
            mustRun(lab.config("rust-read-only"), "perl-only", "rust-read-only", "e1e1");
            // The first sync is the transition record's; the second is the backup manifest's.
            await killInsideSync(lab.config("rust-basic-write"), "pve1-snapshot", "rust-read-only", "rust-basic-write", "cafe", 2);
            const bdir = path.join(lab.root("pve1"), "var/lib/pve-network-rs/backups");
            expect(fs.readdirSync(bdir).filter((b) => b.startsWith(".tmp-")).length).toBe(1);
            expect(fs.readdirSync(bdir).filter((b) => !b.startsWith("."))).toEqual([]);
            const runs = mustRun(lab.config("rust-basic-write"), "rust-read-only", "rust-basic-write", "cafe");
            expect(runs[0].stdout).toMatch(/step=snapshot result=changed detail=backup \d{8}T\d{6}Z-cafe taken \(5 files\); pruned 0/);
            expect(fs.readdirSync(bdir).filter((b) => b.startsWith(".tmp-"))).toEqual([]);
            expect(fs.readdirSync(bdir).filter((b) => b.endsWith("-cafe"))).toHaveLength(1);
        } finally {
            lab.cleanup();
        }
    });
});

describe("restore refuses, changing nothing", () => {
    function toBasicWrite() {
        const lab = makeLab(["pve1"]);
        mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
        mustRun(lab.config("rust-read-only"), "perl-only", "rust-read-only", "e1e1");
        mustRun(lab.config("rust-basic-write"), "rust-read-only", "rust-basic-write", "e2e2");
        fs.appendFileSync(path.join(lab.root("pve1"), "etc/network/interfaces"), "\nauto vmbr7\n");
        return lab;
    }
    const restoreStep = (lab: ReturnType<typeof makeLab>) => {
        const cfg = lab.config("rust-read-only");
        const step = planOf(cfg, "rust-basic-write", "rust-read-only").steps.find((s) => s.id === "pve1-restore")!;
        return runStep(cfg, step, "rust-basic-write", "rust-read-only", "e3e3");
    };
    const anchor = (lab: ReturnType<typeof makeLab>) => {
        const bdir = path.join(lab.root("pve1"), "var/lib/pve-network-rs/backups");
        return path.join(bdir, fs.readdirSync(bdir).find((b) => b.endsWith("-e2e2")) as string);
    };

    test("when the backup's content does not match its manifest", () => {
        const lab = toBasicWrite();
        try {
            fs.appendFileSync(path.join(anchor(lab), "lxc/101.conf"), "corrupted\n");
            const before = tree(lab.sandbox);
            const r = restoreStep(lab);
            expect(r.status).toBe(65);
            expect(r.stderr).toMatch(
                /^pve-migration restore on pve1: backup \d{8}T\d{6}Z-e2e2 \(recorded in \/\S+\/pve1\/var\/lib\/pve-network-rs\/perl-backup\) does not match its manifest: refusing to restore, nothing changed\n$/,
            );
            const after = tree(lab.sandbox);
            const changed = Object.keys(after).filter((k) => after[k] !== before[k]);
            expect(changed).toEqual(["pve1/var/log/pve-network/migration.log"]);
            expect(
                fs
                    .readFileSync(path.join(lab.root("pve1"), "var/log/pve-network/migration.log"), "utf8")
                    .trim()
                    .split("\n")
                    .pop(),
            ).toMatch(/ step=restore result=failed detail=backup \d{8}T\d{6}Z-e2e2 \(recorded in \S+\) does not match its manifest/);
        } finally {
            lab.cleanup();
        }
    });

    test("when a line of the manifest is missing (a file not covered)", () => {
        const lab = toBasicWrite();
        try {
            const m = path.join(anchor(lab), "MANIFEST.sha256");
            fs.writeFileSync(
                m,
                fs
                    .readFileSync(m, "utf8")
                    .split("\n")
                    .filter((l) => !l.endsWith("  interfaces"))
                    .join("\n"),
            );
            const before = configFiles(lab.root("pve1"), "pve1");
            expect(restoreStep(lab).status).toBe(65);
            expect(configFiles(lab.root("pve1"), "pve1")).toEqual(before);
        } finally {
            lab.cleanup();
        }
    });

    test("when there is no backup at all", () => {
        const lab = toBasicWrite();
        try {
            fs.rmSync(path.join(lab.root("pve1"), "var/lib/pve-network-rs/backups"), { recursive: true });
            const before = configFiles(lab.root("pve1"), "pve1");
            const r = restoreStep(lab);
            expect(r.status).toBe(66);
            expect(r.stderr).toMatch(
                /^pve-migration restore on pve1: backup \d{8}T\d{6}Z-e2e2 \(recorded in \S+\) is missing: refusing to restore, nothing changed\n$/,
            );
            expect(configFiles(lab.root("pve1"), "pve1")).toEqual(before);
        } finally {
            lab.cleanup();
        }
    });
});

describe("backups", () => {
    test("retention keeps the newest N and always the newest Perl-era backup", () => {
        const lab = makeLab(["pve1"]);
        try {
            const chain: Phase[] = ["perl-only", "rust-read-only", "rust-basic-write", "rust-advanced", "rust-sdn", "rust-full"];
            mustRun(lab.config("perl-only", { retention: 2 }), "perl-only", "perl-only", "0");
            for (let i = 1; i < chain.length; i++) mustRun(lab.config(chain[i], { retention: 2 }), chain[i - 1], chain[i], `f${i}f${i}`);
            const bdir = path.join(lab.root("pve1"), "var/lib/pve-network-rs/backups");
            // Backups were taken entering basic-write (f2f2, the Perl-era one), advanced (f3f3), sdn (f4f4), full (f5f5).
            expect(
                fs
                    .readdirSync(bdir)
                    .map((b) => b.replace(/^\d{8}T\d{6}Z-/, ""))
                    .sort(),
            ).toEqual(["f2f2", "f4f4", "f5f5"]);
            const f2 = fs.readdirSync(bdir).find((b) => b.endsWith("-f2f2")) as string;
            expect(fs.readFileSync(path.join(bdir, f2, "meta"), "utf8")).toMatch(
                /^id=\d{8}T\d{6}Z-f2f2\nnode=pve1\ntransition=f2f2\nfrom=rust-read-only\nto=rust-basic-write\ncreated=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\nperl_state=1\nabsent=\n$/,
            );
            expect(
                fs
                    .readFileSync(path.join(bdir, f2, "MANIFEST.sha256"), "utf8")
                    .split("\n")
                    .filter(Boolean)
                    .map((l) => l.slice(66)),
            ).toEqual(["interfaces", "lxc/101.conf", "lxc/102.conf", "meta", "sdn.cfg", "storage.cfg"]);
        } finally {
            lab.cleanup();
        }
    });
});

describe("package pinning", () => {
    test("a .deb whose sha256 differs from the pin is not installed", () => {
        const lab = makeLab(["pve1"]);
        try {
            mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
            const cfg = lab.config("perl-only", { version: "0.5.0-1" });
            const wrong: StackConfig = { ...cfg, package: { ...cfg.package, sha256: lab.debs["0.4.2-1"].sha256 } };
            const runs = runPlan(wrong, "perl-only", "perl-only", "0");
            const pkg = runs.find((r) => r.id === "pve1-package")!;
            expect(pkg.status).toBe(65);
            expect(pkg.stderr).toBe(
                `pve-migration package on pve1: sha256 mismatch for pve-network-rs 0.5.0-1: expected ${lab.debs["0.4.2-1"].sha256}, got ${lab.debs["0.5.0-1"].sha256}; not installed\n`,
            );
            expect(installedVersion(lab.root("pve1"))).toBe("0.4.2-1");
            expect(fs.readdirSync(path.join(lab.root("pve1"), "var/cache/pve-network-rs"))).toEqual(["pve-network-rs_0.4.2-1_amd64.deb"]);
        } finally {
            lab.cleanup();
        }
    });
});

describe("hostile values execute nothing", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pve-hostile-"));
    const mark = path.join(dir, "PWNED");
    const payloads = [
        `pve1'; touch ${mark}; '`,
        `$(touch ${mark})`,
        `\`touch ${mark}\``,
        `pve1;touch ${mark}`,
        `pve1\ntouch ${mark}`,
        `pve1" && touch ${mark} && "`,
    ];
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("shQuote delivers every payload to the script as one literal argument", () => {
        for (const p of payloads) {
            const r = spawnSync("/bin/sh", ["-c", `printf '%s\\0' ${shQuote(p)} ${shQuote("next")}`], { encoding: "utf8" });
            expect(r.stdout).toBe(`${p}\0next\0`);
        }
        expect(fs.existsSync(mark)).toBe(false);
    });

    test.each(NODE_STEPS.filter((s) => s !== "rules").map((s) => [s]))("step %s refuses a hostile node name and runs nothing", (step) => {
        const lab = makeLab(["pve1"]);
        try {
            const cfg = lab.config("rust-basic-write");
            for (const p of payloads) {
                const node = { ...cfg.nodes[0], name: p };
                const args = stepArgs({ cfg: { ...cfg, nodes: [node] }, node, from: "rust-read-only", to: "rust-basic-write" }, step, "abcd");
                const r = spawnSync("/bin/sh", ["-c", stepCommandLine(args, { step })], { input: renderStepScript(step), encoding: "utf8" });
                expect(r.status).toBe(64);
                expect(r.stderr).toBe(`pve-migration ${step}: --node is not a node name\n`);
            }
            expect(fs.existsSync(mark)).toBe(false);
        } finally {
            lab.cleanup();
        }
    });

    test("hostile paths, URLs and commands are data: paths refused (exit 64, nothing written), downloads and commands fail", () => {
        const lab = makeLab(["pve1"]);
        try {
            const cfg = lab.config("perl-only");
            const node = cfg.nodes[0];
            const run = (step: Exclude<(typeof NODE_STEPS)[number], "rules">, c: StackConfig) =>
                spawnSync("/bin/sh", ["-c", stepCommandLine(stepArgs({ cfg: c, node, from: "perl-only", to: "perl-only" }, step, "abcd"), { step })], {
                    input: renderStepScript(step),
                    encoding: "utf8",
                });
            for (const p of payloads.slice(1, 4)) {
                const pathCfg: StackConfig = { ...cfg, migrationConfig: { ...cfg.migrationConfig, path: `/etc/pve/x${p}/migration.toml` } };
                // Outside the schema's characters (components/config/bounds.ts PATH_ERE): the script refuses it too.
                const c = run("config", pathCfg);
                expect([c.status, c.stderr]).toEqual([64, "pve-migration config: not a path of plain characters\n"]);
                expect(fs.existsSync(path.join(lab.sandbox, "cluster-pve", `x${p}`))).toBe(false);
                const urlCfg: StackConfig = { ...cfg, package: { ...cfg.package, path: undefined, url: `https://127.0.0.1:9/x${p}.deb` } };
                const u = run("package", urlCfg);
                expect(u.status).toBe(69);
                const cmdCfg: StackConfig = { ...cfg, commands: { ...cfg.commands, legacyValidate: [p], legacyApply: [p] } };
                const l = run("legacy-apply", cmdCfg);
                expect(l.status).toBe(65);
                expect(l.stderr).toContain("legacy validate failed, not applying");
            }
            expect(fs.existsSync(mark)).toBe(false);
        } finally {
            lab.cleanup();
        }
    });
});

describe("one step at a time per node", () => {
    test("a step waits for the node lock and gives up with exit 75 when another holds it", () => {
        const lab = makeLab(["pve1"]);
        try {
            mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
            const lock = path.join(lab.root("pve1"), "var/lib/pve-network-rs/.lock");
            const holder = spawn("flock", [lock, "sleep", "30"], { stdio: "ignore" });
            execFileSync("sleep", ["0.3"]);
            const cfg = lab.config("rust-read-only");
            const args = stepArgs({ cfg, node: cfg.nodes[0], from: "perl-only", to: "rust-read-only" }, "services");
            const r = spawnSync("/bin/sh", ["-c", stepCommandLine({ ...args, options: { ...args.options, "lock-timeout": "1" } }, { step: "services" })], {
                input: renderStepScript("services"),
                encoding: "utf8",
            });
            holder.kill("SIGKILL");
            expect(r.status).toBe(75);
            expect(r.stderr).toBe(`pve-migration services on pve1: another migration step holds ${path.join(lab.root("pve1"), "var/lib/pve-network-rs")}/.lock\n`);
            expect(fs.existsSync(path.join(lab.root("pve1"), "var/lib/pve-network-rs/middleware.config-sha256"))).toBe(true);
            expect(
                fs
                    .readFileSync(path.join(lab.root("pve1"), "var/log/pve-network/migration.log"), "utf8")
                    .trim()
                    .split("\n")
                    .pop(),
            ).toMatch(/ node=pve1 from=rust-read-only to=rust-read-only step=services result=failed detail=another migration step holds /);
        } finally {
            lab.cleanup();
        }
    });
});

describe("node-scoped migration config (canaries that differ inside one cluster)", () => {
    test("each node gets its own file under /etc/pve/nodes/<node>/ and no cluster step runs", () => {
        const lab = makeLab(["pve1", "pve2"]);
        try {
            const runs = mustRun(lab.config("perl-only", { scope: "node" }), "perl-only", "perl-only", "0");
            expect(runs.map((r) => r.id)).toEqual([
                "pve1-package",
                "pve1-units",
                "pve1-config",
                "pve1-services",
                "pve1-verify",
                "pve2-package",
                "pve2-units",
                "pve2-config",
                "pve2-services",
                "pve2-verify",
            ]);
            for (const n of lab.nodes) {
                expect(tomlAt(path.join(lab.sandbox, "cluster-pve/nodes", n, "network/migration.toml")).phase).toBe("perl-only");
                expect(fs.readFileSync(path.join(lab.root(n), "etc/systemd/system/pve-network-rs.service"), "utf8")).toContain(
                    `--config /etc/pve/nodes/${n}/network/migration.toml`,
                );
            }
            expect(fs.existsSync(path.join(lab.sandbox, "cluster-pve/network/migration.toml"))).toBe(false);
        } finally {
            lab.cleanup();
        }
    });
});
