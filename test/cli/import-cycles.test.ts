/**
 * No import cycle among components/, cli/, policies/ and bin/: none between modules, none
 * between folders (components/<concern>, cli, policies). The CLI layer sits on top: nothing in
 * components/ or policies/ imports cli/, except cli/errors.ts (a module without imports: the one
 * error type the logic modules throw).
 */
import { cycles, folderGraph, importGraph } from "./imports";

const graph = importGraph(["components", "cli", "policies", "bin"]);

test("the graph is read: the CLI entry imports its commands", () => {
    expect(graph.get("bin/migration-ctl.ts")).toEqual(["cli/migration-ctl/index.ts", "cli/errors.ts"]);
    expect(graph.get("cli/errors.ts")).toEqual([]);
    expect(graph.size).toBeGreaterThan(90);
});

test("no cycle between modules", () => {
    expect(cycles(graph)).toEqual([]);
});

test("between folders (cli/errors.ts seen as the leaf it is): no cycle through cli, policies, gates, diagnostics or bluegreen", () => {
    const withoutErrors = new Map([...graph].map(([m, deps]) => [m, deps.filter((d) => d !== "cli/errors.ts")]));
    // The folders of the node steps depend on each other by design: the catalogue (steps) builds
    // the arguments the plan's steps (plan) carry, the scripts render them, the node components
    // (node) register them, and the config schema (config) validates the step time limits
    // against the script list (steps/kinds.ts, a leaf module). No module imports itself back (the
    // test above); this pins the folder set so that it cannot grow.
    expect(cycles(folderGraph(withoutErrors))).toEqual([["components/config", "components/node", "components/plan", "components/scripts", "components/steps"]]);
});

test("components/ and policies/ import nothing of cli/ but cli/errors.ts; components/ imports nothing of policies/", () => {
    const offending = [...graph].flatMap(([m, deps]) =>
        deps
            .filter(
                (d) =>
                    (/^(components|policies)\//.test(m) && d.startsWith("cli/") && d !== "cli/errors.ts") ||
                    (m.startsWith("components/") && d.startsWith("policies/")),
            )
            .map((d) => `${m} -> ${d}`),
    );
    expect(offending).toEqual([]);
});

test("gates and diagnostics: neither imports the other", () => {
    const between = (a: string, b: string) => [...graph].some(([m, deps]) => m.startsWith(a) && deps.some((d) => d.startsWith(b)));
    expect([between("components/gates/", "components/diagnostics/"), between("components/diagnostics/", "components/gates/")]).toEqual([false, false]);
});
