import { PHASES, Phase, transition } from "../../components/phases";
import { criticalPath, planCommands, planSteps } from "../../components/plan";

const all: [Phase, Phase][] = PHASES.flatMap((f) => PHASES.map((t) => [f, t] as [Phase, Phase]));

function kindsOn(from: Phase, to: Phase, scope: "cluster" | "node", node = "n1"): string[] {
    return planSteps({ cluster: "c", from, to, nodes: ["n1", "n2"], scope, writerNode: "n1" })
        .steps.filter((s) => s.node === node)
        .map((s) => s.kind);
}

describe("step plans for every (from, to) pair", () => {
    test.each(all)("%s -> %s, node-scoped config", (from, to) => {
        const t = transition(from, to);
        const expected =
            t.kind === "none"
                ? ["package", "units", "config", "services", "verify"]
                : t.kind === "promotion"
                  ? ["snapshot", "package", "units", "config", "services", "verify"]
                  : t.restoreRequired
                    ? ["snapshot", "config", "services", "package", "units", "restore", "cluster-restore", "legacy-apply", "network-confirm", "verify"]
                    : ["snapshot", "config", "services", "package", "units", "legacy-apply", "network-confirm", "verify"];
        expect(kindsOn(from, to, "node")).toEqual(expected);
        expect(kindsOn(from, to, "node", "n2")).toEqual(expected.filter((k) => k !== "cluster-restore"));
    });

    test.each(all)("%s -> %s, cluster-wide config: one config step, on the writer", (from, to) => {
        const plan = planSteps({ cluster: "c", from, to, nodes: ["n1", "n2"], scope: "cluster", writerNode: "n1" });
        expect(plan.steps.filter((s) => s.kind === "cluster-config").map((s) => [s.id, s.node])).toEqual([["c-cluster-config", "n1"]]);
        expect(plan.steps.filter((s) => s.kind === "config")).toEqual([]);
        // Every step comes after its dependencies.
        const pos = new Map(plan.steps.map((s, i) => [s.id, i]));
        for (const s of plan.steps) for (const d of s.dependsOn) expect(pos.get(d)).toBeLessThan(pos.get(s.id) as number);
    });

    test("promotion order: backup before package, package before config, config before services, verify last", () => {
        const plan = planSteps({ cluster: "c", from: "rust-read-only", to: "rust-basic-write", nodes: ["n1"], scope: "node", writerNode: "n1" });
        expect(plan.steps.map((s) => [s.id, s.dependsOn])).toEqual([
            ["n1-snapshot", []],
            ["n1-package", ["n1-snapshot"]],
            ["n1-units", ["n1-snapshot"]],
            ["n1-config", ["n1-package", "n1-units"]],
            ["n1-services", ["n1-config"]],
            ["n1-verify", ["n1-services"]],
        ]);
    });

    test("rollback order: lower phase, middleware and daemon, restore, legacy apply, its confirmation, verify", () => {
        const plan = planSteps({ cluster: "c", from: "rust-full", to: "perl-only", nodes: ["n1"], scope: "node", writerNode: "n1" });
        expect(plan.steps.map((s) => [s.id, s.dependsOn])).toEqual([
            ["n1-snapshot", []],
            ["n1-config", ["n1-snapshot"]],
            ["n1-services", ["n1-config"]],
            ["n1-package", ["n1-services"]],
            ["n1-units", ["n1-services"]],
            ["n1-restore", ["n1-services"]],
            ["c-cluster-restore", ["n1-services"]],
            ["n1-legacy-apply", ["n1-restore", "c-cluster-restore"]],
            ["n1-network-confirm", ["n1-legacy-apply"]],
            ["n1-verify", ["n1-network-confirm", "n1-package", "n1-units"]],
        ]);
        expect(criticalPath(plan.steps)).toEqual(["n1-snapshot", "n1-config", "n1-services", "n1-restore", "n1-legacy-apply", "n1-network-confirm", "n1-verify"]);
    });

    test("nodes roll back in parallel: the critical path does not grow with the node count", () => {
        const nodes = Array.from({ length: 64 }, (_, i) => `n${i}`);
        const plan = planSteps({ cluster: "c", from: "rust-sdn", to: "perl-only", nodes, scope: "node", writerNode: "n0" });
        expect(criticalPath(plan.steps)).toEqual(["n0-snapshot", "n0-config", "n0-services", "n0-restore", "n0-legacy-apply", "n0-network-confirm", "n0-verify"]);
        const clusterPlan = planSteps({ cluster: "c", from: "rust-sdn", to: "perl-only", nodes, scope: "cluster", writerNode: "n0" });
        expect(criticalPath(clusterPlan.steps)).toEqual([
            "n0-snapshot",
            "c-cluster-config",
            "n0-services",
            "n0-restore",
            "n0-legacy-apply",
            "n0-network-confirm",
            "n0-verify",
        ]);
    });

    describe("with HA maintenance (pve-migration:ha.maintenance): ha-enter before each node's services, ha-leave after its verify", () => {
        test.each(all)("%s -> %s: planned in every transition, not in a run with no change", (from, to) => {
            const t = transition(from, to);
            const plan = planSteps({ cluster: "c", from, to, nodes: ["n1", "n2"], scope: "node", writerNode: "n1", haMaintenance: true });
            const on = (node: string) => plan.steps.filter((s) => s.node === node).map((s) => s.kind);
            const without = kindsOn(from, to, "node", "n2");
            if (t.kind === "none") {
                expect(on("n2")).toEqual(without);
                return;
            }
            const i = without.indexOf("services");
            expect(on("n2")).toEqual([...without.slice(0, i), "ha-enter", ...without.slice(i), "ha-leave"]);
            const step = (id: string) => plan.steps.find((s) => s.id === id)!;
            expect(step("n2-ha-enter").dependsOn).toEqual(["n2-config"]);
            expect(step("n2-services").dependsOn).toEqual(["n2-ha-enter"]);
            expect(step("n2-ha-leave").dependsOn).toEqual(["n2-verify"]);
        });

        test("a promotion with a cluster-wide config: ha-enter after the cluster's config, in the command of the services", () => {
            const plan = planSteps({
                cluster: "c",
                from: "rust-read-only",
                to: "rust-basic-write",
                nodes: ["n1", "n2"],
                scope: "cluster",
                writerNode: "n1",
                haMaintenance: true,
            });
            expect(planCommands(plan).map((c) => [c.id, c.dependsOn])).toEqual([
                ["n1-snapshot-package-units", []],
                ["n2-snapshot-package-units", []],
                ["c-cluster-config", ["n1-snapshot-package-units", "n2-snapshot-package-units"]],
                ["n1-ha-enter-services-verify-ha-leave", ["c-cluster-config"]],
                ["n2-ha-enter-services-verify-ha-leave", ["c-cluster-config"]],
            ]);
        });

        test("a rollback out of the write phases: maintenance from before the services until after verify, over four commands", () => {
            const plan = planSteps({ cluster: "c", from: "rust-full", to: "perl-only", nodes: ["n1"], scope: "cluster", writerNode: "n1", haMaintenance: true });
            expect(planCommands(plan).map((c) => [c.id, c.dependsOn])).toEqual([
                ["n1-snapshot", []],
                ["c-cluster-config", ["n1-snapshot"]],
                ["n1-ha-enter-services-package-units-restore", ["c-cluster-config"]],
                ["c-cluster-restore", ["c-cluster-config"]],
                ["n1-legacy-apply", ["c-cluster-restore", "n1-ha-enter-services-package-units-restore"]],
                ["n1-network-confirm-verify-ha-leave", ["n1-ha-enter-services-package-units-restore", "n1-legacy-apply"]],
            ]);
        });
    });
});
