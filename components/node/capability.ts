/**
 * What a transport can do, apart from the Pulumi resources it creates (transport.ts): where
 * the package step finds a .deb that comes from a local file, whether it is copied to the node
 * first, where a node's root is, whether the cluster filesystem is a real pmxcfs, and how to
 * run a command on a node outside Pulumi (diagnostics bundles). Only this module and the
 * transport's own code (transport.ts) and the config schema look at `transport: ssh | local`;
 * everything else asks the capability.
 *
 * No Pulumi here: the step catalogue, the sandbox runner and the operator tools load it.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** A node as the operator tools reach it (the stack file's `nodes[]` entry). */
export interface ShellNode {
    readonly name: string;
    readonly address?: string;
    readonly port: number;
    readonly sshUser: string;
    readonly hostKey?: string;
}

export interface ShellOptions {
    /** The stack's sandbox folder (absolute; transport local). */
    readonly sandboxDir?: string;
    /** SSH private key file (`ssh -i`); default: the operator's ssh configuration. */
    readonly identity?: string;
    /** Seconds for the TCP connect (`ssh -o ConnectTimeout`; default 10). */
    readonly connectTimeout?: number;
    /** A known_hosts file that already pins the node's key (pure uses); default: a temp file written with `hostKey`. */
    readonly knownHostsFile?: string;
}

export interface ShellResult {
    readonly code: number | null;
    readonly stdout: Buffer;
    readonly stderr: string;
}

/** A program and its arguments, run without a shell. */
export interface ShellCommand {
    readonly file: string;
    readonly args: string[];
}

/** Running commands on one node outside Pulumi. */
export interface NodeShell {
    /** The node's root as node-side scripts see it: "/" on a node, the sandbox root. */
    readonly root: string;
    /** The node is reached over the network (SSH). */
    readonly remote: boolean;
    /** Node path `p` as a command run through this shell names it (under the sandbox root, or `p`). */
    nodePath(p: string): string;
    /** The command that runs `words` on the node (every word quoted on the remote side; `sudo -n` for a non-root user); under GNU timeout when `timeLimit` is given (SIGKILL 10 s later). */
    command(words: readonly string[], timeLimit?: number): ShellCommand;
    /** Run `words` on the node with `stdin`. */
    run(words: readonly string[], stdin: string, timeLimit?: number): Promise<ShellResult>;
    /** Where a command on the node writes a file that is to end up at the local path `out` (`out` itself for a sandbox). */
    stagingPath(out: string, name: string): string;
    /** Bring the file at `staged` (from stagingPath) to `out` (atomically, mode 0600) and remove it from the node; nothing for a sandbox. */
    retrieve(staged: string, out: string): Promise<void>;
    /** Remove what the shell made locally (the known_hosts file). */
    close(): void;
}

/** A node or stack file lacks what its transport needs (the message names the key). */
export class NodeAccessError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "NodeAccessError";
    }
}

export interface TransportCapability {
    readonly name: "ssh" | "local";
    /** Where the package step reads a .deb that comes from a local file (`package.path`). */
    debPath(pkg: { readonly version: string; readonly path?: string }): string;
    /** A .deb from a local file is copied to the node before the package step. */
    readonly copiesDeb: boolean;
    /** The cluster filesystem is a real pmxcfs, whose quorum the config step checks. */
    readonly clusterQuorum: boolean;
    /** Hosts are reached over the network: each needs an address, a pinned host key and an SSH key. */
    readonly remote: boolean;
    /** The root of node (or host) `name`: "/" on a real node, `<sandboxDir>/<name>` in a sandbox. */
    nodeRoot(sandboxDir: string | undefined, name: string): string;
    /** Run commands on a node outside Pulumi. */
    shell(node: ShellNode, o?: ShellOptions): NodeShell;
}

/** Where the .deb is put on a node reached over SSH (CopyToRemote); the package step then copies it into its own cache. */
export function remoteDebPath(version: string): string {
    return `/var/tmp/pve-network-rs_${version}_amd64.deb`;
}

/** Single-quote a word for a POSIX shell. */
function shQuote(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

const bounded = (words: readonly string[], timeLimit?: number) => (timeLimit === undefined ? [...words] : ["timeout", "-k", "10", String(timeLimit), ...words]);

function runCommand(c: ShellCommand, stdin: string): Promise<ShellResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(c.file, c.args, { stdio: ["pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        let err = "";
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d) => (err += d));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
        child.stdin.end(stdin);
    });
}

/** Write `data` to `file` atomically: a temp file in the same folder, fsync, rename. */
function writeAtomic(file: string, data: Buffer, mode: number): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}-${Date.now()}`);
    const fd = fs.openSync(tmp, "wx", mode);
    try {
        fs.writeSync(fd, data);
        fs.fsyncSync(fd);
    } finally {
        fs.closeSync(fd);
    }
    try {
        fs.renameSync(tmp, file);
    } catch (e) {
        fs.rmSync(tmp, { force: true });
        throw e;
    }
}

function localShell(node: ShellNode, o: ShellOptions): NodeShell {
    if (o.sandboxDir === undefined) throw new NodeAccessError(`node ${node.name}: pve-migration:sandboxDir is required with transport local`);
    const root = path.join(o.sandboxDir, node.name);
    if (!fs.statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
        throw new NodeAccessError(`node ${node.name}: sandbox root ${root} (pve-migration:sandboxDir/<node>) is not a folder`);
    }
    const command = (words: readonly string[], timeLimit?: number): ShellCommand => {
        const w = bounded(words, timeLimit);
        return { file: w[0], args: w.slice(1) };
    };
    return {
        root,
        remote: false,
        nodePath: (p) => root + p,
        command,
        run: (words, stdin, timeLimit) => runCommand(command(words, timeLimit), stdin),
        stagingPath: (out) => out,
        retrieve: async () => undefined,
        close: () => undefined,
    };
}

function sshShell(node: ShellNode, o: ShellOptions): NodeShell {
    if (node.address === undefined) throw new NodeAccessError(`node ${node.name}: pve-migration:nodes[].address is required with transport ssh`);
    if (node.hostKey === undefined)
        throw new NodeAccessError(`node ${node.name}: pve-migration:nodes[].hostKey is required with transport ssh (host keys are pinned)`);
    let tmp: string | undefined;
    let knownHostsFile = o.knownHostsFile;
    if (knownHostsFile === undefined) {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pve-ssh-"));
        knownHostsFile = path.join(tmp, "known_hosts");
        const host = node.port === 22 ? node.address : `[${node.address}]:${node.port}`;
        fs.writeFileSync(knownHostsFile, `${host} ${node.hostKey}\n`, { mode: 0o600 });
    }
    const base = [
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        `UserKnownHostsFile=${knownHostsFile}`,
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        `ConnectTimeout=${o.connectTimeout ?? 10}`,
        "-p",
        String(node.port),
        ...(o.identity ? ["-i", o.identity, "-o", "IdentitiesOnly=yes"] : []),
        "-l",
        node.sshUser,
        "--",
        node.address,
    ];
    const sudo = node.sshUser === "root" ? [] : ["sudo", "-n"];
    // sshd runs the command through the user's shell: one line of quoted words only.
    const command = (words: readonly string[], timeLimit?: number): ShellCommand => ({
        file: "ssh",
        args: [...base, [...sudo, ...bounded(words, timeLimit)].map(shQuote).join(" ")],
    });
    const run = (words: readonly string[], stdin: string, timeLimit?: number) => runCommand(command(words, timeLimit), stdin);
    return {
        root: "/",
        remote: true,
        nodePath: (p) => p,
        command,
        run,
        stagingPath: (_out, name) => `/var/tmp/${name}`,
        async retrieve(staged, out) {
            const f = await run(["cat", "--", staged], "");
            if (f.code !== 0) throw new Error(`fetching ${staged} failed (exit ${f.code}): ${f.stderr.trim()}`);
            writeAtomic(out, f.stdout, 0o600);
            await run(["rm", "-f", "--", staged], "");
        },
        close() {
            if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
        },
    };
}

const LOCAL: TransportCapability = {
    name: "local",
    debPath: (pkg) => {
        if (pkg.path === undefined) throw new Error("pve-migration:package.path: required for a .deb read from a local file");
        return pkg.path;
    },
    copiesDeb: false,
    clusterQuorum: false,
    remote: false,
    nodeRoot: (sandboxDir, name) => {
        if (sandboxDir === undefined) throw new Error("pve-migration:sandboxDir: required with transport local");
        return path.join(sandboxDir, name);
    },
    shell: (node, o = {}) => localShell(node, o),
};

const SSH: TransportCapability = {
    name: "ssh",
    debPath: (pkg) => remoteDebPath(pkg.version),
    copiesDeb: true,
    clusterQuorum: true,
    remote: true,
    nodeRoot: () => "/",
    shell: (node, o = {}) => sshShell(node, o),
};

/** The capability of a stack's transport (`pve-migration:transport`, default ssh). */
export function transportCapability(cfg: { readonly transport?: "ssh" | "local" }): TransportCapability {
    return cfg.transport === "local" ? LOCAL : SSH;
}
