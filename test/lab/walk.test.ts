/**
 * Scenario 1 on the node lab: the project's program, through the replay of registered resources
 * (a stand-in for the Pulumi engine and @pulumi/command that executes the registered commands
 * over real OpenSSH), walks three real nspawn nodes from perl-only to rust-full one phase at a
 * time and rolls back to perl-only in one run. pve1 and pve2 are reached as root, pve3 as the
 * sudo user (`sudo -n`). Needs root and systemd-nspawn, as test/lab/lab.test.ts.
 */
import * as fs from "fs";
import * as path from "path";
import { Lab, startLab, teardown } from "../../lab";
import { PHASES } from "../../components/phases";
import { LIBRARY_DIR, installedLibraryPath, renderStepLibrary } from "../../components/scripts";
import { ReplayState } from "../support/replay";
import { Up } from "../support/program-replay";
import { Probe, UnitState, ok, probeAll, ranSteps, sh, unit, upLab } from "../support/lab-scenarios";

jest.setTimeout(180_000);

const CLUSTER = "pve-lab";
const MW = "pve-network-migration.service";
const RUST = "pve-network-rs.service";
const NET = "networking.service";
const SUDO_NODES = ["pve3"];
const FILES = ["/etc/network/interfaces", "/etc/pve/sdn.cfg", "/etc/pve/storage.cfg"];

let lab: Lab;
let state: ReplayState | undefined;
const network: Record<string, UnitState> = {};
const perlEra: Record<string, Record<string, string>> = {};
const timings: Record<string, number> = {};

beforeAll(async () => {
    lab = await startLab({ nodes: 3, fresh: true });
    // The Perl-era cluster files (pmxcfs stand-in: one folder for every node).
    fs.writeFileSync(path.join(lab.pveDir, "sdn.cfg"), "zone: lab\n\ttype simple\n\tipam pve\n");
    fs.writeFileSync(path.join(lab.pveDir, "storage.cfg"), "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n");
    for (const n of lab.nodes) {
        network[n.name] = await unit(lab, n.name, NET);
        perlEra[n.name] = Object.fromEntries(await Promise.all(FILES.map(async (f) => [f, await ok(lab, n.name, ["cat", f])])));
    }
}, 300_000);

afterAll(async () => {
    await teardown(lab?.stateDir);
    console.log(`walk timings (ms): ${JSON.stringify(timings)}`);
});

async function run(phase: string): Promise<Up> {
    const t = Date.now();
    const r = await upLab(lab, { phase, sudoNodes: SUDO_NODES, state });
    timings[phase in timings ? `${phase} (again)` : phase] = Date.now() - t;
    expect(r.replay.errors).toEqual([]);
    state = r.state;
    return r;
}

/** Units and migration.log of every node, one ssh session each. */
const probes = () => probeAll(lab, [MW, RUST, NET]);
const field = (p: Record<string, Probe>, u: string) => Object.fromEntries(Object.entries(p).map(([n, x]) => [n, x.units[u]]));

/** Every node: the log lines this run added are exactly one per step that ran on it. */
function expectOneLogLinePerStep(r: Up, before: Record<string, Probe>, after: Record<string, Probe>, from: string, to: string): void {
    const ran = ranSteps(lab, CLUSTER, r);
    for (const n of lab.nodes) {
        const added = after[n.name].log.slice(before[n.name].log.length);
        expect({ node: n.name, steps: added.map((l) => l.step).sort() }).toEqual({ node: n.name, steps: ran[n.name] });
        expect(added.map((l) => [l.node, l.from, l.to])).toEqual(added.map(() => [n.name, from, to]));
    }
}

/** The middleware restarted on every node between two probes (new MainPID, later ActiveEnterTimestamp). */
function expectRestarted(before: Record<string, Probe>, after: Record<string, Probe>): void {
    for (const n of lab.nodes) {
        const [b, a] = [before[n.name].units[MW], after[n.name].units[MW]];
        expect({ node: n.name, active: a.active, newPid: a.pid > 1 && a.pid !== b.pid, later: a.since > b.since }).toEqual({
            node: n.name,
            active: "active",
            newPid: true,
            later: true,
        });
    }
}

const PROMOTION_STEPS = {
    pve1: ["config", "package", "services", "snapshot", "units", "verify"],
    pve2: ["package", "services", "snapshot", "units", "verify"],
    pve3: ["package", "services", "snapshot", "units", "verify"],
};

describe("walk perl-only -> rust-full -> perl-only on the node lab, by the replay of registered resources", () => {
    it("perl-only -> rust-read-only: package installed, middleware started, the Rust daemon enabled and started; pve3 through sudo -n", async () => {
        const before = await probes();
        const r = await run("rust-read-only");
        const after = await probes();
        expect(ranSteps(lab, CLUSTER, r)).toEqual(PROMOTION_STEPS);
        // The step library went to each node once (CopyToRemote over SFTP, as the SSH user: pvemig on pve3),
        // and each node's steps installed it into the root's folder, checked by its sha256.
        expect(r.ran.filter((x) => x.endsWith("-step-library")).sort()).toEqual(["pve1-step-library", "pve2-step-library", "pve3-step-library"]);
        const lib = renderStepLibrary();
        for (const n of lab.nodes) {
            expect(await ok(lab, n.name, ["sha256sum", installedLibraryPath("/", lib)])).toBe(`${lib.sha256}  ${installedLibraryPath("/", lib)}\n`);
            expect(await ok(lab, n.name, ["stat", "-c", "%a %U", LIBRARY_DIR])).toBe("700 root\n");
        }
        expectOneLogLinePerStep(r, before, after, "perl-only", "rust-read-only");
        for (const n of lab.nodes) {
            const { [MW]: mw, [RUST]: rust } = after[n.name].units;
            expect({ node: n.name, rust: [rust.active, rust.enabled, rust.pid > 1], mw: [mw.active, mw.pid > 1] }).toEqual({
                node: n.name,
                rust: ["active", "enabled", true],
                mw: ["active", true],
            });
        }
        expect(await ok(lab, "pve2", ["dpkg-query", "-W", "-f", "${Version}", "pve-network-rs"])).toBe(lab.version);
        // pve3's steps ran as pvemig through sudo -n, one sudo command per command resource (sudo's own log;
        // it cuts the logged command line short, so the runner's first lines are what it shows).
        // By syslog identifier (in the message), not by unit or command (read by journald from /proc
        // of a sender that may have exited).
        const journal = await ok(lab, "pve3", sh("journalctl -t sshd -o cat --no-pager; echo @@sudo; journalctl -t sudo -o cat --no-pager"));
        const [sshd, sudoLog] = journal.split("@@sudo\n");
        expect(sshd).toMatch(/^Accepted publickey for pvemig from 10\.181\.0\.1 /m);
        const sudo = sudoLog.split("\n").filter((l) => l.includes("COMMAND="));
        // (the copies of the .deb and the step library go over SFTP, not through sudo)
        const pve3Commands = r.ran.filter((x) => x.startsWith("pve3-") && !x.endsWith("-step-library") && !x.endsWith("-deb"));
        expect(pve3Commands.sort()).toEqual(["pve3-services-verify", "pve3-snapshot-package-units"]);
        expect(
            sudo.map((l) => /^ *pvemig : PWD=\/home\/pvemig ; USER=root ; COMMAND=\/usr\/bin\/bash -c 'exec 3>&2 2>\/dev\/null#012script=\$\(cat\)#012/.test(l)),
        ).toEqual(pve3Commands.map(() => true));
        expect(r.outputs.phase).toBe("rust-read-only");
    });

    it("the same phase again: every step re-run reports unchanged and restarts nothing; a third run runs nothing", async () => {
        const before = await probes();
        // The deployed phase is now rust-read-only: the plan is rust-read-only -> rust-read-only,
        // a new transition id, so the steps' inputs change and they run again (no snapshot: not a transition).
        const again = await run("rust-read-only");
        const after = await probes();
        expect(again.ran.filter((x) => x.endsWith("-step-library"))).toEqual([]);
        expect(ranSteps(lab, CLUSTER, again)).toEqual({
            pve1: ["config", "package", "services", "units", "verify"],
            pve2: ["package", "services", "units", "verify"],
            pve3: ["package", "services", "units", "verify"],
        });
        expectOneLogLinePerStep(again, before, after, "rust-read-only", "rust-read-only");
        for (const n of lab.nodes) {
            const added = after[n.name].log.slice(before[n.name].log.length);
            expect(added.filter((l) => l.result !== "unchanged").map((l) => [l.step, l.result])).toEqual([["verify", "ok"]]);
        }
        expect(field(after, MW)).toEqual(field(before, MW));
        expect(field(after, RUST)).toEqual(field(before, RUST));
        const third = await run("rust-read-only");
        expect(third.ran).toEqual([]);
    });

    for (const [from, to] of [
        ["rust-read-only", "rust-basic-write"],
        ["rust-basic-write", "rust-advanced"],
        ["rust-advanced", "rust-sdn"],
        ["rust-sdn", "rust-full"],
    ]) {
        it(`${from} -> ${to}: backup, migration.toml written once through pve1, the middleware restarted on every node, the daemon kept running`, async () => {
            const before = await probes();
            const r = await run(to);
            const after = await probes();
            expect(ranSteps(lab, CLUSTER, r)).toEqual(PROMOTION_STEPS);
            expectOneLogLinePerStep(r, before, after, from, to);
            expectRestarted(before, after);
            expect(field(after, RUST)).toEqual(field(before, RUST));
            const id = (r.outputs.transition as { id: string }).id;
            for (const n of lab.nodes) {
                const snap = after[n.name].log.find((l) => l.to === to && l.step === "snapshot")!;
                expect(snap.detail).toMatch(new RegExp(`^backup \\d{8}T\\d{6}Z-${id} taken \\(3 files\\); pruned 0; diagnostics `));
            }
            expect(await ok(lab, "pve2", ["cat", "/etc/pve/network/migration.toml"])).toContain(`\nphase = "${to}"\n`);
            if (to === "rust-basic-write") {
                // What the Rust side writes in the write phases: every node's interfaces, the cluster's sdn.cfg and storage.cfg.
                await Promise.all(lab.nodes.map((n) => ok(lab, n.name, sh("printf '# written by pve-network-rs\\n' >> /etc/network/interfaces"))));
                await ok(lab, "pve1", sh("printf 'zone: rust\\n\\ttype vlan\\n' >> /etc/pve/sdn.cfg; printf 'dir: rust\\n' >> /etc/pve/storage.cfg"));
            }
            expect(r.outputs.phase).toBe(to);
        });
    }

    it("rust-full -> perl-only in one run: daemon stopped and disabled, Perl-era files restored byte for byte, networking.service never restarted, outputs at perl-only", async () => {
        const before = await probes();
        const r = await run("perl-only");
        const after = await probes();
        expect(ranSteps(lab, CLUSTER, r)).toEqual({
            pve1: ["config", "legacy-apply", "network-confirm", "package", "restore", "restore", "services", "snapshot", "units", "verify"],
            pve2: ["legacy-apply", "network-confirm", "package", "restore", "services", "snapshot", "units", "verify"],
            pve3: ["legacy-apply", "network-confirm", "package", "restore", "services", "snapshot", "units", "verify"],
        });
        expectOneLogLinePerStep(r, before, after, "rust-full", "perl-only");
        expectRestarted(before, after);
        for (const n of lab.nodes) {
            const rust = after[n.name].units[RUST];
            expect({ node: n.name, rust: [rust.active, rust.enabled, rust.pid] }).toEqual({ node: n.name, rust: ["inactive", "disabled", 0] });
            // networking.service: the same activation since before the walk (never restarted).
            expect({ node: n.name, net: after[n.name].units[NET] }).toEqual({ node: n.name, net: network[n.name] });
            const files = await ok(lab, n.name, sh('for f; do printf "@@%s\\n" "$f"; cat -- "$f"; done', ...FILES));
            expect(files).toBe(FILES.map((f) => `@@${f}\n${perlEra[n.name][f]}`).join(""));
            // The whole walk's transitions are in the log (each run's lines were checked one per step above).
            expect(new Set(after[n.name].log.map((l) => `${l.from}>${l.to}`))).toEqual(
                new Set([...PHASES.slice(1).map((p, i) => `${PHASES[i]}>${p}`), "rust-read-only>rust-read-only", "rust-full>perl-only"]),
            );
        }
        expect(await ok(lab, "pve3", ["cat", "/etc/pve/network/migration.toml"])).toContain('\nphase = "perl-only"\n');
        const id = (r.outputs.attempt as { id: string }).id;
        expect(r.outputs.phase).toBe("perl-only");
        expect(r.outputs.previousPhase).toBe("rust-full");
        expect(r.outputs.transition).toEqual({ from: "rust-full", to: "perl-only", kind: "rollback", id });
        const verified = r.outputs.verified as Record<string, { phase: string; transition: string; at: string }>;
        expect(Object.keys(verified).sort()).toEqual(["pve1", "pve2", "pve3"]);
        for (const v of Object.values(verified)) expect([v.phase, v.transition]).toEqual(["perl-only", id]);
    });
});
