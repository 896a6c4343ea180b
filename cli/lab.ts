/**
 * `npm run lab -- up|down|status [--nodes N]`: start (or reuse), stop, or show the node lab (lab/).
 * Exit codes: 0 done, 1 the lab failed (the message says why), 2 usage error, 70 internal error.
 */
import * as fs from "fs";
import * as path from "path";
import type { Lab } from "../lab";
import { Io, ToolDecl, processIo, runTool } from "./command";
import { CliError, UsageError } from "./errors";

function describe(lab: Lab): string {
    const lines = [`lab: ${lab.nodes.length} node(s) on ${lab.nodes[0].address.replace(/\.\d+$/, ".0/24")} (host 10.181.0.1)`];
    for (const n of lab.nodes) {
        lines.push(`  ${n.name}  ${n.address}  ${n.hostKey}`);
    }
    lines.push(
        `ssh in:   ssh -i ${lab.privateKeyPath} -o UserKnownHostsFile=${path.join(lab.stateDir, "known_hosts")} root@${lab.nodes[0].address}`,
        `          (or ${lab.sudoUser}@<address> for the sudo -n path)`,
        `/etc/pve: ${lab.pveDir} (shared by every node)`,
        `package:  ${lab.debPath} (version ${lab.version}, sha256 ${lab.debSha256})`,
        `root:     ${lab.rootInfo.root}`,
    );
    return lines.join("\n");
}

const NODES = { flags: "--nodes <N>", description: "number of nodes, 1 to 9 (default 3)" };

function nodesOption(raw: unknown): number {
    if (raw === undefined) return 3;
    if (typeof raw !== "string" || !/^[1-9]$/.test(raw)) throw new UsageError(`--nodes: takes 1 to 9 (got ${JSON.stringify(raw)})`);
    return Number(raw);
}

const lab = () => require("../lab") as typeof import("../lab");

/** The lab failing to start or stop (not root, no systemd-nspawn, ...) is exit 1 with its message, not an internal error. */
async function labStep<T>(step: () => Promise<T>): Promise<T> {
    try {
        return await step();
    } catch (e) {
        if (e instanceof Error && !(e instanceof TypeError) && !(e instanceof ReferenceError)) throw new CliError(1, e.message);
        throw e;
    }
}

export const LAB: ToolDecl = {
    name: "lab",
    description: "The node lab: systemd-nspawn nodes on the lab bridge (10.181.0.0/24).",
    commands: [
        {
            name: "up",
            summary: "start the lab (or reuse the running one)",
            options: [NODES],
            run: async ({ opts, io }) => {
                const nodes = nodesOption(opts.nodes);
                const l = await labStep(() => lab().startLab({ nodes }));
                fs.writeFileSync(path.join(l.stateDir, "known_hosts"), l.nodes.map((n) => `${n.address} ${n.hostKey}\n`).join(""), { mode: 0o600 });
                io.stdout(describe(l) + "\n");
                return 0;
            },
        },
        {
            name: "down",
            summary: "stop the nodes, remove the bridge and the veths",
            run: async ({ io }) => {
                await labStep(() => lab().teardown());
                io.stdout("lab: down (nodes stopped, bridge and veths removed)\n");
                return 0;
            },
        },
        {
            name: "status",
            summary: "the nodes that run",
            run: ({ io }) => {
                const { LAB_STATE_DIR } = lab();
                const { labNspawnPids } = require("../lab/host") as typeof import("../lab/host");
                const running = fs.existsSync(LAB_STATE_DIR) ? labNspawnPids(LAB_STATE_DIR) : [];
                if (running.length === 0) io.stdout("lab: no node running\n");
                for (const r of running) io.stdout(`  ${r.machine}  running (systemd-nspawn pid ${r.pid})\n`);
                return 0;
            },
        },
    ],
    footer: `exit codes:
  0   done
  1   the lab failed (the message says why)
  2   usage error
  70  internal error
`,
};

export function labMain(argv: readonly string[], io: Partial<Io> = {}): Promise<number> {
    return runTool(LAB, argv, { ...processIo(), ...io });
}
