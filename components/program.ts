/**
 * The Pulumi program: validate the stack config, read what this ring and its upstream ring
 * have deployed (stack references; the stack reads its own last outputs), refuse an unsafe
 * transition before anything is registered, then register the cluster's steps.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError, NAMESPACE, RawConfig, SECRET_CONFIG_KEYS, StackConfig, parseStackConfig } from "./config/schema";
import { evidencePath, gateEvidence } from "./evidence";
import { Phase, checkTransition, isPhase, transition } from "./phases";
import { checkRing, UpstreamState } from "./rings";
import { ClusterMigration, TransitionRecord } from "./cluster";
import { localTransport, sshTransport, Transport } from "./node/transport";
import { BlueGreenRelease, parseBlueGreenConfig } from "./bluegreen";
import { AlertRules, parseMonitoringConfig } from "./monitoring";

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

export interface DeployedState {
    readonly phase?: Phase;
    readonly enteredAt?: string;
}

/** What a stack has deployed, from its outputs (undefined fields: never deployed). */
export async function readDeployed(ref: pulumi.StackReference): Promise<DeployedState> {
    const phase = (await ref.getOutputDetails("phase")).value;
    const enteredAt = (await ref.getOutputDetails("phaseEnteredAt")).value;
    return {
        phase: isPhase(phase) ? phase : undefined,
        enteredAt: typeof enteredAt === "string" ? enteredAt : undefined,
    };
}

/** Secret-class keys present in the config without the secret mark. */
export function plaintextSecrets(raw: RawConfig): string[] {
    return SECRET_CONFIG_KEYS.filter((k) => k in raw.values && !raw.secretKeys.has(k));
}

export interface EvidenceVerdict {
    /** "" when not a promotion; else a JSON summary the policy reads. */
    readonly summary: string;
    /** Why the evidence does not allow the promotion (empty: it does, or none needed). */
    readonly reasons: string[];
}

/** Evidence for leaving `from` by promotion (design.md section 6), summarised for the transition record. */
export function evidenceVerdict(cfg: StackConfig, from: Phase, to: Phase, projectDir: string): EvidenceVerdict {
    if (transition(from, to).kind !== "promotion") return { summary: "", reasons: [] };
    const file = path.join(projectDir, evidencePath(cfg.stack, from));
    const { evidence: ev, reasons, ...gate } = gateEvidence({
        stack: cfg.stack,
        from,
        nodes: cfg.nodes.map((n) => n.name),
        soakSeconds: cfg.soakSeconds[from],
        requireEvidence: cfg.gates.requireEvidence,
        requireEvidenceKey: `${NAMESPACE}:gates.requireEvidence`,
        maxLatencyRatio: cfg.gates.maxLatencyRatio,
        text: fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined,
    });
    const summary = {
        ...gate,
        ...(ev
            ? {
                  phase: ev.phase,
                  fallbacks: ev.metrics.fallbacks,
                  contractCompared: ev.contractTests.endpointsCompared,
                  contractFailed: ev.contractTests.failed,
                  applyLatencySeconds: ev.metrics.applyLatencySeconds,
                  perlBaselineSeconds: ev.metrics.perlBaselineSeconds,
              }
            : {}),
    };
    return { summary: JSON.stringify(summary), reasons };
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
    return errors;
}

export interface ProgramOptions {
    /** Folder of Pulumi.yaml (evidence and relative paths are read from here). */
    readonly projectDir?: string;
    /** The program's own guards (default: on unless PVE_MIGRATION_GUARDS=off). */
    readonly guards?: boolean;
    readonly now?: Date;
}

export interface ProgramOutputs {
    phase: Phase;
    phaseEnteredAt: string;
    previousPhase: Phase;
    cluster: string;
    ring: string;
    nodes: string[];
    transition: { from: Phase; to: Phase; kind: string; id: string };
    steps: string[];
    /** The blue-green active color, when the stack has Kubernetes. */
    activeColor?: string;
}

export interface ProgramRun {
    readonly outputs: ProgramOutputs;
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

export async function run(opts: ProgramOptions = {}): Promise<ProgramRun> {
    const projectDir = opts.projectDir ?? process.cwd();
    const guards = opts.guards ?? process.env[GUARDS_ENV] !== "off";
    const now = opts.now ?? new Date();
    const raw = rawConfigFromRuntime(projectDir);
    const cfg = parseStackConfig(raw, { guards });
    const blueGreen = cfg.blueGreen !== undefined ? parseBlueGreenConfig(cfg.blueGreen) : undefined;
    const monitoring = cfg.monitoring !== undefined ? parseMonitoringConfig(cfg.monitoring, cfg) : undefined;

    const self = new pulumi.StackReference("deployed", { name: `${pulumi.getOrganization()}/${pulumi.getProject()}/${pulumi.getStack()}` });
    const deployed = await readDeployed(self);
    // A stack that has never deployed starts from perl-only (the runbook's starting point).
    const from: Phase = deployed.phase ?? "perl-only";
    const references = [self];
    let upstream: UpstreamState | undefined;
    if (cfg.ring?.upstream) {
        const ref = new pulumi.StackReference("upstream", { name: cfg.ring.upstream });
        references.push(ref);
        const up = await readDeployed(ref);
        upstream = { stack: cfg.ring.upstream.split("/").pop() as string, phase: up.phase ?? "perl-only", enteredAt: up.enteredAt };
    }
    const evidence = evidenceVerdict(cfg, from, cfg.phase, projectDir);
    if (guards) {
        const errors = guardErrors(cfg, from, upstream, evidence, now);
        if (errors.length > 0) throw new ConfigError(errors);
    }

    let transport: Transport;
    if (cfg.transport === "local") {
        transport = localTransport();
    } else {
        const config = new pulumi.Config(NAMESPACE);
        const keys = raw.secretKeys.has("sshPrivateKeys")
            ? config.requireSecretObject<Record<string, string>>("sshPrivateKeys")
            : pulumi.output(config.requireObject<Record<string, string>>("sshPrivateKeys"));
        transport = sshTransport(cfg, keys);
    }
    const cluster = new ClusterMigration(cfg.cluster, {
        cfg,
        from,
        record: transitionRecord(cfg, from, deployed.enteredAt ?? "", upstream, evidence.summary, plaintextSecrets(raw)),
        transport,
    });
    let bg: BlueGreenRelease | undefined;
    if (blueGreen) {
        const config = new pulumi.Config(NAMESPACE);
        const kubeconfig = raw.secretKeys.has("kubeconfig") ? config.requireSecret("kubeconfig") : config.require("kubeconfig");
        bg = new BlueGreenRelease("pve-network-rs", { config: blueGreen, kubeconfig, now, projectDir });
    }
    const alerts = monitoring
        ? new AlertRules(`${cfg.cluster}-alert-rules`, { cfg, monitoring, transport, k8sProvider: bg?.provider })
        : undefined;

    const t = transition(from, cfg.phase);
    const outputs: ProgramOutputs = {
        phase: cfg.phase,
        phaseEnteredAt: t.kind === "none" && deployed.enteredAt ? deployed.enteredAt : now.toISOString(),
        previousPhase: from,
        cluster: cfg.cluster,
        ring: cfg.ring?.name ?? cfg.stack,
        nodes: cfg.nodes.map((n) => n.name),
        transition: { from, to: cfg.phase, kind: t.kind, id: cluster.transitionId },
        steps: cluster.stepIds,
        ...(bg ? { activeColor: bg.activeColor } : {}),
    };
    return { outputs, resources: { cluster, blueGreen: bg, alerts, references } };
}
