/**
 * The step library on a node (components/scripts renderStepLibrary, renderStepStub): each
 * registered step sends a stub that checks the library's sha256, installs it from the staged
 * copy when the installed one is missing or altered (temp file in the root's folder, checked,
 * renamed), and never runs a copy that does not match: with neither copy intact the step exits
 * 69 naming both paths and the remedy, before it takes the lock or writes anything. A command of
 * several steps runs them in order and stops at the first that fails, naming it. Run for real
 * with bash on sandbox roots (dpkg, systemctl --root), exactly as the local transport runs them.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { StackConfig } from "../../components/config/schema";
import {
    CommandStep,
    LIBRARY_MISSING_EXIT,
    LibraryPlace,
    commandLine,
    installedLibraryPath,
    renderStepLibrary,
    renderStepStub,
    stepCommandLine,
} from "../../components/scripts";
import { sandboxLibraryFile } from "../../components/sandbox/run";
import { stepArgs } from "../../components/steps";
import { Lab, makeLab, mustRun, tree } from "../support/node";

const lib = renderStepLibrary();
const REMEDY = "copy it again (the test's remedy)";

interface Run {
    readonly status: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** The units step at the deployed phase (a step with nothing to change), its stub on stdin, the library found at `place`. */
function runUnits(cfg: StackConfig, place: LibraryPlace, stub?: string): Run {
    const node = cfg.nodes[0];
    const args = stepArgs({ cfg, node, from: cfg.phase, to: cfg.phase }, "units", "1111111111111111");
    const line = stepCommandLine(args, { step: "units", timeLimit: 60 });
    const r = spawnSync("/bin/sh", ["-c", line], { input: stub ?? renderStepStub(node.name, place), encoding: "utf8", timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const UNITS_UNCHANGED = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ node=pve1 from=- to=- step=units result=unchanged detail=unit files up to date\n$/;

describe("the step library on a sandbox node", () => {
    let lab: Lab;
    let root: string;
    let cfg: StackConfig;
    let staged: string;
    let installed: string;
    beforeEach(() => {
        lab = makeLab(["pve1"]);
        root = lab.root("pve1");
        cfg = lab.config("perl-only");
        mustRun(cfg, "perl-only", "perl-only", "0");
        staged = path.join(lab.dir, "staged", lib.fileName);
        fs.mkdirSync(path.dirname(staged));
        fs.copyFileSync(sandboxLibraryFile(), staged);
        installed = installedLibraryPath(root);
    });
    afterEach(() => lab.cleanup());
    const place = (): LibraryPlace => ({ root, staged, remedy: REMEDY });

    test("the library is one file named by its sha256, installed under the node's root in a folder only its owner reads", () => {
        expect(lib.fileName).toBe(`steps-${lib.sha256}.sh`);
        expect(spawnSync("sha256sum", [installed], { encoding: "utf8" }).stdout).toBe(`${lib.sha256}  ${installed}\n`);
        expect(installed).toBe(path.join(root, "var/lib/pve-network-rs/lib", lib.fileName));
        expect(fs.statSync(path.dirname(installed)).mode & 0o777).toBe(0o700);
        expect(fs.statSync(installed).mode & 0o777).toBe(0o644);
        expect(fs.readdirSync(path.dirname(installed))).toEqual([lib.fileName]);
    });

    test("an installed copy that matches is used as it is: the staged copy is not read", () => {
        fs.writeFileSync(staged, "echo the staged copy ran\n");
        const r = runUnits(cfg, place());
        expect([r.status, r.stderr]).toEqual([0, ""]);
        expect(r.stdout).toMatch(UNITS_UNCHANGED);
        expect(fs.readFileSync(installed, "utf8")).toBe(lib.text);
    });

    test("an altered installed copy is installed again from the staged copy, says so, and the step runs from the intact copy", () => {
        fs.writeFileSync(installed, 'pve_step_units() { echo "the altered copy ran"; }\nparse_args() { :; }\n');
        const r = runUnits(cfg, place());
        expect(r.status).toBe(0);
        expect(r.stderr).toBe(`pve-migration units on pve1: the installed step library ${installed} did not match its sha256; installed it again from ${staged}\n`);
        expect(r.stdout).toMatch(UNITS_UNCHANGED);
        expect(r.stdout).not.toContain("the altered copy ran");
        expect(fs.readFileSync(installed, "utf8")).toBe(lib.text);
        expect(fs.readdirSync(path.dirname(installed))).toEqual([lib.fileName]);
    });

    test("a missing installed copy is installed from the staged copy; libraries of other versions are removed then", () => {
        const old = path.join(path.dirname(installed), `steps-${"0".repeat(64)}.sh`);
        fs.renameSync(installed, old);
        const r = runUnits(cfg, place());
        expect([r.status, r.stderr]).toEqual([0, ""]);
        expect(fs.readdirSync(path.dirname(installed))).toEqual([lib.fileName]);
        expect(fs.readFileSync(installed, "utf8")).toBe(lib.text);
    });

    type Paths = { installed: string; staged: string };
    for (const [what, installedWas, stagedWas, setUp] of [
        ["missing installed copy, missing staged copy", "missing", "missing", (s: Paths) => (fs.rmSync(s.installed), fs.rmSync(s.staged))],
        [
            "altered installed copy, altered staged copy",
            "altered",
            "altered",
            (s: Paths) => (fs.appendFileSync(s.installed, "echo x\n"), fs.appendFileSync(s.staged, "echo x\n")),
        ],
        ["missing installed copy, staged copy cut short", "missing", "altered", (s: Paths) => (fs.rmSync(s.installed), fs.truncateSync(s.staged, 1000))],
    ] as const) {
        test(`${what}: exit ${LIBRARY_MISSING_EXIT} naming both paths and the remedy; nothing runs and nothing on the node changes`, () => {
            setUp({ installed, staged });
            const before = tree(root);
            const r = runUnits(cfg, place());
            expect(r.status).toBe(LIBRARY_MISSING_EXIT);
            expect(r.stdout).toBe("");
            expect(r.stderr).toBe(
                `pve-migration units on pve1: the step library ${lib.fileName} is not on this node intact: the installed copy ${installed} is ${installedWas} ` +
                    `and the staged copy ${staged} is ${stagedWas}; nothing ran. ${REMEDY}\n`,
            );
            expect(tree(root)).toEqual(before);
        });
    }

    test("paths, node name and remedy are data in the stub: quotes, $(...), backticks and ; in them execute nothing", () => {
        const hostile = path.join(lab.dir, "x'$(touch pwned1)`touch pwned2`;touch pwned3");
        fs.mkdirSync(hostile);
        const weird = path.join(hostile, lib.fileName);
        fs.copyFileSync(staged, weird);
        fs.rmSync(installed);
        const stub = renderStepStub("pve1", { root, staged: weird, remedy: "'$(touch pwned4)" });
        const r = spawnSync("bash", ["-c", stub, "units"], { cwd: lab.dir, encoding: "utf8", input: "" });
        // No arguments: the library's parse_args and the step's init_step refuse (64), after the install.
        expect(r.status).toBe(64);
        expect(fs.readFileSync(installed, "utf8")).toBe(lib.text);
        for (const f of ["pwned1", "pwned2", "pwned3", "pwned4"]) expect(fs.existsSync(path.join(lab.dir, f))).toBe(false);
    });
});

describe("a command of several steps on a sandbox node", () => {
    let lab: Lab;
    let cfg: StackConfig;
    beforeEach(() => {
        lab = makeLab(["pve1"]);
        cfg = lab.config("perl-only");
        mustRun(cfg, "perl-only", "perl-only", "0");
    });
    afterEach(() => lab.cleanup());

    const run = (steps: CommandStep[]) => {
        const stub = renderStepStub("pve1", { root: lab.root("pve1"), staged: sandboxLibraryFile(), remedy: REMEDY });
        return spawnSync("/bin/sh", ["-c", commandLine(steps)], { input: stub, encoding: "utf8", timeout: 60_000 });
    };
    const units = (): CommandStep => ({
        step: "units",
        timeLimit: 60,
        args: stepArgs({ cfg, node: cfg.nodes[0], from: "perl-only", to: "perl-only" }, "units", "2222222222222222"),
    });

    test("the steps run in order, each its own decision line; the command succeeds when every step does", () => {
        const r = run([units(), units()]);
        expect([r.status, r.stderr]).toEqual([0, ""]);
        expect(
            r.stdout
                .split("\n")
                .filter((l) => l !== "")
                .map((l) => l.replace(/^\S+ /, "")),
        ).toEqual([
            "node=pve1 from=- to=- step=units result=unchanged detail=unit files up to date",
            "node=pve1 from=- to=- step=units result=unchanged detail=unit files up to date",
        ]);
    });

    test("the first step that fails ends the command with its exit status, naming it and the steps not run", () => {
        const bad: CommandStep = { step: "services", timeLimit: 60, args: { options: { root: lab.root("pve1"), node: "pve1" } } };
        const r = run([units(), bad, units(), units()]);
        expect(r.status).toBe(64);
        expect(r.stdout.split("\n").filter((l) => l !== "")).toHaveLength(1);
        expect(r.stderr).toBe("pve-migration services: missing --middleware-service\npve-migration services on pve1: failed (exit 64); not run: units units\n");
    });
});
