/**
 * Promotion gates (README "Promotion with evidence"): the contract test (Perl vs Rust answers),
 * the metrics gate (Prometheus over the soak window, writes the evidence file) and the alert
 * rules rendered from code. The pure cores are in contract.ts, metrics.ts and rules.ts.
 */
export * from "./contract";
export * from "./metrics";
export * from "./rules";
export { getJson } from "./http";
export type { GetJsonOptions, GetJsonResult } from "./http";
export { writeFileAtomic } from "./files";
export type { ContractReport, ContractEvidencePart, ContractTestOptions, ParsedContractArgs } from "./contract-cli";
export { CONTRACT_REPORT_VERSION, runContractTest, readToken, buildReport } from "./contract-cli";
export type { MetricsGateOptions, MetricsGateResult } from "./metrics-cli";
export { PrometheusError, promQuery, readContractReport, runMetricsGate } from "./metrics-cli";
