/**
 * The stack config as the Pulumi engine would hand it to the program, read from
 * stacks/Pulumi.<stack>.yaml without a backend: strings as they are, every other value as
 * JSON text; a `secure:` value (which only the backend's secrets provider can decrypt) and a
 * secret the stack needs but does not set are replaced by marked placeholder secrets.
 * Pure but for the file reads.
 */
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { NAMESPACE } from "../config/schema";
import { setOwn } from "../config/own";
import { isSecureValue, placeholderKeysJson, sshKeyNamesUsed } from "../config/secrets-file";
import { UsageError } from "../../cli/errors";
import { Phase, isPhase } from "../phases";

/** A placeholder secret's value: recognisable in any output, never real key material. */
export function placeholderValue(key: string): string {
    return `[offline-policy-check placeholder for ${key}: not a real secret]`;
}

/** The `config:` map of a stack file (full keys). */
export type StackFileConfig = Record<string, unknown>;

export function stackFilePath(projectDir: string, stack: string): string {
    return path.join(projectDir, "stacks", `Pulumi.${stack}.yaml`);
}

/** Read the `config:` map of a stack file. Throws UsageError naming the file. */
export function readStackFile(file: string): StackFileConfig {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch {
        throw new UsageError(`no stack file ${file}`);
    }
    let doc: unknown;
    try {
        doc = YAML.parse(text);
    } catch (e) {
        throw new UsageError(`${file}: not valid YAML: ${(e as Error).message.split("\n")[0]}`);
    }
    const config = (doc as { config?: unknown } | null)?.config;
    if (config === undefined || config === null) return {};
    if (typeof config !== "object" || Array.isArray(config)) throw new UsageError(`${file}: config must be a map of keys to values`);
    return config as StackFileConfig;
}

/** The project name from Pulumi.yaml. */
export function readProjectName(projectDir: string): string {
    const file = path.join(projectDir, "Pulumi.yaml");
    let doc: { name?: unknown };
    try {
        doc = YAML.parse(fs.readFileSync(file, "utf8")) ?? {};
    } catch {
        throw new UsageError(`no readable Pulumi.yaml in ${projectDir} (--project-dir)`);
    }
    if (typeof doc.name !== "string" || doc.name === "") throw new UsageError(`${file}: no project name`);
    return doc.name;
}

export interface EngineConfig {
    /** Values by full key, as the engine passes them. */
    readonly config: Record<string, string>;
    /** Full keys whose values are secrets. */
    readonly secretKeys: string[];
    /** Keys that hold placeholder secrets, with why. */
    readonly placeholders: string[];
}

const isSecure = isSecureValue;

/** Replace `secure:` leaves by placeholders; returns the new value and whether any was found. */
function replaceSecure(v: unknown, key: string): { value: unknown; secure: boolean } {
    if (isSecure(v)) return { value: placeholderValue(key), secure: true };
    if (Array.isArray(v)) {
        const items = v.map((x, i) => replaceSecure(x, `${key}[${i}]`));
        return { value: items.map((x) => x.value), secure: items.some((x) => x.secure) };
    }
    if (v !== null && typeof v === "object") {
        let secure = false;
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) {
            const r = replaceSecure(x, `${key}.${k}`);
            out[k] = r.value;
            secure ||= r.secure;
        }
        return { value: out, secure };
    }
    return { value: v, secure: false };
}

/**
 * The engine's view of a stack file's config. Placeholders are added for `secure:` values and
 * for the secrets the program requires but the file does not set: `sshPrivateKeys` (one entry
 * per node's sshKey) with transport ssh, `kubeconfig` with blueGreen.
 */
export function engineConfig(doc: StackFileConfig): EngineConfig {
    const config: Record<string, string> = {};
    const secretKeys: string[] = [];
    const placeholders: string[] = [];
    for (const [key, raw] of Object.entries(doc)) {
        // sshPrivateKeys as ONE secure value: a placeholder under each key name the config uses
        // (sshKeyNamesUsed), as the per-leaf form gets one per leaf.
        const { value, secure } =
            key === `${NAMESPACE}:sshPrivateKeys` && isSecure(raw)
                ? { value: JSON.parse(placeholderKeysJson(sshKeyNamesUsed(doc[`${NAMESPACE}:nodes`], doc[`${NAMESPACE}:monitoring`]), (n) => placeholderValue(`${key}.${n}`))), secure: true }
                : replaceSecure(raw, key);
        if (secure) {
            secretKeys.push(key);
            placeholders.push(`${key}: placeholder secret (the stack file holds an encrypted secure value; the offline check does not decrypt it)`);
        }
        config[key] = typeof value === "string" ? value : value === null ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
    }
    const k = (name: string) => `${NAMESPACE}:${name}`;
    if ((doc[k("transport")] ?? "ssh") === "ssh" && !(k("sshPrivateKeys") in doc)) {
        config[k("sshPrivateKeys")] = placeholderKeysJson(sshKeyNamesUsed(doc[k("nodes")], doc[k("monitoring")]), (n) => placeholderValue(`${k("sshPrivateKeys")}.${n}`));
        secretKeys.push(k("sshPrivateKeys"));
        placeholders.push(`${k("sshPrivateKeys")}: placeholder secret (not in the stack file; set it with pulumi config set --secret --path 'sshPrivateKeys.<name>')`);
    }
    if (k("blueGreen") in doc && !(k("kubeconfig") in doc)) {
        config[k("kubeconfig")] = placeholderValue(k("kubeconfig"));
        secretKeys.push(k("kubeconfig"));
        placeholders.push(`${k("kubeconfig")}: placeholder secret (not in the stack file; set it with pulumi config set --secret ${k("kubeconfig")} < kubeconfig)`);
    }
    return { config, secretKeys, placeholders };
}

/** What a stack has deployed, as its outputs say (`phase`, `phaseEnteredAt`). */
export interface DeployedState {
    readonly phase: Phase;
    readonly phaseEnteredAt?: string;
}

/** Parse a deployed file: JSON `{ "<stack>": { "phase": "...", "phaseEnteredAt": "..." } }`. */
export function parseDeployed(text: string, what: string): Record<string, DeployedState> {
    let doc: unknown;
    try {
        doc = JSON.parse(text);
    } catch (e) {
        throw new UsageError(`${what}: not valid JSON: ${(e as Error).message}`);
    }
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
        throw new UsageError(`${what}: must be a JSON object { "<stack>": { "phase": "...", "phaseEnteredAt": "..." } }`);
    }
    const out: Record<string, DeployedState> = {};
    for (const [stack, v] of Object.entries(doc)) {
        const s = v as { phase?: unknown; phaseEnteredAt?: unknown } | null;
        if (s === null || typeof s !== "object" || !isPhase(s.phase)) {
            throw new UsageError(`${what}: ${stack}.phase must be a phase (got ${JSON.stringify(s?.phase ?? null)})`);
        }
        if (s.phaseEnteredAt !== undefined && (typeof s.phaseEnteredAt !== "string" || Number.isNaN(Date.parse(s.phaseEnteredAt)))) {
            throw new UsageError(`${what}: ${stack}.phaseEnteredAt must be an ISO time (got ${JSON.stringify(s.phaseEnteredAt)})`);
        }
        setOwn(out, stack, s.phaseEnteredAt !== undefined ? { phase: s.phase, phaseEnteredAt: s.phaseEnteredAt as string } : { phase: s.phase });
    }
    return out;
}

/** The stack name a ring follows (`ring.upstream` is org/project/stack), or undefined. */
export function upstreamOf(doc: StackFileConfig): string | undefined {
    const ring = doc[`${NAMESPACE}:ring`] as { upstream?: unknown } | undefined;
    return typeof ring?.upstream === "string" ? ring.upstream.split("/").pop() : undefined;
}

/** The configured phase of a stack file, when it is a phase. */
export function configuredPhase(doc: StackFileConfig): Phase | undefined {
    const p = doc[`${NAMESPACE}:phase`];
    return isPhase(p) ? p : undefined;
}
