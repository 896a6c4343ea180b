/**
 * The one way into a stack file (stacks/Pulumi.<stack>.yaml; Pulumi.yaml sets
 * `stackConfigDir: stacks`) for every tool that reads one without the Pulumi engine:
 * migration-ctl, diagnostics, metrics-gate and the offline policy check. The program itself
 * gets its values from the engine (components/program.ts rawConfigFromRuntime) and reads the
 * file only for the plaintext leaves of secret-class keys (secrets-file.ts).
 *
 * The file is read once into
 *  - `config`: the `config:` map as written (full keys, `secure:` values as they are),
 *  - `engine`: the values as the engine hands them to the program: strings as they are, every
 *    other value as JSON text; a `secure:` value (only the backend's secrets provider can
 *    decrypt it) and a secret the program requires but the file does not set are replaced by
 *    placeholders (placeholderValue), never by the ciphertext,
 *  - `raw`: the `pve-migration:` part of `engine` without the namespace, with the secret keys,
 *    which parseStackConfig (schema.ts) validates, the one parse of every reader,
 *  - `placeholders`: one line per key that holds a placeholder, with why.
 */
import * as fs from "fs";
import * as path from "path";
import YAML, { isMap } from "yaml";
import { EXIT } from "../../cli/errors";
import { Phase, isPhase } from "../phases";
import { ConfigError, NAMESPACE } from "./base";
import { ParseOptions, RawConfig, StackConfig, parseStackConfig } from "./schema";

export const PREFIX = `${NAMESPACE}:`;
/** Stack names the tools accept (no path separators). */
export const STACK_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `stacks/Pulumi.<stack>.yaml`, relative to the project folder. */
export function stackFileRel(stack: string): string {
    return `stacks/Pulumi.${stack}.yaml`;
}

export function stackFilePath(projectDir: string, stack: string): string {
    return path.join(projectDir, "stacks", `Pulumi.${stack}.yaml`);
}

/**
 * Why a stack file could not be read: `unreadable` (missing, permissions; `code` is the
 * errno code), `yaml` (not valid YAML), `shape` (valid YAML, but no map or `config:` map),
 * `config` (readStackConfig: an invalid config, one line per problem naming the file and key).
 */
export class StackFileError extends Error {
    constructor(
        readonly kind: "unreadable" | "yaml" | "shape" | "config",
        message: string,
        readonly code?: string,
    ) {
        super(message);
        this.name = "StackFileError";
    }
}

/**
 * The exit code every CLI gives a StackFileError (migration-ctl's codes, cli/errors.ts): 3 no such
 * stack file, 9 another read error, 5 not YAML, 6 not a stack file or not a valid config.
 */
export function stackFileExitCode(e: StackFileError): number {
    if (e.kind === "unreadable") return e.code === "ENOENT" ? EXIT.UNKNOWN_STACK : EXIT.IO;
    return e.kind === "yaml" ? EXIT.MALFORMED_YAML : EXIT.INVALID_CONFIG;
}

/**
 * A placeholder secret's value, the one rule for every offline reader (migration-ctl, the
 * policy check, diagnostics, metrics-gate): recognisable in any output, never real key material.
 */
export function placeholderValue(key: string): string {
    return `[placeholder for ${key}: not a real secret; the stack file's secrets are not decrypted offline]`;
}

/** A `secure:` value as the Pulumi CLI writes it: a map with exactly one key, `secure`, holding a string. */
export function isSecureValue(v: unknown): v is { secure: string } {
    return v !== null && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { secure?: unknown }).secure === "string";
}

/**
 * The SSH key names a stack's config uses, from the values of `nodes` and `monitoring`: each
 * node's `sshKey` (default `default`) and the monitoring host's, in order, once each. A
 * placeholder stands under each name when the file holds `sshPrivateKeys` as ONE secure value
 * (`pulumi config set --secret pve-migration:sshPrivateKeys '<json>'`): its key names are
 * encrypted with it, and `pulumi up` checks them.
 */
export function sshKeyNamesUsed(nodes: unknown, monitoring: unknown): string[] {
    const name = (v: unknown) =>
        v !== null && typeof v === "object" && typeof (v as { sshKey?: unknown }).sshKey === "string" ? (v as { sshKey: string }).sshKey : "default";
    const names = Array.isArray(nodes) ? nodes.map(name) : [];
    const host = (monitoring as { rulesFile?: { host?: unknown } } | null | undefined)?.rulesFile?.host;
    if (host !== undefined) names.push(name(host));
    return [...new Set(names.length ? names : ["default"])];
}

/** JSON text of `{ <name>: value }` for each name (own keys, `__proto__` included). */
function placeholderKeysJson(names: readonly string[], value: (name: string) => string): string {
    return JSON.stringify(Object.fromEntries(names.map((n) => [n, value(n)])));
}

/** Replace `secure:` leaves by placeholders (named by their dot path); says whether any was found. */
function replaceSecure(v: unknown, key: string): { value: unknown; secure: boolean } {
    if (isSecureValue(v)) return { value: placeholderValue(key), secure: true };
    if (Array.isArray(v)) {
        const items = v.map((x, i) => replaceSecure(x, `${key}[${i}]`));
        return { value: items.map((x) => x.value), secure: items.some((x) => x.secure) };
    }
    if (v !== null && typeof v === "object") {
        let secure = false;
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) {
            const r = replaceSecure(x, `${key}.${k}`);
            Object.defineProperty(out, k, { value: r.value, enumerable: true, writable: true, configurable: true });
            secure ||= r.secure;
        }
        return { value: out, secure };
    }
    return { value: v, secure: false };
}

/** A config value as the engine passes it to the program: strings as they are, the rest as JSON text. */
function engineText(value: unknown): string {
    return typeof value === "string" ? value : value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
}

export interface StackFile {
    readonly stack: string;
    /** The file as named by the caller (repository-relative for migration-ctl, else absolute). */
    readonly file: string;
    readonly text: string;
    readonly doc: YAML.Document.Parsed;
    /** The `config:` map as written, by full key. */
    readonly configMap: Readonly<Record<string, unknown>>;
    /** Every value by full key as the engine passes it, placeholders for secrets (see above). */
    readonly engine: Readonly<Record<string, string>>;
    /** Full keys whose values are secrets (a `secure:` value or leaf, or a placeholder). */
    readonly engineSecretKeys: readonly string[];
    /** The `pve-migration:` values for parseStackConfig. */
    readonly raw: RawConfig;
    /** One line per key holding a placeholder secret, with why. */
    readonly placeholders: readonly string[];
    /** `pve-migration:phase` as written, when it is a phase (also when the rest is invalid). */
    readonly phase?: Phase;
    /** `pve-migration:ring.upstream` as written (`org/project/stack` or a stack name). */
    readonly upstreamRef?: string;
    /** The upstream's stack name in this repository (last segment of upstreamRef). */
    readonly upstream?: string;
}

/** Read a stack file's text (pure). Throws StackFileError for YAML that is not a stack file. */
export function parseStackFile(text: string, stack: string, file: string, projectDir: string): StackFile {
    const doc = YAML.parseDocument(text, { prettyErrors: true });
    if (doc.errors.length > 0) {
        const e = doc.errors[0];
        const where = e.linePos ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : "";
        const what = e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
        throw new StackFileError("yaml", `${file}: malformed YAML${where}: ${what}`);
    }
    if (!isMap(doc.contents)) throw new StackFileError("shape", `${file}: must be a YAML map with a config: section`);
    const node = doc.get("config", true);
    if (node !== undefined && node !== null && !isMap(node)) throw new StackFileError("shape", `${file}: config: must be a map of ${PREFIX}<key> entries`);
    const config = (isMap(node) ? node.toJSON() : {}) as Record<string, unknown>;

    const engine: Record<string, string> = {};
    const secretKeys: string[] = [];
    const placeholders: string[] = [];
    const k = (name: string) => `${PREFIX}${name}`;
    const keyNames = () => sshKeyNamesUsed(config[k("nodes")], config[k("monitoring")]);
    for (const [key, value] of Object.entries(config)) {
        // sshPrivateKeys as ONE secure value: a placeholder under each key name the config uses,
        // as the per-leaf (`--path`) form gets one per leaf.
        const r =
            key === k("sshPrivateKeys") && isSecureValue(value)
                ? { value: JSON.parse(placeholderKeysJson(keyNames(), (n) => placeholderValue(`${key}.${n}`))) as unknown, secure: true }
                : replaceSecure(value, key);
        if (r.secure) {
            secretKeys.push(key);
            placeholders.push(`${key}: placeholder secret (the stack file holds an encrypted secure value; the offline check does not decrypt it)`);
        }
        engine[key] = engineText(r.value);
    }
    // Secrets the program requires but the file does not set: placeholders, with a line each
    // (the program checks the real ones at pulumi up).
    if ((config[k("transport")] ?? "ssh") === "ssh" && !(k("sshPrivateKeys") in config)) {
        engine[k("sshPrivateKeys")] = placeholderKeysJson(keyNames(), (n) => placeholderValue(`${k("sshPrivateKeys")}.${n}`));
        secretKeys.push(k("sshPrivateKeys"));
        placeholders.push(
            `${k("sshPrivateKeys")}: placeholder secret (not in the stack file; set it with pulumi config set --secret --path 'sshPrivateKeys.<name>')`,
        );
    }
    if (k("blueGreen") in config && !(k("kubeconfig") in config)) {
        engine[k("kubeconfig")] = placeholderValue(k("kubeconfig"));
        secretKeys.push(k("kubeconfig"));
        placeholders.push(`${k("kubeconfig")}: placeholder secret (not in the stack file; set it with pulumi config set --secret ${k("kubeconfig")} < kubeconfig)`);
    }

    const values: Record<string, string> = {};
    for (const [key, v] of Object.entries(engine)) {
        if (key.startsWith(PREFIX)) Object.defineProperty(values, key.slice(PREFIX.length), { value: v, enumerable: true, writable: true, configurable: true });
    }
    const raw: RawConfig = {
        values,
        secretKeys: new Set(secretKeys.filter((s) => s.startsWith(PREFIX)).map((s) => s.slice(PREFIX.length))),
        stack,
        projectDir,
    };
    const phaseValue = config[k("phase")];
    const ring = config[k("ring")] as { upstream?: unknown } | null | undefined;
    const upstreamRef = typeof ring?.upstream === "string" ? ring.upstream : undefined;
    return {
        stack,
        file,
        text,
        doc,
        configMap: config,
        engine,
        engineSecretKeys: secretKeys,
        raw,
        placeholders,
        phase: isPhase(phaseValue) ? phaseValue : undefined,
        upstreamRef,
        upstream: upstreamRef?.split("/").pop() || undefined,
    };
}

/**
 * Read `file` (default stacks/Pulumi.<stack>.yaml under projectDir). Throws StackFileError:
 * `unreadable` with the errno code, `yaml`, `shape`.
 */
export function readStackFile(projectDir: string, stack: string, file = stackFilePath(projectDir, stack)): StackFile {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
        throw new StackFileError("unreadable", `cannot read ${file}: ${code}`, code);
    }
    return parseStackFile(text, stack, file, projectDir);
}

/** The typed config of a stack file, or every error (each `pve-migration:<key>: ...`, without the file). */
export type LoadedConfig = { readonly ok: true; readonly config: StackConfig } | { readonly ok: false; readonly errors: readonly string[] };

/** parseStackConfig over the file's values: the one parse, as the program runs it. */
export function stackConfigOf(sf: StackFile, opts: ParseOptions = {}): LoadedConfig {
    try {
        return { ok: true, config: parseStackConfig(sf.raw, opts) };
    } catch (e) {
        if (e instanceof ConfigError) return { ok: false, errors: e.errors };
        throw e;
    }
}

/** The typed config of a stack file; throws ConfigError whose every line names the file. */
export function requireStackConfig(sf: StackFile, opts: ParseOptions = {}): StackConfig {
    const r = stackConfigOf(sf, opts);
    if (r.ok) return r.config;
    throw new ConfigError(r.errors.map((e) => `${sf.file}: ${e}`));
}

/**
 * The typed config of `stack` under projectDir (the tools that need only the config:
 * diagnostics, metrics-gate). Throws StackFileError: a bad stack name or an unreadable file
 * names `--stack`; an invalid config lists every problem, one line each naming the file and key.
 */
export function readStackConfig(projectDir: string, stack: string, opts: ParseOptions = {}): StackConfig {
    if (!STACK_NAME_RE.test(stack)) throw new StackFileError("unreadable", `--stack: ${JSON.stringify(stack)} is not a stack name`);
    let sf: StackFile;
    try {
        sf = readStackFile(projectDir, stack);
    } catch (e) {
        if (e instanceof StackFileError && e.kind === "unreadable") throw new StackFileError("unreadable", `--stack ${stack}: ${e.message}`, e.code);
        throw e;
    }
    const r = stackConfigOf(sf, opts);
    if (r.ok) return r.config;
    throw new StackFileError("config", r.errors.map((x) => `${sf.file}: ${x}`).join("\n"));
}
