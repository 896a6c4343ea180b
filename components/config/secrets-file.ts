/**
 * Plaintext leaves of secret-class config keys in a stack file (stacks/Pulumi.<stack>.yaml).
 *
 * The engine reports an object config value with one `secure:` leaf as secret as a whole
 * (pulumi.runtime.isConfigSecret), so a plaintext leaf beside it (`sshPrivateKeys.backup`
 * written without --secret) would pass as a secret. Only the stack file shows each leaf, so
 * this reads it: every leaf of a secret-class key must be a `secure:` value, or the whole
 * key must be one (`pve-migration:sshPrivateKeys: {secure: ...}`). Pure, but for
 * readStackFileConfig at the end.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ConfigError, NAMESPACE, SECRET_CONFIG_KEYS } from "./schema";

/** A `secure:` value as the Pulumi CLI writes it: a map with exactly one key, `secure`, holding a string. */
export function isSecureValue(v: unknown): v is { secure: string } {
    return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { secure?: unknown }).secure === "string";
}

/**
 * The SSH key names a stack's config uses, from the parsed values of `nodes` and `monitoring`:
 * each node's `sshKey` (default `default`) and the monitoring host's, in order, once each.
 * The offline tools (migration-ctl, the policy check) stand in a placeholder secret under each
 * name when the stack file holds `sshPrivateKeys` as ONE secure value (`pulumi config set
 * --secret pve-migration:sshPrivateKeys '<json>'`): its key names are encrypted with it, and
 * `pulumi up` checks them.
 */
export function sshKeyNamesUsed(nodes: unknown, monitoring: unknown): string[] {
    const name = (v: unknown) => (v !== null && typeof v === "object" && typeof (v as { sshKey?: unknown }).sshKey === "string" ? (v as { sshKey: string }).sshKey : "default");
    const names = Array.isArray(nodes) ? nodes.map(name) : [];
    const host = (monitoring as { rulesFile?: { host?: unknown } } | null | undefined)?.rulesFile?.host;
    if (host !== undefined) names.push(name(host));
    return [...new Set(names.length ? names : ["default"])];
}

/** JSON text of `{ <name>: value }` for each name (own keys, `__proto__` included). */
export function placeholderKeysJson(names: readonly string[], value: (name: string) => string): string {
    return JSON.stringify(Object.fromEntries(names.map((n) => [n, value(n)])));
}

/** Dot paths (lists as `[i]`) of the leaves under `v` that are not `secure:` values. */
function plaintextLeaves(v: unknown, at: string): string[] {
    if (isSecureValue(v)) return [];
    if (Array.isArray(v)) return v.flatMap((x, i) => plaintextLeaves(x, `${at}[${i}]`));
    if (v !== null && typeof v === "object") {
        const entries = Object.entries(v);
        // An empty map or list holds no secret.
        return entries.flatMap(([k, x]) => plaintextLeaves(x, `${at}.${k}`));
    }
    // null (an unset value) holds no secret; every other scalar is plaintext.
    return v === null || v === undefined ? [] : [at];
}

/**
 * Every leaf of a secret-class key (`pve-migration:sshPrivateKeys`, `pve-migration:kubeconfig`)
 * in a stack file's `config:` map that is not a `secure:` value, by full dot path
 * (`pve-migration:sshPrivateKeys.backup`), in the file's order.
 */
export function plaintextSecretLeaves(config: Readonly<Record<string, unknown>>, keys: readonly string[] = SECRET_CONFIG_KEYS): string[] {
    const full = new Set(keys.map((k) => `${NAMESPACE}:${k}`));
    return Object.entries(config).flatMap(([key, value]) => (full.has(key) ? plaintextLeaves(value, key) : []));
}

/**
 * The record's plaintextSecretKeys (components/cluster/record.ts): the engine's list of
 * secret-class keys given without the secret mark (`enginePlaintext`, keys without namespace),
 * joined with the plaintext leaves the stack file shows, without the namespace
 * (`sshPrivateKeys.backup`); a key already listed whole is not listed again by leaf.
 */
export function plaintextSecretKeys(enginePlaintext: readonly string[], stackFileConfig: Readonly<Record<string, unknown>> | undefined): string[] {
    const out = [...enginePlaintext];
    const prefix = `${NAMESPACE}:`;
    for (const leaf of stackFileConfig ? plaintextSecretLeaves(stackFileConfig) : []) {
        const path = leaf.slice(prefix.length);
        const key = path.split(/[.[]/)[0];
        if (!out.includes(key) && !out.includes(path)) out.push(path);
    }
    return out;
}

/**
 * The `config:` map of stacks/Pulumi.<stack>.yaml under `projectDir` (Pulumi.yaml sets
 * `stackConfigDir: stacks`), or undefined when there is no such file. The only function here
 * that reads a file; a file that is not YAML is a ConfigError naming it.
 */
export function readStackFileConfig(projectDir: string, stack: string): Record<string, unknown> | undefined {
    const file = path.join(projectDir, "stacks", `Pulumi.${stack}.yaml`);
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch {
        return undefined;
    }
    let doc: unknown;
    try {
        doc = YAML.parse(text);
    } catch (e) {
        throw new ConfigError([`${file}: not valid YAML: ${(e as Error).message.split("\n")[0]}`]);
    }
    const config = (doc as { config?: unknown } | null)?.config;
    return config !== null && typeof config === "object" && !Array.isArray(config) ? (config as Record<string, unknown>) : undefined;
}
