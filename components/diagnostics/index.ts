/**
 * Diagnostics bundles (incident bundles before and after a transition, compared for the
 * post-mortem): the node-side collector rendered as bash, the bundle comparison, and the
 * `migration-ctl diagnostics` command that migration-ctl dispatches to.
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
} from "../scripts/diagnostics";
export { BundleError, compareBundleFiles, compareBundles, formatComparison, parseChecksums, parsePackages, readBundle, summarise } from "./compare";
export type { BundleComparison, BundleFiles, BundleSummary, ChangeSet, FileChange, PackageChange, TextDiff } from "./compare";
export { bundleName, collectDiagnostics, collectNode, compareDiagnostics, scriptArgs, shQuote, stamp } from "./command";
export type { CollectOptions, CommandIo } from "./command";
export { defaultBundleDir } from "./outdir";
