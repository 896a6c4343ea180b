/**
 * The network dead-man switch on a sandbox node (real bash, the steps through their command
 * lines and the node's step stub): a rollback's snapshot saves the network files, legacy-apply
 * arms the revert before it applies, network-confirm takes the arm; the revert script
 * (net-guard/revert.sh, which a systemd timer runs on a node) is run here by the test, as the
 * timer would, since a sandbox root has no service manager (the node lab runs the real timer).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { StackConfig } from "../../components/config/schema";
import { Phase } from "../../components/phases";
import { PlannedStep } from "../../components/plan";
import { StepRun, runStep, waitForPostRollbackBundle } from "../../components/sandbox/run";
import { planFor } from "../../components/steps";
import { Lab, makeLab, mustRun, simulateRustWrites } from "../support/node";

const NODE = "pve1";
const FROM: Phase = "rust-basic-write";
const TID = "d0d0";

/** The managed network files of a root, by node path (absent ones left out). */
function networkFiles(root: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const p of ["/etc/network/interfaces", "/etc/network/interfaces.new", "/etc/frr/frr.conf"]) {
        const f = path.join(root, p);
        if (fs.existsSync(f)) out[p] = fs.readFileSync(f, "utf8");
    }
    const d = path.join(root, "etc/network/interfaces.d");
    if (fs.existsSync(d)) for (const f of fs.readdirSync(d).sort()) out[`/etc/network/interfaces.d/${f}`] = fs.readFileSync(path.join(d, f), "utf8");
    return out;
}

function guard(root: string, name: string): string {
    return path.join(root, "var/lib/pve-network-rs/net-guard", name);
}

function kv(file: string): Record<string, string> {
    return Object.fromEntries(
        fs
            .readFileSync(file, "utf8")
            .trimEnd()
            .split("\n")
            .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
}

/** The revert, as the node's timer runs it (`/bin/bash revert.sh --root ... --node ... --transition ...`). */
function fireRevert(root: string, extra: string[] = []) {
    return spawnSync("/bin/bash", [guard(root, "revert.sh"), "--root", root, "--node", NODE, "--transition", TID, ...extra], { encoding: "utf8" });
}

function lastLogLine(root: string): string {
    return fs.readFileSync(path.join(root, "var/log/pve-network/migration.log"), "utf8").trimEnd().split("\n").pop()!;
}

interface Rollback {
    readonly lab: Lab;
    readonly root: string;
    readonly cfg: StackConfig;
    readonly steps: PlannedStep[];
    /** The network files when the rollback starts (what the node runs). */
    readonly start: Record<string, string>;
    run(kind: string, cfg?: StackConfig): StepRun;
}

/**
 * A node walked to rust-basic-write with Rust's writes (and an interfaces.d file and frr.conf of
 * its own), then the rollback to perl-only run up to and including legacy-apply.
 */
function rollbackUpToApply(cfgOf: (c: StackConfig) => StackConfig = (c) => c): Rollback {
    const lab = makeLab([NODE]);
    const root = lab.root(NODE);
    mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
    mustRun(lab.config("rust-read-only"), "perl-only", "rust-read-only", "e1e1");
    mustRun(lab.config(FROM), "rust-read-only", FROM, "e2e2");
    simulateRustWrites(root, NODE, "rs");
    fs.mkdirSync(path.join(root, "etc/network/interfaces.d"), { recursive: true });
    fs.writeFileSync(path.join(root, "etc/network/interfaces.d/sdn"), "auto vxlan100\niface vxlan100\n\tvxlan-id 100\n");
    fs.mkdirSync(path.join(root, "etc/frr"), { recursive: true });
    fs.writeFileSync(path.join(root, "etc/frr/frr.conf"), "router bgp 65000\n");
    const start = networkFiles(root);
    const cfg = cfgOf(lab.config("perl-only"));
    const steps = planFor(cfg, FROM, "perl-only").steps as PlannedStep[];
    const run = (kind: string, c: StackConfig = cfg) => {
        const step = steps.find((s) => s.kind === kind);
        if (!step) throw new Error(`no ${kind} step`);
        return runStep(c, step, FROM, "perl-only", TID);
    };
    for (const s of steps) {
        const r = run(s.kind);
        if (r.status !== 0) throw new Error(`${s.id} failed (${r.status}): ${r.stdout}${r.stderr}`);
        if (s.kind === "legacy-apply") break;
    }
    return { lab, root, cfg, steps, start, run };
}

describe("the network dead-man switch on a sandbox node (revert script run by the test, as the node's timer would)", () => {
    test("a rollback plans network-confirm after legacy-apply, in a command of its own, before verify", () => {
        const lab = makeLab([NODE]);
        try {
            const kinds = planFor(lab.config("perl-only"), FROM, "perl-only").steps.map((s) => s.kind);
            expect(kinds.slice(kinds.indexOf("legacy-apply"))).toEqual(["legacy-apply", "network-confirm", "verify"]);
        } finally {
            lab.cleanup();
        }
    });

    test("snapshot saves the network files of the start; legacy-apply arms before it applies; network-confirm takes the arm, and the revert then does nothing", () => {
        const rb = rollbackUpToApply();
        try {
            const { root } = rb;
            const log = fs.readFileSync(path.join(root, "var/log/pve-network/migration.log"), "utf8");
            // 4 files: interfaces, frr.conf, interfaces.d/sdn and the sandbox's own interfaces.d files.
            const saved = Object.keys(rb.start).length;
            expect(log).toContain(`step=snapshot result=changed detail=`);
            expect(log).toMatch(new RegExp(`step=snapshot result=\\w+ detail=.*; saved ${saved} network file\\(s\\) for the dead-man switch\\n`));
            expect(kv(guard(root, "saved/manifest"))).toEqual({
                transition: TID,
                at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
                files: String(saved),
            });
            for (const [p, text] of Object.entries(rb.start)) expect(fs.readFileSync(guard(root, `saved/files${p}`), "utf8")).toBe(text);
            expect(lastLogLine(root)).toMatch(
                / step=legacy-apply result=changed detail=validated and applied through pvenet-legacy; armed the dead-man switch \(30 s; no timer: sandbox\): network-confirm confirms over a new connection$/,
            );
            const armed = kv(guard(root, "armed"));
            expect(armed).toEqual({ transition: TID, at: expect.stringMatching(/^\d+$/), timeout: "30" });
            expect(fs.existsSync(guard(root, "revert.sh"))).toBe(true);

            const c = rb.run("network-confirm");
            expect([c.status, c.stderr]).toEqual([0, ""]);
            expect(c.stdout).toMatch(
                /^\S+ node=pve1 from=rust-basic-write to=perl-only step=network-confirm result=changed detail=confirmed the network apply over a new connection \d+ s after it was armed \(deadline 30 s\); the dead-man switch is disarmed; restart of pve-network.service skipped: sandbox\n$/,
            );
            expect(fs.existsSync(guard(root, "armed"))).toBe(false);
            expect(kv(guard(root, "confirmed"))).toEqual(armed);

            const applied = networkFiles(root);
            const r = fireRevert(root);
            expect([r.status, r.stdout, r.stderr]).toEqual([0, "", ""]);
            expect(networkFiles(root)).toEqual(applied);
            expect(fs.existsSync(guard(root, "fired"))).toBe(false);

            const again = rb.run("network-confirm");
            // Its own command run again: the arm stays confirmed, and the legacy service's restart runs again.
            expect(again.stdout).toMatch(
                / step=network-confirm result=changed detail=an earlier run of this step confirmed the network apply of transition d0d0 \(deadline 30 s\); the dead-man switch is disarmed; restart of pve-network.service skipped: sandbox\n$/,
            );
            const v = rb.run("verify");
            expect(v.status).toBe(0);
            waitForPostRollbackBundle(root, TID);
        } finally {
            rb.lab.cleanup();
        }
    });

    test("no confirmation: the revert puts back the start's files, forgets the apply, and network-confirm fails naming it; raising applyAttempt applies the same files again", () => {
        const rb = rollbackUpToApply();
        try {
            const { root } = rb;
            // What the rollback applied: the backup's interfaces; and what the apply left beside it.
            const applied = networkFiles(root);
            expect(applied["/etc/network/interfaces"]).not.toBe(rb.start["/etc/network/interfaces"]);
            fs.writeFileSync(path.join(root, "etc/network/interfaces.d/late"), "auto vmbr7\n");
            fs.writeFileSync(path.join(root, "etc/network/interfaces.new"), "pending\n");
            fs.writeFileSync(path.join(root, "etc/frr/frr.conf"), "router bgp 65001\n");
            const left = networkFiles(root);
            expect(fs.existsSync(path.join(root, "var/lib/pve-network-rs/legacy-applied.sha256"))).toBe(true);

            const r = fireRevert(root);
            const detail =
                "the dead-man switch reverted the network apply of transition d0d0: no confirmation within 30 s; restored 4 file(s): " +
                "/etc/network/interfaces removed:/etc/network/interfaces.new /etc/frr/frr.conf removed:/etc/network/interfaces.d/late; ifreload -a skipped: sandbox";
            expect([r.status, r.stdout, r.stderr]).toEqual([0, `${detail}\n`, ""]);
            expect(networkFiles(root)).toEqual(rb.start);
            expect(fs.existsSync(path.join(root, "var/lib/pve-network-rs/legacy-applied.sha256"))).toBe(false);
            expect(fs.existsSync(guard(root, "armed"))).toBe(false);
            expect(fs.existsSync(guard(root, "firing"))).toBe(false);
            const fired = kv(guard(root, "fired"));
            expect(fired).toEqual({
                transition: TID,
                at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
                reason: "no confirmation within 30 s",
                detail,
            });
            expect(lastLogLine(root)).toBe(`${fired.at} node=pve1 from=rust-basic-write to=perl-only step=network-revert result=reverted detail=${detail}`);
            // What the apply left is kept for applying again.
            for (const [p, text] of Object.entries(left)) expect(fs.readFileSync(guard(root, `attempted/files${p}`), "utf8")).toBe(text);

            // A second firing (the timer and an immediate revert, say) changes nothing.
            const twice = fireRevert(root);
            expect([twice.status, twice.stdout]).toEqual([0, ""]);
            expect(networkFiles(root)).toEqual(rb.start);

            const c = rb.run("network-confirm");
            expect(c.status).toBe(75);
            expect(c.stderr).toBe(
                `pve-migration network-confirm on pve1: ${detail} (at ${fired.at}). Nothing was confirmed: the node runs the network it ran before this transition. ` +
                    "Once the cause is fixed, raise pve-migration:network.applyAttempt to apply the same files again, or name another backup in pve-migration:backups.restoreId to restore and apply it\n",
            );
            expect(networkFiles(root)).toEqual(rb.start);

            // network.applyAttempt raised: legacy-apply puts the apply's files back and applies them under a new arm.
            const next = { ...rb.cfg, network: { ...rb.cfg.network, applyAttempt: 1 } };
            const a = rb.run("legacy-apply", next);
            expect([a.status, a.stderr]).toEqual([0, ""]);
            expect(a.stdout).toMatch(
                / step=legacy-apply result=changed detail=validated and applied through pvenet-legacy; armed the dead-man switch \(30 s; no timer: sandbox\): network-confirm confirms over a new connection; applied again after the dead-man switch reverted it \(put back the files of the reverted apply: 4 file\(s\): \/etc\/network\/interfaces \/etc\/network\/interfaces.new \/etc\/frr\/frr.conf \/etc\/network\/interfaces.d\/late\)\n$/,
            );
            expect(networkFiles(root)).toEqual(left);
            expect(fs.existsSync(guard(root, "fired"))).toBe(false);
            const c2 = rb.run("network-confirm", next);
            expect(c2.status).toBe(0);
            expect(c2.stdout).toMatch(/ result=changed detail=confirmed the network apply over a new connection \d+ s after it was armed \(deadline 30 s\)/);
        } finally {
            rb.lab.cleanup();
        }
    });

    test("after a revert, a restore that runs again (another backup) supersedes the apply's files: legacy-apply applies what it restored", () => {
        const rb = rollbackUpToApply();
        try {
            const { root } = rb;
            const restored = networkFiles(root)["/etc/network/interfaces"];
            fs.writeFileSync(path.join(root, "etc/network/interfaces.d/late"), "auto vmbr7\n");
            expect(fireRevert(root).status).toBe(0);
            expect(networkFiles(root)).toEqual(rb.start);
            const rs = rb.run("restore");
            expect(rs.stdout).toMatch(/ step=restore result=changed detail=restored 1 node file\(s\) from backup /);
            expect(fs.existsSync(guard(root, "attempted"))).toBe(false);
            const a = rb.run("legacy-apply");
            expect(a.stdout).toMatch(
                / step=legacy-apply result=changed detail=validated and applied through pvenet-legacy; armed the dead-man switch \(30 s; no timer: sandbox\): network-confirm confirms over a new connection\n$/,
            );
            expect(networkFiles(root)).toEqual({ ...rb.start, "/etc/network/interfaces": restored });
            expect(rb.run("network-confirm").status).toBe(0);
        } finally {
            rb.lab.cleanup();
        }
    });

    test("an apply that fails is reverted at once, naming the failure", () => {
        const lab = makeLab([NODE]);
        try {
            const root = lab.root(NODE);
            mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
            mustRun(lab.config("rust-read-only"), "perl-only", "rust-read-only", "e1e1");
            fs.mkdirSync(path.join(root, "etc/network/interfaces.d"), { recursive: true });
            const base = lab.config("perl-only");
            const cfg = {
                ...base,
                commands: { ...base.commands, legacyApply: ["sh", "-c", 'echo half-applied > "$PVE_ROOT/etc/network/interfaces.d/half"; echo cut off >&2; exit 3'] },
            };
            const start = networkFiles(root);
            const runs = (() => {
                const out: StepRun[] = [];
                for (const s of planFor(cfg, "rust-read-only", "perl-only").steps) {
                    const r = runStep(cfg, s, "rust-read-only", "perl-only", TID);
                    out.push(r);
                    if (r.status !== 0) break;
                }
                return out;
            })();
            const last = runs[runs.length - 1];
            expect(last.id).toBe("pve1-legacy-apply");
            expect(last.status).toBe(70);
            expect(last.stderr).toBe(
                "pve-migration legacy-apply on pve1: legacy apply failed: cut off; the dead-man switch reverted the network apply of transition d0d0: the apply failed (exit 3); " +
                    "restored 1 file(s): removed:/etc/network/interfaces.d/half; ifreload -a skipped: sandbox\n",
            );
            expect(networkFiles(root)).toEqual(start);
            expect(kv(guard(root, "fired")).reason).toBe("the apply failed (exit 3)");
        } finally {
            lab.cleanup();
        }
    });

    test("a failing health command does not confirm (the arm stays for the timer); a passing one is named", () => {
        const health = (cmd: string[]) => (c: StackConfig) => ({ ...c, network: { ...c.network, healthCommand: cmd } });
        const bad = rollbackUpToApply(health(["sh", "-c", "echo 'Quorate: No'; exit 2"]));
        try {
            const c = bad.run("network-confirm");
            expect(c.status).toBe(65);
            expect(c.stderr).toBe(
                "pve-migration network-confirm on pve1: the health command sh failed, not confirming the network apply (the dead-man switch reverts it at its deadline): Quorate: No\n",
            );
            expect(kv(guard(bad.root, "armed")).transition).toBe(TID);
        } finally {
            bad.lab.cleanup();
        }
        const good = rollbackUpToApply(health(["true"]));
        try {
            const c = good.run("network-confirm");
            expect(c.status).toBe(0);
            expect(c.stdout).toMatch(
                / detail=confirmed the network apply over a new connection \d+ s after it was armed \(deadline 30 s\); true passed; the dead-man switch is disarmed; /,
            );
        } finally {
            good.lab.cleanup();
        }
    });

    test("network-confirm of a transition with nothing armed does nothing, and leaves another transition's arm to its timer", () => {
        const rb = rollbackUpToApply();
        try {
            const { root } = rb;
            const before = fs.readFileSync(guard(root, "armed"), "utf8");
            const step = rb.steps.find((s) => s.kind === "network-confirm")!;
            const r = runStep(rb.cfg, step, FROM, "perl-only", "d1d1");
            expect([r.status, r.stderr]).toEqual([0, ""]);
            expect(r.stdout).toMatch(/ step=network-confirm result=unchanged detail=no network apply of transition d1d1 waits for confirmation\n$/);
            expect(fs.readFileSync(guard(root, "armed"), "utf8")).toBe(before);
            expect(fs.existsSync(guard(root, "confirmed"))).toBe(false);
        } finally {
            rb.lab.cleanup();
        }
    });

    test("legacy-apply refuses, applying nothing, when the transition's start was not saved", () => {
        const rb = rollbackUpToApply();
        try {
            const { root } = rb;
            fs.rmSync(guard(root, "saved"), { recursive: true });
            fs.rmSync(path.join(root, "var/lib/pve-network-rs/legacy-applied.sha256"));
            const calls = path.join(root, "var/log/pve-network/legacy-calls.log");
            const before = fs.existsSync(calls) ? fs.readFileSync(calls, "utf8") : "";
            const a = rb.run("legacy-apply");
            expect(a.status).toBe(66);
            expect(a.stderr).toBe(
                `pve-migration legacy-apply on pve1: no network files saved at the start of transition d0d0 under ${root}/var/lib/pve-network-rs/net-guard/saved (the snapshot step saves them): not applying a network change that could not be reverted\n`,
            );
            expect((fs.existsSync(calls) ? fs.readFileSync(calls, "utf8") : "").split("\n").filter((l) => / apply$/.test(l))).toEqual(
                before.split("\n").filter((l) => / apply$/.test(l)),
            );
        } finally {
            rb.lab.cleanup();
        }
    });

    test("the revert script refuses hostile arguments before it touches anything", () => {
        const rb = rollbackUpToApply();
        try {
            const { root } = rb;
            const bad = [
                [["--root", root, "--node", "$(touch /tmp/pwned)", "--transition", TID], "net-revert: --node is not a node name\n"],
                [["--root", root, "--node", NODE, "--transition", "d0d0;id"], "net-revert: --transition must be hex\n"],
                [["--root", "relative", "--node", NODE, "--transition", TID], "net-revert: --root must be an absolute path\n"],
                [["--root", root, "--node", NODE, "--transition", TID, "--put-back", "saved"], "net-revert: --put-back must be attempted\n"],
                [["--root", root, "--node", NODE, "--transition", TID, "--evil", "x"], "net-revert: unknown argument --evil\n"],
            ] as const;
            const files = networkFiles(root);
            for (const [args, err] of bad) {
                const r = spawnSync("/bin/bash", [guard(root, "revert.sh"), ...args], { encoding: "utf8" });
                expect([r.status, r.stdout, r.stderr]).toEqual([2, "", err]);
            }
            expect(fs.existsSync("/tmp/pwned")).toBe(false);
            expect(kv(guard(root, "armed")).transition).toBe(TID);
            expect(networkFiles(root)).toEqual(files);
        } finally {
            rb.lab.cleanup();
        }
    });
});
