/**
 * `migration-ctl`'s logic: phase changes as reviewed stack config diffs. The CLI is declared in
 * cli/migration-ctl; the pure parts (in-place YAML edits, the pull-request check,
 * health, reports) are exported for tests and other tools.
 */
export { EXIT, CtlError } from "./errors";
export type { ExitCode } from "./errors";
export { editYaml, parseYaml, renderScalar } from "./yamledit";
export type { YamlEdit, YamlPath, YamlValue } from "./yamledit";
export { loadStack, requireConfig } from "./repo";
export type { LoadedStack } from "./repo";
export { stackFileRel, PREFIX, STACK_NAME_RE } from "../config/stackfile";
export { deployedFromFile, deployedFromPulumi, defaultDeployedLookup, deployedJson, findOnPath, memoize, parseOutputs } from "./deployed";
export type { Deployed, DeployedJson, DeployedLookup } from "./deployed";
export { deployedMismatch, evidenceGate, resolveUpstream, ringReasons } from "./rules";
export type { Context, EvidenceReport, GateOptions, Loaded, SoakSource, UpstreamInfo, UpstreamResult } from "./rules";
export { changedKeys, checkChanges } from "./check";
export type { ChangeKind, CheckInput, CheckReport, CheckStackReport, UpstreamJson } from "./check";
export { healthReport } from "./health";
export type { HealthReport, HealthStack, SoakStatus } from "./health";
export { planJson, renderCheck, renderHealth, renderPlan } from "./render";
export type { PlanJson, PlanView } from "./render";
