/**
 * Faults on the node lab: an SSH session killed in the middle of a step, and a node that does
 * not answer. The project's program runs through the replay of registered resources (a stand-in
 * for the Pulumi engine and @pulumi/command that executes the registered commands over real
 * OpenSSH) against real nspawn nodes. Needs root and systemd-nspawn, as lab.test.ts.
 */
import { Lab, startLab, teardown } from "../../lab";
import { dialBoundSeconds } from "../../components/node/transport";
import { ReplayState } from "../support/replay";
import { Up } from "../support/program-replay";
import { ok, sh, upLab } from "../support/lab-scenarios";

jest.setTimeout(180_000);

/** A verify that takes a few seconds, so that its session can be killed while it runs. */
const SLOW_VERIFY = ["sh", "-c", "sleep 4; exec pvenet status --verbose"];
const SSH = { dialErrorLimit: 1, perDialTimeout: 2 };
const EXTRA = { commands: { verify: SLOW_VERIFY }, ssh: SSH };

let lab: Lab;
let state: ReplayState | undefined;
let unreachable: Up;

beforeAll(async () => {
    lab = await startLab({ nodes: 3, fresh: true });
}, 300_000);

afterAll(async () => {
    await teardown(lab?.stateDir);
});

/** Kill (SIGKILL, by pid) the sshd session process that runs `step` for `node`, once it runs. */
async function killSessionOf(node: string, step: string, ms = 30_000): Promise<number> {
    // The step's process is `bash -c STUB <step> --time-limit N --root / --node <node> ...` (one per step of the
    // command, components/scripts STEP_RUNNER); walk up to its sshd.
    const script =
        'p=$(pgrep -f -- "$1" | head -n 1); [ -n "$p" ] || exit 3; ' +
        'while [ "$(ps -o comm= -p "$p")" != sshd ]; do p=$(ps -o ppid= -p "$p" | tr -d " "); [ "$p" -gt 1 ] || exit 4; done; ' +
        'kill -KILL "$p" && echo "$p"';
    const deadline = Date.now() + ms;
    for (;;) {
        const r = await lab.exec(node, sh(script, `^bash -c .* ${step} --time-limit [0-9]+ --root / --node ${node} `));
        if (r.code === 0) return Number(r.stdout.trim());
        if (r.code !== 3 || Date.now() > deadline) throw new Error(`killSessionOf ${node} ${step}: exit ${r.code}: ${r.stderr}`);
        await new Promise((res) => setTimeout(res, 100));
    }
}

describe("faults on the node lab, by the replay of registered resources", () => {
    it("an ssh session killed in the middle of pve2's verify fails that run; the next run runs exactly the missing step and pve2 ends verified", async () => {
        const running = upLab(lab, { phase: "rust-read-only", extra: EXTRA });
        const killed = await killSessionOf("pve2", "verify");
        expect(killed).toBeGreaterThan(1);
        const r = await running;
        state = r.state;
        expect(r.replay.errored).toBe(true);
        const failed = r.replay.ops.filter((o) => o.result !== "ok");
        // verify runs in pve2's command after the cluster config, after services.
        expect(failed.map((o) => [o.name, o.result])).toEqual([["pve2-services-verify", "failed"]]);
        expect(failed[0].error).toMatch(/^Process exited with status 255: running /);
        expect(r.outputs.phase).toBeUndefined();
        // pve1 and pve3 verified this run; the stack's phase waits for pve2.
        expect(Object.keys(r.outputs.verified as object).sort()).toEqual(["pve1", "pve3"]);

        const again = await upLab(lab, { phase: "rust-read-only", extra: EXTRA, state });
        expect(again.replay.errors).toEqual([]);
        expect(again.ran).toEqual(["pve2-services-verify"]);
        state = again.state;
        expect(again.outputs.phase).toBe("rust-read-only");
        const verified = again.outputs.verified as Record<string, { phase: string }>;
        expect(
            Object.entries(verified)
                .map(([n, v]) => [n, v.phase])
                .sort(),
        ).toEqual([
            ["pve1", "rust-read-only"],
            ["pve2", "rust-read-only"],
            ["pve3", "rust-read-only"],
        ]);
    });

    it(`a stopped node fails within the dial bound (dialErrorLimit ${SSH.dialErrorLimit}, perDialTimeout ${SSH.perDialTimeout}: ${dialBoundSeconds(SSH.dialErrorLimit, SSH.perDialTimeout)} s) while the other nodes' running steps finish`, async () => {
        await lab.stopNode("pve3");
        const r = await upLab(lab, { phase: "rust-basic-write", extra: EXTRA, state });
        unreachable = r;
        state = r.state;
        expect(r.replay.errored).toBe(true);
        const failed = r.replay.ops.filter((o) => o.result === "failed");
        expect(failed.map((o) => o.name)).toEqual(["pve3-snapshot-package-units"]);
        expect(failed[0].error).toMatch(/^after 1 failed attempts: ssh: connect to host 10\.181\.0\.13 port 22: (Connection timed out|No route to host)$/);
        const bound = dialBoundSeconds(SSH.dialErrorLimit, SSH.perDialTimeout) * 1000;
        expect(failed[0].durationMs).toBeLessThanOrEqual(bound + 1500);
        expect(failed[0].durationMs).toBeGreaterThanOrEqual(SSH.perDialTimeout * 1000);
        // Every step that started on pve1 and pve2 ran to its end and succeeded; pve3 ran nothing.
        const started = r.replay.ops.filter((o) => o.result !== "not-run" && o.op !== "same" && o.type === "command:remote:Command");
        const others = started.filter((o) => o.name !== "pve3-snapshot-package-units");
        expect(others.filter((o) => o.result !== "ok" || o.name.startsWith("pve3-")).map((o) => [o.name, o.result])).toEqual([]);
        expect(started.map((o) => o.name).sort()).toEqual(expect.arrayContaining(["pve1-snapshot-package-units", "pve2-snapshot-package-units"]));
        expect(r.outputs.phase).toBe("rust-read-only");
        expect((r.outputs.attempt as { to: string }).to).toBe("rust-basic-write");
    });

    it("after startNode the next run converges: exactly the steps that did not complete run, and every node verifies rust-basic-write", async () => {
        await lab.startNode("pve3");
        // The commands that did not complete in the failed run (failed, never started, or never registered).
        const completed = new Set(unreachable.replay.ops.filter((o) => o.result === "ok").map((o) => o.name));
        const r = await upLab(lab, { phase: "rust-basic-write", extra: EXTRA, state });
        expect(r.replay.errors).toEqual([]);
        const commands = r.replay.ops.filter((o) => o.type === "command:remote:Command").map((o) => o.name);
        const missing = commands.filter((x) => !completed.has(x)).sort();
        expect([...r.ran].sort()).toEqual(missing);
        expect(missing).toEqual(expect.arrayContaining(["pve3-snapshot-package-units", "pve3-services-verify", "pve1-services-verify", "pve2-services-verify"]));
        expect(r.outputs.phase).toBe("rust-basic-write");
        const verified = r.outputs.verified as Record<string, { phase: string }>;
        expect(
            Object.entries(verified)
                .map(([n, v]) => [n, v.phase])
                .sort(),
        ).toEqual([
            ["pve1", "rust-basic-write"],
            ["pve2", "rust-basic-write"],
            ["pve3", "rust-basic-write"],
        ]);
        expect(await ok(lab, "pve3", ["cat", "/etc/pve/network/migration.toml"])).toContain('\nphase = "rust-basic-write"\n');
    });
});
