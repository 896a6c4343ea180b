#!/usr/bin/env node
/** `npm run lab -- up|down|status [--nodes N]` (cli/lab.ts). */
import { runMain } from "../cli/errors";
import { labMain } from "../cli/lab";

runMain("lab", () => labMain(process.argv.slice(2)));
