/**
 * `migration-ctl diagnostics collect` / `diagnostics compare`, run in-process on a project with a
 * local-transport stack and sandbox node roots (the ssh commands: test/unit/transport.test.ts).
 */
import * as fs from "fs";
import * as path from "path";
import { main } from "../../cli/migration-ctl";
import { shQuote, bundleName, stamp } from "../../components/diagnostics/command";
import { defaultBundleDir } from "../../components/diagnostics/outdir";
import { dpkgStatus, extract, makeSandbox, tempDir } from "./sandbox";

let project: string;
let roots: Record<string, string>;
const T1 = new Date("2024-05-01T10:00:00Z");
const T2 = new Date("2024-05-01T10:30:00Z");

/** `migration-ctl --repo <cwd> --now <now> diagnostics collect ...` (or `compare ...` when argv starts with it). */
function diagnosticsCommand(argv: string[], io: { stdout: (s: string) => void; stderr: (s: string) => void }, cwd: string, now = () => new Date()): Promise<number> {
    const [sub, rest] = argv[0] === "compare" ? ["compare", argv.slice(1)] : ["collect", argv];
    return main(["--repo", cwd, "--now", now().toISOString(), "diagnostics", sub, ...rest], { ...io, cwd, env: { PATH: process.env.PATH } });
}

function io() {
    const o = { out: "", err: "" };
    return { o, io: { stdout: (s: string) => (o.out += s), stderr: (s: string) => (o.err += s) } };
}

const STACK = `config:
  pve-migration:cluster: dev-lab
  pve-migration:phase: rust-read-only
  pve-migration:transport: local
  pve-migration:sandboxDir: .sandbox/dev
  pve-migration:nodes:
    - name: pve1
    - name: pve2
  pve-migration:migrationConfig:
    scope: cluster
  pve-migration:perlApi:
    baseUrl: https://dev-lab.example.internal:8006
  pve-migration:package:
    version: 0.4.2-1
    sha256: ${"a".repeat(64)}
    url: https://apt.example.internal/pve-network-rs_0.4.2-1_amd64.deb
`;

/** The state folder the default bundle folder is under (XDG_STATE_HOME), outside the project. */
let state: string;
const savedState = process.env.XDG_STATE_HOME;

beforeAll(() => {
    state = tempDir("diag-state-");
    process.env.XDG_STATE_HOME = state;
    project = tempDir("diag-command-");
    fs.mkdirSync(path.join(project, "stacks"));
    fs.writeFileSync(path.join(project, "stacks", "Pulumi.dev.yaml"), STACK);
    roots = makeSandbox(path.join(project, ".sandbox", "dev"), ["pve1", "pve2"], "rust-basic-write");
});
afterAll(() => {
    if (savedState === undefined) delete process.env.XDG_STATE_HOME;
    else process.env.XDG_STATE_HOME = savedState;
    fs.rmSync(project, { recursive: true, force: true });
    fs.rmSync(state, { recursive: true, force: true });
});

const evidenceDir = () => path.join(state, "pve-network-migration", "diagnostics", "dev");

describe("collect, change, collect, compare (the post-mortem)", () => {
    const before = () => path.join(evidenceDir(), "pve1-20240501T100000Z-pre-deploy.tar.gz");
    const after = () => path.join(evidenceDir(), "pve1-20240501T103000Z-post-rollback.tar.gz");

    beforeAll(async () => {
        const first = io();
        expect(await diagnosticsCommand(["--stack", "dev", "--label", "pre-deploy"], first.io, project, () => T1)).toBe(0);
        expect(first.o.err).toBe("");
        expect(first.o.out).toBe(
            `bundles: ${evidenceDir()} (outside the checkout, so never committed; --out DIR writes elsewhere)\n` +
                `pve1: ${before()}\npve2: ${path.join(evidenceDir(), "pve2-20240501T100000Z-pre-deploy.tar.gz")}\n`,
        );
        // Nothing in the project: a `git add stacks/` cannot pick a bundle up.
        expect(fs.existsSync(path.join(project, "stacks", "evidence"))).toBe(false);
        // The rollback: phase back to perl-only, the interfaces file restored differently, the
        // Rust package removed (config files kept).
        const toml = path.join(roots.pve1, "etc/pve/network/migration.toml");
        fs.writeFileSync(toml, fs.readFileSync(toml, "utf8").replace('phase = "rust-basic-write"', 'phase = "perl-only"'));
        fs.appendFileSync(path.join(roots.pve1, "etc/network/interfaces"), "\nauto vmbr1\niface vmbr1 inet manual\n");
        fs.writeFileSync(
            path.join(roots.pve1, "var/lib/dpkg/status"),
            dpkgStatus([
                { pkg: "pve-network-rs", version: "0.4.2-1", status: "deinstall ok config-files" },
                { pkg: "ifupdown2", version: "3.2.0-1+pmx8" },
            ]),
        );
        const second = io();
        expect(await diagnosticsCommand(["--stack", "dev", "--node", "pve1", "--label", "post-rollback"], second.io, project, () => T2)).toBe(0);
        expect(second.o.out).toBe(`bundles: ${evidenceDir()} (outside the checkout, so never committed; --out DIR writes elsewhere)\npve1: ${after()}\n`);
    });

    test("the bundles hold what was on each sandbox node", () => {
        const f = extract(before(), path.join(project, "x-before"));
        expect(f["node.txt"]).toBe("pve1");
        expect(f["phase.txt"]).toBe("rust-basic-write\n");
        expect(f["meta.txt"]).toContain(`\nroot=${roots.pve1}\n`);
        const g = extract(path.join(evidenceDir(), "pve2-20240501T100000Z-pre-deploy.tar.gz"), path.join(project, "x-pve2"));
        expect(g["node.txt"]).toBe("pve2");
        expect(g["config/sha256sums.txt"]).toContain("  /etc/pve/nodes/pve2/lxc/201.conf\n");
    });

    test("compare --json names the changed files, the phase change and the package change", async () => {
        const c = io();
        expect(await diagnosticsCommand(["compare", before(), after(), "--json"], c.io, project)).toBe(0);
        const r = JSON.parse(c.o.out);
        expect(r.phase).toEqual({ before: "rust-basic-write", after: "perl-only", changed: true });
        expect(r.config.changed.map((x: { path: string }) => x.path)).toEqual(["/etc/network/interfaces", "/etc/pve/network/migration.toml"]);
        expect(r.config.added).toEqual([]);
        expect(r.config.removed).toEqual([]);
        expect(r.packages).toEqual([{ name: "pve-network-rs", before: "0.4.2-1 (install ok installed)", after: "0.4.2-1 (deinstall ok config-files)" }]);
        expect(r.files.changed.map((x: { path: string }) => x.path)).toEqual([
            "config/files/etc/network/interfaces",
            "config/files/etc/pve/network/migration.toml",
            "config/sha256sums.txt",
            "packages/versions.txt",
            "phase.txt",
        ]);
        expect(r.a.node).toBe("pve1");
        expect(r.b.collectedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        const toml = r.textDiffs.find((d: { file: string }) => d.file === "config/files/etc/pve/network/migration.toml");
        expect(toml.diff).toBe(
            "--- a/config/files/etc/pve/network/migration.toml\n+++ b/config/files/etc/pve/network/migration.toml\n" +
                '@@ -1,4 +1,4 @@\n-phase = "rust-basic-write"\n+phase = "perl-only"\n fallback_enabled = true\n' +
                ' perl_api_base_url = "https://dev-lab:8006"\n perl_api_timeout = 60\n',
        );
    });

    test("compare prints a readable report", async () => {
        const c = io();
        expect(await diagnosticsCommand(["compare", before(), after()], c.io, project)).toBe(0);
        expect(c.o.out).toContain(`A: ${before()}\n   node pve1, collected `);
        expect(c.o.out).toContain("phase: rust-basic-write -> perl-only\n");
        expect(c.o.out).toMatch(
            /node config files \(sha256\):\n {2}changed {2}\/etc\/network\/interfaces {2}[0-9a-f]{12} -> [0-9a-f]{12}\n {2}changed {2}\/etc\/pve\/network\/migration\.toml /,
        );
        expect(c.o.out).toContain("packages:\n  pve-network-rs: 0.4.2-1 (install ok installed) -> 0.4.2-1 (deinstall ok config-files)\n");
        expect(c.o.out).toContain("+auto vmbr1\n+iface vmbr1 inet manual\n");
    });

    test("a bundle compared with itself shows no change", async () => {
        const c = io();
        expect(await diagnosticsCommand(["compare", before(), before()], c.io, project)).toBe(0);
        expect(c.o.out).toContain("phase: rust-basic-write (unchanged)\nnode config files (sha256): no change\npackages: no change\nbundle files: no change\n");
    });
});

test("node-scoped migration config: the phase is read from /etc/pve/nodes/<node>/network/migration.toml", async () => {
    fs.writeFileSync(path.join(project, "stacks", "Pulumi.canary.yaml"), STACK.replace("scope: cluster", "scope: node").replace("    - name: pve2\n", ""));
    fs.mkdirSync(path.join(roots.pve1, "etc/pve/nodes/pve1/network"), { recursive: true });
    fs.writeFileSync(path.join(roots.pve1, "etc/pve/nodes/pve1/network/migration.toml"), 'phase = "rust-sdn"\n');
    const out = path.join(project, "out-canary");
    const c = io();
    expect(await diagnosticsCommand(["--stack", "canary", "--out", out], c.io, project, () => T1)).toBe(0);
    const f = extract(path.join(out, "pve1-20240501T100000Z.tar.gz"), path.join(project, "x-canary"));
    expect(f["phase.txt"]).toBe("rust-sdn\n");
    expect(f["meta.txt"]).toContain("\nphase_file=/etc/pve/nodes/pve1/network/migration.toml\n");
});

describe("usage errors exit 2, a missing stack file 3, config errors 6: one line each", () => {
    const hint = (sub: string) => ` (see migration-ctl diagnostics ${sub} --help)\n`;
    test.each<[string[], number, string]>([
        [[], 2, `migration-ctl: diagnostics collect: --stack is required${hint("collect")}`],
        [["--stack", "nope"], 3, `migration-ctl: --stack nope: cannot read ${"<project>"}/stacks/Pulumi.nope.yaml: ENOENT\n`],
        [["--stack", "dev", "--node", "pve9"], 2, `migration-ctl: --node: "pve9" is not a node of stack dev (pve1, pve2)${hint("collect")}`],
        [["--stack", "dev", "--label", "Pre Deploy"], 2, `migration-ctl: --label: must be lower-case letters, digits and '-' (got "Pre Deploy")${hint("collect")}`],
        [["--stack", "../x"], 2, `migration-ctl: --stack: "../x" is not a stack name${hint("collect")}`],
        [["--stack", "dev", "--node"], 2, `migration-ctl: diagnostics collect: --node needs a value${hint("collect")}`],
        [["compare", "a.tar.gz"], 2, `migration-ctl: diagnostics compare: missing <B.tar.gz>${hint("compare")}`],
        [["compare", "a.tar.gz", "b.tar.gz"], 2, `migration-ctl: <project>/a.tar.gz: no such file${hint("compare")}`],
    ])("%j", async (argv, code, err) => {
        const c = io();
        expect(await diagnosticsCommand(argv, c.io, project, () => T1)).toBe(code);
        expect(c.o).toEqual({ out: "", err: err.split("<project>").join(project) });
    });

    test("a stack file with a bad key names it", async () => {
        fs.writeFileSync(path.join(project, "stacks", "Pulumi.bad.yaml"), STACK.replace("transport: local", "transport: telnet"));
        const c = io();
        expect(await diagnosticsCommand(["--stack", "bad"], c.io, project)).toBe(6);
        // The one parse (parseStackConfig): every problem, one line each naming the file and the key.
        expect(c.o.err).toBe(
            `migration-ctl: ${path.join(project, "stacks", "Pulumi.bad.yaml")}: pve-migration:transport: Invalid enum value. Expected 'ssh' | 'local', received 'telnet'\n`,
        );
    });

    test("a stack file with several bad keys names each, as pulumi up would", async () => {
        fs.writeFileSync(
            path.join(project, "stacks", "Pulumi.bad2.yaml"),
            STACK.replace("- name: pve2", "- name: 'pve;2'").replace("https://dev-lab", "http://dev-lab") + "  pve-migration:monitoring:\n    alerts: {}\n",
        );
        const c = io();
        expect(await diagnosticsCommand(["--stack", "bad2"], c.io, project)).toBe(6);
        const file = path.join(project, "stacks", "Pulumi.bad2.yaml");
        expect(c.o.err.split("usage:")[0]).toBe(
            [
                `migration-ctl: ${file}: pve-migration:nodes[1].name: must be a Proxmox VE node name (letters, digits, '-', at most 63)`,
                `${file}: pve-migration:perlApi.baseUrl: must be an https:// URL (the Perl API carries credentials)`,
                `${file}: pve-migration:monitoring.alerts.perlBaselineSeconds: Required`,
                `${file}: pve-migration:monitoring: set rulesFile, prometheusRule or both`,
                "",
            ].join("\n"),
        );
    });

    test("a missing sandbox root is named", async () => {
        fs.writeFileSync(path.join(project, "stacks", "Pulumi.ghost.yaml"), STACK.replace("- name: pve2", "- name: pve7"));
        const c = io();
        expect(await diagnosticsCommand(["--stack", "ghost", "--node", "pve7"], c.io, project)).toBe(2);
        expect(c.o.err).toBe(
            `migration-ctl: node pve7: sandbox root ${path.join(project, ".sandbox/dev/pve7")} (pve-migration:sandboxDir/<node>) is not a folder${hint("collect")}`,
        );
    });
});

describe("quoting and bundle names (pure)", () => {
    test.each([
        ["plain", "'plain'"],
        ["it's", "'it'\\''s'"],
        ["$(touch /tmp/pwn)", "'$(touch /tmp/pwn)'"],
        ["a b\nc", "'a b\nc'"],
    ])("shQuote(%j)", (s, q) => {
        expect(shQuote(s)).toBe(q);
    });

    test("bundle names sort by time", () => {
        expect(stamp(new Date("2024-05-01T10:00:00.123Z"))).toBe("20240501T100000Z");
        expect(bundleName("pve1", T1)).toBe("pve1-20240501T100000Z.tar.gz");
        expect(bundleName("pve1", T1, "post-rollback")).toBe("pve1-20240501T100000Z-post-rollback.tar.gz");
    });
});

test("the default bundle folder: $XDG_STATE_HOME when absolute, else ~/.local/state; per stack", () => {
    expect(defaultBundleDir("canary-a", { XDG_STATE_HOME: "/var/state", HOME: "/home/op" })).toBe("/var/state/pve-network-migration/diagnostics/canary-a");
    expect(defaultBundleDir("canary-a", { XDG_STATE_HOME: "relative/state", HOME: "/home/op" })).toBe(
        "/home/op/.local/state/pve-network-migration/diagnostics/canary-a",
    );
    expect(defaultBundleDir("prod", { HOME: "/home/op" })).toBe("/home/op/.local/state/pve-network-migration/diagnostics/prod");
});
