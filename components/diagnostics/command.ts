/**
 * `migration-ctl diagnostics collect|compare` (declared in cli/migration-ctl/diagnostics.ts):
 *   diagnostics collect --stack S [--node N]... [--root-dir DIR] [--out DIR] [--label L] [--identity FILE]
 *   diagnostics compare A.tar.gz B.tar.gz [--json]
 *
 * Collect runs the rendered script (script.ts) for each node the way the stack's transport runs
 * a command outside Pulumi (components/node/capability.ts): bash against `<sandboxDir>/<node>`
 * (local), or over the system ssh binary with the host key pinned from the stack file, the
 * tarball fetched back with `ssh ... cat` (ssh). Bundles go to
 * `<--out or defaultBundleDir(stack)>/<node>-<UTC time>[-<label>].tar.gz` (outdir.ts: outside
 * the checkout unless --out says otherwise).
 *
 * Exit codes (migration-ctl's): 0 done; 1 a node's collection failed (the others are still
 * collected); 2 usage error; 3 no such stack file; 5 malformed YAML; 6 invalid stack config; 9 the
 * stack file could not be read.
 */
import * as path from "path";
import { CliError, UsageError } from "../../cli/errors";
import { NodeAccessError, NodeShell, transportCapability } from "../node/capability";
import { defaultBundleDir } from "./outdir";
import { renderDiagnosticsScript } from "../scripts/diagnostics";
import { compareBundles, formatComparison, BundleError } from "./compare";
import { NodeConfig, StackConfig, migrationConfigPath } from "../config/schema";
import { STACK_NAME_RE, StackFileError, readStackConfig, stackFileExitCode } from "../config/stackfile";

/** A node as the stack config names it (the one parse, components/config). */
type StackNode = Pick<NodeConfig, "name" | "address" | "port" | "sshUser" | "hostKey">;

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
    return d
        .toISOString()
        .replace(/\.\d{3}Z$/, "Z")
        .replace(/[-:]/g, "");
}

export function bundleName(node: string, when: Date, label?: string): string {
    return `${node}-${stamp(when)}${label ? `-${label}` : ""}.tar.gz`;
}

/**
 * Seconds a collection may take on a node, enforced there by GNU timeout (SIGKILL 10 s later):
 * an ssh session alone is not bounded (components/node/transport.ts).
 */
export const COLLECT_TIME_LIMIT_SECONDS = 300;

/** Arguments of the rendered script for one node. */
export function scriptArgs(root: string, node: string, phaseFile: string, out: string): string[] {
    return ["--root", root, "--node", node, "--phase-file", phaseFile, "--out", out];
}

/**
 * Collect one node's bundle to `out` (absolute), through the transport's way of running a
 * command outside Pulumi (components/node/capability.ts): bash with the script on stdin, on the
 * node under GNU timeout, the bundle brought back when the node is remote. Throws Error with
 * the reason; UsageError when the stack file lacks what the transport needs.
 */
export async function collectNode(cfg: StackConfig, node: StackNode, out: string, o: { when: Date; identity?: string }): Promise<void> {
    const phasePath = migrationConfigPath(cfg, node.name);
    const script = renderDiagnosticsScript();
    let shell: NodeShell;
    try {
        shell = transportCapability(cfg).shell(node, { sandboxDir: cfg.sandboxDir, identity: o.identity });
    } catch (e) {
        if (e instanceof NodeAccessError) throw new UsageError(e.message);
        throw e;
    }
    try {
        const staged = shell.stagingPath(out, `pve-diagnostics-${node.name}-${stamp(o.when)}.tar.gz`);
        const c = await shell.run(["bash", "-s", "--", ...scriptArgs(shell.root, node.name, shell.nodePath(phasePath), staged)], script, COLLECT_TIME_LIMIT_SECONDS);
        if (c.code !== 0) throw new Error(`${shell.remote ? "remote collection" : "collection"} failed (exit ${c.code}): ${c.stderr.trim()}`);
        await shell.retrieve(staged, out);
    } finally {
        shell.close();
    }
}

export interface CollectOptions {
    readonly stack: string;
    /** Folder holding stacks/ (absolute). */
    readonly rootDir: string;
    /** Nodes to collect; empty: every node of the stack. */
    readonly nodes: readonly string[];
    /** Bundle folder (absolute); default defaultBundleDir(stack), outside the checkout (outdir.ts). */
    readonly outDir?: string;
    readonly label?: string;
    readonly identity?: string;
    readonly when: Date;
}

/** `migration-ctl diagnostics collect`: one bundle per node; returns 0, or 1 when a node failed. */
export async function collectDiagnostics(o: CollectOptions, io: CommandIo = processIo): Promise<number> {
    if (!STACK_NAME_RE.test(o.stack)) throw new UsageError(`--stack: ${JSON.stringify(o.stack)} is not a stack name`);
    let cfg: StackConfig;
    try {
        cfg = readStackConfig(o.rootDir, o.stack);
    } catch (e) {
        if (e instanceof StackFileError) throw new CliError(stackFileExitCode(e), e.message);
        throw e;
    }
    if (o.label !== undefined && !/^[a-z0-9][a-z0-9-]{0,39}$/.test(o.label)) {
        throw new UsageError(`--label: must be lower-case letters, digits and '-' (got ${JSON.stringify(o.label)})`);
    }
    for (const w of o.nodes) {
        if (!cfg.nodes.some((n) => n.name === w)) {
            throw new UsageError(`--node: ${JSON.stringify(w)} is not a node of stack ${o.stack} (${cfg.nodes.map((n) => n.name).join(", ")})`);
        }
    }
    const nodes = o.nodes.length > 0 ? cfg.nodes.filter((n) => o.nodes.includes(n.name)) : cfg.nodes;
    const outDir = o.outDir ?? defaultBundleDir(o.stack);
    if (o.outDir === undefined) io.stdout(`bundles: ${outDir} (outside the checkout, so never committed; --out DIR writes elsewhere)\n`);
    let failed = 0;
    for (const node of nodes) {
        const out = path.join(outDir, bundleName(node.name, o.when, o.label));
        try {
            await collectNode(cfg, node, out, { when: o.when, identity: o.identity });
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
