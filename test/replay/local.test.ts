/**
 * Tests of the replay's command:local:Command executor (test/support/replay/executors.ts, the
 * stand-in for @pulumi/command's local provider): exit errors, environment of an update,
 * customTimeouts (only the interpreter is killed) and the replay's safety cap, parallelism.
 */
import * as command from "@pulumi/command";
import { replay } from "../support/replay";

const base = { project: "replaytest", stack: "dev" };

describe("replay of registered resources: local executor", () => {
    it("replay of registered resources: a non-zero exit fails the step with the provider's error text and stdin reaches the command", async () => {
        const r = await replay({
            ...base,
            program: () => {
                const ok = new command.local.Command("ok", { create: "cat; echo to-stderr >&2", stdin: "in\n\n" });
                new command.local.Command("bad", { create: "echo err >&2; exit 3" }, { dependsOn: [ok] });
                return {};
            },
        });
        expect(r.ops.map((o) => [o.name, o.result, o.error])).toEqual([
            ["ok", "ok", undefined],
            ["bad", "failed", 'exit status 3: running "echo err >&2; exit 3":\nerr\n'],
        ]);
        // Only one trailing newline is trimmed (strings.TrimSuffix).
        expect(r.state.resources.map((x) => [x.name, x.outputs.stdout, x.outputs.stderr])).toEqual([["ok", "in\n", "to-stderr"]]);
    });

    it("replay of registered resources: an update sees the previous stdout unless addPreviousOutputInEnv is false", async () => {
        const prog = (v: string, add?: boolean) => () => {
            new command.local.Command("c", { create: `echo "prev=$PULUMI_COMMAND_STDOUT v=${v}"`, ...(add === undefined ? {} : { addPreviousOutputInEnv: add }) });
            return {};
        };
        const first = await replay({ ...base, program: prog("1") });
        expect(first.state.resources[0].outputs.stdout).toBe("prev= v=1");
        const second = await replay({ ...base, program: prog("2"), oldState: first.state });
        expect(second.state.resources[0].outputs.stdout).toBe("prev=prev= v=1 v=2");
        const third = await replay({ ...base, program: prog("3", false), oldState: second.state });
        expect(third.state.resources[0].outputs.stdout).toBe("prev= v=3");
    });

    it("replay of registered resources: customTimeouts kill the interpreter (signal: killed) when it is the only process", async () => {
        const t0 = Date.now();
        const r = await replay({
            ...base,
            program: () => {
                new command.local.Command("slow", { create: "exec sleep 30" }, { customTimeouts: { create: "1s" } });
                return {};
            },
        });
        const ms = Date.now() - t0;
        expect(r.ops.map((o) => [o.result, o.error])).toEqual([["failed", 'signal: killed: running "exec sleep 30":\n']]);
        expect(ms).toBeGreaterThanOrEqual(1000);
        expect(ms).toBeLessThan(5000);
    });

    it("replay of registered resources: a child that holds the output pipes outlives the timeout; the replay's cap says the engine would still be waiting", async () => {
        const t0 = Date.now();
        const r = await replay({
            ...base,
            stepCapMs: 2500,
            program: () => {
                new command.local.Command("stuck", { create: "sleep 30; true" }, { customTimeouts: { create: "1s" } });
                return {};
            },
        });
        const ms = Date.now() - t0;
        expect(r.ops.map((o) => [o.result, o.error])).toEqual([
            ["failed", "replay safety cap: stuck still running after 2500 ms; the engine would still be waiting"],
        ]);
        expect(ms).toBeGreaterThanOrEqual(2500);
        expect(ms).toBeLessThan(6000);
    });

    it("replay of registered resources: independent resources run in parallel by default and one at a time with parallel: 1", async () => {
        const prog = () => {
            for (const n of ["x", "y", "z"]) new command.local.Command(n, { create: "sleep 0.4" });
            return {};
        };
        const free = await replay({ ...base, program: prog });
        const maxStart = Math.max(...free.ops.map((o) => o.startedAt));
        const minEnd = Math.min(...free.ops.map((o) => o.endedAt));
        expect(free.ops.map((o) => o.result)).toEqual(["ok", "ok", "ok"]);
        expect(maxStart).toBeLessThan(minEnd); // all three overlapped

        const one = await replay({ ...base, program: prog, parallel: 1 });
        const sorted = [...one.ops].sort((a, b) => a.startedAt - b.startedAt);
        expect(sorted[1].startedAt).toBeGreaterThanOrEqual(sorted[0].endedAt);
        expect(sorted[2].startedAt).toBeGreaterThanOrEqual(sorted[1].endedAt);
    });
});
