/**
 * `npm run dev:sandbox [-- --dir DIR]` (bin/dev-sandbox.ts): prepare the dev stack's sandbox (stacks/Pulumi.dev.yaml):
 * one node root per node under <dir>/dev sharing <dir>/dev/cluster-pve as /etc/pve, and the
 * stand-in pve-network-rs .deb under <dir>/debs, built reproducibly so that its sha256 is the
 * one the dev stack pins. Idempotent: existing roots and files are left as they are.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { buildStandInDeb, createSandbox } from "../components/sandbox";
import { Io, ToolDecl, processIo, runTool } from "./command";
import { CliError } from "./errors";
import { stringOption } from "./values";
import { packageRoot } from "./version";

export function devSandbox(repo: string, dir: string): { roots: Record<string, string>; deb: string; sha256: string; pinned: string } {
    const stack = YAML.parse(fs.readFileSync(path.join(repo, "stacks/Pulumi.dev.yaml"), "utf8")).config;
    const nodes = (stack["pve-migration:nodes"] as { name: string }[]).map((n) => n.name);
    const pkg = stack["pve-migration:package"] as { version: string; sha256: string };
    const roots = createSandbox(path.join(dir, "dev"), nodes);
    const deb = buildStandInDeb(path.join(dir, "debs"), pkg.version);
    return { roots, deb: deb.path, sha256: deb.sha256, pinned: pkg.sha256 };
}

export const DEV_SANDBOX: ToolDecl = {
    name: "dev-sandbox",
    description: "Prepare the dev stack's sandbox: one node root per node sharing /etc/pve, and the stand-in pve-network-rs .deb the dev stack pins.",
    commands: [
        {
            name: "",
            summary: "",
            options: [{ flags: "--dir <DIR>", description: "sandbox folder (default: .sandbox in the repository)" }],
            run: ({ opts, io }) => {
                const repo = packageRoot();
                const dirFlag = stringOption(opts.dir);
                const dir = dirFlag !== undefined ? path.resolve(io.cwd, dirFlag) : path.join(repo, ".sandbox");
                const r = devSandbox(repo, dir);
                for (const [n, root] of Object.entries(r.roots)) io.stdout(`node ${n}: ${root}\n`);
                io.stdout(`package: ${r.deb}\nsha256:  ${r.sha256}\n`);
                if (r.sha256 !== r.pinned) {
                    throw new CliError(1, `the dev stack pins sha256 ${r.pinned}; this build differs (different dpkg-deb/xz?): update pve-migration:package.sha256`);
                }
                io.stdout("matches the sha256 pinned in stacks/Pulumi.dev.yaml\n");
                return 0;
            },
        },
    ],
    footer: `exit codes:
  0   sandbox ready, the package matches the pinned sha256
  1   the package built differs from the pinned sha256
  2   usage error
  70  internal error
`,
};

export function devSandboxMain(argv: readonly string[], io: Partial<Io> = {}): Promise<number> {
    return runTool(DEV_SANDBOX, argv, { ...processIo(), ...io });
}
