/**
 * The step catalogue (components/steps/catalogue.ts): every planned kind has exactly one entry
 * with its script and owner, the script list is the catalogue's and matches sh/steps/, and the
 * step registry refuses a registration that differs from the plan.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { PHASES, Phase, transition } from "../../components/phases";
import { planSteps } from "../../components/plan";
import { DEFAULT_STEP_TIMEOUTS, NODE_STEPS, renderStepScript } from "../../components/scripts";
import { STEP_CATALOGUE, STEP_KINDS, STEP_SCRIPTS, ownedSteps, scriptOf } from "../../components/steps";
import { StepRegistry } from "../../components/node/transport";

const all: [Phase, Phase][] = PHASES.flatMap((f) => PHASES.map((t) => [f, t] as [Phase, Phase]));

describe("step catalogue", () => {
    test("one entry per step kind: its script and its owning component", () => {
        expect(Object.fromEntries(STEP_KINDS.map((k) => [k, [STEP_CATALOGUE[k].script, STEP_CATALOGUE[k].owner]]))).toEqual({
            snapshot: ["snapshot", "Backups"],
            package: ["package", "RustPackage"],
            units: ["units", "SystemdUnits"],
            config: ["config", "MigrationConfigFile"],
            "cluster-config": ["config", "MigrationConfigFile"],
            "ha-enter": ["ha-enter", "MigrationNode"],
            services: ["services", "SystemdUnits"],
            restore: ["restore", "Backups"],
            "cluster-restore": ["restore", "Backups"],
            "legacy-apply": ["legacy-apply", "MigrationNode"],
            "network-confirm": ["network-confirm", "MigrationNode"],
            verify: ["verify", "MigrationNode"],
            "ha-leave": ["ha-leave", "MigrationNode"],
        });
        expect(STEP_KINDS.map(scriptOf)).toEqual(STEP_KINDS.map((k) => STEP_CATALOGUE[k].script));
    });

    test("the script list and default time limits are the catalogue's, one file in sh/steps/ each", () => {
        expect(NODE_STEPS).toEqual([
            "snapshot",
            "package",
            "units",
            "config",
            "services",
            "restore",
            "legacy-apply",
            "network-confirm",
            "ha-enter",
            "ha-leave",
            "verify",
            "rules",
        ]);
        expect(DEFAULT_STEP_TIMEOUTS).toEqual({
            snapshot: 600,
            package: 1200,
            units: 300,
            config: 300,
            services: 600,
            restore: 300,
            "legacy-apply": 900,
            "network-confirm": 600,
            "ha-enter": 1200,
            "ha-leave": 600,
            verify: 600,
            rules: 600,
        });
        expect(NODE_STEPS.filter((s) => STEP_SCRIPTS[s].diagnostics)).toEqual(["snapshot", "verify"]);
        for (const s of NODE_STEPS) expect(renderStepScript(s).includes("\npve_collect_diagnostics() (\n")).toBe(STEP_SCRIPTS[s].diagnostics);
        const files = fs.readdirSync(path.join(__dirname, "../../components/scripts/sh/steps")).sort();
        expect(files).toEqual(NODE_STEPS.map((s) => `${s}.sh`).sort());
        // Every script but the monitoring host's `rules` runs a planned kind.
        expect([...new Set(STEP_KINDS.map(scriptOf))].sort()).toEqual(NODE_STEPS.filter((s) => s !== "rules").sort());
    });

    test.each(all)("%s -> %s: every planned kind is in the catalogue; each step has one owner", (from, to) => {
        for (const scope of ["node", "cluster"] as const) {
            const plan = planSteps({ cluster: "c", from, to, nodes: ["n1", "n2"], scope, writerNode: "n1" });
            for (const s of plan.steps) expect(STEP_KINDS).toContain(s.kind);
            const owners = ["Backups", "RustPackage", "SystemdUnits", "MigrationConfigFile", "MigrationNode"] as const;
            const owned = owners.flatMap((o) => ownedSteps(plan.steps, o).map((s) => s.id)).sort();
            expect(owned).toEqual(plan.steps.map((s) => s.id).sort());
        }
    });
});

describe("the plan places every step by its catalogue entry", () => {
    const kindsOf = (from: Phase, to: Phase, scope: "node" | "cluster", haMaintenance = false) =>
        [...new Set(planSteps({ cluster: "c", from, to, nodes: ["n1", "n2"], scope, writerNode: "n1", haMaintenance }).steps.map((s) => s.kind))].sort();

    test("the kinds a transition plans, per transition kind and scope", () => {
        expect(kindsOf("rust-read-only", "rust-read-only", "node")).toEqual(["config", "package", "services", "units", "verify"]);
        expect(kindsOf("rust-read-only", "rust-basic-write", "cluster")).toEqual(["cluster-config", "package", "services", "snapshot", "units", "verify"]);
        expect(kindsOf("rust-basic-write", "rust-read-only", "node")).toEqual([
            "cluster-restore",
            "config",
            "legacy-apply",
            "network-confirm",
            "package",
            "restore",
            "services",
            "snapshot",
            "units",
            "verify",
        ]);
        expect(kindsOf("rust-advanced", "rust-basic-write", "cluster")).toEqual([
            "cluster-config",
            "legacy-apply",
            "network-confirm",
            "package",
            "services",
            "snapshot",
            "units",
            "verify",
        ]);
    });

    test.each(all)("%s -> %s: a kind is planned exactly when its entry says so, with the dependencies its entry names", (from, to) => {
        for (const [scope, haMaintenance] of [
            ["node", false],
            ["cluster", false],
            ["node", true],
            ["cluster", true],
        ] as const) {
            const c = { transition: transition(from, to), scope, haMaintenance };
            const plan = planSteps({ cluster: "c", from, to, nodes: ["n1", "n2"], scope, writerNode: "n1", haMaintenance });
            expect(kindsOf(from, to, scope, haMaintenance)).toEqual(STEP_KINDS.filter((k) => STEP_CATALOGUE[k].plan.when(c)).sort());
            for (const s of plan.steps) {
                expect(s.cluster).toBe(STEP_CATALOGUE[s.kind].plan.cluster);
                // Every dependency is a planned step (topoSort refuses an unknown one).
                for (const d of s.dependsOn) expect(plan.steps.map((p) => p.id)).toContain(d);
            }
        }
    });
});

describe("step registry: the registered steps must be the planned ones", () => {
    // Stand-ins for the step resources: the registry only keeps and hands them out.
    const standIn = (id: string) => ({ id }) as unknown as pulumi.Resource;
    const plan = planSteps({ cluster: "c", from: "rust-read-only", to: "rust-basic-write", nodes: ["n1", "n2"], scope: "node", writerNode: "n1" });
    const planned = plan.steps.map((s) => s.id);

    /** Ask for dependencies as a component does; a rejection is asserted where it matters, not left unhandled. */
    const askDeps = (r: StepRegistry, ids: readonly string[]) => {
        for (const d of r.deps(ids)) if (d instanceof Promise) d.catch(() => undefined);
    };

    /** Register as the components do (dependencies first asked for, then the step), leaving out `drop`. */
    function registerAll(drop: readonly string[] = [], extra: readonly string[] = []): StepRegistry {
        const r = new StepRegistry();
        for (const s of plan.steps) {
            askDeps(r, s.dependsOn);
            if (!drop.includes(s.id)) r.register(s.id, standIn(s.id));
        }
        for (const id of extra) r.register(id, standIn(id));
        return r;
    }

    test("every planned step registered: finish passes", () => {
        expect(() => registerAll().finish(planned)).not.toThrow();
    });

    test("a registration dropped for a step that nothing depends on (n2-verify) fails, naming it", () => {
        expect(plan.steps.some((s) => s.dependsOn.includes("n2-verify"))).toBe(false);
        expect(() => registerAll(["n2-verify"]).finish(planned)).toThrow(
            new Error("the registered steps differ from the plan: planned but never registered: n2-verify"),
        );
    });

    test("a dropped step that others depend on fails, and its dependents' waits are rejected", async () => {
        const r = new StepRegistry();
        const [waiting] = r.deps(["n1-snapshot"]) as Promise<pulumi.Resource>[];
        for (const s of plan.steps) if (s.id !== "n1-snapshot") r.register(s.id, standIn(s.id));
        expect(() => r.finish(planned)).toThrow(new Error("the registered steps differ from the plan: planned but never registered: n1-snapshot"));
        await expect(waiting).rejects.toThrow("step n1-snapshot was depended on but never registered");
    });

    test("a step registered that the plan does not have fails, naming it", () => {
        expect(() => registerAll([], ["n1-restore"]).finish(planned)).toThrow(
            new Error("the registered steps differ from the plan: registered but not planned: n1-restore"),
        );
    });

    test("a dependency on a step neither planned nor registered is named", () => {
        const r = registerAll();
        askDeps(r, ["n9-verify"]);
        expect(() => r.finish(planned)).toThrow(new Error("the registered steps differ from the plan: depended on but neither planned nor registered: n9-verify"));
    });
});
