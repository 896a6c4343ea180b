/**
 * Tests of the replay of registered resources (test/support/replay), the stand-in for the Pulumi
 * engine and @pulumi/command, with a tiny program of three chained command:local:Command
 * resources that really run /bin/sh in a temp dir.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { replay, ReplayRun, ReplayState } from "../support/replay";

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
let dir: string;
beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "replay-engine-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Lines appended by the commands, in the order they ran. */
function ranLog(): string[] {
    const f = path.join(dir, "log");
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n") : [];
}

interface ChainOpts {
    /** The middle command's payload (a change of input). */
    middle?: string;
    /** Drop the third command from the program. */
    withoutThird?: boolean;
    /** A trigger on the first (a replace). */
    trigger?: string;
    /** The plain output's value. */
    plain?: string;
    /** Export c's stdout (default true). */
    exportLast?: boolean;
    /** Give c a delete command. */
    cDelete?: boolean;
}

/** The tiny program: a -> b -> c (dependsOn and an input from a's stdout), a plain output and c's stdout. */
function chain(o: ChainOpts = {}) {
    return () => {
        const log = path.join(dir, "log");
        const a = new command.local.Command("a", {
            create: `echo a >> '${log}'; printf 'from-a\\n'`,
            dir,
            ...(o.trigger ? { triggers: [o.trigger] } : {}),
        });
        const b = new command.local.Command(
            "b",
            { create: pulumi.interpolate`echo b >> '${log}'; echo "${a.stdout}-${o.middle ?? "b1"}"`, dir },
            { dependsOn: [a] },
        );
        const out: Record<string, unknown> = { plain: o.plain ?? "p1" };
        if (!o.withoutThird) {
            const c = new command.local.Command(
                "c",
                { create: "echo c >> log; cat", stdin: b.stdout, dir, ...(o.cDelete ? { delete: 'echo "del-c:$PULUMI_COMMAND_STDOUT" >> log' } : {}) },
                { dependsOn: [b] },
            );
            if (o.exportLast !== false) out.last = c.stdout;
        }
        return out;
    };
}

const base = { project: "replaytest", stack: "dev" };
const ops = (r: ReplayRun) => r.ops.map((o) => `${o.name}:${o.op}:${o.result}${o.ran ? "" : ":norun"}`);
const names = (s: ReplayState) => s.resources.map((r) => r.name);

describe("replay of registered resources: local command chain", () => {
    it("replay of registered resources: first run creates all three in dependency order and exports both outputs", async () => {
        const r = await replay({ ...base, program: chain() });
        expect(r.errored).toBe(false);
        expect(r.errors).toEqual([]);
        expect(ops(r)).toEqual(["a:create:ok", "b:create:ok", "c:create:ok"]);
        expect(ranLog()).toEqual(["a", "b", "c"]);
        const [a, b, c] = r.ops;
        expect(b.startedAt).toBeGreaterThanOrEqual(a.endedAt);
        expect(c.startedAt).toBeGreaterThanOrEqual(b.endedAt);
        expect(names(r.state)).toEqual(["a", "b", "c"]);
        // local/commandOutputs.go: one trailing newline trimmed.
        expect(r.state.resources[0].outputs.stdout).toBe("from-a");
        expect(r.state.resources[1].outputs.stdout).toBe("from-a-b1");
        expect(r.state.resources[2].outputs.stdout).toBe("from-a-b1");
        expect(r.state.resources[1].dependencies).toEqual(["urn:pulumi:dev::replaytest::pulumi:pulumi:Stack$command:local:Command::a"]);
        expect(r.stackOutputs).toEqual({ plain: "p1", last: "from-a-b1" });
        expect(r.stackOutputEvents).toEqual([{ plain: "p1", last: "from-a-b1" }]);
    });

    it("replay of registered resources: a second run of the same program runs nothing and keeps state and outputs", async () => {
        const first = await replay({ ...base, program: chain() });
        const second = await replay({ ...base, program: chain(), oldState: first.state });
        expect(ops(second)).toEqual(["a:same:ok:norun", "b:same:ok:norun", "c:same:ok:norun"]);
        expect(ranLog()).toEqual(["a", "b", "c"]);
        expect(second.state).toEqual(first.state);
        expect(second.stackOutputs).toEqual({ plain: "p1", last: "from-a-b1" });
    });

    it("replay of registered resources: a changed input updates only that resource by running create again", async () => {
        const first = await replay({ ...base, program: chain() });
        const second = await replay({ ...base, program: chain({ middle: "b2" }), oldState: first.state });
        // b's stdout changed, so c's stdin changed too: c is updated as well (its input changed).
        expect(ops(second)).toEqual(["a:same:ok:norun", "b:update:ok", "c:update:ok"]);
        expect(ranLog()).toEqual(["a", "b", "c", "b", "c"]);
        expect(second.state.resources.map((x) => x.id)).toEqual(first.state.resources.map((x) => x.id));
        expect(second.stackOutputs).toEqual({ plain: "p1", last: "from-a-b2" });
    });

    it("replay of registered resources: a changed trigger replaces (create, then nothing to delete without a delete command)", async () => {
        const first = await replay({ ...base, program: chain({ trigger: "t1" }) });
        const second = await replay({ ...base, program: chain({ trigger: "t2" }), oldState: first.state });
        expect(ops(second)).toEqual(["a:replace:ok", "b:same:ok:norun", "c:same:ok:norun", "a:delete:ok:norun"]);
        expect(ranLog()).toEqual(["a", "b", "c", "a"]);
        expect(second.state.resources[0].id).not.toBe(first.state.resources[0].id);
        expect(names(second.state)).toEqual(["a", "b", "c"]);
    });

    it("replay of registered resources: failing the middle step stops the chain, keeps the first, and the outputs event is empty", async () => {
        const r = await replay({ ...base, program: chain(), fail: (n) => (n === "b" ? "exit status 3: injected" : undefined) });
        expect(r.errored).toBe(true);
        // c's stdin (b.stdout) rejects, so the SDK never sends c's RegisterResource: the engine never sees it.
        expect(ops(r)).toEqual(["a:create:ok", "b:create:failed:norun"]);
        expect(r.errors).toEqual([
            "b: exit status 3: injected",
            'program: error serializing property "stdin": failed to register new resource b [command:local:Command]: exit status 3: injected',
        ]);
        expect(r.ops[1].error).toBe("exit status 3: injected");
        expect(ranLog()).toEqual(["a"]);
        expect(names(r.state)).toEqual(["a"]);
        // The exported object holds c.stdout, which rejects: Stack.initialize's massage throws and its
        // `finally` registers undefined outputs, which arrive as an empty event; merged over the old
        // (empty) outputs on error.
        expect(r.stackOutputEvents).toEqual([{}]);
        expect(r.stackOutputs).toEqual({});

        // Run again: exactly the missing ones run.
        const again = await replay({ ...base, program: chain(), oldState: r.state });
        expect(again.errored).toBe(false);
        expect(ops(again)).toEqual(["a:same:ok:norun", "b:create:ok", "c:create:ok"]);
        expect(ranLog()).toEqual(["a", "b", "c"]);
        expect(names(again.state)).toEqual(["a", "b", "c"]);
        expect(again.stackOutputs).toEqual({ plain: "p1", last: "from-a-b1" });
    });

    it("replay of registered resources: a failed run keeps the old stack outputs when the exported object depends on the failed step", async () => {
        const first = await replay({ ...base, program: chain() });
        const r = await replay({ ...base, program: chain({ middle: "b2", plain: "p2" }), oldState: first.state, fail: (n) => (n === "b" ? "boom" : undefined) });
        expect(r.errored).toBe(true);
        expect(ops(r)).toEqual(["a:same:ok:norun", "b:update:failed:norun"]);
        expect(r.stackOutputEvents).toEqual([{}]);
        expect(r.stackOutputs).toEqual({ plain: "p1", last: "from-a-b1" });
        // A failed update keeps the old version of b; c was never registered and keeps its old version too.
        expect(r.state.resources.map((x) => [x.name, x.outputs.stdout])).toEqual([
            ["a", "from-a"],
            ["b", "from-a-b1"],
            ["c", "from-a-b1"],
        ]);
        expect(r.state.resources[1].inputs.create).toBe(first.state.resources[1].inputs.create);
    });

    it("replay of registered resources: a failed run merges a plain-only outputs event over the old outputs", async () => {
        const first = await replay({ ...base, program: chain() });
        const r = await replay({
            ...base,
            program: chain({ middle: "b2", plain: "p2", exportLast: false }),
            oldState: first.state,
            fail: (n) => (n === "b" ? "boom" : undefined),
        });
        expect(r.errored).toBe(true);
        expect(r.stackOutputEvents).toEqual([{ plain: "p2" }]);
        // deployment_executor.go: on error the old outputs with the event's keys copied over them.
        expect(r.stackOutputs).toEqual({ plain: "p2", last: "from-a-b1" });
        expect(r.state.stackOutputs).toEqual({ plain: "p2", last: "from-a-b1" });
        // The same program succeeding: exactly the event's outputs (`last` is gone).
        const ok = await replay({ ...base, program: chain({ middle: "b2", plain: "p2", exportLast: false }), oldState: r.state });
        expect(ok.errored).toBe(false);
        expect(ops(ok)).toEqual(["a:same:ok:norun", "b:update:ok", "c:update:ok"]);
        expect(ok.stackOutputs).toEqual({ plain: "p2" });
    });

    it("replay of registered resources: cancelAfter stops starting steps once the named ones finished", async () => {
        const r = await replay({ ...base, program: chain(), cancelAfter: ["a"] });
        expect(r.errored).toBe(true);
        expect(ops(r)).toEqual(["a:create:ok", "b:create:not-run:norun"]);
        expect(r.errors[0]).toBe("replay: the run was cancelled (cancelAfter)");
        expect(ranLog()).toEqual(["a"]);
        expect(names(r.state)).toEqual(["a"]);
        const again = await replay({ ...base, program: chain(), oldState: r.state });
        expect(ops(again)).toEqual(["a:same:ok:norun", "b:create:ok", "c:create:ok"]);
        expect(ranLog()).toEqual(["a", "b", "c"]);
    });

    it("replay of registered resources: targets change only the targeted resource; untargeted ones keep their old state", async () => {
        const first = await replay({ ...base, program: chain() });
        const r = await replay({ ...base, program: chain({ middle: "b2", plain: "p2" }), oldState: first.state, targets: ["b"] });
        expect(r.errored).toBe(false);
        expect(ops(r)).toEqual(["a:same:skipped:norun", "b:update:ok", "c:same:skipped:norun"]);
        expect(ranLog()).toEqual(["a", "b", "c", "b"]);
        expect(r.state.resources.map((x) => [x.name, x.outputs.stdout])).toEqual([
            ["a", "from-a"],
            ["b", "from-a-b2"],
            ["c", "from-a-b1"],
        ]);
        expect(r.stackOutputs).toEqual({ plain: "p2", last: "from-a-b1" });
    });

    it("replay of registered resources: an untargeted new resource is a skipped create (unknown to the program, not stored)", async () => {
        const r = await replay({ ...base, program: chain(), targets: ["a"] });
        expect(r.errored).toBe(false);
        expect(ops(r)).toEqual(["a:create:ok", "b:same:skipped:norun", "c:same:skipped:norun"]);
        expect(ranLog()).toEqual(["a"]);
        expect(names(r.state)).toEqual(["a"]);
        // c.stdout is unknown: stored as the checkpoint's computed placeholder.
        expect(r.stackOutputs).toEqual({ plain: "p1", last: UNKNOWN });
    });

    it("replay of registered resources: a resource removed from the program without a delete command runs nothing and leaves the state", async () => {
        const first = await replay({ ...base, program: chain() });
        const r = await replay({ ...base, program: chain({ withoutThird: true }), oldState: first.state });
        expect(r.errored).toBe(false);
        expect(ops(r)).toEqual(["a:same:ok:norun", "b:same:ok:norun", "c:delete:ok:norun"]);
        expect(ranLog()).toEqual(["a", "b", "c"]);
        expect(names(r.state)).toEqual(["a", "b"]);
        expect(r.stackOutputs).toEqual({ plain: "p1" });
    });

    it("replay of registered resources: a removed resource with a delete command runs it with its previous stdout in the environment", async () => {
        const first = await replay({ ...base, program: chain({ cDelete: true }) });
        const r = await replay({ ...base, program: chain({ withoutThird: true }), oldState: first.state });
        expect(ops(r)).toEqual(["a:same:ok", "b:same:ok", "c:delete:ok"].map((x) => (x.startsWith("c") ? x : `${x}:norun`)));
        expect(ranLog()).toEqual(["a", "b", "c", "del-c:from-a-b1"]);
        expect(names(r.state)).toEqual(["a", "b"]);
    });

    it("replay of registered resources: preview executes nothing and reports the planned operations", async () => {
        const first = await replay({ ...base, program: chain() });
        const r = await replay({ ...base, program: chain({ middle: "b2", withoutThird: true }), oldState: first.state, preview: true });
        expect(ops(r)).toEqual(["a:same:ok:norun", "b:update:planned:norun", "c:delete:planned:norun"]);
        expect(ranLog()).toEqual(["a", "b", "c"]);
        expect(r.state).toEqual(first.state);
        expect(r.stackOutputs).toEqual(first.stackOutputs);
    });
});
