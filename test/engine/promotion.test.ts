/**
 * Engine fidelity of a promotion into a write phase (rust-read-only -> rust-basic-write, 3
 * nodes): the project's program through the replay of registered resources (test/support/replay,
 * a stand-in for the Pulumi engine and @pulumi/command) with the node scripts running for real on
 * sandbox roots. For every step of the plan, the step fails on pve2 (the cluster step for
 * cluster steps); the engine's output-saving rule keeps the previous phase with the new attempt;
 * the next `pulumi up` with the same config runs exactly what is still missing on each node.
 * Also: the operator applies a rollback config instead, `--target` runs and cancelled runs.
 *
 * Which of the steps that were ready at the same moment as the failed one had already started
 * when it failed is a matter of timing (the engine's step executor runs independent chains in
 * parallel: pulumi/pulumi pkg/resource/deploy/step_executor.go), so run 1 is asserted by the
 * plan's structure (every dependency of the failed step ran, none of its dependents did) and run
 * 2 exactly: it runs the plan's steps minus those whose command completed in run 1.
 */
import * as fs from "fs";
import { Phase } from "../../components/phases";
import { transitionId } from "../../components/cluster";
import { localConfig } from "../support/config";
import { configFiles, isEnabled, simulateRustWrites, tomlAt } from "../support/node";
import { planFor } from "../../components/steps";
import { Up } from "../support/program-replay";
import {
    CLUSTER,
    EngineLab,
    NODES,
    STACK,
    INJECTED,
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
} from "./harness";

const FROM: Phase = "rust-read-only";
const TO: Phase = "rust-basic-write";

/** The plan for a scope, computed at definition time (plan ids depend on cluster, nodes and scope only). */
function definitionPlan(scope: "cluster" | "node") {
    const cfg = localConfig(
        { sandboxDir: "/nonexistent", debPath: "/nonexistent/x.deb", sha256: "0".repeat(64), version: "0.4.2-1", nodes: NODES, phase: TO, scope },
        { gates: JSON.stringify({ requireEvidence: false }) },
    );
    return commandPlan(planFor(cfg, FROM, TO));
}

const idOf = (from: Phase, fromEnteredAt: string, to: Phase) =>
    transitionId({ kind: "pve-migration/transition", stack: STACK, cluster: CLUSTER, from, fromEnteredAt, to });

interface Baseline {
    /** The stack's outputs after rust-read-only was entered. */
    outputs: Record<string, any>;
    /** Config files of every node at rust-read-only (what a rollback from the promotion must bring back). */
    files: Record<string, Record<string, string>>;
}

async function walkToReadOnly(lab: EngineLab): Promise<Baseline> {
    const perl = await lab.up("perl-only", undefined);
    expect(perl.replay.errors).toEqual([]);
    const ro = await lab.up(FROM, perl.state);
    expect(ro.replay.errors).toEqual([]);
    expect(sorted(ro.ran)).toEqual(sorted(ids(planOf(lab, "perl-only", FROM))));
    expect(ro.outputs.phase).toBe(FROM);
    lab.save(ro.state);
    return { outputs: ro.outputs as Record<string, any>, files: Object.fromEntries(NODES.map((n) => [n, configFiles(lab.root(n), n)])) };
}

/** The outputs the engine saved after a run that did not complete. */
function expectIncompleteOutputs(r: Up, base: Baseline, id: string, done: Set<string>): void {
    const prev = base.outputs;
    const o = r.outputs as Record<string, any>;
    expect(o.phase).toBe(FROM);
    expect(o.phaseEnteredAt).toBe(prev.phaseEnteredAt);
    expect(o.previousPhase).toBe("perl-only");
    expect(o.transition).toEqual(prev.transition);
    expect(o.attempt).toEqual({ from: FROM, to: TO, id, fromEnteredAt: prev.phaseEnteredAt, floor: FROM, ceiling: TO });
    for (const n of NODES) {
        const verified = [...done].some((c) => c.startsWith(`${n}-`) && c.endsWith("-verify"));
        expect([n, o.verified[n]]).toEqual([n, verified ? { phase: TO, transition: id, at: expect.any(String) } : prev.verified[n]]);
    }
}

/** The outputs of a completed promotion and every node's state. */
function expectPromoted(lab: EngineLab, r: Up, plan: ReturnType<typeof planOf>, base: Baseline, id: string, refusedOnPve1: string[] = []): void {
    const o = r.outputs as Record<string, any>;
    expect(r.replay.errors).toEqual([]);
    expect(o.phase).toBe(TO);
    expect(o.previousPhase).toBe(FROM);
    expect(o.transition).toEqual({ from: FROM, to: TO, kind: "promotion", id });
    expect(o.attempt).toEqual({ from: FROM, to: TO, id, fromEnteredAt: base.outputs.phaseEnteredAt, floor: FROM, ceiling: TO });
    expect(o.transition.id).toBe(o.attempt.id);
    for (const n of NODES) expect([n, o.verified[n]]).toEqual([n, { phase: TO, transition: id, at: expect.any(String) }]);
    expect(o.phaseEnteredAt).toBe(sorted(NODES.map((n) => o.verified[n].at)).pop());
    for (const n of NODES) {
        expect([n, tomlAt(lab.tomlPath(n)).phase]).toEqual([n, TO]);
        // Exactly one backup for this transition: a resumed snapshot is not run again.
        expect([n, backupsOf(lab, n, id).length]).toEqual([n, 1]);
        // One log line per step of this node (the writer node also logs the cluster steps).
        const expected = [...plannedScripts(plan, n), ...(n === "pve1" ? refusedOnPve1 : [])].sort();
        expect([n, [...loggedSteps(lab, n, FROM, TO)].sort()]).toEqual([n, expected]);
        expect([n, isEnabled(lab.root(n))]).toEqual([n, true]);
    }
}

describe.each(["cluster", "node"] as const)("promotion %s-scope migration config (replay of registered resources)", (scope) => {
    const plan0 = definitionPlan(scope);
    let lab: EngineLab;
    let base: Baseline;
    beforeAll(async () => {
        lab = makeEngineLab(scope);
        base = await walkToReadOnly(lab);
    });
    afterAll(() => lab?.cleanup());

    test("the plan has the steps each case fails", () => {
        expect(stepsToFail(plan0).map((s) => s.id)).toEqual(
            scope === "cluster"
                ? ["pve2-snapshot-package-units", "lab-cluster-config", "pve2-services-verify"]
                : ["pve2-snapshot-package-units-config-services-verify"],
        );
    });

    test.each(stepsToFail(plan0).map((s) => [s.id]))(
        "replay of registered resources: %s fails, the previous phase is kept with the new attempt, the next up runs exactly what is missing",
        async (failed) => {
            const plan = planOf(lab, FROM, TO);
            const state = lab.restore();
            const id = idOf(FROM, base.outputs.phaseEnteredAt, TO);
            const r1 = await lab.up(TO, state, { fail: (n) => (n === failed ? INJECTED : undefined) });
            const done = checkFailedRun(r1, plan, failed, state);
            expectIncompleteOutputs(r1, base, id, done);

            const r2 = await lab.up(TO, r1.state);
            expect(r2.replay.errored).toBe(false);
            expect(sorted(r2.ran)).toEqual(sorted(ids(plan).filter((x) => !done.has(x))));
            expect(r2.ran).toContain(failed);
            for (const x of done) expect([x, opOf(r2, x)]).toEqual([x, { op: "same", result: "ok", ran: false }]);
            expect(orderViolations(r2, plan)).toEqual([]);
            expectPromoted(lab, r2, plan, base, id);
        },
    );

    if (scope !== "cluster") return;

    test("replay of registered resources: after the promotion failed at pve2-services-verify, a rollback config (rust-read-only) is planned from rust-basic-write and brings every node back", async () => {
        const state = lab.restore();
        const r1 = await lab.up(TO, state, { fail: (n) => (n === "pve2-services-verify" ? INJECTED : undefined) });
        expect(r1.replay.errored).toBe(true);
        // Rust writes on every node while the stack says "attempt not complete".
        for (const n of NODES) simulateRustWrites(lab.root(n), n, "partial-promotion");
        const back = planOf(lab, TO, FROM);
        const id = idOf(TO, base.outputs.phaseEnteredAt, FROM);
        const r2 = await lab.up(FROM, r1.state);
        expect(r2.replay.errors).toEqual([]);
        // Every step of the rollback carries the new transition id: all of them run.
        expect(sorted(r2.ran)).toEqual(sorted(ids(back)));
        expect(sorted(ids(back))).toEqual(
            sorted(
                NODES.flatMap((n) => ["snapshot", "services-package-units-restore", "legacy-apply", "network-confirm-verify"].map((k) => `${n}-${k}`)).concat([
                    "lab-cluster-config",
                    "lab-cluster-restore",
                ]),
            ),
        );
        expect(orderViolations(r2, back)).toEqual([]);
        const o = r2.outputs as Record<string, any>;
        expect(o.attempt).toEqual({ from: TO, to: FROM, id, fromEnteredAt: base.outputs.phaseEnteredAt, floor: FROM, ceiling: TO });
        expect(o.transition).toEqual({ from: TO, to: FROM, kind: "rollback", id });
        expect(o.phase).toBe(FROM);
        for (const n of NODES) {
            expect([n, o.verified[n]]).toEqual([n, { phase: FROM, transition: id, at: expect.any(String) }]);
            expect([n, tomlAt(lab.tomlPath(n)).phase]).toEqual([n, FROM]);
            expect([n, configFiles(lab.root(n), n)]).toEqual([n, base.files[n]]);
            expect([n, isEnabled(lab.root(n))]).toEqual([n, true]);
        }
    });

    test("replay of registered resources: --target pve1's steps and the cluster step: the cluster config refuses to change before pve2 and pve3 have their backups; the next full run runs exactly the rest", async () => {
        const plan = planOf(lab, FROM, TO);
        const state = lab.restore();
        const id = idOf(FROM, base.outputs.phaseEnteredAt, TO);
        const targets = ids(plan).filter((x) => x.startsWith("pve1-") || x === "lab-cluster-config");
        const toml = lab.tomlPath("pve1");
        const before = fs.readFileSync(toml, "utf8");
        const r1 = await lab.up(TO, state, { targets });
        // The program orders every snapshot before the cluster config (dependsOn), but --target
        // left pve2's and pve3's out: the config step itself refuses (the snapshots' markers in pmxcfs).
        const refusal = `refusing to write /etc/pve/network/migration.toml: node pve2 has no backup for transition ${id} yet (its snapshot step has not run; a pulumi up --target must include every node's snapshot)`;
        expect(r1.replay.errors[0].split("\n").slice(1)).toEqual([
            `pve-migration config on pve1: ${refusal}`,
            expect.stringMatching(
                new RegExp(`^\\S+ node=pve1 from=rust-read-only to=rust-basic-write step=config result=failed detail=${refusal.replace(/[()]/g, "\\$&")}$`),
            ),
            "",
        ]);
        expect(r1.replay.errors[0].startsWith("lab-cluster-config: exit status 75: running ")).toBe(true);
        expect(fs.readFileSync(toml, "utf8")).toBe(before);
        const notRun = ["pve1-services-verify"];
        expect(sorted(r1.ran)).toEqual(sorted(targets.filter((x) => !notRun.includes(x))));
        // pve2's and pve3's steps exist in the state (from the rust-read-only run), so they are not skipped
        // creates: untargeted resources with an old state are same steps that keep it (pulumi/pulumi
        // pkg/resource/deploy/step_generator.go, generateSteps "Case 3: hasOld": `if !isTargeted` -> NewSameStep).
        // (The run stopped at the refusal, so not every untargeted registration reached the engine:
        // what matters is that none ran and each keeps its old state.)
        const stateOf = (st: typeof state, x: string) => st.resources.find((y) => y.name === x);
        for (const x of ids(plan).filter((y) => !targets.includes(y))) expect([x, stateOf(r1.state, x)]).toEqual([x, stateOf(state, x)]);

        const r2 = await lab.up(TO, r1.state);
        // The refused cluster config runs again, after pve2's and pve3's snapshots.
        expect(sorted(r2.ran)).toEqual(sorted(ids(plan).filter((x) => !r1.ran.includes(x) || x === "lab-cluster-config")));
        expect(orderViolations(r2, plan)).toEqual([]);
        // pve1's log also holds the refusal (one line per decision).
        expectPromoted(lab, r2, plan, base, id, ["config"]);
    });

    test("replay of registered resources: a run cancelled after the snapshots; the next run runs exactly the rest", async () => {
        const plan = planOf(lab, FROM, TO);
        const state = lab.restore();
        const id = idOf(FROM, base.outputs.phaseEnteredAt, TO);
        // Each node's first command: the snapshot, then package and units.
        const snapshots = NODES.map((n) => `${n}-snapshot-package-units`);
        const r1 = await lab.up(TO, state, { cancelAfter: snapshots });
        expect(r1.replay.errored).toBe(true);
        expect(r1.replay.errors[0]).toBe("replay: the run was cancelled (cancelAfter)");
        const done = completed(r1);
        // Every node's first command ran; nothing after them (the cluster config waits for all of them).
        expect(sorted(done)).toEqual(sorted(snapshots));
        expect(sorted(r1.ran)).toEqual(sorted(done));
        expectIncompleteOutputs(r1, base, id, done);

        const r2 = await lab.up(TO, r1.state);
        expect(sorted(r2.ran)).toEqual(sorted(ids(plan).filter((x) => !done.has(x))));
        expect(orderViolations(r2, plan)).toEqual([]);
        expectPromoted(lab, r2, plan, base, id);
    });
});
