/**
 * A stack file as migration-ctl reads it: the YAML document, the raw `pve-migration:` config
 * map handed to parseStackConfig exactly as the Pulumi engine would hand it to the program
 * (strings as they are, everything else as JSON text), and the typed config or its errors.
 *
 * Secrets: migration-ctl never decrypts or prints a secret. A value written as
 * `{secure: ...}` is passed as a redacted secret. The secret keys the program needs
 * (`sshPrivateKeys`, `kubeconfig`) are not required here: when a stack file does not hold them,
 * a redacted placeholder stands in and a note says so (the Pulumi program checks them at
 * `pulumi up`). A secret key written in plain text is passed as it is, so the config's own
 * rule ("must be a Pulumi secret") reports it.
 */
import YAML, { isMap, isScalar } from "yaml";
import { ConfigError, NAMESPACE, StackConfig, parseStackConfig } from "../config/schema";
import { isSecureValue, placeholderKeysJson, sshKeyNamesUsed } from "../config/secrets-file";
import { Phase, isPhase } from "../phases";
import { CtlError, EXIT } from "./errors";
import { parseYaml } from "./yamledit";

export const PREFIX = `${NAMESPACE}:`;
/** Stack names migration-ctl accepts (no path separators). */
export const STACK_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const REDACTED = "[secret]";

export interface LoadedStack {
    readonly stack: string;
    /** Path relative to the repository: `stacks/Pulumi.<stack>.yaml`. */
    readonly file: string;
    readonly text: string;
    readonly doc: YAML.Document.Parsed;
    /** The phase as written, when it is a phase (also when the rest of the config is invalid). */
    readonly phase?: Phase;
    /** The typed config; undefined when invalid (see errors). */
    readonly config?: StackConfig;
    /** Config errors, each naming the key (`pve-migration:nodes[0].name: ...`). */
    readonly errors: readonly string[];
    /** Things migration-ctl did not check (secrets). */
    readonly notes: readonly string[];
    /** `pve-migration:ring.upstream` as written (`org/project/stack`). */
    readonly upstreamRef?: string;
    /** The upstream's stack name in this repository (last segment of upstreamRef). */
    readonly upstream?: string;
}

export function stackFileRel(stack: string): string {
    return `stacks/Pulumi.${stack}.yaml`;
}

interface Redacted {
    readonly value: unknown;
    readonly secret: boolean;
}

function redact(v: unknown): Redacted {
    if (v !== null && typeof v === "object") {
        if (!Array.isArray(v)) {
            const o = v as Record<string, unknown>;
            const keys = Object.keys(o);
            if (keys.length === 1 && keys[0] === "secure" && typeof o.secure === "string") return { value: REDACTED, secret: true };
            let secret = false;
            const out: Record<string, unknown> = {};
            for (const [k, x] of Object.entries(o)) {
                const r = redact(x);
                secret ||= r.secret;
                out[k] = r.value;
            }
            return { value: out, secret };
        }
        const rs = v.map(redact);
        return { value: rs.map((r) => r.value), secret: rs.some((r) => r.secret) };
    }
    return { value: v, secret: false };
}

export interface RawConfigMap {
    readonly values: Record<string, string>;
    readonly secretKeys: Set<string>;
    readonly notes: string[];
}

/**
 * The `pve-migration:` keys of a parsed stack file, without the namespace, as the engine
 * passes them: strings as they are, other values as JSON text. Secrets redacted (see above).
 */
export function rawConfigOf(doc: YAML.Document.Parsed, file: string): RawConfigMap {
    const config = doc.get("config", true);
    if (!isMap(config)) throw new CtlError(EXIT.INVALID_CONFIG, `${file}: config: must be a map of ${PREFIX}<key> entries`);
    const values: Record<string, string> = {};
    const secretKeys = new Set<string>();
    const notes: string[] = [];
    const data = config.toJSON() as Record<string, unknown>;
    for (const [k, v] of Object.entries(data)) {
        if (!k.startsWith(PREFIX)) continue;
        const key = k.slice(PREFIX.length);
        const r = redact(v);
        if (r.secret) secretKeys.add(key);
        values[key] = typeof r.value === "string" ? r.value : JSON.stringify(r.value ?? null);
    }
    const keyNames = () => sshKeyNamesUsed(data[`${PREFIX}nodes`], data[`${PREFIX}monitoring`]);
    // sshPrivateKeys as ONE secure value (`pulumi config set --secret pve-migration:sshPrivateKeys
    // '<json>'`): the object and its key names are encrypted; a redacted key stands in under
    // each name the config uses, as a redacted leaf does in the per-leaf (`--path`) form.
    if (isSecureValue(data[`${PREFIX}sshPrivateKeys`])) {
        values.sshPrivateKeys = placeholderKeysJson(keyNames(), () => REDACTED);
        notes.push(`${PREFIX}sshPrivateKeys is one secure value in ${file}: its key names are not checked here (pulumi up checks them)`);
    }
    // Secrets the program needs but migration-ctl does not: stand-ins, with a note.
    const transport = values.transport ?? "ssh";
    if (transport === "ssh" && !("sshPrivateKeys" in values)) {
        values.sshPrivateKeys = placeholderKeysJson(keyNames(), () => REDACTED);
        secretKeys.add("sshPrivateKeys");
        notes.push(`${PREFIX}sshPrivateKeys is not in ${file}; set it before pulumi up (pulumi config set --secret --path 'sshPrivateKeys.default' ...)`);
    }
    if ("blueGreen" in values && !("kubeconfig" in values)) {
        values.kubeconfig = REDACTED;
        secretKeys.add("kubeconfig");
        notes.push(`${PREFIX}kubeconfig is not in ${file}; set it before pulumi up (pulumi config set --secret ${PREFIX}kubeconfig < file)`);
    }
    return { values, secretKeys, notes };
}

/**
 * Read a stack file's text. Malformed YAML throws CtlError(MALFORMED_YAML); an invalid config
 * does not throw: `config` is undefined and `errors` says why.
 */
export function loadStack(text: string, stack: string, projectDir: string, file = stackFileRel(stack)): LoadedStack {
    const doc = parseYaml(text, file);
    if (!isMap(doc.contents)) throw new CtlError(EXIT.INVALID_CONFIG, `${file}: must be a YAML map with a config: section`);
    const raw = rawConfigOf(doc, file);
    const rawPhase = raw.values.phase;
    const phase = isPhase(rawPhase) ? rawPhase : undefined;
    let config: StackConfig | undefined;
    let errors: string[] = [];
    try {
        config = parseStackConfig({ values: raw.values, secretKeys: raw.secretKeys, stack, projectDir });
    } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        errors = e.errors.map((x) => `${file}: ${x}`);
    }
    let upstreamRef: string | undefined = config?.ring?.upstream;
    if (upstreamRef === undefined) {
        const ring = doc.getIn(["config", `${PREFIX}ring`, "upstream"], true);
        if (isScalar(ring) && typeof ring.value === "string") upstreamRef = ring.value;
    }
    const upstream = upstreamRef?.split("/").pop() || undefined;
    return { stack, file, text, doc, phase, config, errors, notes: raw.notes, upstreamRef, upstream };
}

/** The config, or a CtlError(INVALID_CONFIG) listing why there is none. */
export function requireConfig(s: LoadedStack): StackConfig {
    if (s.config) return s.config;
    throw new CtlError(EXIT.INVALID_CONFIG, `${s.file}: invalid stack config (${s.errors.length} error(s)); nothing written`, s.errors);
}
