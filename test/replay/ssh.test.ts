/**
 * Tests of the replay's SSH executor (test/support/replay/executors.ts, the stand-in for
 * @pulumi/command's remote provider) against a real sshd started on 127.0.0.1 by this file.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { replay, ReplayRun } from "../support/replay";
import { freePort, startSshd, TestSshd } from "../support/replay/sshd";

const base = { project: "replaytest", stack: "dev" };
let sshd: TestSshd;
let work: string;

// The executor's key folders go to a folder of this file's own, so that the leftovers check
// sees only them (other test processes on the machine make folders of the same name in /tmp).
let privateTmp: string;
beforeAll(async () => {
    privateTmp = fs.mkdtempSync(path.join(os.tmpdir(), "pve-replay-keys-"));
    process.env.PVE_REPLAY_TMPDIR = privateTmp;
    sshd = await startSshd();
    work = fs.mkdtempSync(path.join(os.tmpdir(), "replay-ssh-work-"));
});
afterAll(async () => {
    await sshd?.stop();
    fs.rmSync(work, { recursive: true, force: true });
    delete process.env.PVE_REPLAY_TMPDIR;
    fs.rmSync(privateTmp, { recursive: true, force: true });
});

function connection(over: Partial<command.types.input.remote.ConnectionArgs> = {}): command.types.input.remote.ConnectionArgs {
    return {
        host: "127.0.0.1",
        port: sshd.port,
        user: os.userInfo().username,
        hostKey: sshd.hostKeyEd25519,
        privateKey: pulumi.secret(sshd.clientKey),
        dialErrorLimit: 0,
        perDialTimeout: 2,
        ...over,
    };
}

const leftovers = () => fs.readdirSync(privateTmp).filter((f) => f.startsWith("replay-ssh-") || f.startsWith("replay-copy-"));
const results = (r: ReplayRun) => r.ops.map((o) => [o.name, o.op, o.result, o.error]);

describe("replay of registered resources: SSH executor", () => {
    it("replay of registered resources: stdin reaches the remote command; stdout, stderr and exit codes come back", async () => {
        const r = await replay({
            ...base,
            program: () => {
                const a = new command.remote.Command("a", { connection: connection(), create: "cat; echo to-stderr >&2", stdin: "hello\nworld\n" });
                new command.remote.Command("b", { connection: connection(), create: "echo err >&2; exit 7" }, { dependsOn: [a] });
                return { out: a.stdout };
            },
        });
        expect(results(r)).toEqual([
            ["a", "create", "ok", undefined],
            ["b", "create", "failed", 'Process exited with status 7: running "echo err >&2; exit 7":\nerr\n'],
        ]);
        expect(r.state.resources.map((x) => [x.name, x.outputs.stdout, x.outputs.stderr])).toEqual([["a", "hello\nworld", "to-stderr"]]);
        expect(r.stackOutputs).toEqual({ out: "hello\nworld" });
        // The connection (private key) is a secret in the outputs (provider:"secret").
        expect((r.state.resources[0].outputs.connection as Record<string, unknown>)["4dabf18193072939515e22adb298388d"]).toBe("1b47061264138c4ac30d75fd1eb44270");
        expect(leftovers()).toEqual([]);
    });

    it("replay of registered resources: an update over SSH records that the previous stdout would need AcceptEnv", async () => {
        const prog = (v: string) => () => {
            new command.remote.Command("u", { connection: connection(), create: `echo "prev=$PULUMI_COMMAND_STDOUT v=${v}"` });
            return {};
        };
        const first = await replay({ ...base, program: prog("1") });
        const second = await replay({ ...base, program: prog("2"), oldState: first.state });
        expect(results(second)).toEqual([["u", "update", "ok", undefined]]);
        expect(second.state.resources[0].outputs.stdout).toBe("prev= v=2");
        expect(second.warnings).toEqual([
            "u: PULUMI_COMMAND_STDOUT not sent to the node: the provider sets it with an SSH env request, which sshd accepts only with AcceptEnv; the replay sends no environment",
        ]);
    });

    it("replay of registered resources: CopyToRemote copies a file over SFTP, creating parent directories", async () => {
        const src = path.join(work, "pkg.deb");
        fs.writeFileSync(src, "deb-bytes\n");
        const dest = path.join(work, "remote dir", "sub", "pkg.deb");
        const r = await replay({
            ...base,
            program: () => {
                new command.remote.CopyToRemote("copy", { connection: connection(), source: new pulumi.asset.FileAsset(src), remotePath: dest });
                return {};
            },
        });
        expect(results(r)).toEqual([["copy", "create", "ok", undefined]]);
        expect(fs.readFileSync(dest, "utf8")).toBe("deb-bytes\n");
        const again = await replay({
            ...base,
            oldState: r.state,
            program: () => {
                new command.remote.CopyToRemote("copy", { connection: connection(), source: new pulumi.asset.FileAsset(src), remotePath: dest });
                return {};
            },
        });
        expect(results(again)).toEqual([["copy", "same", "ok", undefined]]);
    });

    it("replay of registered resources: a wrong pinned host key is refused", async () => {
        const r = await replay({
            ...base,
            program: () => {
                // The client's own ed25519 key stands for a wrong pin of the right type.
                new command.remote.Command("pin", { connection: connection({ hostKey: sshd.clientPub }), create: "touch pinned-ran" });
                return {};
            },
        });
        expect(results(r)).toEqual([["pin", "create", "failed", "after 0 failed attempts: Host key verification failed."]]);
        expect(leftovers()).toEqual([]);
    });

    it("replay of registered resources: an ssh-rsa pinned host key fails against Debian 12's sshd (HostKeyAlgorithms=ssh-rsa)", async () => {
        const r = await replay({
            ...base,
            program: () => {
                new command.remote.Command("rsa", { connection: connection({ hostKey: sshd.hostKeyRsa }), create: "true" });
                return {};
            },
        });
        expect(results(r)).toEqual([
            [
                "rsa",
                "create",
                "failed",
                `after 0 failed attempts: Unable to negotiate with 127.0.0.1 port ${sshd.port}: no matching host key type found. Their offer: ssh-ed25519,rsa-sha2-512,rsa-sha2-256`,
            ],
        ]);
    });

    it("replay of registered resources: an unreachable port fails after dialErrorLimit+1 attempts with the provider's backoff", async () => {
        const port = await freePort();
        const t0 = Date.now();
        const r = await replay({
            ...base,
            program: () => {
                new command.remote.Command("down", { connection: connection({ port, dialErrorLimit: 2, perDialTimeout: 1 }), create: "true" });
                return {};
            },
        });
        const ms = Date.now() - t0;
        expect(results(r)).toEqual([["down", "create", "failed", `after 2 failed attempts: ssh: connect to host 127.0.0.1 port ${port}: Connection refused`]]);
        // Waits of 100 ms and 150 ms between the three attempts (retry.Until defaults).
        expect(ms).toBeGreaterThanOrEqual(250);
        expect(ms).toBeLessThan(3000);
    });

    it("replay of registered resources: every dial attempt reaches the host (a server that closes at once sees dialErrorLimit+1 connections)", async () => {
        let seen = 0;
        const server = net.createServer((s) => {
            seen++;
            s.destroy();
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        const port = (server.address() as net.AddressInfo).port;
        try {
            const r = await replay({
                ...base,
                program: () => {
                    new command.remote.Command("closed", { connection: connection({ port, dialErrorLimit: 3, perDialTimeout: 1 }), create: "true" });
                    return {};
                },
            });
            expect(r.ops.map((o) => o.result)).toEqual(["failed"]);
            expect(r.ops[0].error).toMatch(/^after 3 failed attempts: /);
            expect(seen).toBe(4);
        } finally {
            server.close();
        }
    });

    it("replay of registered resources: a hostile host name executes nothing", async () => {
        const marker = path.join(work, "hostile-ran");
        const r = await replay({
            ...base,
            program: () => {
                new command.remote.Command("evil", { connection: connection({ host: `-oProxyCommand=touch ${marker}` }), create: "true" });
                return {};
            },
        });
        expect(results(r)).toEqual([["evil", "create", "failed", `replay: evil: connection.host "-oProxyCommand=touch ${marker}" is not a host name or address`]]);
        expect(fs.existsSync(marker)).toBe(false);
    });

    it("replay of registered resources: customTimeouts do not stop a remote command (session.Run ignores the context); the replay's cap does", async () => {
        const t0 = Date.now();
        const r = await replay({
            ...base,
            stepCapMs: 2500,
            program: () => {
                new command.remote.Command("hang", { connection: connection(), create: "sleep 4" }, { customTimeouts: { create: "1s" } });
                return {};
            },
        });
        const ms = Date.now() - t0;
        expect(results(r)).toEqual([["hang", "create", "failed", "replay safety cap: hang still running after 2500 ms; the engine would still be waiting"]]);
        expect(ms).toBeGreaterThanOrEqual(2500);
        expect(ms).toBeLessThan(6000);
    });

    it("replay of registered resources: customTimeouts bound the dial retries (context deadline exceeded)", async () => {
        const port = await freePort();
        const t0 = Date.now();
        const r = await replay({
            ...base,
            program: () => {
                new command.remote.Command(
                    "nodial",
                    { connection: connection({ port, dialErrorLimit: -1, perDialTimeout: 1 }), create: "true" },
                    { customTimeouts: { create: "1s" } },
                );
                return {};
            },
        });
        const ms = Date.now() - t0;
        expect(results(r)).toEqual([["nodial", "create", "failed", "context deadline exceeded"]]);
        expect(ms).toBeGreaterThanOrEqual(500);
        expect(ms).toBeLessThan(3000);
    });
});
