/**
 * `npm run lab -- up|down|status [--nodes N]`: start (or reuse), stop, or show the node lab.
 * Exit codes: 0 done, 2 usage error, 1 the lab failed (the message says why).
 */
import * as fs from "fs";
import * as path from "path";
import { LAB_STATE_DIR, Lab, startLab, teardown } from "./index";
import { labNspawnPids } from "./host";

const USAGE = "usage: npm run lab -- up|down|status [--nodes N]";

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

async function main(argv: string[]): Promise<number> {
    const [cmd, ...rest] = argv;
    let nodes = 3;
    for (let i = 0; i < rest.length; i++) {
        if (rest[i] === "--nodes" && /^[1-9]$/.test(rest[i + 1] ?? "")) nodes = Number(rest[++i]);
        else {
            console.error(`lab: bad argument ${JSON.stringify(rest[i])} (--nodes takes 1 to 9)\n${USAGE}`);
            return 2;
        }
    }
    if (cmd === "up") {
        const lab = await startLab({ nodes });
        fs.writeFileSync(path.join(lab.stateDir, "known_hosts"), lab.nodes.map((n) => `${n.address} ${n.hostKey}\n`).join(""), { mode: 0o600 });
        console.log(describe(lab));
        return 0;
    }
    if (cmd === "down") {
        await teardown();
        console.log("lab: down (nodes stopped, bridge and veths removed)");
        return 0;
    }
    if (cmd === "status") {
        const running = fs.existsSync(LAB_STATE_DIR) ? labNspawnPids(LAB_STATE_DIR) : [];
        if (running.length === 0) console.log("lab: no node running");
        for (const r of running) console.log(`  ${r.machine}  running (systemd-nspawn pid ${r.pid})`);
        return 0;
    }
    console.error(USAGE);
    return 2;
}

main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
        console.error(e instanceof Error ? e.message : String(e));
        process.exit(1);
    },
);
