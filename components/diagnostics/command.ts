/**
 * `migration-ctl diagnostics collect|compare` (declared in cli/migration-ctl/diagnostics.ts):
 *   diagnostics collect --stack S [--node N]... [--root-dir DIR] [--out DIR] [--label L] [--identity FILE]
 *   diagnostics compare A.tar.gz B.tar.gz [--json]
 *
 * Collect runs the rendered script (script.ts) for each node: for transport `local` with bash
 * against `<sandboxDir>/<node>`; for transport `ssh` over the system ssh binary
 * (`bash -s -- <quoted args>`, the script on stdin, the host key pinned from the stack file),
 * then fetches the tarball back with `ssh ... cat`. Bundles go to
 * `<root-dir>/stacks/evidence/<stack>/diagnostics/<node>-<UTC time>[-<label>].tar.gz`.
 *
 * Exit codes (migration-ctl's): 0 done; 1 a node's collection failed (the others are still
 * collected); 2 usage error; 6 invalid stack config.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CliError, EXIT, UsageError } from "../../cli/errors";
import { writeFileAtomic } from "../gates/files";
import { renderDiagnosticsScript } from "./script";
import { compareBundles, formatComparison, BundleError } from "./compare";
import { readStackFile, nodeMigrationConfigPath, StackFile, StackFileError, StackNode } from "./stackfile";

export interface CommandIo {
    readonly stdout: (s: string) => void;
    readonly stderr: (s: string) => void;
}

const processIo: CommandIo = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

/** Single-quote a word for a POSIX shell. */
export function shQuote(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** UTC time as 20240501T100000Z (file-name safe, sorts by time). */
export function stamp(d: Date): string {
    return d.toISOString().replace(/\.\d{3}Z$/, "Z").replace(/[-:]/g, "");
}

export function bundleName(node: string, when: Date, label?: string): string {
    return `${node}-${stamp(when)}${label ? `-${label}` : ""}.tar.gz`;
}

/**
 * Seconds a collection may take on a node, enforced there by GNU timeout (SIGKILL 10 s later):
 * an ssh session alone is not bounded (components/node/transport.ts).
 */
export const COLLECT_TIME_LIMIT_SECONDS = 300;
const BOUNDED = ["timeout", "-k", "10", String(COLLECT_TIME_LIMIT_SECONDS)];

/** Arguments of the rendered script for one node. */
export function scriptArgs(root: string, node: string, phaseFile: string, out: string): string[] {
    return ["--root", root, "--node", node, "--phase-file", phaseFile, "--out", out];
}

export interface SshPlan {
    /** known_hosts line pinning the node's host key. */
    readonly knownHosts: string;
    /** ssh argv (without the binary) that runs the script read from stdin. */
    readonly collect: string[];
    /** ssh argv that writes the remote tarball to stdout. */
    readonly fetch: string[];
    /** ssh argv that removes the remote tarball. */
    readonly cleanup: string[];
    readonly remoteOut: string;
}

/**
 * The ssh commands for one node (pure). The remote command line is built from quoted words
 * only; a non-root user runs it through `sudo -n`.
 */
export function sshPlan(
    n: StackNode,
    o: { phaseFile: string; when: Date; knownHostsFile: string; identity?: string; connectTimeout?: number },
): SshPlan {
    if (n.address === undefined) throw new UsageError(`node ${n.name}: pve-migration:nodes[].address is required with transport ssh`);
    if (n.hostKey === undefined) throw new UsageError(`node ${n.name}: pve-migration:nodes[].hostKey is required with transport ssh (host keys are pinned)`);
    const host = n.port === 22 ? n.address : `[${n.address}]:${n.port}`;
    const remoteOut = `/var/tmp/pve-diagnostics-${n.name}-${stamp(o.when)}.tar.gz`;
    const base = [
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", `UserKnownHostsFile=${o.knownHostsFile}`,
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", `ConnectTimeout=${o.connectTimeout ?? 10}`,
        "-p", String(n.port),
        ...(o.identity ? ["-i", o.identity, "-o", "IdentitiesOnly=yes"] : []),
        "-l", n.sshUser,
        "--", n.address,
    ];
    const sudo = n.sshUser === "root" ? [] : ["sudo", "-n"];
    const remote = (words: string[]) => [...sudo, ...words].map(shQuote).join(" ");
    return {
        knownHosts: `${host} ${n.hostKey}\n`,
        collect: [...base, remote([...BOUNDED, "bash", "-s", "--", ...scriptArgs("/", n.name, o.phaseFile, remoteOut)])],
        fetch: [...base, remote(["cat", "--", remoteOut])],
        cleanup: [...base, remote(["rm", "-f", "--", remoteOut])],
        remoteOut,
    };
}

interface RunResult {
    readonly code: number | null;
    readonly stdout: Buffer;
    readonly stderr: string;
}

function run(cmd: string, args: string[], stdin: string, env?: NodeJS.ProcessEnv): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: env ?? process.env });
        const out: Buffer[] = [];
        let err = "";
        child.stdout.on("data", (d: Buffer) => out.push(d));
        child.stderr.on("data", (d) => (err += d));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err }));
        child.stdin.end(stdin);
    });
}

/** Collect one node's bundle to `out` (absolute). Throws Error with the reason. */
export async function collectNode(sf: StackFile, node: StackNode, out: string, o: { when: Date; identity?: string }): Promise<void> {
    const phasePath = nodeMigrationConfigPath(sf, node.name);
    const script = renderDiagnosticsScript();
    if (sf.transport === "local") {
        const root = path.join(sf.sandboxDir!, node.name);
        if (!fs.statSync(root, { throwIfNoEntry: false })?.isDirectory()) {
            throw new UsageError(`node ${node.name}: sandbox root ${root} (pve-migration:sandboxDir/<node>) is not a folder`);
        }
        const r = await run(BOUNDED[0], [...BOUNDED.slice(1), "bash", "-s", "--", ...scriptArgs(root, node.name, root + phasePath, out)], script);
        if (r.code !== 0) throw new Error(`collection failed (exit ${r.code}): ${r.stderr.trim()}`);
        return;
    }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pve-diag-ssh-"));
    try {
        const knownHostsFile = path.join(tmp, "known_hosts");
        const plan = sshPlan(node, { phaseFile: phasePath, when: o.when, knownHostsFile, identity: o.identity });
        fs.writeFileSync(knownHostsFile, plan.knownHosts, { mode: 0o600 });
        const c = await run("ssh", plan.collect, script);
        if (c.code !== 0) throw new Error(`remote collection failed (exit ${c.code}): ${c.stderr.trim()}`);
        const f = await run("ssh", plan.fetch, "");
        if (f.code !== 0) throw new Error(`fetching ${plan.remoteOut} failed (exit ${f.code}): ${f.stderr.trim()}`);
        writeFileAtomic(out, f.stdout, 0o600);
        await run("ssh", plan.cleanup, "");
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

export interface CollectOptions {
    readonly stack: string;
    /** Folder holding stacks/ (absolute). */
    readonly rootDir: string;
    /** Nodes to collect; empty: every node of the stack. */
    readonly nodes: readonly string[];
    /** Bundle folder (absolute); default <rootDir>/stacks/evidence/<stack>/diagnostics. */
    readonly outDir?: string;
    readonly label?: string;
    readonly identity?: string;
    readonly when: Date;
}

/** `migration-ctl diagnostics collect`: one bundle per node; returns 0, or 1 when a node failed. */
export async function collectDiagnostics(o: CollectOptions, io: CommandIo = processIo): Promise<number> {
    let sf: StackFile;
    try {
        sf = readStackFile(o.rootDir, o.stack);
    } catch (e) {
        if (e instanceof StackFileError) throw new CliError(EXIT.INVALID_CONFIG, e.message);
        throw e;
    }
    if (o.label !== undefined && !/^[a-z0-9][a-z0-9-]{0,39}$/.test(o.label)) {
        throw new UsageError(`--label: must be lower-case letters, digits and '-' (got ${JSON.stringify(o.label)})`);
    }
    for (const w of o.nodes) {
        if (!sf.nodes.some((n) => n.name === w)) {
            throw new UsageError(`--node: ${JSON.stringify(w)} is not a node of stack ${o.stack} (${sf.nodes.map((n) => n.name).join(", ")})`);
        }
    }
    const nodes = o.nodes.length > 0 ? sf.nodes.filter((n) => o.nodes.includes(n.name)) : sf.nodes;
    const outDir = o.outDir ?? path.join(o.rootDir, "stacks", "evidence", o.stack, "diagnostics");
    let failed = 0;
    for (const node of nodes) {
        const out = path.join(outDir, bundleName(node.name, o.when, o.label));
        try {
            await collectNode(sf, node, out, { when: o.when, identity: o.identity });
            io.stdout(`${node.name}: ${out}\n`);
        } catch (e) {
            if (e instanceof UsageError) throw e;
            failed++;
            io.stderr(`diagnostics: ${node.name}: ${(e as Error).message}\n`);
        }
    }
    return failed > 0 ? 1 : 0;
}

/** `migration-ctl diagnostics compare A B`: what changed between two bundles (absolute paths). */
export function compareDiagnostics(a: string, b: string, json: boolean, io: CommandIo = processIo): number {
    try {
        const c = compareBundles(a, b);
        io.stdout(json ? JSON.stringify(c, null, 2) + "\n" : formatComparison(c));
        return 0;
    } catch (e) {
        if (e instanceof BundleError) throw new UsageError(e.message);
        throw e;
    }
}
