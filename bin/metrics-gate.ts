/** `metrics-gate`: query Prometheus over the soak window and write the evidence (components/gates/metrics-cli.ts). */
import { metricsGateMain } from "../components/gates/metrics-cli";

metricsGateMain(process.argv.slice(2)).then(
    (code) => {
        process.exitCode = code;
    },
    (e) => {
        process.stderr.write(`metrics-gate: ${(e as Error).stack ?? String(e)}\n`);
        process.exitCode = 2;
    },
);
