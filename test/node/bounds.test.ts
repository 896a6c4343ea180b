/**
 * Steps are bounded on the node and cannot be fed their own script: a step whose site command
 * hangs fails within its time limit (GNU timeout in the command line), with exit 124 and a
 * message naming step and node, leaves no process behind and leaves the node lock free; the
 * same through `sudo -n`; a site command that reads standard input gets nothing and the step
 * carries on. The rendered scripts run for real against sandbox roots; the site commands are
 * plain commands (sleep, cat, read, head) standing in for a site's pvenet-legacy / pvenet.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { StackConfig } from "../../components/config/schema";
import { Phase } from "../../components/phases";
import { NodeStep, STEP_KILL_AFTER_SECONDS, STEP_RUNNER, renderStepScript, shQuote, stepCommandLine } from "../../components/scripts";
import { StepKind } from "../../components/plan";
import { scriptOf, stepArgs } from "../../components/steps";
import { waitForPostRollbackBundle } from "../../components/sandbox/run";
import { makeLab, mustRun } from "../support/node";

interface Run {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
    readonly ms: number;
}

/** Run one step exactly as the transports do: its command line through /bin/sh -c, its script on stdin. */
function runOne(
    cfg: StackConfig,
    kind: StepKind,
    from: Phase,
    to: Phase,
    opts: { sudo?: boolean; options?: Record<string, string>; script?: string; env?: NodeJS.ProcessEnv; runner?: string } = {},
): Run {
    const node = cfg.nodes[0];
    const step: NodeStep = scriptOf(kind);
    const args = stepArgs({ cfg, node, from, to }, kind, TID);
    const rendered = stepCommandLine({ ...args, options: { ...args.options, ...opts.options } }, { step, timeLimit: cfg.stepTimeouts[step], sudo: opts.sudo });
    const line = opts.runner === undefined ? rendered : rendered.replace(shQuote(STEP_RUNNER), shQuote(opts.runner));
    const started = Date.now();
    // The 60 s bound only keeps a broken test from hanging jest; every case here ends well before it.
    const r = spawnSync("/bin/sh", ["-c", line], { input: opts.script ?? renderStepScript(step), encoding: "utf8", timeout: 60_000, env: opts.env ?? process.env });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: Date.now() - started };
}

/** The transition of every step run here; legacy-apply needs its network saved (saveNetwork). */
const TID = "b0b0";

/** The rollback's snapshot, which saves the network files for legacy-apply's dead-man switch. */
function saveNetwork(cfg: StackConfig): void {
    const r = runOne(cfg, "snapshot", "rust-read-only", "perl-only");
    if (r.status !== 0) throw new Error(`snapshot failed (${r.status}): ${r.stdout}${r.stderr}`);
}

/** Processes (other than this one) whose command line or environment mention `text`: "pid: argv". */
function processesMentioning(text: string): string[] {
    const found: string[] = [];
    for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)) {
        try {
            const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
            const env = fs.readFileSync(`/proc/${pid}/environ`, "utf8");
            if (argv.includes(text) || env.includes(text)) found.push(`${pid}: ${argv.split("\0").join(" ")}`);
        } catch {
            // The process ended while being read.
        }
    }
    return found;
}

/** The processes left mentioning `text` once those that are still exiting have gone (at most 2 s). */
function leftover(text: string): string[] {
    const deadline = Date.now() + 2000;
    let left = processesMentioning(text);
    while (left.length > 0 && Date.now() < deadline) {
        spawnSync("sleep", ["0.05"]);
        left = processesMentioning(text);
    }
    return left;
}

const lastLogLine = (root: string) => fs.readFileSync(path.join(root, "var/log/pve-network/migration.log"), "utf8").replace(/\n$/, "").split("\n").pop();

function withSite(cfg: StackConfig, commands: Partial<StackConfig["commands"]>, stepTimeouts: Partial<StackConfig["stepTimeouts"]> = {}): StackConfig {
    return { ...cfg, commands: { ...cfg.commands, ...commands }, stepTimeouts: { ...cfg.stepTimeouts, ...stepTimeouts } };
}

describe("a step whose site command hangs fails within its time limit", () => {
    // Stand-in for a hung `pvenet-legacy apply`: validate is the sandbox's pvenet-legacy, apply sleeps.
    const hungApply = (cfg: StackConfig, apply: string[]) => withSite(cfg, { legacyApply: apply }, { "legacy-apply": 2 });

    test.each([
        ["as root", false],
        ["through sudo -n (run by root, with the host's sudo and its sudoers: env_reset, use_pty)", true],
    ])("%s: SIGTERM at 2 s ends it: exit 124, step and node named, decision logged, nothing left, the lock free", (_how, sudo) => {
        const lab = makeLab(["pve1"]);
        try {
            const root = lab.root("pve1");
            mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
            saveNetwork(lab.config("perl-only"));
            const cfg = hungApply(lab.config("perl-only"), ["sleep", "600"]);
            const r = runOne(cfg, "legacy-apply", "rust-read-only", "perl-only", { sudo });
            expect(r.status).toBe(124);
            expect(r.stderr).toBe("pve-migration legacy-apply on pve1: timed out after 2 s\n");
            expect(r.ms).toBeGreaterThanOrEqual(2000);
            // SIGTERM sufficed (SIGKILL would come at 2 + 10 s).
            expect(r.ms).toBeLessThan(5000);
            expect(lastLogLine(root)).toMatch(
                /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ node=pve1 from=rust-read-only to=perl-only step=legacy-apply result=failed detail=timed out after 2 s \(the step's time limit\)$/,
            );
            expect(r.stdout).toBe(`${lastLogLine(root)}\n`);
            expect(leftover(root)).toEqual([]);
            // Nothing was recorded as applied, and the next run of a step on this node gets the lock at once.
            expect(fs.existsSync(path.join(root, "var/lib/pve-network-rs/legacy-applied.sha256"))).toBe(false);
            const next = runOne(lab.config("perl-only"), "legacy-apply", "rust-read-only", "perl-only", { sudo, options: { "lock-timeout": "1" } });
            expect([next.status, next.stderr]).toEqual([0, ""]);
            expect(next.stdout).toMatch(
                / node=pve1 from=rust-read-only to=perl-only step=legacy-apply result=changed detail=validated and applied through pvenet-legacy; armed the dead-man switch \(30 s; no timer: sandbox\): network-confirm confirms over a new connection\n$/,
            );
        } finally {
            lab.cleanup();
        }
    });

    test("a site command that ignores SIGTERM is killed 10 s later; still exit 124 with the same message, nothing left, the lock free", () => {
        const lab = makeLab(["pve1"]);
        try {
            const root = lab.root("pve1");
            mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
            saveNetwork(lab.config("perl-only"));
            const cfg = hungApply(lab.config("perl-only"), ["bash", "-c", "trap '' TERM; sleep 600"]);
            const r = runOne(cfg, "legacy-apply", "rust-read-only", "perl-only");
            expect(r.status).toBe(124);
            expect(r.stderr).toBe("pve-migration legacy-apply on pve1: timed out after 2 s\n");
            expect(r.ms).toBeGreaterThanOrEqual((2 + STEP_KILL_AFTER_SECONDS) * 1000);
            expect(r.ms).toBeLessThan((2 + STEP_KILL_AFTER_SECONDS + 3) * 1000);
            // (Whether the step's bash logs the timeout first depends on which SIGKILL lands first, the
            // step's or the site command's own timeout's: both are due 10 s after the SIGTERM.)
            expect(leftover(root)).toEqual([]);
            const next = runOne(lab.config("perl-only"), "verify", "perl-only", "perl-only", { options: { "lock-timeout": "1" } });
            expect([next.status, next.stderr]).toEqual([0, ""]);
            // It closes the rollback the snapshot opened (saveNetwork) and starts its post-rollback bundle.
            expect(next.stdout).toMatch(
                / node=pve1 from=rust-read-only to=perl-only step=verify result=ok detail=phase perl-only verified; transition from rust-read-only complete; diagnostics \d{8}T\d{6}Z-b0b0-post-rollback \(collected after this step\)\n$/,
            );
            waitForPostRollbackBundle(root, TID);
        } finally {
            lab.cleanup();
        }
    });

    test("a site command that outlives its own command timeout fails the step with 70 and its message, not with the step timeout 124", () => {
        const lab = makeLab(["pve1"]);
        try {
            mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
            const cfg = lab.config("perl-only");
            const r = runOne(cfg, "verify", "perl-only", "perl-only", { options: { "command-timeout": "1" } });
            expect(r.status).toBe(0);
            const slow = withSite(cfg, { verify: ["sleep", "5"] });
            const s = runOne(slow, "verify", "perl-only", "perl-only", { options: { "command-timeout": "1" } });
            expect(s.status).toBe(70);
            expect(s.stderr).toBe("pve-migration verify on pve1: sleep failed: \n");
            expect(lastLogLine(lab.root("pve1"))).toMatch(/ step=verify result=failed detail=sleep failed: $/);
        } finally {
            lab.cleanup();
        }
    });
});

describe("exit 124 means the step's own time limit, nothing else", () => {
    test("a command that fails with 124 under set -e makes the step fail with 70, without a timeout message", () => {
        const lab = makeLab(["pve1"]);
        const shim = fs.mkdtempSync(path.join(lab.dir, "shim-"));
        try {
            mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
            // Stand-in for a systemctl whose own timeout struck: `enable` exits 124, the rest is the real one.
            fs.writeFileSync(path.join(shim, "systemctl"), '#!/bin/sh\nfor a in "$@"; do [ "$a" = enable ] && exit 124; done\nexec /usr/bin/systemctl "$@"\n', {
                mode: 0o755,
            });
            const r = runOne(lab.config("rust-read-only"), "services", "perl-only", "rust-read-only", {
                env: { ...process.env, PATH: `${shim}:${process.env.PATH}` },
            });
            expect([r.status, r.stderr]).toEqual([70, ""]);
            expect(lastLogLine(lab.root("pve1"))).toMatch(
                / node=pve1 from=rust-read-only to=rust-read-only step=services result=failed detail=a command timed out or was killed \(exit 124\)$/,
            );
        } finally {
            lab.cleanup();
        }
    });
});

describe("site commands that read standard input get nothing; the step carries on", () => {
    // Stand-ins for site commands that read stdin: each records what it read under the node root.
    const readers = {
        legacyValidate: ["bash", "-c", 'cat > "$PVE_ROOT/validate.stdin"'],
        legacyApply: ["bash", "-c", 'IFS= read -r line; rc=$?; printf "%s|%s" "$rc" "$line" > "$PVE_ROOT/apply.stdin"'],
        verify: ["bash", "-c", 'head -c 4096 > "$PVE_ROOT/verify.stdin"'],
    };

    test("cat, read and head -c read nothing; legacy-apply and verify complete with every later action done", () => {
        const lab = makeLab(["pve1"]);
        try {
            const root = lab.root("pve1");
            mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
            saveNetwork(lab.config("perl-only"));
            const cfg = withSite(lab.config("perl-only"), readers);
            const apply = runOne(cfg, "legacy-apply", "rust-read-only", "perl-only");
            expect([apply.status, apply.stderr]).toEqual([0, ""]);
            expect(fs.readFileSync(path.join(root, "validate.stdin"), "utf8")).toBe("");
            expect(fs.readFileSync(path.join(root, "apply.stdin"), "utf8")).toBe("1|");
            // The actions after the site commands: the applied interfaces recorded, the decision logged.
            const sum = spawnSync("sha256sum", [path.join(root, "etc/network/interfaces")], { encoding: "utf8" }).stdout.split(" ")[0];
            expect(fs.readFileSync(path.join(root, "var/lib/pve-network-rs/legacy-applied.sha256"), "utf8")).toBe(`${TID} ${sum}`);
            expect(apply.stdout).toMatch(
                / step=legacy-apply result=changed detail=validated and applied through bash; armed the dead-man switch \(30 s; no timer: sandbox\): network-confirm confirms over a new connection\n$/,
            );
            const verify = runOne(cfg, "verify", "perl-only", "perl-only");
            expect([verify.status, verify.stderr]).toEqual([0, ""]);
            expect(fs.readFileSync(path.join(root, "verify.stdin"), "utf8")).toBe("");
            expect(verify.stdout).toMatch(
                / step=verify result=ok detail=phase perl-only verified; transition from rust-read-only complete; diagnostics \d{8}T\d{6}Z-b0b0-post-rollback \(collected after this step\)\n$/,
            );
            waitForPostRollbackBundle(root, TID);
        } finally {
            lab.cleanup();
        }
    });

    /** The runner before it read the script whole: `bash -s`, which reads the script from stdin as it runs it. */
    const STREAMING_RUNNER = STEP_RUNNER.split("\n")
        .filter((l) => l !== "script=$(cat)" && !l.startsWith('if [ -z "$script" ]'))
        .join("\n")
        .replace('bash -c "$script" "$step" --time-limit', "bash -s -- --time-limit");
    const unwrappedScript = () => {
        // The rendering before the wrapping function: the same lines, run at top level as bash reads them.
        const lines = renderStepScript("legacy-apply").split("\n");
        const unwrapped = lines.filter((l) => l !== "pve_step_main() {" && l !== "exec </dev/null" && l !== 'pve_step_main "$@"');
        unwrapped.splice(unwrapped.lastIndexOf("}"), 1);
        return unwrapped.join("\n");
    };

    test("control: without the wrapping function, under a runner that streams the script (bash -s), `cat` gets the script's rest and the step never finishes", () => {
        expect(STREAMING_RUNNER).toContain('\n  timeout -k "$kill" "$limit" bash -s -- --time-limit "$limit" "${@:1:$n}" 2>&3 3>&-\n');
        expect(STREAMING_RUNNER).not.toContain("$(cat)");
        const lab = makeLab(["pve1"]);
        try {
            const root = lab.root("pve1");
            mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
            saveNetwork(lab.config("perl-only"));
            const cfg = withSite(lab.config("perl-only"), readers);
            const r = runOne(cfg, "legacy-apply", "rust-read-only", "perl-only", { script: unwrappedScript(), runner: STREAMING_RUNNER });
            expect(r.status).toBe(0);
            expect(r.stdout).toBe("");
            expect(fs.readFileSync(path.join(root, "validate.stdin"), "utf8")).toContain('atomic_write "$SEEN" 0644 "$ID $SUM"');
            expect(fs.existsSync(path.join(root, "apply.stdin"))).toBe(false);
            expect(fs.existsSync(path.join(root, "var/lib/pve-network-rs/legacy-applied.sha256"))).toBe(false);
        } finally {
            lab.cleanup();
        }
    });

    test("the runner reads the script whole: even without the wrapping function, `cat` gets nothing and the step completes", () => {
        const lab = makeLab(["pve1"]);
        try {
            const root = lab.root("pve1");
            mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
            saveNetwork(lab.config("perl-only"));
            const cfg = withSite(lab.config("perl-only"), readers);
            const r = runOne(cfg, "legacy-apply", "rust-read-only", "perl-only", { script: unwrappedScript() });
            expect([r.status, r.stderr]).toEqual([0, ""]);
            expect(fs.readFileSync(path.join(root, "validate.stdin"), "utf8")).toBe("");
            const sum = spawnSync("sha256sum", [path.join(root, "etc/network/interfaces")], { encoding: "utf8" }).stdout.split(" ")[0];
            expect(fs.readFileSync(path.join(root, "var/lib/pve-network-rs/legacy-applied.sha256"), "utf8")).toBe(`${TID} ${sum}`);
        } finally {
            lab.cleanup();
        }
    });

    test("a script cut short in transit runs nothing (a syntax error before the first command); an empty one is refused", () => {
        const lab = makeLab(["pve1"]);
        try {
            const root = lab.root("pve1");
            mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
            const cfg = lab.config("perl-only");
            const full = renderStepScript("legacy-apply");
            // Cut before its last four lines: the function pve_step_main, which holds every line, is never closed.
            const lines = full.split("\n");
            expect(lines.slice(-4)).toEqual(["", "}", 'pve_step_main "$@"', ""]);
            const cut = runOne(cfg, "legacy-apply", "rust-read-only", "perl-only", { script: lines.slice(0, -4).join("\n") + "\n" });
            expect(cut.status).toBe(2);
            expect(cut.stdout).toBe("");
            expect(cut.stderr).toMatch(/^legacy-apply: -c: line \d+: syntax error: unexpected end of file\n$/);
            expect(fs.existsSync(path.join(root, "var/lib/pve-network-rs/legacy-applied.sha256"))).toBe(false);
            const empty = runOne(cfg, "legacy-apply", "rust-read-only", "perl-only", { script: "" });
            expect([empty.status, empty.stdout, empty.stderr]).toEqual([70, "", "pve-migration legacy-apply on pve1: no step script on stdin\n"]);
        } finally {
            lab.cleanup();
        }
    });
});
