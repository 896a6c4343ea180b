/**
 * Figure 5: a 3-node rollback rust-full -> perl-only on the node lab (real nspawn nodes over
 * ssh), step by step; and figure 7: a bad network apply on one node of the same lab, and the
 * time until it answers a new ssh connection again (bench/lab-revert.ts). Runs only where the
 * lab can start (root, systemd-nspawn, debootstrap: lab/host.ts checkHost) and not with
 * --no-lab; otherwise the results say why both were skipped. The measurement runs in
 * bench/lab-child.ts, a process of its own, which boots the lab once for both figures.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { checkHost } from "../lab/host";
import { LabRevert, LabRollback, MAX_LAB_RUNS } from "./report";
import type { LabRequest, LabSamples } from "./lab-child";

/** Why the lab cannot start here, or undefined when it can. */
export function labUnavailable(): string | undefined {
    try {
        checkHost();
        return undefined;
    } catch (e) {
        return (e as Error).message;
    }
}

/** Figures 5 and 7, or why neither was measured. */
export function measureLab(o: { runs: number; workDir: string; projectDir: string; enabled: boolean }): { rollback: LabRollback; revert: LabRevert } {
    const skip = (skipped: string) => ({ rollback: { skipped }, revert: { skipped } });
    if (!o.enabled) return skip("--no-lab");
    const why = labUnavailable();
    if (why) return skip(why);
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
        timeout: 25 * 60_000,
    });
    if (r.status !== 0) throw new Error(`the node lab figures failed: ${r.error?.message ?? `exit ${r.status} ${r.signal ?? ""}`}`);
    const samples = JSON.parse(fs.readFileSync(out, "utf8")) as LabSamples;
    return { rollback: { nodes: samples.rollback[0].nodes, samples: samples.rollback }, revert: { nodes: samples.rollback[0].nodes, samples: samples.revert } };
}
