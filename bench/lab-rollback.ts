/**
 * Figure 5: a 3-node rollback rust-full -> perl-only on the node lab (real nspawn nodes over
 * ssh), step by step. Runs only where the lab can start (root, systemd-nspawn, debootstrap:
 * lab/host.ts checkHost) and not with --no-lab; otherwise the results say why it was skipped.
 * The measurement runs in bench/lab-child.ts, a process of its own.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { checkHost } from "../lab/host";
import { LabRollback, LabRollbackSample, MAX_LAB_RUNS } from "./report";
import type { LabRequest } from "./lab-child";

/** Why the lab cannot start here, or undefined when it can. */
export function labUnavailable(): string | undefined {
    try {
        checkHost();
        return undefined;
    } catch (e) {
        return (e as Error).message;
    }
}

export function measureLabRollback(o: { runs: number; workDir: string; projectDir: string; enabled: boolean }): LabRollback {
    if (!o.enabled) return { skipped: "--no-lab" };
    const why = labUnavailable();
    if (why) return { skipped: why };
    const runs = Math.min(o.runs, MAX_LAB_RUNS);
    fs.mkdirSync(o.workDir, { recursive: true });
    const out = path.join(o.workDir, "lab-samples.json");
    const reqFile = `${out}.request`;
    const req: LabRequest = { runs, out };
    fs.writeFileSync(reqFile, JSON.stringify(req));
    const r = spawnSync(process.execPath, ["-r", require.resolve("ts-node/register/transpile-only"), path.join(__dirname, "lab-child.ts"), reqFile], {
        cwd: o.projectDir,
        encoding: "utf8",
        stdio: ["ignore", "inherit", "inherit"],
        timeout: 15 * 60_000,
    });
    if (r.status !== 0) throw new Error(`the node lab rollback failed: ${r.error?.message ?? `exit ${r.status} ${r.signal ?? ""}`}`);
    const samples = JSON.parse(fs.readFileSync(out, "utf8")) as LabRollbackSample[];
    return { nodes: samples[0].nodes, samples };
}
