/**
 * Issue 10's node findings, on the node lab: the project's program through the replay of
 * registered resources (a stand-in for the Pulumi engine and @pulumi/command that executes the
 * registered commands over real OpenSSH) against real nspawn nodes. pve2 is reached as the sudo
 * user (`sudo -n`), pve1 and pve3 as root. Needs root and systemd-nspawn, as lab.test.ts.
 */
import { Lab, startLab, teardown } from "../../lab";
import { parseStackConfig } from "../../components/config/schema";
import { STEP_KILL_AFTER_SECONDS } from "../../components/scripts";
import { dial } from "../support/replay/executors";
import { ReplayState } from "../support/replay";
import { migrationLog, ok, sh, stackValues, upLab } from "../support/lab-scenarios";

jest.setTimeout(180_000);

const SUDO_NODES = ["pve2"];
const VERIFY_LIMIT = 5;

let lab: Lab;
let state: ReplayState | undefined;

beforeAll(async () => {
    lab = await startLab({ nodes: 3, fresh: true });
}, 300_000);

afterAll(async () => {
    await teardown(lab?.stateDir);
});

describe("engine-fidelity findings on the node lab, by the replay of registered resources", () => {
    it(`a hung site command (commands.verify = sleep 600) is bounded: the verify step fails within ${VERIFY_LIMIT} s + ${STEP_KILL_AFTER_SECONDS} s grace naming step and node, also through sudo -n`, async () => {
        const r = await upLab(lab, {
            phase: "rust-read-only",
            sudoNodes: SUDO_NODES,
            extra: { commands: { verify: ["sleep", "600"] }, stepTimeouts: { verify: VERIFY_LIMIT } },
        });
        state = r.state;
        expect(r.replay.errored).toBe(true);
        const verifies = r.replay.ops.filter((o) => o.name.endsWith("-verify"));
        // verify is the last step of each node's command after the cluster config (services, verify).
        expect(verifies.map((o) => o.name).sort()).toEqual(["pve1-services-verify", "pve2-services-verify", "pve3-services-verify"]);
        // The three commands start together (after the cluster config), so all three run and time out.
        expect(verifies.map((o) => o.result)).toEqual(["failed", "failed", "failed"]);
        for (const o of verifies) {
            const node = o.name.replace(/-services-verify$/, "");
            expect(o.error).toMatch(/^Process exited with status 124: running /);
            expect(o.error!.endsWith(`\npve-migration verify on ${node}: timed out after ${VERIFY_LIMIT} s\n`)).toBe(true);
            expect(o.durationMs).toBeGreaterThanOrEqual(VERIFY_LIMIT * 1000);
            // The services step runs first in the same command (a middleware restart: about 0.7 s in the lab).
            expect(o.durationMs).toBeLessThan((VERIFY_LIMIT + STEP_KILL_AFTER_SECONDS) * 1000 + 4000);
        }
        // Every other step succeeded; the stack still says it never deployed a phase.
        expect(r.replay.ops.filter((o) => !o.name.endsWith("-verify") && o.result !== "ok")).toEqual([]);
        expect(r.outputs.phase).toBeUndefined();
        // Nothing of the hung command is left on any node (its whole process group was killed).
        for (const n of lab.nodes) {
            const left = await lab.exec(n.name, ["pgrep", "-x", "-f", "sleep 600"]);
            expect({ node: n.name, code: left.code, stdout: left.stdout }).toEqual({ node: n.name, code: 1, stdout: "" });
        }
    });

    it("the next run, the command fixed, gets each node's lock and completes the promotion", async () => {
        const r = await upLab(lab, { phase: "rust-read-only", sudoNodes: SUDO_NODES, state, extra: { stepTimeouts: { verify: VERIFY_LIMIT } } });
        expect(r.replay.errors).toEqual([]);
        expect(r.ran.sort()).toEqual(["pve1-services-verify", "pve2-services-verify", "pve3-services-verify"]);
        state = r.state;
        expect(r.outputs.phase).toBe("rust-read-only");
        for (const n of lab.nodes) {
            const log = await migrationLog(lab, n.name);
            expect(log.filter((l) => l.step === "verify").map((l) => l.result)).toEqual(["failed", "ok"]);
            expect(log[log.length - 1].detail).toBe(
                "phase rust-read-only verified; running network matches /etc/network/interfaces (2 interfaces); transition from perl-only complete",
            );
        }
    });

    it("a site command that reads stdin (commands.legacyApply) does not eat the step's script: it reads nothing and the step completes", async () => {
        const eater = "#!/bin/sh\n# reads all of its stdin into a file, then applies\ncat > /root/legacy-apply.stdin\nexec pvenet-legacy apply\n";
        for (const n of lab.nodes) {
            await ok(lab, n.name, sh("cat > /usr/local/sbin/stdin-eater && chmod 0755 /usr/local/sbin/stdin-eater"), { input: eater });
        }
        const r = await upLab(lab, {
            phase: "perl-only",
            sudoNodes: SUDO_NODES,
            state,
            extra: { commands: { legacyApply: ["/usr/local/sbin/stdin-eater"] }, stepTimeouts: { verify: VERIFY_LIMIT } },
        });
        expect(r.replay.errors).toEqual([]);
        state = r.state;
        expect(r.outputs.phase).toBe("perl-only");
        for (const n of lab.nodes) {
            expect(await ok(lab, n.name, ["stat", "-c", "%s", "/root/legacy-apply.stdin"])).toBe("0\n");
            const log = await migrationLog(lab, n.name);
            expect(
                log
                    .filter((l) => l.to === "perl-only")
                    .map((l) => `${l.step} ${l.result}`)
                    .filter((s) => /^(legacy-apply|verify) /.test(s)),
            ).toEqual(["legacy-apply changed", "verify ok"]);
            expect(
                (await ok(lab, n.name, ["cat", "/var/log/pve-network/legacy-calls.log"]))
                    .trim()
                    .split("\n")
                    .map((l) => l.replace(/^\S+ /, "")),
            ).toEqual(["validate --config /etc/network/interfaces", "apply"]);
        }
    });

    it("without quorum on the writer node the cluster's migration.toml is not written (exit 69); with quorum back the next run completes", async () => {
        const toml = await ok(lab, "pve2", ["cat", "/etc/pve/network/migration.toml"]);
        lab.setQuorate("pve1", false);
        let r: Awaited<ReturnType<typeof upLab>>;
        try {
            r = await upLab(lab, { phase: "rust-read-only", sudoNodes: SUDO_NODES, state, extra: { stepTimeouts: { verify: VERIFY_LIMIT } } });
        } finally {
            lab.setQuorate("pve1", true);
        }
        state = r.state;
        const failed = r.replay.ops.filter((o) => o.result === "failed");
        expect(failed.map((o) => o.name)).toEqual(["pve-lab-cluster-config"]);
        expect(failed[0].error).toMatch(/^Process exited with status 69: running /);
        expect(failed[0].error).toContain(
            "\npve-migration config on pve1: cluster is not quorate: /etc/pve is read-only; not writing /etc/pve/network/migration.toml\n",
        );
        expect(await ok(lab, "pve2", ["cat", "/etc/pve/network/migration.toml"])).toBe(toml);
        expect(r.outputs.phase).toBe("perl-only");

        const again = await upLab(lab, { phase: "rust-read-only", sudoNodes: SUDO_NODES, state, extra: { stepTimeouts: { verify: VERIFY_LIMIT } } });
        expect(again.replay.errors).toEqual([]);
        state = again.state;
        expect(again.outputs.phase).toBe("rust-read-only");
        expect(await ok(lab, "pve2", ["cat", "/etc/pve/network/migration.toml"])).toContain('\nphase = "rust-read-only"\n');
    });

    it("an ssh-rsa host key is refused by parseStackConfig, and the replay's ssh pinned to it anyway fails at key exchange, before authenticating", async () => {
        // Give pve1 an RSA host key as well, as a Proxmox VE node has.
        await ok(
            lab,
            "pve1",
            sh(
                "ssh-keygen -q -t rsa -b 2048 -N '' -f /etc/ssh/ssh_host_rsa_key && echo 'HostKey /etc/ssh/ssh_host_rsa_key' >> /etc/ssh/sshd_config.d/pve-lab.conf && systemctl reload ssh.service",
            ),
        );
        // sshd re-executes itself on SIGHUP and listens again a moment later.
        let pub = await lab.exec("pve1", ["cat", "/etc/ssh/ssh_host_rsa_key.pub"]);
        for (const deadline = Date.now() + 10_000; pub.code === 255 && Date.now() < deadline;) {
            await new Promise((res) => setTimeout(res, 200));
            pub = await lab.exec("pve1", ["cat", "/etc/ssh/ssh_host_rsa_key.pub"]);
        }
        expect(pub.code).toBe(0);
        const rsa = pub.stdout.trim().split(/\s+/).slice(0, 2).join(" ");
        expect(rsa).toMatch(/^ssh-rsa AAAAB3NzaC1yc2E/);

        const { values, secretKeys } = stackValues(lab, { phase: "perl-only" });
        const nodes = JSON.parse(values.nodes) as { hostKey: string }[];
        nodes[0].hostKey = rsa;
        expect(() =>
            parseStackConfig({ values: { ...values, nodes: JSON.stringify(nodes) }, secretKeys: new Set(secretKeys), stack: "lab", projectDir: "/" }),
        ).toThrow(
            "pve-migration:nodes[0].hostKey: ssh-rsa host keys cannot be used: @pulumi/command would verify it with the SHA-1 'ssh-rsa' signature, which OpenSSH 8.8 and later (Debian 12) refuse; pin the node's ed25519 key instead (ssh-keyscan -t ed25519 <address>)",
        );

        const t = Date.now();
        const refused = dial(
            { host: "10.181.0.11", port: 22, user: "root", hostKey: rsa, privateKey: lab.privateKey, dialErrorLimit: 1, perDialTimeout: 2 },
            { label: "pve1-rsa", timeoutSeconds: 0, capMs: 30_000 },
        );
        await expect(refused).rejects.toThrow(
            "after 1 failed attempts: Unable to negotiate with 10.181.0.11 port 22: no matching host key type found. Their offer: ssh-ed25519,rsa-sha2-512,rsa-sha2-256",
        );
        expect(Date.now() - t).toBeLessThan(5000);
        // dialErrorLimit 1: the first dial and one retry, so sshd refuses two connections. Each
        // refusal is logged by a pre-auth child that exits at once: journald attributes a message to
        // its unit from /proc of the sender, which may be gone by then (so `-u ssh.service` can miss
        // it; CI saw 1 of 2). The syslog identifier travels in the message: select by `-t sshd`.
        // journald may also not hold the second line yet when the dial has returned: read until it
        // does (10 s).
        const refusals = async () =>
            (await ok(lab, "pve1", ["journalctl", "-t", "sshd", "-o", "cat", "--no-pager"])).match(
                /^Unable to negotiate with 10\.181\.0\.1 port \d+: no matching host key type found\. Their offer: ssh-rsa \[preauth\]$/gm,
            )?.length ?? 0;
        let seen = await refusals();
        for (const deadline = Date.now() + 10_000; seen < 2 && Date.now() < deadline; seen = await refusals()) {
            await new Promise((res) => setTimeout(res, 200));
        }
        expect(seen).toBe(2);
        // The same node through its pinned ed25519 key still works.
        const good = await dial(
            { host: "10.181.0.11", port: 22, user: "root", hostKey: lab.nodes[0].hostKey, privateKey: lab.privateKey, dialErrorLimit: 1, perDialTimeout: 2 },
            { label: "pve1-ed25519", timeoutSeconds: 0, capMs: 30_000 },
        );
        expect(good.attempts).toBe(1);
        await good.close();
    });
});
