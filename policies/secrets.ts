/**
 * Secrets (SSH keys, API tokens, kubeconfig) only as Pulumi secrets.
 *
 * A validation policy sees secret values unwrapped (@pulumi/policy deserializes them to plain
 * values), so it cannot tell a secret from plaintext by looking at a value. This policy
 * therefore checks what it can see:
 *  (a) the transition record's plaintextSecretKeys is empty: the program fills it from the
 *      engine's own list of secret config keys (a secret-class key set without --secret);
 *  (b) no private key material, kubeconfig credentials, Proxmox API token or URL credentials
 *      in any input other than the places a secret belongs (an SSH connection's privateKey,
 *      the Kubernetes provider's kubeconfig): command lines, stdin, environment, keepers,
 *      Helm values, ...;
 *  (c) no password in an SSH connection (keys only).
 */
import { ResourceValidationPolicy } from "@pulumi/policy";
import { COPY_TO_REMOTE, RECORD_TYPE, REMOTE_COMMAND, known, recordOf } from "./lib";

/** Inputs where a secret belongs (type -> property paths); everything else is scanned. */
export const SECRET_INPUTS: { readonly [type: string]: readonly string[] } = {
    [REMOTE_COMMAND]: ["connection.privateKey", "connection.proxy.privateKey"],
    [COPY_TO_REMOTE]: ["connection.privateKey", "connection.proxy.privateKey"],
    "pulumi:providers:kubernetes": ["kubeconfig"],
};

/** What gives a secret away, in a value where no secret belongs. */
export const SECRET_PATTERNS: readonly { readonly what: string; readonly re: RegExp }[] = [
    { what: "private key material (-----BEGIN / PRIVATE KEY)", re: /-----BEGIN|PRIVATE KEY/ },
    { what: "kubeconfig credentials", re: /client-key-data|client-certificate-data|\bkind"?\s*:\s*"?Config\b/ },
    { what: "a Proxmox API token", re: /PVEAPIToken=/i },
    { what: "credentials in a URL", re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s/@'"]+:[^\s/@'"]+@/i },
];

/** Every string leaf of `value` with its path, skipping `skip` paths and unknown values. */
export function stringLeaves(value: unknown, skip: readonly string[], at = ""): { path: string; value: string }[] {
    if (skip.includes(at)) return [];
    if (typeof value === "string") return [{ path: at, value }];
    if (value === null || typeof value !== "object") return [];
    const out: { path: string; value: string }[] = [];
    const keys = known(() => Object.keys(value as object)) ?? [];
    for (const k of keys) {
        const child = known(() => (value as { [k: string]: unknown })[k]);
        if (child === undefined) continue;
        const p = Array.isArray(value) ? `${at}[${k}]` : at ? `${at}.${k}` : k;
        out.push(...stringLeaves(child, skip, p));
    }
    return out;
}

export const noPlaintextSecrets: ResourceValidationPolicy = {
    name: "no-plaintext-secrets",
    description: "SSH keys, API tokens and kubeconfigs reach the program only as Pulumi secrets and never appear in command lines, scripts, keepers or Helm values.",
    enforcementLevel: "mandatory",
    validateResource: (args, report) => {
        if (args.type === RECORD_TYPE) {
            const r = recordOf(args.props);
            if (r && r.plaintextSecretKeys !== "") {
                const keys = r.plaintextSecretKeys.split(",").map((k) => `pve-migration:${k}`);
                report(
                    `stack config ${keys.join(", ")} ${keys.length > 1 ? "are" : "is"} not a Pulumi secret: set it with pulumi config set --secret (the value is in plaintext in the stack file)`,
                );
            }
        }
        for (const leaf of stringLeaves(args.props, SECRET_INPUTS[args.type] ?? [])) {
            for (const p of SECRET_PATTERNS) {
                if (p.re.test(leaf.value))
                    report(`${leaf.path} holds ${p.what}: pass it only as a Pulumi secret input (pve-migration:sshPrivateKeys, pve-migration:kubeconfig)`);
            }
        }
        if (args.type === REMOTE_COMMAND || args.type === COPY_TO_REMOTE) {
            const conn = known(() => args.props.connection) as { password?: unknown; proxy?: { password?: unknown } } | undefined;
            const password = known(() => conn?.password);
            const proxyPassword = known(() => conn?.proxy?.password);
            if (password !== undefined && password !== null)
                report("connection.password is set: log in to nodes with a key from the secret pve-migration:sshPrivateKeys, never a password");
            if (proxyPassword !== undefined && proxyPassword !== null)
                report("connection.proxy.password is set: log in to the jump host with a key, never a password");
        }
    },
};
