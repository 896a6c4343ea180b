/**
 * `migration-ctl diagnostics`:
 *   diagnostics --stack S [--node N]... [--root-dir DIR] [--out DIR] [--label L] [--identity FILE]
 *   diagnostics compare A.tar.gz B.tar.gz [--json]
 *
 * Collect runs the rendered script (script.ts) for each node the way the stack's transport runs
 * a command outside Pulumi (components/node/capability.ts): bash against `<sandboxDir>/<node>`
 * (local), or over the system ssh binary with the host key pinned from the stack file, the
 * tarball fetched back with `ssh ... cat` (ssh). Bundles go to
 * `<--out or defaultBundleDir(stack)>/<node>-<UTC time>[-<label>].tar.gz` (outdir.ts: outside
 * the checkout unless --out says otherwise).
 *
 * Exit codes: 0 done; 1 a node's collection failed (the others are still collected);
 * 2 usage or stack config error.
 */
import * as path from "path";
import { parseArgs, str, list, bool, UsageError, FlagSpecs } from "../gates/argv";
import { NodeAccessError, NodeShell, transportCapability } from "../node/capability";
import { defaultBundleDir } from "./outdir";
import { renderDiagnosticsScript } from "./script";
import { compareBundles, formatComparison, BundleError } from "./compare";
import { NodeConfig, StackConfig, migrationConfigPath } from "../config/schema";
import { StackFileError, readStackConfig } from "../config/stackfile";

/** A node as the stack config names it (the one parse, components/config). */
type StackNode = Pick<NodeConfig, "name" | "address" | "port" | "sshUser" | "hostKey">;

export interface CommandIo {
    readonly stdout: (s: string) => void;
    readonly stderr: (s: string) => void;
}

const processIo: CommandIo = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

export const DIAGNOSTICS_USAGE = `usage: migration-ctl diagnostics --stack S [--node N]... [--root-dir DIR] [--out DIR] [--label L] [--identity FILE]
       migration-ctl diagnostics compare A.tar.gz B.tar.gz [--json]`;

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

const COLLECT_FLAGS: FlagSpecs = {
    stack: { kind: "string" },
    node: { kind: "list" },
    "root-dir": { kind: "string" },
    out: { kind: "string" },
    label: { kind: "string" },
    identity: { kind: "string" },
    help: { kind: "boolean" },
};

const COMPARE_FLAGS: FlagSpecs = { json: { kind: "boolean" }, help: { kind: "boolean" } };

/** `migration-ctl diagnostics ...`; returns the exit code. */
export async function diagnosticsCommand(argv: string[], io: CommandIo = processIo, cwd = process.cwd(), now: () => Date = () => new Date()): Promise<number> {
    try {
        if (argv[0] === "compare") {
            const p = parseArgs(argv.slice(1), COMPARE_FLAGS);
            if (bool(p, "help")) {
                io.stdout(DIAGNOSTICS_USAGE + "\n");
                return 0;
            }
            if (p.positionals.length !== 2) throw new UsageError("compare needs two bundles: compare A.tar.gz B.tar.gz");
            const [a, b] = p.positionals.map((x) => path.resolve(cwd, x));
            const c = compareBundles(a, b);
            io.stdout(bool(p, "json") ? JSON.stringify(c, null, 2) + "\n" : formatComparison(c));
            return 0;
        }
        const p = parseArgs(argv, COLLECT_FLAGS);
        if (bool(p, "help")) {
            io.stdout(DIAGNOSTICS_USAGE + "\n");
            return 0;
        }
        if (p.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(p.positionals[0])}`);
        const stack = str(p, "stack");
        if (stack === undefined) throw new UsageError("--stack: required");
        const rootDir = path.resolve(cwd, str(p, "root-dir") ?? ".");
        const sf = readStackConfig(rootDir, stack);

        const label = str(p, "label");
        if (label !== undefined && !/^[a-z0-9][a-z0-9-]{0,39}$/.test(label)) {
            throw new UsageError(`--label: must be lower-case letters, digits and '-' (got ${JSON.stringify(label)})`);
        }
        const wanted = list(p, "node");
        for (const w of wanted) {
            if (!sf.nodes.some((n) => n.name === w)) {
                throw new UsageError(`--node: ${JSON.stringify(w)} is not a node of stack ${stack} (${sf.nodes.map((n) => n.name).join(", ")})`);
            }
        }
        const nodes = wanted.length > 0 ? sf.nodes.filter((n) => wanted.includes(n.name)) : sf.nodes;
        const outFlag = str(p, "out");
        const outDir = path.resolve(cwd, outFlag ?? defaultBundleDir(stack));
        if (outFlag === undefined) io.stdout(`bundles: ${outDir} (outside the checkout, so never committed; --out DIR writes elsewhere)\n`);
        const identity = str(p, "identity");
        const when = now();
        let failed = 0;
        for (const node of nodes) {
            const out = path.join(outDir, bundleName(node.name, when, label));
            try {
                await collectNode(sf, node, out, { when, identity });
                io.stdout(`${node.name}: ${out}\n`);
            } catch (e) {
                if (e instanceof UsageError) throw e;
                failed++;
                io.stderr(`diagnostics: ${node.name}: ${(e as Error).message}\n`);
            }
        }
        return failed > 0 ? 1 : 0;
    } catch (e) {
        if (e instanceof UsageError || e instanceof StackFileError || e instanceof BundleError) {
            io.stderr(`diagnostics: ${e.message}\n${e instanceof UsageError ? DIAGNOSTICS_USAGE + "\n" : ""}`);
            return 2;
        }
        throw e;
    }
}
