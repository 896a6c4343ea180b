/**
 * A small unified diff (LCS over lines, 3 lines of context), pure. Used for the small text
 * files of two diagnostics bundles.
 */

type Op = { kind: " " | "-" | "+"; line: string };

/** Lines of `text`; a final newline does not make an extra empty line. */
export function splitLines(text: string): string[] {
    if (text === "") return [];
    const lines = text.split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    return lines;
}

function editScript(a: string[], b: string[]): Op[] {
    const n = a.length;
    const m = b.length;
    // lcs[i][j] = LCS length of a[i..] and b[j..], row-major in one typed array.
    const w = m + 1;
    const lcs = new Uint32Array((n + 1) * w);
    for (let i = n - 1; i >= 0; i--) {
        for (let j = m - 1; j >= 0; j--) {
            lcs[i * w + j] = a[i] === b[j] ? lcs[(i + 1) * w + j + 1] + 1 : Math.max(lcs[(i + 1) * w + j], lcs[i * w + j + 1]);
        }
    }
    const ops: Op[] = [];
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
        if (i < n && j < m && a[i] === b[j]) {
            ops.push({ kind: " ", line: a[i] });
            i++;
            j++;
        } else if (j < m && (i >= n || lcs[i * w + j + 1] >= lcs[(i + 1) * w + j])) {
            ops.push({ kind: "+", line: b[j++] });
        } else {
            ops.push({ kind: "-", line: a[i++] });
        }
    }
    // Within a run of changes, show removals before additions (as diff -u does).
    const out: Op[] = [];
    let k = 0;
    while (k < ops.length) {
        if (ops[k].kind === " ") {
            out.push(ops[k++]);
            continue;
        }
        const run: Op[] = [];
        while (k < ops.length && ops[k].kind !== " ") run.push(ops[k++]);
        out.push(...run.filter((o) => o.kind === "-"), ...run.filter((o) => o.kind === "+"));
    }
    return out;
}

/**
 * Unified diff of two texts, `diff -u` style, or "" when they are equal.
 * Refuses inputs over `maxLines` lines (the caller decides what is small).
 */
export function unifiedDiff(aText: string, bText: string, aName: string, bName: string, context = 3, maxLines = 5000): string {
    if (aText === bText) return "";
    const a = splitLines(aText);
    const b = splitLines(bText);
    if (a.length > maxLines || b.length > maxLines) throw new RangeError(`too many lines to diff (${a.length}, ${b.length}; at most ${maxLines})`);
    const ops = editScript(a, b);
    const changed = ops.map((o, idx) => (o.kind !== " " ? idx : -1)).filter((x) => x >= 0);
    if (changed.length === 0) {
        // Only the final newline differs.
        return `--- ${aName}\n+++ ${bName}\n@@ final newline differs @@\n`;
    }
    const hunks: [number, number][] = [];
    for (const c of changed) {
        const start = Math.max(0, c - context);
        const end = Math.min(ops.length - 1, c + context);
        const last = hunks[hunks.length - 1];
        if (last && start <= last[1] + 1) last[1] = Math.max(last[1], end);
        else hunks.push([start, end]);
    }
    // Lines of a / b before each op (the ops' own indexes are not reliable once reordered).
    const aBefore: number[] = [];
    const bBefore: number[] = [];
    let ca = 0;
    let cb = 0;
    for (const o of ops) {
        aBefore.push(ca);
        bBefore.push(cb);
        if (o.kind !== "+") ca++;
        if (o.kind !== "-") cb++;
    }
    const lines = [`--- ${aName}`, `+++ ${bName}`];
    for (const [s, e] of hunks) {
        const slice = ops.slice(s, e + 1);
        const aCount = slice.filter((o) => o.kind !== "+").length;
        const bCount = slice.filter((o) => o.kind !== "-").length;
        const aStart = aCount === 0 ? aBefore[s] : aBefore[s] + 1;
        const bStart = bCount === 0 ? bBefore[s] : bBefore[s] + 1;
        lines.push(`@@ -${aStart},${aCount} +${bStart},${bCount} @@`);
        for (const o of slice) lines.push(`${o.kind}${o.line}`);
    }
    return lines.join("\n") + "\n";
}
