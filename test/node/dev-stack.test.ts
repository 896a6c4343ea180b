/**
 * The dev stack end to end without Pulumi: `npm run dev:sandbox` builds the sandbox and the
 * pinned package; the dev stack's own config then drives a promotion and a rollback on it
 * through exactly the steps the program registers.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { parseStackConfig } from "../../components/config/schema";
import { tomlAt, mustRun, isEnabled } from "../support/node";

const REPO = path.resolve(__dirname, "../..");

test("npm run dev:sandbox builds the package the dev stack pins, and the dev stack promotes and rolls back on it", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pve-dev-"));
    try {
        const r = spawnSync("npx", ["ts-node", "--transpile-only", "bin/dev-sandbox.ts", "--dir", path.join(dir, ".sandbox")], { cwd: REPO, encoding: "utf8" });
        expect(r.stderr.replace(/npm warn.*\n/g, "")).toBe("");
        expect(r.status).toBe(0);
        expect(r.stdout).toContain("matches the sha256 pinned in stacks/Pulumi.dev.yaml");
        const config = YAML.parse(fs.readFileSync(path.join(REPO, "stacks/Pulumi.dev.yaml"), "utf8")).config as Record<string, unknown>;
        const values = Object.fromEntries(Object.entries(config).map(([k, v]) => [k.replace(/^pve-migration:/, ""), typeof v === "string" ? v : JSON.stringify(v)]));
        const at = (phase: string) => parseStackConfig({ values: { ...values, phase }, secretKeys: new Set(), stack: "dev", projectDir: dir });
        mustRun(at("perl-only"), "perl-only", "perl-only", "0");
        mustRun(at("rust-read-only"), "perl-only", "rust-read-only", "d1d1");
        mustRun(at("rust-basic-write"), "rust-read-only", "rust-basic-write", "d2d2");
        const toml = path.join(dir, ".sandbox/dev/cluster-pve/network/migration.toml");
        expect(tomlAt(toml).phase).toBe("rust-basic-write");
        mustRun(at("perl-only"), "rust-basic-write", "perl-only", "d3d3");
        expect(tomlAt(toml).phase).toBe("perl-only");
        for (const n of ["pve1", "pve2", "pve3"]) expect(isEnabled(path.join(dir, ".sandbox/dev", n))).toBe(false);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true, maxRetries: 20, retryDelay: 50 });
    }
});
