/** The Session every migration-ctl command runs in: repository, clock, deployed lookup, output. */
import * as fs from "fs";
import * as path from "path";
import type { Session, WriteResult } from "../../components/ctl/commands";
import type { DeployedLookup } from "../../components/ctl/deployed";
import type { PulumiRunner } from "../../components/automation";
import { Io } from "../command";
import { UsageError } from "../errors";
import { stringOption } from "../values";

export interface CtlIo extends Io {
    /** Deployed states; overrides --deployed-file and the pulumi CLI (for callers and tests). */
    readonly deployed?: DeployedLookup;
    /** Runs Pulumi for up, plan --out and apply; default: the Automation API (tests: a stand-in). */
    readonly runner?: PulumiRunner;
    /** The terminal's width, for the progress display. */
    readonly columns?: number;
}

/** The pipeline's io of a command: its runner, --json, and whether stderr is a terminal. */
export function pipelineIo(opts: Readonly<Record<string, unknown>>, io: CtlIo): import("../pipeline").PipelineIo {
    const { automationRunner } = require("../../components/automation") as typeof import("../../components/automation");
    return {
        runner: io.runner ?? automationRunner(),
        env: io.env,
        json: opts.json === true,
        tty: io.stderrIsTTY === true,
        columns: io.columns ?? process.stderr.columns,
    };
}

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** The session of one command from the global options (--repo, --now, --deployed-file). */
export function session(opts: Readonly<Record<string, unknown>>, io: CtlIo, result?: (r: WriteResult) => void): Session {
    // Loaded here, not at the top: `--help` and usage errors need none of it.
    const { findRepo, STACKS_DIR } = require("../../components/ctl/repo") as typeof import("../../components/ctl/repo");
    const { defaultDeployedLookup } = require("../../components/ctl/deployed") as typeof import("../../components/ctl/deployed");
    const nowFlag = stringOption(opts.now);
    if (nowFlag !== undefined && (!ISO_WITH_ZONE.test(nowFlag) || Number.isNaN(Date.parse(nowFlag)))) {
        throw new UsageError(`--now: ${JSON.stringify(nowFlag)} is not an ISO time with a zone (e.g. 2025-06-01T12:00:00Z)`);
    }
    const repoFlag = stringOption(opts.repo);
    const repo = findRepo(io.cwd, repoFlag);
    if (repoFlag === undefined && !fs.existsSync(path.join(repo, STACKS_DIR))) {
        throw new UsageError(
            `${repo} holds no ${STACKS_DIR}/ folder: run migration-ctl inside the repository or pass --repo DIR (the folder that holds ${STACKS_DIR}/)`,
        );
    }
    const now = nowFlag !== undefined ? new Date(nowFlag) : new Date();
    const file = stringOption(opts.deployedFile);
    const deployed = io.deployed ?? defaultDeployedLookup(repo, io.env, file === undefined ? undefined : path.resolve(io.cwd, file));
    return { repo, now, deployed, out: io.stdout, err: io.stderr, result };
}

/** A required option's value: a UsageError naming `command` and the option when absent or empty. */
export function requiredOption(opts: Readonly<Record<string, unknown>>, key: string, flag: string, command: string): string {
    const v = stringOption(opts[key]);
    if (v === undefined) throw new UsageError(`${command}: ${flag} is required`);
    if (v === "") throw new UsageError(`${command}: ${flag} must not be empty`);
    return v;
}

/**
 * Run a writing command; with `--json`, its text goes nowhere and stdout gets one JSON object:
 * {"schemaVersion":1,"command":<words>, ...WriteResult}.
 */
export function runWriting(command: string, opts: Readonly<Record<string, unknown>>, io: CtlIo, run: (s: Session) => number): number {
    if (opts.json !== true) return run(session(opts, io));
    let result: WriteResult | undefined;
    const s = session(opts, { ...io, stdout: () => undefined, stderr: () => undefined }, (r) => (result = r));
    const code = run(s);
    if (result !== undefined) io.stdout(JSON.stringify({ schemaVersion: 1, command, ...result }, null, 2) + "\n");
    return code;
}

export const JSON_WRITE_HELP = `--json prints {"schemaVersion":1,"command","stack","file","from","to","kind":"promotion|rollback|none|color",
"changed","written","dryRun","diff","notes":[],"warnings":[]} instead of the text (errors stay one line on stderr).`;
