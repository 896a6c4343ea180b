/**
 * The transition record: what a stack's transition is, as structured strings, carried in the
 * keepers of `<cluster>-transition` for the policy pack (CrossGuard sees only new inputs, so
 * the deployed phase travels here). Pure, so the policy pack imports it without Pulumi.
 */
import * as crypto from "crypto";
import { Phase } from "../phases";

export interface TransitionRecord {
    readonly kind: "pve-migration/transition";
    readonly stack: string;
    readonly cluster: string;
    readonly ring: string;
    /** Deployed phase (the stack's last outputs) and when it was entered ("" before the first deployment). */
    readonly from: Phase;
    readonly fromEnteredAt: string;
    /** Configured phase. */
    readonly to: Phase;
    readonly nodes: string;
    readonly scope: "cluster" | "node";
    readonly writerNode: string;
    readonly configPath: string;
    readonly fallbackEnabled: string;
    readonly logMigrationDecisions: string;
    readonly backupRetention: string;
    readonly perlApiBaseUrl: string;
    readonly perlApiTimeout: string;
    readonly packageVersion: string;
    readonly packageSha256: string;
    /** Upstream ring: stack, deployed phase, when it entered it ("" when none). */
    readonly upstreamStack: string;
    readonly upstreamPhase: string;
    readonly upstreamEnteredAt: string;
    readonly behindUntilSoaked: string;
    /** Secret-class config keys (sshPrivateKeys, kubeconfig) given without the secret mark, comma-separated (engine's own list). */
    readonly plaintextSecretKeys: string;
    /** Evidence for leaving `from` by promotion: "" (not a promotion) or the gate's JSON summary. */
    readonly evidence: string;
    /** pve-migration:windows as JSON, only when the stack sets it (the change-window policy reads it). */
    readonly windows?: string;
}

/** Every field of the record except `kind`, in order. */
export const TRANSITION_RECORD_FIELDS: readonly Exclude<keyof TransitionRecord, "kind">[] = [
    "stack",
    "cluster",
    "ring",
    "from",
    "fromEnteredAt",
    "to",
    "nodes",
    "scope",
    "writerNode",
    "configPath",
    "fallbackEnabled",
    "logMigrationDecisions",
    "backupRetention",
    "perlApiBaseUrl",
    "perlApiTimeout",
    "packageVersion",
    "packageSha256",
    "upstreamStack",
    "upstreamPhase",
    "upstreamEnteredAt",
    "behindUntilSoaked",
    "plaintextSecretKeys",
    "evidence",
];

/**
 * The transition's id, which names its backups and diagnostics bundles and is passed to every
 * step (so every step of a new transition has new inputs and the engine runs it). Derived from
 * what identifies a transition only (stack, cluster, from, when `from` was entered, to), so it is
 * known in a preview, unique per stay in a phase (a second W -> X after a rollback has a new
 * `fromEnteredAt`), and the same when a run that did not complete is resumed: the steps that
 * already ran then have identical inputs and the engine runs only what is missing.
 */
export function transitionId(record: Pick<TransitionRecord, "kind" | "stack" | "cluster" | "from" | "fromEnteredAt" | "to">): string {
    const canonical = JSON.stringify([record.kind, record.stack, record.cluster, record.from, record.fromEnteredAt, record.to]);
    return crypto.createHash("sha256").update(canonical).digest("hex").slice(0, 8);
}
