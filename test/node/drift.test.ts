/**
 * `migration-ctl drift`'s node check (components/ctl/drift.ts, sh/drift-check.sh) with bash on
 * sandbox roots walked into rust-read-only: read only (not a byte of either root changes), in step
 * as the walk left them, then each kind of drift a person can cause by hand, named. The node lab
 * runs it over OpenSSH with the running network (test/lab/node-safety.test.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { execFileSync } from "child_process";
import { driftOfStack, renderDrift } from "../../components/ctl/drift";
import { makeLab, mustRun, tree } from "../support/node";

test("in step after the walk, read only; then a changed migration.toml, a disabled daemon, a pending interfaces.new and another deployed phase are each named", async () => {
    const lab = makeLab(["pve1", "pve2"]);
    try {
        mustRun(lab.config("perl-only", { scope: "node" }), "perl-only", "perl-only", "0");
        const cfg = lab.config("rust-read-only", { scope: "node" });
        mustRun(cfg, "perl-only", "rust-read-only", "a1a1");
        const before = lab.nodes.map((n) => tree(lab.root(n)));
        const clean = await driftOfStack(cfg, "rust-read-only", {});
        expect(clean).toEqual([
            { node: "pve1", lastVerified: "rust-read-only", drift: [] },
            { node: "pve2", lastVerified: "rust-read-only", drift: [] },
        ]);
        expect(lab.nodes.map((n) => tree(lab.root(n)))).toEqual(before);

        const root = lab.root("pve2");
        fs.appendFileSync(path.join(root, "etc/pve/nodes/pve2/network/migration.toml"), "# edited by hand\n");
        execFileSync("systemctl", [`--root=${root}`, "disable", "--quiet", "pve-network-rs.service"]);
        fs.writeFileSync(path.join(root, "etc/network/interfaces.new"), "auto vmbr1\n");
        const drifted = await driftOfStack(cfg, "rust-read-only", {});
        expect(drifted).toEqual([
            { node: "pve1", lastVerified: "rust-read-only", drift: [] },
            {
                node: "pve2",
                lastVerified: "rust-read-only",
                drift: [
                    "/etc/pve/nodes/pve2/network/migration.toml differs from the rendered config for rust-read-only",
                    "pve-network-rs.service is not enabled",
                    "/etc/network/interfaces.new is pending (a network change not applied; pvenetcommit would activate it at the next boot)",
                ],
            },
        ]);
        expect(renderDrift("test", "rust-read-only", "configured", drifted)).toBe(
            [
                "drift of test against rust-read-only (configured):",
                "  pve1: in step",
                "  pve2: drifted",
                "    /etc/pve/nodes/pve2/network/migration.toml differs from the rendered config for rust-read-only",
                "    pve-network-rs.service is not enabled",
                "    /etc/network/interfaces.new is pending (a network change not applied; pvenetcommit would activate it at the next boot)",
                "result: 1 of 2 node(s) drifted",
                "",
            ].join("\n"),
        );
        // Against a phase the stack deployed that the nodes never verified.
        const other = await driftOfStack(lab.config("rust-basic-write", { scope: "node" }), "rust-basic-write", {});
        expect(other[0].drift).toEqual([
            "the node last verified rust-read-only, the stack deployed rust-basic-write",
            "/etc/pve/nodes/pve1/network/migration.toml differs from the rendered config for rust-basic-write",
        ]);
    } finally {
        lab.cleanup();
    }
});
