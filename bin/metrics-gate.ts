#!/usr/bin/env node
/** `metrics-gate`: query Prometheus over the soak window and write the evidence (cli/metrics-gate.ts). */
import { runMain } from "../cli/errors";
import { metricsGateMain } from "../cli/metrics-gate";

runMain("metrics-gate", () => metricsGateMain(process.argv.slice(2)));
