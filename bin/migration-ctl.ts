/** `migration-ctl`: phase changes as reviewed stack config diffs (components/ctl/cli.ts). */
import { main } from "../components/ctl/cli";

main(process.argv.slice(2)).then(
    (code) => {
        process.exitCode = code;
    },
    (e) => {
        process.stderr.write(`migration-ctl: ${(e as Error).stack ?? String(e)}\n`);
        process.exitCode = 70;
    },
);
