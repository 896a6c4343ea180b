/**
 * Pipelines: `migration-ctl up`, `plan --out DIR` and `apply DIR` on the Automation API
 * (components/automation, behind PulumiRunner). Each runs this project's gates (check's rules)
 * and its policy pack (the offline check of cli/policy-check) before Pulumi runs, maps the
 * engine's events to nodes and steps (components/pipeline/events.ts) and ends with an exit code
 * a pipeline can branch on (cli/errors.ts EXIT; README "Pipelines").
 *
 * It lives in cli/ because it runs the policy pack (policies/), which components/ must not import.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { PolicyPackConfig } from "@pulumi/policy";
import type { PulumiRunner, EngineEvent, RunResult } from "../../components/automation";
import { Session, gateReport, planView } from "../../components/ctl/commands";
import { Deployed, parseOutputs } from "../../components/ctl/deployed";
import { loadStack, readStackText, requireConfig, stackFileIdentity } from "../../components/ctl/repo";
import { previewRestore } from "../../components/ctl/restore-preview";
import type { StackConfig } from "../../components/config/schema";
import { PHASES } from "../../components/phases";
import { PlannedCommand, planCommands } from "../../components/plan";
import { planFor } from "../../components/steps";
import { Backend, DEV_STACK, backendFor } from "../../components/pipeline/backend";
import { EventMapper, PipelineEvent, PipelineSummary, eventCommands, resourceName } from "../../components/pipeline/events";
import { ProgressDisplay } from "../../components/pipeline/progress";
import {
    META_FILE,
    PULUMI_PLAN_FILE,
    PlanMeta,
    PlanVerdict,
    SUMMARY_JSON,
    SUMMARY_TEXT,
    appliable,
    planRefusals,
    preparePlanDir,
    readPlanMeta,
    writePlanFile,
} from "../../components/pipeline/planfile";
import { PlanSummary, hasChanges, renderSummary, summaryNodes } from "../../components/pipeline/summary";
import { devSandbox } from "../dev-sandbox";
import { CliError, EXIT } from "../errors";
import { checkStack, readProjectName } from "../policy-check/check";

/** The exit code of `plan --detailed-exitcode` when the plan holds changes (terraform plan -detailed-exitcode's 2). */
export const EXIT_CHANGES = 2;

/** Where the pipeline writes and what it runs Pulumi with. */
export interface PipelineIo {
    readonly runner: PulumiRunner;
    readonly env: NodeJS.ProcessEnv;
    /** One JSON object per line on stdout (events, then the summary) instead of text. */
    readonly json: boolean;
    /** Whether stderr is a terminal: then a progress display per node (without --json). */
    readonly tty: boolean;
    /** For the TTY display's width. */
    readonly columns?: number;
}

/** The CLI folder `--install-cli` installs into (gitignored with .tools/). */
export function cliRootOf(repo: string): string {
    return path.join(repo, ".tools", "pulumi");
}

export const INSTALL_HINT =
    "install it (curl -fsSL https://get.pulumi.com | sh; see https://www.pulumi.com/docs/iac/download-install/), " +
    "or run migration-ctl up --install-cli, which installs it into .tools/pulumi with the Automation API's installer (it downloads from get.pulumi.com)";

/** The CLI to run: .tools/pulumi when installed there, else `pulumi` on PATH; installed first with `install`. */
async function ensureCli(s: Session, io: PipelineIo, install: boolean): Promise<string | undefined> {
    const local = cliRootOf(s.repo);
    if (fs.existsSync(path.join(local, "bin", "pulumi")) && (await io.runner.cliVersion(local)) !== undefined) return local;
    if ((await io.runner.cliVersion(undefined)) !== undefined) return undefined;
    if (!install) throw new CliError(EXIT.NO_PULUMI, `no Pulumi CLI (none on PATH, none in ${local}): ${INSTALL_HINT}`);
    s.err(`installing the Pulumi CLI into ${local} with the Automation API's installer (from get.pulumi.com)\n`);
    const version = await io.runner.installCli(local);
    s.err(`installed pulumi ${version} into ${local}\n`);
    return local;
}

/**
 * Every step command the program could register for this stack: the union, over every pair of
 * phases, of the planned commands (their ids are the resource names). The event mapper needs
 * them before the engine says which transition it runs (an interrupted update may resume or
 * roll back: components/deployed planBasis).
 */
export function allCommands(cfg: StackConfig): PlannedCommand[] {
    const byId = new Map<string, PlannedCommand>();
    for (const from of PHASES) for (const to of PHASES) for (const c of planCommands(planFor(cfg, from, to))) if (!byId.has(c.id)) byId.set(c.id, c);
    return [...byId.values()];
}

/** One line of text per step event (no TTY, no --json). */
export function eventLine(ev: PipelineEvent): string | undefined {
    if (ev.type === "step") {
        const what = `${ev.node}${ev.cluster ? " (cluster)" : ""} ${ev.steps.join(", ")}`;
        const took = (d: number | null) => (d === null ? "" : ` in ${d} s`);
        switch (ev.event) {
            case "started":
            case "planned":
                return `${what}: ${ev.event} (${ev.op})`;
            case "finished":
                return `${what}: ok${took(ev.durationSeconds)}${ev.log.length > 0 ? ` (${ev.log.map((l) => `${l.step}=${l.result}`).join(", ")})` : ""}`;
            case "interrupted":
                return `${what}: INTERRUPTED after ${ev.durationSeconds} s`;
            case "failed":
                return `${what}: FAILED${took(ev.durationSeconds)}${ev.error !== null ? `: ${ev.error}` : ""}`;
        }
    }
    if (ev.type === "diagnostic" && (ev.severity === "error" || ev.severity === "warning"))
        return `${ev.severity}${ev.resource !== undefined ? ` (${ev.resource})` : ""}: ${ev.message}`;
    if (ev.type === "policy") return `policy ${ev.policy} (${ev.enforcement})${ev.resource !== undefined ? ` on ${ev.resource}` : ""}: ${ev.message}`;
    return undefined;
}

/** Receives the engine's events and shows them: JSON lines, a TTY display, or text lines. */
class EventSink {
    readonly mapper: EventMapper;
    /** The op the engine planned or ran for each resource, by name. */
    readonly ops = new Map<string, string>();
    private readonly display?: ProgressDisplay;

    constructor(
        private readonly s: Session,
        private readonly io: PipelineIo,
        commands: readonly PlannedCommand[],
    ) {
        this.mapper = new EventMapper({ commands: eventCommands(commands) });
        if (!io.json && io.tty) {
            const columns = io.columns ?? 100;
            this.display = new ProgressDisplay({ write: (t: string) => s.err(t) }, { width: () => columns });
            // The display keeps no timer of its own: tick its elapsed seconds while the engine runs.
            this.timer = setInterval(() => this.display?.refresh(), 1000);
            this.timer.unref();
        }
    }

    private timer?: NodeJS.Timeout;

    readonly onEvent = (e: EngineEvent): void => {
        const pre = e.resourcePreEvent?.metadata;
        if (pre !== undefined) this.ops.set(resourceName(pre.urn), pre.op);
        for (const ev of this.mapper.map(e)) {
            if (this.io.json) this.s.out(JSON.stringify(ev) + "\n");
            else if (this.display !== undefined) this.display.update(ev);
            else {
                const line = eventLine(ev);
                if (line !== undefined) this.s.out(line + "\n");
            }
        }
    };

    finish(): PipelineSummary {
        if (this.timer !== undefined) clearInterval(this.timer);
        this.display?.finish();
        return this.mapper.summary();
    }
}

/** What every pipeline command prepares: the stack, its backend and CLI, and what it has deployed. */
interface Prepared {
    readonly s: Session;
    readonly stack: string;
    readonly cfg: StackConfig;
    readonly backend: Backend;
    readonly cliRoot: string | undefined;
    readonly project: string;
    /** sha256 of the stack's outputs when prepared (outputsDigest). */
    readonly outputsSha256: string | null;
}

/** sha256 of a stack's outputs (keys sorted), null for a stack that does not exist. */
export function outputsDigest(raw: Record<string, unknown> | undefined): string | null {
    if (raw === undefined) return null;
    const sorted = Object.fromEntries(
        Object.keys(raw)
            .sort()
            .map((k) => [k, raw[k]]),
    );
    return crypto.createHash("sha256").update(JSON.stringify(sorted)).digest("hex");
}

/** A stack's typed config and its backend (the stack file's `secretsprovider:` decides whether a passphrase is needed). */
function stackAndBackend(repo: string, stack: string, env: NodeJS.ProcessEnv): { cfg: StackConfig; backend: Backend } {
    const st = loadStack(readStackText(repo, stack), stack, repo);
    const cfg = requireConfig(st);
    const provider = (st.doc.toJS() as { secretsprovider?: unknown } | null)?.secretsprovider;
    return { cfg, backend: backendFor(repo, stack, env, typeof provider === "string" ? provider : undefined) };
}

async function prepare(s0: Session, io: PipelineIo, stack: string, o: { installCli: boolean; sandbox: boolean }): Promise<Prepared> {
    const { cfg, backend } = stackAndBackend(s0.repo, stack, io.env);
    for (const n of backend.notes) s0.err(`${n}\n`);
    if (o.sandbox && stack === DEV_STACK && cfg.transport === "local") ensureDevSandbox(s0, cfg);
    const cliRoot = await ensureCli(s0, io, o.installCli);
    if (backend.projectLocal && backend.dir !== undefined) fs.mkdirSync(backend.dir, { recursive: true });
    // What the stack deployed, from its own outputs through the same runner (the backend above).
    const raw = await io.runner.outputs({ workDir: s0.repo, stack, envVars: backend.envVars, cliRoot });
    if (raw === undefined && stack !== DEV_STACK) {
        // Only the dev stack is created on the fly: a ring's stack missing from the backend is more
        // likely the wrong backend than a new ring, and a new stack plans every node from perl-only.
        throw new CliError(
            EXIT.UNKNOWN_STACK,
            `stack ${stack} does not exist in the backend (${backend.url}): check PULUMI_BACKEND_URL or pulumi login; a new ring is created deliberately with pulumi stack init ${stack}`,
        );
    }
    const source = `pulumi stack outputs (${backend.url})`;
    const mine: Deployed =
        raw === undefined ? { known: true, phase: "perl-only", source: `${source}: no stack ${stack} yet`, neverDeployed: true } : parseOutputs(raw, source);
    const s: Session = { ...s0, deployed: (name, qualified) => (name === stack ? mine : s0.deployed(name, qualified)) };
    return { s, stack, cfg, backend, cliRoot, project: readProjectName(s0.repo), outputsSha256: outputsDigest(raw) };
}

/** The dev stack's sandbox (npm run dev:sandbox) when a node root or the stand-in package is missing. */
function ensureDevSandbox(s: Session, cfg: StackConfig): void {
    const missing = cfg.nodes.some((n) => !fs.existsSync(n.root)) || (cfg.package.path !== undefined && !fs.existsSync(cfg.package.path));
    if (!missing) return;
    const r = devSandbox(s.repo, path.join(s.repo, ".sandbox"));
    s.err(`created the dev sandbox: ${Object.keys(r.roots).length} node roots under .sandbox/dev, the stand-in package ${path.relative(s.repo, r.deb)}\n`);
    if (r.sha256 !== r.pinned)
        throw new CliError(
            EXIT.VIOLATIONS,
            `the dev stack pins sha256 ${r.pinned}; the stand-in package built here differs (${r.sha256}): update pve-migration:package.sha256`,
        );
}

interface Preflight {
    readonly view: ReturnType<typeof planView>;
    readonly gate: ReturnType<typeof gateReport>;
    readonly policy: Awaited<ReturnType<typeof checkStack>>;
}

/**
 * The pack config of the offline check: the site's (--policy-config), and the change-window
 * policy judging at the session's time (--now, else the clock), the instant the gates judge at,
 * unless the site's config sets its `now` (policies/windows.ts; a value may be a bare level).
 */
export function packConfigAt(given: PolicyPackConfig | undefined, now: Date): PolicyPackConfig {
    const cw = given?.["change-window"];
    if (cw !== null && typeof cw === "object" && "now" in cw) return { ...given };
    const base = typeof cw === "string" ? { enforcementLevel: cw } : ((cw as Record<string, unknown> | undefined) ?? {});
    return { ...given, "change-window": { ...base, now: now.toISOString() } } as PolicyPackConfig;
}

/** The transition, check's gates and the policy pack's verdict, before Pulumi runs. */
async function preflight(p: Prepared, policyConfig: PolicyPackConfig | undefined): Promise<Preflight> {
    let view: ReturnType<typeof planView>;
    try {
        view = planView(p.s, { stack: p.stack, unchecked: true });
    } catch (e) {
        // An interrupted update that the program would refuse to continue (components/deployed planBasis).
        if (e instanceof CliError && e.code === EXIT.REFUSED) throw new CliError(EXIT.GATE_REFUSED, e.message, e.details);
        throw e;
    }
    const gate = gateReport(p.s, p.stack, view.from);
    const policy = await checkStack({
        projectDir: p.s.repo,
        stack: p.stack,
        from: view.from,
        deployed: p.s.deployed,
        now: p.s.now,
        preview: true,
        policyConfig: packConfigAt(policyConfig, p.s.now),
    });
    return { view, gate, policy };
}

function refusalOf(f: Preflight): { verdict: PlanVerdict; code: number; message: string; details: string[] } | undefined {
    if (!gateOk(f.gate))
        return {
            verdict: "refused-by-gate",
            code: EXIT.GATE_REFUSED,
            message: `${f.view.stack}: ${f.view.from} -> ${f.view.to} is refused by a gate`,
            details: [...f.gate.violations],
        };
    if (!f.policy.passed) {
        return {
            verdict: "refused-by-policy",
            code: EXIT.POLICY_REFUSED,
            message: `${f.view.stack}: ${f.view.from} -> ${f.view.to} is refused by the policy pack`,
            details: [
                ...f.policy.violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policy}: ${v.message}`),
                ...f.policy.errors.map((e) => `policy error: ${e}`),
            ],
        };
    }
    return undefined;
}

function gateOk(g: ReturnType<typeof gateReport>): boolean {
    return g.violations.length === 0;
}

// ---- up ----

export interface UpArgs {
    readonly stack: string;
    readonly installCli: boolean;
    /** --policy-config: the site's pack config for the offline check. */
    readonly policyConfig?: PolicyPackConfig;
}

/** `migration-ctl up --stack S`: the main job in one command. */
export async function runUp(s0: Session, io: PipelineIo, a: UpArgs): Promise<number> {
    const p = await prepare(s0, io, a.stack, { installCli: a.installCli, sandbox: true });
    const f = await preflight(p, a.policyConfig);
    const refused = refusalOf(f);
    if (refused !== undefined) throw new CliError(refused.code, `up: ${refused.message}; Pulumi did not run`, refused.details);
    if (!io.json) p.s.err(`pulumi up --stack ${a.stack}: ${f.view.from} -> ${f.view.to} (${f.view.plan.transition.kind})\n`);
    const sink = new EventSink(p.s, io, allCommands(p.cfg));
    const r = await io.runner.up({
        workDir: p.s.repo,
        stack: a.stack,
        envVars: p.backend.envVars,
        create: a.stack === DEV_STACK,
        cliRoot: p.cliRoot,
        onEvent: sink.onEvent,
    });
    return finishRun(p.s, io, "up", a.stack, r, sink.finish());
}

function finishRun(s: Session, io: PipelineIo, command: string, stack: string, r: RunResult, run: PipelineSummary, extra: Record<string, unknown> = {}): number {
    const code = r.result === "succeeded" ? EXIT.OK : EXIT.VIOLATIONS;
    if (io.json)
        s.out(JSON.stringify({ ...run, command, stack, ...extra, engine: { result: r.result, changes: r.changes, message: r.message }, exitCode: code }) + "\n");
    else
        s.out(
            `${r.message}${
                Object.keys(r.changes).length > 0
                    ? ` (${Object.entries(r.changes)
                          .map(([op, n]) => `${op} ${n}`)
                          .join(", ")})`
                    : ""
            }\n`,
        );
    return code;
}

// ---- plan --out ----

export interface PlanOutArgs {
    readonly stack: string;
    readonly out: string;
    readonly detailedExitcode: boolean;
    readonly readNodes: boolean;
    readonly identity?: string;
    readonly installCli: boolean;
    /** --policy-config: the site's pack config for the offline check. */
    readonly policyConfig?: PolicyPackConfig;
}

/** `migration-ctl plan --stack S --out DIR`: gates, policies, `pulumi preview --save-plan`, the summary. */
export async function runPlanOut(s0: Session, io: PipelineIo, a: PlanOutArgs): Promise<number> {
    preparePlanDir(a.out, "--out");
    const p = await prepare(s0, io, a.stack, { installCli: a.installCli, sandbox: false });
    const identity = stackFileIdentity(p.s.repo, a.stack);
    const f = await preflight(p, a.policyConfig);
    const refused = refusalOf(f);
    const sink = new EventSink(p.s, io, allCommands(p.cfg));
    let engine: PlanSummary["engine"] = { ran: false, result: null, changes: {}, message: refused !== undefined ? `not run: ${refused.message}` : "not run" };
    let verdict: PlanVerdict;
    if (refused !== undefined) verdict = refused.verdict;
    else {
        const planFile = path.join(a.out, PULUMI_PLAN_FILE);
        const r = await io.runner.preview({
            workDir: p.s.repo,
            stack: a.stack,
            envVars: p.backend.envVars,
            create: a.stack === DEV_STACK,
            cliRoot: p.cliRoot,
            savePlan: planFile,
            onEvent: sink.onEvent,
        });
        engine = { ran: true, result: r.result, changes: r.changes, message: r.message };
        verdict = r.result === "failed" ? "error" : hasChanges(r.changes) ? "changes" : "no-changes";
        // preview.go writes the plan only on success; a failed preview must not leave one to apply.
        if (verdict === "error") fs.rmSync(planFile, { force: true });
        // The CLI creates it with os.Create (pulumi/pulumi pkg/cmd/pulumi/plan/plan.go Write: mode
        // 0666 before the umask); a plan may hold encrypted secrets: owner-only, as the folder's other files.
        else if (fs.existsSync(planFile)) fs.chmodSync(planFile, 0o600);
    }
    sink.finish();
    const code = {
        "no-changes": EXIT.OK,
        changes: a.detailedExitcode ? EXIT_CHANGES : EXIT.OK,
        "refused-by-gate": EXIT.GATE_REFUSED,
        "refused-by-policy": EXIT.POLICY_REFUSED,
        error: EXIT.VIOLATIONS,
    }[verdict];
    const t = f.view.plan.transition;
    const restorePreview: PlanSummary["restorePreview"] = !t.restoreRequired
        ? { read: false, note: `${f.view.from} -> ${f.view.to} restores no backup` }
        : !a.readNodes
          ? { read: false, note: "not read (give --read-nodes to read the nodes, read only)" }
          : { read: true, nodes: await previewRestore(p.cfg, { identity: a.identity, now: p.s.now }) };
    const summary: PlanSummary = {
        schemaVersion: 1,
        command: "plan",
        stack: a.stack,
        project: p.project,
        createdAt: p.s.now.toISOString(),
        verdict,
        exitCode: code,
        planFile: appliable(verdict) ? PULUMI_PLAN_FILE : null,
        stackFile: { file: identity.file, sha256: identity.sha256, commit: identity.commit, dirty: identity.dirty },
        backend: p.backend.url,
        transition: {
            from: f.view.from,
            fromSource: f.view.fromSource,
            to: f.view.to,
            kind: t.kind,
            steps: t.steps,
            backupRequired: t.backupRequired,
            restoreRequired: t.restoreRequired,
        },
        nodes: summaryNodes(f.view.nodes, planCommands(f.view.plan), f.policy.resources, engine.ran ? sink.ops : undefined),
        gates: {
            ok: gateOk(f.gate),
            violations: f.gate.violations,
            warnings: f.gate.warnings,
            notes: f.gate.notes,
            evidence: f.gate.evidence,
            upstream: f.gate.upstream,
        },
        policies: {
            passed: f.policy.passed,
            mandatory: f.policy.mandatory,
            advisory: f.policy.advisory,
            policiesRun: f.policy.policiesRun,
            violations: f.policy.violations.map((v) => ({ policy: v.policy, level: v.enforcementLevel, resource: v.name, message: v.message })),
            errors: f.policy.errors,
        },
        engine,
        restorePreview,
    };
    const meta: PlanMeta = {
        schemaVersion: 1,
        project: p.project,
        stack: a.stack,
        backendUrl: p.backend.url,
        createdAt: summary.createdAt,
        stackFile: summary.stackFile,
        head: identity.head,
        from: f.view.from,
        to: f.view.to,
        deployedOutputsSha256: p.outputsSha256,
        verdict,
    };
    writePlanFile(a.out, META_FILE, JSON.stringify(meta, null, 2) + "\n");
    writePlanFile(a.out, SUMMARY_JSON, JSON.stringify(summary, null, 2) + "\n");
    writePlanFile(a.out, SUMMARY_TEXT, renderSummary(summary));
    if (io.json) p.s.out(JSON.stringify({ type: "summary", ...summary }) + "\n");
    else p.s.out(renderSummary(summary) + `written to ${a.out}\n`);
    return code;
}

// ---- apply ----

export interface ApplyArgs {
    readonly dir: string;
    /** --stack: refuse a plan made for another stack. */
    readonly stack?: string;
    readonly installCli: boolean;
}

/** `migration-ctl apply DIR`: `pulumi up --plan` on exactly the saved plan, after checking it still applies. */
export async function runApply(s0: Session, io: PipelineIo, a: ApplyArgs): Promise<number> {
    const meta = readPlanMeta(a.dir);
    const { cfg, backend } = stackAndBackend(s0.repo, meta.stack, io.env);
    const identity = stackFileIdentity(s0.repo, meta.stack);
    const refusals = planRefusals(meta, a.dir, {
        project: readProjectName(s0.repo),
        stack: a.stack,
        backendUrl: backend.url,
        stackFile: identity,
        now: s0.now,
        maxAgeMinutes: cfg.pipeline.planMaxAgeMinutes,
    });
    if (refusals.length > 0) throw new CliError(EXIT.PLAN_REFUSED, `apply: ${a.dir} is not applied`, refusals);
    const cliRoot = await ensureCli(s0, io, a.installCli);
    // The stack may have moved since the plan (another apply, a rollback by the guard): the
    // engine would refuse the plan's operations one by one; say why at once instead.
    const raw = await io.runner.outputs({ workDir: s0.repo, stack: meta.stack, envVars: backend.envVars, cliRoot });
    if (outputsDigest(raw) !== meta.deployedOutputsSha256) {
        throw new CliError(EXIT.PLAN_REFUSED, `apply: ${a.dir} is not applied`, [
            `${meta.stack}'s stack outputs changed since the plan (another update ran: its deployed phase is ${raw === undefined ? "none, the stack is gone" : String(raw.phase ?? "unknown")}; the plan was made from ${meta.from}); plan again`,
        ]);
    }
    if (!io.json) s0.err(`pulumi up --stack ${meta.stack} --plan ${path.join(a.dir, PULUMI_PLAN_FILE)}: ${meta.from} -> ${meta.to}, planned ${meta.createdAt}\n`);
    const sink = new EventSink(s0, io, allCommands(cfg));
    const r = await io.runner.up({
        workDir: s0.repo,
        stack: meta.stack,
        envVars: backend.envVars,
        create: false,
        cliRoot,
        plan: path.join(a.dir, PULUMI_PLAN_FILE),
        onEvent: sink.onEvent,
    });
    return finishRun(s0, io, "apply", meta.stack, r, sink.finish(), { plan: a.dir, from: meta.from, to: meta.to });
}
