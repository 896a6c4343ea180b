/**
 * Figure 7: a bad network apply on the node lab, and how soon the node answers a new SSH
 * connection again (the network dead-man switch, README "The dead-man switch of every network
 * apply"). Run by bench/lab-child.ts in the same lab session as figure 5, after its runs.
 *
 * One run provokes what test/lab/dead-man.test.ts provokes (its cases 1 to 3): the lab stack
 * walks perl-only -> rust-read-only -> rust-basic-write with pve2's own interfaces (that
 * transition's backup is the good one), back to rust-read-only, then pve2's
 * /etc/network/interfaces is replaced by a file without the management interface (host0,
 * 10.181.0.12) as the Perl-era file the next backup records, the stack goes rust-basic-write
 * (the backup records the bad file), the good file is written back (Rust's own write), and the
 * stack rolls back to perl-only with network.confirmTimeout = 10: the rollback's restore brings
 * the bad file back, pve2's legacy-apply (`ifreload -a`) takes host0 down, and nothing can
 * confirm over a new connection; the transient systemd timer puts the saved files back and runs
 * `ifreload -a` again. That `up` runs while a probe loop on the host opens a new SSH connection
 * to pve2 every 200 ms. Then the stack is brought back with a correct config (backups.restoreId
 * naming the good backup, as case 3), so that the next run starts from perl-only again.
 *
 * t0 and the probes' times are on the host's clock (epoch ms); the node's own revert time is
 * the difference of two of its migration.log lines (whole seconds, the log's resolution).
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Lab } from "../lab";
import { ReplayState } from "../test/support/replay";
import { Up, up } from "../test/support/program-replay";
import { MIGRATION_LOG, stackValues } from "../test/support/lab-scenarios";
import { LabRevertSample, REVERT_CONFIRM_TIMEOUT_S } from "./report";

/** The node whose apply goes bad (the lab's second node: not the writer node, pve1). */
export const REVERT_NODE = "pve2";
/** A new probe connection is started this often, whether or not the one before has ended. */
export const PROBE_INTERVAL_MS = 200;
/** ssh -o ConnectTimeout of each probe, s: a probe of an unreachable node ends after this. */
export const PROBE_CONNECT_TIMEOUT_S = 1;
/** The probe loop stops after this long, or after MAX_PROBES probes, whatever the `up` does. */
export const PROBE_WINDOW_MS = 90_000;
export const MAX_PROBES = PROBE_WINDOW_MS / PROBE_INTERVAL_MS;
/** A probe still running after this is killed (and counts as failed). */
const PROBE_KILL_MS = 5_000;
/** Backups kept on the nodes in these runs (each run makes a few; the good one must stay). */
const BACKUPS = { retention: 10 };

/** One probe: a new ssh connection that runs `true`; epoch ms on the host's clock. */
export interface ProbeResult {
    readonly startedAt: number;
    readonly endedAt: number;
    /** ssh exited 0: the connection was made, the key accepted and `true` ran. */
    readonly ok: boolean;
}

/** When the node went away and came back, ms from t0 (see `reachability`). */
export interface Reachability {
    /** End of the last probe that succeeded and started before the first failed one (negative: before t0). */
    readonly lastReachableMs: number;
    /** Start of the first probe started at or after t0 that failed. */
    readonly unreachableMs: number;
    /** t1 - t0: end of the first probe that succeeded among those started after the first failed one. */
    readonly reachableMs: number;
    /** Probes that failed and started before the first failed one after t0, or after the one that gave t1. */
    readonly failedOutside: number;
}

/**
 * From the probes of one bad apply and t0 (epoch ms): when the node stopped and started
 * answering new connections again. Pure. Throws when the probes never saw it unreachable after
 * t0, or never reachable again (the loop's window ended first).
 */
export function reachability(probes: readonly ProbeResult[], t0: number): Reachability {
    const byStart = [...probes].sort((a, b) => a.startedAt - b.startedAt);
    const down = byStart.find((p) => p.startedAt >= t0 && !p.ok);
    if (!down) throw new Error(`no probe started after the apply failed (${probes.length} probes): the node never became unreachable`);
    const back = byStart.filter((p) => p.startedAt > down.startedAt && p.ok).sort((a, b) => a.endedAt - b.endedAt)[0];
    if (!back) {
        throw new Error(
            `no probe succeeded after the first failed one (${probes.length} probes, the last started ${byStart[byStart.length - 1].startedAt - t0} ms after the apply)`,
        );
    }
    const before = byStart.filter((p) => p.startedAt < down.startedAt && p.ok).sort((a, b) => b.endedAt - a.endedAt)[0];
    if (!before) throw new Error("no probe succeeded before the first failed one: the loop did not see the node reachable before the apply");
    const failedOutside = byStart.filter((p) => !p.ok && (p.startedAt < down.startedAt || p.startedAt > back.startedAt)).length;
    return { lastReachableMs: before.endedAt - t0, unreachableMs: down.startedAt - t0, reachableMs: back.endedAt - t0, failedOutside };
}

/** The `ssh` arguments of a probe: as lab.exec dials (pinned host key, the lab's client key), ConnectTimeout 1 s. */
function probeArgs(lab: Lab, node: string, knownHosts: string): string[] {
    return lab.sshArgs(node, knownHosts, { user: "root", connectTimeout: PROBE_CONNECT_TIMEOUT_S, logLevel: "QUIET" }, "true");
}

function probeOnce(args: readonly string[]): Promise<ProbeResult> {
    const startedAt = Date.now();
    return new Promise((resolve) => {
        const child = spawn("ssh", args, { stdio: ["ignore", "ignore", "ignore"] });
        const timer = setTimeout(() => child.kill("SIGKILL"), PROBE_KILL_MS);
        let done = false;
        const end = (ok: boolean) => {
            if (done) return;
            done = true;
            clearTimeout(timer);
            resolve({ startedAt, endedAt: Date.now(), ok });
        };
        child.on("error", () => end(false));
        child.on("close", (code) => end(code === 0));
    });
}

/**
 * Run `work` while a new ssh connection to `node` is started every PROBE_INTERVAL_MS (each
 * bounded by ConnectTimeout and a kill after PROBE_KILL_MS); the loop stops when `work` ends,
 * or after PROBE_WINDOW_MS or MAX_PROBES probes. Returns once every probe has ended.
 */
export async function probeWhile<T>(lab: Lab, node: string, work: () => Promise<T>): Promise<{ value: T; probes: ProbeResult[] }> {
    const kh = fs.mkdtempSync(path.join(os.tmpdir(), "pve-bench-probe-"));
    const knownHosts = path.join(kh, "known_hosts");
    const n = lab.nodes.find((x) => x.name === node)!;
    fs.writeFileSync(knownHosts, `${n.address} ${n.hostKey}\n`, { mode: 0o600 });
    const args = probeArgs(lab, node, knownHosts);
    let stopped = false;
    const running: Promise<ProbeResult>[] = [];
    const loop = (async () => {
        const started = Date.now();
        for (let k = 0; !stopped && k < MAX_PROBES && Date.now() - started < PROBE_WINDOW_MS; k++) {
            running.push(probeOnce(args));
            const wait = started + (k + 1) * PROBE_INTERVAL_MS - Date.now();
            if (wait > 0) await new Promise((res) => setTimeout(res, wait));
        }
    })();
    try {
        const value = await work();
        return { value, probes: await stop() };
    } catch (e) {
        await stop();
        throw e;
    } finally {
        fs.rmSync(kh, { recursive: true, force: true });
    }
    async function stop(): Promise<ProbeResult[]> {
        stopped = true;
        await loop;
        return Promise.all(running);
    }
}

/** The time of the last migration.log line of `step` with `result` among `lines`, epoch ms (whole seconds). */
function logTime(lines: readonly string[], step: string, result: string, node: string): number {
    const line = [...lines].reverse().find((l) => l.includes(` step=${step} result=${result} `));
    if (!line) throw new Error(`${node}: no step=${step} result=${result} line in ${MIGRATION_LOG} after the run:\n${lines.join("\n")}`);
    const t = Date.parse(line.split(" ")[0]);
    if (!Number.isFinite(t)) throw new Error(`${node}: no time at the start of ${JSON.stringify(line)}`);
    return t;
}

async function logLines(lab: Lab, node: string): Promise<string[]> {
    const r = await lab.exec(node, ["cat", MIGRATION_LOG]);
    if (r.code !== 0) throw new Error(`${node}: cat ${MIGRATION_LOG} exited ${r.code}: ${r.stderr}`);
    return r.stdout.split("\n").filter((l) => l !== "");
}

/** The lab's test scenario state across runs (the replay's checkpoint). */
export interface RevertSession {
    state: ReplayState | undefined;
}

/**
 * One run of figure 7 from a lab stack at perl-only (see the file's comment); leaves it at
 * perl-only with every node confirmed. Throws when the run does not go as the figure needs
 * (the node never unreachable, no revert, another step failing).
 */
export async function measureBadApply(lab: Lab, s: RevertSession): Promise<LabRevertSample> {
    const network = { confirmTimeout: REVERT_CONFIRM_TIMEOUT_S };
    const go = async (phase: string, extra: Record<string, unknown> = {}): Promise<Up> => {
        const { values, secretKeys } = stackValues(lab, { phase, extra: { network, backups: BACKUPS, ...extra } });
        const r = await up({ projectDir: process.cwd(), stack: "lab", values, secretKeys, state: s.state });
        s.state = r.state;
        return r;
    };
    const mustGo = async (phase: string, extra: Record<string, unknown> = {}): Promise<Up> => {
        const r = await go(phase, extra);
        if (r.replay.errors.length > 0) throw new Error(`lab ${phase}: ${r.replay.errors.join("; ")}`);
        if (r.outputs.phase !== phase) throw new Error(`lab ${phase}: the stack outputs say ${String(r.outputs.phase)}`);
        return r;
    };
    const node = REVERT_NODE;
    const n = lab.nodes.find((x) => x.name === node);
    if (!n) throw new Error(`figure 7 needs a node ${node} (the lab has ${lab.nodes.map((x) => x.name).join(", ")})`);
    const read = await lab.exec(node, ["cat", "/etc/network/interfaces"]);
    const good = read.stdout;
    if (read.code !== 0 || !good.includes(`address ${n.address}/24`)) throw new Error(`${node}: /etc/network/interfaces does not hold ${n.address}/24:\n${good}`);
    const bad = "auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n";
    const write = async (text: string) => {
        const script = 't=$(mktemp /etc/network/.interfaces.XXXXXX) && cat > "$t" && chmod 0644 "$t" && mv -f "$t" /etc/network/interfaces';
        const w = await lab.exec(node, ["sh", "-c", script], { input: text });
        if (w.code !== 0) throw new Error(`${node}: writing /etc/network/interfaces exited ${w.code}: ${w.stderr}`);
    };

    await mustGo("rust-read-only");
    const goodBackup = ((await mustGo("rust-basic-write")).outputs.transition as { id: string }).id;
    await mustGo("rust-read-only");
    await write(bad);
    await mustGo("rust-basic-write");
    await write(good);
    const linesBefore = (await logLines(lab, node)).length;

    let t = 0;
    const { value: r, probes } = await probeWhile(lab, node, () => {
        // The replay's clock starts when `up` calls it (test/support/replay ReplayEngine t0,
        // made before anything awaits): ops' startedAt count from here, to the millisecond.
        t = Date.now();
        return go("perl-only");
    });
    const failed = r.replay.ops.filter((o) => o.result !== "ok").map((o) => `${o.name} ${o.result}`);
    if (failed.join(",") !== `${node}-network-confirm-verify failed`) {
        throw new Error(
            `the bad apply on ${node} should fail only ${node}-network-confirm-verify; failed: ${failed.join(", ") || "none"}; errors: ${r.replay.errors.join("; ")}`,
        );
    }
    const apply = r.replay.ops.find((o) => o.name === `${node}-legacy-apply` && o.ran);
    if (!apply) throw new Error(`${node}-legacy-apply did not run in the rollback`);
    const t0 = t + apply.startedAt;
    const reach = reachability(probes, t0);
    const lines = (await logLines(lab, node)).slice(linesBefore);
    const id = (r.outputs.attempt as { id: string }).id;
    if (!lines.some((l) => l.includes(` step=network-revert result=reverted detail=the dead-man switch reverted the network apply of transition ${id}: `))) {
        throw new Error(`${node}: no network-revert of transition ${id} in ${MIGRATION_LOG}:\n${lines.join("\n")}`);
    }
    if (reach.reachableMs < REVERT_CONFIRM_TIMEOUT_S * 1000) {
        throw new Error(
            `${node} answered a new connection ${reach.reachableMs} ms after the apply, before its ${REVERT_CONFIRM_TIMEOUT_S} s timer could revert: a probe failed for another reason`,
        );
    }
    const nodeRevertS = (logTime(lines, "network-revert", "reverted", node) - logTime(lines, "legacy-apply", "changed", node)) / 1000;

    // Back to a correct config: the good backup restored, applied and confirmed (mustGo: no
    // step fails and the stack is at perl-only), so that the next run starts where this one did.
    await mustGo("perl-only", { backups: { ...BACKUPS, restoreId: goodBackup } });
    return {
        node,
        address: n.address,
        confirmTimeoutS: REVERT_CONFIRM_TIMEOUT_S,
        ...reach,
        nodeRevertS,
        probes: probes.length,
        failedProbes: probes.filter((p) => !p.ok).length,
    };
}
