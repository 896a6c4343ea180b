/**
 * The Pulumi program: validate the stack config, read what this ring and its upstream ring
 * have deployed (stack references; the stack reads its own last outputs), refuse an unsafe
 * transition before anything is registered, then register the cluster's steps.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { plaintextSecretKeys } from "./config/secrets-file";
import { StackFileError, readStackFile } from "./config/stackfile";
import { ConfigError, NAMESPACE, RawConfig, SECRET_CONFIG_KEYS, StackConfig, parseStackConfig } from "./config/schema";
import { setOwn } from "./config/own";
import { EvidenceRecord, evidencePath, gateEvidence } from "./evidence";
import { Phase, checkTransition, transition } from "./phases";
import { checkRing, UpstreamState } from "./rings";
import { windowRefusal } from "./windows";
import { Attempt, PlanBasis, VerifiedNode, enteredAt, parseVerified, planBasis, readDeployedOutputs, verifiedPhase } from "./deployed";
import { ClusterMigration, TransitionRecord, transitionId } from "./cluster";
import { transportFor } from "./node/transport";
import { BUILD_DIR, writeStepLibrary } from "./scripts";
import { BlueGreenRelease } from "./bluegreen";
import { AlertRules } from "./monitoring";

/** Set to "off" only by the offline policy check, to show that the policies alone stop an unsafe change. */
export const GUARDS_ENV = "PVE_MIGRATION_GUARDS";

/** Read the stack config the engine handed to the program (values and which are secrets). */
export function rawConfigFromRuntime(projectDir: string): RawConfig {
    const all = pulumi.runtime.allConfig();
    const prefix = `${NAMESPACE}:`;
    const values: Record<string, string> = {};
    const secretKeys = new Set<string>();
    const isSecret = (pulumi.runtime as unknown as { isConfigSecret?: (k: string) => boolean }).isConfigSecret;
    for (const [k, v] of Object.entries(all)) {
        if (!k.startsWith(prefix)) continue;
        const key = k.slice(prefix.length);
        values[key] = v;
        if (isSecret?.(k)) secretKeys.add(key);
    }
    return { values, secretKeys, stack: pulumi.getStack(), projectDir };
}

/** The outputs a stack reference is read for (see components/deployed). */
const DEPLOYED_OUTPUT_KEYS = ["phase", "phaseEnteredAt", "previousPhase", "transition", "attempt", "verified", "nodes"] as const;

/** A stack's outputs that say what it has deployed ({} for a stack that never deployed). */
export async function readOutputs(ref: pulumi.StackReference): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const k of DEPLOYED_OUTPUT_KEYS) {
        const v = (await ref.getOutputDetails(k)).value;
        if (v !== undefined) out[k] = v;
    }
    return out;
}

/**
 * The fully qualified name of a ring's upstream: a bare stack name is in the current organization
 * and project (the organization is "organization" on the file backend, the real one on Pulumi Cloud).
 */
export function upstreamStackName(upstream: string): string {
    return upstream.includes("/") ? upstream : `${pulumi.getOrganization()}/${pulumi.getProject()}/${upstream}`;
}

/**
 * Settle a step's stdout: its value once the step succeeded, undefined when it failed, was not run
 * (`--target`: the engine answers a skipped create with unknown outputs, pkg/resource/deploy/step.go
 * NewSkippedCreateStep) or is unknown (preview). `pulumi.runtime.serializeProperty` is the SDK's own
 * way to await an output: it rejects when the resource failed (sdk runtime/rpc.ts), and we catch that
 * here, so that the stack's outputs never depend on a rejected value (see components/deployed).
 */
async function settledStdout(stdout: pulumi.Output<string>): Promise<string | undefined> {
    try {
        const v: unknown = await pulumi.runtime.serializeProperty("verify stdout", stdout);
        if (v === pulumi.runtime.unknownValue) return undefined;
        if (v !== null && typeof v === "object" && pulumi.runtime.specialSigKey in v) return (v as { value?: string }).value;
        return typeof v === "string" ? v : undefined;
    } catch {
        return undefined;
    }
}

/** Secret-class keys present in the config without the secret mark. */
export function plaintextSecrets(raw: RawConfig): string[] {
    return SECRET_CONFIG_KEYS.filter((k) => k in raw.values && !raw.secretKeys.has(k));
}

/**
 * The `config:` map of the stack's file, for the plaintext leaves of secret-class keys; undefined
 * when the stack has no file (its config lives elsewhere). A file that is not a stack file is a
 * config error naming it.
 */
export function stackFileConfig(projectDir: string, stack: string): Readonly<Record<string, unknown>> | undefined {
    try {
        return readStackFile(projectDir, stack).configMap;
    } catch (e) {
        if (e instanceof StackFileError && e.kind === "unreadable") return undefined;
        if (e instanceof StackFileError) throw new ConfigError([e.message]);
        throw e;
    }
}

export interface EvidenceVerdict {
    /** "" when not a promotion; else the record's EvidenceRecord as JSON (the policy judges its summary). */
    readonly summary: string;
    /** Why the evidence does not allow the promotion (empty: it does, or none needed). */
    readonly reasons: string[];
}

/** Evidence for leaving `from` by promotion (README "Promotion with evidence"), summarised for the transition record. */
export function evidenceVerdict(cfg: StackConfig, from: Phase, to: Phase, projectDir: string): EvidenceVerdict {
    if (transition(from, to).kind !== "promotion") return { summary: "", reasons: [] };
    const file = path.join(projectDir, evidencePath(cfg.stack, from));
    const gate = gateEvidence({
        stack: cfg.stack,
        from,
        nodes: cfg.nodes.map((n) => n.name),
        soakSeconds: cfg.soakSeconds[from],
        requireEvidence: cfg.gates.requireEvidence,
        requireEvidenceKey: `${NAMESPACE}:gates.requireEvidence`,
        maxLatencyRatio: cfg.gates.maxLatencyRatio,
        text: fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined,
    });
    const record: EvidenceRecord = {
        path: gate.path,
        required: gate.required,
        notRequiredBecause: gate.notRequiredBecause,
        present: gate.present,
        valid: gate.valid,
        requiredSoakSeconds: gate.requiredSoakSeconds,
        summary: gate.summary ?? null,
    };
    return { summary: JSON.stringify(record), reasons: gate.reasons };
}

/** The keepers of the transition record. */
export function transitionRecord(
    cfg: StackConfig,
    from: Phase,
    fromEnteredAt: string,
    upstream: UpstreamState | undefined,
    evidence: string,
    plaintextSecretKeys: readonly string[] = [],
): TransitionRecord {
    return {
        kind: "pve-migration/transition",
        stack: cfg.stack,
        cluster: cfg.cluster,
        ring: cfg.ring?.name ?? cfg.stack,
        from,
        fromEnteredAt,
        to: cfg.phase,
        nodes: cfg.nodes.map((n) => n.name).join(","),
        scope: cfg.migrationConfig.scope,
        writerNode: cfg.migrationConfig.writerNode,
        configPath: cfg.migrationConfig.path,
        fallbackEnabled: String(cfg.fallbackEnabled),
        logMigrationDecisions: String(cfg.logMigrationDecisions),
        backupRetention: String(cfg.backups.retention),
        perlApiBaseUrl: cfg.perlApi.baseUrl,
        perlApiTimeout: String(cfg.perlApi.timeout),
        packageVersion: cfg.package.version,
        packageSha256: cfg.package.sha256 ?? "",
        upstreamStack: upstream?.stack ?? "",
        upstreamPhase: upstream?.phase ?? "",
        upstreamEnteredAt: upstream?.enteredAt ?? "",
        behindUntilSoaked: String(cfg.ring?.behindUntilSoaked ?? false),
        plaintextSecretKeys: plaintextSecretKeys.join(","),
        evidence,
        // Only when set: a stack without windows keeps its record's keepers.
        ...(cfg.windows !== undefined ? { windows: JSON.stringify(cfg.windows) } : {}),
    };
}

/**
 * The program's own refusals, each naming the config key: an illegal transition, a ring ahead
 * of its upstream, a promotion without passing evidence.
 */
export function guardErrors(cfg: StackConfig, from: Phase, upstream: UpstreamState | undefined, evidence: EvidenceVerdict, now: Date): string[] {
    const errors: string[] = [];
    const verdict = checkTransition(from, cfg.phase);
    if (!verdict.allowed) errors.push(`${NAMESPACE}:phase: ${verdict.reason}`);
    for (const r of checkRing({
        stack: cfg.stack,
        from,
        to: cfg.phase,
        upstream,
        behindUntilSoaked: cfg.ring?.behindUntilSoaked ?? false,
        soakSeconds: cfg.soakSeconds,
        now,
    })) {
        errors.push(`${NAMESPACE}:phase: ${r}`);
    }
    if (verdict.allowed) for (const r of evidence.reasons) errors.push(`${NAMESPACE}:phase: promotion from ${from} to ${cfg.phase} needs passing evidence: ${r}`);
    if (transition(from, cfg.phase).kind === "promotion") {
        const closed = windowRefusal(cfg.windows, now);
        if (closed !== undefined) errors.push(`${NAMESPACE}:windows: ${closed}`);
    }
    return errors;
}

export interface ProgramOptions {
    /** Folder of Pulumi.yaml (evidence and relative paths are read from here). */
    readonly projectDir?: string;
    /** The program's own guards (default: on unless PVE_MIGRATION_GUARDS=off). */
    readonly guards?: boolean;
    readonly now?: Date;
    /** The stack file's `config:` map (default: read from stacks/Pulumi.<stack>.yaml) for the secret-leaves check. */
    readonly stackFileConfig?: Record<string, unknown>;
}

export interface ProgramOutputs {
    /** The phase every node verified (the previous one while any node has not verified this run's). */
    phase?: Phase;
    /** When `phase` was entered: when its last node verified it (the soak clock). */
    phaseEnteredAt?: string;
    previousPhase?: Phase;
    cluster: string;
    ring: string;
    nodes: string[];
    /** The last transition every node verified. */
    transition?: { from: Phase; to: Phase; kind: string; id: string };
    steps: string[];
    /** What this run set out to do (also sent before any step runs). */
    attempt: Attempt;
    /** Per node, its last verify: this run's where it verified, else the previous one. */
    verified: Record<string, VerifiedNode>;
    /** The blue-green active color, when the stack has Kubernetes. */
    activeColor?: string;
}

export interface ProgramRun {
    /** What this run plans (known before any step runs). */
    readonly planned: {
        readonly basis: PlanBasis;
        readonly attempt: Attempt;
        readonly transition: { from: Phase; to: Phase; kind: string; id: string };
        readonly steps: string[];
        /** The command resources that run them (components/plan planCommands), in plan order. */
        readonly commands: string[];
    };
    /** The stack's outputs: settle once every verify step has (succeeded, failed or not run). */
    readonly outputs: Promise<ProgramOutputs>;
    /** Everything registered, for tests and the offline policy check to await. */
    readonly resources: {
        readonly cluster: ClusterMigration;
        readonly blueGreen?: BlueGreenRelease;
        readonly alerts?: AlertRules;
        readonly references: pulumi.StackReference[];
    };
}

/** The stack's outputs (what `index.ts` exports). */
export async function main(opts: ProgramOptions = {}): Promise<ProgramOutputs> {
    return (await run(opts)).outputs;
}

/** Read a stack reference's outputs; a stack that does not exist is a config error naming `key`. */
export async function readStack(ref: pulumi.StackReference, name: string, key: string): Promise<Record<string, unknown>> {
    try {
        return await readOutputs(ref);
    } catch (e) {
        // The engine's StackReference read fails for a stack the backend does not have
        // (pkg/resource/deploy/builtins.go readStackReference -> backendClient.GetStackOutputs).
        throw new ConfigError([
            `${NAMESPACE}:${key}: cannot read stack ${name}: ${(e as Error).message} (does it exist yet? deploy it first, or name it as org/project/stack)`,
        ]);
    }
}

export async function run(opts: ProgramOptions = {}): Promise<ProgramRun> {
    const projectDir = opts.projectDir ?? process.cwd();
    const guards = opts.guards ?? process.env[GUARDS_ENV] !== "off";
    const now = opts.now ?? new Date();
    const raw = rawConfigFromRuntime(projectDir);
    const cfg = parseStackConfig(raw, { guards });
    // blueGreen and monitoring are validated by parseStackConfig with the rest of the config.
    const { blueGreen, monitoring } = cfg;
    const nodeNames = cfg.nodes.map((n) => n.name);

    const selfName = `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}`;
    const self = new pulumi.StackReference("deployed", { name: selfName });
    const previousOutputs = await readStack(self, selfName, "phase");
    const deployed = readDeployedOutputs(previousOutputs);
    const references = [self];
    let upstream: UpstreamState | undefined;
    if (cfg.ring?.upstream) {
        const name = upstreamStackName(cfg.ring.upstream);
        const ref = new pulumi.StackReference("upstream", { name });
        references.push(ref);
        const up = readDeployedOutputs(await readStack(ref, name, "ring.upstream"));
        upstream = { stack: name.split("/").pop() as string, phase: up.phase, enteredAt: up.complete ? up.enteredAt : undefined };
    }
    let basis = planBasis(deployed, cfg.phase);
    if ("error" in basis) {
        if (guards) throw new ConfigError([`${NAMESPACE}:phase: ${basis.error}`]);
        // Guards off (the offline policy check): plan as the rollback from the highest phase would.
        const a = deployed.attempt as Attempt;
        basis = { kind: "recover", from: a.ceiling, fromEnteredAt: a.fromEnteredAt, floor: a.floor, ceiling: a.ceiling };
    }
    const from = basis.from;
    const evidence = evidenceVerdict(cfg, from, cfg.phase, projectDir);
    if (guards) {
        const errors = guardErrors(cfg, from, upstream, evidence, now);
        if (errors.length > 0) throw new ConfigError(errors);
    }

    // From here on the program registers resources: the SDK's per-promise stack capture off (see
    // quietStackCapture), back to what it was when the outputs are settled or the run throws.
    const restoreStacks = quietStackCapture();
    try {
        const r = register(cfg, raw, opts, {
            projectDir,
            now,
            from,
            basis,
            deployed,
            previousOutputs,
            upstream,
            evidence,
            references,
            blueGreen,
            monitoring,
            nodeNames,
        });
        r.outputs.then(restoreStacks, restoreStacks);
        return r;
    } catch (e) {
        restoreStacks();
        throw e;
    }
}

/** The environment variable that keeps the SDK's per-promise stacks (to debug the SDK or the program). */
export const STACK_TRACES_ENV = "PVE_MIGRATION_STACK_TRACES";

/**
 * Turn off the stack that the Node SDK captures for every promise it creates, while the program
 * registers resources; returns the function that restores the previous limit.
 *
 * @pulumi/pulumi runtime/debuggable.js `debuggablePromise` stores `new Error().stack` on every
 * internal promise (for its leak report); under `pulumi`, whose runner loads source-map-support,
 * each of those stacks is formatted through source maps, which was most of a 256-node run
 * (bench/results.md). With `Error.stackTraceLimit = 0` V8 captures no frames. The engine's
 * source positions are unaffected: resource.js `Resource.callsites` raises the limit to Infinity
 * itself for the one stack per resource it sends. Config errors are thrown before this (their
 * messages name the keys); an error thrown while registering keeps its message, and
 * PVE_MIGRATION_STACK_TRACES=1 keeps every stack.
 */
export function quietStackCapture(env: NodeJS.ProcessEnv = process.env): () => void {
    if (env[STACK_TRACES_ENV] === "1") return () => undefined;
    const previous = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    let restored = false;
    return () => {
        if (restored) return;
        restored = true;
        Error.stackTraceLimit = previous;
    };
}

interface RegisterContext {
    readonly projectDir: string;
    readonly now: Date;
    readonly from: Phase;
    readonly basis: Exclude<ReturnType<typeof planBasis>, { error: string }>;
    readonly deployed: ReturnType<typeof readDeployedOutputs>;
    readonly previousOutputs: Record<string, unknown>;
    readonly upstream: UpstreamState | undefined;
    readonly evidence: ReturnType<typeof evidenceVerdict>;
    readonly references: pulumi.StackReference[];
    readonly blueGreen: StackConfig["blueGreen"];
    readonly monitoring: StackConfig["monitoring"];
    readonly nodeNames: string[];
}

/** Register the resources of one run (`run` has checked the config and the guards). */
function register(cfg: StackConfig, raw: RawConfig, opts: ProgramOptions, ctx: RegisterContext): ProgramRun {
    const { projectDir, now, from, basis, deployed, previousOutputs, upstream, evidence, references, blueGreen, monitoring, nodeNames } = ctx;
    // The SSH private keys are read only when the transport needs them (SSH).
    const transport = transportFor(cfg, () => {
        const config = new pulumi.Config(NAMESPACE);
        return raw.secretKeys.has("sshPrivateKeys")
            ? config.requireSecretObject<Record<string, string>>("sshPrivateKeys")
            : pulumi.output(config.requireObject<Record<string, string>>("sshPrivateKeys"));
    });
    // The engine reports an object config with one secure leaf as secret as a whole
    // (isConfigSecret): the stack file's leaves say which are plaintext.
    const secretKeys = plaintextSecretKeys(plaintextSecrets(raw), opts.stackFileConfig ?? stackFileConfig(projectDir, raw.stack));
    const record = transitionRecord(cfg, from, basis.fromEnteredAt, upstream, evidence.summary, secretKeys);
    const t = transition(from, cfg.phase);
    const id = transitionId(record);
    const attempt: Attempt = { from, to: cfg.phase, id, fromEnteredAt: basis.fromEnteredAt, floor: basis.floor, ceiling: basis.ceiling };
    // First stack outputs event, before any step runs: if this run fails, is cancelled or skips a
    // node, the engine keeps the previous outputs with this `attempt` copied over them, so the next
    // run knows the nodes may be anywhere from its floor to its ceiling (components/deployed).
    const stackResource = pulumi.runtime.getStackResource();
    if (stackResource) pulumi.runtime.registerResourceOutputs(stackResource, { attempt });

    // The step library every node step runs from, as a file the transport stages on each node (components/scripts).
    const libraryFile = writeStepLibrary(path.join(projectDir, BUILD_DIR));
    const cluster = new ClusterMigration(cfg.cluster, { cfg, from, record, transport, libraryFile });
    let bg: BlueGreenRelease | undefined;
    if (blueGreen) {
        const config = new pulumi.Config(NAMESPACE);
        const kubeconfig = raw.secretKeys.has("kubeconfig") ? config.requireSecret("kubeconfig") : config.require("kubeconfig");
        bg = new BlueGreenRelease("pve-network-rs", { config: blueGreen, kubeconfig, now, projectDir });
    }
    const alerts = monitoring ? new AlertRules(`${cfg.cluster}-alert-rules`, { cfg, monitoring, transport, k8sProvider: bg?.provider }) : undefined;

    const planned = { basis, attempt, transition: { from, to: cfg.phase, kind: t.kind, id }, steps: cluster.stepIds, commands: cluster.commands.map((c) => c.id) };
    const outputs = (async (): Promise<ProgramOutputs> => {
        const verified: Record<string, VerifiedNode> = { ...deployed.verified };
        let all = true;
        for (const [name, node] of Object.entries(cluster.nodes)) {
            const stdout = await settledStdout(node.verify.stdout);
            let v: VerifiedNode | undefined;
            try {
                v = stdout === undefined ? undefined : parseVerified(stdout, name);
            } catch {
                v = undefined;
            }
            if (v && v.phase === cfg.phase) setOwn(verified, name, v);
            else all = false;
        }
        const common = {
            cluster: cfg.cluster,
            ring: cfg.ring?.name ?? cfg.stack,
            nodes: nodeNames,
            steps: cluster.stepIds,
            attempt,
            verified,
            ...(bg ? { activeColor: bg.activeColor } : {}),
        };
        if (!all) {
            // Not every node verified this run's phase: the previous phase stays the deployed one.
            const keep = Object.fromEntries(
                (["phase", "phaseEnteredAt", "previousPhase", "transition"] as const)
                    .filter((k) => previousOutputs[k] !== undefined)
                    .map((k) => [k, previousOutputs[k]]),
            );
            return { ...keep, ...common } as ProgramOutputs;
        }
        const phase = verifiedPhase(verified, nodeNames, cfg.phase);
        return {
            phase,
            phaseEnteredAt: enteredAt(deployed, phase, verified, nodeNames),
            previousPhase: from,
            transition: planned.transition,
            ...common,
        };
    })();
    return { planned, outputs, resources: { cluster, blueGreen: bg, alerts, references } };
}
