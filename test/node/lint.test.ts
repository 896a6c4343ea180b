/**
 * Static checks with the real tools: shellcheck on every rendered step script, and
 * `systemd-analyze verify --root` on the rendered units inside a sandbox root where the real
 * package is installed (so ExecStart binaries exist) and the host's unit tree is present.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import {
    LIBRARY_STEPS,
    NET_REVERT_SCRIPT,
    NODE_STEPS,
    STEP_RUNNER,
    renderDriftScript,
    renderRestorePreviewScript,
    renderStepLibrary,
    renderStepScript,
    renderStepStub,
    shQuote,
} from "../../components/scripts";
import { makeLab, mustRun } from "../support/node";
import { requireTools } from "../support/tools";

requireTools("shellcheck", "systemd-analyze", "systemctl", "dpkg-deb");

describe("shellcheck", () => {
    test.each(NODE_STEPS.map((s) => [s]))("step %s is shellcheck-clean", (step) => {
        const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: renderStepScript(step), encoding: "utf8" });
        expect(r.stdout).toBe("");
        expect(r.status).toBe(0);
    });

    test.each([
        ["the restore preview", renderRestorePreviewScript],
        ["the drift check", renderDriftScript],
    ])("%s (a read-only script of migration-ctl) is shellcheck-clean", (_name, render) => {
        const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: render(), encoding: "utf8" });
        expect([r.stdout, r.status]).toEqual(["", 0]);
    });

    // The library disables four checks that its steps' reuse of names trips across bodies; the steps above are checked without them.
    test("the step library and the nodes' step stub are shellcheck-clean", () => {
        const lib = spawnSync("shellcheck", ["-s", "bash", "-"], { input: renderStepLibrary().text, encoding: "utf8" });
        expect([lib.stdout, lib.status]).toEqual(["", 0]);
        const stub = renderStepStub("pve1", { root: "/", staged: "/var/tmp/pve-network-migration/steps.sh", remedy: "copy it again" });
        const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: stub, encoding: "utf8" });
        expect([r.stdout, r.status]).toEqual(["", 0]);
        expect(stub).toContain(`\ncase $STEP in ${LIBRARY_STEPS.join("|")}) ;; *)`);
    });

    test("the runner of every step command line (bash -c, under the time limit) is shellcheck-clean", () => {
        const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: `#!/bin/bash\n${STEP_RUNNER}\n`, encoding: "utf8" });
        expect(r.stdout).toBe("");
        expect(r.status).toBe(0);
    });

    test("shellcheck is really checking (a known-bad script fails)", () => {
        const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: "#!/bin/bash\necho $1\n", encoding: "utf8" });
        expect(r.status).toBe(1);
        expect(r.stdout).toContain("SC2086");
    });

    test("no step restarts the network; only the dead-man switch's revert reloads it, with ifreload -a", () => {
        // (ifupdown2 appears only as a package name the diagnostics bundle records.) The revert
        // script is carried in the prelude as one quoted value; outside it nothing touches the network.
        const quoted = shQuote(NET_REVERT_SCRIPT);
        for (const s of NODE_STEPS) {
            const text = renderStepScript(s);
            expect(text.split(quoted).length).toBe(2);
            expect(text.replace(quoted, "''")).not.toMatch(/networking|\bifreload\b|\bifup\b|\bifdown\b/);
        }
        expect(renderStepLibrary().text.replace(quoted, "''")).not.toMatch(/networking|\bifreload\b|\bifup\b|\bifdown\b/);
        const code = NET_REVERT_SCRIPT.split("\n").filter((l) => !/^\s*#/.test(l));
        expect(code.flatMap((l) => l.match(/\b(?:ifreload|ifup|ifdown|networking)\b.*$/g) ?? [])).toEqual([
            "ifreload -a 2>&1); then",
            'ifreload -a: ok"',
            "ifreload -a failed (exit $?): ${OUT//$'\\n'/ }\"",
            'ifreload -a skipped: sandbox"',
        ]);
    });

    test("the dead-man switch's revert script is shellcheck-clean on its own", () => {
        const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: NET_REVERT_SCRIPT, encoding: "utf8" });
        expect(r.stdout).toBe("");
        expect(r.status).toBe(0);
    });
});

describe("systemd-analyze verify --root on a sandbox node", () => {
    test("the rendered units of every scope verify; a broken unit does not", () => {
        const lab = makeLab(["pve1"], { withSystemdUnits: true });
        try {
            for (const scope of ["cluster", "node"] as const) {
                mustRun(lab.config("perl-only", { scope }), "perl-only", "perl-only", "0");
                for (const unit of ["pve-network-rs.service", "pve-network-migration.service"]) {
                    const r = spawnSync("systemd-analyze", ["verify", `--root=${lab.root("pve1")}`, unit], { encoding: "utf8" });
                    expect(r.stderr).toBe("");
                    expect(r.status).toBe(0);
                }
            }
            const unitFile = path.join(lab.root("pve1"), "etc/systemd/system/pve-network-rs.service");
            fs.writeFileSync(unitFile, fs.readFileSync(unitFile, "utf8").replace("/usr/sbin/pve-network-rs", "/usr/sbin/missing"));
            const bad = spawnSync("systemd-analyze", ["verify", `--root=${lab.root("pve1")}`, "pve-network-rs.service"], { encoding: "utf8" });
            expect(bad.status).toBe(1);
            expect(bad.stderr).toContain("Command /usr/sbin/missing is not executable");
        } finally {
            lab.cleanup();
        }
    });

    test("unit enablement follows the phase (systemctl --root; the sandbox has no running service manager)", () => {
        const lab = makeLab(["pve1"]);
        try {
            const isEnabled = () =>
                spawnSync("systemctl", [`--root=${lab.root("pve1")}`, "is-enabled", "pve-network-rs.service"], { encoding: "utf8" }).stdout.trim();
            mustRun(lab.config("perl-only"), "perl-only", "perl-only", "0");
            expect(isEnabled()).toBe("disabled");
            mustRun(lab.config("rust-read-only"), "perl-only", "rust-read-only", "a1a1");
            expect(isEnabled()).toBe("enabled");
            mustRun(lab.config("perl-only"), "rust-read-only", "perl-only", "a2a2");
            expect(isEnabled()).toBe("disabled");
        } finally {
            lab.cleanup();
        }
    });
});
