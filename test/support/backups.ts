/**
 * Helpers of the backup tests (test/node/backups-*.test.ts): the real snapshot and restore
 * scripts run on sandbox roots, one step at a time, and a shim of one command on PATH that
 * fails or blocks at its n-th call (to abort a step at a chosen point).
 */
import { execFileSync, spawn } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { StackConfig } from "../../components/config/schema";
import { Phase } from "../../components/phases";
import { createSandbox } from "../../components/sandbox";
import { runStep, StepRun } from "../../components/sandbox/run";
import { renderStepScript, shQuote, stepCommandLine } from "../../components/scripts";
import { planFor, scriptOf, stepArgs } from "../../components/steps";
import { Lab, makeLab } from "./node";

export const STATE = "var/lib/pve-network-rs";
export const BACKUPS = `${STATE}/backups`;
export const BACKUP_NAME = /^\d{8}T\d{6}Z-[0-9a-f]{4,64}$/;

/** A lab whose nodes have 5 containers each (lxc/<id>.conf: pve1 101..105, pve2 201..205). */
export function backupLab(nodes: string[] = ["pve1"]): Lab {
    const lab = makeLab(nodes);
    createSandbox(lab.sandbox, nodes, { containersPerNode: 5 });
    return lab;
}

export function lxcDir(lab: Lab, node = "pve1"): string {
    return path.join(lab.sandbox, "cluster-pve/nodes", node, "lxc");
}

/** Run one planned step (by kind) of the transition from -> to on a node. */
export function step(
    cfg: StackConfig,
    kind: "snapshot" | "restore" | "cluster-restore",
    node: string,
    from: Phase,
    to: Phase,
    id: string,
    env?: NodeJS.ProcessEnv,
): StepRun {
    const s = planFor(cfg, from, to).steps.find((x) => x.kind === kind && x.node === node);
    if (!s) throw new Error(`no ${kind} step of ${node} from ${from} to ${to}`);
    return runStep(cfg, s, from, to, id, env ?? process.env);
}

/** The snapshot entering the write phases (rust-read-only -> rust-basic-write): a backup of a Perl-managed state. */
export function perlBackup(lab: Lab, id: string, node = "pve1"): string {
    const r = step(lab.config("rust-basic-write"), "snapshot", node, "rust-read-only", "rust-basic-write", id);
    if (r.status !== 0) throw new Error(`snapshot ${id} on ${node} failed (${r.status}): ${r.stderr}`);
    return backupNamed(lab, id, node);
}

/** The folder name of a node's backup of transition `id`. */
export function backupNamed(lab: Lab, id: string, node = "pve1"): string {
    const found = fs.readdirSync(path.join(lab.root(node), BACKUPS)).filter((b) => b.endsWith(`-${id}`));
    if (found.length !== 1) throw new Error(`expected one backup of ${id} on ${node}, found ${found.join(", ")}`);
    return found[0];
}

export function backupDir(lab: Lab, name: string, node = "pve1"): string {
    return path.join(lab.root(node), BACKUPS, name);
}

/** The Rust era: every file a restore puts back is changed. */
export function changeLiveFiles(lab: Lab, node = "pve1", tag = "rust"): void {
    fs.appendFileSync(path.join(lab.root(node), "etc/network/interfaces"), `\n# ${tag}\n`);
    for (const f of fs.readdirSync(lxcDir(lab, node))) fs.appendFileSync(path.join(lxcDir(lab, node), f), `# ${tag}\n`);
    fs.appendFileSync(path.join(lab.sandbox, "cluster-pve/sdn.cfg"), `\n# ${tag}\n`);
    fs.appendFileSync(path.join(lab.sandbox, "cluster-pve/storage.cfg"), `\n# ${tag}\n`);
}

/** The rollback out of the write phases (rust-basic-write -> rust-read-only): its restore step. */
export function restore(lab: Lab, opts: { node?: string; restoreId?: string; env?: NodeJS.ProcessEnv; timeLimit?: number; cluster?: boolean } = {}): StepRun {
    const base = lab.config("rust-read-only");
    const cfg: StackConfig = {
        ...base,
        backups: { ...base.backups, ...(opts.restoreId !== undefined ? { restoreId: opts.restoreId } : {}) },
        stepTimeouts: opts.timeLimit !== undefined ? { ...base.stepTimeouts, restore: opts.timeLimit } : base.stepTimeouts,
    };
    return step(cfg, opts.cluster ? "cluster-restore" : "restore", opts.node ?? "pve1", "rust-basic-write", "rust-read-only", "e3e3", opts.env);
}

/**
 * Every entry under `dir` (relative path -> sha256 of a regular file, `-> target` of a link,
 * the kind of anything else), links never followed: the shared /etc/pve is walked once, as
 * <sandbox>/cluster-pve. Unlike tree() it never opens a fifo, socket or device.
 */
export function entries(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    // Names as bytes (a name need not be UTF-8); keys show them byte for byte (latin1).
    const walk = (d: Buffer, rel: string) => {
        for (const name of (fs.readdirSync(d, { encoding: "buffer" }) as Buffer[]).sort(Buffer.compare)) {
            const p = Buffer.concat([d, Buffer.from("/"), name]);
            const r = rel ? `${rel}/${name.toString("latin1")}` : name.toString("latin1");
            const st = fs.lstatSync(p);
            if (st.isSymbolicLink()) out[r] = `-> ${fs.readlinkSync(p)}`;
            else if (st.isDirectory()) walk(p, r);
            else if (st.isFile()) out[r] = crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex");
            else out[r] = st.isFIFO() ? "fifo" : st.isSocket() ? "socket" : st.isBlockDevice() ? "block device" : "character device";
        }
    };
    walk(Buffer.from(dir), "");
    return out;
}

/** Digest of the whole sandbox (every node root and the shared /etc/pve), without the decision logs. */
export function digest(lab: Lab): Record<string, string> {
    const t = entries(lab.sandbox);
    for (const k of Object.keys(t)) if (k.endsWith("var/log/pve-network/migration.log")) delete t[k];
    return t;
}

export function lastLogLine(lab: Lab, node = "pve1"): string {
    return fs
        .readFileSync(path.join(lab.root(node), "var/log/pve-network/migration.log"), "utf8")
        .trim()
        .split("\n")
        .pop() as string;
}

/** Every staged file of a restore (.pve-restore.*, or the older .<name>.restore.*) anywhere under the sandbox. */
export function stagedFiles(lab: Lab): string[] {
    return Object.keys(entries(lab.sandbox)).filter((k) => /(^|\/)\.(pve-restore\.|.*\.restore\.)[^/]*$/.test(k));
}

const realPath = (cmd: string) => execFileSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).trim();

/**
 * A folder holding a shim of `cmd` for PATH: it runs the real command, except at its `nth`
 * call, where it either exits 1 after writing nothing ("fail", like a full disk or a refused
 * rename) or writes the step's process group id to `mark` and sleeps ("block", to kill the
 * step there).
 */
export function shim(cmd: string, nth: number, mode: "fail" | "block"): { dir: string; mark: string; env: NodeJS.ProcessEnv } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pve-shim-"));
    const mark = path.join(dir, "inside");
    const count = path.join(dir, "calls");
    const at = mode === "fail" ? "exit 1" : `cut -d' ' -f5 /proc/$$/stat > ${shQuote(mark)}.tmp\nmv ${shQuote(mark)}.tmp ${shQuote(mark)}\nexec sleep 60`;
    fs.writeFileSync(
        path.join(dir, cmd),
        `#!/bin/sh\necho x >> ${shQuote(count)}\nif [ "$(wc -l < ${shQuote(count)})" -eq ${nth} ]; then\n${at}\nfi\nexec ${shQuote(realPath(cmd))} "$@"\n`,
        { mode: 0o755 },
    );
    return { dir, mark, env: { ...process.env, PATH: `${dir}:${process.env.PATH}` } };
}

/** Start the rollback's restore step with `cmd` blocking at its nth call, and SIGKILL the step there. */
export async function killRestoreInside(lab: Lab, cmd: string, nth: number): Promise<void> {
    const sh = shim(cmd, nth, "block");
    const cfg = lab.config("rust-read-only");
    const s = planFor(cfg, "rust-basic-write", "rust-read-only").steps.find((x) => x.id === "pve1-restore")!;
    const node = cfg.nodes.find((n) => n.name === "pve1")!;
    const args = stepArgs({ cfg, node, from: "rust-basic-write", to: "rust-read-only" }, s.kind, "e3e3");
    const child = spawn("/bin/sh", ["-c", stepCommandLine(args, { step: scriptOf(s.kind) })], { env: sh.env, detached: true, stdio: ["pipe", "ignore", "ignore"] });
    child.stdin.end(renderStepScript(scriptOf(s.kind)));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_c, sig) => resolve(sig)));
    for (let i = 0; i < 400 && !fs.existsSync(sh.mark); i++) await new Promise((r) => setTimeout(r, 25));
    if (!fs.existsSync(sh.mark)) throw new Error(`the restore step never reached call ${nth} of ${cmd}`);
    // GNU timeout put the step in a process group of its own (the shim wrote its id); kill both
    // groups, the runner's first: killed second, it could see the step die and exit 70 on its own.
    process.kill(-(child.pid as number), "SIGKILL");
    process.kill(-Number(fs.readFileSync(sh.mark, "utf8").trim()), "SIGKILL");
    if ((await exited) !== "SIGKILL") throw new Error("the step did not die of SIGKILL");
    fs.rmSync(sh.dir, { recursive: true, force: true });
}
