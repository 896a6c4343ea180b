#!/usr/bin/env node
/** `npm run dev:sandbox [-- --dir DIR]`: prepare the dev stack's sandbox (cli/dev-sandbox.ts). */
import { runMain } from "../cli/errors";
import { devSandboxMain } from "../cli/dev-sandbox";

runMain("dev-sandbox", () => devSandboxMain(process.argv.slice(2)));
