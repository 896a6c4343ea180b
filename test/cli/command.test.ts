/**
 * The CLI layer (cli/command.ts, cli/errors.ts): declarations to commander, one error line,
 * exit 70 for an internal error in every tool, --version everywhere.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CommandDecl, Io, ToolDecl, runTool } from "../../cli/command";
import { CliError, EXIT, UsageError } from "../../cli/errors";
import { BENCH } from "../../cli/bench";
import { CHART_DIGEST } from "../../cli/chart-digest";
import { CONTRACT_TEST } from "../../cli/contract-test";
import { DEV_SANDBOX } from "../../cli/dev-sandbox";
import { LAB } from "../../cli/lab";
import { METRICS_GATE } from "../../cli/metrics-gate";
import { MIGRATION_CTL } from "../../cli/migration-ctl";
import { POLICY_CHECK } from "../../cli/policy-check";

const VERSION = JSON.parse(fs.readFileSync(path.join(__dirname, "../../package.json"), "utf8")).version as string;

function capture(): { io: Io; out: () => { stdout: string; stderr: string } } {
    let stdout = "";
    let stderr = "";
    return {
        io: { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd: "/", env: {} },
        out: () => ({ stdout, stderr }),
    };
}

/** A tool whose one command throws what `fail` gives it. */
function failing(fail: () => never, name = "stand-in-tool"): ToolDecl {
    const cmd: CommandDecl = { name: "go", summary: "throws", options: [{ flags: "--value <V>", description: "a value" }], run: () => fail() };
    return { name, description: "a tool for this test", commands: [cmd], footer: "exit codes: see the test\n" };
}

describe("the top-level catch", () => {
    test("an unexpected exception is exit 70, 'internal error' and its stack on stderr", async () => {
        const c = capture();
        const code = await runTool(
            failing(() => {
                throw new TypeError("x is not a function");
            }),
            ["go"],
            c.io,
        );
        expect(code).toBe(70);
        expect(c.out().stdout).toBe("");
        expect(c.out().stderr).toMatch(/^stand-in-tool: internal error: TypeError: x is not a function\n    at /);
    });

    test("an async rejection is the same internal error", async () => {
        const c = capture();
        const tool: ToolDecl = {
            ...failing(() => {
                throw new Error("unused");
            }),
            commands: [{ name: "go", summary: "", run: async () => Promise.reject(new RangeError("bad")) }],
        };
        expect(await runTool(tool, ["go"], c.io)).toBe(70);
        expect(c.out().stderr.split("\n")[0]).toBe("stand-in-tool: internal error: RangeError: bad");
    });

    test("a CliError prints its message and details and exits with its code", async () => {
        const c = capture();
        expect(
            await runTool(
                failing(() => {
                    throw new CliError(EXIT.REFUSED, "refused: x", ["one", "two"]);
                }),
                ["go"],
                c.io,
            ),
        ).toBe(8);
        expect(c.out()).toEqual({ stdout: "", stderr: "stand-in-tool: refused: x\n  - one\n  - two\n" });
    });

    test("a usage error is one line naming the argument, with the help to read", async () => {
        const c = capture();
        expect(
            await runTool(
                failing(() => {
                    throw new UsageError("--value: must be a number");
                }),
                ["go", "--value", "x"],
                c.io,
            ),
        ).toBe(2);
        expect(c.out()).toEqual({ stdout: "", stderr: "stand-in-tool: --value: must be a number (see stand-in-tool go --help)\n" });
        const d = capture();
        expect(
            await runTool(
                failing(() => {
                    throw new Error("unused");
                }),
                ["go", "--value"],
                d.io,
            ),
        ).toBe(2);
        expect(d.out()).toEqual({ stdout: "", stderr: "stand-in-tool: go: --value needs a value (see stand-in-tool go --help)\n" });
    });
});

const TOOLS: [string, ToolDecl][] = [
    ["migration-ctl", MIGRATION_CTL as ToolDecl],
    ["contract-test", CONTRACT_TEST],
    ["metrics-gate", METRICS_GATE],
    ["policy-check", POLICY_CHECK],
    ["dev-sandbox", DEV_SANDBOX],
    ["chart-digest", CHART_DIGEST],
    ["lab", LAB],
    ["bench", BENCH],
];

describe.each(TOOLS)("%s", (name, tool) => {
    test("--version prints the package version", async () => {
        const c = capture();
        expect(await runTool(tool, ["--version"], c.io)).toBe(0);
        expect(c.out()).toEqual({ stdout: `${VERSION}\n`, stderr: "" });
    });

    test("--help prints the usage and the exit codes, 70 among them", async () => {
        const c = capture();
        expect(await runTool(tool, ["--help"], c.io)).toBe(0);
        expect(c.out().stderr).toBe("");
        expect(c.out().stdout.split("\n")[0]).toMatch(new RegExp(`^Usage: ${name} \\[options\\]`));
        expect(c.out().stdout).toMatch(/\nexit codes:\n(  \d+ +\S.*\n)+/);
        expect(c.out().stdout).toContain("\n  70  internal error\n");
    });

    test("an unknown flag is one line, exit 2, nothing on stdout", async () => {
        const c = capture();
        const words = tool.commands[0].name === "" ? [] : tool.commands[0].name.split(" ");
        expect(await runTool(tool, [...words, "--no-such-flag"], c.io)).toBe(2);
        const label = words.length ? `${words.join(" ")}: ` : "";
        expect(c.out()).toEqual({ stdout: "", stderr: `${name}: ${label}unknown flag --no-such-flag (see ${[name, ...words].join(" ")} --help)\n` });
    });
});

describe("single-command tools: the findings of a new user", () => {
    test("dev-sandbox --dir without a value: one line naming it, exit 2, nothing done", async () => {
        const c = capture();
        expect(await runTool(DEV_SANDBOX, ["--dir"], c.io)).toBe(2);
        expect(c.out()).toEqual({ stdout: "", stderr: "dev-sandbox: --dir needs a value (see dev-sandbox --help)\n" });
    });

    test("dev-sandbox refuses an unknown flag and a stray argument", async () => {
        const c = capture();
        expect(await runTool(DEV_SANDBOX, ["--dri", "x"], c.io)).toBe(2);
        expect(c.out().stderr).toBe("dev-sandbox: unknown flag --dri (see dev-sandbox --help)\n");
        const d = capture();
        expect(await runTool(DEV_SANDBOX, ["somewhere"], d.io)).toBe(2);
        expect(d.out().stderr).toBe('dev-sandbox: unexpected argument "somewhere" (see dev-sandbox --help)\n');
    });

    test("contract-test --output naming a folder: one line, exit 2, before any request", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "contract-out-"));
        try {
            const c = capture();
            const io = { ...c.io, cwd: dir, env: { PVE_API_TOKEN: "ci@pve!gate=0b5c2c4e-secret" } };
            // 127.0.0.1:1 refuses connections: a request made would show as an error line, not this.
            expect(
                await runTool(CONTRACT_TEST, ["--node", "pve1", "--perl-url", "https://127.0.0.1:1", "--rust-url", "https://127.0.0.1:1", "--output", "."], io),
            ).toBe(2);
            expect(c.out()).toEqual({ stdout: "", stderr: "contract-test: --output: . is a folder; give the report file (see contract-test --help)\n" });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("lab: a bad --nodes and a missing sub-command are usage errors", async () => {
        const c = capture();
        expect(await runTool(LAB, ["up", "--nodes", "12"], c.io)).toBe(2);
        expect(c.out().stderr).toBe('lab: --nodes: takes 1 to 9 (got "12") (see lab up --help)\n');
        const d = capture();
        expect(await runTool(LAB, [], d.io)).toBe(2);
        expect(d.out().stderr).toBe("lab: missing command (up, down, status) (see lab --help)\n");
    });
});
