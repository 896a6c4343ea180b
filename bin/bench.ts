#!/usr/bin/env node
/** `npm run bench`: the benchmarks (cli/bench.ts). Run with ts-node: its child processes run bench/*.ts. */
import { runMain } from "../cli/errors";
import { benchMain } from "../cli/bench";

runMain("bench", () => benchMain(process.argv.slice(2)));
