/**
 * The building blocks of the stack config shared by its parts (nodes, blue-green, monitoring):
 * the namespace, the error that lists every problem by key, and the validators of addresses,
 * host keys, paths, unit names, site commands and URLs. Pure; imports nothing of the project
 * but the bounds, so every part of the config can use it without an import cycle.
 */
import { isIPv6 } from "net";
import { z } from "zod";
import { BOUNDS, UNIT_NAME_RE, pathProblem } from "./bounds";

export const NAMESPACE = "pve-migration";

const HOST_RE = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6_RE = /^[0-9A-Fa-f:.]{2,45}$/;
const HOST_KEY_RE = /^(ssh-ed25519|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521) [A-Za-z0-9+/]+={0,3}$/;
/**
 * Why an ssh-rsa host key cannot be pinned. @pulumi/command offers the server exactly one
 * host key algorithm, the pinned key's type (pulumi-command provider/pkg/provider/remote/
 * connection.go, connectionBase.SSHConfig: `hostKeyAlgorithms = []string{publicKey.Type()}`),
 * which for an RSA key is "ssh-rsa", the SHA-1 signature that OpenSSH 8.8 and later refuse;
 * Debian 12's sshd offers rsa-sha2-512 and rsa-sha2-256 only, so the handshake fails with "no
 * common algorithm for host key".
 */
export const SSH_RSA_HOST_KEY_MESSAGE =
    "ssh-rsa host keys cannot be used: @pulumi/command would verify it with the SHA-1 'ssh-rsa' signature, which OpenSSH 8.8 and later (Debian 12) refuse; pin the node's ed25519 key instead (ssh-keyscan -t ed25519 <address>)";

/** Is `a` an address a step may connect to (IPv4, IPv6, DNS name)? Nodes and the monitoring host. */
export function isHostAddress(a: string): boolean {
    // An IPv6 address: only hex digits, ':' and '.' (no zone "%..."), and well formed as Node's
    // own parser reads it (net.isIPv6).
    return IPV4_RE.test(a) || (a.includes(":") && IPV6_RE.test(a) && isIPv6(a)) || HOST_RE.test(a);
}

/** The address of a node or of the monitoring host (one validator for both). */
export const addressSchema = z.string().refine(isHostAddress, { message: "must be an IPv4 or IPv6 address or a DNS name" });

/** A path a step writes (BOUNDS.pathLength, pathComponentLength; `{node}` allowed where the caller says). */
export function writePathSchema(allowNode: boolean) {
    return z.string().superRefine((p, ctx) => {
        const problem = !allowNode && p.includes("{node}") ? "must be an absolute path without '..'" : pathProblem(p);
        if (problem !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
    });
}

/** A systemd service name within BOUNDS.unitNameLength. */
export const unitNameSchema = z
    .string()
    .regex(UNIT_NAME_RE, "must be a systemd service name")
    .max(
        BOUNDS.unitNameLength.max,
        `must be at most ${BOUNDS.unitNameLength.max} characters (every file named after it must fit 255: the unit file, the diagnostics bundle's <name>.is-enabled.txt)`,
    );

/** A site command: 1..BOUNDS.commandArgs.max words of 1..BOUNDS.argLength.max characters, no NUL. */
export const argWordSchema = z
    .string()
    .min(1, "must not be empty")
    .max(BOUNDS.argLength.max, `must be at most ${BOUNDS.argLength.max} characters`)
    .refine((s) => !s.includes("\0"), "must not contain NUL");
export const argvSchema = z
    .array(argWordSchema)
    .min(1, "must name a command (a list of arguments)")
    .max(BOUNDS.commandArgs.max, `must have at most ${BOUNDS.commandArgs.max} arguments`);

/** A pinned SSH host key: ed25519 or ECDSA; ssh-rsa refused (SSH_RSA_HOST_KEY_MESSAGE). */
export const hostKeySchema = z
    .string()
    .refine((k) => !k.startsWith("ssh-rsa "), SSH_RSA_HOST_KEY_MESSAGE)
    .refine((k) => k.startsWith("ssh-rsa ") || HOST_KEY_RE.test(k), "must be an OpenSSH public host key ('ssh-ed25519 AAAA...')");

export class ConfigError extends Error {
    constructor(readonly errors: string[]) {
        super(`invalid stack config:\n${errors.map((e) => `  ${e}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

/** The error of an SSH key name (at `key`) that names no own key of the secret sshPrivateKeys. */
export function missingKeyMessage(key: string, name: string): string {
    return `${NAMESPACE}:${key}: no key ${JSON.stringify(name)} in ${NAMESPACE}:sshPrivateKeys`;
}

/** Is `u` a URL with one of `protocols`, a host, and no credentials, query or fragment? */
export function safeUrl(u: string, protocols: string[]): boolean {
    if (/[\s"'`$\\]/.test(u)) return false;
    let url: URL;
    try {
        url = new URL(u);
    } catch {
        return false;
    }
    return protocols.includes(url.protocol) && url.hostname !== "" && url.username === "" && url.password === "" && url.search === "" && url.hash === "";
}
