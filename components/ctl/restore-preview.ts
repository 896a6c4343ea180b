/**
 * What a rollback's restore will revert, before it runs (`migration-ctl plan --read-nodes`;
 * README "What a rollback will revert"). A restore puts back the newest Perl-era backup, which can
 * be weeks old: everything the write phases changed in `interfaces`, `lxc/*.conf`, `sdn.cfg` and
 * `storage.cfg` since then goes back. This reads each node over the stack's transport (SSH with the
 * pinned host key, or the sandbox root), read only (components/scripts renderRestorePreviewScript:
 * no lock, no write, no log line), selecting the backup exactly as the restore step does, and gives
 * per node the backup, its age and a unified diff of each file the restore would change.
 */
import { FILE_HEADERS_ONLY, createTwoFilesPatch } from "diff";
import { NodeConfig, StackConfig } from "../config/schema";
import { NodeAccessError, NodeShell, transportCapability } from "../node/capability";
import { renderRestorePreviewScript } from "../scripts";

/** Seconds the read may take on a node (GNU timeout there; SIGKILL 10 s later). */
export const PREVIEW_TIME_LIMIT_SECONDS = 120;

export interface FilePreview {
    /** The node path the restore writes. */
    readonly path: string;
    /** changed: it differs from the backup; added: it is missing on the node; unchanged. */
    readonly change: "changed" | "added" | "unchanged";
    /** Unified diff from what the node has to what the restore puts back ("" when unchanged). */
    readonly diff: string;
}

export interface NodePreview {
    readonly node: string;
    /** The restore's parts this node runs: its own files, and the cluster's through the writer node. */
    readonly parts: readonly ("node" | "cluster")[];
    /** The backup the restore takes (its folder name), when it would take one. */
    readonly backup?: string;
    /** When the backup was taken (from its name, UTC). */
    readonly backupTakenAt?: string;
    /** Seconds from then to now. */
    readonly backupAgeSeconds?: number;
    readonly files?: readonly FilePreview[];
    /** The restore would refuse (the reason the restore step would give). */
    readonly refused?: string;
    /** The node could not be read. */
    readonly error?: string;
}

const BACKUP_NAME_RE = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z-[0-9a-f]{4,64}$/;

/** When a backup was taken, from its folder name (`<yyyymmdd>T<hhmmss>Z-<transition id>`). */
export function backupTime(name: string): Date | undefined {
    const m = BACKUP_NAME_RE.exec(name);
    return m ? new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`) : undefined;
}

const fromB64 = (s: string) => Buffer.from(s, "base64").toString("utf8");

/** Parse the preview script's output (sh/restore-preview.sh) into the node's preview. */
export function parsePreviewOutput(node: string, parts: NodePreview["parts"], stdout: string, now: Date): NodePreview {
    let backup: string | undefined;
    const files: FilePreview[] = [];
    for (const line of stdout.split("\n")) {
        if (line === "") continue;
        const w = line.split(" ");
        if (w[0] === "backup" && w.length === 2) {
            backup = w[1];
        } else if (w[0] === "file" && w.length === 5 && (w[1] === "changed" || w[1] === "added" || w[1] === "unchanged")) {
            const p = fromB64(w[2]);
            const current = fromB64(w[3]);
            const restored = fromB64(w[4]);
            const diff =
                w[1] === "unchanged"
                    ? ""
                    : createTwoFilesPatch(`a${p}`, `b${p}`, current, restored, w[1] === "added" ? "absent on the node" : "on the node", `backup ${backup ?? "?"}`, {
                          context: 3,
                          headerOptions: FILE_HEADERS_ONLY,
                      });
            files.push({ path: p, change: w[1], diff });
        } else {
            throw new Error(`unexpected line from the restore preview: ${JSON.stringify(line.slice(0, 80))}`);
        }
    }
    if (backup === undefined) throw new Error("the restore preview named no backup");
    const taken = backupTime(backup);
    return {
        node,
        parts,
        backup,
        ...(taken ? { backupTakenAt: taken.toISOString().replace(/\.000Z$/, "Z"), backupAgeSeconds: Math.round((now.getTime() - taken.getTime()) / 1000) } : {}),
        files,
    };
}

/** The restore's parts on `node`: every node restores its own files, the writer node the cluster's too. */
export function restoreParts(cfg: StackConfig, node: string): NodePreview["parts"] {
    return node === cfg.migrationConfig.writerNode ? ["node", "cluster"] : ["node"];
}

/** Read one node. Never throws for the node's sake: an unreachable node or an odd answer is its `error`. */
export async function previewNode(cfg: StackConfig, node: NodeConfig, o: { identity?: string; now: Date }): Promise<NodePreview> {
    const parts = restoreParts(cfg, node.name);
    let shell: NodeShell;
    try {
        shell = transportCapability(cfg).shell(node, { sandboxDir: cfg.sandboxDir, identity: o.identity });
    } catch (e) {
        if (e instanceof NodeAccessError) return { node: node.name, parts, error: e.message };
        throw e;
    }
    try {
        const words = ["bash", "-s", "--", "--root", shell.root, "--node", node.name, "--parts", parts.join(",")];
        if (cfg.backups.restoreId !== undefined) words.push("--backup-id", cfg.backups.restoreId);
        const r = await shell.run(words, renderRestorePreviewScript(), PREVIEW_TIME_LIMIT_SECONDS);
        const out = r.stdout.toString("utf8");
        if (r.code === 0) {
            try {
                return parsePreviewOutput(node.name, parts, out, o.now);
            } catch (e) {
                return { node: node.name, parts, error: (e as Error).message };
            }
        }
        const prefix = `pve-migration restore-preview on ${node.name}: `;
        const why = r.stderr.trim();
        if ((r.code === 65 || r.code === 66) && why.startsWith(prefix)) return { node: node.name, parts, refused: why.slice(prefix.length) };
        return { node: node.name, parts, error: `${shell.remote ? "reading the node over ssh" : "reading the sandbox root"} failed (exit ${r.code}): ${why}` };
    } finally {
        shell.close();
    }
}

/** Every node of the stack, one after another (a read takes well under a second). */
export async function previewRestore(cfg: StackConfig, o: { identity?: string; now: Date }): Promise<NodePreview[]> {
    const out: NodePreview[] = [];
    for (const n of cfg.nodes) out.push(await previewNode(cfg, n, o));
    return out;
}

/** A duration as days, hours and minutes (the backup's age). */
export function formatAge(seconds: number): string {
    const d = Math.floor(seconds / 86400);
    const h = Math.floor((seconds % 86400) / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    return d > 0 ? `${d} d ${h} h` : h > 0 ? `${h} h ${m} min` : `${m} min`;
}

/** The text `migration-ctl plan --read-nodes` prints after the plan. */
export function renderRestorePreview(previews: readonly NodePreview[]): string {
    const lines = ["", "what the restore will revert (read from each node now, read only):"];
    for (const p of previews) {
        if (p.error !== undefined) {
            lines.push(`  ${p.node}: not read: ${p.error}`);
            continue;
        }
        if (p.refused !== undefined) {
            lines.push(`  ${p.node}: the restore would refuse: ${p.refused}`);
            continue;
        }
        const age = p.backupAgeSeconds !== undefined ? `, taken ${p.backupTakenAt}, ${formatAge(p.backupAgeSeconds)} ago` : "";
        const changed = (p.files ?? []).filter((f) => f.change !== "unchanged");
        lines.push(`  ${p.node}: backup ${p.backup}${age} (${p.parts.join(" and ")} files): ${changed.length} of ${(p.files ?? []).length} file(s) would change`);
        for (const f of changed) lines.push(`    ${f.change === "added" ? "add" : "revert"} ${f.path}`);
        for (const f of changed)
            lines.push(
                ...f.diff
                    .trimEnd()
                    .split("\n")
                    .map((l) => `      ${l}`),
            );
    }
    return lines.join("\n") + "\n";
}
