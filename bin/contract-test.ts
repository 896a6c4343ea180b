/** `contract-test`: compare the Perl and the Rust API answers (components/gates/contract-cli.ts). */
import { contractTestMain } from "../components/gates/contract-cli";

contractTestMain(process.argv.slice(2)).then(
    (code) => {
        process.exitCode = code;
    },
    (e) => {
        process.stderr.write(`contract-test: ${(e as Error).stack ?? String(e)}\n`);
        process.exitCode = 2;
    },
);
