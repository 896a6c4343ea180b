/**
 * HA maintenance, the restore preview, the restore's quorum rule and migration-ctl drift's check
 * on the node lab, for real:
 * Debian nodes under systemd-nspawn reached over OpenSSH, the program's registered commands run by
 * the replay of registered resources (a stand-in for the Pulumi engine and @pulumi/command).
 * `ha-manager` on the nodes is a stand-in this test writes (no Proxmox VE HA stack here): it logs
 * each call and keeps a node's maintenance state in /var/lib/ha-standin. The lab's no-quorum switch
 * makes /etc/pve read-only on one node, as pmxcfs does without quorum. Needs root and systemd-nspawn.
 */
import * as fs from "fs";
import * as path from "path";
import { Lab, startLab, teardown } from "../../lab";
import { parseStackConfig } from "../../components/config/schema";
import { previewRestore } from "../../components/ctl/restore-preview";
import { driftOfStack } from "../../components/ctl/drift";
import { ReplayState } from "../support/replay";
import { Up, up } from "../support/program-replay";
import { PROJECT_DIR, STACK, migrationLog, ok, sh, stackValues } from "../support/lab-scenarios";

jest.setTimeout(300_000);

const HA_MANAGER = `#!/bin/bash
# stand-in for ha-manager (node lab test): logs each call, keeps the node's maintenance state in a file.
d=/var/lib/ha-standin
mkdir -p "$d"
printf '%s\\n' "$*" >> "$d/calls"
[ "$1 $2" = "crm-command node-maintenance" ] || exit 2
case "$3" in
  enable) : > "$d/maintenance-$4" ;;
  disable) rm -f "$d/maintenance-$4" ;;
  *) exit 2 ;;
esac
`;
const HA = { maintenance: true, statusCommand: ["test", "-e", "/var/lib/ha-standin/maintenance-{node}"], settleTimeout: 10 };
const PERL_STORAGE = "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n";
const RUST_STORAGE = `${PERL_STORAGE}\n# written in a write phase\n`;

let lab: Lab;
let state: ReplayState | undefined;

beforeAll(async () => {
    lab = await startLab({ nodes: 2, fresh: true });
    for (const n of lab.nodes) await ok(lab, n.name, sh("cat > /usr/sbin/ha-manager && chmod 0755 /usr/sbin/ha-manager"), { input: HA_MANAGER });
}, 600_000);

afterAll(async () => {
    await teardown(lab?.stateDir);
});

async function go(phase: string, o: { cancelAfter?: string[] } = {}): Promise<Up> {
    const { values, secretKeys } = stackValues(lab, { phase, extra: { ha: HA } });
    const r = await up({ projectDir: PROJECT_DIR, stack: STACK, values, secretKeys, state, cancelAfter: o.cancelAfter });
    state = r.state;
    return r;
}

async function mustGo(phase: string): Promise<Up> {
    const r = await go(phase);
    if (r.replay.errors.length > 0) throw new Error(`up ${phase}: ${r.replay.errors.join("\n")}`);
    return r;
}

async function haCalls(node: string): Promise<string[]> {
    const r = await lab.exec(node, ["cat", "/var/lib/ha-standin/calls"]);
    return r.code === 0 ? r.stdout.trimEnd().split("\n") : [];
}

const enable = (n: string) => `crm-command node-maintenance enable ${n}`;
const disable = (n: string) => `crm-command node-maintenance disable ${n}`;

/** The steps of a node's migration.log for transition lines after `from` (index), as step:result. */
async function stepsSince(node: string, from: number): Promise<string[]> {
    return (await migrationLog(lab, node)).slice(from).map((l) => `${l.step}:${l.result}`);
}

describe("HA maintenance, the restore preview and the restore's quorum rule on real nodes (replay of registered resources over OpenSSH)", () => {
    it("a promotion puts each node in HA maintenance before its services and takes it out after verify", async () => {
        await mustGo("perl-only");
        const start = Object.fromEntries(await Promise.all(lab.nodes.map(async (n) => [n.name, (await migrationLog(lab, n.name)).length])));
        const r = await mustGo("rust-read-only");
        expect(r.ran.filter((n) => n.startsWith("pve2-"))).toEqual(["pve2-snapshot-package-units", "pve2-ha-enter-services-verify-ha-leave"]);
        for (const n of lab.nodes) {
            expect(await haCalls(n.name)).toEqual([enable(n.name), disable(n.name)]);
            expect(await stepsSince(n.name, start[n.name])).toEqual([
                "snapshot:unchanged",
                "package:unchanged",
                "units:unchanged",
                ...(n.name === "pve1" ? ["config:changed"] : []),
                "ha-enter:changed",
                "services:changed",
                "verify:ok",
                "ha-leave:changed",
            ]);
            const enter = (await migrationLog(lab, n.name)).find((l) => l.step === "ha-enter")!;
            // Whole seconds of the node's clock: a second may tick between the enter and the status command.
            expect(enter.detail.replace(/ after [01] s;/, " after 0-1 s;")).toBe(
                `put ${n.name} in HA maintenance (ha-manager ${enable(n.name)}); test sees it in maintenance after 0-1 s; ha-leave takes it out after verify, a failure before then at once`,
            );
        }
    });

    it("a verify that fails on pve2 takes pve2 out of maintenance at once; the resumed run puts it back and ends with ha-leave", async () => {
        // The Perl-era cluster file the backup of this transition records (the preview and quorum cases use it).
        fs.writeFileSync(path.join(lab.pveDir, "storage.cfg"), PERL_STORAGE);
        const pvenet = await ok(lab, "pve2", ["cat", "/usr/bin/pvenet"]);
        await ok(lab, "pve2", sh("printf '#!/bin/sh\\necho broken >&2\\nexit 3\\n' > /usr/bin/pvenet"));
        const before = (await haCalls("pve2")).length;
        const r = await go("rust-basic-write");
        expect(r.replay.ops.filter((o) => o.result === "failed").map((o) => o.name)).toEqual(["pve2-ha-enter-services-verify-ha-leave"]);
        expect((await haCalls("pve2")).slice(before)).toEqual([enable("pve2"), disable("pve2")]);
        const restored = (await migrationLog(lab, "pve2")).filter((l) => l.result === "ha-restored").pop()!;
        expect([restored.step, restored.detail]).toEqual([
            "verify",
            `took pve2 out of HA maintenance after the failure, as it was before transition ${(r.outputs.attempt as { id: string }).id} (ha-manager ${disable("pve2")}); a run of this transition's steps after ha-enter puts it back first`,
        ]);
        expect((await lab.exec("pve2", ["test", "-e", "/var/lib/ha-standin/maintenance-pve2"])).code).toBe(1);

        await ok(lab, "pve2", sh("cat > /usr/bin/pvenet && chmod 0755 /usr/bin/pvenet"), { input: pvenet });
        const again = await mustGo("rust-basic-write");
        expect(again.ran).toEqual(["pve2-ha-enter-services-verify-ha-leave"]);
        expect((await haCalls("pve2")).slice(before)).toEqual([enable("pve2"), disable("pve2"), enable("pve2"), disable("pve2")]);
        expect((await haCalls("pve1")).slice(-2)).toEqual([enable("pve1"), disable("pve1")]);
        expect(again.outputs.phase).toBe("rust-basic-write");
    });

    it("migration-ctl plan --read-nodes' preview reads each node over ssh, read only: the files a rollback would revert, with diffs and the backup's age", async () => {
        fs.writeFileSync(path.join(lab.pveDir, "storage.cfg"), RUST_STORAGE);
        await ok(lab, "pve2", sh("printf '\\n# written by pve-network-rs\\n' >> /etc/network/interfaces"));
        const { values, secretKeys } = stackValues(lab, { phase: "perl-only", extra: { ha: HA } });
        const cfg = parseStackConfig({ values, secretKeys: new Set(secretKeys), stack: STACK, projectDir: PROJECT_DIR });
        const logs = await Promise.all(lab.nodes.map((n) => ok(lab, n.name, ["cat", "/var/log/pve-network/migration.log"])));
        const now = new Date();
        const previews = await previewRestore(cfg, { identity: lab.privateKeyPath, now });
        // Read only: the decision logs did not change.
        expect(await Promise.all(lab.nodes.map((n) => ok(lab, n.name, ["cat", "/var/log/pve-network/migration.log"])))).toEqual(logs);
        const backup = previews[0].backup!;
        expect(backup).toMatch(/^\d{8}T\d{6}Z-[0-9a-f]+$/);
        // Each node's own backup of the same transition (named by the second each node took it).
        const pve2Backup = (await ok(lab, "pve2", ["ls", "/var/lib/pve-network-rs/backups"])).split("\n").find((b) => b.endsWith(backup.slice(16)))!;
        expect(previews.map((p) => [p.node, p.parts, p.backup, p.error, p.refused])).toEqual([
            ["pve1", ["node", "cluster"], backup, undefined, undefined],
            ["pve2", ["node"], pve2Backup, undefined, undefined],
        ]);
        expect(previews[0].backupAgeSeconds).toBeLessThan(600);
        expect(previews[0].files!.map((f) => [f.path, f.change])).toEqual([
            ["/etc/network/interfaces", "unchanged"],
            ["/etc/pve/storage.cfg", "changed"],
        ]);
        const diff = previews[0].files![1].diff.split("\n");
        expect(diff.slice(0, 2)).toEqual(["--- a/etc/pve/storage.cfg\ton the node", `+++ b/etc/pve/storage.cfg\tbackup ${backup}`]);
        expect(diff.slice(-3)).toEqual(["-", "-# written in a write phase", ""]);
        expect(previews[1].files!.map((f) => [f.path, f.change])).toEqual([["/etc/network/interfaces", "changed"]]);
        expect(previews[1].files![0].diff.split("\n").slice(-3)).toEqual(["-", "-# written by pve-network-rs", ""]);
    });

    it("the cluster restore refuses on a writer node without quorum, changing nothing; with quorum back the rollback completes", async () => {
        // The rollback up to the cluster's config, then the writer node loses quorum.
        const first = await go("perl-only", { cancelAfter: ["pve-lab-cluster-config"] });
        expect(first.replay.errored).toBe(true);
        expect(first.ran).toContain("pve-lab-cluster-config");
        expect(first.ran).not.toContain("pve-lab-cluster-restore");
        lab.setQuorate("pve1", false);
        let r: Up;
        try {
            r = await go("perl-only");
        } finally {
            lab.setQuorate("pve1", true);
        }
        const failed = r.replay.ops.filter((o) => o.result === "failed");
        expect(failed.map((o) => o.name)).toEqual(["pve-lab-cluster-restore"]);
        expect(failed[0].error).toMatch(/^Process exited with status 69: running /);
        expect(failed[0].error).toMatch(
            new RegExp(
                `\\npve-migration restore on pve1: cluster is not quorate: /etc/pve is read-only; not restoring /etc/pve/storage.cfg from backup \\d{8}T\\d{6}Z-[0-9a-f]+\\n`,
            ),
        );
        expect(fs.readFileSync(path.join(lab.pveDir, "storage.cfg"), "utf8")).toBe(RUST_STORAGE);
        // pve2 failed nothing: it waits in maintenance for the rest of its rollback. (pve1's depends on
        // whether its ha-enter ran before the cluster restore failed on it: the two run side by side.)
        expect((await lab.exec("pve2", ["test", "-e", "/var/lib/ha-standin/maintenance-pve2"])).code).toBe(0);

        const again = await mustGo("perl-only");
        expect(again.outputs.phase).toBe("perl-only");
        expect(fs.readFileSync(path.join(lab.pveDir, "storage.cfg"), "utf8")).toBe(PERL_STORAGE);
        for (const n of lab.nodes) expect((await lab.exec(n.name, ["test", "-e", `/var/lib/ha-standin/maintenance-${n.name}`])).code).toBe(1);
        expect((await haCalls("pve2")).slice(-2)).toEqual([enable("pve2"), disable("pve2")]);
    });

    it("migration-ctl drift's check over ssh, read only: in step after the rollback; an interface configured but not applied on pve2 is named", async () => {
        const { values, secretKeys } = stackValues(lab, { phase: "perl-only", extra: { ha: HA } });
        const cfg = parseStackConfig({ values, secretKeys: new Set(secretKeys), stack: STACK, projectDir: PROJECT_DIR });
        const logs = await Promise.all(lab.nodes.map((n) => ok(lab, n.name, ["cat", "/var/log/pve-network/migration.log"])));
        expect(await driftOfStack(cfg, "perl-only", { identity: lab.privateKeyPath })).toEqual([
            { node: "pve1", lastVerified: "perl-only", drift: [] },
            { node: "pve2", lastVerified: "perl-only", drift: [] },
        ]);
        await ok(lab, "pve2", sh("printf 'auto vmbr7\\niface vmbr7 inet manual\\n\\tbridge-ports none\\n' > /etc/network/interfaces.d/drift"));
        const drifted = await driftOfStack(cfg, "perl-only", { identity: lab.privateKeyPath });
        expect(drifted[0]).toEqual({ node: "pve1", lastVerified: "perl-only", drift: [] });
        expect(drifted[1].drift![0]).toBe("network: vmbr7: auto in /etc/network/interfaces.d/drift but not in the kernel");
        await ok(lab, "pve2", ["rm", "/etc/network/interfaces.d/drift"]);
        expect((await driftOfStack(cfg, "perl-only", { identity: lab.privateKeyPath }))[1].drift).toEqual([]);
        // Read only: the decision logs did not change.
        expect(await Promise.all(lab.nodes.map((n) => ok(lab, n.name, ["cat", "/var/log/pve-network/migration.log"])))).toEqual(logs);
    });
});
