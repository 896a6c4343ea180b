#!/usr/bin/env node
/** `npm run policy -- --stack S`: the offline policy check (cli/policy-check). */
import { runMain } from "../cli/errors";
import { policyCheckMain } from "../cli/policy-check";

runMain("policy-check", () => policyCheckMain(process.argv.slice(2)));
