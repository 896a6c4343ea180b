/**
 * HA maintenance around a node's services (pve-migration:ha) on a sandbox node: real bash, the
 * steps through their command lines and the node's step stub. `ha-manager` is a stand-in written
 * into the sandbox root by this test (a sandbox runs site commands with the root's own binaries
 * first on PATH, and PVE_ROOT naming the root): it records each call and keeps the maintenance
 * state in a file, as Proxmox VE's HA stack keeps it in pmxcfs. `ha-standin-status NODE` is the
 * status command (exit 0 in maintenance, 1 not). The node lab runs the same over SSH.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { StackConfig } from "../../components/config/schema";
import { Phase } from "../../components/phases";
import { runPlan, runStep, StepRun } from "../../components/sandbox/run";
import { renderStepScript, stepCommandLine } from "../../components/scripts";
import { planFor, stepArgs } from "../../components/steps";
import { Lab, makeLab, mustRun } from "../support/node";

const NODE = "pve1";

/** The stand-in ha-manager: `crm-command node-maintenance enable|disable NODE`, recorded in var/lib/ha-standin. */
const HA_MANAGER = `#!/bin/bash
# stand-in for ha-manager (tests): records each call; keeps the maintenance state of a node in a file.
d="$PVE_ROOT/var/lib/ha-standin"
mkdir -p "$d"
printf '%s\\n' "$*" >> "$d/calls"
[ "$1 $2" = "crm-command node-maintenance" ] || { echo "ha-manager (stand-in): unknown command $*" >&2; exit 2; }
case "$3" in
  enable)
    if [ -e "$d/fail-enable" ]; then echo "enable refused (stand-in)" >&2; exit 3; fi
    [ -e "$d/no-effect" ] || : > "$d/maintenance-$4" ;;
  disable) rm -f "$d/maintenance-$4" ;;
  *) exit 2 ;;
esac
`;
const STATUS = `#!/bin/bash
# stand-in status command (tests): exit 0 when the node is in maintenance, 1 when not.
[ -e "$PVE_ROOT/var/lib/ha-standin/maintenance-$1" ]
`;

function standIn(root: string): { calls: () => string[]; inMaintenance: () => boolean; set: (name: string) => void } {
    const d = path.join(root, "var/lib/ha-standin");
    fs.mkdirSync(path.join(root, "usr/sbin"), { recursive: true });
    fs.mkdirSync(path.join(root, "usr/bin"), { recursive: true });
    fs.writeFileSync(path.join(root, "usr/sbin/ha-manager"), HA_MANAGER, { mode: 0o755 });
    fs.writeFileSync(path.join(root, "usr/bin/ha-standin-status"), STATUS, { mode: 0o755 });
    fs.mkdirSync(d, { recursive: true });
    return {
        calls: () => (fs.existsSync(path.join(d, "calls")) ? fs.readFileSync(path.join(d, "calls"), "utf8").trimEnd().split("\n") : []),
        inMaintenance: () => fs.existsSync(path.join(d, `maintenance-${NODE}`)),
        set: (name) => fs.writeFileSync(path.join(d, name), ""),
    };
}

const ENABLE = `crm-command node-maintenance enable ${NODE}`;
const DISABLE = `crm-command node-maintenance disable ${NODE}`;

function withHa(cfg: StackConfig, ha: Partial<StackConfig["ha"]> = {}): StackConfig {
    return { ...cfg, ha: { ...cfg.ha, maintenance: true, ...ha } };
}

function haState(root: string): Record<string, string> {
    const text = fs.readFileSync(path.join(root, "var/lib/pve-network-rs/ha/state"), "utf8");
    const kv = Object.fromEntries(
        text
            .trimEnd()
            .split("\n")
            .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    delete kv.at;
    return kv;
}

const detail = (r: StepRun) => r.stdout.replace(/^\S+ node=\S+ from=\S+ to=\S+ /gm, "").trimEnd();

/** A node walked to rust-read-only without HA maintenance. */
function atReadOnly(): { lab: Lab; root: string } {
    const lab = makeLab([NODE]);
    mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
    mustRun(lab.config("rust-read-only"), "perl-only", "rust-read-only", "e1e1");
    return { lab, root: lab.root(NODE) };
}

function runKind(cfg: StackConfig, from: Phase, to: Phase, kind: string, id: string): StepRun {
    const step = planFor(cfg, from, to).steps.find((s) => s.kind === kind);
    if (!step) throw new Error(`no ${kind} step`);
    return runStep(cfg, step, from, to, id);
}

describe("HA maintenance around a node's services (stand-in ha-manager in a sandbox root)", () => {
    test("a promotion enters maintenance before the services and leaves it after verify, once each", () => {
        const { lab, root } = atReadOnly();
        try {
            const ha = standIn(root);
            const cfg = withHa(lab.config("rust-basic-write"));
            const runs = mustRun(cfg, "rust-read-only", "rust-basic-write", "a1a1");
            expect(runs.map((r) => r.id)).toEqual([
                "pve1-snapshot",
                "pve1-package",
                "pve1-units",
                "lab-cluster-config",
                "pve1-ha-enter",
                "pve1-services",
                "pve1-verify",
                "pve1-ha-leave",
            ]);
            expect(ha.calls()).toEqual([ENABLE, DISABLE]);
            expect(detail(runs[4])).toBe(
                `step=ha-enter result=changed detail=put pve1 in HA maintenance (ha-manager ${ENABLE}); ha-leave takes it out after verify, a failure before then at once`,
            );
            expect(detail(runs[7])).toBe(`step=ha-leave result=changed detail=took pve1 out of HA maintenance (ha-manager ${DISABLE})`);
            expect(haState(root)).toEqual({ transition: "a1a1", state: "left", settle: "0" });
            expect(fs.readFileSync(path.join(root, "var/lib/pve-network-rs/ha/leave.argv"), "utf8")).toBe(`ha-manager\0${DISABLE.split(" ").join("\0")}\0`);
        } finally {
            lab.cleanup();
        }
    });

    test("ha-enter run again before ha-leave (its command re-run) calls nothing more", () => {
        const { lab, root } = atReadOnly();
        try {
            const ha = standIn(root);
            const cfg = withHa(lab.config("rust-basic-write"));
            const from = "rust-read-only";
            for (const k of ["snapshot", "package", "units", "cluster-config"]) expect(runKind(cfg, from, "rust-basic-write", k, "a2a2").status).toBe(0);
            expect(runKind(cfg, from, "rust-basic-write", "ha-enter", "a2a2").status).toBe(0);
            const again = runKind(cfg, from, "rust-basic-write", "ha-enter", "a2a2");
            expect([again.status, detail(again)]).toEqual([0, "step=ha-enter result=unchanged detail=pve1 is in HA maintenance for transition a2a2 already"]);
            expect(ha.calls()).toEqual([ENABLE]);
            expect(ha.inMaintenance()).toBe(true);
        } finally {
            lab.cleanup();
        }
    });

    test("a step between them that fails takes the node out at once; the same transition run again puts it back first and ends with ha-leave", () => {
        const { lab, root } = atReadOnly();
        try {
            const ha = standIn(root);
            const good = withHa(lab.config("rust-basic-write"));
            const bad = { ...good, commands: { ...good.commands, verify: ["false"] } };
            const runs = runPlan(bad, "rust-read-only", "rust-basic-write", "b1b1");
            const failed = runs[runs.length - 1];
            expect([failed.id, failed.status]).toEqual(["pve1-verify", 70]);
            expect(detail(failed).split("\n").slice(-2)).toEqual([
                expect.stringMatching(/^step=verify result=failed detail=/),
                `step=verify result=ha-restored detail=took pve1 out of HA maintenance after the failure, as it was before transition b1b1 (ha-manager ${DISABLE}); a run of this transition's steps after ha-enter puts it back first`,
            ]);
            expect(ha.calls()).toEqual([ENABLE, DISABLE]);
            expect(ha.inMaintenance()).toBe(false);
            expect(haState(root)).toEqual({ transition: "b1b1", state: "restored", settle: "0" });

            // The cause fixed: the failed step runs again (the engine re-runs what failed), in maintenance again.
            const v = runKind(good, "rust-read-only", "rust-basic-write", "verify", "b1b1");
            expect(v.status).toBe(0);
            expect(detail(v).split("\n")[0]).toBe(
                `step=verify result=ha-entered detail=put pve1 in HA maintenance (ha-manager ${ENABLE}) again: transition b1b1 resumes after a failure had taken it out`,
            );
            expect(ha.calls()).toEqual([ENABLE, DISABLE, ENABLE]);
            const leave = runKind(good, "rust-read-only", "rust-basic-write", "ha-leave", "b1b1");
            expect([leave.status, detail(leave)]).toEqual([0, `step=ha-leave result=changed detail=took pve1 out of HA maintenance (ha-manager ${DISABLE})`]);
            expect(ha.calls()).toEqual([ENABLE, DISABLE, ENABLE, DISABLE]);
            expect(haState(root)).toEqual({ transition: "b1b1", state: "left", settle: "0" });
        } finally {
            lab.cleanup();
        }
    });

    test("a node the status command finds in maintenance is left as found: no enter, no leave, and a failure takes nothing out", () => {
        const { lab, root } = atReadOnly();
        try {
            const ha = standIn(root);
            ha.set(`maintenance-${NODE}`);
            const cfg = withHa(lab.config("rust-basic-write"), { statusCommand: ["ha-standin-status", "{node}"] });
            const runs = mustRun(cfg, "rust-read-only", "rust-basic-write", "c1c1");
            expect(detail(runs.find((r) => r.id === "pve1-ha-enter")!)).toBe(
                "step=ha-enter result=unchanged detail=pve1 is in HA maintenance already (ha-standin-status pve1); left as found: ha-leave will not take it out",
            );
            expect(detail(runs.find((r) => r.id === "pve1-ha-leave")!)).toBe(
                "step=ha-leave result=unchanged detail=pve1 was in HA maintenance before transition c1c1; left as found",
            );
            expect(ha.calls()).toEqual([]);
            expect(ha.inMaintenance()).toBe(true);
        } finally {
            lab.cleanup();
        }
    });

    test("with a status command, ha-enter waits until the node is in maintenance; past settleTimeout it fails naming it, and takes the node out", () => {
        const { lab, root } = atReadOnly();
        try {
            const ha = standIn(root);
            const cfg = withHa(lab.config("rust-basic-write"), { statusCommand: ["ha-standin-status", "{node}"], settleTimeout: 3 });
            for (const k of ["snapshot", "package", "units", "cluster-config"]) expect(runKind(cfg, "rust-read-only", "rust-basic-write", k, "d1d1").status).toBe(0);
            const ok = runKind(cfg, "rust-read-only", "rust-basic-write", "ha-enter", "d1d1");
            // Whole seconds of the node's clock: a second may tick between the enter and the status command.
            expect(detail(ok).replace(/ after [01] s;/, " after 0-1 s;")).toBe(
                `step=ha-enter result=changed detail=put pve1 in HA maintenance (ha-manager ${ENABLE}); ha-standin-status sees it in maintenance after 0-1 s; ha-leave takes it out after verify, a failure before then at once`,
            );
            expect(runKind(cfg, "rust-read-only", "rust-basic-write", "ha-leave", "d1d1").status).toBe(0);

            // The HA stack does not move the node (the stand-in's enable has no effect).
            ha.set("no-effect");
            const r = runKind(cfg, "rust-basic-write", "rust-advanced", "ha-enter", "d2d2");
            expect(r.status).toBe(75);
            expect(r.stderr).toBe(
                `pve-migration ha-enter on pve1: pve1 is not in HA maintenance 3 s after ha-manager ${ENABLE} (ha-standin-status pve1 still says no)\n`,
            );
            expect(ha.calls()).toEqual([ENABLE, DISABLE, ENABLE, DISABLE]);
            expect(haState(root)).toEqual({ transition: "d2d2", state: "restored", settle: "3" });
        } finally {
            lab.cleanup();
        }
    });

    test("an enter command that fails fails ha-enter naming it, before the services step; the leave command runs once, as a failure's restore", () => {
        const { lab, root } = atReadOnly();
        try {
            const ha = standIn(root);
            ha.set("fail-enable");
            const runs = runPlan(withHa(lab.config("rust-basic-write")), "rust-read-only", "rust-basic-write", "e1e2");
            const failed = runs[runs.length - 1];
            expect([failed.id, failed.status]).toEqual(["pve1-ha-enter", 65]);
            expect(failed.stderr).toBe("pve-migration ha-enter on pve1: the HA enter command ha-manager failed: enable refused (stand-in)\n");
            expect(ha.calls()).toEqual([ENABLE, DISABLE]);
            expect(haState(root)).toEqual({ transition: "e1e2", state: "restored", settle: "0" });
        } finally {
            lab.cleanup();
        }
    });

    test.each([
        ["counts that do not add up", { "enter-argc": "2" }, "--enter-argc 2, --leave-argc 5 and --status-argc 0 do not add up to the 10 words after --"],
        ["a settle time past its bound", { "status-argc": "1", "settle-timeout": "1201" }, "--settle-timeout must be 1..1200"],
        ["a status command without a settle time", { "status-argc": "1" }, "missing --settle-timeout"],
        ["a transition that is not hex", { transition: "x; reboot" }, "--transition must be hex"],
    ])("ha-enter refuses %s (exit 64) before it takes the lock or calls anything", (_name, options, message) => {
        const { lab, root } = atReadOnly();
        try {
            const ha = standIn(root);
            const cfg = withHa(lab.config("rust-basic-write"));
            const args = stepArgs({ cfg, node: cfg.nodes[0], from: "rust-read-only", to: "rust-basic-write" }, "ha-enter", "f1f1");
            const line = stepCommandLine({ options: { ...args.options, ...options }, argv: args.argv }, { step: "ha-enter", timeLimit: 60 });
            const before = fs.readFileSync(path.join(root, "var/log/pve-network/migration.log"), "utf8");
            const r = spawnSync("/bin/sh", ["-c", line], { input: renderStepScript("ha-enter"), encoding: "utf8", timeout: 60_000 });
            expect([r.status, r.stdout, r.stderr]).toEqual([64, "", `pve-migration ha-enter: ${message}\n`]);
            expect(ha.calls()).toEqual([]);
            expect(fs.existsSync(path.join(root, "var/lib/pve-network-rs/ha"))).toBe(false);
            expect(fs.readFileSync(path.join(root, "var/log/pve-network/migration.log"), "utf8")).toBe(before);
        } finally {
            lab.cleanup();
        }
    });
});
