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
}

/** Every field of the record except `kind`, in order. */
export const TRANSITION_RECORD_FIELDS: readonly Exclude<keyof TransitionRecord, "kind">[] = [
    "stack", "cluster", "ring", "from", "fromEnteredAt", "to", "nodes", "scope", "writerNode", "configPath", "fallbackEnabled",
    "logMigrationDecisions", "backupRetention", "perlApiBaseUrl", "perlApiTimeout", "packageVersion", "packageSha256",
    "upstreamStack", "upstreamPhase", "upstreamEnteredAt", "behindUntilSoaked", "plaintextSecretKeys", "evidence",
];

/**
 * The transition's id, which names its backups and diagnostics bundles. Derived from the record,
 * so it is known in a preview; unique per transition because the record holds when the deployed
 * phase was entered (a second W -> X after a rollback is a new transition with a new id, and
 * takes a fresh backup).
 */
export function transitionId(record: TransitionRecord): string {
    // The fields in a fixed order: the same record gives the same id whatever its key order.
    const canonical = JSON.stringify([record.kind, ...TRANSITION_RECORD_FIELDS.map((f) => record[f])]);
    return crypto.createHash("sha256").update(canonical).digest("hex").slice(0, 8);
}
