/**
 * The rollback guard's node-ring triggers against a real Prometheus (Debian's, on loopback,
 * scraping every second) that scrapes a stand-in exporter whose values and availability this test
 * sets while it runs: the health trigger holds only once every check of its window failed, and
 * also when a node has no series at all; the fallback trigger holds on an increase, not on a flat
 * counter nor on a counter reset; the apply latency trigger holds above the Perl baseline and not
 * below it. The queries go through the guard's real client (components/gates promQuery).
 */
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { RollbackSchema } from "../../components/config/rollback";
import { GuardDeps, evaluateOnce, realDeps } from "../../components/guard";
import { TestRepo } from "../ctl/helpers";
import YAML from "yaml";
import { Trigger, TriggerResult, judge, nodeTriggers } from "../../components/guard/triggers";
import { Prometheus, sleep, startPrometheus } from "../gates/prometheus";
import { requireTools } from "../support/tools";

jest.setTimeout(120_000);

interface NodeValues {
    fallback: number;
    applySum: number;
    applyCount: number;
    down: boolean;
}

const values: Record<string, NodeValues> = {
    pve1: { fallback: 5, applySum: 0, applyCount: 0, down: false },
    pve2: { fallback: 0, applySum: 0, applyCount: 0, down: false },
    pve3: { fallback: 0, applySum: 0, applyCount: 0, down: false },
    // canary-b's node, for the guard end to end.
    "pve-east-02": { fallback: 0, applySum: 0, applyCount: 0, down: false },
};
/** Seconds each apply of pve3 takes from now on (one apply per scrape). */
let applySeconds = 0.4;
const BASELINE = 0.5;

let server: http.Server;
let prom: Prometheus;
let dir: string;

beforeAll(async () => {
    requireTools("prometheus");
    server = http.createServer((req, res) => {
        const m = /^\/nodes\/([^/]+)\/metrics$/.exec(req.url ?? "");
        const v = m ? values[m[1]] : undefined;
        if (!v || v.down) {
            res.writeHead(503).end();
            return;
        }
        if (m![1] === "pve3") {
            v.applySum += applySeconds;
            v.applyCount += 1;
        }
        res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4" }).end(
            [
                "# TYPE pve_network_fallback_total counter",
                `pve_network_fallback_total{endpoint="/nodes/{node}/network"} ${v.fallback}`,
                "# TYPE pve_network_apply_duration_seconds summary",
                `pve_network_apply_duration_seconds_sum ${v.applySum.toFixed(3)}`,
                `pve_network_apply_duration_seconds_count ${v.applyCount}`,
                "",
            ].join("\n"),
        );
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "guard-prom-"));
    // pve4 is not scraped at all: it has no series.
    prom = await startPrometheus(dir, (server.address() as net.AddressInfo).port, ["pve1", "pve2", "pve3", "pve-east-02"]);
});

afterAll(async () => {
    await prom?.stop();
    await new Promise<void>((r) => server.close(() => r()));
    fs.rmSync(dir, { recursive: true, force: true });
});

const rb = RollbackSchema.parse({
    enabled: true,
    prometheus: { url: "http://127.0.0.1:9" },
    triggers: { healthCheckFailures: 3, healthCheckInterval: 1, fallbackWindow: 30, applyLatencyWindow: 30 },
});
const trigger = (node: string, name: string): Trigger => nodeTriggers(rb, node, BASELINE).find((t) => t.name === name)!;
const deps = realDeps();

async function check(node: string, name: string): Promise<TriggerResult> {
    const t = trigger(node, name);
    return judge(t, await deps.query(prom.url, t.query, Date.now()));
}

/** Poll until the trigger's verdict is `holds` (at most `ms`); returns the last result. */
async function until(node: string, name: string, holds: boolean, ms = 20_000): Promise<TriggerResult> {
    const end = Date.now() + ms;
    for (;;) {
        const r = await check(node, name);
        if (r.holds === holds || Date.now() > end) return r;
        await sleep(250);
    }
}

test("health: healthy while scraped; one failed check is not yet three; every check of the window failed holds; no series at all holds", async () => {
    const up = await until("pve2", "health", false);
    expect([up.value, up.holds]).toEqual([1, false]);
    values.pve2.down = true;
    const t = Date.now();
    // Inside the 3 s window a success is still seen: not yet.
    await sleep(1200);
    const early = await check("pve2", "health");
    expect([early.value, early.holds]).toEqual([1, false]);
    const down = await until("pve2", "health", true);
    expect([down.value, down.holds]).toEqual([0, true]);
    // Not before the window: the last successful scrape came at most one interval (1 s) before the switch.
    expect(Date.now() - t).toBeGreaterThanOrEqual(2000);
    const absent = await check("pve4", "health");
    expect([absent.value, absent.holds]).toEqual([null, true]);
    values.pve2.down = false;
    const back = await until("pve2", "health", false);
    expect([back.value, back.holds]).toEqual([1, false]);
});

test("fallback: a flat counter does not hold, a reset (daemon restart) does not, an increase does", async () => {
    const flat = await until("pve1", "fallback", false);
    expect([flat.value, flat.holds]).toEqual([0, false]);
    values.pve1.fallback = 0; // restart: the counter starts again from 0
    await sleep(3000);
    const reset = await check("pve1", "fallback");
    expect([reset.value, reset.holds]).toEqual([0, false]);
    values.pve1.fallback = 1;
    const more = await until("pve1", "fallback", true);
    expect(more.holds).toBe(true);
    expect(more.value).toBeGreaterThan(0);
});

test("apply latency: 0.4 s per apply is below the 0.5 s Perl baseline; 2 s per apply takes the 30 s mean above it", async () => {
    await sleep(3000);
    const below = await check("pve3", "applyLatency");
    expect(below.holds).toBe(false);
    expect(below.value).toBeCloseTo(0.4, 6);
    applySeconds = 2;
    const above = await until("pve3", "applyLatency", true);
    expect(above.holds).toBe(true);
    expect(above.value).toBeGreaterThan(BASELINE);
});

test("end to end: the guard acts on a real fallback, waits out its cooldown, acts again, then escalates at the retry cap (real Prometheus, stand-in up)", async () => {
    const repo = new TestRepo();
    try {
        repo.setPhase("canary-b", "rust-advanced");
        const block = {
            enabled: true,
            automatic: true,
            prometheus: { url: prom.url },
            cooldownPeriod: 4,
            maximumRetries: 2,
            triggers: { healthCheckInterval: 1, fallbackWindow: 30 },
        };
        const text = YAML.stringify({ "pve-migration:rollback": block })
            .trimEnd()
            .split("\n")
            .map((l) => `  ${l}`)
            .join("\n");
        repo.write(repo.stackFile("canary-b"), `${repo.read(repo.stackFile("canary-b")).trimEnd()}\n${text}\n`);
        repo.commit("canary-b with its guard");
        const ups: string[] = [];
        // A stand-in for the Automation API's up (no Pulumi CLI here): it records the stack's phase as committed.
        const deps: GuardDeps = {
            ...realDeps(),
            up: async ({ workDir }) => {
                ups.push(/pve-migration:phase: (\S+)/.exec(fs.readFileSync(path.join(workDir, "stacks/Pulumi.canary-b.yaml"), "utf8"))![1]);
                return { result: "succeeded", message: "stand-in" };
            },
        };
        const o = { repo: repo.dir, stack: "canary-b", stateDir: path.join(repo.aux, "guard") };
        await sleep(2000);
        expect((await evaluateOnce(o, deps)).decision).toBe("healthy");
        values["pve-east-02"].fallback = 2;
        const decisions: string[] = [];
        const end = Date.now() + 40_000;
        while (Date.now() < end && !decisions.includes("escalate")) {
            const d = (await evaluateOnce(o, deps)).decision;
            if (decisions[decisions.length - 1] !== d) decisions.push(d);
            await sleep(500);
        }
        // Healthy until Prometheus scraped the increase; then act, the cooldown, act, and at the cap (2) escalate at once.
        expect(decisions.filter((d) => d !== "healthy")).toEqual(["act", "cooldown", "act", "escalate"]);
        expect(ups).toEqual(["rust-basic-write", "rust-read-only"]);
        expect(repo.git("log", "--format=%s", "-3").trim().split("\n")).toEqual([
            "rollback guard: rollback of canary-b rust-basic-write -> rust-read-only",
            "rollback guard: rollback of canary-b rust-advanced -> rust-basic-write",
            "canary-b with its guard",
        ]);
    } finally {
        repo.cleanup();
    }
});
