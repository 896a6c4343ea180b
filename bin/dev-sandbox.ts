/**
 * `npm run dev:sandbox [-- --dir DIR]`: prepare the dev stack's sandbox (stacks/Pulumi.dev.yaml):
 * one node root per node under <dir>/dev sharing <dir>/dev/cluster-pve as /etc/pve, and the
 * stand-in pve-network-rs .deb under <dir>/debs, built reproducibly so that its sha256 is the
 * one the dev stack pins. Idempotent: existing roots and files are left as they are.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { buildStandInDeb, createSandbox } from "../components/sandbox";

export function devSandbox(repo: string, dir: string): { roots: Record<string, string>; deb: string; sha256: string; pinned: string } {
    const stack = YAML.parse(fs.readFileSync(path.join(repo, "stacks/Pulumi.dev.yaml"), "utf8")).config;
    const nodes = (stack["pve-migration:nodes"] as { name: string }[]).map((n) => n.name);
    const pkg = stack["pve-migration:package"] as { version: string; sha256: string };
    const roots = createSandbox(path.join(dir, "dev"), nodes);
    const deb = buildStandInDeb(path.join(dir, "debs"), pkg.version);
    return { roots, deb: deb.path, sha256: deb.sha256, pinned: pkg.sha256 };
}

if (require.main === module || process.argv[1]?.endsWith("dev-sandbox.ts")) {
    const repo = path.resolve(__dirname, "..");
    const i = process.argv.indexOf("--dir");
    const dir = path.resolve(i > 0 ? process.argv[i + 1] : path.join(repo, ".sandbox"));
    const r = devSandbox(repo, dir);
    for (const [n, root] of Object.entries(r.roots)) console.log(`node ${n}: ${root}`);
    console.log(`package: ${r.deb}\nsha256:  ${r.sha256}`);
    if (r.sha256 !== r.pinned) {
        console.error(`the dev stack pins sha256 ${r.pinned}; this build differs (different dpkg-deb/xz?): update pve-migration:package.sha256`);
        process.exit(1);
    }
    console.log("matches the sha256 pinned in stacks/Pulumi.dev.yaml");
}
