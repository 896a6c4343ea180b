/**
 * The parts of the offline policy check that know nothing of the pack: the real program under
 * the SDK's mock runtime, recorded (record.ts), and a pack's policies evaluated on what it
 * registers, as the policy server would (evaluate.ts). The check with the pack of policies/ and
 * its command are in cli/policy-check (policies/ imports components/, so components/ must not
 * import policies/).
 */
export type { RecordedResource, RecordOptions, RecordResult, StackOutputsByName } from "./record";
export { engineUrn, recordProgram } from "./record";
export type { Evaluation, PackDefinition, ReportedLevel, SkipPreview, Stage, Violation } from "./evaluate";
export { evaluatePack, resolvePackConfig } from "./evaluate";
