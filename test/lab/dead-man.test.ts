/**
 * The network dead-man switch on the node lab, for real: a rollback's legacy-apply runs
 * `pvenet-legacy apply` (the lab's stand-in: `ifreload -a`, ifupdown2 3.0.0) under a transient
 * systemd timer (systemd-run on the node's own systemd), and network-confirm must come over a
 * new SSH connection. The program runs through the replay of registered resources (a stand-in
 * for the Pulumi engine and @pulumi/command that runs the registered commands over real OpenSSH,
 * one connection per command as the provider dials one). Needs root and systemd-nspawn.
 */
import { Lab, startLab, teardown } from "../../lab";
import { ReplayState } from "../support/replay";
import { Up, up } from "../support/program-replay";
import { PROJECT_DIR, STACK, migrationLog, ok, sh, stackValues, upLab } from "../support/lab-scenarios";

jest.setTimeout(300_000);

const CONFIRM_TIMEOUT = 10;
const NETWORK = { confirmTimeout: CONFIRM_TIMEOUT };
/** The lab's own interfaces file of pve2 (lab/index.ts prepareNodeRoot). */
const GOOD = "auto lo\niface lo inet loopback\n\nauto host0\niface host0 inet static\n\taddress 10.181.0.12/24\n\nsource /etc/network/interfaces.d/*\n";
/** The same without the management interface: ifreload -a brings host0 down, and its address goes. */
const WITHOUT_MANAGEMENT = "auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n";

let lab: Lab;
let state: ReplayState | undefined;

beforeAll(async () => {
    lab = await startLab({ nodes: 2, fresh: true });
}, 600_000);

afterAll(async () => {
    await teardown(lab?.stateDir);
});

async function go(phase: string, extra: Record<string, unknown> = {}): Promise<Up> {
    const r = await upLab(lab, { phase, state, extra: { network: NETWORK, ...extra } });
    state = r.state;
    return r;
}

async function mustGo(phase: string, extra: Record<string, unknown> = {}): Promise<Up> {
    const r = await go(phase, extra);
    if (r.replay.errors.length > 0) throw new Error(`up ${phase}: ${r.replay.errors.join("\n")}`);
    return r;
}

const writeInterfaces = (node: string, text: string) =>
    ok(lab, node, sh('t=$(mktemp /etc/network/.interfaces.XXXXXX) && cat > "$t" && chmod 0644 "$t" && mv -f "$t" /etc/network/interfaces'), { input: text });

async function managementAddress(node: string): Promise<string> {
    return (await ok(lab, node, ["ip", "-o", "-4", "addr", "show", "dev", "host0"])).split(/\s+/)[3];
}

describe("the network dead-man switch on real ifupdown2 nodes (replay of registered resources over OpenSSH)", () => {
    let goodBackup = "";

    it("a rollback out of the write phases arms each node's revert with systemd-run and confirms it over a new connection", async () => {
        await mustGo("perl-only");
        await mustGo("rust-read-only");
        const entered = await mustGo("rust-basic-write");
        goodBackup = (entered.outputs.transition as { id: string }).id;
        const back = await mustGo("rust-read-only");
        const id = (back.outputs.transition as { id: string }).id;
        // legacy-apply ends its command; network-confirm opens the next one.
        expect(back.ran.filter((n) => n.startsWith("pve2-"))).toEqual([
            "pve2-snapshot",
            "pve2-services-package-units-restore",
            "pve2-legacy-apply",
            "pve2-network-confirm-verify",
        ]);
        for (const n of lab.nodes) {
            const log = await migrationLog(lab, n.name);
            const apply = log.filter((l) => l.step === "legacy-apply").pop()!;
            expect(apply.detail).toBe(
                `validated and applied through pvenet-legacy; the node reverts it in ${CONFIRM_TIMEOUT} s unless network-confirm confirms over a new connection`,
            );
            const confirm = log.filter((l) => l.step === "network-confirm").pop()!;
            expect(confirm.result).toBe("changed");
            expect(confirm.detail).toMatch(
                new RegExp(
                    `^confirmed the network apply over a new connection [0-9] s after it was armed \\(deadline ${CONFIRM_TIMEOUT} s\\); the dead-man switch is disarmed; restarted pve-network.service$`,
                ),
            );
            // The timer is gone (stopped by the confirmation), and the arm was taken by it.
            const unit = await lab.exec(n.name, ["systemctl", "show", "-p", "LoadState,ActiveState", "pve-migration-net-revert.timer"]);
            expect(unit.stdout).toBe("LoadState=not-found\nActiveState=inactive\n");
            expect(await ok(lab, n.name, sh("cat /var/lib/pve-network-rs/net-guard/confirmed | sed -n 1p; ls /var/lib/pve-network-rs/net-guard"))).toBe(
                `transition=${id}\nconfirmed\nrevert.sh\nsaved\n`,
            );
            expect(await managementAddress(n.name)).toBe(`${n.address}/24`);
        }
    });

    it("a backup whose interfaces leave out the management address: pve2 reverts by itself within the timeout, network-confirm fails naming it, pve2 is reachable", async () => {
        // The Perl-era file as the next backup records it (not applied: the node runs the good one),
        // then Rust's own write of the good file: the rollback's restore brings the bad one back.
        await writeInterfaces("pve2", WITHOUT_MANAGEMENT);
        await mustGo("rust-basic-write");
        await writeInterfaces("pve2", GOOD);
        const t0 = Date.now();
        const r = await go("perl-only");
        const id = (r.outputs.attempt as { id: string }).id;
        expect(r.replay.errored).toBe(true);
        const failed = r.replay.ops.filter((o) => o.result !== "ok");
        expect(failed.map((o) => [o.name, o.result])).toEqual([["pve2-network-confirm-verify", "failed"]]);
        const log = await migrationLog(lab, "pve2");
        const revert = log.filter((l) => l.step === "network-revert");
        expect(revert.map((l) => [l.result, l.detail])).toEqual([
            [
                "reverted",
                `the dead-man switch reverted the network apply of transition ${id}: no confirmation within ${CONFIRM_TIMEOUT} s; restored 1 file(s): /etc/network/interfaces; ifreload -a: ok`,
            ],
        ]);
        expect(failed[0].error).toContain(
            `pve-migration network-confirm on pve2: the dead-man switch reverted the network apply of transition ${id}: no confirmation within ${CONFIRM_TIMEOUT} s; restored 1 file(s): /etc/network/interfaces; ifreload -a: ok (at `,
        );
        expect(failed[0].error).toContain("Once the cause is fixed, raise pve-migration:network.applyAttempt to apply the same files again");
        // Reachable again, running the file it ran before the rollback; pve1 rolled back.
        expect(await managementAddress("pve2")).toBe("10.181.0.12/24");
        expect(await ok(lab, "pve2", ["cat", "/etc/network/interfaces"])).toBe(GOOD);
        const verified = r.outputs.verified as Record<string, { phase: string }>;
        expect([verified.pve1.phase, verified.pve2.phase]).toEqual(["perl-only", "rust-basic-write"]);
        // The apply, the timer's deadline, then the revert: the run took at least the timeout.
        expect(Date.now() - t0).toBeGreaterThan(CONFIRM_TIMEOUT * 1000);
    });

    it("the next run with a correct config (backups.restoreId naming a backup that keeps the address) restores, applies and confirms", async () => {
        const r = await go("perl-only", { backups: { retention: 10, restoreId: goodBackup } });
        expect(r.replay.errors).toEqual([]);
        // The snapshot runs again too: backups.retention is one of its inputs.
        expect(r.ran.filter((n) => n.startsWith("pve2-"))).toEqual([
            "pve2-snapshot",
            "pve2-services-package-units-restore",
            "pve2-legacy-apply",
            "pve2-network-confirm-verify",
        ]);
        expect(r.outputs.phase).toBe("perl-only");
        expect(await managementAddress("pve2")).toBe("10.181.0.12/24");
        const confirm = (await migrationLog(lab, "pve2")).filter((l) => l.step === "network-confirm").pop()!;
        expect(confirm.result).toBe("changed");
    });

    it("the orchestrator stops right after pve2's apply: nothing confirms, pve2 reverts by itself; raising applyAttempt applies again and confirms", async () => {
        const BACKUPS = { retention: 10 };
        await mustGo("rust-read-only", { backups: BACKUPS });
        await mustGo("rust-basic-write", { backups: BACKUPS });
        // Rust's own write of pve2's interfaces (a comment: what runs stays the same).
        const rustEra = `${GOOD}# written by pve-network-rs\n`;
        await writeInterfaces("pve2", rustEra);
        const before = (await migrationLog(lab, "pve2")).length;
        const { values, secretKeys } = stackValues(lab, { phase: "perl-only", extra: { network: NETWORK, backups: BACKUPS } });
        const cut = await up({ projectDir: PROJECT_DIR, stack: STACK, values, secretKeys, state, cancelAfter: ["pve2-legacy-apply"] });
        state = cut.state;
        expect(cut.replay.errored).toBe(true);
        expect(cut.ran).toContain("pve2-legacy-apply");
        expect(cut.ran).not.toContain("pve2-network-confirm-verify");
        const id = (cut.outputs.attempt as { id: string }).id;
        // The timer fires on the node with no orchestrator anywhere.
        const deadline = Date.now() + (CONFIRM_TIMEOUT + 20) * 1000;
        let reverted: string | undefined;
        while (reverted === undefined && Date.now() < deadline) {
            await new Promise((res) => setTimeout(res, 500));
            reverted = (await migrationLog(lab, "pve2")).slice(before).find((l) => l.step === "network-revert")?.detail;
        }
        expect(reverted).toBe(
            `the dead-man switch reverted the network apply of transition ${id}: no confirmation within ${CONFIRM_TIMEOUT} s; restored 1 file(s): /etc/network/interfaces; ifreload -a: ok`,
        );
        expect(await managementAddress("pve2")).toBe("10.181.0.12/24");

        const again = await go("perl-only", { backups: { retention: 10 } });
        // pve1's confirmation ran in the stopped run or not, as the two nodes' commands raced the stop:
        // each node whose confirmation did not run reverted, and its network-confirm fails now.
        const unconfirmed = lab.nodes.map((n) => n.name).filter((n) => !cut.ran.includes(`${n}-network-confirm-verify`));
        expect(unconfirmed).toContain("pve2");
        expect(again.replay.ops.filter((o) => o.result !== "ok").map((o) => o.name)).toEqual(unconfirmed.map((n) => `${n}-network-confirm-verify`));
        const retry = await go("perl-only", { backups: BACKUPS, network: { ...NETWORK, applyAttempt: 1 } });
        expect(retry.replay.errors).toEqual([]);
        expect(retry.ran.filter((n) => n.startsWith("pve2-"))).toEqual(["pve2-legacy-apply", "pve2-network-confirm-verify"]);
        expect(await ok(lab, "pve2", ["cat", "/etc/network/interfaces"])).toBe(GOOD);
        const apply = (await migrationLog(lab, "pve2")).filter((l) => l.step === "legacy-apply").pop()!;
        expect(apply.detail).toBe(
            `validated and applied through pvenet-legacy; the node reverts it in ${CONFIRM_TIMEOUT} s unless network-confirm confirms over a new connection; applied again after the dead-man switch reverted it (put back the files of the reverted apply: 1 file(s): /etc/network/interfaces)`,
        );
        expect(retry.outputs.phase).toBe("perl-only");
    });
});
