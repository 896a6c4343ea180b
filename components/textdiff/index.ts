/**
 * A unified diff (the format of `diff -u` / `git diff`) of two texts, line by line: what
 * `migration-ctl phase set` and friends write, and what changed between two diagnostics
 * bundles. Pure.
 */

interface Lines {
    readonly lines: string[];
    /** The text does not end with a newline (its last line is unterminated). */
    readonly noFinalNewline: boolean;
}

function splitText(text: string): Lines {
    if (text === "") return { lines: [], noFinalNewline: false };
    const lines = text.split("\n");
    const noFinalNewline = lines[lines.length - 1] !== "";
    if (!noFinalNewline) lines.pop();
    return { lines, noFinalNewline };
}

type Op = { readonly t: " " | "-" | "+"; readonly a: number; readonly b: number };

/** Shortest edit script by longest common subsequence (files here are a few hundred lines). */
function editScript(a: readonly string[], b: readonly string[]): Op[] {
    const n = a.length;
    const m = b.length;
    // lcs[i][j]: LCS length of a[i..] and b[j..], row-major in one array.
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
            ops.push({ t: " ", a: i++, b: j++ });
        } else if (i < n && (j >= m || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1])) {
            // Deletions before insertions within a change, as diff -u prints them.
            ops.push({ t: "-", a: i++, b: j });
        } else {
            ops.push({ t: "+", a: i, b: j++ });
        }
    }
    return ops;
}

function range(start: number, count: number): string {
    // 1-based; an empty range names the line before it (diff -u convention).
    const first = count === 0 ? start : start + 1;
    return count === 1 ? `${first}` : `${first},${count}`;
}

/**
 * Unified diff of `oldText` and `newText` with `context` lines around each change, headed
 * `--- <oldName>` / `+++ <newName>`. Empty string when the texts are equal. Refuses texts of
 * more than `maxLines` lines (the line-by-line LCS is quadratic).
 */
export function unifiedDiff(oldText: string, newText: string, oldName: string, newName: string, context = 3, maxLines = Infinity): string {
    if (oldText === newText) return "";
    const A = splitText(oldText);
    const B = splitText(newText);
    if (A.lines.length > maxLines || B.lines.length > maxLines) {
        throw new RangeError(`too many lines to diff (${A.lines.length}, ${B.lines.length}; at most ${maxLines})`);
    }
    const ops = editScript(A.lines, B.lines);
    // Only the newline at the end differs for the last common line: show it as changed.
    const last = ops.length - 1;
    if (A.noFinalNewline !== B.noFinalNewline && last >= 0 && ops[last].t === " ") {
        ops.splice(last, 1, { t: "-", a: ops[last].a, b: ops[last].b }, { t: "+", a: ops[last].a, b: ops[last].b });
    }
    const changed = ops.map((o, k) => (o.t !== " " ? k : -1)).filter((k) => k >= 0);
    const out: string[] = [`--- ${oldName}`, `+++ ${newName}`];
    let h = 0;
    while (h < changed.length) {
        const start = Math.max(0, changed[h] - context);
        let end = Math.min(ops.length, changed[h] + context + 1);
        h++;
        while (h < changed.length && changed[h] - context <= end) {
            end = Math.min(ops.length, changed[h] + context + 1);
            h++;
        }
        const hunk = ops.slice(start, end);
        const aStart = hunk[0].a;
        const bStart = hunk[0].b;
        const aCount = hunk.filter((o) => o.t !== "+").length;
        const bCount = hunk.filter((o) => o.t !== "-").length;
        out.push(`@@ -${range(aStart, aCount)} +${range(bStart, bCount)} @@`);
        for (const o of hunk) {
            const line = o.t === "+" ? B.lines[o.b] : A.lines[o.a];
            out.push(`${o.t}${line}`);
            const lastA = o.t !== "+" && o.a === A.lines.length - 1 && A.noFinalNewline;
            const lastB = o.t !== "-" && o.b === B.lines.length - 1 && B.noFinalNewline;
            if ((o.t === "-" && lastA) || (o.t === "+" && lastB) || (o.t === " " && lastA)) out.push("\\ No newline at end of file");
        }
    }
    return out.join("\n") + "\n";
}
