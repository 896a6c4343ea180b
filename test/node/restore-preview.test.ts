/**
 * What a rollback's restore will revert, read before it runs (components/ctl/restore-preview.ts,
 * `migration-ctl plan --read-nodes`): the real preview script with bash on sandbox roots walked
 * into a write phase with the Rust side's writes, read only; then the restore itself changes
 * exactly the files the preview listed. The node lab reads real nodes over OpenSSH the same way.
 */
import * as fs from "fs";
import * as path from "path";
import { formatAge, previewRestore, renderRestorePreview } from "../../components/ctl/restore-preview";
import { Lab, makeLab, mustRun, simulateRustWrites, tree } from "../support/node";

const NOW = new Date("2030-01-01T00:00:00Z");

/** The backup node `node` took entering rust-basic-write (each node names its own by the second it was taken). */
function enteredOn(lab: Lab, node: string): string {
    return fs.readdirSync(path.join(lab.root(node), "var/lib/pve-network-rs/backups")).find((b) => b.endsWith("-a2a2"))!;
}
const takenOf = (b: string) => `${b.slice(0, 4)}-${b.slice(4, 6)}-${b.slice(6, 8)}T${b.slice(9, 11)}:${b.slice(11, 13)}:${b.slice(13, 15)}Z`;
const ageOf = (b: string) => Math.round((NOW.getTime() - Date.parse(takenOf(b))) / 1000);

/** Two nodes walked perl-only -> rust-read-only -> rust-basic-write, then written by the Rust side. */
function inWritePhase(): { lab: Lab; entered: string } {
    const lab = makeLab(["pve1", "pve2"]);
    mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
    mustRun(lab.config("rust-read-only"), "perl-only", "rust-read-only", "a1a1");
    mustRun(lab.config("rust-basic-write"), "rust-read-only", "rust-basic-write", "a2a2");
    for (const n of lab.nodes) simulateRustWrites(lab.root(n), n, "rs");
    return { lab, entered: enteredOn(lab, "pve1") };
}

describe("the restore preview on sandbox roots (read only)", () => {
    test("lists per node the recorded backup, its age and a diff of each file the restore would change; the restore then changes exactly those", async () => {
        const { lab, entered } = inWritePhase();
        try {
            const cfg = lab.config("perl-only");
            const before = Object.fromEntries(lab.nodes.map((n) => [n, tree(lab.root(n))]));
            const previews = await previewRestore(cfg, { now: NOW });
            // Read only: not a byte changed on either root (no lock file, no log line).
            for (const n of lab.nodes) expect(tree(lab.root(n))).toEqual(before[n]);

            const taken = takenOf(entered);
            const age = ageOf(entered);
            const pve2 = enteredOn(lab, "pve2");
            expect(previews.map((p) => [p.node, p.parts, p.backup, p.backupTakenAt, p.backupAgeSeconds, p.refused, p.error])).toEqual([
                ["pve1", ["node", "cluster"], entered, taken, age, undefined, undefined],
                ["pve2", ["node"], pve2, takenOf(pve2), ageOf(pve2), undefined, undefined],
            ]);
            const pve1 = previews[0].files!;
            const lxc = fs.readdirSync(path.join(lab.root("pve1"), "etc/pve/nodes/pve1/lxc")).sort();
            expect(pve1.map((f) => [f.path, f.change])).toEqual([
                ["/etc/network/interfaces", "changed"],
                ...lxc.map((c, i) => [`/etc/pve/nodes/pve1/lxc/${c}`, i === 0 ? "changed" : "unchanged"]),
                ["/etc/pve/sdn.cfg", "changed"],
                ["/etc/pve/storage.cfg", "changed"],
            ]);
            expect(pve1[0].diff).toBe(
                [
                    "--- a/etc/network/interfaces\ton the node",
                    `+++ b/etc/network/interfaces\tbackup ${entered}`,
                    ...pve1[0].diff.split("\n").slice(2, -4),
                    "-",
                    "-# written by pve-network-rs (rs)",
                    "-auto vmbr0.2",
                    "",
                ].join("\n"),
            );
            expect(pve1[0].diff.split("\n")[2]).toMatch(/^@@ -\d+,\d+ \+\d+,\d+ @@$/);
            expect(
                pve1
                    .find((f) => f.path === "/etc/pve/storage.cfg")!
                    .diff.split("\n")
                    .slice(-3),
            ).toEqual(["-", "-# storage touched (rs)", ""]);
            expect(previews[1].files!.map((f) => f.path)).not.toContain("/etc/pve/sdn.cfg");

            const text = renderRestorePreview(previews);
            expect(text.split("\n").slice(0, 8)).toEqual([
                "",
                "what the restore will revert (read from each node now, read only):",
                `  pve1: backup ${entered}, taken ${taken}, ${formatAge(age)} ago (node and cluster files): 4 of ${3 + lxc.length} file(s) would change`,
                "    revert /etc/network/interfaces",
                `    revert /etc/pve/nodes/pve1/lxc/${lxc[0]}`,
                "    revert /etc/pve/sdn.cfg",
                "    revert /etc/pve/storage.cfg",
                "      --- a/etc/network/interfaces\ton the node",
            ]);

            // Of the files a restore owns, the rollback changes exactly those the preview said would change.
            mustRun(cfg, "rust-basic-write", "perl-only", "b1b1");
            const after = tree(lab.root("pve1"));
            const owned = (k: string) => ["etc/network/interfaces", "etc/pve/sdn.cfg", "etc/pve/storage.cfg"].includes(k) || k.startsWith("etc/pve/nodes/pve1/lxc/");
            const changed = Object.keys(before.pve1).filter((k) => owned(k) && before.pve1[k] !== after[k]);
            expect(changed.map((k) => `/${k}`).sort()).toEqual(
                pve1
                    .filter((f) => f.change !== "unchanged")
                    .map((f) => f.path)
                    .sort(),
            );
        } finally {
            lab.cleanup();
        }
    });

    test("a restore that would refuse is reported with the restore's own reason, per node; a node that cannot be read is named", async () => {
        const { lab } = inWritePhase();
        try {
            fs.rmSync(path.join(lab.root("pve2"), "var/lib/pve-network-rs/perl-backup"));
            fs.rmSync(lab.root("pve1"), { recursive: true, force: true });
            const previews = await previewRestore(lab.config("perl-only"), { now: NOW });
            const record = path.join(lab.root("pve2"), "var/lib/pve-network-rs/perl-backup");
            expect(previews).toEqual([
                { node: "pve1", parts: ["node", "cluster"], error: `node pve1: sandbox root ${lab.root("pve1")} (pve-migration:sandboxDir/<node>) is not a folder` },
                {
                    node: "pve2",
                    parts: ["node"],
                    refused: `no backup of a Perl-managed state is recorded in ${record}: the restore would refuse, changing nothing (restore a chosen backup with pve-migration:backups.restoreId)`,
                },
            ]);
            expect(renderRestorePreview(previews)).toBe(
                [
                    "",
                    "what the restore will revert (read from each node now, read only):",
                    `  pve1: not read: node pve1: sandbox root ${lab.root("pve1")} (pve-migration:sandboxDir/<node>) is not a folder`,
                    `  pve2: the restore would refuse: ${previews[1].refused}`,
                    "",
                ].join("\n"),
            );
        } finally {
            lab.cleanup();
        }
    });
});
