/** `npm run policy -- --stack S`: the offline policy check (components/policycheck/cli.ts). */
import { policyCheckMain } from "../components/policycheck/cli";

policyCheckMain(process.argv.slice(2), {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    cwd: process.cwd(),
}).then(
    (code) => {
        process.exitCode = code;
    },
    (e) => {
        process.stderr.write(`policy-check: ${(e as Error).stack ?? String(e)}\n`);
        process.exitCode = 2;
    },
);
