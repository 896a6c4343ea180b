/**
 * The offline policy check (`npm run policy`): the real program under the SDK's mock runtime,
 * every policy of the pack in policies/ evaluated on what it registers, as the policy server
 * would. No Pulumi CLI, no backend: it can gate pull requests.
 */
export type { RecordedResource, RecordOptions, RecordResult, StackOutputsByName } from "./record";
export { engineUrn, recordProgram } from "./record";
export type { Evaluation, PackDefinition, ReportedLevel, SkipPreview, Stage, Violation } from "./evaluate";
export { evaluatePack, resolvePackConfig } from "./evaluate";
export { placeholderValue, readStackFile, stackFilePath } from "../config/stackfile";
export type { CheckOptions, CheckResult, DeployedState, RecordStackOptions, RecordedStack, StackFileConfig } from "./check";
export { PACK, checkStack, deployedOutputs, evaluateStack, readProjectName, recordStack } from "./check";
export type { CliIo } from "./cli";
export { USAGE, formatJson, formatText, policyCheckMain } from "./cli";
