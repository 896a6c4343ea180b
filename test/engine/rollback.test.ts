/**
 * Engine fidelity of the rollback rust-full -> perl-only (3 nodes, cluster-wide migration config)
 * and of "a step that the plan lists must run": the project's program through the replay of
 * registered resources (test/support/replay, a stand-in for the Pulumi engine and
 * @pulumi/command) with the node scripts running for real on sandbox roots.
 *
 * The walk perl-only -> ... -> rust-full runs once (Rust "writes" every restorable file in each
 * write phase); its sandbox and checkpoint are the baseline every case starts from, put back
 * into the same folder. For every step of the rollback plan the step fails on pve2 (the cluster
 * step for cluster steps); the next `pulumi up` with the same config runs exactly what is still
 * missing and every node ends with its Perl-era files. As in promotion.test.ts, run 1 is
 * asserted by the plan's structure (which concurrent steps had started when the failure stopped
 * the run is a matter of timing) and run 2 exactly.
 */
import { PHASES, Phase, phaseInfo } from "../../components/phases";
import { transitionId } from "../../components/cluster";
import { planFor } from "../../components/steps";
import { localConfig } from "../support/config";
import { configFiles, installedVersion, isEnabled, simulateRustWrites, tomlAt } from "../support/node";
import {
    CLUSTER,
    EngineLab,
    INJECTED,
    NODES,
    STACK,
    backupsOf,
    checkFailedRun,
    completed,
    ids,
    loggedSteps,
    makeEngineLab,
    opOf,
    orderViolations,
    commandPlan,
    planOf,
    plannedScripts,
    sorted,
    stepsToFail,
    waitForBundles,
} from "./harness";
import { Up } from "../support/program-replay";
import { ReplayState } from "../support/replay";

const FROM: Phase = "rust-full";
const TO: Phase = "perl-only";

const definitionPlan = commandPlan(
    planFor(
        localConfig(
            { sandboxDir: "/nonexistent", debPath: "/nonexistent/x.deb", sha256: "0".repeat(64), version: "0.4.2-1", nodes: NODES, phase: TO },
            { gates: JSON.stringify({ requireEvidence: false }) },
        ),
        FROM,
        TO,
    ),
);

const idOf = (from: Phase, fromEnteredAt: string, to: Phase) =>
    transitionId({ kind: "pve-migration/transition", stack: STACK, cluster: CLUSTER, from, fromEnteredAt, to });

let lab: EngineLab;
/** Config files of every node in perl-only, before any promotion. */
let perlEra: Record<string, Record<string, string>>;
/** The stack's outputs at rust-full. */
let fullOutputs: Record<string, any>;

beforeAll(async () => {
    lab = makeEngineLab("cluster");
    let r = await lab.up("perl-only", undefined);
    expect(r.replay.errors).toEqual([]);
    perlEra = Object.fromEntries(NODES.map((n) => [n, configFiles(lab.root(n), n)]));
    for (let i = 1; i < PHASES.length; i++) {
        const from = PHASES[i - 1];
        const to = PHASES[i];
        const next = await lab.up(to, r.state);
        expect([to, next.replay.errors]).toEqual([to, []]);
        // A step the plan lists must run: in a transition, every planned step's command runs.
        expect([to, sorted(next.ran)]).toEqual([to, sorted(ids(planOf(lab, from, to)))]);
        expect(next.outputs.phase).toBe(to);
        if (phaseInfo(to).write) for (const n of NODES) simulateRustWrites(lab.root(n), n, to);
        r = next;
    }
    fullOutputs = r.outputs as Record<string, any>;
    lab.save(r.state);
}, 120_000);
afterAll(() => lab?.cleanup());

/** A completed rollback to perl-only: outputs, files, daemon, config, one backup, one log line per step. */
function expectRolledBack(r: Up, id: string): void {
    const plan = planOf(lab, FROM, TO);
    expect(r.replay.errors).toEqual([]);
    const bundles = waitForBundles(lab, id);
    expect(bundles.every((b) => b.endsWith(`-${id}-post-rollback.tar.gz`))).toBe(true);
    const o = r.outputs as Record<string, any>;
    expect(o.phase).toBe(TO);
    expect(o.previousPhase).toBe(FROM);
    expect(o.transition).toEqual({ from: FROM, to: TO, kind: "rollback", id });
    expect(o.attempt).toEqual({ from: FROM, to: TO, id, fromEnteredAt: fullOutputs.phaseEnteredAt, floor: TO, ceiling: FROM });
    for (const n of NODES) {
        expect([n, o.verified[n]]).toEqual([n, { phase: TO, transition: id, at: expect.any(String) }]);
        expect([n, configFiles(lab.root(n), n)]).toEqual([n, perlEra[n]]);
        expect([n, isEnabled(lab.root(n))]).toEqual([n, false]);
        expect([n, tomlAt(lab.tomlPath(n)).phase]).toEqual([n, TO]);
        expect([n, backupsOf(lab, n, id).length]).toEqual([n, 1]);
        expect([n, loggedSteps(lab, n, FROM, TO)]).toEqual([n, plannedScripts(plan, n)]);
    }
}

test("the rollback plan has the steps each case fails", () => {
    expect(stepsToFail(definitionPlan).map((s) => s.id)).toEqual([
        "pve2-snapshot",
        "lab-cluster-config",
        "lab-cluster-restore",
        "pve2-services-package-units-restore",
        "pve2-legacy-apply",
        "pve2-network-confirm-verify",
    ]);
});

test.each(stepsToFail(definitionPlan).map((s) => [s.id]))(
    "replay of registered resources: rollback %s fails, the next up with the same config runs exactly what is missing and restores every node",
    async (failed) => {
        const plan = planOf(lab, FROM, TO);
        const state = lab.restore();
        const id = idOf(FROM, fullOutputs.phaseEnteredAt, TO);
        const r1 = await lab.up(TO, state, { fail: (n) => (n === failed ? INJECTED : undefined) });
        const done = checkFailedRun(r1, plan, failed, state);
        const o1 = r1.outputs as Record<string, any>;
        expect(o1.phase).toBe(FROM);
        expect(o1.transition).toEqual(fullOutputs.transition);
        expect(o1.attempt).toEqual({ from: FROM, to: TO, id, fromEnteredAt: fullOutputs.phaseEnteredAt, floor: TO, ceiling: FROM });

        const r2 = await lab.up(TO, r1.state);
        expect(r2.replay.errored).toBe(false);
        expect(sorted(r2.ran)).toEqual(sorted(ids(plan).filter((x) => !done.has(x))));
        expect(r2.ran).toContain(failed);
        for (const x of done) expect([x, opOf(r2, x)]).toEqual([x, { op: "same", result: "ok", ran: false }]);
        expect(orderViolations(r2, plan)).toEqual([]);
        expectRolledBack(r2, id);
    },
);

describe("after the rollback failed at pve2's command with the restore (replay of registered resources)", () => {
    let r1: Up;
    let id: string;
    beforeAll(async () => {
        const state = lab.restore();
        id = idOf(FROM, fullOutputs.phaseEnteredAt, TO);
        r1 = await lab.up(TO, state, { fail: (n) => (n === "pve2-services-package-units-restore" ? INJECTED : undefined) });
        expect(r1.replay.errors[0]).toBe(`pve2-services-package-units-restore: ${INJECTED}`);
    });

    test("replay of registered resources: phase rust-full again is refused with the ConfigError on pve-migration:phase and nothing runs", async () => {
        const r2 = await lab.up(FROM, r1.state);
        expect(r2.replay.errored).toBe(true);
        expect(r2.replay.errors).toEqual([
            "program: invalid stack config:\n" +
                `  pve-migration:phase: the last update (from rust-full to perl-only, transition ${id}) did not complete on every node, ` +
                "so nodes may be anywhere between perl-only and rust-full: set the phase to perl-only to finish it",
            "replay: the program failed",
        ]);
        expect(r2.ran).toEqual([]);
        expect(r2.replay.ops).toEqual([]);
        expect(r2.outputs).toEqual(r1.outputs);
        expect(r2.state).toEqual(r1.state as ReplayState);
    });

    test("replay of registered resources: phase perl-only resumes the rollback and runs exactly what is missing", async () => {
        const plan = planOf(lab, FROM, TO);
        const done = completed(r1);
        const r3 = await lab.up(TO, r1.state);
        expect(sorted(r3.ran)).toEqual(sorted(ids(plan).filter((x) => !done.has(x))));
        expect(r3.ran).toContain("pve2-services-package-units-restore");
        expectRolledBack(r3, id);
    });
});

describe("a step that the plan lists must run (replay of registered resources)", () => {
    let rolledBack: Up;
    beforeAll(async () => {
        rolledBack = await lab.up(TO, lab.restore());
    });

    test("replay of registered resources: a rollback runs every planned step's command, package and units included", () => {
        const plan = planOf(lab, FROM, TO);
        expect(sorted(rolledBack.ran)).toEqual(sorted(ids(plan)));
        for (const n of NODES) expect(rolledBack.ran).toEqual(expect.arrayContaining([`${n}-services-package-units-restore`]));
        expect(orderViolations(rolledBack, plan)).toEqual([]);
        expectRolledBack(rolledBack, idOf(FROM, fullOutputs.phaseEnteredAt, TO));
    });

    test("replay of registered resources: the first no-change up runs every step of the no-change plan once, the second nothing, a package version change package and verify", async () => {
        const none = planOf(lab, TO, TO);
        const enteredAt = (rolledBack.outputs as Record<string, any>).phaseEnteredAt;
        const id = idOf(TO, enteredAt, TO);
        const first = await lab.up(TO, rolledBack.state);
        expect(first.replay.errors).toEqual([]);
        expect(sorted(first.ran)).toEqual(sorted(ids(none)));
        expect(sorted(ids(none))).toEqual(sorted(NODES.flatMap((n) => ["package-units", "services-verify"].map((k) => `${n}-${k}`)).concat(["lab-cluster-config"])));
        const o1 = first.outputs as Record<string, any>;
        expect(o1.transition).toEqual({ from: TO, to: TO, kind: "none", id });
        expect(o1.phaseEnteredAt).toBe(enteredAt);
        for (const n of NODES) expect([n, o1.verified[n]]).toEqual([n, { phase: TO, transition: id, at: expect.any(String) }]);

        const second = await lab.up(TO, first.state);
        expect(second.replay.errors).toEqual([]);
        expect(second.ran).toEqual([]);
        expect(second.replay.ops.filter((o) => o.op !== "same")).toEqual([]);
        expect(second.outputs).toEqual(first.outputs);

        const bumped = await lab.up(TO, second.state, { version: "0.5.0-1" });
        expect(bumped.replay.errors).toEqual([]);
        // The version is an input of the package and verify steps: both commands of each node run again, the cluster config not.
        expect(sorted(bumped.ran)).toEqual(sorted(NODES.flatMap((n) => [`${n}-package-units`, `${n}-services-verify`])));
        expect(orderViolations(bumped, none)).toEqual([]);
        for (const n of NODES) expect([n, installedVersion(lab.root(n))]).toEqual([n, "0.5.0-1"]);
        const o3 = bumped.outputs as Record<string, any>;
        expect(o3.phase).toBe(TO);
        expect(o3.phaseEnteredAt).toBe(enteredAt);
        expect(o3.transition).toEqual(o1.transition);
    });
});
