/**
 * The rollback guard's systemd unit (components/guard/unit.ts): `systemd-analyze verify` accepts
 * the unit `migration-ctl guard --systemd-unit` prints; values that systemd would read as
 * specifiers, quoting or separators are refused before anything is printed.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { main } from "../../cli/migration-ctl";
import { renderGuardUnit } from "../../components/guard/unit";
import { requireTools } from "../support/tools";

requireTools("systemd-analyze");

test("the printed unit verifies with systemd-analyze and runs the checkout's migration-ctl guard", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "guard-unit-"));
    try {
        fs.mkdirSync(path.join(dir, "repo/stacks"), { recursive: true });
        let out = "";
        const code = await main(["--repo", path.join(dir, "repo"), "guard", "--stack", "canary-b", "--systemd-unit", "--node-binary", process.execPath], {
            stdout: (s) => (out += s),
            stderr: (s) => (out += s),
            cwd: dir,
            env: { PATH: "/usr/bin:/bin" },
        });
        expect(code).toBe(0);
        expect(out).toBe(renderGuardUnit({ stack: "canary-b", repo: path.join(dir, "repo"), node: process.execPath, user: "root" }));
        expect(out.split("\n").find((l) => l.startsWith("ExecStart="))).toBe(
            `ExecStart=${process.execPath} ${dir}/repo/dist/bin/migration-ctl.js --repo ${dir}/repo guard --stack canary-b --state-dir /var/lib/pve-migration-guard`,
        );
        const unit = path.join(dir, "pve-migration-guard-canary-b.service");
        fs.writeFileSync(unit, out);
        const r = spawnSync("systemd-analyze", ["verify", unit], { encoding: "utf8" });
        expect([r.status, r.stderr]).toEqual([0, ""]);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test.each([
    [{ stack: "canary-b; rm", repo: "/srv/repo", node: "/usr/bin/node", user: "root" }, '--stack: "canary-b; rm" is not a stack name'],
    [
        { stack: "prod", repo: "/srv/my repo", node: "/usr/bin/node", user: "root" },
        '--repo: "/srv/my repo" must be an absolute path of letters, digits and . _ / + -',
    ],
    [{ stack: "prod", repo: "/srv/%h", node: "/usr/bin/node", user: "root" }, '--repo: "/srv/%h" must be an absolute path of letters, digits and . _ / + -'],
    [{ stack: "prod", repo: "/srv/repo", node: "node", user: "root" }, '--node-binary: "node" must be an absolute path of letters, digits and . _ / + -'],
    [
        { stack: "prod", repo: "/srv/../etc", node: "/usr/bin/node", user: "Root" },
        '--repo: "/srv/../etc" must be an absolute path of letters, digits and . _ / + -\n--user: "Root" is not a user name',
    ],
])("refused: %j", (input, message) => {
    expect(() => renderGuardUnit(input)).toThrow(message);
});
