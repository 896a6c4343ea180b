/**
 * migration-ctl as a real process through dist/bin/migration-ctl.js (the npm bin, compiled by
 * npm run build): exit codes, stdout/stderr, files written, start-up time, and the deployed
 * phase from a `pulumi` binary on PATH.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EXIT } from "../../components/ctl/errors";
import { help } from "../../cli/migration-ctl";
import { FIXTURES, GOLDEN, SHIM, TestRepo, expectCheckGolden } from "./helpers";

let repo: TestRepo;
beforeEach(() => {
    repo = new TestRepo();
    repo.setPhases({ "canary-a": "rust-read-only", "canary-b": "perl-only", prod: "perl-only", dev: "perl-only" });
    repo.commit("baseline");
});
afterEach(() => repo.cleanup());

test("the compiled bin is executable on its own (#!/usr/bin/env node) and prints help", () => {
    const r = repo.run(["--help"], { direct: true });
    expect(fs.statSync(SHIM).mode & 0o111).toBe(0o111);
    expect(r).toEqual({ code: EXIT.OK, stdout: help(""), stderr: "" });
});

test("phase get loads no Pulumi SDK, no ts-node and no policy pack (what made it take ~1.9 s)", () => {
    // A preload that lists, at exit, every module the process loaded.
    const preload = path.join(repo.aux, "list-modules.js");
    const listing = path.join(repo.aux, "modules.json");
    fs.writeFileSync(preload, `process.on("exit", () => require("fs").writeFileSync(${JSON.stringify(listing)}, JSON.stringify(Object.keys(require.cache))));\n`);
    const r = spawnSync(process.execPath, ["-r", preload, SHIM, "phase", "get", "--stack", "dev"], {
        cwd: repo.dir,
        encoding: "utf8",
        env: { PATH: path.dirname(process.execPath) },
    });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, "dev  perl-only  deployed: unknown (no pulumi CLI)\n", ""]);
    const packages = [
        ...new Set((JSON.parse(fs.readFileSync(listing, "utf8")) as string[]).flatMap((m) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(m)?.[1] ?? [])),
    ].sort();
    expect(packages).toEqual(["commander", "diff", "smol-toml", "yaml", "zod"]);
});

test("phase get starts and answers in well under a second (best of 5; about 0.15 s on an idle 2-core machine)", () => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
        const t = process.hrtime.bigint();
        const r = repo.run(["phase", "get", "--stack", "dev"]);
        times.push(Number(process.hrtime.bigint() - t) / 1e9);
        expect(r).toEqual({ code: EXIT.OK, stdout: "dev  perl-only  deployed: unknown (no pulumi CLI)\n", stderr: "" });
    }
    expect(Math.min(...times)).toBeLessThan(0.6);
});

test("from the real process: a usage error is one line without a stack trace; --version", () => {
    const usage = repo.run(["phase", "set", "--stack"]);
    expect(usage).toEqual({ code: EXIT.USAGE, stdout: "", stderr: "migration-ctl: phase set: --stack needs a value (see migration-ctl phase set --help)\n" });
    const version = repo.run(["--version"]);
    expect(version).toEqual({ code: EXIT.OK, stdout: `${JSON.parse(fs.readFileSync(path.join(__dirname, "../../package.json"), "utf8")).version}\n`, stderr: "" });
});

test("phase set writes the golden file; check --json on the pull request matches the golden report", () => {
    repo.write("stacks/Pulumi.lab.yaml", fs.readFileSync(path.join(FIXTURES, "Pulumi.lab.yaml"), "utf8"));
    repo.commit("add lab");
    repo.git("checkout", "-q", "-b", "pr");
    const set = repo.run(["phase", "set", "rust-basic-write", "--stack", "lab"]);
    expect(set.code).toBe(EXIT.OK);
    expect(repo.read("stacks/Pulumi.lab.yaml")).toBe(fs.readFileSync(path.join(GOLDEN, "Pulumi.lab.after-phase-set.yaml"), "utf8"));

    const promote = repo.run(["phase", "set", "rust-basic-write", "--stack", "canary-a"]);
    expect(promote.code).toBe(EXIT.OK);
    repo.commit("promote canary-a and lab");
    const deployed = repo.writeDeployed({});
    const check = repo.run(["check", "--base", "main", "--json", "--now", "2026-11-01T12:00:00Z", "--deployed-file", deployed]);
    expect(check.stderr).toBe("");
    expect(check.code).toBe(EXIT.OK);
    expectCheckGolden("check-process.json", check.stdout, repo.git("rev-parse", "main").trim());
});

test("errors from the process: malformed YAML (5, file untouched) and unknown revision (7)", () => {
    const broken = "config:\n  pve-migration:phase: perl-only\n  - not: a map\n";
    repo.write("stacks/Pulumi.dev.yaml", broken);
    const bad = repo.run(["rollback", "--stack", "dev"]);
    expect(bad.code).toBe(EXIT.MALFORMED_YAML);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toBe("migration-ctl: stacks/Pulumi.dev.yaml: malformed YAML at line 3, column 1: A block sequence may not be used as an implicit map key\n");
    expect(repo.read("stacks/Pulumi.dev.yaml")).toBe(broken);
    const rev = repo.run(["check", "--base", "origin/main"]);
    expect(rev).toEqual({ code: EXIT.UNKNOWN_REV, stdout: "", stderr: `migration-ctl: --base: unknown git revision "origin/main" in ${repo.dir}\n` });
});

test("with a pulumi binary on PATH the deployed phase comes from `pulumi stack output --json --stack S`", () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "ctl-pulumi-"));
    try {
        // A stand-in for the pulumi CLI: answers for canary-a (by short and by qualified name),
        // fails like pulumi does for a stack it does not know, and logs every call.
        fs.writeFileSync(
            path.join(bin, "pulumi"),
            [
                "#!/bin/sh",
                'printf "%s\\n" "$*" >> "$(dirname "$0")/calls.log"',
                'case "$5" in',
                '  canary-a|organization/pve-network-migration/canary-a) echo \'{"phase":"rust-read-only","phaseEnteredAt":"2026-10-20T08:00:00Z","previousPhase":"perl-only","nodes":["pve-east-01"]}\' ;;',
                "  *) echo \"error: no stack named '$5' found\" >&2; exit 255 ;;",
                "esac",
                "",
            ].join("\n"),
            { mode: 0o755 },
        );
        const r = repo.run(["phase", "get"], { pathDirs: [bin] });
        expect(r).toEqual({
            code: EXIT.OK,
            stderr: "",
            stdout:
                "canary-a  rust-read-only  deployed: rust-read-only since 2026-10-20T08:00:00Z (pulumi stack output --stack canary-a)\n" +
                "canary-b  perl-only       deployed: unknown (pulumi stack output --stack canary-b failed: error: no stack named 'canary-b' found)\n" +
                "dev       perl-only       deployed: unknown (pulumi stack output --stack dev failed: error: no stack named 'dev' found)\n" +
                "prod      perl-only       deployed: unknown (pulumi stack output --stack prod failed: error: no stack named 'prod' found)\n",
        });
        expect(fs.readFileSync(path.join(bin, "calls.log"), "utf8")).toBe(
            ["canary-a", "canary-b", "dev", "prod"].map((s) => `stack output --json --stack ${s}\n`).join(""),
        );
        // The upstream of canary-b is asked for by its fully qualified name.
        fs.rmSync(path.join(bin, "calls.log"));
        const set = repo.run(["phase", "set", "rust-read-only", "--stack", "canary-b", "--now", "2026-11-01T12:00:00Z"], { pathDirs: [bin] });
        expect(set.code).toBe(EXIT.OK);
        expect(fs.readFileSync(path.join(bin, "calls.log"), "utf8")).toBe("stack output --json --stack canary-b\nstack output --json --stack canary-a\n");
    } finally {
        fs.rmSync(bin, { recursive: true, force: true });
    }
});

test("a reader that closes the pipe before the help is written (migration-ctl --help | head): exit 0, nothing on stderr", async () => {
    // The read end of stdout is closed right after the spawn, long before Node has started the
    // CLI, so every write of the help meets a closed pipe (EPIPE).
    const child = spawn(process.execPath, [SHIM, "--help"], { stdio: ["ignore", "pipe", "pipe"], env: { PATH: process.env.PATH } });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    const code = await new Promise<number | null>((res) => child.on("close", (c) => res(c)));
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
});
