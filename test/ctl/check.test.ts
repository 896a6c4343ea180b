/**
 * `migration-ctl check --base <rev>` on real git repositories: a base commit on main, the pull
 * request's change committed on a branch (or left in the working tree), the check run against
 * main. Time pinned with --now; deployed states pinned with --deployed-file.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CheckReport } from "../../components/ctl/check";
import { EXIT } from "../../components/ctl/errors";
import { NODES, TestRepo, evidenceText, expectCheckGolden } from "./helpers";

const NOW = "2026-11-01T12:00:00Z";

let repo: TestRepo;
let noDeployed: string;

/** main: canary-a rust-read-only (with the example evidence for leaving it), the rest perl-only. */
beforeEach(() => {
    repo = new TestRepo();
    repo.setPhases({ "canary-a": "rust-read-only", "canary-b": "perl-only", prod: "perl-only", dev: "perl-only" });
    repo.commit("baseline");
    repo.git("checkout", "-q", "-b", "pr");
    noDeployed = repo.writeDeployed({});
});

afterEach(() => repo.cleanup());

async function checkJson(extra: string[] = []): Promise<{ code: number; report: CheckReport; stdout: string }> {
    const r = await repo.ctl(["check", "--base", "main", "--json", "--now", NOW, ...extra]);
    expect(r.stderr).toBe("");
    return { code: r.code, report: JSON.parse(r.stdout) as CheckReport, stdout: r.stdout };
}

function stackOf(report: CheckReport, stack: string) {
    const s = report.stacks.find((x) => x.stack === stack);
    if (!s) throw new Error(`no ${stack} in report`);
    return s;
}

describe("check: promotions", () => {
    test("a valid promotion with evidence passes (golden JSON)", async () => {
        repo.setPhase("canary-a", "rust-basic-write");
        repo.commit("promote canary-a");
        const { code, report, stdout } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.OK);
        expect(report.ok).toBe(true);
        const a = stackOf(report, "canary-a");
        expect(a.change).toBe("modified");
        expect(a.changedKeys).toEqual(["pve-migration:phase"]);
        expect([a.basePhase, a.phase, a.transition?.kind]).toEqual(["rust-read-only", "rust-basic-write", "promotion"]);
        expect(a.evidence).toMatchObject({ path: "stacks/evidence/canary-a/rust-read-only.json", required: true, present: true, valid: true, passed: true });
        expect(a.evidence?.soakedSeconds).toBe(26 * 3600 + 30 * 60);
        expect(a.violations).toEqual([]);
        expect(report.stacks.map((s) => s.change)).toEqual(["modified", "unchanged", "unchanged", "unchanged"]);
        expectCheckGolden("check-valid-promotion.json", stdout, repo.git("rev-parse", "main").trim());
    });

    test("a promotion outside the stack's change windows is a violation naming the next window; inside one it passes", async () => {
        repo.setPhase("canary-a", "rust-basic-write");
        const file = repo.stackFile("canary-a");
        const promoted = repo.read(file).trimEnd();
        /** The stack file with pve-migration:windows appended (its weekly windows in UTC). */
        const withWindows = (days: string, end: string) =>
            repo.write(file, `${promoted}\n  pve-migration:windows:\n    timeZone: UTC\n    weekly:\n      - { days: [${days}], start: "00:00", end: "${end}" }\n`);
        withWindows("sat", "01:00");
        repo.commit("promote canary-a inside its windows only");
        const { code, report } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.VIOLATIONS);
        // --now is Sunday 2026-11-01 12:00 UTC.
        expect(stackOf(report, "canary-a").violations).toEqual([
            "pve-migration:windows: a promotion is allowed only inside a change window: sun 2026-11-01 12:00 UTC is outside every weekly change window; the next window opens sat 2026-11-07 00:00 UTC (2026-11-07T00:00:00Z); a rollback is always allowed",
        ]);
        withWindows("sun", "24:00");
        repo.commit("open on Sundays");
        const open = await checkJson(["--deployed-file", noDeployed]);
        expect([open.code, stackOf(open.report, "canary-a").violations]).toEqual([EXIT.OK, []]);
    });

    test("a skipped phase is a violation naming the next phase", async () => {
        repo.setPhase("canary-a", "rust-advanced");
        repo.commit("skip");
        const { code, report } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.VIOLATIONS);
        expect(stackOf(report, "canary-a").violations).toEqual([
            "pve-migration:phase: promotion from rust-read-only to rust-advanced skips 1 phase(s); promote one phase at a time (next: rust-basic-write)",
        ]);
        expect(report.violationCount).toBe(1);
    });

    test("a promotion without evidence is a violation", async () => {
        repo.remove("stacks/evidence/canary-a/rust-read-only.json");
        repo.setPhase("canary-a", "rust-basic-write");
        repo.commit("promote without evidence");
        const { code, report } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.VIOLATIONS);
        const a = stackOf(report, "canary-a");
        expect(a.evidence).toMatchObject({ required: true, present: false, valid: null, passed: false });
        expect(a.violations).toEqual([
            "missing evidence stacks/evidence/canary-a/rust-read-only.json (needed to leave rust-read-only by promotion: contract tests and metrics over the soak)",
        ]);
    });

    test("a promotion before the soak ends is a violation (evidence collected too early)", async () => {
        repo.writeEvidence(
            "canary-a",
            "rust-read-only",
            evidenceText({
                stack: "canary-a",
                phase: "rust-read-only",
                nodes: NODES["canary-a"],
                enteredAt: "2026-10-31T08:00:00Z",
                collectedAt: "2026-11-01T04:00:00Z",
            }),
        );
        repo.setPhase("canary-a", "rust-basic-write");
        repo.commit("promote early");
        const { code, report } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.VIOLATIONS);
        const a = stackOf(report, "canary-a");
        expect(a.evidence?.soakedSeconds).toBe(20 * 3600);
        expect(a.violations).toEqual(["stacks/evidence/canary-a/rust-read-only.json: soak 20h0m in rust-read-only is shorter than the required 1d0h"]);
    });

    test("a promotion before the soak ends is a violation (deployed entry time known)", async () => {
        // The evidence file claims a long soak, but the deployed phase was entered 10 hours ago.
        repo.setPhase("canary-a", "rust-basic-write");
        repo.commit("promote");
        const deployed = repo.writeDeployed({ "canary-a": { phase: "rust-read-only", phaseEnteredAt: "2026-11-01T02:00:00Z" } });
        const { code, report } = await checkJson(["--deployed-file", deployed]);
        expect(code).toBe(EXIT.VIOLATIONS);
        expect(stackOf(report, "canary-a").violations).toEqual([
            "stacks/evidence/canary-a/rust-read-only.json: evidence is from an earlier stay in rust-read-only (entered 2026-10-20T08:00:00Z); the deployed rust-read-only was entered at 2026-11-01T02:00:00Z",
            "soak: deployed in rust-read-only since 2026-11-01T02:00:00Z, 10h0m of the required 1d0h",
        ]);
    });

    test("failing evidence: fallbacks, contract failures, latency above the baseline, a missing node", async () => {
        repo.writeEvidence(
            "canary-a",
            "rust-read-only",
            evidenceText({
                stack: "canary-a",
                phase: "rust-read-only",
                nodes: ["pve-east-09"],
                enteredAt: "2026-10-20T08:00:00Z",
                collectedAt: "2026-10-22T08:00:00Z",
                fallbacks: 3,
                failed: 2,
                latency: 0.9,
            }),
        );
        repo.setPhase("canary-a", "rust-basic-write");
        repo.commit("promote on bad evidence");
        const { code, report } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.VIOLATIONS);
        const p = "stacks/evidence/canary-a/rust-read-only.json";
        expect(stackOf(report, "canary-a").violations).toEqual([
            `${p}: evidence does not cover node(s) pve-east-01`,
            `${p}: contract tests: 2 of 120 endpoint(s) differ`,
            `${p}: 3 fallback(s) over the soak window (allowed: 0)`,
            `${p}: no metrics for node(s) pve-east-01`,
            `${p}: apply latency 0.9s is above the Perl baseline 0.6s`,
        ]);
    });

    test("evidence for leaving rust-read-only without an apply latency (null: Rust applied nothing) passes; leaving a write phase it does not", async () => {
        repo.writeEvidence(
            "canary-a",
            "rust-read-only",
            evidenceText({
                stack: "canary-a",
                phase: "rust-read-only",
                nodes: NODES["canary-a"],
                enteredAt: "2026-10-20T08:00:00Z",
                collectedAt: "2026-10-22T08:00:00Z",
                latency: null,
            }),
        );
        repo.setPhase("canary-a", "rust-basic-write");
        repo.commit("promote on evidence without latency");
        const { code, report } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.OK);
        expect(stackOf(report, "canary-a").violations).toEqual([]);
        expect(stackOf(report, "canary-a").evidence).toMatchObject({ present: true, valid: true, passed: true, reasons: [] });
    });

    test("an invalid pve-migration:monitoring block is a violation, as pulumi up refuses it", async () => {
        repo.setConfig("canary-a", "monitoring", { alerts: { perlBaselineSeconds: 0.8 }, rulesFile: { host: { name: "mon1", address: "10.20.0.9;id" } } });
        repo.commit("monitoring with a hostile address");
        const { code, report } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.VIOLATIONS);
        expect(stackOf(report, "canary-a").violations).toEqual([
            "stacks/Pulumi.canary-a.yaml: pve-migration:monitoring.rulesFile.host.address: must be an IPv4 or IPv6 address or a DNS name",
        ]);
        expect(report.violationCount).toBe(1);
    });

    test("evidence collected after --now is refused", async () => {
        repo.setPhase("canary-a", "rust-basic-write");
        repo.commit("promote");
        const r = await repo.ctl(["check", "--base", "main", "--json", "--now", "2026-10-21T10:00:00Z", "--deployed-file", noDeployed]);
        expect(r.code).toBe(EXIT.VIOLATIONS);
        const a = stackOf(JSON.parse(r.stdout), "canary-a");
        expect(a.violations).toEqual(["stacks/evidence/canary-a/rust-read-only.json: collected at 2026-10-21T10:30:00Z, after now (2026-10-21T10:00:00.000Z)"]);
    });

    test("a PR that lowers soakSeconds cannot use the lower value for its own promotion", async () => {
        repo.writeEvidence(
            "canary-a",
            "rust-read-only",
            evidenceText({
                stack: "canary-a",
                phase: "rust-read-only",
                nodes: NODES["canary-a"],
                enteredAt: "2026-10-31T08:00:00Z",
                collectedAt: "2026-10-31T20:00:00Z",
            }),
        );
        repo.setConfig("canary-a", "soakSeconds", { "rust-read-only": 3600 });
        repo.setPhase("canary-a", "rust-basic-write");
        repo.commit("lower the soak and promote");
        const { code, report } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.VIOLATIONS);
        const a = stackOf(report, "canary-a");
        expect(a.changedKeys).toEqual(["pve-migration:phase", "pve-migration:soakSeconds"]);
        expect(a.violations).toEqual(["stacks/evidence/canary-a/rust-read-only.json: soak 12h0m in rust-read-only is shorter than the required 1d0h"]);
    });

    test("a deployed phase behind the base config is a violation (base not applied yet)", async () => {
        repo.setPhase("canary-a", "rust-basic-write");
        repo.commit("promote");
        const deployed = repo.writeDeployed({ "canary-a": { phase: "perl-only", phaseEnteredAt: "2026-09-01T00:00:00Z" } });
        const { code, report } = await checkJson(["--deployed-file", deployed]);
        expect(code).toBe(EXIT.VIOLATIONS);
        expect(stackOf(report, "canary-a").violations).toEqual([
            "deployed phase of canary-a is perl-only, not rust-read-only as configured before this change: apply that first (pulumi up --stack canary-a), then promote",
        ]);
    });

    test("leaving perl-only needs no evidence", async () => {
        repo.setPhase("canary-b", "rust-read-only");
        repo.commit("canary-b shadow mode");
        const { code, report } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.OK);
        const b = stackOf(report, "canary-b");
        expect(b.evidence).toMatchObject({ required: false, notRequiredBecause: "nothing routes to Rust in perl-only", passed: true });
        expect(b.notes).toEqual(["no evidence needed to leave perl-only: nothing routes to Rust in perl-only"]);
    });
});

describe("check: ring order", () => {
    test("canary-b overtaking canary-a is refused", async () => {
        repo.setPhase("canary-b", "rust-read-only");
        repo.commit("base: canary-b in rust-read-only");
        repo.git("branch", "-f", "main", "HEAD");
        repo.writeEvidence(
            "canary-b",
            "rust-read-only",
            evidenceText({
                stack: "canary-b",
                phase: "rust-read-only",
                nodes: NODES["canary-b"],
                enteredAt: "2026-10-25T00:00:00Z",
                collectedAt: "2026-10-27T00:00:00Z",
            }),
        );
        repo.setPhase("canary-b", "rust-basic-write");
        repo.commit("canary-b overtakes");
        const { code, report } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.VIOLATIONS);
        expect(stackOf(report, "canary-b").violations).toEqual([
            "pve-migration:phase: ring canary-b would be ahead of its upstream canary-a: rust-basic-write is after rust-read-only (promote canary-a first)",
        ]);
        expect(stackOf(report, "canary-b").upstream).toEqual({
            stack: "canary-a",
            phase: "rust-read-only",
            enteredAt: "2026-10-20T08:00:00Z",
            enteredAtSource: "evidence",
            soaked: true,
            soakSeconds: 86400,
        });
    });

    test("canary-b level with canary-a before canary-a has soaked is refused; after, allowed", async () => {
        repo.setPhase("canary-a", "rust-basic-write");
        repo.setPhase("canary-b", "rust-read-only");
        repo.writeEvidence(
            "canary-b",
            "rust-read-only",
            evidenceText({
                stack: "canary-b",
                phase: "rust-read-only",
                nodes: NODES["canary-b"],
                enteredAt: "2026-10-25T00:00:00Z",
                collectedAt: "2026-10-27T00:00:00Z",
            }),
        );
        repo.commit("base");
        repo.git("branch", "-f", "main", "HEAD");
        repo.setPhase("canary-b", "rust-basic-write");
        repo.commit("canary-b level with canary-a");

        // canary-a's entry into rust-basic-write is unknown: not soaked.
        let r = await checkJson(["--deployed-file", noDeployed]);
        expect(r.code).toBe(EXIT.VIOLATIONS);
        expect(stackOf(r.report, "canary-b").violations).toEqual([
            "pve-migration:phase: ring canary-b must stay at least one phase behind canary-a until canary-a has soaked in rust-basic-write (7d0h), but canary-a's phaseEnteredAt in rust-basic-write is unknown, so its soak cannot be counted: a pulumi up --stack canary-a that completes records it in canary-a's stack outputs; migration-ctl reads it from pulumi stack output, from --deployed-file, or from canary-a's passing evidence stacks/evidence/canary-a/rust-basic-write.json",
        ]);

        // Deployed 3 days ago: still not soaked.
        let deployed = repo.writeDeployed({ "canary-a": { phase: "rust-basic-write", phaseEnteredAt: "2026-10-29T12:00:00Z" } });
        r = await checkJson(["--deployed-file", deployed]);
        expect(stackOf(r.report, "canary-b").violations).toEqual([
            "pve-migration:phase: ring canary-b must stay at least one phase behind canary-a until canary-a has soaked in rust-basic-write (3d0h of 7d0h)",
        ]);
        expect(stackOf(r.report, "canary-b").upstream?.enteredAtSource).toBe("deployed");

        // Deployed 8 days ago: soaked, the promotion passes.
        deployed = repo.writeDeployed({ "canary-a": { phase: "rust-basic-write", phaseEnteredAt: "2026-10-24T12:00:00Z" } });
        r = await checkJson(["--deployed-file", deployed]);
        expect(r.code).toBe(EXIT.OK);
        expect(stackOf(r.report, "canary-b").upstream).toMatchObject({ soaked: true, enteredAtSource: "deployed" });
    });

    test("prod ahead of canary-b is refused", async () => {
        repo.setPhase("prod", "rust-read-only");
        repo.commit("prod first");
        const { code, report } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.VIOLATIONS);
        expect(stackOf(report, "prod").violations).toEqual([
            "pve-migration:phase: ring prod would be ahead of its upstream canary-b: rust-read-only is after perl-only (promote canary-b first)",
        ]);
        expect(stackOf(report, "canary-a").change).toBe("unchanged");
    });
});

describe("check: rollbacks and several stacks", () => {
    test("a rollback from rust-sdn to perl-only is allowed without evidence; a ring left ahead gets a warning", async () => {
        repo.setPhases({ "canary-a": "rust-sdn", "canary-b": "rust-advanced", prod: "rust-basic-write" });
        repo.commit("far along");
        repo.git("branch", "-f", "main", "HEAD");
        repo.clearEvidence();
        repo.setPhase("canary-a", "perl-only");
        repo.commit("roll canary-a back to Perl");
        const { code, report } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.OK);
        const a = stackOf(report, "canary-a");
        expect(a.transition).toEqual({ kind: "rollback", steps: -4, backupRequired: true, restoreRequired: true });
        expect(a.evidence).toBeNull();
        expect(a.violations).toEqual([]);
        expect(a.notes).toEqual([
            "rollback rust-sdn -> perl-only: allowed at any time, no evidence needed; pulumi up restores the latest verified backup (leaving the write phases)",
        ]);
        expect(stackOf(report, "canary-b").warnings).toEqual([
            "ring canary-b would be ahead of its upstream canary-a: rust-advanced is after perl-only (roll canary-b back to perl-only, or promote canary-a to rust-advanced, 3 promotions); a warning only: a rollback of the upstream never blocks a pull request",
        ]);
        expect(stackOf(report, "prod").warnings).toEqual([]);
        expect(report.warningCount).toBe(1);
    });

    test("two stacks changed in one pull request: both promotions checked (golden JSON)", async () => {
        repo.setPhases({ "canary-a": "rust-basic-write", "canary-b": "rust-read-only" });
        repo.commit("base");
        repo.git("branch", "-f", "main", "HEAD");
        repo.writeEvidence(
            "canary-a",
            "rust-basic-write",
            evidenceText({
                stack: "canary-a",
                phase: "rust-basic-write",
                nodes: NODES["canary-a"],
                enteredAt: "2026-10-22T00:00:00Z",
                collectedAt: "2026-10-30T00:00:00Z",
            }),
        );
        repo.writeEvidence(
            "canary-b",
            "rust-read-only",
            evidenceText({
                stack: "canary-b",
                phase: "rust-read-only",
                nodes: NODES["canary-b"],
                enteredAt: "2026-10-22T00:00:00Z",
                collectedAt: "2026-10-24T00:00:00Z",
            }),
        );
        repo.setPhases({ "canary-a": "rust-advanced", "canary-b": "rust-basic-write" });
        repo.commit("promote both canaries");
        const { code, report, stdout } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.OK);
        expect(report.stacks.filter((s) => s.transition?.kind === "promotion").map((s) => s.stack)).toEqual(["canary-a", "canary-b"]);
        // canary-b is checked against canary-a's new configured phase.
        expect(stackOf(report, "canary-b").upstream?.phase).toBe("rust-advanced");
        expectCheckGolden("check-two-stacks.json", stdout, repo.git("rev-parse", "main").trim());
    });

    test("two stacks in one pull request, one of them wrong: only that one has violations (golden JSON and text)", async () => {
        repo.setPhases({ "canary-a": "rust-basic-write", "canary-b": "perl-only" });
        repo.commit("base");
        repo.git("branch", "-f", "main", "HEAD");
        repo.writeEvidence(
            "canary-a",
            "rust-basic-write",
            evidenceText({
                stack: "canary-a",
                phase: "rust-basic-write",
                nodes: NODES["canary-a"],
                enteredAt: "2026-10-22T00:00:00Z",
                collectedAt: "2026-10-30T00:00:00Z",
            }),
        );
        repo.setPhases({ "canary-a": "rust-advanced", prod: "rust-read-only" });
        repo.commit("promote canary-a and prod");
        const { code, report, stdout } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.VIOLATIONS);
        expect(report.stacks.map((s) => [s.stack, s.violations.length])).toEqual([
            ["canary-a", 0],
            ["canary-b", 0],
            ["dev", 0],
            ["prod", 1],
        ]);
        expectCheckGolden("check-one-bad.json", stdout, repo.git("rev-parse", "main").trim());
        const text = await repo.ctl(["check", "--base", "main", "--now", NOW, "--deployed-file", noDeployed]);
        expect(text.code).toBe(EXIT.VIOLATIONS);
        expectCheckGolden("check-one-bad.txt", text.stdout, repo.git("rev-parse", "main").trim());
    });

    test("uncommitted working-tree changes are checked against the base", async () => {
        repo.setPhase("canary-a", "rust-advanced");
        const { code, report } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.VIOLATIONS);
        expect(stackOf(report, "canary-a").phase).toBe("rust-advanced");
    });
});

describe("check: other changes", () => {
    test("comment-only and non-phase changes: no transition, config must stay valid", async () => {
        const rel = repo.stackFile("canary-b");
        repo.write(rel, repo.read(rel).replace("config:\n", "# reviewed 2026-11-01\nconfig:\n"));
        repo.setConfig("prod", "backups", { retention: 0 });
        repo.commit("comment and bad retention");
        const { code, report } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.VIOLATIONS);
        expect(stackOf(report, "canary-b")).toMatchObject({ change: "modified", changedKeys: [], violations: [] });
        const prod = stackOf(report, "prod");
        expect(prod.changedKeys).toEqual(["pve-migration:backups"]);
        expect(prod.violations).toEqual(["stacks/Pulumi.prod.yaml: pve-migration:backups.retention: must keep at least 1 backup"]);
    });

    test("malformed YAML in the pull request is a violation; other stacks are still checked", async () => {
        repo.write(repo.stackFile("prod"), "config:\n  pve-migration:phase: [unclosed\n");
        repo.setPhase("canary-a", "rust-basic-write");
        repo.commit("broken prod");
        const { code, report } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.VIOLATIONS);
        expect(stackOf(report, "prod").violations).toEqual([
            "stacks/Pulumi.prod.yaml: malformed YAML at line 3, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]",
        ]);
        expect(stackOf(report, "canary-a").violations).toEqual([]);
    });

    test("a new stack is a promotion from perl-only; removing a stack file not in perl-only is a violation", async () => {
        repo.write(repo.stackFile("canary-c"), repo.read(repo.stackFile("canary-b")).replace("pve-east-02", "pve-east-03"));
        repo.setPhase("canary-c", "rust-basic-write");
        repo.remove(repo.stackFile("canary-a"));
        repo.commit("add canary-c, drop canary-a");
        const { code, report } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.VIOLATIONS);
        expect(stackOf(report, "canary-a")).toMatchObject({ change: "removed", basePhase: "rust-read-only", phase: null });
        expect(stackOf(report, "canary-a").violations).toEqual([
            "stacks/Pulumi.canary-a.yaml removed while canary-a is configured in rust-read-only at the base: roll canary-a back to perl-only (and pulumi up) before removing its stack file",
        ]);
        const c = stackOf(report, "canary-c");
        expect(c).toMatchObject({ change: "added", basePhase: null, phase: "rust-basic-write" });
        expect(c.violations).toEqual([
            "stacks/Pulumi.canary-c.yaml: pve-migration:ring.upstream: canary-a names stack canary-a, which has no stacks/Pulumi.canary-a.yaml",
            "pve-migration:phase: promotion from perl-only to rust-basic-write skips 1 phase(s); promote one phase at a time (next: rust-read-only)",
        ]);
    });
});

describe("check: errors", () => {
    test("unknown git revision: exit 7, one line, nothing else printed", async () => {
        const r = await repo.ctl(["check", "--base", "no-such-branch", "--now", NOW]);
        expect(r).toEqual({ code: EXIT.UNKNOWN_REV, stdout: "", stderr: `migration-ctl: --base: unknown git revision "no-such-branch" in ${repo.dir}\n` });
    });

    test("a revision that looks like a flag is refused, not passed to git", async () => {
        const r = await repo.ctl(["check", "--base=--output=/tmp/x", "--now", NOW]);
        expect(r.code).toBe(EXIT.UNKNOWN_REV);
        expect(r.stderr).toBe(`migration-ctl: --base: "--output=/tmp/x" is not a git revision\n`);
    });

    test("--base is required", async () => {
        const r = await repo.ctl(["check", "--now", NOW]);
        expect(r).toEqual({ code: EXIT.USAGE, stdout: "", stderr: "migration-ctl: check: --base is required (see migration-ctl check --help)\n" });
    });
});

describe("check: the merge base, not the tip of --base (real clones in temp folders)", () => {
    const clones: string[] = [];
    afterEach(() => {
        for (const d of clones.splice(0)) fs.rmSync(d, { recursive: true, force: true });
    });

    /** main moves on after the branch was made: canary-b and prod promoted to rust-read-only. */
    function mainPromotesProd(): string {
        repo.git("checkout", "-q", "main");
        repo.setPhases({ "canary-b": "rust-read-only", prod: "rust-read-only" });
        repo.commit("main: promote canary-b and prod");
        repo.git("checkout", "-q", "pr");
        return repo.git("rev-parse", "main^").trim();
    }

    function clone(args: string[]): string {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctl-clone-"));
        clones.push(dir);
        execFileSync("git", ["clone", "-q", ...args, `file://${repo.dir}`, dir], { stdio: "ignore", env: { ...process.env, GIT_CONFIG_NOSYSTEM: "1" } });
        return dir;
    }

    test("a branch made before main promoted prod: prod is unchanged (not a rollback); a warning says the branch is behind", async () => {
        const forkPoint = mainPromotesProd();
        repo.setPhase("canary-a", "rust-basic-write");
        repo.commit("pr: promote canary-a");
        const { code, report } = await checkJson(["--deployed-file", noDeployed]);
        expect(code).toBe(EXIT.OK);
        expect(report.mergeBase).toBe(forkPoint);
        expect(report.stacks.map((s) => [s.stack, s.change, s.transition?.kind ?? null])).toEqual([
            ["canary-a", "modified", "promotion"],
            ["canary-b", "unchanged", "none"],
            ["dev", "unchanged", "none"],
            ["prod", "unchanged", "none"],
        ]);
        expect(report.warnings).toEqual([
            `this branch is 1 commit(s) behind main: checked against their merge base ${forkPoint.slice(0, 12)}; merge or rebase onto main to check against its current stack files`,
        ]);
        expect(report.warningCount).toBe(1);
        const text = await repo.ctl(["check", "--base", "main", "--now", NOW, "--deployed-file", noDeployed]);
        expect(text.code).toBe(EXIT.OK);
        expect(text.stdout.split("\n").slice(0, 3)).toEqual([
            `migration-ctl check: stack configs at main (merge base ${forkPoint.slice(0, 12)}) -> working tree (now 2026-11-01T12:00:00.000Z)`,
            `warning: this branch is 1 commit(s) behind main: checked against their merge base ${forkPoint.slice(0, 12)}; merge or rebase onto main to check against its current stack files`,
            "",
        ]);
    });

    test("a branch up to date with main: no warning, merge base = main", async () => {
        repo.setPhase("canary-a", "rust-basic-write");
        repo.commit("pr: promote canary-a");
        const { report } = await checkJson(["--deployed-file", noDeployed]);
        expect([report.mergeBase, report.warnings]).toEqual([repo.git("rev-parse", "main").trim(), []]);
    });

    test("a single-branch clone without origin/main: exit 7 naming the refspec to fetch; after that fetch the check runs", async () => {
        mainPromotesProd();
        repo.setPhase("canary-a", "rust-basic-write");
        repo.commit("pr: promote canary-a");
        const dir = clone(["--single-branch", "--branch", "pr"]);
        const r = await repo.ctl(["check", "--base", "origin/main", "--now", NOW], { cwd: dir });
        expect(r).toEqual({
            code: EXIT.UNKNOWN_REV,
            stdout: "",
            stderr: `migration-ctl: --base: unknown git revision "origin/main" in ${dir}; origin/main is not fetched in this clone (a single-branch clone?): git fetch origin +refs/heads/main:refs/remotes/origin/main\n`,
        });
        execFileSync("git", ["-C", dir, "fetch", "-q", "origin", "+refs/heads/main:refs/remotes/origin/main"], { stdio: "ignore" });
        const ok = await repo.ctl(["check", "--base", "origin/main", "--json", "--now", NOW, "--deployed-file", noDeployed], { cwd: dir });
        expect([ok.code, ok.stderr]).toEqual([EXIT.OK, ""]);
        expect((JSON.parse(ok.stdout) as CheckReport).mergeBase).toBe(repo.git("rev-parse", "main^").trim());
    });

    test("a shallow clone without the merge base: exit 7 saying to fetch the history", async () => {
        mainPromotesProd();
        repo.setPhase("canary-a", "rust-basic-write");
        repo.commit("pr: promote canary-a");
        const dir = clone(["--depth", "1", "--single-branch", "--branch", "pr"]);
        execFileSync("git", ["-C", dir, "fetch", "-q", "--depth", "1", "origin", "+refs/heads/main:refs/remotes/origin/main"], { stdio: "ignore" });
        const r = await repo.ctl(["check", "--base", "origin/main", "--now", NOW], { cwd: dir });
        expect(r).toEqual({
            code: EXIT.UNKNOWN_REV,
            stdout: "",
            stderr: `migration-ctl: --base origin/main: HEAD and origin/main have no common commit in ${dir} (this clone is shallow: fetch the history, e.g. git fetch --unshallow origin +refs/heads/main:refs/remotes/origin/main)\n`,
        });
    });
});
