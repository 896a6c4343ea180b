#!/usr/bin/env node
/** `migration-ctl`: phase changes as reviewed stack config diffs (cli/migration-ctl). */
import { main } from "../cli/migration-ctl";
import { runMain } from "../cli/errors";

runMain("migration-ctl", () => main(process.argv.slice(2)));
