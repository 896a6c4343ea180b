/**
 * A saved plan: the folder `migration-ctl plan --stack S --out DIR` writes and `migration-ctl
 * apply DIR` applies. It holds
 *
 *   pulumi-plan.json  the Pulumi plan file (`pulumi preview --save-plan`), only when the plan may be applied
 *   plan-meta.json    what the plan was made for: project, stack, backend, the stack file's sha256
 *                     and commit, when; apply refuses the plan when any of it no longer holds
 *   summary.json      the summary (components/pipeline/summary.ts), for the pipeline
 *   summary.txt       the same for a reviewer
 *
 * Pulumi itself constrains the update to the planned operations (up.go puts the plan file into
 * `opts.Engine.Plan`); these refusals come first and name what changed, as a reviewer needs.
 */
import * as fs from "fs";
import * as path from "path";
import { CliError, EXIT } from "../../cli/errors";
import { writeFileAtomic } from "../gates/files";

export const PULUMI_PLAN_FILE = "pulumi-plan.json";
export const META_FILE = "plan-meta.json";
export const SUMMARY_JSON = "summary.json";
export const SUMMARY_TEXT = "summary.txt";
const OWN_FILES = new Set([PULUMI_PLAN_FILE, META_FILE, SUMMARY_JSON, SUMMARY_TEXT]);

/** What a plan was made for (plan-meta.json). */
export interface PlanMeta {
    readonly schemaVersion: 1;
    readonly project: string;
    readonly stack: string;
    readonly backendUrl: string;
    /** When the plan was made (ISO). */
    readonly createdAt: string;
    readonly stackFile: {
        readonly file: string;
        readonly sha256: string;
        readonly commit: string | null;
        readonly dirty: boolean;
    };
    /** The commit checked out when the plan was made. */
    readonly head: string | null;
    /** The transition planned. */
    readonly from: string;
    readonly to: string;
    /** sha256 of the stack's outputs when planned (null: the stack did not exist); apply refuses when they changed. */
    readonly deployedOutputsSha256: string | null;
    /** no-changes | changes: appliable; refused-by-gate | refused-by-policy | error: not. */
    readonly verdict: PlanVerdict;
}

export type PlanVerdict = "no-changes" | "changes" | "refused-by-gate" | "refused-by-policy" | "error";

/** Verdicts whose folder holds a Pulumi plan that apply may run. */
export function appliable(v: PlanVerdict): boolean {
    return v === "no-changes" || v === "changes";
}

/**
 * Make `dir` ready for a new plan: created when missing; a folder holding anything but a
 * previous plan's files is refused (a typo must not write into, or clear, another folder).
 * A previous plan's files are removed, so no stale Pulumi plan is left beside a new summary.
 */
export function preparePlanDir(dir: string, flag: string): void {
    if (fs.existsSync(dir)) {
        if (!fs.statSync(dir).isDirectory()) throw new CliError(EXIT.USAGE, `${flag}: ${dir} is not a folder`);
        const foreign = fs.readdirSync(dir).filter((f) => !OWN_FILES.has(f));
        if (foreign.length > 0) {
            throw new CliError(EXIT.USAGE, `${flag}: ${dir} holds other files (${foreign.slice(0, 3).join(", ")}): give an empty or new folder`);
        }
        for (const f of OWN_FILES) fs.rmSync(path.join(dir, f), { force: true });
    }
    fs.mkdirSync(dir, { recursive: true });
}

/** Write one file of the plan folder atomically (temp file + rename), owner-only: a plan may hold encrypted secrets. */
export function writePlanFile(dir: string, name: string, text: string): void {
    writeFileAtomic(path.join(dir, name), text, 0o600);
}

/** Read plan-meta.json of `dir`; a missing or unreadable one refuses the plan (PLAN_REFUSED), naming the file. */
export function readPlanMeta(dir: string): PlanMeta {
    const file = path.join(dir, META_FILE);
    let raw: unknown;
    try {
        raw = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
        const why = (e as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : `not readable JSON (${(e as Error).message.split("\n")[0]})`;
        throw new CliError(EXIT.PLAN_REFUSED, `apply: ${file} is ${why}: ${dir} is not a folder written by migration-ctl plan --out`);
    }
    const m = raw as Partial<PlanMeta>;
    const strings = ["project", "stack", "backendUrl", "createdAt", "from", "to", "verdict"] as const;
    const bad = strings.filter((k) => typeof m[k] !== "string");
    if (m.schemaVersion !== 1 || bad.length > 0 || typeof m.stackFile?.sha256 !== "string" || Number.isNaN(Date.parse(m.createdAt as string))) {
        throw new CliError(EXIT.PLAN_REFUSED, `apply: ${file} is not a plan-meta.json of schemaVersion 1${bad.length > 0 ? ` (bad ${bad.join(", ")})` : ""}`);
    }
    return m as PlanMeta;
}

/** What apply compares a saved plan with: the project and stack files now. */
export interface CurrentState {
    readonly project: string;
    /** --stack of apply, when given. */
    readonly stack?: string;
    readonly backendUrl: string;
    readonly stackFile: { readonly sha256: string; readonly commit: string | null };
    readonly now: Date;
    /** The stack's pve-migration:pipeline.planMaxAgeMinutes now. */
    readonly maxAgeMinutes: number;
}

/** Why a saved plan must not be applied now (empty: it may). Each reason names what differs. */
export function planRefusals(meta: PlanMeta, dir: string, cur: CurrentState): string[] {
    const out: string[] = [];
    if (!appliable(meta.verdict)) out.push(`the plan was ${meta.verdict}: it holds no plan to apply (see ${path.join(dir, SUMMARY_TEXT)})`);
    else if (!fs.existsSync(path.join(dir, PULUMI_PLAN_FILE))) out.push(`${path.join(dir, PULUMI_PLAN_FILE)} is missing`);
    if (meta.project !== cur.project) out.push(`the plan is for project ${meta.project}, this is ${cur.project}`);
    if (cur.stack !== undefined && meta.stack !== cur.stack) out.push(`the plan is for stack ${meta.stack}, not ${cur.stack} (--stack)`);
    if (meta.backendUrl !== cur.backendUrl) out.push(`the plan was made against the backend ${meta.backendUrl}, this run uses ${cur.backendUrl}`);
    if (meta.stackFile.sha256 !== cur.stackFile.sha256) {
        const was =
            meta.stackFile.commit !== null
                ? `commit ${meta.stackFile.commit.slice(0, 12)}${meta.stackFile.dirty ? " with uncommitted changes" : ""}`
                : "an uncommitted version";
        const now = cur.stackFile.commit !== null ? `commit ${cur.stackFile.commit.slice(0, 12)}` : "no commit";
        out.push(
            `${meta.stackFile.file} changed since the plan: planned from ${was} (sha256 ${meta.stackFile.sha256.slice(0, 12)}), now ${now} (sha256 ${cur.stackFile.sha256.slice(0, 12)}); plan again`,
        );
    } else if (meta.stackFile.commit !== cur.stackFile.commit && !meta.stackFile.dirty) {
        out.push(
            `${meta.stackFile.file} is at another commit than the plan's: planned at ${meta.stackFile.commit?.slice(0, 12) ?? "none"}, now ${cur.stackFile.commit?.slice(0, 12) ?? "none"}; plan again`,
        );
    }
    const ageMinutes = (cur.now.getTime() - Date.parse(meta.createdAt)) / 60000;
    if (ageMinutes > cur.maxAgeMinutes) {
        out.push(
            `the plan is ${Math.floor(ageMinutes)} minutes old (made ${meta.createdAt}), older than pve-migration:pipeline.planMaxAgeMinutes ${cur.maxAgeMinutes}; plan again`,
        );
    } else if (ageMinutes < -5) {
        out.push(`the plan was made ${meta.createdAt}, in the future of this clock (${cur.now.toISOString()}); check the clocks`);
    }
    return out;
}
