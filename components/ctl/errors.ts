/**
 * Exit codes of `migration-ctl` and the error that carries one: the CLI layer's one error type
 * (cli/errors.ts, a module without imports), under the name the logic modules use.
 */
export { CliError as CtlError, EXIT } from "../../cli/errors";
export type { ExitCode } from "../../cli/errors";
