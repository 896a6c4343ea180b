/**
 * Soak and evidence (README "Promotion with evidence"): a promotion needs its soak time and passing
 * evidence (zero fallbacks, contract tests 100 %, apply latency not above the Perl baseline).
 * The program reads the evidence file and puts its summary in the transition record; the
 * thresholds here are policy config, so the pack decides, not the stack.
 */
import { ResourceValidationPolicy, validateResourceOfType } from "@pulumi/policy";
import * as random from "@pulumi/random";
import { formatDuration } from "../components/evidence";
import { DEFAULT_SOAK_SECONDS } from "../components/phases";
import { SoakSeconds, configOf, quote, recordOf, soakSchema, transitionOf } from "./lib";

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

/** The evidence summary the program writes into the record (components/program.ts evidenceVerdict). */
interface Summary {
    required?: unknown;
    path?: unknown;
    present?: unknown;
    valid?: unknown;
    phase?: unknown;
    soakedSeconds?: unknown;
    fallbacks?: unknown;
    contractCompared?: unknown;
    contractFailed?: unknown;
    applyLatencySeconds?: unknown;
    perlBaselineSeconds?: unknown;
    passed?: unknown;
}

const num = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

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
        let s: Summary;
        try {
            s = JSON.parse(r.evidence) as Summary;
        } catch {
            report(`${at}: the evidence summary in the transition record is not JSON`);
            return;
        }
        if (s === null || typeof s !== "object") {
            report(`${at}: the evidence summary in the transition record is not an object`);
            return;
        }
        const path = typeof s.path === "string" ? s.path : "(no path)";
        if (s.required === false) {
            if (!c.skipEvidenceStacks.includes(r.stack)) {
                report(`${at}: gates.requireEvidence is false, but ${r.stack} is not in skipEvidenceStacks (${c.skipEvidenceStacks.join(", ") || "none"}); commit passing evidence at ${path}`);
            }
            return;
        }
        if (s.present !== true) {
            report(`${at}: no evidence at ${path}`);
            return;
        }
        if (s.valid !== true) {
            report(`${at}: the evidence at ${path} does not follow the evidence schema`);
            return;
        }
        const reasons: string[] = [];
        if (s.phase !== t.from) reasons.push(`it is for phase ${quote(s.phase)}, not ${t.from}`);
        if (!num(s.soakedSeconds)) reasons.push("it names no soak time");
        else if (s.soakedSeconds < soak) reasons.push(`soak ${formatDuration(s.soakedSeconds)} in ${t.from} is shorter than the required ${formatDuration(soak)}`);
        if (!num(s.fallbacks)) reasons.push("it counts no fallbacks");
        else if (s.fallbacks > c.maxFallbacks) reasons.push(`${s.fallbacks} fallback(s) over the soak window (allowed: ${c.maxFallbacks})`);
        if (!num(s.contractCompared) || !num(s.contractFailed) || s.contractCompared <= 0) {
            reasons.push("contract tests compared no endpoint");
        } else {
            const pct = ((s.contractCompared - s.contractFailed) / s.contractCompared) * 100;
            if (pct < c.minContractPassPercent) {
                reasons.push(`contract tests passed ${s.contractCompared - s.contractFailed} of ${s.contractCompared} endpoint(s) (${round(pct)} %), below ${c.minContractPassPercent} %`);
            }
        }
        if (!num(s.applyLatencySeconds) || !num(s.perlBaselineSeconds)) {
            reasons.push("no apply latency measured against the Perl baseline");
        } else if (s.applyLatencySeconds > s.perlBaselineSeconds * c.maxLatencyRatio) {
            reasons.push(
                `apply latency ${s.applyLatencySeconds}s is above the Perl baseline ${s.perlBaselineSeconds}s` + (c.maxLatencyRatio !== 1 ? ` x ${c.maxLatencyRatio}` : ""),
            );
        }
        if (reasons.length === 0 && s.passed !== true) {
            reasons.push("the program's gate did not pass it (stack, nodes or metrics window do not match)");
        }
        for (const reason of reasons) report(`${at}: evidence ${path}: ${reason}`);
    }),
};

function round(n: number): string {
    return String(Math.floor(n * 10) / 10);
}
