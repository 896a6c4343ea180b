/**
 * Plaintext leaves of secret-class config keys in a stack file (stacks/Pulumi.<stack>.yaml).
 *
 * The engine reports an object config value with one `secure:` leaf as secret as a whole
 * (pulumi.runtime.isConfigSecret), so a plaintext leaf beside it (`sshPrivateKeys.backup`
 * written without --secret) would pass as a secret. Only the stack file shows each leaf, so
 * this reads it: every leaf of a secret-class key must be a `secure:` value, or the whole
 * key must be one (`pve-migration:sshPrivateKeys: {secure: ...}`). Pure; the file is read by
 * readStackFile (stackfile.ts).
 */
import { NAMESPACE } from "./base";
import { SECRET_CONFIG_KEYS } from "./schema";
import { isSecureValue } from "./stackfile";

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
