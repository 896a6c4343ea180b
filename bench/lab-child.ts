/**
 * The node lab's rollback, measured in a process of its own:
 * `node -r ts-node/register/transpile-only bench/lab-child.ts <request.json>`.
 *
 * Starts the node lab fresh (three nspawn nodes, lab/index.ts), and per run walks the lab stack
 * from perl-only to rust-full one phase at a time, then rolls it back to perl-only in one run,
 * timing that rollback (figure 5). Then, in the same lab session (the lab boots once), per run
 * one bad network apply on pve2 and the time until pve2 answers a new SSH connection again
 * (figure 7, bench/lab-revert.ts). Every `pulumi up` is the project's program through the
 * replay of registered resources (test/support/replay: a stand-in for the Pulumi engine and
 * @pulumi/command that executes the registered commands over real OpenSSH); the step times are
 * the replay's ops (start and end of each command, ms from the start of the run). Writes
 * LabSamples as JSON to the request's `out` file; tears the lab down at the end.
 */
import * as fs from "fs";
import { startLab, teardown } from "../lab";
import { PHASES } from "../components/phases";
import { ReplayState } from "../test/support/replay";
import { Up, up } from "../test/support/program-replay";
import { measureBadApply } from "./lab-revert";
import type { LabRevertSample, LabRollbackSample, LabStepTime } from "./report";

export interface LabRequest {
    readonly runs: number;
    readonly out: string;
}

/** What the child writes: figure 5's runs, then figure 7's. */
export interface LabSamples {
    readonly rollback: LabRollbackSample[];
    readonly revert: LabRevertSample[];
}

function check(r: Up, phase: string): void {
    if (r.replay.errors.length > 0) throw new Error(`lab ${phase}: ${r.replay.errors.join("; ")}`);
    if (r.outputs.phase !== phase) throw new Error(`lab ${phase}: the stack outputs say ${String(r.outputs.phase)}`);
}

async function main(reqFile: string): Promise<void> {
    const req = JSON.parse(fs.readFileSync(reqFile, "utf8")) as LabRequest;
    const lab = await startLab({ nodes: 3, fresh: true });
    try {
        const samples: LabRollbackSample[] = [];
        let state: ReplayState | undefined;
        const upLab = async (phase: string) => {
            const { values, secretKeys } = lab.stackConfig({ phase });
            const t = process.hrtime.bigint();
            const r = await up({ projectDir: process.cwd(), stack: "lab", values, secretKeys, state });
            const wallMs = Number(process.hrtime.bigint() - t) / 1e6;
            check(r, phase);
            state = r.state;
            return { r, wallMs };
        };
        for (let i = 0; i < req.runs; i++) {
            for (const phase of PHASES.slice(1)) await upLab(phase);
            const { r, wallMs } = await upLab("perl-only");
            const steps: LabStepTime[] = r.replay.ops
                .filter((o) => o.ran)
                .sort((a, b) => a.startedAt - b.startedAt)
                .map((o) => ({ name: o.name, startMs: o.startedAt, endMs: o.endedAt }));
            samples.push({ nodes: lab.nodes.length, wallMs, steps });
            process.stderr.write(`bench: lab rollback rust-full -> perl-only, run ${i + 1}/${req.runs}: ${wallMs.toFixed(0)} ms, ${steps.length} steps\n`);
        }
        const revert: LabRevertSample[] = [];
        const session = { state };
        for (let i = 0; i < req.runs; i++) {
            const x = await measureBadApply(lab, session);
            revert.push(x);
            process.stderr.write(
                `bench: lab bad network apply on ${x.node}, run ${i + 1}/${req.runs}: reachable again ${x.reachableMs} ms after the apply started (unreachable from ${x.unreachableMs} ms; confirmTimeout ${x.confirmTimeoutS} s; the node's revert ${x.nodeRevertS} s after its apply by its log; ${x.failedProbes} of ${x.probes} probes failed, ${x.failedOutside} of them outside the unreachable window)\n`,
            );
        }
        const out: LabSamples = { rollback: samples, revert };
        fs.writeFileSync(req.out, JSON.stringify(out));
    } finally {
        await teardown(lab.stateDir);
    }
}

main(process.argv[2]).then(
    () => process.exit(0),
    (e) => {
        process.stderr.write(`bench lab: ${(e as Error).stack ?? e}\n`);
        process.exit(1);
    },
);
