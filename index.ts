// Pulumi entry point: `pulumi up --stack <dev|canary-a|canary-b|prod>`.
// The program lives in components/program.ts; this file only runs it.
import { main } from "./components/program";

export = main();
