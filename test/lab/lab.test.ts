/**
 * The node lab, for real: three Debian 12 nodes booted with systemd-nspawn, reached over ssh.
 * Needs root, systemd-nspawn and debootstrap (.ci/run installs them); without them startLab
 * throws in beforeAll naming what is missing, and every test here fails.
 */
import * as fs from "fs";
import * as path from "path";
import { Lab, startLab, teardown, BRIDGE } from "../../lab";
import { labNspawnPids, mountsUnder, run } from "../../lab/host";
import { parseStackConfig } from "../../components/config/schema";
import { renderMiddlewareUnit, renderMigrationToml } from "../../components/scripts";

jest.setTimeout(120_000);

let lab: Lab;
const timings: Record<string, number> = {};

beforeAll(async () => {
    const t = Date.now();
    lab = await startLab({ nodes: 3, fresh: true });
    timings.startLab = Date.now() - t;
    timings.rootEnsure = lab.rootInfo.ms;
}, 1_800_000);

afterAll(async () => {
    await teardown(lab?.stateDir);
    console.log(
        `lab timings (ms): ${JSON.stringify(timings)}; root built this run: ${lab?.rootInfo.builtBase ? "debootstrap+provision" : lab?.rootInfo.builtRoot ? "provision" : "no (cached)"}`,
    );
});

const sh = (script: string, ...args: string[]) => ["sh", "-c", script, "sh", ...args];

async function ok(node: string, argv: string[], opts: { user?: string; input?: string } = {}): Promise<string> {
    const r = await lab.exec(node, argv, opts);
    if (r.code !== 0) throw new Error(`${node}: ${argv.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
    const deadline = Date.now() + ms;
    for (;;) {
        const v = await fn().catch(() => undefined);
        if (v !== undefined) return v;
        if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 200));
    }
}

describe("node lab (real nspawn nodes)", () => {
    it("boots pve1..pve3 on 10.181.0.11-13 with systemd running", async () => {
        expect(lab.nodes.map((n) => [n.name, n.address, n.port, n.machine])).toEqual([
            ["pve1", "10.181.0.11", 22, "pve1"],
            ["pve2", "10.181.0.12", 22, "pve2"],
            ["pve3", "10.181.0.13", 22, "pve3"],
        ]);
        for (const n of lab.nodes) {
            expect(n.hostKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]+={0,2}$/);
            expect(await ok(n.name, ["systemctl", "is-system-running"])).toBe("running\n");
            expect(await ok(n.name, ["hostname"])).toBe(`${n.name}\n`);
        }
        expect(new Set(lab.nodes.map((n) => n.hostKey)).size).toBe(3);
        expect(lab.privateKey.startsWith("-----BEGIN OPENSSH PRIVATE KEY-----")).toBe(true);
        expect(fs.statSync(lab.privateKeyPath).mode & 0o777).toBe(0o600);
    });

    it("ssh with the pinned host key works; another pinned key is refused", async () => {
        expect(await ok("pve1", ["id", "-un"])).toBe("root\n");
        const wrong = await lab.exec("pve1", ["true"], { hostKey: lab.nodes[1].hostKey });
        expect(wrong.code).toBe(255);
        expect(wrong.stderr).toContain("Host key verification failed.");
    });

    it("pvemig runs sudo -n without a password", async () => {
        expect(await ok("pve2", ["id", "-un"], { user: "pvemig" })).toBe("pvemig\n");
        expect(await lab.exec("pve2", ["sudo", "-n", "true"], { user: "pvemig" })).toEqual({ code: 0, stdout: "", stderr: "" });
        expect(await ok("pve2", ["sudo", "-n", "id", "-u"], { user: "pvemig" })).toBe("0\n");
    });

    it("/etc/pve is one folder: written on pve1, read on pve2 and on the host", async () => {
        const value = `shared ${Date.now()} $(not run) 'quoted'`;
        await ok("pve1", sh('printf %s "$1" > /etc/pve/lab-shared.txt', value));
        expect(await ok("pve2", ["cat", "/etc/pve/lab-shared.txt"])).toBe(value);
        expect(fs.readFileSync(path.join(lab.pveDir, "lab-shared.txt"), "utf8")).toBe(value);
    });

    it("no quorum makes /etc/pve read-only on that node only, and back", async () => {
        lab.setQuorate("pve2", false);
        const denied = await lab.exec("pve2", sh("echo x > /etc/pve/lab-quorum.txt"));
        expect(denied.code).toBe(2);
        expect(denied.stderr).toBe("sh: 1: cannot create /etc/pve/lab-quorum.txt: Read-only file system\n");
        await ok("pve1", sh("echo from-pve1 > /etc/pve/lab-quorum.txt"));
        expect(await ok("pve2", ["cat", "/etc/pve/lab-quorum.txt"])).toBe("from-pve1\n");
        const q = await lab.exec("pve2", ["corosync-quorumtool", "-s"]);
        expect(q.code).toBe(2);
        expect(q.stdout).toContain("Quorate:          No\n");
        expect(q.stdout).toContain("Node ID:          0x00000002\n");
        const pvecm = await lab.exec("pve2", ["pvecm", "status"]);
        expect(pvecm.code).toBe(0);
        expect(pvecm.stdout).toContain("Name:             pve-lab\n");
        expect(pvecm.stdout).toContain("Quorate:          No\n");
        const q1 = await lab.exec("pve1", ["corosync-quorumtool", "-s"]);
        expect(q1.code).toBe(0);
        expect(q1.stdout).toContain("Quorate:          Yes\n");

        lab.setQuorate("pve2", true);
        await ok("pve2", sh("echo from-pve2 > /etc/pve/lab-quorum.txt"));
        expect(fs.readFileSync(path.join(lab.pveDir, "lab-quorum.txt"), "utf8")).toBe("from-pve2\n");
        expect((await lab.exec("pve2", ["corosync-quorumtool", "-s"])).code).toBe(0);
    });

    it("the lab deb installs with dpkg and pve-network-rs serves the metrics the test set on :9187", async () => {
        const deb = fs.readFileSync(lab.debPath);
        await ok("pve1", sh("base64 -d > /root/lab.deb"), { input: deb.toString("base64") });
        expect(await ok("pve1", ["sha256sum", "/root/lab.deb"])).toBe(`${lab.debSha256}  /root/lab.deb\n`);
        await ok("pve1", ["dpkg", "-i", "/root/lab.deb"]);
        expect(await ok("pve1", ["dpkg-query", "-W", "-f", "${Version}", "pve-network-rs"])).toBe(lab.version);
        expect(await ok("pve1", ["systemctl", "is-enabled", "pve-network-rs.service"])).toBe("enabled\n");
        expect(await ok("pve1", ["pvenet", "status", "--verbose"])).toBe(`pvenet ${lab.version} (stand-in): status ok\n`);

        lab.setMetrics("pve1", { fallbacks: 3, applySum: 0.75, applyCount: 5 });
        await ok("pve1", ["systemctl", "start", "pve-network-rs.service"]);
        const body = await until("pve1:9187/metrics", async () => {
            const r = await fetch("http://10.181.0.11:9187/metrics");
            return r.ok ? r.text() : undefined;
        });
        expect(body.split("\n").filter((l) => !l.startsWith("#"))).toEqual([
            "pve_network_fallback_total 3",
            "pve_network_apply_duration_seconds_sum 0.75",
            "pve_network_apply_duration_seconds_count 5",
            "",
        ]);
        lab.setMetrics("pve1", { fallbacks: 4, applySum: 1, applyCount: 6 });
        const again = await (await fetch("http://10.181.0.11:9187/metrics")).text();
        expect(again).toContain("\npve_network_fallback_total 4\n");
        expect(await ok("pve1", ["systemctl", "is-active", "pve-network-rs.service"])).toBe("active\n");
    });

    it("the middleware unit rendered by the project runs the stand-in; a restart changes MainPID", async () => {
        const configPath = "/etc/pve/network/migration.toml";
        fs.mkdirSync(path.join(lab.pveDir, "network"), { recursive: true });
        fs.writeFileSync(
            path.join(lab.pveDir, "network/migration.toml"),
            renderMigrationToml({
                phase: "rust-read-only",
                fallbackEnabled: true,
                perlApiBaseUrl: "https://10.181.0.11:8006",
                perlApiTimeout: 60,
                logMigrationDecisions: true,
            }),
        );
        const unit = renderMiddlewareUnit({ configPath, rustService: "pve-network-rs.service", middlewareService: "pve-network-migration.service" });
        await ok("pve1", sh("cat > /etc/systemd/system/pve-network-migration.service"), { input: unit });
        await ok("pve1", ["systemctl", "daemon-reload"]);
        await ok("pve1", ["systemctl", "start", "pve-network-migration.service"]);
        const show = async () => {
            const out = await ok("pve1", ["systemctl", "show", "-p", "MainPID,ActiveEnterTimestampMonotonic", "pve-network-migration.service"]);
            const kv = Object.fromEntries(
                out
                    .trim()
                    .split("\n")
                    .map((l) => l.split("=", 2)),
            );
            return { pid: Number(kv.MainPID), since: Number(kv.ActiveEnterTimestampMonotonic) };
        };
        const before = await show();
        expect(before.pid).toBeGreaterThan(1);
        await ok("pve1", ["systemctl", "restart", "pve-network-migration.service"]);
        const after = await show();
        expect(after.pid).toBeGreaterThan(1);
        expect(after.pid).not.toBe(before.pid);
        expect(after.since).toBeGreaterThan(before.since);
        expect(await ok("pve1", ["journalctl", "-u", "pve-network-migration.service", "-o", "cat", "--no-pager"])).toContain(
            "pve-network-migration 0.4.2-1+lab (stand-in) started phase=rust-read-only\n",
        );
        expect(await ok("pve1", ["systemctl", "is-active", "pve-network.service"])).toBe("active\n");
    });

    it("pvenet-legacy validate and apply bring up vmbr9 with a veth port from /etc/network/interfaces (a /32 of the lab subnet: no route beside eth0's)", async () => {
        await ok("pve3", ["ip", "link", "add", "veth9a", "type", "veth", "peer", "name", "veth9b"]);
        const stanza = "\nauto vmbr9\niface vmbr9 inet static\n\taddress 10.181.0.213/32\n\tbridge-ports veth9a\n\tbridge-stp off\n\tbridge-fd 0\n";
        await ok("pve3", sh("cat >> /etc/network/interfaces"), { input: stanza });
        expect(await ok("pve3", ["pvenet-legacy", "validate", "--config", "/etc/network/interfaces"])).toBe(
            "pvenet-legacy (stand-in): /etc/network/interfaces is valid\n",
        );
        await ok("pve3", sh("printf 'auto bad0\\niface bad0 inet static\\n\\taddress notanip\\n' > /root/bad.interfaces"));
        const bad = await lab.exec("pve3", ["pvenet-legacy", "validate", "--config", "/root/bad.interfaces"]);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toContain('bad0: address: invalid value "notanip"');
        expect(await ok("pve3", ["pvenet-legacy", "apply"])).toBe("pvenet-legacy (stand-in): applied /etc/network/interfaces\n");
        const links = JSON.parse(await ok("pve3", ["ip", "-j", "link", "show"])) as { ifname: string; master?: string; link_type?: string }[];
        expect(links.find((l) => l.ifname === "vmbr9")?.link_type).toBe("ether");
        expect(links.find((l) => l.ifname === "veth9a")?.master).toBe("vmbr9");
        const addrs = JSON.parse(await ok("pve3", ["ip", "-j", "addr", "show", "dev", "vmbr9"])) as { addr_info: { local: string; prefixlen: number }[] }[];
        expect(addrs[0].addr_info.filter((a) => a.local.includes(".")).map((a) => `${a.local}/${a.prefixlen}`)).toEqual(["10.181.0.213/32"]);
        const log = await ok("pve3", ["cat", "/var/log/pve-network/legacy-calls.log"]);
        expect(
            log
                .trim()
                .split("\n")
                .map((l) => l.replace(/^\S+ /, "")),
        ).toEqual(["validate --config /etc/network/interfaces", "validate --config /root/bad.interfaces", "apply"]);
        // The node's own network stays up: the host still reaches it.
        expect(await ok("pve3", ["hostname"])).toBe("pve3\n");
        // Nothing of the node's network shows on the host.
        expect(run(["ip", "-br", "link"]).stdout).not.toContain("vmbr9");
    });

    it("the running network against /etc/network/interfaces on a real ifupdown2 node (net_check_running, with ifquery -a -c)", async () => {
        const SH = path.join(__dirname, "../../components/scripts/sh");
        const script = [
            "STEP=verify NODE=pve2",
            fs.readFileSync(path.join(SH, "lib.sh"), "utf8"),
            fs.readFileSync(path.join(SH, "network.sh"), "utf8"),
            'net_check_running "$@"; printf "%s\\n" "checked=$NET_CHECKED" "${NET_PROBLEMS[@]}"',
            "",
        ].join("\n");
        const check = async (...required: string[]) => (await ok("pve2", ["bash", "-s", "--", ...required], { input: script })).split("\n").filter((l) => l);
        // As booted: lo and host0 (10.181.0.12/24) match, ifquery agrees.
        expect(await check()).toEqual(["checked=2"]);
        expect(await check("host0", "bond0")).toEqual(["checked=4", "bond0: required by the stack (pve-migration:requiredInterfaces) but not in the kernel"]);
        // A bridge configured and not applied: both checks report it.
        await ok("pve2", sh("printf '\\nauto vmbr8\\niface vmbr8 inet manual\\n\\tbridge-ports none\\n' > /etc/network/interfaces.d/vmbr8"));
        const pending = await check();
        expect(pending[0]).toBe("checked=3");
        expect(pending[1]).toBe("vmbr8: auto in /etc/network/interfaces.d/vmbr8 but not in the kernel");
        expect(pending.slice(2).length).toBeGreaterThan(0);
        for (const l of pending.slice(2)) expect(l).toMatch(/^ifquery -a -c: /);
        // Applied (ifreload -a through the stand-in): nothing differs.
        await ok("pve2", ["pvenet-legacy", "apply"]);
        expect(await check()).toEqual(["checked=3"]);
        // Changed under it: the link taken down. ifupdown2's ifquery -a -c passes it (3.0.0 on these
        // nodes does not compare the admin state): only the check of its own reports it.
        await ok("pve2", ["ip", "link", "set", "vmbr8", "down"]);
        expect(await check()).toEqual(["checked=3", "vmbr8: auto but down"]);
        await ok("pve2", ["rm", "-f", "/etc/network/interfaces.d/vmbr8"]);
        await ok("pve2", ["pvenet-legacy", "apply"]);
        expect(await check()).toEqual(["checked=2"]);
    });

    it("a stopped and restarted node keeps its state; reset gives a fresh node", async () => {
        await ok("pve2", sh("echo kept > /root/state-marker"));
        await lab.stopNode("pve2");
        expect(lab.isRunning("pve2")).toBe(false);
        const down = await lab.exec("pve2", ["true"], { timeoutMs: 15_000 });
        expect(down.code).toBe(255);
        expect(await ok("pve1", ["systemctl", "is-system-running"])).toBe("running\n");
        await lab.startNode("pve2");
        expect(await ok("pve2", ["cat", "/root/state-marker"])).toBe("kept\n");
        expect(await ok("pve2", ["systemctl", "is-system-running"])).toBe("running\n");
        await lab.resetNode("pve2");
        const gone = await lab.exec("pve2", ["cat", "/root/state-marker"]);
        expect(gone.code).toBe(1);
        expect(gone.stderr).toBe("cat: /root/state-marker: No such file or directory\n");
        expect(await ok("pve2", ["systemctl", "is-system-running"])).toBe("running\n");
    });

    it("stackConfig gives a valid ssh stack of the lab's nodes", () => {
        const { values, secretKeys } = lab.stackConfig({ sshUser: "pvemig" });
        expect(secretKeys).toEqual(["sshPrivateKeys"]);
        const cfg = parseStackConfig({ values, secretKeys: new Set(secretKeys), stack: "lab", projectDir: "/" });
        expect(cfg.cluster).toBe("pve-lab");
        expect(cfg.transport).toBe("ssh");
        expect(cfg.package).toEqual({ version: "0.4.2-1+lab", sha256: lab.debSha256, path: lab.debPath });
        expect(cfg.perlApi).toEqual({ baseUrl: "https://10.181.0.11:8006", timeout: 60 });
        expect(cfg.nodes.map((n) => [n.name, n.address, n.port, n.sshUser, n.hostKey, n.sshKey])).toEqual(
            lab.nodes.map((n) => [n.name, n.address, 22, "pvemig", n.hostKey, "default"]),
        );
        expect(cfg.sshKeyNames).toEqual(["default"]);
        expect(JSON.parse(values.sshPrivateKeys)).toEqual({ default: lab.privateKey });
    });

    it("startLab reuses the running lab of the same shape", async () => {
        const pids = labNspawnPids(lab.stateDir)
            .map((p) => p.pid)
            .sort();
        const t = Date.now();
        const again = await startLab({ nodes: 3 });
        timings.reuse = Date.now() - t;
        expect(
            labNspawnPids(lab.stateDir)
                .map((p) => p.pid)
                .sort(),
        ).toEqual(pids);
        expect(again.nodes).toEqual(lab.nodes);
    });

    it("teardown stops every node and leaves no lab bridge, veth or mount", async () => {
        const t = Date.now();
        await lab.down();
        timings.down = Date.now() - t;
        const links = run(["ip", "-br", "link"]).stdout;
        expect(links).not.toContain(BRIDGE);
        expect(links).not.toMatch(/vb-pve/);
        expect(labNspawnPids(lab.stateDir)).toEqual([]);
        expect(mountsUnder(path.join(lab.stateDir, "nodes"))).toEqual([]);
    });
});
