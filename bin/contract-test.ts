#!/usr/bin/env node
/** `contract-test`: compare the Perl and the Rust API answers (cli/contract-test.ts). */
import { runMain } from "../cli/errors";
import { contractTestMain } from "../cli/contract-test";

runMain("contract-test", () => contractTestMain(process.argv.slice(2)));
