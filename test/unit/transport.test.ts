/**
 * The bounds the transports give the engine: how long an unreachable node takes to fail
 * (pulumi-command's dial retry, computed from its source) and the customTimeouts of a step;
 * what each transport does (its capability), and its commands outside Pulumi.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { NodeAccessError, remoteDebPath, transportCapability } from "../../components/node/capability";
import { dialBoundSeconds, stepCustomTimeouts } from "../../components/node/transport";

describe("dialBoundSeconds: (dialErrorLimit + 1) dials of perDialTimeout, retry.Until's waits between", () => {
    test.each([
        // limit, per dial, seconds: 4 dials of 10 s + 0.1 + 0.15 + 0.225 s of waits.
        [3, 10, 40.475],
        [1, 10, 20.1],
        // The provider's defaults (dialErrorLimit 10, perDialTimeout 15): waits 0.1 * 1.5^i, capped at 5 s.
        [10, 15, 165 + 0.1 + 0.15 + 0.225 + 0.3375 + 0.50625 + 0.759375 + 1.1390625 + 1.70859375 + 2.562890625 + 3.8443359375],
        [20, 1, 21 + (0.1 * (1.5 ** 10 - 1)) / 0.5 + 5 * 10],
    ])("dialErrorLimit %i, perDialTimeout %i s: %f s", (limit, perDial, expected) => {
        expect(dialBoundSeconds(limit, perDial)).toBeCloseTo(expected, 9);
    });
});

describe("stepCustomTimeouts: above the node's own bound", () => {
    test("the node-side bound (each step's limit + 10 s until SIGKILL) + the time to reach the node + 60 s, in whole seconds", () => {
        expect(stepCustomTimeouts(610, 40.475)).toEqual({ create: "711s", update: "711s", delete: "5m" });
        expect(stepCustomTimeouts(12, 0)).toEqual({ create: "72s", update: "72s", delete: "5m" });
    });
});

describe("transport capability: what each transport does (components/node/capability.ts)", () => {
    test("ssh: the .deb is copied to /var/tmp, a node's root is /, pmxcfs is real, hosts are remote", () => {
        const t = transportCapability({ transport: "ssh" });
        expect(transportCapability({})).toBe(t);
        expect([t.name, t.copiesDeb, t.clusterQuorum, t.remote]).toEqual(["ssh", true, true, true]);
        expect(t.debPath({ version: "0.4.2-1", path: "/build/x.deb" })).toBe("/var/tmp/pve-network-rs_0.4.2-1_amd64.deb");
        expect(remoteDebPath("0.4.2-1")).toBe("/var/tmp/pve-network-rs_0.4.2-1_amd64.deb");
        expect(t.nodeRoot(undefined, "pve1")).toBe("/");
    });

    test("local: the .deb is read where it is, a node's root is <sandboxDir>/<name>, no pmxcfs quorum", () => {
        const t = transportCapability({ transport: "local" });
        expect([t.name, t.copiesDeb, t.clusterQuorum, t.remote]).toEqual(["local", false, false, false]);
        expect(t.debPath({ version: "0.4.2-1", path: "/build/x.deb" })).toBe("/build/x.deb");
        expect(() => t.debPath({ version: "0.4.2-1" })).toThrow("pve-migration:package.path: required for a .deb read from a local file");
        expect(t.nodeRoot("/srv/sandbox", "mon1")).toBe("/srv/sandbox/mon1");
        expect(() => t.nodeRoot(undefined, "mon1")).toThrow("pve-migration:sandboxDir: required with transport local");
    });
});

describe("commands outside Pulumi over ssh (the diagnostics collection)", () => {
    const node = { name: "pve-east-01", address: "10.20.0.11", port: 22, sshUser: "root", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey" };
    const ssh = transportCapability({ transport: "ssh" });
    const base = (port: string, user: string, extra: string[] = []) => [
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "UserKnownHostsFile=/tmp/kh",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=10",
        "-p",
        port,
        ...extra,
        "-l",
        user,
        "--",
        "10.20.0.11",
    ];
    const OUT = "/var/tmp/pve-diagnostics-pve-east-01-20240501T100000Z.tar.gz";

    test("root: bash -s with quoted arguments under timeout; fetch and cleanup; host key pinned", () => {
        const sh = ssh.shell(node, { knownHostsFile: "/tmp/kh" });
        expect([sh.root, sh.remote, sh.nodePath("/etc/pve/x")]).toEqual(["/", true, "/etc/pve/x"]);
        expect(sh.stagingPath("/home/op/out.tar.gz", "pve-diagnostics-pve-east-01-20240501T100000Z.tar.gz")).toBe(OUT);
        const script = [
            "bash",
            "-s",
            "--",
            "--root",
            "/",
            "--node",
            "pve-east-01",
            "--phase-file",
            "/etc/pve/nodes/pve-east-01/network/migration.toml",
            "--out",
            OUT,
        ];
        expect(sh.command(script, 300)).toEqual({
            file: "ssh",
            args: [
                ...base("22", "root"),
                `'timeout' '-k' '10' '300' 'bash' '-s' '--' '--root' '/' '--node' 'pve-east-01' '--phase-file' '/etc/pve/nodes/pve-east-01/network/migration.toml' '--out' '${OUT}'`,
            ],
        });
        expect(sh.command(["cat", "--", OUT])).toEqual({ file: "ssh", args: [...base("22", "root"), `'cat' '--' '${OUT}'`] });
        expect(sh.command(["rm", "-f", "--", OUT])).toEqual({ file: "ssh", args: [...base("22", "root"), `'rm' '-f' '--' '${OUT}'`] });
        sh.close();
    });

    test("a non-root user goes through sudo -n; another port; an identity file; a hostile word stays one word", () => {
        const sh = ssh.shell({ ...node, port: 2222, sshUser: "deploy" }, { knownHostsFile: "/tmp/kh", identity: "/home/op/.ssh/id" });
        expect(sh.command(["cat", "--", OUT])).toEqual({
            file: "ssh",
            args: [...base("2222", "deploy", ["-i", "/home/op/.ssh/id", "-o", "IdentitiesOnly=yes"]), `'sudo' '-n' 'cat' '--' '${OUT}'`],
        });
        expect(sh.command(["echo", "$(touch /tmp/pwn)'; id"]).args.at(-1)).toBe(`'sudo' '-n' 'echo' '$(touch /tmp/pwn)'\\''; id'`);
    });

    test("the pinned host key goes to a known_hosts file of its own, removed on close", () => {
        const sh = ssh.shell({ ...node, port: 2222 });
        const kh = (sh.command(["true"]).args[5] as string).replace(/^UserKnownHostsFile=/, "");
        expect(fs.readFileSync(kh, "utf8")).toBe("[10.20.0.11]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKey\n");
        expect((fs.statSync(kh).mode & 0o777).toString(8)).toBe("600");
        sh.close();
        expect(fs.existsSync(kh)).toBe(false);
        expect(fs.existsSync(path.dirname(kh))).toBe(false);
    });

    test("address and host key are required, named by key", () => {
        expect(() => ssh.shell({ ...node, hostKey: undefined })).toThrow(
            new NodeAccessError("node pve-east-01: pve-migration:nodes[].hostKey is required with transport ssh (host keys are pinned)"),
        );
        expect(() => ssh.shell({ ...node, address: undefined })).toThrow(
            new NodeAccessError("node pve-east-01: pve-migration:nodes[].address is required with transport ssh"),
        );
    });
});

describe("commands outside Pulumi on a sandbox root", () => {
    const local = transportCapability({ transport: "local" });
    let dir: string;
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "transport-local-"));
        fs.mkdirSync(path.join(dir, "pve1"));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
    const node = { name: "pve1", port: 22, sshUser: "root" };

    test("the command runs here, under timeout when bounded; files are written in place", async () => {
        const sh = local.shell(node, { sandboxDir: dir });
        expect([sh.root, sh.remote, sh.nodePath("/etc/pve/x")]).toEqual([path.join(dir, "pve1"), false, path.join(dir, "pve1/etc/pve/x")]);
        expect(sh.command(["bash", "-s", "--", "--root", sh.root], 300)).toEqual({
            file: "timeout",
            args: ["-k", "10", "300", "bash", "-s", "--", "--root", sh.root],
        });
        expect(sh.command(["cat", "x"])).toEqual({ file: "cat", args: ["x"] });
        expect(sh.stagingPath("/home/op/out.tar.gz", "ignored")).toBe("/home/op/out.tar.gz");
        const r = await sh.run(["bash", "-s", "--", "a b"], 'printf "%s|" "$1"; printf err >&2; exit 3', 5);
        expect([r.code, r.stdout.toString("utf8"), r.stderr]).toEqual([3, "a b|", "err"]);
        sh.close();
    });

    test("a missing sandbox root or sandboxDir is named", () => {
        expect(() => local.shell({ ...node, name: "pve7" }, { sandboxDir: dir })).toThrow(
            new NodeAccessError(`node pve7: sandbox root ${path.join(dir, "pve7")} (pve-migration:sandboxDir/<node>) is not a folder`),
        );
        expect(() => local.shell(node, {})).toThrow(new NodeAccessError("node pve1: pve-migration:sandboxDir is required with transport local"));
    });
});
