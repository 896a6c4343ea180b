/**
 * Tests of the replay of registered resources (test/support/replay, the stand-in for the Pulumi
 * engine): config and stack references, replacement order, the program cap.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { replay } from "../support/replay";

/** A custom resource of a type the replay has no provider for. */
class Thing extends pulumi.CustomResource {
    constructor(name: string) {
        super("acme:index:Thing", name, { size: 1 });
    }
}

const base = { project: "replaytest", stack: "dev" };
let dir: string;
beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "replay-rules-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
const log = () => fs.readFileSync(path.join(dir, "log"), "utf8").trim().split("\n");

describe("replay of registered resources: engine rules", () => {
    it("replay of registered resources: config values and secrets reach the program; stack references answer from the map and the old state", async () => {
        const program = async () => {
            const cfg = new pulumi.Config("ns");
            const other = new pulumi.StackReference("up", { name: "organization/other/prod" });
            const self = new pulumi.StackReference("self", { name: "organization/replaytest/dev" });
            return {
                plainValue: cfg.require("plain"),
                secretIsSecret: await (pulumi.isSecret(cfg.requireSecret("key")) as unknown as Promise<boolean>),
                upstream: (await other.getOutputDetails("phase")).value,
                previous: (await self.getOutputDetails("phase")).value,
            };
        };
        const r = await replay({
            ...base,
            program,
            config: { values: { "ns:plain": "v1", "ns:key": "s3cret" }, secretKeys: ["ns:key"] },
            stacks: { "organization/other/prod": { phase: "rust-sdn" } },
            oldState: { resources: [], stackOutputs: { phase: "rust-read-only" } },
        });
        expect(r.errors).toEqual([]);
        expect(r.stackOutputs).toEqual({ plainValue: "v1", secretIsSecret: true, upstream: "rust-sdn", previous: "rust-read-only" });
        expect(r.ops).toEqual([]);
    });

    it("replay of registered resources: a replace creates the new one first and then runs the old one's delete (create-before-delete)", async () => {
        const prog =
            (t: string, dbr = false) =>
            () => {
                new command.local.Command(
                    "r",
                    { create: `echo create-${t} >> log; echo out-${t}`, delete: 'echo "delete-$PULUMI_COMMAND_STDOUT" >> log', triggers: [t], dir },
                    { deleteBeforeReplace: dbr },
                );
                return {};
            };
        const first = await replay({ ...base, program: prog("1") });
        const second = await replay({ ...base, program: prog("2"), oldState: first.state });
        expect(second.ops.map((o) => `${o.name}:${o.op}:${o.result}:${o.ran}`)).toEqual(["r:replace:ok:true", "r:delete:ok:true"]);
        expect(log()).toEqual(["create-1", "create-2", "delete-out-1"]);
        expect(second.state.resources.map((x) => x.outputs.stdout)).toEqual(["out-2"]);
        const third = await replay({ ...base, program: prog("3", true), oldState: second.state });
        expect(third.ops.map((o) => `${o.name}:${o.op}:${o.result}`)).toEqual(["r:replace:ok"]);
        expect(log()).toEqual(["create-1", "create-2", "delete-out-1", "delete-out-2", "create-3"]);
        expect(third.state.resources.map((x) => x.outputs.stdout)).toEqual(["out-3"]);
    });

    it("replay of registered resources: a program that never finishes is cut by the replay's cap with a clear error", async () => {
        const t0 = Date.now();
        const r = await replay({ ...base, programCapMs: 500, program: () => new Promise(() => undefined) });
        expect(Date.now() - t0).toBeLessThan(3000);
        expect(r.errored).toBe(true);
        expect(r.errors).toEqual([
            "program: replay safety cap: the program did not finish within 500 ms; the engine would still be waiting",
            "replay: the program failed",
        ]);
    });

    it("replay of registered resources: a resource type without a replay provider fails with an error naming the type", async () => {
        const r = await replay({
            ...base,
            program: () => {
                new Thing("thing");
                return {};
            },
        });
        expect(r.ops.map((o) => [o.name, o.result, o.error])).toEqual([
            ["thing", "failed", "replay: no provider for type acme:index:Thing (pass one in options.providers)"],
        ]);
        expect(r.state.resources).toEqual([]);
    });
});
