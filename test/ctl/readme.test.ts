/**
 * Every `migration-ctl` command the README shows, run on a repository holding this
 * repository's stacks/ as shipped (with origin/main pointing at its one commit): each does
 * what the README says, on the example files. A README command that is not in the table below
 * fails the first test, so a new example must be added here with what it does.
 */
import * as fs from "fs";
import { EXIT } from "../../components/ctl/errors";
import { ROOT, TestRepo } from "./helpers";

const README = fs.readFileSync(`${ROOT}/README.md`, "utf8");

/** The command words after `migration-ctl`, as the README writes them (`npx` or `npm exec --no --`). */
function readmeCommands(): string[] {
    const found = [...README.matchAll(/(?:npx|npm exec --no --) migration-ctl ([^`&\n]*)/g)].map((m) => m[1].trim());
    return [...new Set(found)].sort();
}

interface Example {
    /** Run as is (plus --dry-run for a write), or why it is not run here. */
    readonly run: { code: number; out: string } | { notRun: string };
    readonly writes?: boolean;
}

const EXAMPLES: Record<string, Example> = {
    "--help": { run: { code: EXIT.OK, out: "Usage: migration-ctl [options] [command]\n" } },
    "<command> ...": { run: { notRun: 'the general form ("Command-line tools"), not a command line' } },
    "phase set rust-advanced --stack canary-a": { run: { code: EXIT.OK, out: "canary-a: rust-basic-write -> rust-advanced (promotion)\n" }, writes: true },
    "plan --stack canary-a --base origin/main": { run: { code: EXIT.OK, out: "from: rust-basic-write (configured at origin/main)\n" } },
    "check --base origin/main": { run: { code: EXIT.OK, out: "result: OK: 0 changed stack file(s) checked, 0 warning(s)\n" } },
    health: {
        run: {
            code: EXIT.DEPLOYED_UNKNOWN,
            out: "result: UNKNOWN: the configured phases are consistent, but the deployed phase of every stack is unknown (no pulumi CLI)",
        },
    },
    "phase get": { run: { code: EXIT.OK, out: "canary-a  rust-basic-write  deployed: unknown (no pulumi CLI)\n" } },
    "rollback --stack canary-a": { run: { code: EXIT.OK, out: "canary-a: rust-basic-write -> rust-read-only (rollback)\n" }, writes: true },
    "rollback --stack prod --to perl-only": { run: { code: EXIT.OK, out: "prod: already in perl-only; nothing to change\n" }, writes: true },
    "color flip --stack prod": { run: { code: EXIT.OK, out: "prod: pve-migration:blueGreen.activeColor: blue -> green" }, writes: true },
    "color flip --stack <stack>": { run: { notRun: "a placeholder stack (prod is run above)" } },
    "color get --stack <stack>": { run: { notRun: "a placeholder stack" } },
    "diagnostics collect --stack canary-a --label post-rollback": {
        run: { notRun: "reaches canary-a's node over SSH (test/diagnostics collects from sandbox nodes)" },
    },
    "diagnostics compare A.tar.gz B.tar.gz": { run: { notRun: "placeholder bundles (test/diagnostics compares real ones)" } },
    "up --stack dev --install-cli": {
        run: { notRun: "needs the Pulumi CLI, or downloads it (test/pipeline runs up with the replay runner, and the real Automation API without a CLI: exit 16)" },
    },
    "plan --stack canary-a --out plan/ --detailed-exitcode": { run: { notRun: "needs the Pulumi CLI (test/pipeline plans the dev stack with the replay runner)" } },
    "apply plan/ --json": { run: { notRun: "needs a saved plan and the Pulumi CLI (test/pipeline applies plans with the replay runner)" } },
};

let repo: TestRepo;
beforeAll(() => {
    repo = new TestRepo();
    repo.commit("stacks/ as shipped");
    repo.git("update-ref", "refs/remotes/origin/main", "HEAD");
});
afterAll(() => repo.cleanup());

test("the README's migration-ctl commands are exactly the ones in this table", () => {
    expect(readmeCommands()).toEqual(Object.keys(EXAMPLES).sort());
});

const runnable = Object.entries(EXAMPLES).flatMap(([cmd, e]) => ("code" in e.run ? [[cmd, e.run.code, e.run.out, e.writes === true] as const] : []));

test.each(runnable)("migration-ctl %s: exit %i, as the README says, on the shipped stack files", async (cmd, code, out, writes) => {
    const before = fs.readdirSync(repo.path("stacks")).map((f) => [f, fs.statSync(repo.path(`stacks/${f}`)).mtimeMs]);
    const r = await repo.ctl([...cmd.split(" "), ...(writes ? ["--dry-run"] : [])]);
    expect([r.code, r.stdout.includes(out), r.stderr.includes("internal error")]).toEqual([code, true, false]);
    expect(fs.readdirSync(repo.path("stacks")).map((f) => [f, fs.statSync(repo.path(`stacks/${f}`)).mtimeMs])).toEqual(before);
});

test("health with the shipped stacks/deployed.example.json: every deployed phase known, OK, exit 0", async () => {
    const r = await repo.ctl(["health", "--json", "--now", "2026-11-01T12:00:00Z", "--deployed-file", "stacks/deployed.example.json"]);
    expect([r.code, r.stderr]).toEqual([EXIT.OK, ""]);
    const report = JSON.parse(r.stdout) as { status: string; stacks: { stack: string; phase: string; deployed: { known: boolean; phase: string } }[] };
    expect(report.status).toBe("ok");
    expect(report.stacks.map((s) => [s.stack, s.phase, s.deployed.known, s.deployed.phase])).toEqual([
        ["canary-a", "rust-basic-write", true, "rust-basic-write"],
        ["canary-b", "rust-read-only", true, "rust-read-only"],
        ["dev", "perl-only", true, "perl-only"],
        ["prod", "perl-only", true, "perl-only"],
    ]);
});

test("the README documents <rust-api-port> where it uses it", () => {
    expect(README).toContain("`<rust-api-port>` is the port on which `pve-network-rs` serves the same `/api2/json/...`");
});
