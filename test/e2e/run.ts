/**
 * `npm run e2e`: the dev stack walked up and rolled back with migration-ctl up, plan --out and
 * apply against the REAL Pulumi CLI (test/e2e/walk.ts), on a copy of this checkout in a temp
 * folder with its own local file backend. Not part of `npm test`: it needs the Pulumi CLI, which
 * the development and CI machines of this project do not have (its installers download
 * binaries); there, test/pipeline/e2e-walk.test.ts runs the same walk with the replay runner.
 *
 * Needs: the Pulumi CLI on PATH (or in .tools/pulumi), Node 22+, `npm run build` done (npm ci
 * does it), dpkg-deb (the stand-in package). Exit 0 when every step held, 1 otherwise.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { walkDev } from "./walk";

const ROOT = path.resolve(__dirname, "../..");

function main(): number {
    const bin = path.join(ROOT, "dist/bin/migration-ctl.js");
    if (!fs.existsSync(bin)) {
        console.error("e2e: dist/bin/migration-ctl.js is missing: run npm run build first");
        return 1;
    }
    const pulumi = spawnSync("pulumi", ["version"], { encoding: "utf8" });
    if (pulumi.status !== 0 && !fs.existsSync(path.join(ROOT, ".tools/pulumi/bin/pulumi"))) {
        console.error("e2e: needs the Pulumi CLI (none on PATH, none in .tools/pulumi): https://www.pulumi.com/docs/iac/download-install/");
        return 1;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pve-e2e-"));
    // The checkout's tracked files (not .sandbox, .pulumi-state or dist), with its node_modules.
    const files = execFileSync("git", ["-C", ROOT, "ls-files", "-z"], { encoding: "utf8" })
        .split("\0")
        .filter((f) => f !== "");
    for (const f of files) {
        fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
    }
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"));
    if (fs.existsSync(path.join(ROOT, ".tools/pulumi"))) fs.symlinkSync(path.join(ROOT, ".tools"), path.join(dir, ".tools"));
    const git = (...args: string[]) =>
        execFileSync("git", ["-C", dir, ...args], {
            env: {
                ...process.env,
                GIT_AUTHOR_NAME: "e2e",
                GIT_AUTHOR_EMAIL: "e2e@example.invalid",
                GIT_COMMITTER_NAME: "e2e",
                GIT_COMMITTER_EMAIL: "e2e@example.invalid",
            },
        });
    git("init", "-q", "-b", "main");
    git("add", "-A");
    git("commit", "-q", "-m", "e2e: the checkout");
    const env = { ...process.env, PULUMI_BACKEND_URL: `file://${path.join(dir, ".e2e-state")}`, PULUMI_CONFIG_PASSPHRASE: "" };
    fs.mkdirSync(path.join(dir, ".e2e-state"));
    console.log(`e2e in ${dir} (backend ${env.PULUMI_BACKEND_URL})`);
    const ctl = async (args: readonly string[]) => {
        const r = spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: "utf8", env, maxBuffer: 256 * 1024 * 1024 });
        return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
    };
    walkDev(ctl, { dir, commit: (m) => git("commit", "-q", "-a", "-m", m) }, (l) => console.log(l)).then(
        () => {
            console.log("e2e: passed");
            fs.rmSync(dir, { recursive: true, force: true });
        },
        (e) => {
            console.error((e as Error).message);
            console.error(`e2e: FAILED; the folder is left for a look: ${dir}`);
            process.exitCode = 1;
        },
    );
    return 0;
}

process.exitCode = main();
