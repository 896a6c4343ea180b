/**
 * Edit a stack file in place without touching anything but the edited values: the yaml
 * package's Document API finds each node and its source range, and the edit splices the new
 * value into the original text there. Every other byte (comments, key order, spacing, quoting,
 * flow maps) stays as it was; the result is parsed again and must hold exactly the intended
 * values, or nothing is returned. Pure.
 */
import { isDeepStrictEqual } from "util";
import YAML, { isMap, isPair, isScalar, isSeq, Node, Pair, Scalar, YAMLMap } from "yaml";
import { CtlError, EXIT } from "./errors";

export type YamlPath = readonly string[];
export type YamlValue = string | number | boolean | { readonly [k: string]: YamlValue };

export interface YamlEdit {
    /** Keys from the document root, e.g. ["config", "pve-migration:phase"]. */
    readonly path: YamlPath;
    /** New value; `undefined` removes the key. */
    readonly value: YamlValue | undefined;
}

/** Parse a stack file; malformed YAML is a CtlError naming the file and the first problem. */
export function parseYaml(text: string, file: string): YAML.Document.Parsed {
    const doc = YAML.parseDocument(text, { prettyErrors: true });
    if (doc.errors.length > 0) {
        const e = doc.errors[0];
        const where = e.linePos ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : "";
        const what = e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "");
        throw new CtlError(EXIT.MALFORMED_YAML, `${file}: malformed YAML${where}: ${what}`);
    }
    return doc;
}

/** A plain scalar that every YAML reader (1.1 and 1.2) reads back as this same string. */
const SAFE_PLAIN = /^[A-Za-z_][A-Za-z0-9_./-]*$/;
const YAML11_WORDS = /^(y|n|yes|no|on|off|true|false|null|nan|inf)$/i;

/** Render a scalar: strings plain when that is unambiguous, else double-quoted. */
export function renderScalar(v: string | number | boolean, style?: Scalar.Type): string {
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number") {
        if (!Number.isFinite(v)) throw new Error(`cannot write ${v} to YAML`);
        return String(v);
    }
    if (style === "QUOTE_SINGLE") return `'${v.replace(/'/g, "''")}'`;
    if (style !== "QUOTE_DOUBLE" && SAFE_PLAIN.test(v) && !YAML11_WORDS.test(v)) return v;
    return JSON.stringify(v);
}

/** A map key: plain when unambiguous (`pve-migration:phase` included), else double-quoted. */
export function renderKey(k: string): string {
    return /^[A-Za-z_][A-Za-z0-9_./-]*(:[A-Za-z0-9_./-]+)*$/.test(k) && !YAML11_WORDS.test(k) ? k : JSON.stringify(k);
}

/** Block-style lines of `value` under `key` at `indent` spaces. */
function renderPair(key: string, value: YamlValue, indent: number, step: number): string[] {
    const pad = " ".repeat(indent);
    const k = renderKey(key);
    if (typeof value !== "object") return [`${pad}${k}: ${renderScalar(value)}`];
    const entries = Object.entries(value);
    if (entries.length === 0) return [`${pad}${k}: {}`];
    return [`${pad}${k}:`, ...entries.flatMap(([ck, cv]) => renderPair(ck, cv, indent + step, step))];
}

/** Flow-style text of `value` (for replacing a value written in flow style). */
function renderFlow(value: YamlValue): string {
    if (typeof value !== "object") return renderScalar(value);
    const entries = Object.entries(value);
    return entries.length === 0 ? "{}" : `{ ${entries.map(([k, v]) => `${renderKey(k)}: ${renderFlow(v)}`).join(", ")} }`;
}

function lineStart(text: string, offset: number): number {
    return text.lastIndexOf("\n", offset - 1) + 1;
}

/** Offset just after the newline that ends the line holding offset `end - 1` (or the text end). */
function afterLine(text: string, end: number): number {
    const nl = text.indexOf("\n", Math.max(0, end - 1));
    return nl < 0 ? text.length : nl + 1;
}

function findPair(map: YAMLMap, key: string): Pair<Node, Node | null> | undefined {
    return map.items.find((p) => isScalar(p.key) && String(p.key.value) === key) as Pair<Node, Node | null> | undefined;
}

function where(path: YamlPath): string {
    return path.join(".");
}

/** Apply one edit to `text`; returns the new text. */
function applyOne(text: string, file: string, edit: YamlEdit): string {
    const doc = parseYaml(text, file);
    const parentPath = edit.path.slice(0, -1);
    const key = edit.path[edit.path.length - 1];
    const parent = parentPath.length === 0 ? doc.contents : doc.getIn(parentPath, true);
    if (!isMap(parent)) {
        throw new CtlError(EXIT.INVALID_CONFIG, `${file}: ${where(parentPath) || "(document)"}: must be a map to set ${key}`);
    }
    const pair = findPair(parent, key);
    if (edit.value === undefined) return pair ? removePair(text, file, parent, pair, edit.path) : text;
    if (!pair) return insertPair(text, file, parent, key, edit.value, edit.path);
    const node = pair.value;
    if (isScalar(node) && typeof edit.value !== "object") {
        if (node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED" || !node.range) {
            throw new CtlError(EXIT.INVALID_CONFIG, `${file}: ${where(edit.path)}: written as a block scalar; edit it by hand`);
        }
        return text.slice(0, node.range[0]) + renderScalar(edit.value, node.type) + text.slice(node.range[1]);
    }
    if (isMap(node) && !node.flow && typeof edit.value === "object") {
        // Edit a block map key by key: keys kept where they are, others removed, new ones added.
        let out = text;
        for (const [k, v] of Object.entries(edit.value)) out = applyOne(out, file, { path: [...edit.path, k], value: v });
        const now = parseYaml(out, file).getIn(edit.path, true) as YAMLMap;
        for (const p of [...now.items]) {
            const k = isScalar(p.key) ? String(p.key.value) : undefined;
            if (k !== undefined && !(k in edit.value)) out = applyOne(out, file, { path: [...edit.path, k], value: undefined });
        }
        return out;
    }
    if (node && node.range && (isScalar(node) || (isMap(node) && node.flow) || (isSeq(node) && node.flow))) {
        return text.slice(0, node.range[0]) + renderFlow(edit.value) + text.slice(node.range[1]);
    }
    if (!node || isScalar(node)) {
        // `key:` with an empty value, or a map replacing a scalar: rewrite the pair's lines.
        const removed = removePair(text, file, parent, pair, edit.path);
        return insertPair(removed, file, parseYaml(removed, file).getIn(parentPath, true) as YAMLMap, key, edit.value, edit.path);
    }
    throw new CtlError(EXIT.INVALID_CONFIG, `${file}: ${where(edit.path)}: cannot replace a ${isSeq(node) ? "list" : "map"} with this value; edit it by hand`);
}

function indentOf(text: string, offset: number): number {
    return offset - lineStart(text, offset);
}

function insertPair(text: string, file: string, parent: YAMLMap, key: string, value: YamlValue, path: YamlPath): string {
    if (parent.flow) {
        if (!parent.range) throw new CtlError(EXIT.INTERNAL, `${file}: ${where(path)}: no source range`);
        const js = { ...(parent.toJSON() as Record<string, YamlValue>), [key]: value };
        return text.slice(0, parent.range[0]) + renderFlow(js) + text.slice(parent.range[1]);
    }
    const last = parent.items[parent.items.length - 1];
    const first = parent.items[0];
    if (!last || !isPair(last) || !isScalar(first.key) || !first.key.range) {
        throw new CtlError(EXIT.INVALID_CONFIG, `${file}: ${where(path.slice(0, -1))}: empty or unusual map; add ${key} by hand`);
    }
    const indent = indentOf(text, first.key.range[0]);
    const child = parent.items.map((p) => p.value).find((v): v is YAMLMap => isMap(v) && !v.flow && v.items.length > 0);
    const childKey = child?.items[0].key;
    const step = childKey && isScalar(childKey) && childKey.range ? Math.max(1, indentOf(text, childKey.range[0]) - indent) : 2;
    const lastNode = (last.value ?? last.key) as Node;
    const end = lastNode.range ? lastNode.range[1] : (last.key as Node).range![1];
    const at = afterLine(text, end);
    const prefix = at === text.length && !text.endsWith("\n") ? "\n" : "";
    const lines = renderPair(key, value, indent, step).join("\n") + "\n";
    return text.slice(0, at) + prefix + lines + text.slice(at);
}

function removePair(text: string, file: string, parent: YAMLMap, pair: Pair<Node, Node | null>, path: YamlPath): string {
    if (parent.flow) {
        if (!parent.range) throw new CtlError(EXIT.INTERNAL, `${file}: ${where(path)}: no source range`);
        const js = { ...(parent.toJSON() as Record<string, YamlValue>) };
        delete js[path[path.length - 1]];
        return text.slice(0, parent.range[0]) + renderFlow(js) + text.slice(parent.range[1]);
    }
    const keyRange = (pair.key as Node).range;
    if (!keyRange || text.slice(lineStart(text, keyRange[0]), keyRange[0]).trim() !== "") {
        throw new CtlError(EXIT.INVALID_CONFIG, `${file}: ${where(path)}: not on a line of its own; remove it by hand`);
    }
    const endNode = (pair.value ?? pair.key) as Node;
    const end = endNode.range ? Math.max(endNode.range[1], keyRange[1]) : keyRange[1];
    return text.slice(0, lineStart(text, keyRange[0])) + text.slice(afterLine(text, end));
}

function setJs(root: unknown, path: YamlPath, value: YamlValue | undefined): unknown {
    const [head, ...rest] = path;
    const obj = { ...((root ?? {}) as Record<string, unknown>) };
    if (rest.length === 0) {
        if (value === undefined) delete obj[head];
        else obj[head] = value;
    } else {
        obj[head] = setJs(obj[head], rest, value);
    }
    return obj;
}

/** What the document holds as plain data (`config:` maps and all). */
export function toJs(text: string, file: string): unknown {
    return parseYaml(text, file).toJS();
}

/**
 * Apply `edits` to the stack file `text` in order. The result is parsed back and must equal the
 * original data with exactly these edits; otherwise a CtlError (INTERNAL), and the caller writes
 * nothing.
 */
export function editYaml(text: string, file: string, edits: readonly YamlEdit[]): string {
    let expected = toJs(text, file);
    let out = text;
    for (const e of edits) {
        out = applyOne(out, file, e);
        expected = setJs(expected, e.path, e.value);
    }
    const got = toJs(out, file);
    if (!isDeepStrictEqual(got, expected)) {
        throw new CtlError(EXIT.INTERNAL, `${file}: the edited file would not read back as intended; nothing written (please report this)`);
    }
    return out;
}
