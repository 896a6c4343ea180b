/**
 * `migration-ctl health`: is the set of stacks consistent? Pure.
 *
 *  - every stack file is valid YAML and a valid stack config;
 *  - phase uniformity where it must hold: all stacks of one cluster whose migration config is
 *    the cluster-wide file (scope `cluster`) are in the same phase and use the same file
 *    (pmxcfs: one file for the whole cluster); node-scoped canaries may differ. Checked on the
 *    configured phases, and on the deployed ones where known. No node is in two stacks of
 *    the same cluster (a node is in exactly one phase);
 *  - ring order across all stacks: every upstream exists, no cycle, and each ring could be in
 *    its configured phase given its upstream (checkRing, as if entering that phase now; the
 *    upstream's soak from its deployed outputs or passing evidence); deployed phases too where
 *    both are known;
 *  - soak status per stack (information): time in phase, required soak, and whether the
 *    evidence for the next promotion is present and passing; evidence that is present but not
 *    valid per the schema is a problem.
 */
import { NAMESPACE } from "../config/schema";
import { evidencePath, parseEvidence } from "../evidence";
import { Phase, nextPhase, phaseIndex, previousPhase } from "../phases";
import { DeployedJson, deployedJson } from "./deployed";
import { Context, EvidenceReport, Loaded, evidenceGate, resolveUpstream, ringReasons } from "./rules";

export interface SoakStatus {
    readonly phase: Phase;
    readonly requiredSeconds: number;
    readonly enteredAt: string | null;
    readonly enteredAtSource: "deployed" | "evidence" | "unknown";
    readonly soakedSeconds: number | null;
    /** null when the entry time is unknown and a soak is required. */
    readonly soaked: boolean | null;
    readonly next: Phase | null;
    /** The evidence for promoting to `next` (null at rust-full). */
    readonly evidence: EvidenceReport | null;
}

export interface HealthStack {
    readonly stack: string;
    readonly file: string;
    readonly phase: Phase | null;
    readonly deployed: DeployedJson;
    readonly cluster: string | null;
    readonly scope: "cluster" | "node" | null;
    readonly nodes: string[];
    readonly upstream: string | null;
    readonly soak: SoakStatus | null;
    readonly notes: string[];
}

export interface HealthReport {
    readonly schemaVersion: 1;
    readonly command: "health";
    readonly now: string;
    /**
     * `problems`: at least one problem; `deployed-unknown`: none, but no stack's deployed phase
     * is known, so only the configured phases were checked; `ok`: none, deployed states checked
     * where known.
     */
    readonly status: "ok" | "problems" | "deployed-unknown";
    /** status is `ok`. */
    readonly ok: boolean;
    readonly problems: string[];
    readonly stacks: HealthStack[];
}

function soakStatus(l: Extract<Loaded, { ok: true }>, ctx: Context, problems: string[]): SoakStatus | null {
    const s = l.stack;
    const cfg = s.config;
    if (!cfg || !s.phase) return null;
    const phase = s.phase;
    const required = cfg.soakSeconds[phase];
    const dep = ctx.deployed(s.stack);
    let enteredAt: string | null = null;
    let source: SoakStatus["enteredAtSource"] = "unknown";
    if (dep.known && !dep.neverDeployed && dep.phase === phase && dep.phaseEnteredAt) {
        enteredAt = dep.phaseEnteredAt;
        source = "deployed";
    }
    const rel = evidencePath(s.stack, phase);
    const text = ctx.readFile(rel);
    if (text !== undefined) {
        const parsed = parseEvidence(text);
        if (!parsed.ok) {
            problems.push(`${rel}: not valid evidence: ${parsed.errors.join("; ")}`);
        } else if (source === "unknown" && parsed.value.stack === s.stack && parsed.value.phase === phase) {
            enteredAt = parsed.value.phaseEnteredAt;
            source = "evidence";
        }
    }
    const soakedSeconds = enteredAt === null ? null : Math.max(0, Math.floor((ctx.now.getTime() - Date.parse(enteredAt)) / 1000));
    const next = nextPhase(phase) ?? null;
    return {
        phase,
        requiredSeconds: required,
        enteredAt,
        enteredAtSource: source,
        soakedSeconds,
        soaked: required === 0 ? true : soakedSeconds === null ? null : soakedSeconds >= required,
        next,
        evidence: next === null ? null : evidenceGate(cfg, phase, ctx),
    };
}

function ringCycle(start: string, stacks: ReadonlyMap<string, Loaded>): string[] | undefined {
    const seen: string[] = [];
    let cur: string | undefined = start;
    while (cur !== undefined) {
        if (seen.includes(cur)) return cur === start ? [...seen, cur] : undefined;
        seen.push(cur);
        const l = stacks.get(cur);
        cur = l?.ok ? l.stack.upstream : undefined;
    }
    return undefined;
}

export function healthReport(stacks: ReadonlyMap<string, Loaded>, ctx: Context): HealthReport {
    const problems: string[] = [];
    const out: HealthStack[] = [];
    const names = [...stacks.keys()].sort();
    for (const name of names) {
        const l = stacks.get(name)!;
        const dep = ctx.deployed(name);
        if (!l.ok) {
            problems.push(l.error);
            out.push({
                stack: name,
                file: l.file,
                phase: null,
                deployed: deployedJson(dep),
                cluster: null,
                scope: null,
                nodes: [],
                upstream: null,
                soak: null,
                notes: [],
            });
            continue;
        }
        const s = l.stack;
        problems.push(...s.errors);
        const notes = [...s.notes];
        if (dep.known && s.phase && dep.phase !== s.phase) {
            notes.push(`configured ${s.phase}, deployed ${dep.neverDeployed ? "nothing yet" : dep.phase}: pending pulumi up --stack ${name}`);
        }
        out.push({
            stack: name,
            file: s.file,
            phase: s.phase ?? null,
            deployed: deployedJson(dep),
            cluster: s.config?.cluster ?? null,
            scope: s.config?.migrationConfig.scope ?? null,
            nodes: s.config?.nodes.map((n) => n.name) ?? [],
            upstream: s.upstream ?? null,
            soak: soakStatus(l, ctx, problems),
            notes,
        });
    }

    // Uniformity of cluster-wide migration configs, and one stack per node.
    const byCluster = new Map<string, HealthStack[]>();
    for (const h of out) if (h.cluster !== null) byCluster.set(h.cluster, [...(byCluster.get(h.cluster) ?? []), h]);
    for (const [cluster, members] of byCluster) {
        const wide = members.filter((m) => m.scope === "cluster");
        const paths = new Set(wide.map((m) => (stacks.get(m.stack) as Extract<Loaded, { ok: true }>).stack.config!.migrationConfig.path));
        if (paths.size > 1) {
            problems.push(
                `cluster ${cluster}: stacks ${wide.map((m) => m.stack).join(", ")} use different cluster-wide migration configs (${[...paths].join(", ")}); a cluster has one`,
            );
        }
        const list = (get: (m: HealthStack) => Phase | null) => wide.map((m) => `${m.stack} ${get(m)}`).join(", ");
        if (new Set(wide.map((m) => m.phase)).size > 1) {
            problems.push(
                `cluster ${cluster}: stacks sharing the cluster-wide migration config are configured in different phases (${list((m) => m.phase)}); every node reading one cluster-wide file is in one phase`,
            );
        }
        const deployedWide = wide.filter((m) => m.deployed.known);
        if (new Set(deployedWide.map((m) => m.deployed.phase)).size > 1) {
            problems.push(
                `cluster ${cluster}: stacks sharing the cluster-wide migration config are deployed in different phases (${deployedWide.map((m) => `${m.stack} ${m.deployed.phase}`).join(", ")})`,
            );
        }
        const owner = new Map<string, string>();
        for (const m of members) {
            for (const n of m.nodes) {
                const prev = owner.get(n);
                if (prev !== undefined) problems.push(`cluster ${cluster}: node ${n} is in stacks ${prev} and ${m.stack}; a node is in exactly one ring`);
                else owner.set(n, m.stack);
            }
        }
    }

    // Ring order.
    for (const name of names) {
        const l = stacks.get(name)!;
        if (!l.ok || l.stack.upstream === undefined) continue;
        const s = l.stack;
        const cycle = ringCycle(name, stacks);
        if (cycle) {
            problems.push(`${s.file}: ${NAMESPACE}:ring.upstream: rings form a cycle (${cycle.join(" -> ")})`);
            continue;
        }
        const up = resolveUpstream(s, stacks, ctx);
        if (up === undefined) continue;
        if (!up.ok) {
            problems.push(up.error);
            continue;
        }
        if (s.config && s.phase && phaseIndex(s.phase) > 0) {
            for (const r of ringReasons(s.config, previousPhase(s.phase)!, s.phase, up.info, ctx.now, undefined, true)) problems.push(`configured: ${r}`);
        }
        const dep = ctx.deployed(name);
        const upDep = ctx.deployed(up.info.state.stack, s.upstreamRef);
        if (s.config && dep.known && upDep.known && phaseIndex(dep.phase) > 0) {
            const state = { stack: up.info.state.stack, phase: upDep.phase, enteredAt: upDep.phaseEnteredAt };
            for (const r of ringReasons(s.config, previousPhase(dep.phase)!, dep.phase, { ...up.info, state }, ctx.now, undefined, true))
                problems.push(`deployed: ${r}`);
        }
    }
    const status = problems.length > 0 ? "problems" : out.length > 0 && out.every((h) => !h.deployed.known) ? "deployed-unknown" : "ok";
    return { schemaVersion: 1, command: "health", now: ctx.now.toISOString(), status, ok: status === "ok", problems, stacks: out };
}
