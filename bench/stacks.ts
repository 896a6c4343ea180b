/**
 * Stack configs the benchmarks run the program with: an N-node ring reached over SSH (node
 * names pve0001..., addresses from 10.30.0.0/16, ed25519 host keys, the SSH key a secret), and
 * the prod stack's blue-green block for the flip. Values are what the engine hands the program:
 * keys without the `pve-migration:` namespace, objects as JSON text.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { NAMESPACE } from "../components/config/schema";
import { Phase } from "../components/phases";

/** The repository root (Pulumi.yaml, charts/, stacks/). */
export const PROJECT_DIR = path.resolve(__dirname, "..");
/** Stack name of every benchmark run (no file stacks/Pulumi.bench.yaml exists or is needed). */
export const STACK = "bench";
export const CLUSTER = "bench";
/** The program's clock in every run (blue-green idle scale-down is decided against it). */
export const NOW = new Date("2026-11-21T12:00:00Z");
/** When the deployed phase was entered (the stack's own last outputs). */
export const DEPLOYED_AT = "2026-11-01T00:00:00Z";
export const PACKAGE = {
    version: "0.4.2-1",
    sha256: "873668e63f5e47ba54045e70565b7ff320e94dc9769f94e14c38b78a4a68db2a",
    url: "https://apt.example.internal/pve-network-rs/pve-network-rs_0.4.2-1_amd64.deb",
};
/** Not key material: a marked placeholder, registered as a Pulumi secret like the real key. */
export const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAbenchmark-placeholder-not-a-key\n-----END OPENSSH PRIVATE KEY-----\n";
export const KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n";

/** pve0001, pve0002, ... */
export function nodeName(i: number): string {
    return `pve${String(i + 1).padStart(4, "0")}`;
}

export function nodeNames(n: number): string[] {
    return Array.from({ length: n }, (_, i) => nodeName(i));
}

/** 10.30.<i / 250>.<1 + i % 250>: distinct, never a network or broadcast address. */
export function nodeAddress(i: number): string {
    return `10.30.${Math.floor(i / 250)}.${1 + (i % 250)}`;
}

/** An OpenSSH ed25519 public key line, distinct per node. */
export function hostKey(i: number): string {
    const tail = crypto
        .createHash("sha256")
        .update(nodeName(i))
        .digest("base64")
        .replace(/[^A-Za-z0-9]/g, "")
        .slice(0, 43);
    return `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI${tail}`;
}

/** Raw config values of an n-node ssh ring configured at `phase`. */
export function ringValues(n: number, phase: Phase, extra: Record<string, string> = {}): Record<string, string> {
    if (!Number.isInteger(n) || n < 1) throw new Error(`ring size must be a positive integer (got ${n})`);
    return {
        cluster: CLUSTER,
        phase,
        perlApi: JSON.stringify({ baseUrl: "https://bench.example.internal:8006", timeout: 60 }),
        package: JSON.stringify(PACKAGE),
        nodes: JSON.stringify(Array.from({ length: n }, (_, i) => ({ name: nodeName(i), address: nodeAddress(i), hostKey: hostKey(i) }))),
        sshPrivateKeys: JSON.stringify({ default: SSH_KEY }),
        ...extra,
    };
}

/** Keys of ringValues that are secrets. */
export const SECRET_KEYS = ["sshPrivateKeys"];

/** The engine's form: full keys, and the full keys of the secrets. */
export function engineForm(values: Record<string, string>, secretKeys: readonly string[]): { config: Record<string, string>; secretKeys: string[] } {
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) config[`${NAMESPACE}:${k}`] = v;
    return { config, secretKeys: secretKeys.map((k) => `${NAMESPACE}:${k}`) };
}

/** The `pve-migration:blueGreen` block of stacks/Pulumi.prod.yaml (the example production stack). */
export function prodBlueGreen(projectDir: string = PROJECT_DIR): Record<string, unknown> {
    const file = path.join(projectDir, "stacks", "Pulumi.prod.yaml");
    const doc = YAML.parse(fs.readFileSync(file, "utf8")) as { config?: Record<string, unknown> };
    const bg = doc.config?.[`${NAMESPACE}:blueGreen`];
    if (bg === null || typeof bg !== "object") throw new Error(`${file}: no ${NAMESPACE}:blueGreen block`);
    return bg as Record<string, unknown>;
}
