/**
 * The import graph of this repository's TypeScript (relative imports only), read with the
 * TypeScript compiler's own pre-processor (ts.preProcessFile: the imports, dynamic import() and
 * require() of a file without type-checking it).
 */
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";

export const ROOT = path.resolve(__dirname, "../..");

function tsFiles(dir: string): string[] {
    const out: string[] = [];
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
        const rel = path.posix.join(dir, e.name);
        if (e.isDirectory()) {
            if (e.name !== "node_modules") out.push(...tsFiles(rel));
        } else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(rel);
    }
    return out;
}

function resolve(from: string, spec: string): string | undefined {
    if (!spec.startsWith(".")) return undefined;
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), spec));
    for (const c of [`${base}.ts`, `${base}/index.ts`]) if (fs.existsSync(path.join(ROOT, c))) return c;
    return undefined;
}

/** Module -> the repository modules it imports (static, dynamic and require). */
export function importGraph(dirs: string[]): Map<string, string[]> {
    const g = new Map<string, string[]>();
    for (const f of dirs.flatMap(tsFiles)) {
        const info = ts.preProcessFile(fs.readFileSync(path.join(ROOT, f), "utf8"), true, true);
        g.set(f, [...new Set(info.importedFiles.flatMap((i) => resolve(f, i.fileName) ?? []))]);
    }
    return g;
}

/** Strongly connected components with more than one module, or a module importing itself (Tarjan). */
export function cycles(g: Map<string, string[]>): string[][] {
    let index = 0;
    const idx = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const on = new Set<string>();
    const out: string[][] = [];
    const visit = (v: string) => {
        idx.set(v, index);
        low.set(v, index++);
        stack.push(v);
        on.add(v);
        for (const w of g.get(v) ?? []) {
            if (!idx.has(w)) {
                visit(w);
                low.set(v, Math.min(low.get(v)!, low.get(w)!));
            } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
        }
        if (low.get(v) === idx.get(v)) {
            const scc: string[] = [];
            let w: string;
            do {
                w = stack.pop()!;
                on.delete(w);
                scc.push(w);
            } while (w !== v);
            if (scc.length > 1 || (g.get(v) ?? []).includes(v)) out.push(scc.sort());
        }
    };
    for (const v of g.keys()) if (!idx.has(v)) visit(v);
    return out;
}

/** The folder of a module that stands for its concern: components/<x>, cli, policies, ... */
export function folderOf(mod: string): string {
    const parts = mod.split("/");
    return parts[0] === "components" && parts.length > 2 ? `components/${parts[1]}` : parts[0];
}

/** The graph between folders (an edge per import across two folders). */
export function folderGraph(g: Map<string, string[]>): Map<string, string[]> {
    const f = new Map<string, Set<string>>();
    for (const [m, deps] of g) {
        const a = folderOf(m);
        if (!f.has(a)) f.set(a, new Set());
        for (const d of deps) if (folderOf(d) !== a) f.get(a)!.add(folderOf(d));
    }
    return new Map([...f].map(([k, v]) => [k, [...v].sort()]));
}
