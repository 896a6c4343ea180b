/**
 * Chart version in step with the chart's content (cli/chart-digest.ts, `npm run chart-digest`).
 * A helm.v3.Release of a local chart rolls out a template change only when Chart.yaml's version
 * changes (pulumi-kubernetes#2118; helm_release.go Check() takes the version from the chart's
 * metadata and Diff() compares only inputs, see cli/chart-digest.ts). The first test guards the
 * real chart; the others edit temp copies of it, never the chart itself.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { DIGEST_FILE, DigestRefused, chartDigest, chartVersion, digestState, explain, main, recordDigest } from "../../cli/chart-digest";
import { helmTemplate } from "../support/helm";
import { CHART_DIR, PROJECT_DIR } from "./helpers";

const LABEL = "charts/pve-network-rs";

test("charts/pve-network-rs: .chart-digest records Chart.yaml's version and the digest of the chart's content", () => {
    const s = digestState(CHART_DIR);
    // On failure the message says what to do: bump the version in Chart.yaml, run npm run chart-digest.
    expect(explain(s, LABEL)).toBe(`${LABEL}: version ${chartVersion(CHART_DIR)}, ${chartDigest(CHART_DIR)}, recorded in ${DIGEST_FILE}`);
    expect(fs.readFileSync(path.join(CHART_DIR, DIGEST_FILE), "utf8")).toBe(`${chartVersion(CHART_DIR)} ${chartDigest(CHART_DIR)}\n`);
});

describe("on a temp copy of the chart", () => {
    let dir: string;
    let copy: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "chart-digest-"));
        copy = path.join(dir, "pve-network-rs");
        fs.cpSync(CHART_DIR, copy, { recursive: true });
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    const edit = (rel: string, f: (text: string) => string) => fs.writeFileSync(path.join(copy, rel), f(fs.readFileSync(path.join(copy, rel), "utf8")));
    const setVersion = (v: string) => edit("Chart.yaml", (t) => t.replace(/^version: .*$/m, `version: ${v}`));
    const annotate = () => edit("templates/deployment.yaml", (t) => t.replace("  revisionHistoryLimit: 5\n", "  revisionHistoryLimit: 5\n  minReadySeconds: 5\n"));

    test("the unchanged copy is current", () => {
        expect(digestState(copy)).toEqual({ state: "current", version: "0.1.0", digest: chartDigest(CHART_DIR) });
    });

    test("a changed template without a version bump is caught, and recording it is refused with the file untouched", () => {
        const before = chartDigest(copy);
        annotate();
        const after = chartDigest(copy);
        expect(after).not.toBe(before);
        const s = digestState(copy);
        const message =
            `${LABEL}: the chart's templates or values changed (${after}, recorded ${before}) but ${LABEL}/Chart.yaml still says version 0.1.0. ` +
            "A helm.v3.Release of a local chart rolls out a template change only when the chart version changes (pulumi-kubernetes#2118): " +
            `bump version in ${LABEL}/Chart.yaml, then run: npm run chart-digest`;
        expect([s.state, explain(s, LABEL)]).toEqual(["unbumped", message]);
        const recorded = fs.readFileSync(path.join(copy, DIGEST_FILE), "utf8");
        expect(() => recordDigest(copy, LABEL)).toThrow(new DigestRefused(message));
        expect(fs.readFileSync(path.join(copy, DIGEST_FILE), "utf8")).toBe(recorded);
    });

    test("bumped but not recorded fails; npm run chart-digest records it; a second run changes nothing", () => {
        annotate();
        setVersion("0.1.1");
        const s = digestState(copy);
        expect([s.state, explain(s, LABEL)]).toEqual([
            "unrecorded",
            `${LABEL}: ${LABEL}/Chart.yaml version is 0.1.1 but ${DIGEST_FILE} records 0.1.0; run: npm run chart-digest`,
        ]);
        const digest = chartDigest(copy);
        expect(recordDigest(copy, LABEL)).toEqual([true, `${LABEL}: recorded version 0.1.1, ${digest} in ${DIGEST_FILE}`]);
        expect(fs.readFileSync(path.join(copy, DIGEST_FILE), "utf8")).toBe(`0.1.1 ${digest}\n`);
        expect(digestState(copy)).toEqual({ state: "current", version: "0.1.1", digest });
        expect(recordDigest(copy, LABEL)).toEqual([false, `${LABEL}: version 0.1.1, ${digest}, recorded in ${DIGEST_FILE}; nothing to change`]);
        expect(fs.readdirSync(copy).sort()).toEqual([".chart-digest", ".helmignore", "Chart.yaml", "README.md", "templates", "values.schema.json", "values.yaml"]);
    });

    test("the bumped version is what Helm sees (and so the Release's version input): helm.sh/chart pve-network-rs-0.1.1", () => {
        annotate();
        setVersion("0.1.1");
        const values = { image: { repository: "registry.example.com/pve/pve-network-rs" } };
        const dep = helmTemplate({ releaseName: "pve-network-rs-blue", chartDir: copy, namespace: "pve-network", values }).find((m) => m.kind === "Deployment")!;
        expect([dep.metadata.labels!["helm.sh/chart"], dep.spec.minReadySeconds]).toEqual(["pve-network-rs-0.1.1", 5]);
    });

    test("a lower version is refused", () => {
        annotate();
        setVersion("0.0.9");
        expect(() => recordDigest(copy, LABEL)).toThrow(new DigestRefused(`${LABEL}/Chart.yaml: version 0.0.9 must be higher than the recorded 0.1.0`));
    });

    const changes: [string, () => void][] = [
        ["a template", () => annotate()],
        ["a new template file", () => fs.writeFileSync(path.join(copy, "templates", "pdb.yaml"), "# nothing yet\n")],
        ["values.yaml", () => edit("values.yaml", (t) => t.replace("replicaCount: 2", "replicaCount: 3"))],
        ["values.schema.json", () => edit("values.schema.json", (t) => t.replace('"maximum": 100 },', '"maximum": 50 },'))],
        ["Chart.yaml's appVersion", () => edit("Chart.yaml", (t) => t.replace('appVersion: "0.1.0"', 'appVersion: "0.2.0"'))],
        [".helmignore", () => edit(".helmignore", (t) => `${t}*.orig\n`)],
        [
            "a file under crds/",
            () => {
                fs.mkdirSync(path.join(copy, "crds"));
                fs.writeFileSync(path.join(copy, "crds", "x.yaml"), "# x\n");
            },
        ],
    ];
    test.each(changes)("a change to %s changes the digest", (_what, change) => {
        const before = chartDigest(copy);
        change();
        expect(chartDigest(copy)).not.toBe(before);
        expect(digestState(copy).state).toBe("unbumped");
    });

    const neutral: [string, () => void][] = [
        ["README.md", () => edit("README.md", (t) => `${t}\nMore words.\n`)],
        ["Chart.yaml's version alone", () => setVersion("0.2.0")],
        ["a file next to the chart's own (NOTES.md)", () => fs.writeFileSync(path.join(copy, "NOTES.md"), "notes\n")],
    ];
    test.each(neutral)("a change to %s leaves the digest as it is", (_what, change) => {
        const before = chartDigest(copy);
        change();
        expect(chartDigest(copy)).toBe(before);
    });

    test("a malformed .chart-digest names the file and the expected line", () => {
        fs.writeFileSync(path.join(copy, DIGEST_FILE), "0.1.0\n");
        expect(() => digestState(copy)).toThrow(`${path.join(copy, DIGEST_FILE)}: must hold one line "<chart version> sha256:<64 hex digits>"`);
    });

    test("the command: --check exits 1 with the message on stderr, a usage error exits 2", async () => {
        annotate();
        const out: string[] = [];
        const err: string[] = [];
        const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t), cwd: PROJECT_DIR, env: {} };
        expect(await main(["--check", copy], io)).toBe(1);
        expect([
            out,
            err.length,
            err[0].startsWith(`${copy}: the chart's templates or values changed`),
            err[0].endsWith("then run: npm run chart-digest\n"),
        ]).toEqual([[], 1, true, true]);
        expect(await main(["--check", "a", "b"], io)).toBe(2);
        expect(err[1]).toBe('chart-digest: unexpected argument "b" (see chart-digest --help)\n');
    });

    test("npm run chart-digest, as the message says, refuses the unbumped copy (exit 1) and records the bumped one (exit 0)", () => {
        annotate();
        const npm = (args: string[]) => {
            try {
                return {
                    status: 0,
                    stdout: execFileSync("npm", ["run", "-s", "chart-digest", "--", ...args], {
                        cwd: PROJECT_DIR,
                        encoding: "utf8",
                        timeout: 60_000,
                        stdio: ["ignore", "pipe", "pipe"],
                    }),
                    stderr: "",
                };
            } catch (e) {
                const x = e as { status: number; stdout: string; stderr: string };
                return { status: x.status, stdout: x.stdout, stderr: x.stderr };
            }
        };
        const refused = npm([copy]);
        expect([refused.status, refused.stdout, refused.stderr.startsWith(`chart-digest: ${copy}: the chart's templates or values changed`)]).toEqual([1, "", true]);
        setVersion("0.1.1");
        const ok = npm([copy]);
        expect([ok.status, ok.stdout, ok.stderr]).toEqual([0, `${copy}: recorded version 0.1.1, ${chartDigest(copy)} in ${DIGEST_FILE}\n`, ""]);
    });
});
