/**
 * `--json` on every command that writes (phase set, rollback, color set, color flip): one JSON
 * object on stdout with a stable shape (schemaVersion 1), the file written as without --json,
 * errors still one line on stderr.
 */
import * as fs from "fs";
import * as path from "path";
import { EXIT } from "../../components/ctl/errors";
import { FIXTURES, TestRepo } from "./helpers";

const NOW = "2026-11-01T12:00:00Z";
let repo: TestRepo;

beforeEach(() => {
    repo = new TestRepo();
    repo.setPhases({ "canary-a": "rust-basic-write", "canary-b": "rust-read-only", prod: "perl-only", dev: "perl-only" });
    repo.write("stacks/Pulumi.bg.yaml", fs.readFileSync(path.join(FIXTURES, "Pulumi.bg.yaml"), "utf8"));
    repo.commit("baseline");
});
afterEach(() => repo.cleanup());

const KEYS = ["schemaVersion", "command", "stack", "file", "from", "to", "kind", "changed", "written", "dryRun", "diff", "notes", "warnings"];

async function json(args: string[]): Promise<Record<string, unknown>> {
    const r = await repo.ctl([...args, "--json", "--now", NOW]);
    expect([r.code, r.stderr]).toEqual([EXIT.OK, ""]);
    const out = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(KEYS);
    return out;
}

test("phase set --json: the rollback written, the diff in the object", async () => {
    const out = await json(["phase", "set", "perl-only", "--stack", "canary-b"]);
    expect(out).toEqual({
        schemaVersion: 1,
        command: "phase set",
        stack: "canary-b",
        file: "stacks/Pulumi.canary-b.yaml",
        from: "rust-read-only",
        to: "perl-only",
        kind: "rollback",
        changed: true,
        written: true,
        dryRun: false,
        diff: expect.stringMatching(
            /^--- a\/stacks\/Pulumi\.canary-b\.yaml\n\+\+\+ b\/stacks\/Pulumi\.canary-b\.yaml\n@@ [^\n]+\n(.*\n)*-  pve-migration:phase: rust-read-only\n\+  pve-migration:phase: perl-only\n/,
        ),
        notes: [],
        warnings: [],
    });
    expect(repo.read("stacks/Pulumi.canary-b.yaml")).toContain("  pve-migration:phase: perl-only\n");
});

test("phase set --json to the configured phase: nothing to change, nothing written", async () => {
    const before = repo.read("stacks/Pulumi.dev.yaml");
    expect(await json(["phase", "set", "perl-only", "--stack", "dev"])).toEqual({
        schemaVersion: 1,
        command: "phase set",
        stack: "dev",
        file: "stacks/Pulumi.dev.yaml",
        from: "perl-only",
        to: "perl-only",
        kind: "none",
        changed: false,
        written: false,
        dryRun: false,
        diff: "",
        notes: [],
        warnings: [],
    });
    expect(repo.read("stacks/Pulumi.dev.yaml")).toBe(before);
});

test("phase set --json promotion: the evidence warnings are in the object", async () => {
    repo.clearEvidence();
    const out = await json(["phase", "set", "rust-read-only", "--stack", "dev", "--dry-run"]);
    expect([out.kind, out.changed, out.written, out.dryRun]).toEqual(["promotion", true, false, true]);
    expect(out.warnings).toEqual([]);
    const promote = await json(["phase", "set", "rust-advanced", "--stack", "canary-a", "--dry-run"]);
    expect(promote.kind).toBe("promotion");
    expect(promote.warnings).toEqual([
        "migration-ctl check will refuse this promotion until: missing evidence stacks/evidence/canary-a/rust-basic-write.json (needed to leave rust-basic-write by promotion: contract tests and metrics over the soak)",
    ]);
});

test("rollback --json --dry-run: the diff, nothing written", async () => {
    const before = repo.read("stacks/Pulumi.canary-a.yaml");
    const out = await json(["rollback", "--stack", "canary-a", "--dry-run"]);
    expect([out.command, out.from, out.to, out.kind, out.changed, out.written, out.dryRun]).toEqual([
        "rollback",
        "rust-basic-write",
        "rust-read-only",
        "rollback",
        true,
        false,
        true,
    ]);
    expect(out.diff).toContain("-  pve-migration:phase: rust-basic-write\n+  pve-migration:phase: rust-read-only\n");
    expect(repo.read("stacks/Pulumi.canary-a.yaml")).toBe(before);
});

test("color flip --json and color set --json", async () => {
    const flip = await json(["color", "flip", "--stack", "bg"]);
    expect([flip.command, flip.stack, flip.from, flip.to, flip.kind, flip.changed, flip.written]).toEqual([
        "color flip",
        "bg",
        "blue",
        "green",
        "color",
        true,
        true,
    ]);
    expect(flip.diff).toContain("-    activeColor: blue    # traffic goes here\n+    activeColor: green    # traffic goes here\n");
    expect(flip.notes).toEqual([
        "pve-migration:blueGreen.activeColor: blue -> green at 2026-11-01T12:00:00Z; blue (0.4.2) is the rollback target until pve-migration:blueGreen.rollbackTarget is set to false, then scales down 1800s after the flip",
    ]);
    const same = await json(["color", "set", "green", "--stack", "bg"]);
    expect(same).toEqual({
        schemaVersion: 1,
        command: "color set",
        stack: "bg",
        file: "stacks/Pulumi.bg.yaml",
        from: "green",
        to: "green",
        kind: "color",
        changed: false,
        written: false,
        dryRun: false,
        diff: "",
        notes: ["pve-migration:blueGreen.activeColor is already green; nothing to change"],
        warnings: [],
    });
});

test("an error under --json is still one line on stderr, nothing on stdout", async () => {
    const r = await repo.ctl(["phase", "set", "rust-turbo", "--stack", "dev", "--json"]);
    expect(r).toEqual({
        code: EXIT.UNKNOWN_VALUE,
        stdout: "",
        stderr: 'migration-ctl: phase set: unknown phase "rust-turbo" (one of perl-only, rust-read-only, rust-basic-write, rust-advanced, rust-sdn, rust-full)\n',
    });
});
