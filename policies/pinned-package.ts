/**
 * The Rust package is pinned (README "What runs on a node"): every package step installs one exact
 * Debian version whose .deb is checked against a sha256 on the node, from one named source
 * (an https URL or a .deb file) whose file name carries that version; the copy of a local .deb
 * names the pinned file; the transition record carries the same pin.
 */
import * as command from "@pulumi/command";
import { ResourceValidationPolicy, ReportViolation, validateResourceOfType } from "@pulumi/policy";
import * as random from "@pulumi/random";
import { DEB_VERSION_RE } from "../components/config/schema";
import { LIBRARY_STAGING_DIR } from "../components/scripts";
import { isHttpsUrl, known, quote, recordOf, stepsOf } from "./lib";

export const PACKAGE_NAME = "pve-network-rs";
const SHA256_RE = /^[0-9a-f]{64}$/;
/** Where the step library is staged on a node (components/scripts LIBRARY_STAGING_DIR). */
const STEP_LIBRARY_COPY_RE = new RegExp(`^${LIBRARY_STAGING_DIR.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/steps-[0-9a-f]{64}\\.sh$`);

/** The .deb file name that pins `version` (any architecture). */
export function debFileRe(version: string): RegExp {
    return new RegExp(`^${PACKAGE_NAME}_${version.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}_[a-z0-9]+\\.deb$`);
}

function basename(p: string): string {
    return (
        p
            .replace(/[?#].*$/, "")
            .split("/")
            .pop() ?? ""
    );
}

/** Problems of a version and sha256 pair (`what` names where they come from). */
function pinProblems(version: unknown, sha256: unknown, names: { version: string; sha256: string }): string[] {
    const out: string[] = [];
    if (typeof version !== "string" || !DEB_VERSION_RE.test(version)) {
        out.push(`${names.version} must be an exact Debian version such as 0.4.2-1 (got ${quote(version ?? null)})`);
    }
    if (typeof sha256 !== "string" || !SHA256_RE.test(sha256)) {
        out.push(`${names.sha256} must be 64 lowercase hex digits (got ${quote(sha256 ?? null)})`);
    }
    return out;
}

function checkPackageSteps(props: { create?: unknown }, report: ReportViolation): void {
    for (const step of stepsOf(props)) if (step.script === "package") checkPackageStep(step.options, report);
}

function checkPackageStep(o: { readonly [k: string]: string }, report: ReportViolation): void {
    for (const p of pinProblems(o.version, o.sha256, { version: "--version", sha256: "--sha256" })) report(`package step: ${p}`);
    const sources = (["url", "deb-path"] as const).filter((k) => o[k] !== undefined && o[k] !== "");
    if (sources.length !== 1) {
        report(`package step: set exactly one of --url or --deb-path (got ${sources.length === 0 ? "neither" : "both"})`);
        return;
    }
    const source = sources[0];
    const where = o[source];
    if (source === "url" && !isHttpsUrl(where)) report(`package step: --url must be an https:// URL (got ${quote(where)})`);
    if (typeof o.version === "string" && DEB_VERSION_RE.test(o.version) && !debFileRe(o.version).test(basename(where))) {
        report(`package step: --${source} must name ${PACKAGE_NAME}_${o.version}_<arch>.deb, the pinned version (got ${quote(where)})`);
    }
}

export const packagePinned: ResourceValidationPolicy = {
    name: "package-pinned",
    description:
        "The pve-network-rs package is pinned by an exact version and a sha256 on every package step and in the transition record; nothing is installed unpinned.",
    enforcementLevel: "mandatory",
    validateResource: [
        validateResourceOfType(command.remote.Command, (props, _args, report) => checkPackageSteps(props, report)),
        validateResourceOfType(command.local.Command, (props, _args, report) => checkPackageSteps(props, report)),
        validateResourceOfType(command.remote.CopyToRemote, (props, _args, report) => {
            const remotePath = known(() => props.remotePath);
            if (typeof remotePath !== "string") return;
            // The other copy a stack makes: the step library (components/scripts), named by its sha256.
            if (STEP_LIBRARY_COPY_RE.test(remotePath)) return;
            if (!/^pve-network-rs_[0-9][A-Za-z0-9.+~-]*_[a-z0-9]+\.deb$/.test(basename(remotePath))) {
                report(`copy of the package: remotePath must name a pinned ${PACKAGE_NAME}_<version>_<arch>.deb (got ${quote(remotePath)})`);
            }
        }),
        validateResourceOfType(random.RandomId, (id, _args, report) => {
            const r = recordOf(id);
            if (!r) return;
            for (const p of pinProblems(r.packageVersion, r.packageSha256, { version: "packageVersion", sha256: "packageSha256" })) {
                report(`transition record of stack ${r.stack}: ${p}`);
            }
        }),
    ],
};
