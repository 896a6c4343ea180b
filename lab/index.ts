/**
 * The node lab: N real Debian 12 nodes (pve1..pveN) booted with systemd-nspawn on one lab subnet
 * (10.181.0.0/24, the host 10.181.0.1 on bridge pvelab0, nodes .11, .12, ...), reached over real
 * ssh with pinned ed25519 host keys. /etc/pve is one host folder bind-mounted into every node:
 * the stand-in for pmxcfs, with a no-quorum switch that remounts it read-only on one node.
 *
 * State (keys mode 0600, overlays, the shared /etc/pve, the lab .deb) lives in LAB_STATE_DIR,
 * outside the repository; the Debian root is cached in LAB_CACHE_DIR (lab/root.ts).
 */
import { spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { buildStandInDeb, LAB_METRICS_DIR, renderStandInMetrics } from "../components/sandbox";
import { shQuote } from "../components/scripts";
import { ensureRoot, EnsuredRoot } from "./root";
import {
    BRIDGE,
    SUBNET_PREFIX,
    checkHost,
    createBridge,
    deleteBridge,
    isMounted,
    labNspawnPids,
    leaderPid,
    mountsUnder,
    mustRun,
    processAlive,
    run,
    sleep,
    writeAtomic,
} from "./host";

export { BRIDGE, HOST_ADDRESS } from "./host";
export const LAB_STATE_DIR = process.env.PVE_LAB_STATE_DIR ?? "/var/lib/pve-migration-lab";
/** Version of the lab's stand-in pve-network-rs package. */
export const LAB_VERSION = "0.4.2-1+lab";
export const SUDO_USER = "pvemig";
export const CLUSTER = "pve-lab";
export const BOOT_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 30_000;
const MAX_NODES = 9;

export interface LabNode {
    readonly name: string;
    readonly address: string;
    readonly port: number;
    /** The node's own ed25519 host key, "ssh-ed25519 AAAA..." (pinned). */
    readonly hostKey: string;
    /** systemd-nspawn machine name. */
    readonly machine: string;
}

export interface ExecResult {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

export interface ExecOptions {
    /** `root` (default) or the sudo user. */
    readonly user?: string;
    readonly input?: string;
    readonly timeoutMs?: number;
    /** Pin this host key instead of the node's own (to see a wrong key refused). */
    readonly hostKey?: string;
}

export interface StackConfigOptions {
    readonly sshUser?: "root" | typeof SUDO_USER;
    readonly phase?: string;
}

interface StateFile {
    readonly nodes: number;
    /** The cached root the running nodes' overlays sit on. */
    readonly root: string;
    readonly pids: Record<string, number>;
}

const nodeName = (i: number) => `pve${i + 1}`;
const nodeAddress = (i: number) => `${SUBNET_PREFIX}.${11 + i}`;

export class Lab {
    readonly sudoUser = SUDO_USER;
    readonly version = LAB_VERSION;
    readonly privateKeyPath: string;
    readonly pveDir: string;
    readonly debPath: string;
    readonly debSha256: string;
    readonly nodes: LabNode[];
    /** The cached root the nodes' overlays sit on, and how long ensuring it took. */
    readonly rootInfo: EnsuredRoot;

    constructor(
        readonly stateDir: string,
        count: number,
        root: EnsuredRoot,
        deb: { path: string; sha256: string },
    ) {
        this.rootInfo = root;
        this.privateKeyPath = path.join(stateDir, "keys", "client_ed25519");
        this.pveDir = path.join(stateDir, "pve");
        this.debPath = deb.path;
        this.debSha256 = deb.sha256;
        this.nodes = Array.from({ length: count }, (_, i) => {
            const name = nodeName(i);
            return { name, address: nodeAddress(i), port: 22, machine: name, hostKey: this.hostKeyOf(name) };
        });
    }

    /** The lab's client private key (ed25519, OpenSSH format). */
    get privateKey(): string {
        return fs.readFileSync(this.privateKeyPath, "utf8");
    }

    private node(name: string): LabNode {
        const n = this.nodes.find((x) => x.name === name);
        if (!n) throw new Error(`lab: no node ${JSON.stringify(name)} (nodes: ${this.nodes.map((x) => x.name).join(", ")})`);
        return n;
    }
    private dir(name: string, ...rest: string[]): string {
        return path.join(this.stateDir, "nodes", name, ...rest);
    }
    private hostKeyOf(name: string): string {
        const pub = this.dir(name, "ssh_host_ed25519_key.pub");
        return fs.readFileSync(pub, "utf8").trim().split(/\s+/).slice(0, 2).join(" ");
    }
    private readState(): StateFile {
        return JSON.parse(fs.readFileSync(path.join(this.stateDir, "lab.json"), "utf8")) as StateFile;
    }
    private writeState(s: StateFile): void {
        writeAtomic(path.join(this.stateDir, "lab.json"), JSON.stringify(s, null, 2) + "\n", 0o600);
    }
    private nspawnPid(name: string): number | undefined {
        const pid = this.readState().pids[name];
        return pid && processAlive(pid, isNspawnOf(name)) ? pid : undefined;
    }
    private leader(name: string): number {
        const pid = this.nspawnPid(name);
        const l = pid ? leaderPid(pid) : undefined;
        if (!l) throw new Error(`lab: node ${name} is not running`);
        return l;
    }
    isRunning(name: string): boolean {
        return this.nspawnPid(this.node(name).name) !== undefined;
    }

    /**
     * The `ssh` arguments that reach node `name` as the lab dials it: no user configuration, the
     * lab's client key only, the node's host key pinned through `knownHosts`, then `remote` (one
     * word: the remote shell's command line).
     */
    sshArgs(name: string, knownHosts: string, o: { user: string; connectTimeout: number; logLevel: string }, remote: string): string[] {
        const n = this.node(name);
        return [
            "-F",
            "/dev/null",
            "-i",
            this.privateKeyPath,
            "-p",
            String(n.port),
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            `UserKnownHostsFile=${knownHosts}`,
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "HostKeyAlgorithms=ssh-ed25519",
            "-o",
            `ConnectTimeout=${o.connectTimeout}`,
            "-o",
            `LogLevel=${o.logLevel}`,
            `${o.user}@${n.address}`,
            "--",
            remote,
        ];
    }

    /** Run argv on the node over real ssh, the node's host key pinned; argv is single-quoted. */
    exec(name: string, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
        const n = this.node(name);
        if (argv.length === 0) throw new Error("lab.exec: argv must name a command");
        const user = opts.user ?? "root";
        if (!/^[a-z_][a-z0-9_-]*$/.test(user)) throw new Error(`lab.exec: bad user ${JSON.stringify(user)}`);
        const kh = fs.mkdtempSync(path.join(os.tmpdir(), "pve-lab-kh-"));
        const known = path.join(kh, "known_hosts");
        fs.writeFileSync(known, `${n.address} ${opts.hostKey ?? n.hostKey}\n`, { mode: 0o600 });
        const args = this.sshArgs(name, known, { user, connectTimeout: 5, logLevel: "ERROR" }, argv.map(shQuote).join(" "));
        return new Promise((resolve, reject) => {
            const child = spawn("ssh", args, { stdio: ["pipe", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
            child.stdout.on("data", (d) => (stdout += d));
            child.stderr.on("data", (d) => (stderr += d));
            child.on("error", (e) => {
                clearTimeout(timer);
                fs.rmSync(kh, { recursive: true, force: true });
                reject(e);
            });
            child.on("close", (code) => {
                clearTimeout(timer);
                fs.rmSync(kh, { recursive: true, force: true });
                resolve({ code, stdout, stderr });
            });
            child.stdin.end(opts.input ?? "");
        });
    }

    /** The no-quorum switch: /etc/pve read-only (false) or read-write (true) on this node only. */
    setQuorate(name: string, quorate: boolean): void {
        const i = this.nodes.indexOf(this.node(name));
        writeQuorum(this.dir(name, "lab"), quorate, i + 1, this.nodes.length);
        // The node's own mount namespace, as pmxcfs turns read-only on a node without quorum.
        mustRun(["nsenter", "-t", String(this.leader(name)), "-m", "--", "mount", "-o", `remount,bind,${quorate ? "rw" : "ro"}`, "/etc/pve"]);
    }

    /** Values the lab daemon stand-in serves on :9187/metrics (written atomically into the node). */
    setMetrics(name: string, m: { fallbacks: number; applySum: number; applyCount: number }): void {
        this.node(name);
        writeAtomic(path.join(this.dir(name, "root"), LAB_METRICS_DIR, "metrics"), renderStandInMetrics(m));
    }

    async startNode(name: string): Promise<void> {
        const n = this.node(name);
        if (this.isRunning(name)) return;
        const i = this.nodes.indexOf(n);
        const root = this.dir(name, "root");
        // The upper folder's mode is the mode of the node's "/": 0755, or no user but root can walk it.
        for (const d of ["upper", "work", "root", "lab"]) {
            fs.mkdirSync(this.dir(name, d), { recursive: true });
            fs.chmodSync(this.dir(name, d), d === "work" ? 0o700 : 0o755);
        }
        // An overlay's upper layer belongs to the lower it was made on: a new cached root means a fresh node.
        const lowerFile = this.dir(name, "lower");
        if (!isMounted(root) && fs.existsSync(lowerFile) && fs.readFileSync(lowerFile, "utf8") !== this.rootInfo.root) {
            for (const d of ["upper", "work"]) {
                fs.rmSync(this.dir(name, d), { recursive: true, force: true });
                fs.mkdirSync(this.dir(name, d), { mode: d === "work" ? 0o700 : 0o755 });
            }
        }
        writeAtomic(lowerFile, this.rootInfo.root);
        if (!isMounted(root)) {
            mustRun([
                "mount",
                "-t",
                "overlay",
                "overlay",
                "-o",
                `lowerdir=${this.rootInfo.root},upperdir=${this.dir(name, "upper")},workdir=${this.dir(name, "work")}`,
                root,
            ]);
        }
        prepareNodeRoot(root, n, this.dir(name), fs.readFileSync(`${this.privateKeyPath}.pub`, "utf8"));
        writeQuorum(this.dir(name, "lab"), true, i + 1, this.nodes.length);
        const log = fs.openSync(this.dir(name, "console.log"), "w", 0o600);
        // Each node in a cgroup of its own: with --keep-unit, systemd-nspawn puts the container in
        // "payload" below its own cgroup, which without a host systemd is the same for every node,
        // so the nodes' systemd instances shared payload/system.slice/<unit> and one node's
        // cleanup broke another's unit start (status=219/CGROUP at boot). The shell moves itself,
        // then execs systemd-nspawn (same pid).
        removeNodeCgroups(name);
        const child = spawn(
            "sh",
            [
                "-c",
                NSPAWN_IN_OWN_CGROUP,
                n.machine,
                "--register=no",
                "--keep-unit",
                "-b",
                "-D",
                root,
                `--machine=${n.machine}`,
                `--network-bridge=${BRIDGE}`,
                `--bind=${this.pveDir}:/etc/pve`,
                `--bind-ro=${this.dir(name, "lab")}:/var/lib/pve-lab`,
                "--console=read-only",
            ],
            { detached: true, stdio: ["ignore", log, log] },
        );
        fs.closeSync(log);
        // Our own child: its exit event says for certain that it ended (and how), where a /proc read
        // can only say "not found now". Node emits it while the loop runs, unref'd or not.
        let exited: string | undefined;
        child.on("exit", (code, signal) => (exited = signal ? `signal ${signal}` : `exit status ${code}`));
        child.unref();
        if (!child.pid) throw new Error(`lab: node ${name}: systemd-nspawn did not start`);
        const s = this.readState();
        this.writeState({ ...s, pids: { ...s.pids, [name]: child.pid } });
        await this.waitRunning(n, child.pid, () => exited);
    }

    /** The last lines of a node's console log, for an error (a CI log is all a failed run leaves). */
    private consoleTail(name: string): string {
        try {
            const lines = fs.readFileSync(this.dir(name, "console.log"), "utf8").trimEnd().split("\n");
            return lines.length === 1 && lines[0] === "" ? "(empty)" : lines.slice(-12).join(" | ");
        } catch (e) {
            return `(unreadable: ${(e as Error).message})`;
        }
    }

    private async waitRunning(n: LabNode, pid: number, exited: () => string | undefined): Promise<void> {
        const deadline = Date.now() + BOOT_TIMEOUT_MS;
        let what = "systemd-nspawn to start the node's systemd";
        let last = "";
        const fail = (why: string) =>
            new Error(
                `lab: node ${n.name} ${why} after ${BOOT_TIMEOUT_MS / 1000} s (waited for ${what}${last ? `; last answer: ${last}` : ""}); console log ${this.dir(n.name, "console.log")}: ${this.consoleTail(n.name)}`,
            );
        while (Date.now() < deadline) {
            const how = exited();
            if (how) {
                throw new Error(
                    `lab: node ${n.name}: systemd-nspawn ended (${how}) while waiting for ${what}; console log ${this.dir(n.name, "console.log")}: ${this.consoleTail(n.name)}`,
                );
            }
            const leader = leaderPid(pid);
            if (leader) {
                what = "`systemctl is-system-running` to say running";
                const r = run(["nsenter", "-t", String(leader), "-m", "-u", "-i", "-n", "-p", "--", "systemctl", "is-system-running"], { timeoutMs: 10_000 });
                last = r.stdout.trim() || r.stderr.trim();
                if (last === "degraded") {
                    const inNode = (...argv: string[]) => run(["nsenter", "-t", String(leader), "-m", "-u", "-i", "-n", "-p", "--", ...argv]).stdout.trim();
                    const failed = inNode("systemctl", "--failed", "--plain", "--no-legend");
                    const why = failed
                        .split("\n")
                        .map((l) => l.split(/\s+/)[0])
                        .filter(Boolean)
                        .map((u) => `${u}: ${inNode("journalctl", "-b", "-u", u, "-o", "cat", "--no-pager", "-n", "8").split("\n").join(" | ")}`);
                    throw new Error(`lab: node ${n.name} booted degraded; failed units: ${failed}; their journal: ${why.join("; ")}`);
                }
                if (last === "running") {
                    what = `sshd on ${n.address}:${n.port}`;
                    if (await tcpOpen(n.address, n.port)) return;
                }
            }
            await sleep(200);
        }
        const leader = leaderPid(pid);
        if (leader && last === "starting") {
            const jobs = run(["nsenter", "-t", String(leader), "-m", "-u", "-i", "-n", "-p", "--", "systemctl", "list-jobs", "--plain", "--no-legend"]);
            last += ` (pending jobs: ${jobs.stdout
                .trim()
                .split("\n")
                .map((l) => l.split(/\s+/).slice(1, 3).join(" "))
                .join(", ")})`;
        }
        throw fail("did not come up");
    }

    /** Stop one node (its overlay keeps its state for the next start). */
    async stopNode(name: string): Promise<void> {
        this.node(name);
        const pid = this.nspawnPid(name);
        if (pid) await stopNspawn(pid, name);
        for (const m of mountsUnder(this.dir(name, "root"))) mustRun(["umount", m]);
        removeNodeCgroups(name);
        const s = this.readState();
        const pids = { ...s.pids };
        delete pids[name];
        this.writeState({ ...s, pids });
    }

    /** A fresh node: stopped, its overlay wiped, started again (same name, address and host key). */
    async resetNode(name: string): Promise<void> {
        await this.stopNode(name);
        for (const d of ["upper", "work"]) fs.rmSync(this.dir(name, d), { recursive: true, force: true });
        await this.startNode(name);
    }

    /**
     * The pve-migration stack config values for a stack of the lab's nodes (record of key -> string,
     * as test/support/mocks setStackConfig takes them) and the keys to mark secret.
     */
    stackConfig(opts: StackConfigOptions = {}): { values: Record<string, string>; secretKeys: string[] } {
        const sshUser = opts.sshUser ?? "root";
        return {
            values: {
                cluster: CLUSTER,
                phase: opts.phase ?? "perl-only",
                transport: "ssh",
                perlApi: JSON.stringify({ baseUrl: `https://${this.nodes[0].address}:8006`, timeout: 60 }),
                package: JSON.stringify({ version: this.version, sha256: this.debSha256, path: this.debPath }),
                nodes: JSON.stringify(this.nodes.map((n) => ({ name: n.name, address: n.address, port: n.port, sshUser, hostKey: n.hostKey, sshKey: "default" }))),
                sshPrivateKeys: JSON.stringify({ default: this.privateKey }),
                migrationConfig: JSON.stringify({ scope: "cluster" }),
                ring: JSON.stringify({ name: "lab" }),
                gates: JSON.stringify({ requireEvidence: false }),
            },
            secretKeys: ["sshPrivateKeys"],
        };
    }

    /** Stop every node and remove the bridge and every veth the lab made. */
    async down(): Promise<void> {
        await teardown(this.stateDir);
    }
}

/** The cgroup hierarchies systemd-nspawn and the nodes' systemd use (cgroup v1 name=systemd, and v2). */
const CGROUP_ROOTS = ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"];
/** sh -c: $0 the node name; move into <root>/pve-lab/<node> of each hierarchy there is, exec nspawn. */
const NSPAWN_IN_OWN_CGROUP =
    "set -e; for r in /sys/fs/cgroup/systemd /sys/fs/cgroup/unified /sys/fs/cgroup; do " +
    '[ -f "$r/cgroup.procs" ] || continue; mkdir -p "$r/pve-lab/$0"; echo "$$" > "$r/pve-lab/$0/cgroup.procs"; ' +
    'done; exec systemd-nspawn "$@"';

/** Remove a stopped node's cgroups, deepest first (a cgroup that still has processes stays). */
function removeNodeCgroups(name: string): void {
    for (const r of CGROUP_ROOTS) {
        const top = path.join(r, "pve-lab", name);
        if (!fs.existsSync(top)) continue;
        const dirs: string[] = [];
        const walk = (d: string) => {
            dirs.push(d);
            for (const e of fs.readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
        };
        walk(top);
        for (const d of dirs.reverse()) {
            try {
                fs.rmdirSync(d);
            } catch {
                /* busy: processes still in it */
            }
        }
    }
}

// "sh": the moment between spawn and the wrapper's exec of systemd-nspawn (NSPAWN_IN_OWN_CGROUP).
const isNspawnOf = (name: string) => (argv: string[]) => ["systemd-nspawn", "sh"].includes(path.basename(argv[0] ?? "")) && argv.includes(`--machine=${name}`);

function writeQuorum(dir: string, quorate: boolean, nodeid: number, nodes: number): void {
    writeAtomic(path.join(dir, "quorum"), `quorate=${quorate ? 1 : 0}\nnodeid=${nodeid}\nnodes=${nodes}\n`);
}

function tcpOpen(host: string, port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const s = net.connect({ host, port, timeout: 1000 });
        s.once("connect", () => (s.destroy(), resolve(true)));
        s.once("timeout", () => (s.destroy(), resolve(false)));
        s.once("error", () => resolve(false));
    });
}

async function stopNspawn(pid: number, name: string): Promise<void> {
    // systemd-nspawn turns SIGTERM into SIGRTMIN+3 for a booted container: a clean poweroff.
    try {
        process.kill(pid, "SIGTERM");
    } catch {
        return;
    }
    const deadline = Date.now() + STOP_TIMEOUT_MS;
    while (Date.now() < deadline) {
        if (!processAlive(pid, isNspawnOf(name))) return;
        await sleep(100);
    }
    try {
        process.kill(pid, "SIGKILL");
    } catch {
        /* gone */
    }
    await sleep(500);
}

/** The per-node files the lab owns, written into the node's overlay before each boot. */
function prepareNodeRoot(root: string, n: LabNode, nodeDir: string, clientPub: string): void {
    writeAtomic(path.join(root, "etc/hostname"), `${n.name}\n`);
    writeAtomic(path.join(root, "etc/hosts"), `127.0.0.1\tlocalhost\n${n.address}\t${n.name}\n`);
    // A volatile journal (in /run) and systemd-journal-flush.service masked: there is nothing to
    // flush to /var/log/journal. That unit failed now and then at boot right after another lab's
    // teardown (cause not captured; the boot then counts as degraded). The tests read only the
    // journal of the current boot.
    fs.mkdirSync(path.join(root, "etc/systemd/journald.conf.d"), { recursive: true });
    writeAtomic(path.join(root, "etc/systemd/journald.conf.d/pve-lab.conf"), "[Journal]\nStorage=volatile\n");
    const flush = path.join(root, "etc/systemd/system/systemd-journal-flush.service");
    let masked = false;
    try {
        masked = fs.readlinkSync(flush) === "/dev/null";
    } catch {
        /* not there yet */
    }
    if (!masked) {
        fs.rmSync(flush, { force: true });
        fs.symlinkSync("/dev/null", flush);
    }
    fs.copyFileSync(path.join(nodeDir, "ssh_host_ed25519_key"), path.join(root, "etc/ssh/ssh_host_ed25519_key"));
    fs.chmodSync(path.join(root, "etc/ssh/ssh_host_ed25519_key"), 0o600);
    fs.copyFileSync(path.join(nodeDir, "ssh_host_ed25519_key.pub"), path.join(root, "etc/ssh/ssh_host_ed25519_key.pub"));
    const passwd = fs.readFileSync(path.join(root, "etc/passwd"), "utf8");
    const ent = passwd
        .split("\n")
        .find((l) => l.startsWith(`${SUDO_USER}:`))
        ?.split(":");
    if (!ent) throw new Error(`lab: the root has no user ${SUDO_USER}`);
    for (const [home, uid, gid] of [
        ["root", 0, 0],
        [`home/${SUDO_USER}`, Number(ent[2]), Number(ent[3])],
    ] as const) {
        const f = path.join(root, home, ".ssh/authorized_keys");
        writeAtomic(f, clientPub, 0o600);
        fs.chownSync(f, uid, gid);
    }
    // The node's own network config, once (later changes are the node's state, kept across restarts).
    const marker = path.join(root, "etc/pve-lab-node");
    if (!fs.existsSync(marker)) {
        writeAtomic(
            path.join(root, "etc/network/interfaces"),
            [
                "auto lo",
                "iface lo inet loopback",
                "",
                "auto host0",
                "iface host0 inet static",
                `\taddress ${n.address}/24`,
                "",
                "source /etc/network/interfaces.d/*",
                "",
            ].join("\n"),
        );
        writeAtomic(path.join(root, "etc/machine-id"), `${crypto.randomBytes(16).toString("hex")}\n`, 0o444);
        writeAtomic(marker, `${n.name}\n`);
    }
}

/** Stop every lab node (also ones a lost state file forgot), unmount overlays, remove the bridge. */
export async function teardown(stateDir = LAB_STATE_DIR): Promise<void> {
    const known = new Map<number, string>();
    const sf = path.join(stateDir, "lab.json");
    if (fs.existsSync(sf)) {
        try {
            for (const [name, pid] of Object.entries((JSON.parse(fs.readFileSync(sf, "utf8")) as StateFile).pids)) known.set(pid, name);
        } catch {
            /* unreadable state: the /proc scan below still finds the nodes */
        }
    }
    if (fs.existsSync(stateDir)) for (const p of labNspawnPids(stateDir)) known.set(p.pid, p.machine);
    await Promise.all([...known].filter(([pid, name]) => processAlive(pid, isNspawnOf(name))).map(([pid, name]) => stopNspawn(pid, name)));
    for (const name of new Set(known.values())) removeNodeCgroups(name);
    if (fs.existsSync(stateDir)) for (const m of mountsUnder(path.join(stateDir, "nodes"))) mustRun(["umount", m]);
    deleteBridge();
    fs.rmSync(sf, { force: true });
}

function lock(stateDir: string): () => void {
    const file = path.join(stateDir, "lock");
    for (let i = 0; i < 2; i++) {
        try {
            fs.writeFileSync(file, String(process.pid), { flag: "wx", mode: 0o600 });
            return () => fs.rmSync(file, { force: true });
        } catch {
            const holder = Number(fs.readFileSync(file, "utf8"));
            if (holder && processAlive(holder, () => true)) throw new Error(`lab: ${file} is held by process ${holder}`);
            fs.rmSync(file, { force: true });
        }
    }
    throw new Error(`lab: cannot take ${file}`);
}

function ensureKey(file: string, comment: string): void {
    if (fs.existsSync(file) && fs.existsSync(`${file}.pub`)) return;
    fs.rmSync(file, { force: true });
    fs.rmSync(`${file}.pub`, { force: true });
    fs.mkdirSync(path.dirname(file), { recursive: true });
    if (path.basename(path.dirname(file)) === "keys") fs.chmodSync(path.dirname(file), 0o700);
    mustRun(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
    fs.chmodSync(file, 0o600);
}

/**
 * The running lab: reused when its state file says the same number of nodes all run; otherwise
 * stale state is cleaned (nodes stopped, overlays unmounted, bridge removed) and the nodes booted.
 * `fresh`: never reuse; every node starts from the cached root and /etc/pve starts empty (tests).
 */
export async function startLab(opts: { nodes?: number; stateDir?: string; fresh?: boolean } = {}): Promise<Lab> {
    const count = opts.nodes ?? 3;
    if (!Number.isInteger(count) || count < 1 || count > MAX_NODES) throw new Error(`startLab: nodes must be an integer from 1 to ${MAX_NODES}, got ${count}`);
    checkHost();
    const stateDir = opts.stateDir ?? LAB_STATE_DIR;
    // 0755: the nodes' overlays live below; the keys folder is 0700 and every key 0600.
    fs.mkdirSync(stateDir, { recursive: true });
    fs.chmodSync(stateDir, 0o755);
    const unlock = lock(stateDir);
    try {
        const root = ensureRoot();
        ensureKey(path.join(stateDir, "keys", "client_ed25519"), "pve-migration-lab client");
        for (let i = 0; i < count; i++) {
            ensureKey(path.join(stateDir, "nodes", nodeName(i), "ssh_host_ed25519_key"), `${nodeName(i)} host key (pve-migration-lab)`);
        }
        const deb = buildStandInDeb(path.join(stateDir, "debs"), LAB_VERSION, { variant: "lab" });
        const lab = new Lab(stateDir, count, root, deb);
        const sf = path.join(stateDir, "lab.json");
        if (!opts.fresh && fs.existsSync(sf)) {
            const s = JSON.parse(fs.readFileSync(sf, "utf8")) as StateFile;
            if (s.nodes === count && s.root === root.root && lab.nodes.every((n) => lab.isRunning(n.name))) return lab;
        }
        await teardown(stateDir);
        if (opts.fresh) {
            for (let i = 0; i < MAX_NODES; i++) {
                for (const d of ["upper", "work"]) fs.rmSync(path.join(stateDir, "nodes", nodeName(i), d), { recursive: true, force: true });
            }
            fs.rmSync(lab.pveDir, { recursive: true, force: true });
        }
        fs.mkdirSync(path.join(lab.pveDir, "nodes"), { recursive: true });
        for (const n of lab.nodes) fs.mkdirSync(path.join(lab.pveDir, "nodes", n.name), { recursive: true });
        createBridge();
        writeAtomic(sf, JSON.stringify({ nodes: count, root: root.root, pids: {} }, null, 2) + "\n", 0o600);
        try {
            await Promise.all(lab.nodes.map((n) => lab.startNode(n.name)));
        } catch (e) {
            await teardown(stateDir);
            throw e;
        }
        return lab;
    } finally {
        unlock();
    }
}
