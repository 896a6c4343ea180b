/**
 * The running network against /etc/network/interfaces (components/scripts/sh/network.sh), with
 * bash and iproute2 for real: a network namespace this test makes holds a bridge with a veth
 * port, an address and a default route, and a vxlan; each case writes an interfaces file (and
 * interfaces.d) in a temp root and runs net_check_running inside the namespace (`ip netns
 * exec`), so the kernel's own state is what is compared. Addresses are on the lab subnet
 * (10.181.0.0/24), inside the namespace only. And the pending /etc/network/interfaces.new: the
 * snapshot step refuses a transition before it writes anything, and verify reports it, on a
 * sandbox node root.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Lab, makeLab, mustRun, tree } from "../support/node";
import { runPlan } from "../../components/sandbox/run";
import { requireTools } from "../support/tools";

const SH = path.join(__dirname, "../../components/scripts/sh");
const NS = `pvemig-nc-${process.pid}`;

function ip(...args: string[]): void {
    const r = spawnSync("ip", ["-n", NS, ...args], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip -n ${NS} ${args.join(" ")}: ${r.stderr}`);
}

beforeAll(() => {
    requireTools("ip", "bash");
    const r = spawnSync("ip", ["netns", "add", NS], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip netns add ${NS}: ${r.stderr}`);
    ip("link", "set", "lo", "up");
    ip("link", "add", "vmbr0", "type", "bridge");
    ip("link", "add", "veth0", "type", "veth", "peer", "name", "veth1");
    ip("link", "set", "veth0", "master", "vmbr0");
    ip("link", "set", "veth0", "up");
    ip("link", "set", "vmbr0", "up");
    ip("addr", "add", "10.181.0.201/24", "dev", "vmbr0");
    ip("route", "add", "default", "via", "10.181.0.254", "dev", "vmbr0");
    ip("link", "add", "vx100", "type", "vxlan", "id", "100", "dstport", "4789", "local", "10.181.0.201");
    ip("link", "set", "vx100", "up");
    // Defined, never up: "down" cases.
    ip("link", "add", "vmbr1", "type", "bridge");
});
afterAll(() => {
    spawnSync("ip", ["netns", "del", NS]);
});

let root: string;
beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "pve-netcheck-"));
    fs.mkdirSync(path.join(root, "etc/network/interfaces.d"), { recursive: true });
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const GOOD = [
    "auto lo",
    "iface lo inet loopback",
    "",
    "auto vmbr0",
    "iface vmbr0 inet static",
    "\taddress 10.181.0.201",
    "\tnetmask 255.255.255.0",
    "\tgateway 10.181.0.254",
    "\tbridge-ports veth0",
    "\tmtu 1500",
    "",
    "source /etc/network/interfaces.d/*",
    "",
].join("\n");

/** net_check_running REQUIRED... in the namespace, on `root`: `checked=N`, then one line per problem. */
function check(files: Record<string, string>, required: string[] = []): string[] {
    for (const [rel, text] of Object.entries(files)) fs.writeFileSync(path.join(root, rel), text);
    const body = `STEP=verify NODE=pve1; source "${SH}/lib.sh"; source "${SH}/network.sh"; RP="$1"; shift; net_check_running "$@"; printf '%s\\n' "checked=$NET_CHECKED" "\${NET_PROBLEMS[@]}"`;
    // PATH without ifquery: this machine has no ifupdown2 (the lab's nodes have it, test/lab).
    const r = spawnSync("ip", ["netns", "exec", NS, "bash", "-c", body, "net", root, ...required], {
        encoding: "utf8",
        env: { ...process.env, PATH: "/usr/sbin:/usr/bin:/sbin:/bin" },
    });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    return r.stdout.split("\n").filter((l) => l !== "");
}

describe("net_check_running: the kernel's network against /etc/network/interfaces (ip -o, in a namespace of this test)", () => {
    test("a matching config: no problem; lo, vmbr0 and the vxlan of interfaces.d checked", () => {
        expect(check({ "etc/network/interfaces": GOOD, "etc/network/interfaces.d/vx": "auto vx100\niface vx100 inet manual\n\tvxlan-id 100\n" })).toEqual([
            "checked=3",
        ]);
    });

    test("every kind of difference is one line naming the interface, the file and both values", () => {
        const bad = GOOD.replace("\tmtu 1500", "\tmtu 9000")
            .replace("bridge-ports veth0", "bridge-ports veth0 eth7")
            .replace("gateway 10.181.0.254", "gateway 10.181.0.1")
            .replace("address 10.181.0.201", "address 10.181.0.202");
        const lines = check(
            {
                "etc/network/interfaces": bad + "auto eth9\n",
                "etc/network/interfaces.d/vx":
                    "auto vx100\niface vx100 inet manual\n\tvxlan-id 200\n\nauto vmbr1\niface vmbr1 inet static\n\taddress 10.181.0.210/24\n\nauto vmbr2\niface vmbr2 inet manual\n",
            },
            ["vmbr1", "bond0"],
        );
        expect(lines).toEqual([
            "checked=8",
            "vmbr0: address 10.181.0.202/24 configured, not on the interface (has: 10.181.0.201/24)",
            "vmbr0: mtu 9000 configured, 1500 running",
            "vmbr0: bridge ports configured [eth7 veth0], running [veth0]",
            "vmbr0: gateway 10.181.0.1 configured, no default route via 10.181.0.1 dev vmbr0",
            "vx100: vxlan-id 200 configured, 100 running",
            "vmbr1: auto but down",
            "vmbr1: address 10.181.0.210/24 configured, not on the interface (has: none)",
            "vmbr2: auto in /etc/network/interfaces.d/vx but not in the kernel",
            "eth9: auto in /etc/network/interfaces (auto, no stanza) but not in the kernel",
            "vmbr1: required by the stack (pve-migration:requiredInterfaces) but down",
            "bond0: required by the stack (pve-migration:requiredInterfaces) but not in the kernel",
        ]);
    });

    test("CIDR addresses, bridge_ports in another order, 'none' ports, comments and source-directory", () => {
        ip("link", "add", "veth2", "type", "veth", "peer", "name", "veth3");
        ip("link", "set", "veth2", "master", "vmbr0");
        try {
            const cfg = [
                "# managed elsewhere",
                "auto lo vmbr0",
                "iface lo inet loopback",
                "iface vmbr0 inet static",
                "    address 10.181.0.201/24",
                "    bridge_ports veth2 veth0",
                "source-directory interfaces.d",
                "",
            ].join("\n");
            expect(
                check({
                    "etc/network/interfaces": cfg,
                    "etc/network/interfaces.d/br1": "iface vmbr1 inet manual\n\tbridge-ports none\n",
                    "etc/network/interfaces.d/skip.bak": "auto nothere\n",
                }),
            ).toEqual(["checked=2"]);
        } finally {
            ip("link", "del", "veth2");
        }
    });

    test("a hostile interfaces file is data: names and values with $(...) and ; run nothing", () => {
        const marker = path.join(root, "owned");
        const cfg = `auto x$(touch ${marker})\niface x$(touch ${marker}) inet static\n\taddress $(touch ${marker})/24\n\tmtu ;touch ${marker}\nsource /etc/network/$(touch ${marker})\n`;
        const lines = check({ "etc/network/interfaces": cfg });
        // Words are split on blanks, as ifupdown does: two names, each only compared.
        expect(lines).toEqual([
            "checked=2",
            "x$(touch: auto in /etc/network/interfaces but not in the kernel",
            `${marker}): auto in /etc/network/interfaces (auto, no stanza) but not in the kernel`,
        ]);
        expect(fs.existsSync(marker)).toBe(false);
    });
});

describe("a pending /etc/network/interfaces.new (sandbox node root)", () => {
    let lab: Lab;
    beforeEach(() => {
        lab = makeLab(["pve1"]);
    });
    afterEach(() => lab.cleanup());

    test("the snapshot step refuses the transition, naming the file, and nothing is written; resolved, the transition runs", () => {
        mustRun(lab.config("perl-only"), "perl-only", "perl-only", "00000001");
        fs.writeFileSync(path.join(lab.root("pve1"), "etc/network/interfaces.new"), "auto vmbr9\n");
        const before = tree(lab.sandbox);
        const runs = runPlan(lab.config("rust-read-only"), "perl-only", "rust-read-only", "00000002");
        expect(runs.map((r) => [r.id, r.status])).toEqual([["pve1-snapshot", 75]]);
        expect(runs[0].stderr).toBe(
            "pve-migration snapshot on pve1: refusing to start the transition perl-only -> rust-read-only: /etc/network/interfaces.new is pending (a network change made through the Proxmox VE API or GUI, not applied; pvenetcommit would activate it at the next boot). Apply it (Apply Configuration in the GUI, or pvesh set /nodes/pve1/network) or remove it, then run again; nothing was changed\n",
        );
        const after = tree(lab.sandbox);
        const changed = Object.keys({ ...before, ...after }).filter((k) => before[k] !== after[k]);
        // Only the decision log (and the lock file's existence, already there) differ.
        expect(changed).toEqual(["pve1/var/log/pve-network/migration.log"]);
        fs.rmSync(path.join(lab.root("pve1"), "etc/network/interfaces.new"));
        expect(
            mustRun(lab.config("rust-read-only"), "perl-only", "rust-read-only", "00000002")
                .map((r) => r.status)
                .every((s) => s === 0),
        ).toBe(true);
    });

    test("verify reports it among its problems", () => {
        mustRun(lab.config("perl-only"), "perl-only", "perl-only", "00000001");
        fs.writeFileSync(path.join(lab.root("pve1"), "etc/network/interfaces.new"), "auto vmbr9\n");
        const runs = runPlan(lab.config("perl-only"), "perl-only", "perl-only", "00000003");
        const verify = runs.find((r) => r.id === "pve1-verify");
        expect(verify?.status).toBe(70);
        expect(verify?.stderr).toBe(
            "pve-migration verify on pve1: /etc/network/interfaces.new is pending (a network change not applied; pvenetcommit would activate it at the next boot)\n",
        );
    });
});
