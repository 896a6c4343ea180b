#!/usr/bin/env node
/** `npm run chart-digest [-- --check] [<chart folder>]` (cli/chart-digest.ts). */
import { runMain } from "../cli/errors";
import { main } from "../cli/chart-digest";

runMain("chart-digest", () => main(process.argv.slice(2)));
