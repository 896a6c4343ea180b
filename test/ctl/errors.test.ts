/**
 * Errors of migration-ctl: one clear line and a distinct exit code for an unknown stack,
 * an unknown phase, malformed YAML (file left untouched, compared byte for byte), an invalid
 * config, an unknown git revision and usage mistakes; --help on every command.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { EXIT } from "../../components/ctl/errors";
import { help } from "../../cli/migration-ctl";
import { TestRepo } from "./helpers";

let repo: TestRepo;
beforeEach(() => {
    repo = new TestRepo();
    repo.setPhases({ "canary-a": "rust-basic-write", "canary-b": "rust-read-only", prod: "perl-only", dev: "perl-only" });
    repo.commit("baseline");
});
afterEach(() => repo.cleanup());

/** Exactly one line on stderr, nothing on stdout. */
function oneLine(r: { code: number; stdout: string; stderr: string }, code: number, line: string): void {
    expect(r).toEqual({ code, stdout: "", stderr: `migration-ctl: ${line}\n` });
}

describe("exit codes and messages", () => {
    test("the exit codes are distinct", () => {
        const codes = Object.values(EXIT);
        expect(new Set(codes).size).toBe(codes.length);
    });

    test("unknown stack: exit 3 for every command taking --stack", async () => {
        const known = "(stacks: canary-a, canary-b, dev, prod)";
        const msg = (s: string) => `unknown stack ${JSON.stringify(s)}: no stacks/Pulumi.${s}.yaml in ${repo.dir} ${known}`;
        oneLine(await repo.ctl(["phase", "set", "rust-read-only", "--stack", "nope"]), EXIT.UNKNOWN_STACK, msg("nope"));
        oneLine(await repo.ctl(["phase", "get", "--stack", "nope"]), EXIT.UNKNOWN_STACK, msg("nope"));
        oneLine(await repo.ctl(["rollback", "--stack", "nope"]), EXIT.UNKNOWN_STACK, msg("nope"));
        oneLine(await repo.ctl(["plan", "--stack", "nope", "--from", "perl-only"]), EXIT.UNKNOWN_STACK, msg("nope"));
        oneLine(await repo.ctl(["color", "get", "--stack", "nope"]), EXIT.UNKNOWN_STACK, msg("nope"));
        oneLine(await repo.ctl(["phase", "set", "perl-only", "--stack", "../../etc/passwd"]), EXIT.UNKNOWN_STACK, msg("../../etc/passwd"));
    });

    test("unknown phase: exit 4", async () => {
        const before = repo.read(repo.stackFile("canary-a"));
        oneLine(
            await repo.ctl(["phase", "set", "rust-turbo", "--stack", "canary-a"]),
            EXIT.UNKNOWN_VALUE,
            'phase set: unknown phase "rust-turbo" (one of perl-only, rust-read-only, rust-basic-write, rust-advanced, rust-sdn, rust-full)',
        );
        oneLine(
            await repo.ctl(["plan", "--stack", "canary-a", "--from", "Perl-Only"]),
            EXIT.UNKNOWN_VALUE,
            '--from: unknown phase "Perl-Only" (one of perl-only, rust-read-only, rust-basic-write, rust-advanced, rust-sdn, rust-full)',
        );
        expect(repo.read(repo.stackFile("canary-a"))).toBe(before);
    });

    test("malformed YAML: exit 5, one line naming file, line and column, the file byte for byte untouched", async () => {
        const broken = Buffer.from("# canary-a\nconfig:\n  pve-migration:phase: rust-basic-write\n  pve-migration:nodes: [ {name: pve-east-01}\n", "utf8");
        fs.writeFileSync(repo.path(repo.stackFile("canary-a")), broken);
        const line =
            "stacks/Pulumi.canary-a.yaml: malformed YAML at line 5, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]";
        oneLine(await repo.ctl(["phase", "set", "perl-only", "--stack", "canary-a"]), EXIT.MALFORMED_YAML, line);
        oneLine(await repo.ctl(["rollback", "--stack", "canary-a"]), EXIT.MALFORMED_YAML, line);
        oneLine(await repo.ctl(["phase", "get", "--stack", "canary-a"]), EXIT.MALFORMED_YAML, line);
        oneLine(await repo.ctl(["plan", "--stack", "canary-a", "--from", "perl-only"]), EXIT.MALFORMED_YAML, line);
        expect(fs.readFileSync(repo.path(repo.stackFile("canary-a"))).equals(broken)).toBe(true);
        expect(fs.readdirSync(repo.path("stacks")).filter((f) => f.includes(".tmp"))).toEqual([]);
    });

    test("duplicate keys are malformed YAML too (which one would Pulumi take?)", async () => {
        const rel = repo.stackFile("dev");
        const text = repo.read(rel).replace("  pve-migration:phase: perl-only\n", "  pve-migration:phase: perl-only\n  pve-migration:phase: rust-full\n");
        repo.write(rel, text);
        const r = await repo.ctl(["phase", "set", "rust-read-only", "--stack", "dev"]);
        expect(r.code).toBe(EXIT.MALFORMED_YAML);
        expect(r.stderr).toMatch(/^migration-ctl: stacks\/Pulumi\.dev\.yaml: malformed YAML at line \d+, column \d+: Map keys must be unique\n$/);
        expect(repo.read(rel)).toBe(text);
    });

    test("invalid stack config: exit 6, every error named, file untouched", async () => {
        const rel = repo.stackFile("dev");
        repo.setConfig("dev", "backups", { retention: 0 });
        repo.setConfig("dev", "cluster", "bad cluster name");
        const before = repo.read(rel);
        const r = await repo.ctl(["phase", "set", "rust-read-only", "--stack", "dev"]);
        expect(r).toEqual({
            code: EXIT.INVALID_CONFIG,
            stdout: "",
            stderr:
                "migration-ctl: stacks/Pulumi.dev.yaml: invalid stack config (2 error(s)); nothing written\n" +
                "  - stacks/Pulumi.dev.yaml: pve-migration:cluster: must be a cluster name (letters, digits, '.', '_', '-')\n" +
                "  - stacks/Pulumi.dev.yaml: pve-migration:backups.retention: must keep at least 1 backup\n",
        });
        expect(repo.read(rel)).toBe(before);
    });

    test("unknown git revision: exit 7 (plan --base and check --base); not a git repository: exit 7", async () => {
        oneLine(await repo.ctl(["plan", "--stack", "dev", "--base", "v9.9.9"]), EXIT.UNKNOWN_REV, `--base: unknown git revision "v9.9.9" in ${repo.dir}`);
        oneLine(await repo.ctl(["check", "--base", "HEAD~5"]), EXIT.UNKNOWN_REV, `--base: unknown git revision "HEAD~5" in ${repo.dir}`);
        const plain = fs.mkdtempSync(path.join(os.tmpdir(), "ctl-nogit-"));
        try {
            fs.cpSync(repo.path("stacks"), path.join(plain, "stacks"), { recursive: true });
            oneLine(await repo.ctl(["check", "--base", "main"], { cwd: plain }), EXIT.UNKNOWN_REV, `--base main: ${plain} is not a git repository`);
        } finally {
            fs.rmSync(plain, { recursive: true, force: true });
        }
    });

    test("usage errors: exit 2, one line naming the argument and the help to read", async () => {
        const usage = (m: string, words = "") => `${m} (see migration-ctl${words ? ` ${words}` : ""} --help)`;
        oneLine(await repo.ctl([]), EXIT.USAGE, usage("missing command (phase, rollback, plan, health, check, up, apply, color, diagnostics, drift, guard)"));
        oneLine(
            await repo.ctl(["promote"]),
            EXIT.USAGE,
            usage('unknown command "promote" (phase, rollback, plan, health, check, up, apply, color, diagnostics, drift, guard)'),
        );
        oneLine(await repo.ctl(["phase"]), EXIT.USAGE, usage("phase: missing sub-command (get, set)", "phase"));
        oneLine(await repo.ctl(["phase", "unset"]), EXIT.USAGE, usage('phase: unknown sub-command "unset" (get, set)', "phase"));
        oneLine(await repo.ctl(["diagnostics"]), EXIT.USAGE, usage("diagnostics: missing sub-command (collect, compare)", "diagnostics"));
        oneLine(await repo.ctl(["phase", "set", "perl-only"]), EXIT.USAGE, usage("phase set: --stack is required", "phase set"));
        oneLine(await repo.ctl(["phase", "set", "perl-only", "--stack"]), EXIT.USAGE, usage("phase set: --stack needs a value", "phase set"));
        oneLine(await repo.ctl(["phase", "set", "--stack", "dev"]), EXIT.USAGE, usage("phase set: missing <phase>", "phase set"));
        oneLine(await repo.ctl(["phase", "set", "perl-only", "extra", "--stack", "dev"]), EXIT.USAGE, usage('phase set: unexpected argument "extra"', "phase set"));
        oneLine(await repo.ctl(["health", "--stack", "dev"]), EXIT.USAGE, usage("health: unknown flag --stack", "health"));
        oneLine(await repo.ctl(["health", "--verbose"]), EXIT.USAGE, usage("health: unknown flag --verbose", "health"));
        oneLine(
            await repo.ctl(["health", "--json=yes"]),
            EXIT.USAGE,
            usage('health: --json takes no value (got "yes"), or is not a flag of this command', "health"),
        );
        oneLine(
            await repo.ctl(["health", "--now", "yesterday"]),
            EXIT.USAGE,
            usage('--now: "yesterday" is not an ISO time with a zone (e.g. 2025-06-01T12:00:00Z)', "health"),
        );
        oneLine(
            await repo.ctl(["plan", "--stack", "dev", "--from", "perl-only", "--base", "main"]),
            EXIT.USAGE,
            usage("plan: give --from or --base, not both", "plan"),
        );
        oneLine(await repo.ctl(["health", "--repo", "/nonexistent/x"]), EXIT.USAGE, usage("--repo: /nonexistent/x has no stacks/ folder", "health"));
        oneLine(await repo.ctl(["--repo", "/nonexistent/x", "health"]), EXIT.USAGE, usage("--repo: /nonexistent/x has no stacks/ folder", "health"));
    });

    test("outside a repository: the error says to pass --repo", async () => {
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "ctl-outside-"));
        try {
            oneLine(
                await repo.ctl(["phase", "get"], { cwd: empty }),
                EXIT.USAGE,
                `${empty} holds no stacks/ folder: run migration-ctl inside the repository or pass --repo DIR (the folder that holds stacks/) (see migration-ctl phase get --help)`,
            );
            const r = await repo.ctl(["--repo", repo.dir, "phase", "get", "--stack", "dev"], { cwd: empty });
            expect(r).toEqual({ code: EXIT.OK, stdout: "dev  perl-only  deployed: unknown (no pulumi CLI)\n", stderr: "" });
        } finally {
            fs.rmSync(empty, { recursive: true, force: true });
        }
    });
});

describe("--help", () => {
    const commands: string[][] = [
        [],
        ["phase"],
        ["phase", "get"],
        ["phase", "set"],
        ["rollback"],
        ["plan"],
        ["health"],
        ["check"],
        ["color"],
        ["color", "get"],
        ["color", "set"],
        ["color", "flip"],
        ["diagnostics"],
        ["diagnostics", "collect"],
        ["diagnostics", "compare"],
    ];

    test.each(commands.map((w) => [`migration-ctl ${w.join(" ")}`.trim(), w] as const))("%s --help prints its usage and every exit code", async (_name, words) => {
        for (const h of ["--help", "-h"]) {
            const r = await repo.ctl([...words, h]);
            expect(r).toEqual({ code: EXIT.OK, stdout: help(words.join(" ")), stderr: "" });
        }
        const text = help(words.join(" "));
        expect(text.split("\n")[0]).toMatch(new RegExp(`^Usage: migration-ctl ${words.join(" ")}${words.length ? " " : ""}\\[options\\]`));
        for (const code of Object.values(EXIT)) expect(text).toMatch(new RegExp(`\\n  ${code} +\\S`));
    });

    test("the main help lists every command with its one-line summary", () => {
        const lines = help("").split("\n");
        const at = lines.indexOf("Commands:");
        expect(lines.slice(at + 1, at + 12).map((l) => l.trim().split(/\s{2,}/))).toEqual([
            ["phase", "configured and deployed phase of the stacks"],
            ["rollback [options]", "write the previous (or a given lower) phase"],
            ["plan [options]", "which nodes change, which steps run on each, in order"],
            ["health [options]", "phase uniformity, ring order, soak of all stacks"],
            ["check [options]", "check every stack config change since REV (pull requests)"],
            ["up [options]", "the main job in one command: gates, policies, pulumi up (Automation API)"],
            ["apply [options] <DIR>", "pulumi up --plan on exactly a plan saved by plan --out"],
            ["color", "blue-green active color (pve-migration:blueGreen)"],
            ["diagnostics", "diagnostics bundles: collect from the nodes, compare two"],
            ["drift [options]", "which nodes differ from what the stack deployed (read only)"],
            ["guard [options]", "the automatic rollback guard of a stack (pve-migration:rollback)"],
        ]);
    });

    test("migration-ctl help <command> [<sub-command>]", async () => {
        expect((await repo.ctl(["help"])).stdout).toBe(help(""));
        expect((await repo.ctl(["help", "check"])).stdout).toBe(help("check"));
        expect((await repo.ctl(["help", "phase", "set"])).stdout).toBe(help("phase set"));
        expect((await repo.ctl(["help", "phase"])).stdout).toBe(help("phase"));
    });

    test("help needs no repository and ignores other flags", async () => {
        const r = await repo.ctl(["phase", "set", "rust-sdn", "--stack", "nope", "--help"], { cwd: os.tmpdir() });
        expect(r).toEqual({ code: EXIT.OK, stdout: help("phase set"), stderr: "" });
    });

    test("--version prints the package version", async () => {
        const version = JSON.parse(fs.readFileSync(path.join(__dirname, "../../package.json"), "utf8")).version;
        expect(await repo.ctl(["--version"], { cwd: os.tmpdir() })).toEqual({ code: EXIT.OK, stdout: `${version}\n`, stderr: "" });
    });

    test("every flag a command's help names is accepted by that command", async () => {
        const flagsOf = (key: string) => [...new Set([...help(key).matchAll(/(--[a-z-]+)/g)].map((m) => m[1]))];
        expect(flagsOf("plan")).toEqual(
            expect.arrayContaining(["--stack", "--from", "--base", "--to", "--json", "--repo", "--now", "--deployed-file", "--help", "--version"]),
        );
        for (const [key, argv] of [
            ["check", ["check", "--base", "main", "--json"]],
            ["health", ["health", "--json"]],
            ["rollback", ["rollback", "--stack", "canary-a", "--to", "perl-only", "--dry-run", "--json"]],
            ["phase get", ["phase", "get", "--stack", "dev", "--json"]],
            ["phase set", ["phase", "set", "perl-only", "--stack", "dev", "--dry-run", "--json"]],
        ] as const) {
            const r = await repo.ctl([...argv, "--repo", repo.dir, "--now", "2026-11-01T00:00:00Z"]);
            expect([key, r.stderr.includes("unknown flag")]).toEqual([key, false]);
        }
    });
});
