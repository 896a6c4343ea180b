/**
 * One measured run of the program plus the policy pack, in a process of its own (so that its
 * peak memory is its own): `node -r ts-node/register/transpile-only bench/program-child.ts
 * <request.json>`. Writes its ProgramSample as JSON to the request's `out` file.
 */
import * as fs from "fs";
import { PerformanceObserver } from "perf_hooks";
import { PHASES, Phase } from "../components/phases";

/** What the parent asks for. */
export interface ProgramRequest {
    readonly nodes: number;
    /** Deployed phase and configured phase: the transition the run plans. */
    readonly from: Phase;
    readonly to: Phase;
    /** Diagnosis of the cost: V8's own stack formatting instead of ts-node's source-mapped one. */
    readonly unmappedStacks?: boolean;
    /** Count the SDK's debuggable promises (each captures a stack trace) during the program. */
    readonly countPromises?: boolean;
    /** Where to write the result. */
    readonly out: string;
}

export interface ProgramSample {
    readonly nodes: number;
    readonly from: Phase;
    readonly to: Phase;
    /** Registrations (what the policy server sees). */
    readonly resources: number;
    /** Registrations per type. */
    readonly byType: Record<string, number>;
    /** Stack references read (reads, not registrations). */
    readonly stackReferences: number;
    /** Planned steps (the program's `steps` output). */
    readonly steps: number;
    /** Process start to modules loaded (node, ts-node, the SDKs, the program), ms. */
    readonly loadMs: number;
    readonly programMs: number;
    readonly policyMs: number;
    /** Garbage collection pauses during program + policies, ms. */
    readonly gcMs: number;
    /** Size of every registration's inputs as JSON, bytes (what the engine would store in the state). */
    readonly inputBytes: number;
    /**
     * The state the engine would keep for these resources, estimated: each resource's inputs, and
     * its outputs, which for a command repeat its inputs and add stdout and stderr (one decision line
     * of about 160 bytes per step, the verify line, nothing on stderr when it succeeds).
     */
    readonly stateBytes: number;
    /** Of which the node steps' scripts (the commands' stdin), bytes. */
    readonly scriptBytes: number;
    /** Peak resident set size of the process (getrusage), KiB. */
    readonly maxRssKiB: number;
    /** Resident set size once the modules are loaded, before the program runs, KiB. */
    readonly rssAfterLoadKiB: number;
    readonly policiesRun: number;
    /** Violations and policy errors (must be none: the benchmark config is a valid stack). */
    readonly problems: string[];
    /** Longest chain of node steps in the registered graph. */
    readonly registeredChain: string[];
    /** Command resources registered (the node steps' commands). */
    readonly commands: number;
    /** Longest chain in components/plan's plan for the same transition. */
    readonly planChain: string[];
    readonly unmappedStacks: boolean;
    /** SDK debuggable promises created during the program (countPromises only). */
    readonly promises?: number;
}

async function main(requestFile: string): Promise<void> {
    const req = JSON.parse(fs.readFileSync(requestFile, "utf8")) as ProgramRequest;
    if (!PHASES.includes(req.from) || !PHASES.includes(req.to)) throw new Error(`bad phases ${req.from} -> ${req.to}`);
    if (req.unmappedStacks) {
        // ts-node installed source-map-support's formatter at startup; V8 formats stacks itself without it.
        (Error as { prepareStackTrace?: unknown }).prepareStackTrace = undefined;
    }
    let promises = 0;
    if (req.countPromises) {
        const debuggable = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise: (p: Promise<unknown>, ctx: unknown) => Promise<unknown> };
        const original = debuggable.debuggablePromise;
        debuggable.debuggablePromise = (p, ctx) => {
            promises++;
            return original(p, ctx);
        };
    }
    const { recordRun, evaluatePolicies, policyProblems } = await import("./record");
    const { isNodeStep, longestChain, stepGraph } = await import("./graph");
    const { CLUSTER, nodeNames, ringValues } = await import("./stacks");
    const { planSteps, planCommands, commandCriticalPath } = await import("../components/plan");
    const loadMs = process.uptime() * 1000;
    const rssAfterLoadKiB = Math.round(process.memoryUsage().rss / 1024);
    if (req.unmappedStacks && (Error as { prepareStackTrace?: unknown }).prepareStackTrace !== undefined) {
        throw new Error("a module installed a stack formatter again; the unmapped-stacks diagnosis would be wrong");
    }

    let gcMs = 0;
    let counting = true;
    const gc = new PerformanceObserver((list) => {
        if (counting) for (const e of list.getEntries()) gcMs += e.duration;
    });
    gc.observe({ entryTypes: ["gc"] });
    promises = 0;
    const rec = await recordRun({ values: ringValues(req.nodes, req.to), deployed: req.from });
    const countedPromises = promises;
    const pol = await evaluatePolicies(rec.resources);
    const maxRssKiB = process.resourceUsage().maxRSS;
    // GC entries are delivered asynchronously: let the last ones arrive, then stop counting.
    await new Promise((resolve) => setTimeout(resolve, 50));
    counting = false;
    gc.disconnect();

    const byType: Record<string, number> = {};
    for (const r of rec.resources) byType[r.type] = (byType[r.type] ?? 0) + 1;
    const names = nodeNames(req.nodes);
    const plan = planSteps({ cluster: CLUSTER, from: req.from, to: req.to, nodes: names, scope: "cluster", writerNode: names[0] });
    const sample: ProgramSample = {
        nodes: req.nodes,
        from: req.from,
        to: req.to,
        resources: rec.resources.length,
        byType,
        stackReferences: rec.stackReferences,
        steps: rec.steps.length,
        loadMs,
        programMs: rec.ms,
        policyMs: pol.ms,
        gcMs,
        inputBytes: rec.resources.reduce((a, r) => a + Buffer.byteLength(JSON.stringify(r.props)), 0),
        stateBytes: rec.resources.reduce((a, r) => {
            const inputs = Buffer.byteLength(JSON.stringify(r.props));
            if (!isNodeStep(r)) return a + 2 * inputs;
            const steps = typeof r.props.create === "string" ? (r.props.create.match(/ '--transition' /g) ?? []).length : 1;
            return a + 2 * inputs + 160 * steps + (r.name.endsWith("-verify") ? 100 : 0);
        }, 0),
        scriptBytes: rec.resources.reduce((a, r) => a + (typeof r.props.stdin === "string" ? Buffer.byteLength(r.props.stdin) : 0), 0),
        maxRssKiB,
        rssAfterLoadKiB,
        policiesRun: pol.evaluation.policiesRun.length,
        problems: policyProblems(pol.evaluation),
        registeredChain: longestChain(stepGraph(rec.resources)),
        commands: rec.resources.filter(isNodeStep).length,
        planChain: commandCriticalPath(planCommands(plan)),
        unmappedStacks: req.unmappedStacks ?? false,
        ...(req.countPromises ? { promises: countedPromises } : {}),
    };
    fs.writeFileSync(req.out, JSON.stringify(sample));
}

if (require.main === module) {
    main(process.argv[2]).catch((e) => {
        process.stderr.write(`program-child: ${(e as Error).stack ?? e}\n`);
        process.exit(1);
    });
}
