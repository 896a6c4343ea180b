/**
 * The pure parts of migration-ctl, called directly: the printed diff (against GNU diff -u and patch),
 * in-place YAML edits, the raw config the one stack file reader hands to parseStackConfig
 * (secrets), deployed outputs.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import YAML from "yaml";
import { deployedFromFile, parseOutputs } from "../../components/ctl/deployed";
import { FILE_HEADERS_ONLY, createTwoFilesPatch } from "diff";
import { CtlError, EXIT } from "../../components/ctl/errors";
import { loadStack } from "../../components/ctl/repo";
import { StackFileError, parseStackFile, placeholderValue } from "../../components/config/stackfile";
import { editYaml, renderScalar } from "../../components/ctl/yamledit";
import { DEFAULT_SOAK_SECONDS } from "../../components/phases";
import { RingCheckInput, checkRing } from "../../components/rings";

/**
 * The stack-file diff that phase set, rollback and color print: the `diff` package's
 * createTwoFilesPatch with file headers only, called as components/ctl/commands.ts calls it.
 * Its hunks are GNU `diff -u`'s except that a one-line range is written `-1,1` where GNU writes
 * `-1` (both are unified diff; patch(1) reads either), and it must apply with patch(1).
 */
describe("the printed diff (diff package) is diff -u's and applies with patch(1)", () => {
    const printed = (a: string, b: string) =>
        a === b ? "" : createTwoFilesPatch("a", "b", a, b, undefined, undefined, { context: 3, headerOptions: FILE_HEADERS_ONLY });
    const lines = (n: number, f = (i: number) => `line ${i}`) => Array.from({ length: n }, (_, i) => f(i + 1)).join("\n") + "\n";
    const cases: [string, string, string][] = [
        ["one change in the middle", lines(20), lines(20).replace("line 10\n", "line ten\n")],
        ["change at the start", lines(8), lines(8).replace("line 1\n", "first\n")],
        ["change at the end", lines(8), lines(8).replace("line 8\n", "last\n")],
        ["insertions only", lines(5), lines(5).replace("line 3\n", "line 3\nnew a\nnew b\n")],
        ["deletions only", lines(9), lines(9).replace("line 4\nline 5\n", "")],
        ["two hunks far apart", lines(40), lines(40).replace("line 3\n", "three\n").replace("line 30\n", "thirty\n")],
        ["two changes merged into one hunk", lines(30), lines(30).replace("line 10\n", "ten\n").replace("line 16\n", "sixteen\n")],
        ["two changes just too far apart to merge", lines(30), lines(30).replace("line 10\n", "ten\n").replace("line 17\n", "seventeen\n")],
        ["from empty", "", lines(3)],
        ["to empty", lines(3), ""],
        ["old lacks the final newline", "a\nb\nc", "a\nb\nc\n"],
        ["new lacks the final newline", "a\nb\nc\n", "a\nb\nC"],
        ["both lack it, change before", "a\nb\nc", "A\nb\nc"],
    ];

    test.each(cases)("%s", (_name, a, b) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctl-diff-"));
        try {
            fs.writeFileSync(path.join(dir, "a"), a);
            fs.writeFileSync(path.join(dir, "b"), b);
            const r = spawnSync("diff", ["-u", "a", "b"], { cwd: dir, encoding: "utf8" });
            expect(r.status).toBe(1);
            const gnu = r.stdout.split("\n").slice(2).join("\n");
            const ours = printed(a, b);
            expect(ours.split("\n").slice(0, 2)).toEqual(["--- a", "+++ b"]);
            const hunks = ours.split("\n").slice(2).join("\n");
            expect(hunks.replace(/^@@ -(\d+),1 /gm, "@@ -$1 ").replace(/^(@@ -\S+ \+\d+),1 @@/gm, "$1 @@")).toBe(gnu);
            fs.writeFileSync(path.join(dir, "p.diff"), ours);
            const p = spawnSync("patch", ["--quiet", "--posix", "-o", "out", "a", "p.diff"], { cwd: dir, encoding: "utf8" });
            expect(p.stderr).toBe("");
            expect(p.status).toBe(0);
            expect(fs.readFileSync(path.join(dir, "out"), "utf8")).toBe(b);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("a one-line change: ranges written in full", () => {
        expect(printed("x\ny\n", "x\nz\n")).toBe("--- a\n+++ b\n@@ -1,2 +1,2 @@\n x\n-y\n+z\n");
        expect(printed("a\n", "a")).toBe("--- a\n+++ b\n@@ -1,1 +1,1 @@\n-a\n+a\n\\ No newline at end of file\n");
    });

    test("equal texts: nothing printed", () => {
        expect(printed("a\n", "a\n")).toBe("");
    });
});

describe("editYaml", () => {
    const F = "stacks/Pulumi.t.yaml";

    test.each([
        ["plain", "config:\n  k: old # c\n", "config:\n  k: new-value # c\n"],
        ["single-quoted", "config:\n  k: 'old'   # c\n", "config:\n  k: 'new-value'   # c\n"],
        ["double-quoted", 'config:\n  k: "old"\n', 'config:\n  k: "new-value"\n'],
        ["in a flow map", "config: { k: old, j: 1 }\n", "config: { k: new-value, j: 1 }\n"],
        ["no final newline", "config:\n  k: old", "config:\n  k: new-value"],
    ])("replace a %s scalar in place", (_n, before, after) => {
        expect(editYaml(before, F, [{ path: ["config", "k"], value: "new-value" }])).toBe(after);
    });

    test("add a key to a block map at the map's indentation, after its last entry", () => {
        const before = "config:\n    a: 1   # one\n    b:\n        c: 2\n# end\n";
        const after = editYaml(before, F, [{ path: ["config", "d"], value: { e: "2026-01-01T00:00:00Z", f: true } }]);
        expect(after).toBe('config:\n    a: 1   # one\n    b:\n        c: 2\n    d:\n        e: "2026-01-01T00:00:00Z"\n        f: true\n# end\n');
    });

    test("add a key at the end of a file without a final newline", () => {
        expect(editYaml("config:\n  a: 1", F, [{ path: ["config", "b"], value: 2 }])).toBe("config:\n  a: 1\n  b: 2\n");
    });

    test("remove a key (its lines only), and a key of a flow map", () => {
        expect(editYaml("config:\n  a: 1\n  b:\n    c: 2\n  d: 3\n", F, [{ path: ["config", "b"], value: undefined }])).toBe("config:\n  a: 1\n  d: 3\n");
        expect(editYaml("config: { a: 1, b: 2 }\n", F, [{ path: ["config", "b"], value: undefined }])).toBe("config: { a: 1 }\n");
        expect(editYaml("config:\n  a: 1\n", F, [{ path: ["config", "zz"], value: undefined }])).toBe("config:\n  a: 1\n");
    });

    test("replace a flow map value", () => {
        expect(editYaml('r:\n  g: { v: "0.5.0", count: 1 }  # keep\n', F, [{ path: ["r", "g"], value: { v: "0.5.1", count: 2 } }])).toBe(
            'r:\n  g: { v: "0.5.1", count: 2 }  # keep\n',
        );
        // A key YAML 1.1 reads as a boolean is quoted.
        expect(editYaml("r:\n  g: { a: 1 }\n", F, [{ path: ["r", "g"], value: { n: 2 } }])).toBe('r:\n  g: { "n": 2 }\n');
    });

    test("values that YAML readers would take for something else are quoted", () => {
        expect(["yes", "off", "1.0", "2026-01-01", "null", "a b", "-x", "rust-sdn", "pve-east-01"].map((v) => renderScalar(v))).toEqual([
            '"yes"',
            '"off"',
            '"1.0"',
            '"2026-01-01"',
            '"null"',
            '"a b"',
            '"-x"',
            "rust-sdn",
            "pve-east-01",
        ]);
    });

    test("a block scalar or a list is not rewritten; the error names the key", () => {
        expect(() => editYaml("config:\n  k: |\n    text\n", F, [{ path: ["config", "k"], value: "x" }])).toThrow(
            new CtlError(EXIT.INVALID_CONFIG, `${F}: config.k: written as a block scalar; edit it by hand`),
        );
        expect(() => editYaml("config:\n  k:\n    - a\n", F, [{ path: ["config", "k"], value: "x" }])).toThrow(
            `${F}: config.k: cannot replace a list with this value; edit it by hand`,
        );
    });

    test("fixed edits over the repository's stack files read back as intended and change only their lines", () => {
        const dir = path.resolve(__dirname, "../../stacks");
        for (const f of fs.readdirSync(dir).filter((x) => x.endsWith(".yaml"))) {
            const text = fs.readFileSync(path.join(dir, f), "utf8");
            const out = editYaml(text, f, [
                { path: ["config", "pve-migration:phase"], value: "rust-sdn" },
                { path: ["config", "pve-migration:backups", "retention"], value: 9 },
                { path: ["config", "pve-migration:extra"], value: { a: "b" } },
                { path: ["config", "pve-migration:logMigrationDecisions"], value: undefined },
            ]);
            const data = YAML.parse(out).config;
            expect([
                data["pve-migration:phase"],
                data["pve-migration:backups"].retention,
                data["pve-migration:extra"],
                "pve-migration:logMigrationDecisions" in data,
            ]).toEqual(["rust-sdn", 9, { a: "b" }, false]);
            expect(out.split("\n").filter((l) => !text.split("\n").includes(l))).toEqual([
                "  pve-migration:phase: rust-sdn",
                "    retention: 9",
                "  pve-migration:extra:",
                "    a: b",
            ]);
        }
    });
});

describe("the raw config handed to parseStackConfig (components/config/stackfile.ts, the one reader)", () => {
    const read = (text: string, file = "f") => parseStackFile(text, "x", file, "/p");
    const P = (key: string) => placeholderValue(key);

    test("strings as they are, everything else as JSON; other namespaces kept for the engine, not in the raw values", () => {
        const sf = read(
            "config:\n  pve-migration:cluster: c1\n  pve-migration:transport: local\n  pve-migration:fallbackEnabled: true\n  pve-migration:nodes:\n    - name: n1\n  aws:region: x\n",
        );
        expect(sf.raw).toEqual({
            values: { cluster: "c1", transport: "local", fallbackEnabled: "true", nodes: '[{"name":"n1"}]' },
            secretKeys: new Set(),
            stack: "x",
            projectDir: "/p",
        });
        expect(sf.engine["aws:region"]).toBe("x");
        expect(sf.placeholders).toEqual([]);
    });

    test("secure values are replaced by placeholders and marked secret; never their ciphertext", () => {
        const sf = read(
            "config:\n  pve-migration:nodes: [{name: n1, sshKey: ops}]\n  pve-migration:sshPrivateKeys:\n    ops:\n      secure: v1:AAAAcipher\n  pve-migration:kubeconfig:\n    secure: v1:BBBB\n",
        );
        expect(sf.raw.values.sshPrivateKeys).toBe(JSON.stringify({ ops: P("pve-migration:sshPrivateKeys.ops") }));
        expect(sf.raw.values.kubeconfig).toBe("[placeholder for pve-migration:kubeconfig: not a real secret; the stack file's secrets are not decrypted offline]");
        expect(sf.raw.secretKeys).toEqual(new Set(["sshPrivateKeys", "kubeconfig"]));
        expect(
            JSON.stringify({ ...sf, doc: undefined, text: undefined, configMap: undefined, raw: { ...sf.raw, secretKeys: [...sf.raw.secretKeys] } }),
        ).not.toContain("cipher");
    });

    test("missing secrets get placeholders and a line each; a plaintext secret is reported by the config rules", () => {
        const sf = read("config:\n  pve-migration:nodes: [{name: n1, sshKey: ops}, {name: n2}]\n", "stacks/Pulumi.x.yaml");
        expect(sf.raw.values.sshPrivateKeys).toBe(
            JSON.stringify({ ops: P("pve-migration:sshPrivateKeys.ops"), default: P("pve-migration:sshPrivateKeys.default") }),
        );
        expect(sf.placeholders).toEqual([
            "pve-migration:sshPrivateKeys: placeholder secret (not in the stack file; set it with pulumi config set --secret --path 'sshPrivateKeys.<name>')",
        ]);
        const text =
            fs.readFileSync(path.resolve(__dirname, "../../stacks/Pulumi.canary-b.yaml"), "utf8") +
            "  pve-migration:sshPrivateKeys:\n    default: '-----BEGIN OPENSSH PRIVATE KEY-----'\n";
        const s = loadStack(text, "canary-b", "/tmp");
        expect(s.config).toBeUndefined();
        expect(s.errors).toEqual([
            "stacks/Pulumi.canary-b.yaml: pve-migration:sshPrivateKeys: must be a Pulumi secret (pulumi config set --secret --path 'sshPrivateKeys.default' ...)",
        ]);
    });

    test("an invalid monitoring block makes the stack invalid for migration-ctl, as pulumi up refuses it", () => {
        const text =
            fs.readFileSync(path.resolve(__dirname, "../../stacks/Pulumi.canary-b.yaml"), "utf8") +
            "  pve-migration:monitoring:\n    alerts: { perlBaselineSeconds: 0.8 }\n    rulesFile: { host: { name: mon1, address: '10.0.0.9;id' } }\n";
        const s = loadStack(text, "canary-b", "/tmp");
        expect(s.config).toBeUndefined();
        expect(s.errors).toEqual(["stacks/Pulumi.canary-b.yaml: pve-migration:monitoring.rulesFile.host.address: must be an IPv4 or IPv6 address or a DNS name"]);
    });

    test("malformed YAML and a file that is no stack file are errors naming the file", () => {
        expect(() => read("config: [", "stacks/Pulumi.x.yaml")).toThrow(
            new StackFileError(
                "yaml",
                "stacks/Pulumi.x.yaml: malformed YAML at line 1, column 10: Flow sequence in block collection must be sufficiently indented and end with a ]",
            ),
        );
        expect(() => read("- a\n", "F")).toThrow(new StackFileError("shape", "F: must be a YAML map with a config: section"));
        expect(() => read("config: 3\n", "F")).toThrow(new StackFileError("shape", "F: config: must be a map of pve-migration:<key> entries"));
        expect(() => loadStack("config: [", "x", "/p")).toThrow(
            new CtlError(
                EXIT.MALFORMED_YAML,
                "stacks/Pulumi.x.yaml: malformed YAML at line 1, column 10: Flow sequence in block collection must be sufficiently indented and end with a ]",
            ),
        );
    });
});

describe("deployed outputs", () => {
    test("parseOutputs: phase, entry time, never deployed, and errors naming the field", () => {
        expect(parseOutputs({ phase: "rust-sdn", phaseEnteredAt: "2026-10-01T00:00:00Z", previousPhase: "rust-advanced", nodes: ["a"] }, "src")).toEqual({
            known: true,
            phase: "rust-sdn",
            phaseEnteredAt: "2026-10-01T00:00:00Z",
            previousPhase: "rust-advanced",
            source: "src",
        });
        expect(parseOutputs({}, "src")).toEqual({ known: true, phase: "perl-only", source: "src (never deployed)", neverDeployed: true });
        expect(() => parseOutputs({ cluster: "x" }, "src")).toThrow("phase: missing (not outputs of this project's program?)");
        expect(() => parseOutputs({ phase: "rust-max" }, "src")).toThrow(/^phase: Invalid enum value/);
        expect(() => parseOutputs({ phase: "perl-only", phaseEnteredAt: "yesterday" }, "src")).toThrow("phaseEnteredAt: Invalid datetime");
    });

    test("--deployed-file errors are usage errors naming the stack and field", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ctl-dep-"));
        try {
            const f = path.join(dir, "d.json");
            fs.writeFileSync(f, JSON.stringify({ "canary-a": { phase: "rust-turbo" } }));
            expect(() => deployedFromFile(f)).toThrow(/^--deployed-file: .*d\.json: canary-a\.phase: Invalid enum value/);
            fs.writeFileSync(f, "[1]");
            expect(() => deployedFromFile(f)).toThrow(/must hold a JSON object/);
            fs.writeFileSync(f, "{");
            expect(() => deployedFromFile(f)).toThrow(
                new CtlError(EXIT.USAGE, `--deployed-file: ${f}: not valid JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)`),
            );
            let err: unknown;
            try {
                deployedFromFile(path.join(dir, "missing.json"));
            } catch (e) {
                err = e;
            }
            expect(err).toBeInstanceOf(CtlError);
            expect([(err as CtlError).code, (err as CtlError).message]).toEqual([
                EXIT.USAGE,
                `--deployed-file: cannot read ${path.join(dir, "missing.json")}: ENOENT`,
            ]);
            fs.writeFileSync(f, JSON.stringify({ prod: { phase: "perl-only" } }));
            const lookup = deployedFromFile(f);
            expect(lookup("prod")).toEqual({ known: true, phase: "perl-only", phaseEnteredAt: undefined, previousPhase: undefined, source: "--deployed-file" });
            expect(lookup("dev")).toEqual({ known: false, reason: "not in --deployed-file" });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("checkRing: what the reason tells the operator to do", () => {
    const NOW = new Date("2026-11-01T12:00:00Z");
    const base = (o: Partial<RingCheckInput>): RingCheckInput => ({
        stack: "canary-b",
        from: "rust-read-only",
        to: "rust-basic-write",
        upstream: { stack: "canary-a", phase: "rust-read-only" },
        behindUntilSoaked: true,
        soakSeconds: DEFAULT_SOAK_SECONDS,
        now: NOW,
        ...o,
    });
    const cases: [string, Partial<RingCheckInput>, string[]][] = [
        [
            "a promotion one past the upstream: promote the upstream first",
            {},
            ["ring canary-b would be ahead of its upstream canary-a: rust-basic-write is after rust-read-only (promote canary-a first)"],
        ],
        [
            "a promotion by a ring already past its upstream (the upstream rolled back): roll back, or promote the upstream twice",
            { from: "rust-basic-write", to: "rust-advanced" },
            [
                "ring canary-b would be ahead of its upstream canary-a: rust-advanced is after rust-read-only (roll canary-b back to rust-read-only, or promote canary-a to rust-advanced first, 2 promotions)",
            ],
        ],
        [
            "a ring already in a phase past its upstream (health): roll back, or promote the upstream",
            { current: true },
            [
                "ring canary-b would be ahead of its upstream canary-a: rust-basic-write is after rust-read-only (roll canary-b back to rust-read-only, or promote canary-a to rust-basic-write)",
            ],
        ],
        [
            "level with an upstream whose phaseEnteredAt is unknown (the program: no hint)",
            { upstream: { stack: "canary-a", phase: "rust-basic-write" } },
            [
                "ring canary-b must stay at least one phase behind canary-a until canary-a has soaked in rust-basic-write (7d0h), but canary-a's phaseEnteredAt in rust-basic-write is unknown, so its soak cannot be counted: a pulumi up --stack canary-a that completes records it in canary-a's stack outputs",
            ],
        ],
        [
            "level with an upstream whose phaseEnteredAt is unknown, with the caller's hint",
            { upstream: { stack: "canary-a", phase: "rust-basic-write" }, unknownEnteredAtHint: "or give it with --deployed-file" },
            [
                "ring canary-b must stay at least one phase behind canary-a until canary-a has soaked in rust-basic-write (7d0h), but canary-a's phaseEnteredAt in rust-basic-write is unknown, so its soak cannot be counted: a pulumi up --stack canary-a that completes records it in canary-a's stack outputs; or give it with --deployed-file",
            ],
        ],
        [
            "level with an upstream that entered 2 days ago",
            { upstream: { stack: "canary-a", phase: "rust-basic-write", enteredAt: "2026-10-30T12:00:00Z" } },
            ["ring canary-b must stay at least one phase behind canary-a until canary-a has soaked in rust-basic-write (2d0h of 7d0h)"],
        ],
        ["a rollback is never refused", { from: "rust-advanced", to: "rust-basic-write", current: true }, []],
    ];
    test.each(cases)("%s", (_name, o, reasons) => {
        expect(checkRing(base(o))).toEqual(reasons);
    });
});
