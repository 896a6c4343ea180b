/**
 * `npm run chart-digest [-- --check] [<chart folder>]`: keep a local chart's version in step with
 * its content (default folder: charts/pve-network-rs).
 *
 * Why: a helm.v3.Release of a local chart is upgraded only when its inputs change, and the chart
 * enters the inputs through its Chart.yaml version alone. pulumi-kubernetes
 * provider/pkg/provider/helm_release.go: Check() loads the chart and sets
 * `newRelease.Version = chart.Metadata.Version`; Diff() compares only the inputs (chart path,
 * version, values...) with a three-way merge patch, so an edited template under the same path and
 * version gives DIFF_NONE and nothing rolls out (pulumi/pulumi-kubernetes#2118, and #2672 which
 * made the version the signal). The file `<chart>/.chart-digest` records
 * `<version> sha256:<digest of the chart's content>`; a content change must come with a new
 * version, and this command refuses to record one without it.
 *
 * The digest covers what Helm renders a release from: Chart.yaml (without its own `version` key),
 * values.yaml, values.schema.json, .helmignore and every file under templates/, crds/ and charts/
 * (README.md and `.chart-digest` change nothing Helm renders): sha256 over the sorted lines
 * `<sha256 of file>  <path>`. .helmignore patterns are not applied, so an editor's swap file left
 * in templates/ counts as a change.
 *
 * Exit codes: 0 recorded / up to date; 1 out of date or refused (message says what to do); 2 usage
 * or I/O error; 70 internal error.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { Io, ToolDecl, processIo, runTool } from "./command";
import { CliError, EXIT } from "./errors";

export const DIGEST_FILE = ".chart-digest";
export const DEFAULT_CHART = "charts/pve-network-rs";
/** The command that records a new digest, as the messages give it. */
export const UPDATE_COMMAND = "npm run chart-digest";
/** The files and folders of a chart the digest covers. */
const COVERED = ["Chart.yaml", "values.yaml", "values.schema.json", ".helmignore", "templates", "crds", "charts"];

/** A refusal the developer can fix (exit 1), as opposed to a usage or I/O error (exit 2). */
export class DigestRefused extends Error {}

const sha256 = (data: string | Buffer) => crypto.createHash("sha256").update(data).digest("hex");

/** Paths (relative, `/`-separated) of the covered files that exist. */
function coveredFiles(chartDir: string): string[] {
    const out: string[] = [];
    const walk = (rel: string) => {
        const st = fs.statSync(path.join(chartDir, rel), { throwIfNoEntry: false });
        if (st === undefined) return;
        if (!st.isDirectory()) {
            out.push(rel);
            return;
        }
        for (const name of fs.readdirSync(path.join(chartDir, rel))) walk(`${rel}/${name}`);
    };
    for (const top of COVERED) walk(top);
    return out;
}

function readChartYaml(chartDir: string): Record<string, unknown> {
    const file = path.join(chartDir, "Chart.yaml");
    if (!fs.existsSync(file)) throw new Error(`${file}: not found (not a chart folder)`);
    const doc = YAML.parse(fs.readFileSync(file, "utf8"));
    if (typeof doc !== "object" || doc === null || typeof doc.version !== "string") throw new Error(`${file}: version: must be a string`);
    return doc;
}

/** Chart.yaml's `version`. */
export function chartVersion(chartDir: string): string {
    return readChartYaml(chartDir).version as string;
}

/** `sha256:<hex>` of the chart's content (Chart.yaml without its version). */
export function chartDigest(chartDir: string): string {
    const lines = coveredFiles(chartDir)
        .sort()
        .map((rel) => {
            let content: string | Buffer = fs.readFileSync(path.join(chartDir, rel));
            if (rel === "Chart.yaml") {
                const { version: _version, ...rest } = readChartYaml(chartDir);
                content = JSON.stringify(rest);
            }
            return `${sha256(content)}  ${rel}\n`;
        });
    return `sha256:${sha256(lines.join(""))}`;
}

export interface Recorded {
    readonly version: string;
    readonly digest: string;
}

/** The recorded `<version> <digest>`, or undefined when the file does not exist. */
export function readRecorded(chartDir: string): Recorded | undefined {
    const file = path.join(chartDir, DIGEST_FILE);
    if (!fs.existsSync(file)) return undefined;
    const m = /^(\S+) (sha256:[0-9a-f]{64})\n?$/.exec(fs.readFileSync(file, "utf8"));
    if (!m) throw new Error(`${file}: must hold one line "<chart version> sha256:<64 hex digits>"`);
    return { version: m[1], digest: m[2] };
}

export type DigestState =
    | { readonly state: "current"; readonly version: string; readonly digest: string }
    /** Content changed, version did not: bump the version first. */
    | { readonly state: "unbumped"; readonly version: string; readonly digest: string; readonly recorded: Recorded }
    /** The version changed (or nothing is recorded yet): record the digest. */
    | { readonly state: "unrecorded"; readonly version: string; readonly digest: string; readonly recorded: Recorded | undefined };

export function digestState(chartDir: string): DigestState {
    const version = chartVersion(chartDir);
    const digest = chartDigest(chartDir);
    const recorded = readRecorded(chartDir);
    if (recorded !== undefined && recorded.version === version) {
        return recorded.digest === digest ? { state: "current", version, digest } : { state: "unbumped", version, digest, recorded };
    }
    return { state: "unrecorded", version, digest, recorded };
}

/** What to tell the developer for a state that is not current (the test's failure message). */
export function explain(s: DigestState, label: string): string {
    const chartYaml = path.join(label, "Chart.yaml");
    switch (s.state) {
        case "current":
            return `${label}: version ${s.version}, ${s.digest}, recorded in ${DIGEST_FILE}`;
        case "unbumped":
            return (
                `${label}: the chart's templates or values changed (${s.digest}, recorded ${s.recorded.digest}) but ${chartYaml} still says version ${s.version}. ` +
                `A helm.v3.Release of a local chart rolls out a template change only when the chart version changes (pulumi-kubernetes#2118): ` +
                `bump version in ${chartYaml}, then run: ${UPDATE_COMMAND}`
            );
        case "unrecorded":
            return s.recorded === undefined
                ? `${label}: no ${DIGEST_FILE} recorded; run: ${UPDATE_COMMAND}`
                : `${label}: ${chartYaml} version is ${s.version} but ${DIGEST_FILE} records ${s.recorded.version}; run: ${UPDATE_COMMAND}`;
    }
}

/** X.Y.Z[-pre] as numbers (a pre-release sorts before its release); undefined when not SemVer. */
function semver(v: string): [number, number, number, string] | undefined {
    const m = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(v);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] ?? ""] : undefined;
}

/** Is `a` a higher version than `b`? (pre-release identifiers compared as strings: enough for a bump check) */
export function isHigher(a: string, b: string): boolean {
    const x = semver(a);
    const y = semver(b);
    if (!x || !y) return false;
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (x[i] as number) > (y[i] as number);
    if (x[3] === y[3]) return false;
    if (x[3] === "") return true;
    if (y[3] === "") return false;
    return x[3] > y[3];
}

/**
 * Record the digest for the current version. Refuses (throws, file untouched) when the content
 * changed under the same version, or when the version went down or is not SemVer.
 * Returns [changed, message].
 */
export function recordDigest(chartDir: string, label = chartDir): [boolean, string] {
    const s = digestState(chartDir);
    if (s.state === "current") return [false, `${explain(s, label)}; nothing to change`];
    if (s.state === "unbumped") throw new DigestRefused(explain(s, label));
    if (semver(s.version) === undefined) throw new DigestRefused(`${path.join(label, "Chart.yaml")}: version ${JSON.stringify(s.version)} is not SemVer (X.Y.Z)`);
    if (s.recorded !== undefined && !isHigher(s.version, s.recorded.version)) {
        throw new DigestRefused(`${path.join(label, "Chart.yaml")}: version ${s.version} must be higher than the recorded ${s.recorded.version}`);
    }
    const file = path.join(chartDir, DIGEST_FILE);
    const tmp = `${file}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, `${s.version} ${s.digest}\n`);
    fs.renameSync(tmp, file);
    return [true, `${label}: recorded version ${s.version}, ${s.digest} in ${DIGEST_FILE}`];
}

export const CHART_DIGEST: ToolDecl = {
    name: "chart-digest",
    description: "Keep a local chart's version in step with its content: record <version> sha256:<digest> in <chart>/.chart-digest, or --check it.",
    commands: [
        {
            name: "",
            summary: "",
            args: [{ name: "chart folder", description: `the chart (default ${DEFAULT_CHART})`, optional: true }],
            options: [{ flags: "--check", description: "only check that the recorded digest is current (exit 1 if not)" }],
            run: ({ args, opts, io }) => {
                const label = args[0] ?? DEFAULT_CHART;
                const dir = path.resolve(io.cwd, label);
                try {
                    if (opts.check === true) {
                        const s = digestState(dir);
                        (s.state === "current" ? io.stdout : io.stderr)(`${explain(s, label)}\n`);
                        return s.state === "current" ? 0 : 1;
                    }
                    const [, message] = recordDigest(dir, label);
                    io.stdout(`${message}\n`);
                    return 0;
                } catch (e) {
                    if (e instanceof DigestRefused) throw new CliError(1, e.message);
                    if (e instanceof Error && !(e instanceof TypeError) && !(e instanceof RangeError) && !(e instanceof ReferenceError)) {
                        throw new CliError(EXIT.USAGE, e.message);
                    }
                    throw e;
                }
            },
        },
    ],
    footer: `exit codes:
  0   recorded, or up to date
  1   out of date or refused (the message says what to do)
  2   usage or I/O error
  70  internal error
`,
};

export function main(argv: readonly string[], io: Partial<Io> = {}): Promise<number> {
    return runTool(CHART_DIGEST, argv, { ...processIo(), ...io });
}
