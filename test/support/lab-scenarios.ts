/**
 * Helpers for the scenario tests on the node lab (test/lab/*.test.ts): the project's program
 * through the replay of registered resources (a stand-in for the Pulumi engine and
 * @pulumi/command, test/support/replay) against the lab's real nspawn nodes over OpenSSH.
 */
import { STEP_KINDS } from "../../components/steps";
import * as crypto from "crypto";
import { Lab, SUDO_USER } from "../../lab";
import { ReplayState } from "./replay";
import { Up, up } from "./program-replay";

export const PROJECT_DIR = process.cwd();
export const STACK = "lab";

export async function ok(lab: Lab, node: string, argv: string[], opts: { user?: string; input?: string } = {}): Promise<string> {
    const r = await lab.exec(node, argv, opts);
    if (r.code !== 0) throw new Error(`${node}: ${argv.join(" ")} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
}

export const sh = (script: string, ...args: string[]) => ["sh", "-c", script, "sh", ...args];

export interface UnitState {
    readonly pid: number;
    /** ActiveEnterTimestampMonotonic, microseconds (0: never active). */
    readonly since: number;
    readonly active: string;
    readonly enabled: string;
}

/** `systemctl show` of one unit on a node: MainPID, ActiveEnterTimestampMonotonic, ActiveState, UnitFileState. */
export async function unit(lab: Lab, node: string, name: string): Promise<UnitState> {
    return parseShow(await ok(lab, node, ["systemctl", "show", "-p", "MainPID,ActiveEnterTimestampMonotonic,ActiveState,UnitFileState", "--", name]));
}

function parseShow(out: string): UnitState {
    const kv = Object.fromEntries(
        out
            .trim()
            .split("\n")
            .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
    );
    return { pid: Number(kv.MainPID), since: Number(kv.ActiveEnterTimestampMonotonic), active: kv.ActiveState, enabled: kv.UnitFileState };
}

export interface Probe {
    /** By unit name, in one `systemctl show` (see `unit`). */
    readonly units: Record<string, UnitState>;
    /** The node's migration.log, parsed (see `migrationLog`). */
    readonly log: LogLine[];
}

const PROBE_SCRIPT =
    'log=$1; shift; systemctl show -p MainPID,ActiveEnterTimestampMonotonic,ActiveState,UnitFileState -- "$@"; echo "@@log"; cat -- "$log" 2>/dev/null || true';

/** Units and migration.log of one node in one ssh session. */
export async function probe(lab: Lab, node: string, units: readonly string[]): Promise<Probe> {
    const out = await ok(lab, node, sh(PROBE_SCRIPT, MIGRATION_LOG, ...units));
    const [show, log] = out.split("@@log\n");
    const blocks = show.trim().split(/\n\n+/);
    if (blocks.length !== units.length) throw new Error(`${node}: systemctl show gave ${blocks.length} blocks for ${units.length} units`);
    return {
        units: Object.fromEntries(units.map((u, i) => [u, parseShow(blocks[i])])),
        log: parseLog(node, log ?? ""),
    };
}

/** `probe` of every node, in parallel. */
export async function probeAll(lab: Lab, units: readonly string[]): Promise<Record<string, Probe>> {
    return Object.fromEntries(await Promise.all(lab.nodes.map(async (n) => [n.name, await probe(lab, n.name, units)])));
}

export interface StackOptions {
    readonly phase: string;
    /** Nodes reached as the sudo user (`sudo -n`) instead of root. */
    readonly sudoNodes?: readonly string[];
    /** Extra config keys (objects are JSON-encoded). */
    readonly extra?: Record<string, unknown>;
}

/** The lab's stack config for `phase`, some nodes as the sudo user, extra keys merged in. */
export function stackValues(lab: Lab, o: StackOptions): { values: Record<string, string>; secretKeys: string[] } {
    const { values, secretKeys } = lab.stackConfig({ phase: o.phase });
    const nodes = (JSON.parse(values.nodes) as { name: string; sshUser: string }[]).map((n) => (o.sudoNodes?.includes(n.name) ? { ...n, sshUser: SUDO_USER } : n));
    const extra = Object.fromEntries(Object.entries(o.extra ?? {}).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
    return { values: { ...values, nodes: JSON.stringify(nodes), ...extra }, secretKeys };
}

/** One `pulumi up` of the lab stack through the replay of registered resources. */
export async function upLab(lab: Lab, o: StackOptions & { state?: ReplayState; stepCapMs?: number }): Promise<Up> {
    const { values, secretKeys } = stackValues(lab, o);
    return up({ projectDir: PROJECT_DIR, stack: STACK, values, secretKeys, state: o.state, stepCapMs: o.stepCapMs });
}

/** Node step kinds, longest first (a command's name lists its kinds joined by "-", and legacy-apply holds one). */
const KINDS_LONGEST_FIRST = [...STEP_KINDS].sort((x, y) => y.length - x.length);

/** The step kinds a command's name lists after its node (`services-legacy-apply-verify` -> services, legacy-apply, verify). */
function kindsIn(rest: string): string[] | undefined {
    const out: string[] = [];
    while (rest !== "") {
        const k = KINDS_LONGEST_FIRST.find((x) => rest === x || rest.startsWith(`${x}-`));
        if (k === undefined) return undefined;
        out.push(k);
        rest = rest.slice(k.length + 1);
    }
    return out;
}

/**
 * Where a command resource's steps run and which steps they are: `<node>-<kind>-<kind>...` on
 * that node (components/plan planCommands); `<cluster>-cluster-<step>` (cluster-wide config /
 * restore) on the writer node (the first node). Undefined for resources that log no step (the
 * .deb copy, the step library copy, the transition record).
 */
export function stepsOf(lab: Lab, cluster: string, resource: string): { node: string; steps: string[] } | undefined {
    if (resource.endsWith("-deb") || resource.endsWith("-step-library") || resource.endsWith("-transition")) return undefined;
    if (resource.startsWith(`${cluster}-cluster-`)) return { node: lab.nodes[0].name, steps: [resource.slice(`${cluster}-cluster-`.length)] };
    const n = lab.nodes.find((x) => resource.startsWith(`${x.name}-`));
    const kinds = n ? kindsIn(resource.slice(n.name.length + 1)) : undefined;
    return n && kinds ? { node: n.name, steps: kinds } : undefined;
}

/** Steps per node whose command ran in this run (sorted), from the replay's ops. */
export function ranSteps(lab: Lab, cluster: string, r: Up): Record<string, string[]> {
    const out: Record<string, string[]> = Object.fromEntries(lab.nodes.map((n) => [n.name, [] as string[]]));
    for (const name of r.ran) {
        const s = stepsOf(lab, cluster, name);
        if (s) out[s.node].push(...s.steps);
    }
    for (const k of Object.keys(out)) out[k].sort();
    return out;
}

export interface LogLine {
    readonly node: string;
    readonly from: string;
    readonly to: string;
    readonly step: string;
    readonly result: string;
    readonly detail: string;
}

export const MIGRATION_LOG = "/var/log/pve-network/migration.log";
const LOG_RE = /^\S+ node=(\S+) from=(\S+) to=(\S+) step=(\S+) result=(\S+) detail=(.*)$/;

/** The node's /var/log/pve-network/migration.log, parsed (a line that does not parse fails). */
export async function migrationLog(lab: Lab, node: string): Promise<LogLine[]> {
    const r = await lab.exec(node, ["cat", MIGRATION_LOG]);
    return r.code === 0 ? parseLog(node, r.stdout) : [];
}

function parseLog(node: string, text: string): LogLine[] {
    return text
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => {
            const m = LOG_RE.exec(l);
            if (!m) throw new Error(`${node}: migration.log line does not parse: ${l}`);
            return { node: m[1], from: m[2], to: m[3], step: m[4], result: m[5], detail: m[6] };
        });
}

export const sha256 = (s: string | Buffer) => crypto.createHash("sha256").update(s).digest("hex");

/** Milliseconds `fn` took, with its result. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
    const t = Date.now();
    const value = await fn();
    return { ms: Date.now() - t, value };
}
