/**
 * Diagnostics bundles (rollback runbook 004; issue 6 part 4): the node-side collector rendered
 * as bash, the bundle comparison for the post-mortem, and the `migration-ctl diagnostics`
 * command that migration-ctl dispatches to.
 */
export {
    BUNDLE_FORMAT,
    CONFIG_FILES,
    DEFAULT_UNITS,
    JOURNAL_LINES,
    LOG_TAIL_LINES,
    MAX_COPY_BYTES,
    PACKAGES,
    renderDiagnosticsFunction,
    renderDiagnosticsScript,
} from "./script";
export {
    BundleError,
    compareBundleFiles,
    compareBundles,
    formatComparison,
    parseChecksums,
    parsePackages,
    readBundle,
    summarise,
} from "./compare";
export type { BundleComparison, BundleFiles, BundleSummary, ChangeSet, FileChange, PackageChange, TextDiff } from "./compare";
export { unifiedDiff } from "../textdiff";
export { bundleName, collectDiagnostics, collectNode, compareDiagnostics, scriptArgs, shQuote, sshPlan, stamp } from "./command";
export type { CollectOptions, CommandIo, SshPlan } from "./command";
export { nodeMigrationConfigPath, parseStackFile, readStackFile, stackFilePath, StackFileError } from "./stackfile";
export type { StackFile, StackNode } from "./stackfile";
