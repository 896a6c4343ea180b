/**
 * `migration-ctl drift --stack S` (README "Drift"): under Pulumi a `pulumi up` with no change runs
 * no step, so nothing notices a node that drifted from what the stack deployed. This runs verify's
 * own checks on every node, read only (components/scripts renderDriftScript: no lock, no write, no
 * log line), over the stack's transport, against the phase the stack deployed (its outputs when
 * known, else its configured phase, said so): the phase the node last verified, the package, the
 * migration config, the units, a pending interfaces.new, the running network, and the site's verify
 * command. Exit 0 in step, 12 drift, 1 a node not read.
 */
import type { StackConfig } from "../config/schema";
import { NodeAccessError, NodeShell, transportCapability } from "../node/capability";
import { Phase } from "../phases";
import { renderDriftScript, stepArgv } from "../scripts";
import { stepArgs } from "../steps";

/** Seconds the check may take on a node (GNU timeout there): verify's own checks, ifquery, the site command. */
export const DRIFT_TIME_LIMIT_SECONDS = 300;

export interface NodeDrift {
    readonly node: string;
    /** The phase the node last verified ("" none). */
    readonly lastVerified?: string;
    /** What differs (empty: in step). */
    readonly drift?: readonly string[];
    /** The node could not be read. */
    readonly error?: string;
}

export function parseDriftOutput(node: string, stdout: string): NodeDrift {
    const drift: string[] = [];
    let last: string | undefined;
    for (const line of stdout.split("\n")) {
        if (line === "") continue;
        if (line.startsWith("phase ")) last = line.slice(6) === "-" ? "" : line.slice(6);
        else if (line.startsWith("drift ")) drift.push(line.slice(6));
        else throw new Error(`unexpected line from the drift check: ${JSON.stringify(line.slice(0, 80))}`);
    }
    if (last === undefined) throw new Error("the drift check named no phase");
    return { node, lastVerified: last, drift };
}

/** Check one node against `phase`. Never throws for the node's sake. */
export async function driftOfNode(cfg: StackConfig, nodeName: string, phase: Phase, o: { identity?: string }): Promise<NodeDrift> {
    const node = cfg.nodes.find((n) => n.name === nodeName);
    if (!node) throw new Error(`no node ${nodeName}`);
    let shell: NodeShell;
    try {
        shell = transportCapability(cfg).shell(node, { sandboxDir: cfg.sandboxDir, identity: o.identity });
    } catch (e) {
        if (e instanceof NodeAccessError) return { node: node.name, error: e.message };
        throw e;
    }
    try {
        // Exactly the verify step's arguments for this phase (the step catalogue), the root as the shell sees it.
        const a = stepArgs({ cfg, node, from: phase, to: phase }, "verify");
        const { transition: _t, ...options } = a.options;
        void _t;
        const argv = stepArgv({ options: { ...options, root: shell.root }, argv: a.argv });
        const r = await shell.run(["bash", "-s", "--", ...argv], renderDriftScript(), DRIFT_TIME_LIMIT_SECONDS);
        if (r.code !== 0)
            return {
                node: node.name,
                error: `${shell.remote ? "reading the node over ssh" : "reading the sandbox root"} failed (exit ${r.code}): ${r.stderr.trim()}`,
            };
        try {
            return parseDriftOutput(node.name, r.stdout.toString("utf8"));
        } catch (e) {
            return { node: node.name, error: (e as Error).message };
        }
    } finally {
        shell.close();
    }
}

export async function driftOfStack(cfg: StackConfig, phase: Phase, o: { identity?: string }): Promise<NodeDrift[]> {
    const out: NodeDrift[] = [];
    for (const n of cfg.nodes) out.push(await driftOfNode(cfg, n.name, phase, o));
    return out;
}

export function renderDrift(stack: string, phase: Phase, phaseSource: string, nodes: readonly NodeDrift[]): string {
    const lines = [`drift of ${stack} against ${phase} (${phaseSource}):`];
    for (const n of nodes) {
        if (n.error !== undefined) lines.push(`  ${n.node}: not read: ${n.error}`);
        else if ((n.drift ?? []).length === 0) lines.push(`  ${n.node}: in step`);
        else lines.push(`  ${n.node}: drifted`, ...(n.drift ?? []).map((d) => `    ${d}`));
    }
    const drifted = nodes.filter((n) => (n.drift ?? []).length > 0).length;
    const unread = nodes.filter((n) => n.error !== undefined).length;
    lines.push(`result: ${drifted} of ${nodes.length} node(s) drifted${unread > 0 ? `, ${unread} not read` : ""}`);
    return lines.join("\n") + "\n";
}
