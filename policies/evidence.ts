/**
 * Soak and evidence (README "Promotion with evidence"): a promotion needs its soak time and passing
 * evidence (zero fallbacks, contract tests 100 %, apply latency not above the Perl baseline).
 * The program reads the evidence file and puts its summary in the transition record
 * (components/evidence EvidenceRecord); the policy judges that summary with the one verdict,
 * judgeEvidence, and its own thresholds (policy config), so the pack decides, not the stack.
 */
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import * as random from "@pulumi/random";
import { EvidenceRecordSchema, formatPath, judgeEvidence } from "../components/evidence";
import { DEFAULT_SOAK_SECONDS } from "../components/phases";
import { SoakSeconds, configOf, nodesOf, recordOf, soakSchema, transitionOf } from "./lib";

export interface SoakAndEvidenceConfig {
    soakSeconds: SoakSeconds;
    /** Fallbacks allowed over the soak window. */
    maxFallbacks: number;
    /** Contract tests that must pass, in percent of the endpoints compared. */
    minContractPassPercent: number;
    /** Allowed ratio of Rust apply latency to the Perl baseline. */
    maxLatencyRatio: number;
    /** Stacks allowed to promote without evidence (gates.requireEvidence false). */
    skipEvidenceStacks: string[];
}

export const SOAK_AND_EVIDENCE_DEFAULTS: SoakAndEvidenceConfig = {
    soakSeconds: { ...DEFAULT_SOAK_SECONDS },
    maxFallbacks: 0,
    minContractPassPercent: 100,
    maxLatencyRatio: 1,
    skipEvidenceStacks: ["dev"],
};

export const soakAndEvidence: ResourceValidationPolicy = {
    name: "soak-and-evidence",
    description: "A promotion needs its soak time and passing evidence: zero fallbacks, contract tests 100 %, apply latency not above the Perl baseline.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            soakSeconds: soakSchema(SOAK_AND_EVIDENCE_DEFAULTS.soakSeconds),
            maxFallbacks: { type: "number", minimum: 0, default: SOAK_AND_EVIDENCE_DEFAULTS.maxFallbacks, description: "Fallbacks allowed over the soak window." },
            minContractPassPercent: {
                type: "number",
                minimum: 0,
                maximum: 100,
                default: SOAK_AND_EVIDENCE_DEFAULTS.minContractPassPercent,
                description: "Contract tests that must pass, in percent of the endpoints compared.",
            },
            maxLatencyRatio: {
                type: "number",
                exclusiveMinimum: 0,
                default: SOAK_AND_EVIDENCE_DEFAULTS.maxLatencyRatio,
                description: "Allowed ratio of the Rust apply latency to the Perl baseline.",
            },
            skipEvidenceStacks: {
                type: "array",
                items: { type: "string" },
                default: SOAK_AND_EVIDENCE_DEFAULTS.skipEvidenceStacks,
                description: "Stacks allowed to promote without evidence (gates.requireEvidence false).",
            },
        },
    },
    validateResource: validateResourceOfType(random.RandomId, (id, args, report) => {
        const r = recordOf(id);
        if (!r) return;
        const t = transitionOf(r);
        // perl-only -> rust-read-only: nothing routes to Rust before, there is nothing to measure.
        if (!t || t.kind !== "promotion" || t.from === "perl-only") return;
        const c = configOf(args, SOAK_AND_EVIDENCE_DEFAULTS);
        const soak = { ...SOAK_AND_EVIDENCE_DEFAULTS.soakSeconds, ...c.soakSeconds }[t.from];
        const at = `promotion of ${r.stack} from ${t.from} to ${t.to}`;
        if (r.evidence === "") {
            report(`${at}: the transition record carries no evidence summary`);
            return;
        }
        let raw: unknown;
        try {
            raw = JSON.parse(r.evidence);
        } catch {
            report(`${at}: the evidence summary in the transition record is not JSON`);
            return;
        }
        const parsed = EvidenceRecordSchema.safeParse(raw);
        if (!parsed.success) {
            const i = parsed.error.issues[0];
            report(`${at}: the evidence summary in the transition record does not follow its schema (${formatPath(i.path) || "(root)"}: ${i.message})`);
            return;
        }
        const e = parsed.data;
        if (!e.required) {
            if (!c.skipEvidenceStacks.includes(r.stack)) {
                report(
                    `${at}: gates.requireEvidence is false, but ${r.stack} is not in skipEvidenceStacks (${c.skipEvidenceStacks.join(", ") || "none"}); commit passing evidence at ${e.path}`,
                );
            }
            return;
        }
        if (!e.present) {
            report(`${at}: no evidence at ${e.path}`);
            return;
        }
        if (e.valid !== true || e.summary === null) {
            report(`${at}: the evidence at ${e.path} does not follow the evidence schema`);
            return;
        }
        // The one verdict (components/evidence judgeEvidence), with the pack's thresholds.
        const reasons = judgeEvidence(e.summary, {
            stack: r.stack,
            phase: t.from,
            nodes: nodesOf(r),
            soakSeconds: soak,
            maxFallbacks: c.maxFallbacks,
            minContractPassPercent: c.minContractPassPercent,
            maxLatencyRatio: c.maxLatencyRatio,
        });
        for (const reason of reasons) report(`${at}: evidence ${e.path}: ${reason}`);
    }),
};
