/**
 * Every bound the stack config schema and the node scripts share (components/config/bounds.ts)
 * walked through both: the largest value the schema accepts runs on a sandbox node (the real
 * rendered scripts, every bound at its largest at once, through a promotion into a write phase
 * and a rollback that restores and runs the legacy commands); the smallest value it refuses is
 * a config error naming the key; and the script refuses an out-of-bound value given to it
 * directly with exit 64, before it touches the node.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { BOUNDS, NAME_MAX, renderBoundsPrelude } from "../../components/config/bounds";
import { ConfigError, StackConfig, parseStackConfig } from "../../components/config/schema";
import { parseMonitoringConfig } from "../../components/monitoring";
import { Phase } from "../../components/phases";
import { StepKind } from "../../components/plan";
import { buildStandInDeb } from "../../components/sandbox";
import { NODE_STEPS, NodeStep, renderStepScript, stepCommandLine } from "../../components/scripts";
import { scriptOf, stepArgs } from "../../components/steps";
import { localValues } from "../support/config";
import { makeLab, mustRun } from "../support/node";

const words = (n: number, len: number, head: string[]) => [...head, ...Array.from({ length: n - head.length }, (_, i) => `${i}`.padEnd(len, "w"))];
const unit = (len: number, stem: string) => `${stem}-${"u".repeat(len - stem.length - 1 - ".service".length)}.service`;
/** A path under /etc/pve/network of exactly `total` characters whose last part has `last`. */
function longPath(total: number, last: number): string {
    const name = "m".repeat(last - ".toml".length) + ".toml";
    let dir = "/etc/pve/network";
    while (dir.length + 1 + name.length < total) {
        const room = total - (dir.length + 1 + name.length) - 1;
        dir += "/" + "d".repeat(Math.min(room, 200) || 1);
    }
    return `${dir}/${name}`;
}

const LONGEST_NODE = "n" + "0123456789".repeat(6) + "x9"; // 63 characters
const LONGEST_VERSION = "0." + "1".repeat(BOUNDS.versionLength.max - 4) + "-1";

/** The stack config values with every shared bound at the largest value the schema accepts. */
function largestValues(base: Record<string, string>): Record<string, string> {
    return {
        ...base,
        backups: JSON.stringify({ retention: BOUNDS.retention.max }),
        commands: JSON.stringify({
            legacyValidate: words(BOUNDS.commandArgs.max, BOUNDS.argLength.max, ["pvenet-legacy", "validate", "--config", "/etc/network/interfaces"]),
            legacyApply: words(BOUNDS.commandArgs.max, BOUNDS.argLength.max, ["pvenet-legacy", "apply"]),
            verify: words(BOUNDS.commandArgs.max, BOUNDS.argLength.max, ["true"]),
            middlewareService: unit(BOUNDS.unitNameLength.max, "mw"),
            rustService: unit(BOUNDS.unitNameLength.max, "rs"),
            legacyService: unit(BOUNDS.unitNameLength.max, "legacy"),
        }),
        migrationConfig: JSON.stringify({ scope: "cluster", path: longPath(BOUNDS.pathLength.max, BOUNDS.pathComponentLength.max) }),
    };
}

function parse(values: Record<string, string>): StackConfig {
    return parseStackConfig({ values, secretKeys: new Set(), stack: "test", projectDir: "/" });
}

function configErrors(values: Record<string, string>): string[] {
    try {
        parse(values);
    } catch (e) {
        if (e instanceof ConfigError) return e.errors;
        throw e;
    }
    return [];
}

describe("shared bounds: the largest accepted values run on a sandbox node", () => {
    test("fixtures are at the bounds exactly", () => {
        expect(LONGEST_NODE.length).toBe(63);
        expect(LONGEST_VERSION.length).toBe(BOUNDS.versionLength.max);
        expect(`pve-network-rs_${LONGEST_VERSION}_amd64.deb`.length).toBe(NAME_MAX);
        expect(unit(BOUNDS.unitNameLength.max, "mw").length).toBe(240);
        const p = longPath(BOUNDS.pathLength.max, BOUNDS.pathComponentLength.max);
        expect([p.length, p.split("/").pop()!.length]).toEqual([1024, 247]);
        expect(words(100, 512, ["true"]).map((w) => w.length)).toEqual([4, ...Array(99).fill(512)]);
    });

    test("every bound at its largest: promotion with a backup, rollback with restore and the legacy commands, on a 63-character node", () => {
        const lab = makeLab([LONGEST_NODE]);
        try {
            const deb = buildStandInDeb(lab.dir, LONGEST_VERSION);
            const base = localValues({ sandboxDir: lab.sandbox, debPath: deb.path, sha256: deb.sha256, version: deb.version, nodes: [LONGEST_NODE] });
            const at = (phase: Phase) => parse({ ...largestValues(base), phase, stepTimeouts: JSON.stringify({ default: 86_400 }) });
            const cfg = at("perl-only");
            expect(cfg.backups.retention).toBe(100);
            expect(cfg.stepTimeouts.snapshot).toBe(86_400);
            mustRun(cfg, "perl-only", "perl-only", "aa00");
            mustRun(at("rust-read-only"), "perl-only", "rust-read-only", "aa01");
            const promote = mustRun(at("rust-basic-write"), "rust-read-only", "rust-basic-write", "aa02");
            expect(promote.find((r) => r.id.endsWith("-snapshot"))!.stdout).toMatch(/result=changed detail=backup \S+-aa02 taken/);
            const back = mustRun(at("perl-only"), "rust-basic-write", "perl-only", "aa03");
            expect(back.map((r) => r.id.slice(LONGEST_NODE.length + 1))).toContain("legacy-apply");
            const root = lab.root(LONGEST_NODE);
            const calls = fs.readFileSync(path.join(root, "var/log/pve-network/legacy-calls.log"), "utf8").trim().split("\n");
            // The stand-in Perl CLI logs its arguments: every one of the 100 arrived (one line each call).
            expect(calls.map((l) => l.split(" ").length)).toEqual([99, 99]);
            expect(fs.existsSync(path.join(root, "etc/systemd/system", unit(240, "mw")))).toBe(true);
            expect(fs.existsSync(path.join(lab.sandbox, "cluster-pve", cfg.migrationConfig.path.slice("/etc/pve/".length)))).toBe(true);
        } finally {
            lab.cleanup();
        }
    }, 120_000);
});

/** Raw values of a valid stack, with one key replaced. */
const valid = () => localValues({ sandboxDir: "/tmp/none", debPath: "/tmp/none.deb", sha256: "0".repeat(64), version: "0.4.2-1" });
const cmds = (o: Record<string, unknown>) => ({ commands: JSON.stringify(o) });

describe("shared bounds: the smallest refused value is a config error naming the key", () => {
    const cases: [string, Record<string, string>, Record<string, string>, string][] = [
        [
            "backups.retention",
            { backups: JSON.stringify({ retention: 100 }) },
            { backups: JSON.stringify({ retention: 101 }) },
            "pve-migration:backups.retention: must be at most 100",
        ],
        [
            "backups.retention (low)",
            { backups: JSON.stringify({ retention: 1 }) },
            { backups: JSON.stringify({ retention: 0 }) },
            "pve-migration:backups.retention: must keep at least 1 backup",
        ],
        [
            "commands.legacyValidate (count)",
            cmds({ legacyValidate: words(100, 1, ["v"]) }),
            cmds({ legacyValidate: words(101, 1, ["v"]) }),
            "pve-migration:commands.legacyValidate: must have at most 100 arguments",
        ],
        [
            "commands.legacyApply (count)",
            cmds({ legacyApply: words(100, 1, ["a"]) }),
            cmds({ legacyApply: words(101, 1, ["a"]) }),
            "pve-migration:commands.legacyApply: must have at most 100 arguments",
        ],
        [
            "commands.verify (count)",
            cmds({ verify: words(100, 1, ["v"]) }),
            cmds({ verify: words(101, 1, ["v"]) }),
            "pve-migration:commands.verify: must have at most 100 arguments",
        ],
        [
            "commands.verify (word length)",
            cmds({ verify: ["v", "x".repeat(512)] }),
            cmds({ verify: ["v", "x".repeat(513)] }),
            "pve-migration:commands.verify[1]: must be at most 512 characters",
        ],
        [
            "commands.legacyApply (word length)",
            cmds({ legacyApply: ["x".repeat(512)] }),
            cmds({ legacyApply: ["x".repeat(513)] }),
            "pve-migration:commands.legacyApply[0]: must be at most 512 characters",
        ],
        ...(["middlewareService", "rustService", "legacyService"] as const).map((k): [string, Record<string, string>, Record<string, string>, string] => [
            `commands.${k}`,
            cmds({ [k]: unit(240, "s") }),
            cmds({ [k]: unit(241, "s") }),
            `pve-migration:commands.${k}: must be at most 240 characters (every file named after it must fit 255: the unit file, the diagnostics bundle's <name>.is-enabled.txt)`,
        ]),
        [
            "migrationConfig.path (length)",
            { migrationConfig: JSON.stringify({ path: longPath(1024, 100) }) },
            { migrationConfig: JSON.stringify({ path: longPath(1025, 100) }) },
            "pve-migration:migrationConfig.path: must be at most 1024 characters (with {node} as 63)",
        ],
        [
            "migrationConfig.path (part)",
            { migrationConfig: JSON.stringify({ path: `/etc/pve/${"p".repeat(247)}` }) },
            { migrationConfig: JSON.stringify({ path: `/etc/pve/${"p".repeat(248)}` }) },
            "pve-migration:migrationConfig.path: each part between '/' must be at most 247 characters (the file is written through .<name>.XXXXXX)",
        ],
        [
            "migrationConfig.path ({node} counts as 63)",
            { migrationConfig: JSON.stringify({ scope: "node", path: `/etc/pve/nodes/{node}/${"p".repeat(247)}` }) },
            { migrationConfig: JSON.stringify({ scope: "node", path: `/etc/pve/nodes/{node}${"p".repeat(185)}/m.toml` }) },
            "pve-migration:migrationConfig.path: each part between '/' must be at most 247 characters (the file is written through .<name>.XXXXXX)",
        ],
        [
            "package.version",
            { package: JSON.stringify({ version: LONGEST_VERSION, sha256: "0".repeat(64), path: "/tmp/x.deb" }) },
            { package: JSON.stringify({ version: LONGEST_VERSION + "1", sha256: "0".repeat(64), path: "/tmp/x.deb" }) },
            "pve-migration:package.version: must be at most 230 characters (the .deb's file name must fit 255)",
        ],
        [
            "nodes[0].name",
            { nodes: JSON.stringify([{ name: LONGEST_NODE }]) },
            { nodes: JSON.stringify([{ name: LONGEST_NODE + "1" }]) },
            "pve-migration:nodes[0].name: must be a Proxmox VE node name (letters, digits, '-', at most 63)",
        ],
        [
            "stepTimeouts.default",
            { stepTimeouts: JSON.stringify({ default: 86_400 }) },
            { stepTimeouts: JSON.stringify({ default: 86_401 }) },
            "pve-migration:stepTimeouts.default: must be at most 86400 seconds",
        ],
    ];
    test.each(cases)("%s: the largest is accepted, one more is refused naming the key", (_name, largest, over, message) => {
        expect(configErrors({ ...valid(), ...largest })).toEqual([]);
        expect(configErrors({ ...valid(), ...over })).toEqual([message]);
    });

    test("monitoring.rulesFile.path and reload: the same bounds, naming the monitoring key", () => {
        const cfg = parse(valid());
        const errs = (rulesFile: Record<string, unknown>) => {
            try {
                parseMonitoringConfig({ alerts: { perlBaselineSeconds: 0.8 }, rulesFile: { host: { name: "mon1" }, ...rulesFile } }, cfg);
                return [];
            } catch (e) {
                return (e as ConfigError).errors;
            }
        };
        expect(errs({ path: `/etc/prometheus/${"r".repeat(247)}`, reload: words(100, 512, ["systemctl"]) })).toEqual([]);
        expect(errs({ path: `/etc/prometheus/${"r".repeat(248)}` })).toEqual([
            "pve-migration:monitoring.rulesFile.path: each part between '/' must be at most 247 characters (the file is written through .<name>.XXXXXX)",
        ]);
        expect(errs({ path: "/etc/prometheus/{node}.yml" })).toEqual(["pve-migration:monitoring.rulesFile.path: must be an absolute path without '..'"]);
        expect(errs({ reload: words(101, 1, ["systemctl"]) })).toEqual(["pve-migration:monitoring.rulesFile.reload: must have at most 100 arguments"]);
        expect(errs({ reload: ["systemctl", "x".repeat(513)] })).toEqual(["pve-migration:monitoring.rulesFile.reload[1]: must be at most 512 characters"]);
        expect(errs({ reload: ["systemctl", "a\0b"] })).toEqual(["pve-migration:monitoring.rulesFile.reload[1]: must not contain NUL"]);
    });
});

describe("shared bounds: the scripts refuse out-of-bound values given directly (exit 64, nothing touched)", () => {
    const lab = makeLab(["pve1"]);
    const cfg = lab.config("perl-only");
    afterAll(() => lab.cleanup());

    function direct(kind: StepKind, from: Phase, to: Phase, options: Record<string, string>, argv?: string[]) {
        const node = cfg.nodes[0];
        const step: NodeStep = scriptOf(kind);
        const args = stepArgs({ cfg, node, from, to }, kind, "bb00");
        const line = stepCommandLine({ options: { ...args.options, ...options }, argv: argv ?? args.argv }, { step, timeLimit: 60 });
        return spawnSync("/bin/sh", ["-c", line], { input: renderStepScript(step), encoding: "utf8", timeout: 60_000 });
    }

    const long = (n: number) => "x".repeat(n);
    const cases: [string, StepKind, Phase, Phase, Record<string, string>, string[] | undefined, string][] = [
        ["retention 101", "snapshot", "rust-read-only", "rust-basic-write", { retention: "101" }, undefined, "--retention must be 1..100"],
        ["retention 0", "snapshot", "rust-read-only", "rust-basic-write", { retention: "0" }, undefined, "--retention must be 1..100"],
        ["retention 1e3", "snapshot", "rust-read-only", "rust-basic-write", { retention: "1e3" }, undefined, "--retention must be 1..100"],
        [
            "validate-argc 101",
            "legacy-apply",
            "rust-basic-write",
            "perl-only",
            { "validate-argc": "101" },
            words(102, 1, ["true"]),
            "--validate-argc must be 1..100",
        ],
        [
            "apply with 101 arguments",
            "legacy-apply",
            "rust-basic-write",
            "perl-only",
            { "validate-argc": "1" },
            words(102, 1, ["true"]),
            "the apply command has more than 100 arguments",
        ],
        [
            "a legacy argument of 513",
            "legacy-apply",
            "rust-basic-write",
            "perl-only",
            { "validate-argc": "1" },
            ["true", long(513)],
            "a command argument is longer than 512 characters",
        ],
        ["verify with 101 arguments", "verify", "perl-only", "perl-only", {}, words(101, 1, ["true"]), "the verify command has more than 100 arguments"],
        ["a verify argument of 513", "verify", "perl-only", "perl-only", {}, ["true", long(513)], "a command argument is longer than 512 characters"],
        [
            "a 241-character rust service (package)",
            "package",
            "perl-only",
            "perl-only",
            { "rust-service": unit(241, "r") },
            undefined,
            "service name longer than 240 characters",
        ],
        [
            "a 241-character middleware service (units)",
            "units",
            "perl-only",
            "perl-only",
            { "middleware-service": unit(241, "m") },
            undefined,
            "service name longer than 240 characters",
        ],
        [
            "a 241-character legacy service (network-confirm)",
            "network-confirm",
            "rust-basic-write",
            "perl-only",
            { "legacy-service": unit(241, "l") },
            undefined,
            "service name longer than 240 characters",
        ],
        [
            "a confirm timeout of 4 s",
            "legacy-apply",
            "rust-basic-write",
            "perl-only",
            { "confirm-timeout": "4" },
            undefined,
            "--confirm-timeout must be 5 to 45 seconds",
        ],
        [
            "a confirm timeout of 46 s",
            "legacy-apply",
            "rust-basic-write",
            "perl-only",
            { "confirm-timeout": "46" },
            undefined,
            "--confirm-timeout must be 5 to 45 seconds",
        ],
        [
            "a confirm timeout of 30s",
            "legacy-apply",
            "rust-basic-write",
            "perl-only",
            { "confirm-timeout": "30s" },
            undefined,
            "--confirm-timeout must be 5 to 45 seconds",
        ],
        [
            "a health command of 101 words",
            "network-confirm",
            "rust-basic-write",
            "perl-only",
            { "health-argc": "101" },
            words(101, 1, ["true"]),
            "--health-argc must be 1..100",
        ],
        [
            "a health command shorter than its count",
            "network-confirm",
            "rust-basic-write",
            "perl-only",
            { "health-argc": "3" },
            ["pvecm", "status"],
            "--health-argc 3 does not match the 2 words after --",
        ],
        [
            "a health command without its count",
            "network-confirm",
            "rust-basic-write",
            "perl-only",
            {},
            ["pvecm", "status"],
            "a health command after -- needs --health-argc",
        ],
        [
            "a 241-character service (services)",
            "services",
            "perl-only",
            "perl-only",
            { "rust-service": unit(241, "r") },
            undefined,
            "service name longer than 240 characters",
        ],
        ["a config path of 1025", "config", "perl-only", "perl-only", { path: longPath(1025, 100) }, undefined, "path longer than 1024 characters"],
        ["a config path part of 248", "config", "perl-only", "perl-only", { path: `/etc/pve/${long(248)}` }, undefined, "path part longer than 247 characters"],
        ["a config path with a space", "config", "perl-only", "perl-only", { path: "/etc/pve/a b.toml" }, undefined, "not a path of plain characters"],
        [
            "a snapshot config path part of 248",
            "snapshot",
            "perl-only",
            "rust-read-only",
            { "config-path": `/etc/pve/${long(248)}` },
            undefined,
            "path part longer than 247 characters",
        ],
        ["a verify config path of 1025", "verify", "perl-only", "perl-only", { "config-path": longPath(1025, 100) }, undefined, "path longer than 1024 characters"],
        ["a version of 231", "package", "perl-only", "perl-only", { version: LONGEST_VERSION + "1" }, undefined, "--version is longer than 230 characters"],
        [
            "a verify version of 231",
            "verify",
            "perl-only",
            "perl-only",
            { version: LONGEST_VERSION + "1" },
            undefined,
            "--version is not a Debian version of at most 230 characters",
        ],
        ["a 64-character node name", "units", "perl-only", "perl-only", { node: LONGEST_NODE + "1" }, undefined, "--node is not a node name"],
    ];
    test.each(cases)("%s", (_name, kind, from, to, options, argv, message) => {
        const log = path.join(lab.root("pve1"), "var/log/pve-network/migration.log");
        const before = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : undefined;
        const r = direct(kind, from, to, options, argv);
        expect(r.stderr).toBe(`pve-migration ${scriptOf(kind)}: ${message}\n`);
        expect(r.status).toBe(64);
        expect(r.stdout).toBe("");
        expect(fs.existsSync(log) ? fs.readFileSync(log, "utf8") : undefined).toBe(before);
    });

    test("the rules step refuses a path part of 248 and a reload of 101 arguments", () => {
        const run = (options: Record<string, string>, argv: string[]) => {
            const line = stepCommandLine(
                {
                    options: { root: lab.root("pve1"), node: "pve1", path: "/etc/prometheus/r.yml", content: "", sha256: "0".repeat(64), check: "0", ...options },
                    argv,
                },
                { step: "rules", timeLimit: 60 },
            );
            return spawnSync("/bin/sh", ["-c", line], { input: renderStepScript("rules"), encoding: "utf8", timeout: 60_000 });
        };
        const a = run({ path: `/etc/prometheus/${long(248)}` }, ["true"]);
        expect([a.status, a.stderr]).toEqual([64, "pve-migration rules: path part longer than 247 characters\n"]);
        const b = run({}, words(101, 1, ["true"]));
        expect([b.status, b.stderr]).toEqual([64, "pve-migration rules: the reload command has more than 100 arguments\n"]);
    });

    test("the prelude of every step carries the bounds of components/config/bounds.ts", () => {
        const prelude = renderBoundsPrelude();
        expect(prelude.split("\n").slice(1, 11)).toEqual([
            "PVE_MAX_RETENTION=100",
            "PVE_MIN_CONFIRM_TIMEOUT=5",
            "PVE_MAX_CONFIRM_TIMEOUT=45",
            "PVE_MAX_HA_SETTLE_TIMEOUT=1200",
            "PVE_MAX_COMMAND_ARGS=100",
            "PVE_MAX_ARG_LENGTH=512",
            "PVE_MAX_UNIT_NAME_LENGTH=240",
            "PVE_MAX_PATH_LENGTH=1024",
            "PVE_MAX_PATH_COMPONENT_LENGTH=247",
            "PVE_MAX_VERSION_LENGTH=230",
        ]);
        for (const s of NODE_STEPS) {
            expect(renderStepScript(s)).toContain(prelude);
        }
    });
});
