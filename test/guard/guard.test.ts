/**
 * The automatic rollback guard (components/guard) on a temporary git repository holding this
 * project's stacks/: the stack file change and commit it makes (compared with what
 * `migration-ctl rollback` and `color flip` write), the decision log, the state, the lock, and
 * the incident message posted to a webhook server on loopback. Stand-ins: the Prometheus answers
 * are given per query by the test (a real Prometheus answers them in test/guard/prometheus.test.ts),
 * and `up` is a stand-in for the Automation API's `up` that records what it was asked to run (no
 * Pulumi CLI exists here).
 */
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as path from "path";
import YAML from "yaml";
import { CliError } from "../../cli/errors";
import {
    DecisionRecord,
    GuardDeps,
    GuardOptions,
    decisionLogFile,
    evaluateOnce,
    readState,
    resetState,
    runGuard,
    stackTriggers,
    takeLock,
} from "../../components/guard";
import { TriggerName, colorTriggers } from "../../components/guard/triggers";
import { loadStack, readStackText, requireConfig } from "../../components/ctl/repo";
import { postJson } from "../../components/guard/webhook";
import { TestRepo } from "../ctl/helpers";

const T0 = Date.parse("2026-12-07T10:00:00Z");

let repo: TestRepo;
let server: http.Server;
let webhookUrl: string;
let posted: { text: string }[];

beforeAll(async () => {
    posted = [];
    server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (d) => (body += d));
        req.on("end", () => {
            posted.push(JSON.parse(body));
            res.writeHead(200).end("ok");
        });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    webhookUrl = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/hook/T0KEN`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

beforeEach(() => {
    posted.length = 0;
    repo = new TestRepo();
});
afterEach(() => repo.cleanup());

interface Harness {
    readonly o: GuardOptions;
    readonly deps: GuardDeps;
    readonly ups: { workDir: string; stack: string; head: string }[];
    /** The answer per trigger name (per color for blue-green: `green.health`); anything else: healthy. */
    answers: Record<string, number | undefined>;
    clock: number;
    upResult: "succeeded" | "failed";
}

function rollbackBlock(extra: Record<string, unknown> = {}) {
    const hook = path.join(repo.aux, "webhook-url");
    fs.writeFileSync(hook, `${webhookUrl}\n`, { mode: 0o600 });
    return { enabled: true, automatic: true, prometheus: { url: "http://127.0.0.1:9" }, cooldownPeriod: 300, maximumRetries: 2, webhookUrlFile: hook, ...extra };
}

/** Append `pve-migration:rollback` to a stack file's config mapping (YAML.stringify, indented under `config:`). */
function addRollback(stack: string, block: Record<string, unknown>): void {
    const text = YAML.stringify({ "pve-migration:rollback": block })
        .trimEnd()
        .split("\n")
        .map((l) => `  ${l}`)
        .join("\n");
    repo.write(repo.stackFile(stack), `${repo.read(repo.stackFile(stack)).trimEnd()}\n${text}\n`);
}

function harness(stack: string): Harness {
    const o: GuardOptions = { repo: repo.dir, stack, stateDir: path.join(repo.aux, "guard") };
    const h: Harness = {
        o,
        ups: [],
        answers: {},
        clock: T0,
        upResult: "succeeded",
        deps: {
            // Healthy unless the test says otherwise: up is 1, everything else 0.
            query: async (_url, q) => {
                for (const [k, v] of Object.entries(h.answers)) if (q === queryOf(stack, k)) return v;
                return q.startsWith("max_over_time(") ? 1 : 0;
            },
            up: async ({ workDir, stack: s }) => {
                h.ups.push({ workDir, stack: s, head: repo.git("-C", workDir, "rev-parse", "HEAD").trim() });
                return { result: h.upResult, message: `stand-in up of ${s}: ${h.upResult}` };
            },
            post: (url, body) => postJson(url, body),
            now: () => h.clock,
        },
    };
    return h;
}

/** The query of trigger `key` (`fallback`, or `green.health` for another color) of the stack as configured now. */
function queryOf(stack: string, key: string): string {
    const cfg = requireConfig(loadStack(readStackText(repo.dir, stack), stack, repo.dir));
    const rb = cfg.rollback!;
    const [color, name] = key.includes(".") ? key.split(".") : [undefined, key];
    const triggers = color !== undefined ? colorTriggers(rb, color, Math.min(rb.interval, 60)) : stackTriggers(cfg, rb);
    const t = triggers.find((x) => x.name === (name as TriggerName));
    if (!t) throw new Error(`no trigger ${key}`);
    return t.query;
}

const log = (h: Harness): DecisionRecord[] =>
    fs
        .readFileSync(decisionLogFile(h.o), "utf8")
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l) as DecisionRecord);

describe("a node ring (canary-b)", () => {
    function setUp(extra: Record<string, unknown> = {}, phase: "rust-read-only" | "rust-advanced" = "rust-read-only"): Harness {
        repo.setPhase("canary-b", phase);
        addRollback("canary-b", rollbackBlock(extra));
        repo.commit("baseline");
        return harness("canary-b");
    }

    test("healthy: nothing done, one decision line", async () => {
        const h = setUp();
        const r = await evaluateOnce(h.o, h.deps);
        expect([r.decision, r.reasons, r.action, r.notified]).toEqual(["healthy", [], undefined, undefined]);
        expect(r.triggers.map((t) => [t.name, t.subject, t.value, t.holds])).toEqual([
            ["health", "pve-east-02", 1, false],
            ["fallback", "pve-east-02", 0, false],
        ]);
        expect(log(h)).toEqual([r]);
        expect(h.ups).toEqual([]);
        expect(readState(h.o)).toEqual({ actions: [] });
    });

    test("a fallback: the stack file change migration-ctl rollback makes, committed, then up of the stack; the incident posted", async () => {
        const h = setUp();
        const before = repo.git("rev-parse", "HEAD").trim();
        h.answers = { fallback: 3 };
        const r = await evaluateOnce(h.o, h.deps);
        expect([r.decision, r.reasons]).toEqual(["act", ["fallback on pve-east-02: 3 > 0 over 300 s"]]);
        const head = repo.git("rev-parse", "HEAD").trim();
        expect(r.action).toEqual({
            what: "rollback of canary-b rust-read-only -> perl-only",
            file: "stacks/Pulumi.canary-b.yaml",
            commit: head,
            up: { result: "succeeded", message: "stand-in up of canary-b: succeeded" },
            result: "done",
        });
        expect(repo.git("rev-parse", "HEAD~1").trim()).toBe(before);
        expect(repo.git("log", "-1", "--format=%an <%ae>%n%B").trim()).toBe(
            "pve-migration rollback guard <rollback-guard@localhost>\nrollback guard: rollback of canary-b rust-read-only -> perl-only\n\n- fallback on pve-east-02: 3 > 0 over 300 s",
        );
        expect(repo.git("status", "--porcelain")).toBe("");
        // Exactly what migration-ctl rollback writes on the same file.
        const written = repo.read("stacks/Pulumi.canary-b.yaml");
        repo.git("checkout", "-q", before, "--", "stacks/Pulumi.canary-b.yaml");
        expect((await repo.ctl(["rollback", "--stack", "canary-b"])).code).toBe(0);
        expect(repo.read("stacks/Pulumi.canary-b.yaml")).toBe(written);
        repo.git("checkout", "-q", "HEAD", "--", "stacks/Pulumi.canary-b.yaml");

        expect(h.ups).toEqual([{ workDir: repo.dir, stack: "canary-b", head }]);
        expect(readState(h.o)).toEqual({ actions: [{ at: T0, what: "rollback of canary-b rust-read-only -> perl-only", result: "done" }] });
        expect(r.notified).toBe("sent");
        expect(posted).toEqual([
            {
                text: [
                    "*pve-network-migration rollback guard: canary-b: act*",
                    "*Incident summary:* fallback on pve-east-02: 3 > 0 over 300 s",
                    "*Time of detection:* 2026-12-07T10:00:00.000Z",
                    `*Time of rollback:* rollback of canary-b rust-read-only -> perl-only at 2026-12-07T10:00:00.000Z (commit ${head.slice(0, 12)})`,
                    "*Impact:* pve-east-02",
                    "*Next steps:* watch canary-b for 30 minutes; find the cause before promoting again (the rollback is committed)",
                ].join("\n"),
            },
        ]);
        expect(log(h)).toEqual([r]);
        expect(JSON.stringify(log(h))).not.toContain("T0KEN");
    });

    test("cooldown, then a second action, then the retry cap escalates; escalated, it acts no more until --reset", async () => {
        const h = setUp({}, "rust-advanced");
        h.answers = { health: 0 };
        expect((await evaluateOnce(h.o, h.deps)).action?.what).toBe("rollback of canary-b rust-advanced -> rust-basic-write");
        h.clock = T0 + 299_000;
        const cool = await evaluateOnce(h.o, h.deps);
        expect([cool.decision, cool.action, cool.notified]).toEqual(["cooldown", undefined, undefined]);
        h.clock = T0 + 300_000;
        expect((await evaluateOnce(h.o, h.deps)).action?.what).toBe("rollback of canary-b rust-basic-write -> rust-read-only");
        h.clock = T0 + 900_000;
        const esc = await evaluateOnce(h.o, h.deps);
        expect([esc.decision, esc.action]).toEqual(["escalate", undefined]);
        h.clock = T0 + 1_800_000;
        expect((await evaluateOnce(h.o, h.deps)).decision).toBe("escalated");
        expect(h.ups.length).toBe(2);
        expect(repo.read("stacks/Pulumi.canary-b.yaml")).toContain("pve-migration:phase: rust-read-only");
        expect(posted.map((p) => p.text.split("\n")[0])).toEqual([
            "*pve-network-migration rollback guard: canary-b: act*",
            "*pve-network-migration rollback guard: canary-b: act*",
            "*pve-network-migration rollback guard: canary-b: escalate*",
        ]);
        expect(posted[2].text.split("\n")[5]).toBe(
            "*Next steps:* the guard stopped acting on canary-b: a person takes over (2 automatic rollback(s) taken already (maximumRetries 2); a person must decide); clear it with migration-ctl guard --reset --stack canary-b",
        );
        expect(log(h).map((l) => l.decision)).toEqual(["act", "cooldown", "act", "escalate", "escalated"]);
        resetState(h.o);
        expect(readState(h.o)).toEqual({ actions: [] });
        expect((await evaluateOnce(h.o, h.deps)).action?.what).toBe("rollback of canary-b rust-read-only -> perl-only");
    });

    test("automatic off: an alert, once per cooldown; nothing written", async () => {
        const h = setUp({ automatic: false });
        h.answers = { fallback: 1 };
        expect((await evaluateOnce(h.o, h.deps)).decision).toBe("alert");
        h.clock = T0 + 60_000;
        expect((await evaluateOnce(h.o, h.deps)).decision).toBe("alert-suppressed");
        expect(posted.length).toBe(1);
        expect(posted[0].text.split("\n")[5]).toBe(
            "*Next steps:* automatic rollback is off for canary-b: a person decides (migration-ctl rollback / color flip, then pulumi up)",
        );
        expect(h.ups).toEqual([]);
        expect(repo.git("status", "--porcelain")).toBe("");
    });

    test("commit mode branch: the commit on a branch of its own (the checkout untouched), the pull request command given the branch, up from there", async () => {
        const pr = path.join(repo.aux, "pr");
        // A stand-in for the site's pull request command (gh pr create, say): records the branch it is given.
        const script = path.join(repo.aux, "open-pr");
        fs.writeFileSync(script, `#!/bin/sh\nprintf '%s' "$1" > ${pr}\n`, { mode: 0o755 });
        const h = setUp({ commit: { mode: "branch", pullRequestCommand: [script] } });
        const main = repo.git("rev-parse", "HEAD").trim();
        h.answers = { fallback: 2 };
        const r = await evaluateOnce(h.o, h.deps);
        const branch = "rollback-guard/canary-b-20261207T100000Z";
        expect([r.action?.branch, r.action?.result]).toEqual([branch, "done"]);
        expect(repo.git("rev-parse", "HEAD").trim()).toBe(main);
        expect(repo.git("status", "--porcelain")).toBe("");
        expect(repo.git("show", `${branch}:stacks/Pulumi.canary-b.yaml`)).toContain("pve-migration:phase: perl-only");
        expect(repo.git("rev-parse", branch).trim()).toBe(r.action?.commit);
        expect(fs.readFileSync(pr, "utf8")).toBe(branch);
        expect(h.ups.map((u) => [u.stack, u.head, u.workDir === repo.dir, fs.existsSync(u.workDir)])).toEqual([["canary-b", r.action?.commit, false, false]]);
        expect(
            repo
                .git("worktree", "list", "--porcelain")
                .split("\n")
                .filter((l) => l.startsWith("worktree ")),
        ).toEqual([`worktree ${repo.dir}`]);
    });

    test("commit.push: the commit reaches origin before up; a push that fails is a failed action, and up does not run", async () => {
        const origin = path.join(repo.aux, "origin.git");
        repo.git("init", "-q", "--bare", origin);
        repo.git("remote", "add", "origin", origin);
        const h = setUp({ commit: { mode: "main", push: true } }, "rust-advanced");
        repo.git("push", "-q", "origin", "main");
        h.answers = { fallback: 1 };
        const r = await evaluateOnce(h.o, h.deps);
        expect(r.action?.result).toBe("done");
        expect(repo.git("--git-dir", origin, "rev-parse", "main").trim()).toBe(r.action?.commit);
        expect(h.ups.length).toBe(1);

        repo.git("remote", "set-url", "origin", path.join(repo.aux, "missing.git"));
        h.clock = T0 + 300_000;
        const failed = await evaluateOnce(h.o, h.deps);
        expect([failed.action?.result, failed.action?.error?.split(":")[0]]).toEqual(["failed", "the commit is not pushed"]);
        expect(h.ups.length).toBe(1);
    });

    test("a git failure inside the action is a recorded failed action: the cooldown holds, nothing acts twice", async () => {
        const h = setUp();
        h.answers = { fallback: 1 };
        // A pre-commit hook that refuses: the stack file is edited, the commit fails.
        fs.writeFileSync(path.join(repo.dir, ".git/hooks/pre-commit"), "#!/bin/sh\necho refused by hook >&2\nexit 1\n", { mode: 0o755 });
        const r = await evaluateOnce(h.o, h.deps);
        expect([r.action?.what, r.action?.result]).toEqual(["action on canary-b", "failed"]);
        expect(r.action?.error).toContain("refused by hook");
        expect(readState(h.o).actions).toEqual([{ at: T0, what: "action on canary-b", result: "failed" }]);
        expect(h.ups).toEqual([]);
        // The edit is undone: the checkout is as committed.
        expect(repo.git("status", "--porcelain")).toBe("");
        h.clock = T0 + 60_000;
        expect((await evaluateOnce(h.o, h.deps)).decision).toBe("cooldown");
    });

    test("an up that fails counts as an action (failed) toward the cap", async () => {
        const h = setUp();
        h.upResult = "failed";
        h.answers = { fallback: 1 };
        const r = await evaluateOnce(h.o, h.deps);
        expect([r.action?.result, r.action?.up]).toEqual(["failed", { result: "failed", message: "stand-in up of canary-b: failed" }]);
        expect(readState(h.o).actions.map((a) => a.result)).toEqual(["failed"]);
    });

    test("one guard per stack: a second refuses, naming the first's pid; a lock left by a process that is gone is taken over", () => {
        const h = setUp();
        const release = takeLock(h.o);
        expect(() => takeLock(h.o)).toThrow(
            new CliError(8, `guard: another guard (pid ${process.pid}) holds ${path.join(h.o.stateDir, "canary-b.lock")}: two guards never act on one stack`),
        );
        release();
        fs.writeFileSync(path.join(h.o.stateDir, "canary-b.lock"), "2147483646\n");
        const again = takeLock(h.o);
        expect(fs.readFileSync(path.join(h.o.stateDir, "canary-b.lock"), "utf8")).toBe(`${process.pid}\n`);
        again();
        expect(fs.existsSync(path.join(h.o.stateDir, "canary-b.lock"))).toBe(false);
    });

    test("runGuard: a stop ends it without waiting out the interval, leaves no timer behind (a stopped guard's process exits at once) and frees the lock", async () => {
        const h = setUp({ interval: 3600 });
        const timers = () => process.getActiveResourcesInfo().filter((x) => x === "Timeout").length;
        const before = timers();
        let stop = () => {};
        const stopped = new Promise<void>((r) => (stop = r));
        const decisions: string[] = [];
        await runGuard(
            h.o,
            h.deps,
            (r) => {
                decisions.push(r.decision);
                stop();
            },
            stopped,
        );
        expect(decisions).toEqual(["healthy"]);
        expect(timers()).toBe(before);
        expect(fs.existsSync(path.join(h.o.stateDir, "canary-b.lock"))).toBe(false);
    });

    test("a stack without rollback.enabled is a usage error naming the key", async () => {
        repo.commit("baseline");
        await expect(evaluateOnce(harness("canary-b").o, harness("canary-b").deps)).rejects.toThrow(
            "guard: canary-b has no pve-migration:rollback with enabled: true",
        );
    });
});

describe("a blue-green stack (canary-a, blue active)", () => {
    function setUp(extra: Record<string, unknown> = {}): Harness {
        addRollback("canary-a", rollbackBlock(extra));
        repo.commit("baseline");
        return harness("canary-a");
    }

    test("an error rate over 10 %: the flip migration-ctl color flip makes, up, then the previous color is health-checked: healthy, done", async () => {
        const h = setUp();
        const before = repo.git("rev-parse", "HEAD").trim();
        h.answers = { "blue.errorRate": 0.25 };
        const r = await evaluateOnce(h.o, h.deps);
        expect(r.reasons).toEqual(["errorRate on color blue: 0.25 > 0.1 over 300 s"]);
        expect([r.action?.what, r.action?.healthAfter, r.action?.result]).toEqual(["color flip of canary-a", { healthy: true, reasons: [] }, "done"]);
        const written = repo.read("stacks/Pulumi.canary-a.yaml");
        repo.git("checkout", "-q", before, "--", "stacks/Pulumi.canary-a.yaml");
        expect((await repo.ctl(["--now", "2026-12-07T10:00:00Z", "color", "flip", "--stack", "canary-a"])).code).toBe(0);
        expect(repo.read("stacks/Pulumi.canary-a.yaml")).toBe(written);
    });

    test("the previous color unhealthy after the flip: escalated, and no further action", async () => {
        const h = setUp();
        h.answers = { "blue.errorRate": 0.25, "green.health": 0 };
        const r = await evaluateOnce(h.o, h.deps);
        expect([r.action?.result, r.action?.healthAfter]).toEqual(["escalated", { healthy: false, reasons: ["health on color green: 0 < 1 over 180 s"] }]);
        expect(readState(h.o).escalated).toEqual({ at: T0, reason: "the previous color is unhealthy after the flip" });
        h.clock = T0 + 3_600_000;
        expect((await evaluateOnce(h.o, h.deps)).decision).toBe("escalated");
        expect(h.ups.length).toBe(1);
    });

    test("emergency: the flip without the health check", async () => {
        const h = setUp({ emergency: true });
        h.answers = { "blue.errorRate": 0.25, "green.health": 0 };
        const r = await evaluateOnce(h.o, h.deps);
        expect([r.action?.result, r.action?.healthAfter]).toEqual(["done", "skipped: emergency"]);
    });
});

describe("migration-ctl guard", () => {
    test("--once with Prometheus unreachable: no verdict, no action, the decision as one JSON line; --reset; the lock refuses a second guard", async () => {
        addRollback("canary-b", rollbackBlock());
        repo.commit("baseline");
        const stateDir = path.join(repo.aux, "state");
        const r = await repo.ctl(["--now", "2026-12-07T10:00:00Z", "guard", "--stack", "canary-b", "--once", "--state-dir", stateDir]);
        expect([r.code, r.stderr]).toEqual([0, ""]);
        const rec = JSON.parse(r.stdout) as DecisionRecord;
        expect(rec.decision).toBe("unknown");
        expect(rec.reasons.map((x) => x.replace(/: .*/, ""))).toEqual(["health on pve-east-02", "fallback on pve-east-02"]);
        expect(rec.action).toBeUndefined();
        expect(fs.readFileSync(path.join(stateDir, "canary-b.decisions.jsonl"), "utf8")).toBe(r.stdout);
        expect(fs.existsSync(path.join(stateDir, "canary-b.lock"))).toBe(false);

        const held = takeLock({ repo: repo.dir, stack: "canary-b", stateDir });
        try {
            expect(await repo.ctl(["guard", "--stack", "canary-b", "--once", "--state-dir", stateDir])).toEqual({
                code: 8,
                stdout: "",
                stderr: `migration-ctl: guard: another guard (pid ${process.pid}) holds ${path.join(stateDir, "canary-b.lock")}: two guards never act on one stack\n`,
            });
        } finally {
            held();
        }
        expect(await repo.ctl(["guard", "--stack", "canary-b", "--reset", "--state-dir", stateDir])).toEqual({
            code: 0,
            stdout: "guard: canary-b: actions and escalation forgotten\n",
            stderr: "",
        });
        expect((await repo.ctl(["guard", "--stack", "canary-b", "--once", "--reset"])).stderr).toBe(
            "migration-ctl: guard: give one of --once, --reset and --systemd-unit (see migration-ctl guard --help)\n",
        );
    });
});
