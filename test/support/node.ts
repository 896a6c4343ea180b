import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parse } from "smol-toml";
import { Phase } from "../../components/phases";
import { StackConfig } from "../../components/config/schema";
import { buildStandInDeb, BuiltDeb, createSandbox } from "../../components/sandbox";
import { runPlan, StepRun } from "../../components/sandbox/run";
import { localConfig } from "./config";
import { requireTools } from "./tools";

export interface Lab {
    readonly dir: string;
    readonly sandbox: string;
    readonly debs: Record<string, BuiltDeb>;
    readonly nodes: string[];
    config(phase: Phase, extra?: { version?: string; scope?: "cluster" | "node"; retention?: number }): StackConfig;
    root(node: string): string;
    cleanup(): void;
}

let debCache: { dir: string; debs: Record<string, BuiltDeb> } | undefined;

/** Stand-in debs built once per test file. */
export function debs(): Record<string, BuiltDeb> {
    if (!debCache) {
        requireTools("dpkg-deb", "dpkg", "dpkg-query", "systemctl");
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pve-debs-"));
        debCache = { dir, debs: { "0.4.2-1": buildStandInDeb(dir, "0.4.2-1"), "0.5.0-1": buildStandInDeb(dir, "0.5.0-1") } };
    }
    return debCache.debs;
}

export function makeLab(nodes: string[] = ["pve1", "pve2", "pve3"], opts: { withSystemdUnits?: boolean } = {}): Lab {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pve-lab-"));
    const sandbox = path.join(dir, "sandbox");
    createSandbox(sandbox, nodes, { withSystemdUnits: opts.withSystemdUnits });
    const d = debs();
    return {
        dir,
        sandbox,
        debs: d,
        nodes,
        config(phase, extra = {}) {
            const deb = d[extra.version ?? "0.4.2-1"];
            return localConfig({
                sandboxDir: sandbox,
                debPath: deb.path,
                sha256: deb.sha256,
                version: deb.version,
                nodes,
                phase,
                scope: extra.scope,
                retention: extra.retention,
            });
        },
        root: (node) => path.join(sandbox, node),
        // maxRetries: a post-rollback diagnostics bundle may still be being written (it is
        // collected after the verify step, in its own session).
        cleanup: () => fs.rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 }),
    };
}

/** Run a plan and fail loudly (with every step's output) if a step failed. */
export function mustRun(cfg: StackConfig, from: Phase, to: Phase, id: string): StepRun[] {
    const runs = runPlan(cfg, from, to, id);
    const bad = runs.find((r) => r.status !== 0);
    if (bad) throw new Error(`step ${bad.id} failed (${bad.status}):\n${bad.stdout}\n${bad.stderr}`);
    return runs;
}

export function installedVersion(root: string): string {
    return execFileSync("dpkg-query", [`--admindir=${root}/var/lib/dpkg`, "-W", "-f=${Version}", "pve-network-rs"], { encoding: "utf8" });
}

export function isEnabled(root: string, unit = "pve-network-rs.service"): boolean {
    try {
        execFileSync("systemctl", [`--root=${root}`, "is-enabled", "--quiet", unit], { stdio: "pipe" });
        return true;
    } catch {
        return false;
    }
}

export function tomlAt(file: string): Record<string, unknown> {
    return parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
}

/** sha256 of every file under `dir` (relative path -> hash); links to folders (/etc/pve) followed, others recorded by target. */
export function tree(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    const walk = (d: string, rel: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
            const p = path.join(d, e.name);
            const r = rel ? `${rel}/${e.name}` : e.name;
            const l = fs.lstatSync(p);
            if (l.isSymbolicLink() && !(fs.existsSync(p) && fs.statSync(p).isDirectory())) {
                out[r] = `-> ${fs.readlinkSync(p)}`;
            } else if (fs.statSync(p).isDirectory()) {
                walk(p, r);
            } else {
                out[r] = crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex");
            }
        }
    };
    walk(dir, "");
    return out;
}

export function results(runs: StepRun[]): string[] {
    return runs.map((r) => `${r.id}:${/result=(\S+)/.exec(r.stdout)?.[1] ?? `exit ${r.status}`}`);
}

/** The configuration files a rollback restores, read from a node root. */
export function configFiles(root: string, node: string): Record<string, string> {
    const lxcDir = path.join(root, "etc/pve/nodes", node, "lxc");
    const out: Record<string, string> = {
        interfaces: fs.readFileSync(path.join(root, "etc/network/interfaces"), "utf8"),
        "sdn.cfg": fs.readFileSync(path.join(root, "etc/pve/sdn.cfg"), "utf8"),
        "storage.cfg": fs.readFileSync(path.join(root, "etc/pve/storage.cfg"), "utf8"),
    };
    for (const f of fs.readdirSync(lxcDir).sort()) out[`lxc/${f}`] = fs.readFileSync(path.join(lxcDir, f), "utf8");
    return out;
}

/** What the Rust implementation would write in a write phase: change every restorable file. */
export function simulateRustWrites(root: string, node: string, tag: string): void {
    fs.appendFileSync(path.join(root, "etc/network/interfaces"), `\n# written by pve-network-rs (${tag})\nauto vmbr0.${tag.length}\n`);
    fs.appendFileSync(path.join(root, "etc/pve/sdn.cfg"), `\nvnet: rs${tag.length}\n\tzone zone1\n`);
    fs.appendFileSync(path.join(root, "etc/pve/storage.cfg"), `\n# storage touched (${tag})\n`);
    const lxcDir = path.join(root, "etc/pve/nodes", node, "lxc");
    const first = fs.readdirSync(lxcDir).sort()[0];
    fs.appendFileSync(path.join(lxcDir, first), `net1: name=eth1,bridge=vmbr0,tag=${tag.length}\n`);
}
