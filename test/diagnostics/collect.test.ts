/**
 * The node-side collector: shellcheck, a bundle from a sandbox root (exact contents), ROOT "/",
 * hostile NODE values, atomic output, the lock, argument errors.
 */
import { spawn, spawnSync, ChildProcess } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import { renderDiagnosticsFunction, renderDiagnosticsScript } from "../../components/scripts/diagnostics";
import { extract, makeSandbox, runScript, tempDir, Ran } from "./sandbox";
import { requireTools } from "../support/tools";

requireTools("shellcheck");

let dir: string;
let roots: Record<string, string>;
const sha = (f: string) => crypto.createHash("sha256").update(fs.readFileSync(f)).digest("hex");

beforeAll(() => {
    dir = tempDir("diag-collect-");
    roots = makeSandbox(path.join(dir, "sandbox"), ["pve1", "pve2"]);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function phaseFile(node: string): string {
    return path.join(roots[node], "etc/pve/network/migration.toml");
}

describe("shellcheck", () => {
    test.each([
        ["the function", renderDiagnosticsFunction()],
        ["the standalone script", renderDiagnosticsScript()],
    ])("%s is shellcheck-clean", (_n, text) => {
        const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: text, encoding: "utf8" });
        expect(r.stdout + r.stderr).toBe("");
        expect(r.status).toBe(0);
    });

    test("the script starts with the strict mode", () => {
        expect(renderDiagnosticsScript().split("\n").slice(0, 3)).toEqual([
            "#!/bin/bash",
            "# Collect a pve-network diagnostics bundle. Rendered by components/scripts/diagnostics.ts.",
            "set -euo pipefail",
        ]);
    });
});

describe("a bundle from a sandbox root", () => {
    let files: Record<string, string>;
    let out: string;
    let ran: Ran;
    beforeAll(async () => {
        out = path.join(dir, "out", "pve1.tar.gz");
        ran = await runScript(["--root", roots.pve1, "--node", "pve1", "--phase-file", phaseFile("pve1"), "--out", out]);
        files = extract(out, path.join(dir, "x1"));
    });

    test("exit 0, prints the bundle path, mode 0600, nothing else left in the output folder", () => {
        expect(ran.stderr).toBe("");
        expect(ran.code).toBe(0);
        expect(ran.stdout).toBe(`${out}\n`);
        expect(fs.statSync(out).mode & 0o777).toBe(0o600);
        expect(fs.readdirSync(path.dirname(out))).toEqual(["pve1.tar.gz"]);
    });

    test("holds exactly the documented files", () => {
        expect(Object.keys(files).sort()).toEqual([
            "FORMAT",
            "config/files/etc/network/interfaces",
            "config/files/etc/pve/network/migration.toml",
            "config/files/etc/pve/nodes/pve1/lxc/101.conf",
            "config/files/etc/pve/sdn.cfg",
            "config/files/etc/pve/storage.cfg",
            "config/sha256sums.txt",
            "logs/migration.log.tail",
            "meta.txt",
            "node.txt",
            "packages/versions.txt",
            "phase.txt",
            "systemd/NO-SERVICE-MANAGER.txt",
            "systemd/pve-network-migration.service.is-enabled.txt",
            "systemd/pve-network-rs.service.is-enabled.txt",
            "systemd/pve-network.service.is-enabled.txt",
        ]);
    });

    test("format, node, phase, meta", () => {
        expect(files.FORMAT).toBe("pve-network-diagnostics 1\n");
        expect(files["node.txt"]).toBe("pve1");
        expect(files["phase.txt"]).toBe("rust-read-only\n");
        const meta = files["meta.txt"].split("\n");
        expect(meta[0]).toMatch(/^collected_at=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        expect(meta.slice(1)).toEqual([`root=${roots.pve1}`, "phase_file=/etc/pve/network/migration.toml", "service_manager=none (sandbox root)", "lock=none", ""]);
    });

    test("checksums of the node's config files, paths as on the node", () => {
        const r = roots.pve1;
        expect(files["config/sha256sums.txt"]).toBe(
            [
                `${sha(path.join(r, "etc/network/interfaces"))}  /etc/network/interfaces`,
                `${sha(path.join(r, "etc/pve/sdn.cfg"))}  /etc/pve/sdn.cfg`,
                `${sha(path.join(r, "etc/pve/storage.cfg"))}  /etc/pve/storage.cfg`,
                `${sha(path.join(r, "etc/pve/nodes/pve1/lxc/101.conf"))}  /etc/pve/nodes/pve1/lxc/101.conf`,
                `${sha(phaseFile("pve1"))}  /etc/pve/network/migration.toml`,
                "",
            ].join("\n"),
        );
        expect(files["config/files/etc/network/interfaces"]).toBe(fs.readFileSync(path.join(roots.pve1, "etc/network/interfaces"), "utf8"));
    });

    test("the decision log tail is the last 2000 lines", () => {
        const lines = files["logs/migration.log.tail"].split("\n");
        expect(lines).toHaveLength(2001);
        expect(lines[0]).toBe("2024-05-01T10:00:00Z node=pve1 request=501 used_fallback=false");
        expect(lines[1999]).toBe("2024-05-01T10:00:00Z node=pve1 request=2500 used_fallback=false");
    });

    test("package versions; missing packages recorded, not fatal", () => {
        expect(files["packages/versions.txt"]).toBe(
            [
                "pve-network-rs\t0.4.2-1\tinstall ok installed",
                "pve-network\t-\tnot-installed",
                "libpve-network-perl\t-\tnot-installed",
                "ifupdown2\t3.2.0-1+pmx8\tinstall ok installed",
                "pve-manager\t-\tnot-installed",
                "",
            ].join("\n"),
        );
    });

    test("no service manager for a sandbox: said so, and is-enabled read from the unit files", () => {
        expect(files["systemd/NO-SERVICE-MANAGER.txt"]).toBe(
            `ROOT ${roots.pve1} is a sandbox node root: no service manager runs for it.\n` +
                "systemctl show/status and the journal were not collected; is-enabled is read from\n" +
                "the unit files under the root (systemctl --root).\n",
        );
        expect(files["systemd/pve-network-rs.service.is-enabled.txt"]).toBe("enabled\n# exit status 0\n");
        expect(files["systemd/pve-network-migration.service.is-enabled.txt"]).toBe("disabled\n# exit status 1\n");
        expect(files["systemd/pve-network.service.is-enabled.txt"]).toMatch(/pve-network\.service.*\n# exit status 1\n$/);
        expect(Object.keys(files).some((f) => f.endsWith(".show.txt") || f.endsWith(".status.txt") || f === "logs/journal.txt")).toBe(false);
    });

    test("collecting again replaces the bundle atomically (one file, new content)", async () => {
        fs.appendFileSync(path.join(roots.pve1, "var/log/pve-network/migration.log"), "2024-05-01T11:00:00Z node=pve1 request=2501 used_fallback=true\n");
        const r = await runScript(["--root", roots.pve1, "--node", "pve1", "--phase-file", phaseFile("pve1"), "--out", out]);
        expect(r.code).toBe(0);
        expect(fs.readdirSync(path.dirname(out))).toEqual(["pve1.tar.gz"]);
        const again = extract(out, path.join(dir, "x1b"));
        expect(again["logs/migration.log.tail"].split("\n")[1999]).toBe("2024-05-01T11:00:00Z node=pve1 request=2501 used_fallback=true");
    });
});

test("missing files are recorded: no decision log, no phase file, no dpkg database", async () => {
    const root = path.join(dir, "bare");
    fs.mkdirSync(path.join(root, "etc/network"), { recursive: true });
    fs.writeFileSync(path.join(root, "etc/network/interfaces"), "auto lo\n");
    const out = path.join(dir, "out-bare", "b.tar.gz");
    const r = await runScript(["--root", root, "--node", "bare", "--phase-file", path.join(root, "etc/pve/network/migration.toml"), "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const f = extract(out, path.join(dir, "xb"));
    expect(f["phase.txt"]).toBe("unknown (/etc/pve/network/migration.toml is missing)\n");
    expect(f["logs/migration.log.MISSING"]).toBe("/var/log/pve-network/migration.log is missing\n");
    expect(f["config/sha256sums.txt"].split("\n").slice(1)).toEqual([
        "MISSING  /etc/pve/sdn.cfg",
        "MISSING  /etc/pve/storage.cfg",
        "MISSING  /etc/pve/network/migration.toml",
        "",
    ]);
    expect(f["packages/versions.txt"].split("\n")[0]).toBe("pve-network-rs\t-\tnot-installed");
});

test("ROOT / collects systemctl show/status and the journal, and no sandbox note", async () => {
    const out = path.join(dir, "out-real", "real.tar.gz");
    const r = await runScript(["--root", "/", "--node", "host", "--phase-file", "/etc/pve/network/migration.toml", "--out", out]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const f = extract(out, path.join(dir, "xr"));
    for (const u of ["pve-network-rs.service", "pve-network-migration.service", "pve-network.service"]) {
        expect(f[`systemd/${u}.show.txt`]).toMatch(/# exit status \d+\n$/);
        expect(f[`systemd/${u}.status.txt`]).toMatch(/# exit status \d+\n$/);
    }
    expect(f["logs/journal.txt"]).toMatch(/# exit status \d+\n$/);
    expect(f["systemd/NO-SERVICE-MANAGER.txt"]).toBeUndefined();
    expect(f["meta.txt"].split("\n").slice(1, 4)).toEqual(["root=/", "phase_file=/etc/pve/network/migration.toml", "service_manager=systemd"]);
});

describe("a hostile NODE executes nothing", () => {
    const marker = () => path.join(dir, "pwned");
    const hostile = () => [
        `$(touch ${marker()})`,
        `\`touch ${marker()}\``,
        `'; touch ${marker()}; '`,
        `"; touch ${marker()}; "`,
        `x; touch ${marker()}`,
        `x\ntouch ${marker()}`,
        `../../nodes/pve2`,
        `-rf`,
    ];

    test.each([0, 1, 2, 3, 4, 5, 6, 7])("through the function, value %d", async (i) => {
        const node = hostile()[i];
        const fn = path.join(dir, "fn.sh");
        fs.writeFileSync(fn, renderDiagnosticsFunction());
        const out = path.join(dir, `out-hostile-${i}`, "b.tar.gz");
        const r = spawnSync(
            "bash",
            ["-c", 'set -euo pipefail; source "$1"; shift; pve_collect_diagnostics "$@"', "_", fn, roots.pve1, node, phaseFile("pve1"), out],
            {
                encoding: "utf8",
            },
        );
        expect(r.stderr).toBe("");
        expect(r.status).toBe(0);
        expect(fs.existsSync(marker())).toBe(false);
        const f = extract(out, path.join(dir, `xh-${i}`));
        expect(f["node.txt"]).toBe(node);
        // Not a node name: the lxc folder is not looked up by it.
        expect(f["config/sha256sums.txt"]).not.toContain("/lxc/");
    });

    test("through the standalone script's --node", async () => {
        for (const node of hostile()) {
            const out = path.join(dir, "out-hostile-script", "b.tar.gz");
            const r = await runScript(["--root", roots.pve1, "--node", node, "--phase-file", phaseFile("pve1"), "--out", out]);
            expect(r.code).toBe(0);
            expect(extract(out, path.join(dir, "xhs", String(Math.random())))["node.txt"]).toBe(node);
        }
        expect(fs.existsSync(marker())).toBe(false);
    });
});

describe("the lock", () => {
    let holder: ChildProcess | undefined;
    afterEach(async () => {
        if (holder && holder.exitCode === null) {
            const gone = new Promise((r) => holder!.on("exit", r));
            holder.kill("SIGTERM");
            await gone;
        }
        holder = undefined;
    });

    test("held shared when free; collected anyway and marked busy when a step holds it", async () => {
        const lock = path.join(roots.pve2, "var/lib/pve-network-rs/.lock");
        fs.mkdirSync(path.dirname(lock), { recursive: true });
        fs.writeFileSync(lock, "");
        const args = (o: string) => ["--root", roots.pve2, "--node", "pve2", "--phase-file", phaseFile("pve2"), "--out", path.join(dir, "out-lock", o)];
        const free = await runScript(args("free.tar.gz"), { PVE_DIAGNOSTICS_LOCK_WAIT: "1" });
        expect(free.code).toBe(0);
        expect(extract(path.join(dir, "out-lock", "free.tar.gz"), path.join(dir, "xl1"))["meta.txt"]).toContain("\nlock=held\n");

        // The holder process itself keeps the lock (exec), so ending it releases the lock.
        holder = spawn("bash", ["-c", 'exec 9>>"$1"; flock -x 9; echo locked; exec sleep 60', "_", lock], { stdio: ["ignore", "pipe", "ignore"] });
        await new Promise<void>((r) => holder!.stdout!.once("data", () => r()));
        expect(spawnSync("flock", ["-n", "-s", lock, "true"]).status).toBe(1);
        const t0 = Date.now();
        const busy = await runScript(args("busy.tar.gz"), { PVE_DIAGNOSTICS_LOCK_WAIT: "1" });
        expect(busy.code).toBe(0);
        expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
        expect(extract(path.join(dir, "out-lock", "busy.tar.gz"), path.join(dir, "xl2"))["meta.txt"]).toContain("\nlock=busy\n");
    });
});

describe("argument errors exit 2 and write nothing", () => {
    test.each<[string, (o: string) => string[], NodeJS.ProcessEnv, string]>([
        [
            "relative ROOT",
            (o) => ["--root", "sandbox/pve1", "--node", "pve1", "--phase-file", "/x", "--out", o],
            {},
            "pve_collect_diagnostics: ROOT must be an absolute path\n",
        ],
        [
            "ROOT not a folder",
            (o) => ["--root", "/nonexistent-root", "--node", "pve1", "--phase-file", "/nonexistent-root/x", "--out", o],
            {},
            "pve_collect_diagnostics: ROOT /nonexistent-root is not a directory\n",
        ],
        [
            "PHASE_FILE outside ROOT",
            (o) => ["--root", roots.pve1, "--node", "pve1", "--phase-file", "/etc/pve/network/migration.toml", "--out", o],
            {},
            "pve_collect_diagnostics: PHASE_FILE must be an absolute path under ROOT\n",
        ],
        [
            "relative OUT",
            () => ["--root", roots.pve1, "--node", "pve1", "--phase-file", phaseFile("pve1"), "--out", "b.tar.gz"],
            {},
            "pve_collect_diagnostics: OUT_TARBALL must be an absolute path\n",
        ],
        [
            "a bad unit",
            (o) => ["--root", roots.pve1, "--node", "pve1", "--phase-file", phaseFile("pve1"), "--out", o, "--unit", "x;y"],
            {},
            "pve_collect_diagnostics: not a service unit name: x;y\n",
        ],
        [
            "a bad lock wait",
            (o) => ["--root", roots.pve1, "--node", "pve1", "--phase-file", phaseFile("pve1"), "--out", o],
            { PVE_DIAGNOSTICS_LOCK_WAIT: "$(id)" },
            "pve_collect_diagnostics: PVE_DIAGNOSTICS_LOCK_WAIT must be whole seconds\n",
        ],
        [
            "an unknown flag",
            (o) => ["--root", roots.pve1, "--bogus", "--out", o],
            {},
            "pve-collect-diagnostics: unknown argument: --bogus\nusage: pve-collect-diagnostics --root ROOT --node NODE --phase-file FILE --out TARBALL [--unit UNIT...]\n",
        ],
    ])("%s", async (_n, args, env, err) => {
        const outDir = path.join(dir, "out-err");
        const r = await runScript(args(path.join(outDir, "e.tar.gz")), env);
        expect(r.stderr).toBe(err);
        expect(r.code).toBe(2);
        expect(fs.existsSync(path.join(outDir, "e.tar.gz"))).toBe(false);
    });
});
