/**
 * The walk of `npm run e2e` (test/e2e/walk.ts: the dev stack up, promoted and rolled back with
 * plan --out and apply, the sandbox's state asserted after each step), run here in-process with
 * the replay runner (test/support/replay-runner.ts), a stand-in for the Pulumi CLI: the program's
 * registered steps execute for real on the sandbox's node roots.
 */
import * as fs from "fs";
import * as path from "path";
import { main } from "../../cli/migration-ctl";
import { ROOT, TestRepo } from "../ctl/helpers";
import { ReplayRunner } from "../support/replay-runner";
import { requireTools } from "../support/tools";
import { Ctl, walkDev } from "../e2e/walk";

requireTools("dpkg-deb", "dpkg");

test("replay runner (stand-in for the CLI): the e2e walk of the dev stack holds at every step", async () => {
    const repo = new TestRepo();
    try {
        fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), repo.path("Pulumi.yaml"));
        repo.commit("the checkout");
        const runner = new ReplayRunner({ stateDir: repo.aux });
        const ctl: Ctl = async (args) => {
            let stdout = "";
            let stderr = "";
            const code = await main(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s), cwd: repo.dir, env: { PATH: repo.emptyBin }, runner });
            return { code, stdout, stderr };
        };
        const log: string[] = [];
        await walkDev(ctl, { dir: repo.dir, commit: (m) => repo.commit(m) }, (l) => log.push(l));
        expect(log).toEqual([
            "migration-ctl up --stack dev: exit 0",
            "migration-ctl plan --stack dev --out plans/0 --detailed-exitcode: exit 2",
            "migration-ctl apply plans/0: exit 0",
            "migration-ctl plan --stack dev --out plans/1 --detailed-exitcode: exit 0",
            "migration-ctl phase set rust-read-only --stack dev: exit 0",
            "migration-ctl plan --stack dev --out plans/2 --detailed-exitcode: exit 2",
            "migration-ctl apply plans/2 --json: exit 0",
            "migration-ctl apply plans/2: exit 15",
            "migration-ctl plan --stack dev --out plans/3 --detailed-exitcode: exit 2",
            "migration-ctl apply plans/3: exit 0",
            "migration-ctl plan --stack dev --out plans/4 --detailed-exitcode: exit 0",
            "migration-ctl rollback --stack dev: exit 0",
            "migration-ctl plan --stack dev --out plans/5 --detailed-exitcode: exit 2",
            "migration-ctl apply plans/5: exit 0",
        ]);
        // Every update ran through the runner with the project's local backend.
        expect(runner.calls.filter((c) => c.op !== "outputs").map((c) => [c.op, c.create, c.plan === undefined ? null : path.relative(repo.dir, c.plan)])).toEqual([
            ["up", true, null],
            ...[0, 1, 2, 3, 4, 5].flatMap((i) => [
                ["preview", true, `plans/${i}/pulumi-plan.json`],
                ...(i === 1 || i === 4 ? [] : [["up", false, `plans/${i}/pulumi-plan.json`]]),
            ]),
        ]);
        expect(new Set(runner.calls.map((c) => c.envVars?.PULUMI_BACKEND_URL))).toEqual(new Set([`file://${repo.path(".pulumi-state")}`]));
        expect(fs.readdirSync(repo.path(".pulumi-state/.replay-stand-in"))).toEqual(["dev.json"]);
    } finally {
        repo.cleanup();
    }
});
