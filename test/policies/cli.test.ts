/**
 * `npm run policy -- --stack S ...`: as a subprocess (the real entry, exit status and output)
 * and in-process (flags, usage errors, policy config, placeholders).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { policyCheckMain, usage as policyUsage } from "../../cli/policy-check";
import { DAY, PROJECT_DIR, isoAgo, stackConfig } from "./helpers";

let tmp: string;
beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "policy-check-"));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function writeStackFile(name: string, config: Record<string, unknown>): string {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, YAML.stringify({ config }));
    return file;
}

function writeJson(name: string, value: unknown): string {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, typeof value === "string" ? value : JSON.stringify(value));
    return file;
}

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    let stdout = "";
    let stderr = "";
    const code = await policyCheckMain(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), cwd: PROJECT_DIR, env: {} });
    return { code, stdout, stderr };
}

function npmPolicy(...argv: string[]) {
    return npmPolicyIn(PROJECT_DIR, ...argv);
}

function npmPolicyIn(cwd: string, ...argv: string[]) {
    const r = spawnSync("npm", ["run", "-s", "policy", "--", ...argv], { cwd, encoding: "utf8", timeout: 90000 });
    // npm may warn about the user's npmrc on stderr; the check's own lines start with "policy-check:".
    return {
        status: r.status,
        stdout: r.stdout,
        stderr: r.stderr
            .split("\n")
            .filter((l) => !l.startsWith("npm warn"))
            .join("\n"),
    };
}

const PLACEHOLDER_NOTES = [
    "note: pve-migration:sshPrivateKeys: placeholder secret (not in the stack file; set it with pulumi config set --secret --path 'sshPrivateKeys.<name>')",
    "note: pve-migration:kubeconfig: placeholder secret (not in the stack file; set it with pulumi config set --secret pve-migration:kubeconfig < kubeconfig)",
];
const RECORD_URN = "urn:pulumi:canary-a::pve-network-migration::pve-migration:cluster:ClusterMigration$random:index/randomId:RandomId::pve-east-transition";
const SNAPSHOT_URN =
    "urn:pulumi:canary-a::pve-network-migration::pve-migration:cluster:ClusterMigration$pve-migration:node:MigrationNode$pve-migration:node:Backups$command:remote:Command::pve-east-01-snapshot-package-units-config-services-verify";
const NOTHING_STOPS = "with --skip-preview: no resource policy stops a step; the stack policies find nothing mandatory after the steps";

describe("as a subprocess (npm run policy)", () => {
    test("started in a subfolder, a relative --stack-file is that folder's (INIT_CWD), not the package root's", () => {
        const r = npmPolicyIn(path.join(PROJECT_DIR, "stacks"), "--stack", "canary-b", "--stack-file", "Pulumi.canary-b.yaml");
        expect([r.status, r.stderr.trim()]).toEqual([0, ""]);
        expect(r.stdout.trimEnd().split("\n").slice(-1)).toEqual(["0 violation(s): 0 mandatory, 0 advisory -> passed"]);
    });

    test("a usage error is one line (no usage text after it)", () => {
        const r = npmPolicy("--stack");
        expect([r.status, r.stdout, r.stderr]).toEqual([2, "", "policy-check: --stack needs a value (see policy-check --help)\n"]);
    });

    test("sshPrivateKeys as ONE secure value (pulumi config set --secret pve-migration:sshPrivateKeys '<json>'): the check passes", () => {
        const file = writeStackFile(
            "Pulumi.canary-a.yaml",
            stackConfig("canary-a", (c) => (c["pve-migration:sshPrivateKeys"] = { secure: "v1:AAAAwhole" })),
        );
        const r = npmPolicy("--stack", "canary-a", "--stack-file", file);
        expect(r.stdout.trimEnd().split("\n").slice(1)).toEqual([
            "note: pve-migration:sshPrivateKeys: placeholder secret (the stack file holds an encrypted secure value; the offline check does not decrypt it)",
            PLACEHOLDER_NOTES[1],
            NOTHING_STOPS,
            "0 violation(s): 0 mandatory, 0 advisory -> passed",
        ]);
        expect([r.status, r.stderr.trim()]).toEqual([0, ""]);
    });

    test("a skipped phase: exit 1, the violation with policy, resource and level", () => {
        const r = npmPolicy("--stack", "canary-a", "--from", "perl-only");
        expect(r.status).toBe(1);
        const lines = r.stdout.trimEnd().split("\n");
        expect(lines[0]).toMatch(/^policy check of stack canary-a: perl-only -> rust-basic-write, \d+ resources, 17 policies \(pack pve-network-migration\)$/);
        expect(lines.slice(1)).toEqual([
            ...PLACEHOLDER_NOTES,
            `mandatory phase-transition  ${RECORD_URN}`,
            "          stack canary-a: promotion from perl-only to rust-basic-write skips 1 phase(s); promote one phase at a time (next: rust-read-only)",
            `mandatory step-phases  ${SNAPSHOT_URN}`,
            "          step pve-east-01-snapshot (in pve-east-01-snapshot-package-units-config-services-verify): promotion from perl-only to rust-basic-write skips 1 phase(s); promote one phase at a time (next: rust-read-only)",
            "with --skip-preview: pulumi up stops at pve-east-transition (phase-transition) before creating it; registered before it, so possibly created already: none",
            "2 violation(s): 2 mandatory, 0 advisory -> FAILED",
        ]);
        expect(r.stderr.trim()).toBe("");
    });

    test("--json with a deployed file: canary-b overtaking canary-a", () => {
        const deployed = writeJson("deployed.json", {
            "canary-a": { phase: "rust-read-only", phaseEnteredAt: isoAgo(30 * DAY) },
            "canary-b": { phase: "rust-read-only" },
        });
        const file = writeStackFile(
            "Pulumi.canary-b.yaml",
            stackConfig("canary-b", (c) => (c["pve-migration:phase"] = "rust-basic-write")),
        );
        const r = npmPolicy("--stack", "canary-b", "--stack-file", file, "--deployed-file", deployed, "--json");
        expect(r.status).toBe(1);
        const out = JSON.parse(r.stdout);
        expect([out.stack, out.from, out.to, out.passed, out.mandatory, out.advisory]).toEqual(["canary-b", "rust-read-only", "rust-basic-write", false, 2, 0]);
        expect(out.violations.map((v: { policy: string; enforcementLevel: string; name: string }) => [v.policy, v.enforcementLevel, v.name])).toEqual([
            ["ring-order", "mandatory", "pve-east-transition"],
            ["soak-and-evidence", "mandatory", "pve-east-transition"],
        ]);
        expect(out.violations[0].message).toBe(
            "ring canary-b would be ahead of its upstream canary-a: rust-basic-write is after rust-read-only (promote canary-a first)",
        );
        expect(out.skipPreview).toEqual({
            stoppedAt: { policy: "ring-order", name: "pve-east-transition", urn: out.violations[0].urn, message: out.violations[0].message },
            registeredBefore: [],
            stackViolationsAfterSteps: [],
        });
    });
});

describe("in-process", () => {
    test("a passing stack exits 0", async () => {
        const r = await cli("--stack", "canary-b");
        expect(r.code).toBe(0);
        expect(r.stdout.trimEnd().split("\n").slice(1)).toEqual([PLACEHOLDER_NOTES[0], NOTHING_STOPS, "0 violation(s): 0 mandatory, 0 advisory -> passed"]);
    });

    test("the policy config sets enforcement levels (a mandatory violation made advisory exits 0)", async () => {
        const advisory = writeJson("advisory.json", { "phase-transition": "advisory", "step-phases": "advisory" });
        const r = await cli("--stack", "canary-a", "--from", "perl-only", "--policy-config", advisory);
        expect(r.code).toBe(0);
        expect(r.stdout).toContain(`advisory  phase-transition  ${RECORD_URN}\n`);
        expect(r.stdout).toContain(`advisory  step-phases  ${SNAPSHOT_URN}\n`);
        expect(r.stdout).toContain(`${NOTHING_STOPS}\n2 violation(s): 0 mandatory, 2 advisory -> passed\n`);
        const disabled = writeJson("disabled.json", { "phase-transition": { enforcementLevel: "disabled" }, "step-phases": "disabled" });
        const d = await cli("--stack", "canary-a", "--from", "perl-only", "--policy-config", disabled, "--json");
        expect(d.code).toBe(0);
        expect(JSON.parse(d.stdout)).toMatchObject({ passed: true, violations: [], policies: expect.not.arrayContaining(["phase-transition", "step-phases"]) });
    });

    test("policy config properties reach the policies", async () => {
        const strict = writeJson("strict.json", { "perl-api": { maxTimeoutSeconds: 30 } });
        const r = await cli("--stack", "canary-b", "--policy-config", strict, "--json");
        expect(r.code).toBe(1);
        expect(JSON.parse(r.stdout).violations.map((v: { message: string }) => v.message)).toEqual([
            "transition record of stack canary-b: perlApiTimeout must be a whole number of seconds between 5 and 30 (got 60)",
            "/etc/pve/nodes/pve-east-02/network/migration.toml: perl_api_timeout must be a whole number of seconds between 5 and 30 (got 60)",
        ]);
    });

    test("the pack config shown in policies/README.md is accepted and applied", async () => {
        const readme = fs.readFileSync(path.join(PROJECT_DIR, "policies", "README.md"), "utf8");
        const block = /```json\n([\s\S]*?)```/.exec(readme);
        const file = writeJson("readme-config.json", block![1]);
        const r = await cli("--stack", "canary-b", "--policy-config", file, "--json");
        expect(r.code).toBe(0);
        expect(JSON.parse(r.stdout).policies).toEqual([
            "phase-transition",
            "step-phases",
            "snapshot-takes-backup",
            "ring-order",
            "soak-and-evidence",
            "change-window",
            "fallback-enabled",
            "perl-api",
            "package-pinned",
            "no-plaintext-secrets",
            "cluster-file-single-writer",
            "log-migration-decisions",
            "transition-record",
            "backup-before-write",
            "cluster-file-writers",
            "blue-green-safe",
        ]);
    });

    test("a secure value in the stack file becomes a marked placeholder secret", async () => {
        const file = writeStackFile(
            "Pulumi.canary-b.yaml",
            stackConfig("canary-b", (c) => (c["pve-migration:sshPrivateKeys"] = { default: { secure: "v1:AAAAencrypted" } })),
        );
        const r = await cli("--stack", "canary-b", "--stack-file", file);
        expect(r.code).toBe(0);
        expect(r.stdout.split("\n")[1]).toBe(
            "note: pve-migration:sshPrivateKeys: placeholder secret (the stack file holds an encrypted secure value; the offline check does not decrypt it)",
        );
    });

    // Both forms of the secret: per leaf (`--path 'sshPrivateKeys.default'`) and the whole object
    // as ONE secure value (`pulumi config set --secret pve-migration:sshPrivateKeys '<json>'`).
    const WHOLE = { secure: "v1:AAAAwholeObjectEncrypted" };
    test.each([
        ["canary-b", "per leaf", { default: { secure: "v1:AAAAencrypted" } }],
        ["canary-b", "whole object", WHOLE],
        ["prod", "per leaf", { default: { secure: "v1:AAAAencrypted" } }],
        ["prod", "whole object", WHOLE],
    ])("%s with sshPrivateKeys as a secret %s: the check runs and passes", async (stack, _form, keys) => {
        const file = writeStackFile(
            `Pulumi.${stack}.yaml`,
            stackConfig(stack, (c) => (c["pve-migration:sshPrivateKeys"] = keys)),
        );
        const r = await cli("--stack", stack, "--stack-file", file, "--json");
        expect([r.code, r.stderr]).toEqual([0, ""]);
        const out = JSON.parse(r.stdout);
        expect([out.passed, out.mandatory, out.advisory]).toEqual([true, 0, 0]);
        expect(out.placeholders).toContain(
            "pve-migration:sshPrivateKeys: placeholder secret (the stack file holds an encrypted secure value; the offline check does not decrypt it)",
        );
    });

    test("a config the program refuses: exit 1, its error", async () => {
        const file = writeStackFile(
            "Pulumi.canary-b.yaml",
            stackConfig("canary-b", (c) => (c["pve-migration:phase"] = "rust-fastest")),
        );
        const r = await cli("--stack", "canary-b", "--stack-file", file);
        expect(r).toEqual({
            code: 1,
            stdout: "",
            stderr: "policy-check: the program failed: invalid stack config:\n  pve-migration:phase: must be one of perl-only, rust-read-only, rust-basic-write, rust-advanced, rust-sdn, rust-full\n",
        });
    });

    test("--help prints the usage; nothing else does", async () => {
        expect(await cli("--help")).toEqual({ code: 0, stdout: policyUsage(), stderr: "" });
        expect(policyUsage().split("\n")[0]).toBe("Usage: policy-check [options]");
    });

    test("relative paths are the caller's folder's; the project is the package's when no Pulumi.yaml is above it", async () => {
        const sub = fs.mkdtempSync(path.join(tmp, "caller-"));
        fs.writeFileSync(
            path.join(sub, "Pulumi.canary-b.yaml"),
            YAML.stringify({ config: stackConfig("canary-b", (c) => (c["pve-migration:phase"] = "rust-fastest")) }),
        );
        let stderr = "";
        const code = await policyCheckMain(["--stack", "canary-b", "--stack-file", "Pulumi.canary-b.yaml"], {
            stdout: () => undefined,
            stderr: (t) => (stderr += t),
            cwd: sub,
            env: {},
        });
        // The file was found (relative to the caller) and read: the program refuses its phase.
        expect([code, stderr.split("\n")[0]]).toEqual([1, "policy-check: the program failed: invalid stack config:"]);
        const missing = await policyCheckMain(["--stack", "dev", "--deployed-file", "nope.json"], {
            stdout: () => undefined,
            stderr: (t) => (stderr = t),
            cwd: sub,
            env: {},
        });
        expect([missing, stderr]).toEqual([2, `policy-check: --deployed-file: cannot read ${path.join(sub, "nope.json")}: ENOENT\n`]);
    });

    const usage: [string, string[], string][] = [
        ["no --stack", [], "--stack is required"],
        ["an unknown flag", ["--stack", "dev", "--frm", "perl-only"], "unknown flag --frm"],
        [
            "a phase that does not exist",
            ["--stack", "dev", "--from", "rust-x"],
            '--from: must be one of perl-only, rust-read-only, rust-basic-write, rust-advanced, rust-sdn, rust-full (got "rust-x")',
        ],
        ["a stack without a stack file", ["--stack", "staging"], `no stack file ${path.join(PROJECT_DIR, "stacks", "Pulumi.staging.yaml")}`],
        ["a stray argument", ["--stack", "dev", "prod"], 'unexpected argument "prod"'],
    ];
    test.each(usage)("usage error: %s (exit 2)", async (_what, argv, message) => {
        const r = await cli(...argv);
        expect([r.code, r.stdout, r.stderr]).toEqual([2, "", `policy-check: ${message} (see policy-check --help)\n`]);
    });

    test("--deployed-file: a stack the file does not list is taken as deployed in its configured phase; {} is never deployed", async () => {
        // canary-a is configured in rust-basic-write.
        const unlisted = await cli("--stack", "canary-a", "--json", "--deployed-file", writeJson("other.json", { prod: { phase: "perl-only" } }));
        expect([JSON.parse(unlisted.stdout).from, JSON.parse(unlisted.stdout).to]).toEqual(["rust-basic-write", "rust-basic-write"]);
        const never = await cli("--stack", "canary-a", "--json", "--deployed-file", writeJson("never.json", { "canary-a": {} }));
        expect([JSON.parse(never.stdout).from, JSON.parse(never.stdout).to]).toEqual(["perl-only", "rust-basic-write"]);
    });

    test("usage errors in the deployed file and the policy config", async () => {
        const cases: [string[], string][] = [
            // The one --deployed-file parser (migration-ctl's, components/ctl/deployed.ts).
            [
                ["--deployed-file", writeJson("bad1.json", "{")],
                `--deployed-file: ${path.join(tmp, "bad1.json")}: not valid JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)\n`,
            ],
            [
                ["--deployed-file", writeJson("bad2.json", { dev: { phase: "rust" } })],
                `--deployed-file: ${path.join(tmp, "bad2.json")}: dev.phase: Invalid enum value. Expected 'perl-only' | 'rust-read-only' | 'rust-basic-write' | 'rust-advanced' | 'rust-sdn' | 'rust-full', received 'rust'\n`,
            ],
            [["--deployed-file", path.join(tmp, "missing.json")], `--deployed-file: cannot read ${path.join(tmp, "missing.json")}: ENOENT\n`],
            [
                ["--policy-config", writeJson("c1.json", { "no-such-policy": "mandatory" })],
                "policy config: no-such-policy is not a policy of pack pve-network-migration (one of phase-transition, ",
            ],
            [
                ["--policy-config", writeJson("c2.json", { "ring-order": "loud" })],
                'policy config: ring-order.enforcementLevel must be one of advisory, mandatory, remediate, disabled (got "loud")',
            ],
            [
                ["--policy-config", writeJson("c3.json", { "perl-api": { maxTimeoutSeconds: "long" } })],
                "policy config: perl-api: /maxTimeoutSeconds must be integer",
            ],
        ];
        for (const [extra, message] of cases) {
            const r = await cli("--stack", "dev", "--json", ...extra);
            expect([r.code, r.stdout]).toEqual([2, ""]);
            expect(r.stderr.startsWith(`policy-check: ${message}`)).toBe(true);
        }
    });
});
