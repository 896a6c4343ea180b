/**
 * `phase get`, `phase set` and `rollback` on real repositories (in-process): in-place edits,
 * refusals, ring order, deployed states.
 */
import * as fs from "fs";
import * as path from "path";
import { EXIT } from "../../components/ctl/errors";
import { FIXTURES, GOLDEN, TestRepo, evidenceText, expectGolden } from "./helpers";

const NOW = "2026-11-01T12:00:00Z";
let repo: TestRepo;

beforeEach(() => {
    repo = new TestRepo();
    repo.setPhases({ "canary-a": "rust-basic-write", "canary-b": "rust-read-only", prod: "perl-only", dev: "perl-only" });
    repo.commit("baseline");
});
afterEach(() => repo.cleanup());

/** Lines that differ between two texts of the same line count: [old, new] pairs. */
function changedLines(a: string, b: string): [string, string][] {
    const x = a.split("\n");
    const y = b.split("\n");
    expect(y.length).toBe(x.length);
    return x.flatMap((l, i) => (l === y[i] ? [] : [[l, y[i]] as [string, string]]));
}

describe("phase set: edits in place", () => {
    test("comments, key order, spacing and quoting are kept byte for byte (golden file)", async () => {
        repo.write("stacks/Pulumi.lab.yaml", fs.readFileSync(path.join(FIXTURES, "Pulumi.lab.yaml"), "utf8"));
        const r = await repo.ctl(["phase", "set", "rust-basic-write", "--stack", "lab", "--now", NOW]);
        expect(r.code).toBe(EXIT.OK);
        expect(r.stderr).toBe("");
        expectGolden("Pulumi.lab.after-phase-set.yaml", repo.read("stacks/Pulumi.lab.yaml"));
        expect(r.stdout).toBe(
            [
                "--- a/stacks/Pulumi.lab.yaml",
                "+++ b/stacks/Pulumi.lab.yaml",
                "@@ -7,7 +7,7 @@",
                '   pve-migration:sandboxDir: ".sandbox/lab"',
                " ",
                "   # The phase. Promote one step at a time; roll back to any lower phase.",
                "-  pve-migration:phase: 'rust-read-only'   # quoted on purpose",
                "+  pve-migration:phase: 'rust-basic-write'   # quoted on purpose",
                '   pve-migration:perlApi: { baseUrl: "https://lab.example.invalid:8006", timeout: 60 }',
                "   pve-migration:fallbackEnabled: true",
                "   pve-migration:package:",
                "lab: rust-read-only -> rust-basic-write (promotion) written to stacks/Pulumi.lab.yaml",
                "next: commit stacks/Pulumi.lab.yaml, open a pull request (migration-ctl check --base <target branch> runs there), merge, then pulumi up --stack lab",
                "",
            ].join("\n"),
        );
    });

    test("the golden file differs from the fixture in the phase value only", () => {
        const before = fs.readFileSync(path.join(FIXTURES, "Pulumi.lab.yaml"), "utf8");
        const after = fs.readFileSync(path.join(GOLDEN, "Pulumi.lab.after-phase-set.yaml"), "utf8");
        expect(changedLines(before, after)).toEqual([
            ["  pve-migration:phase: 'rust-read-only'   # quoted on purpose", "  pve-migration:phase: 'rust-basic-write'   # quoted on purpose"],
        ]);
    });

    test.each(["canary-a", "canary-b", "dev", "prod"])("on the repository's %s stack file exactly the phase line changes", async (stack) => {
        repo.setPhase(stack, "rust-read-only");
        const before = repo.read(repo.stackFile(stack));
        const r = await repo.ctl(["phase", "set", "perl-only", "--stack", stack]);
        expect(r.code).toBe(EXIT.OK);
        expect(changedLines(before, repo.read(repo.stackFile(stack)))).toEqual([["  pve-migration:phase: rust-read-only", "  pve-migration:phase: perl-only"]]);
    });

    test("--dry-run prints the diff and writes nothing", async () => {
        const before = repo.read(repo.stackFile("canary-a"));
        const r = await repo.ctl(["phase", "set", "perl-only", "--stack", "canary-a", "--dry-run"]);
        expect(r.code).toBe(EXIT.OK);
        expect(r.stdout).toContain("-  pve-migration:phase: rust-basic-write\n+  pve-migration:phase: perl-only\n");
        expect(r.stdout).toContain("(dry run: stacks/Pulumi.canary-a.yaml not written)\n");
        expect(repo.read(repo.stackFile("canary-a"))).toBe(before);
    });

    test("setting the phase a stack is already in changes nothing", async () => {
        const before = repo.read(repo.stackFile("canary-b"));
        const r = await repo.ctl(["phase", "set", "rust-read-only", "--stack", "canary-b"]);
        expect(r).toEqual({ code: EXIT.OK, stdout: "canary-b: already in rust-read-only; nothing to change\n", stderr: "" });
        expect(repo.read(repo.stackFile("canary-b"))).toBe(before);
    });

    test("a promotion still lacking evidence is written, with the check's future refusal as a warning", async () => {
        const r = await repo.ctl(["phase", "set", "rust-advanced", "--stack", "canary-a", "--now", NOW]);
        expect(r.code).toBe(EXIT.OK);
        expect(r.stderr).toBe(
            "warning: migration-ctl check will refuse this promotion until: missing evidence stacks/evidence/canary-a/rust-basic-write.json " +
                "(needed to leave rust-basic-write by promotion: contract tests and metrics over the soak)\n",
        );
        expect(repo.read(repo.stackFile("canary-a"))).toContain("  pve-migration:phase: rust-advanced\n");
    });
});

describe("phase set: refusals leave the file untouched", () => {
    async function refused(args: string[], stack: string, stderr: string, deployed?: string): Promise<void> {
        const before = repo.read(repo.stackFile(stack));
        const r = await repo.ctl([...args, "--now", NOW, ...(deployed ? ["--deployed-file", deployed] : [])]);
        expect(r).toEqual({ code: EXIT.REFUSED, stdout: "", stderr });
        expect(repo.read(repo.stackFile(stack))).toBe(before);
    }

    test("a skipped phase, with the reason from checkTransition", async () => {
        repo.setPhase("canary-a", "rust-read-only");
        await refused(
            ["phase", "set", "rust-advanced", "--stack", "canary-a"],
            "canary-a",
            "migration-ctl: refused: canary-a rust-read-only -> rust-advanced\n" +
                "  - promotion from rust-read-only to rust-advanced skips 1 phase(s); promote one phase at a time (next: rust-basic-write)\n",
        );
    });

    test("ahead of the upstream's configured phase", async () => {
        repo.setPhase("canary-b", "perl-only");
        await refused(
            ["phase", "set", "rust-read-only", "--stack", "prod"],
            "prod",
            "migration-ctl: refused: prod perl-only -> rust-read-only\n" +
                "  - ring prod would be ahead of its upstream canary-b: rust-read-only is after perl-only (promote canary-b first)\n",
        );
    });

    test("a ring already ahead of an upstream that rolled back: roll it back, or promote the upstream (both named)", async () => {
        repo.setPhases({ "canary-a": "rust-read-only", "canary-b": "rust-basic-write" });
        await refused(
            ["phase", "set", "rust-advanced", "--stack", "canary-b"],
            "canary-b",
            "migration-ctl: refused: canary-b rust-basic-write -> rust-advanced\n" +
                "  - ring canary-b would be ahead of its upstream canary-a: rust-advanced is after rust-read-only (roll canary-b back to rust-read-only, or promote canary-a to rust-advanced first, 2 promotions)\n",
        );
    });

    test("level with an upstream that has not soaked; allowed once it has (deployed entry time)", async () => {
        await refused(
            ["phase", "set", "rust-basic-write", "--stack", "canary-b"],
            "canary-b",
            "migration-ctl: refused: canary-b rust-read-only -> rust-basic-write\n" +
                "  - ring canary-b must stay at least one phase behind canary-a until canary-a has soaked in rust-basic-write (7d0h), but canary-a's phaseEnteredAt in rust-basic-write is unknown, so its soak cannot be counted: a pulumi up --stack canary-a that completes records it in canary-a's stack outputs; migration-ctl reads it from pulumi stack output, from --deployed-file, or from canary-a's passing evidence stacks/evidence/canary-a/rust-basic-write.json\n",
        );
        const soon = repo.writeDeployed({ "canary-a": { phase: "rust-basic-write", phaseEnteredAt: "2026-10-30T12:00:00Z" } });
        await refused(
            ["phase", "set", "rust-basic-write", "--stack", "canary-b"],
            "canary-b",
            "migration-ctl: refused: canary-b rust-read-only -> rust-basic-write\n" +
                "  - ring canary-b must stay at least one phase behind canary-a until canary-a has soaked in rust-basic-write (2d0h of 7d0h)\n",
            soon,
        );
        const soaked = repo.writeDeployed({ "canary-a": { phase: "rust-basic-write", phaseEnteredAt: "2026-10-24T12:00:00Z" } });
        const r = await repo.ctl(["phase", "set", "rust-basic-write", "--stack", "canary-b", "--now", NOW, "--deployed-file", soaked]);
        expect(r.code).toBe(EXIT.OK);
        expect(repo.read(repo.stackFile("canary-b"))).toContain("  pve-migration:phase: rust-basic-write\n");
    });

    test("level with an upstream whose passing evidence shows the soak is allowed", async () => {
        repo.writeEvidence(
            "canary-a",
            "rust-basic-write",
            evidenceText({
                stack: "canary-a",
                phase: "rust-basic-write",
                nodes: ["pve-east-01"],
                enteredAt: "2026-10-20T00:00:00Z",
                collectedAt: "2026-10-28T00:00:00Z",
            }),
        );
        const r = await repo.ctl(["phase", "set", "rust-basic-write", "--stack", "canary-b", "--now", NOW]);
        expect(r.code).toBe(EXIT.OK);
    });

    test("more than one phase past the deployed phase", async () => {
        const deployed = repo.writeDeployed({ "canary-a": { phase: "rust-read-only", phaseEnteredAt: "2026-10-01T00:00:00Z" } });
        await refused(
            ["phase", "set", "rust-advanced", "--stack", "canary-a"],
            "canary-a",
            "migration-ctl: refused: canary-a rust-basic-write -> rust-advanced\n" +
                "  - deployed phase is rust-read-only: promotion from rust-read-only to rust-advanced skips 1 phase(s); promote one phase at a time (next: rust-basic-write)\n",
            deployed,
        );
    });
});

describe("rollbacks", () => {
    test("phase set to any lower phase is always allowed: rust-sdn to perl-only, ring and evidence ignored", async () => {
        repo.setPhases({ "canary-a": "rust-sdn", "canary-b": "rust-advanced" });
        repo.clearEvidence();
        const r = await repo.ctl(["phase", "set", "perl-only", "--stack", "canary-a", "--now", NOW]);
        expect(r.code).toBe(EXIT.OK);
        expect(r.stderr).toBe("");
        expect(r.stdout).toContain("canary-a: rust-sdn -> perl-only (rollback) written to stacks/Pulumi.canary-a.yaml\n");
        expect(r.stdout).toContain("rollback: allowed at any time, no evidence needed; pulumi up restores the latest verified backup\n");
        expect(repo.read(repo.stackFile("canary-a"))).toContain("  pve-migration:phase: perl-only\n");
    });

    test("rollback writes the previous phase", async () => {
        const r = await repo.ctl(["rollback", "--stack", "canary-a"]);
        expect(r.code).toBe(EXIT.OK);
        expect(r.stdout).toContain("canary-a: rust-basic-write -> rust-read-only (rollback) written to stacks/Pulumi.canary-a.yaml\n");
        expect(r.stdout).toContain("rollback: allowed at any time, no evidence needed; pulumi up restores the latest verified backup\n");
        expect(repo.read(repo.stackFile("canary-a"))).toContain("  pve-migration:phase: rust-read-only\n");
    });

    test("rollback --to a lower phase", async () => {
        repo.setPhase("canary-a", "rust-sdn");
        const r = await repo.ctl(["rollback", "--stack", "canary-a", "--to", "perl-only"]);
        expect(r.code).toBe(EXIT.OK);
        expect(repo.read(repo.stackFile("canary-a"))).toContain("  pve-migration:phase: perl-only\n");
    });

    test("rollback --to a higher phase is refused", async () => {
        const before = repo.read(repo.stackFile("canary-a"));
        for (const to of ["rust-sdn", "rust-full"]) {
            const r = await repo.ctl(["rollback", "--stack", "canary-a", "--to", to]);
            expect(r).toEqual({
                code: EXIT.REFUSED,
                stdout: "",
                stderr: `migration-ctl: refused: --to ${to} is not lower than canary-a's configured phase rust-basic-write; a rollback goes to a lower phase (promote with phase set)\n`,
            });
        }
        expect(repo.read(repo.stackFile("canary-a"))).toBe(before);
    });

    test("rollback --to the phase the file already has: exit 0, nothing to change, file untouched", async () => {
        const before = repo.read(repo.stackFile("canary-a"));
        expect(await repo.ctl(["rollback", "--stack", "canary-a", "--to", "rust-basic-write"])).toEqual({
            code: EXIT.OK,
            stdout: "canary-a: already in rust-basic-write; nothing to change\n",
            stderr: "",
        });
        expect(await repo.ctl(["rollback", "--stack", "prod", "--to", "perl-only"])).toEqual({
            code: EXIT.OK,
            stdout: "prod: already in perl-only; nothing to change\n",
            stderr: "",
        });
        expect(repo.read(repo.stackFile("canary-a"))).toBe(before);
    });

    test("rollback from perl-only is refused; --to an unknown phase is exit 4", async () => {
        expect(await repo.ctl(["rollback", "--stack", "prod"])).toEqual({
            code: EXIT.REFUSED,
            stdout: "",
            stderr: "migration-ctl: refused: prod is in perl-only, the lowest phase; nothing to roll back to\n",
        });
        expect(await repo.ctl(["rollback", "--stack", "canary-a", "--to", "perl"])).toEqual({
            code: EXIT.UNKNOWN_VALUE,
            stdout: "",
            stderr: 'migration-ctl: --to: unknown phase "perl" (one of perl-only, rust-read-only, rust-basic-write, rust-advanced, rust-sdn, rust-full)\n',
        });
    });

    test("leaving rust-full with the fallback disabled turns the fallback back on", async () => {
        repo.setPhase("dev", "rust-full");
        repo.setConfig("dev", "fallbackEnabled", false);
        const r = await repo.ctl(["rollback", "--stack", "dev"]);
        expect(r.code).toBe(EXIT.OK);
        expect(r.stdout).toContain("note: pve-migration:fallbackEnabled set back to true (required below rust-full)\n");
        const text = repo.read(repo.stackFile("dev"));
        expect(text).toContain("  pve-migration:phase: rust-sdn\n");
        expect(text).toContain("  pve-migration:fallbackEnabled: true\n");
    });
});

describe("phase get", () => {
    test("every stack, configured and deployed (pending marked)", async () => {
        const deployed = repo.writeDeployed({
            "canary-a": { phase: "rust-read-only", phaseEnteredAt: "2026-10-20T08:00:00Z", previousPhase: "perl-only" },
            "canary-b": {},
        });
        const r = await repo.ctl(["phase", "get", "--deployed-file", deployed]);
        expect(r).toEqual({
            code: EXIT.OK,
            stderr: "",
            stdout:
                "canary-a  rust-basic-write  deployed: rust-read-only since 2026-10-20T08:00:00Z (--deployed-file)  (pending pulumi up)\n" +
                "canary-b  rust-read-only    deployed: never deployed (--deployed-file)  (pending pulumi up)\n" +
                "dev       perl-only         deployed: unknown (not in --deployed-file)\n" +
                "prod      perl-only         deployed: unknown (not in --deployed-file)\n",
        });
    });

    test("one stack, no pulumi CLI: deployed unknown, said so", async () => {
        expect(await repo.ctl(["phase", "get", "--stack", "prod"])).toEqual({
            code: EXIT.OK,
            stderr: "",
            stdout: "prod  perl-only  deployed: unknown (no pulumi CLI)\n",
        });
    });

    test("--json", async () => {
        const r = await repo.ctl(["phase", "get", "--stack", "canary-b", "--json"]);
        expect(JSON.parse(r.stdout)).toEqual({
            schemaVersion: 1,
            command: "phase get",
            stacks: [
                {
                    stack: "canary-b",
                    file: "stacks/Pulumi.canary-b.yaml",
                    phase: "rust-read-only",
                    configValid: true,
                    deployed: { known: false, phase: null, phaseEnteredAt: null, source: null, reason: "no pulumi CLI" },
                    error: null,
                },
            ],
        });
    });

    test("a malformed stack among others: the others are listed, exit 5", async () => {
        repo.write(repo.stackFile("dev"), "config:\n  pve-migration:phase: perl-only\n   bad: indent\n");
        const r = await repo.ctl(["phase", "get"]);
        expect(r.code).toBe(EXIT.MALFORMED_YAML);
        expect(r.stdout.split("\n")[2]).toBe(
            "dev       error: stacks/Pulumi.dev.yaml: malformed YAML at line 2, column 24: Nested mappings are not allowed in compact mappings",
        );
        expect(r.stdout.split("\n")[3]).toBe("prod      perl-only         deployed: unknown (no pulumi CLI)");
    });
});
