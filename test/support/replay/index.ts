/**
 * Replay of registered resources: a stand-in for the Pulumi engine (and, through the providers in
 * executors.ts, for @pulumi/command). Tests only. It runs a program under the SDK's mock runtime
 * and EXECUTES what the program registers against an old state, with the engine's rules:
 *
 * - The program runs as the Node language host runs it: `runInPulumiStack(program)`
 *   (node_modules/@pulumi/pulumi/cmd/run/run.js runs the module inside it; runtime/stack.js
 *   Stack.initialize registers the returned object as the root stack's outputs in a `finally`).
 * - A step starts once every resource in its request's dependencies list has finished
 *   (dependsOn and input dependencies, both in RegisterResourceRequest.dependencies);
 *   independent steps run in parallel (`parallel` limits them, like `pulumi up --parallel`).
 * - Diff (pulumi-go-provider infer/resource.go `derivedResourceController.Diff` / `diff`): old
 *   inputs against new inputs; a changed key listed in the provider's replaceOnChanges (or in the
 *   resource's replaceOnChanges option) is a replace, any other change an update, no change a
 *   same step (nothing runs, old outputs are returned to the program).
 * - A failed create leaves nothing in state (infer/resource.go `Create`: a plain error returns an
 *   empty CreateResponse, no PartialState); a failed update keeps the old state (infer `Update`
 *   likewise returns no partial state, so the engine's snapshot keeps the old resource).
 * - On a failed step no new step starts and running steps finish (pulumi/pulumi
 *   pkg/resource/deploy/step_executor.go `executeChain` -> `cancelDueToError` -> `se.cancel()`
 *   without ContinueOnError). `cancelAfter` models a cancelled run the same way.
 *   The failed registration is answered with an error, so the program's outputs that depend on it
 *   reject (sdk runtime/resource.js registerResource: `resolveOutputs(..., effectiveErr)`).
 * - `targets` (`pulumi up --target`): an untargeted new resource is a skipped create
 *   (pkg/resource/deploy/step.go `NewSkippedCreateStep`: a SameStep; the program sees its outputs
 *   as unknown, it is not written to the state); an untargeted existing one keeps its old state.
 * - Resources in the old state that the program no longer registers are deleted after the
 *   program finished and every step succeeded (the step generator issues deletes when the program
 *   exits); untargeted ones stay. Replaced resources are created first and their old version
 *   deleted in that same final phase (create-before-delete; deleteBeforeReplace deletes first).
 *   Deletes run one at a time, dependents first (the engine runs independent deletes in
 *   parallel; the order between dependents is the same).
 * - Stack outputs: every RegisterResourceOutputs for the root stack is recorded; the engine keeps
 *   the last one (step_executor.go `executeRegisterResourceOutputs` saves `se.stackOutputsEvent`)
 *   and at the end (deployment_executor.go `Execute`, "Finalize the stack outputs") uses it as is
 *   on success, and on error copies its keys over the old outputs (`maps.Copy(outs, e.Outputs())`).
 *   No event: the old outputs stay. When the exported object depends on a failed resource,
 *   Stack.initialize's massage throws and its `finally` registers `undefined` outputs: with SDK
 *   3.270 that reaches the monitor as an EMPTY event (tested), which the error rule merges into
 *   the old outputs unchanged, the result TestStackOutputsResourceErrorNodeJS step2 expects.
 *   Unknown values are stored as the computed placeholder the
 *   checkpoint uses (pkg/resource/stack/deployment.go `computedValuePlaceholder`), which is the
 *   SDK's wire value for unknowns (sdk runtime/rpc.js `unknownValue`): the replay keeps the wire form.
 * - Preview: nothing executes; every step is reported with result "planned".
 *
 * Not modelled: ContinueOnError, refresh, imports, protect, retainOnDelete, aliases, a failed
 * delete of a replaced resource (the engine keeps it as pending delete), customTimeouts.delete of
 * removed resources (the old state's timeouts are not stored: deletes run without a deadline).
 */
import * as crypto from "crypto";
import * as fs from "fs";
import * as vm from "vm";
import * as pulumi from "@pulumi/pulumi";
import { MockMonitor } from "@pulumi/pulumi/runtime/mocks";
import * as rpc from "@pulumi/pulumi/runtime/rpc";
import * as settings from "@pulumi/pulumi/runtime/settings";
import { defaultProviders, inputsAsOutputsProvider } from "./executors";
import { ProviderContext, ReplayOp, ReplayOpKind, ReplayOptions, ReplayProvider, ReplayResourceState, ReplayRun, ReplayState } from "./types";

export * from "./types";
export { commandProvider, copyToRemoteProvider, defaultProviders, inputsAsOutputsProvider } from "./executors";

const SECRET_SIG = rpc.specialSecretSig;
const SIG_KEY = rpc.specialSigKey;
const STACK_TYPE = "pulumi:pulumi:Stack";
const STACK_REFERENCE = "pulumi:pulumi:StackReference";

/** What the replay learns from a RegisterResourceRequest before the mock's newResource runs. */
interface Pending {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    dependencies: string[];
    replaceOnChanges: string[];
    deleteBeforeReplace: boolean;
    timeouts: { create: string; update: string; delete: string };
    /** Set by newResource: answer the program with unknown outputs (skipped create, preview). */
    unknown: boolean;
}

type Finish = "ok" | "failed" | "not-run" | "skipped";

class ReplayMocks implements pulumi.runtime.Mocks {
    /** Filled synchronously by the registerResource wrapper right before newResource runs. */
    slot: Pending | undefined;
    constructor(readonly engine: ReplayEngine) {}

    newResource(args: pulumi.runtime.MockResourceArgs): Promise<pulumi.runtime.MockResourceResult> {
        const pending = this.slot;
        this.slot = undefined;
        return this.engine.register(args, pending);
    }

    call(args: pulumi.runtime.MockCallArgs): pulumi.runtime.MockCallResult {
        throw new Error(`replay: no invoke is modelled (${args.token})`);
    }
}

// The SDK's MockMonitor passes neither dependencies nor options to newResource, and ignores the
// stack's RegisterResourceOutputs: wrap both (runtime/mocks.js MockMonitor.registerResource calls
// mocks.newResource synchronously, before its first await, so a slot hands the request over).
const proto = MockMonitor.prototype as any;
if (!proto.__replayWrapped) {
    const originalRegister = proto.registerResource;
    proto.registerResource = function (this: { mocks: unknown; newUrn(p: string, t: string, n: string): string }, req: any, callback: any) {
        if (!(this.mocks instanceof ReplayMocks)) return originalRegister.call(this, req, callback);
        const ct = req.getCustomtimeouts?.();
        const pending: Pending = {
            urn: this.newUrn(req.getParent(), req.getType(), req.getName()),
            type: req.getType(),
            name: req.getName(),
            custom: req.getCustom(),
            dependencies: [...req.getDependenciesList()],
            replaceOnChanges: [...(req.getReplaceonchangesList?.() ?? [])],
            deleteBeforeReplace: Boolean(req.getDeletebeforereplace?.()),
            timeouts: { create: ct?.getCreate?.() ?? "", update: ct?.getUpdate?.() ?? "", delete: ct?.getDelete?.() ?? "" },
            unknown: false,
        };
        this.mocks.slot = pending;
        return originalRegister.call(this, req, (err: unknown, resp: any) => {
            if (!err && pending.unknown) resp.setUnknown(true);
            callback(err, resp);
        });
    };
    const originalOutputs = proto.registerResourceOutputs;
    proto.registerResourceOutputs = function (this: { mocks: unknown }, req: any, callback: any) {
        if (this.mocks instanceof ReplayMocks && req.getUrn().split("::")[2] === STACK_TYPE) {
            this.mocks.engine.stackOutputEvents.push((req.getOutputs()?.toJavaScript() ?? {}) as Record<string, unknown>);
        }
        return originalOutputs.call(this, req, callback);
    };
    proto.__replayWrapped = true;
}

/** Engine duration strings ("20m", "1h30m", "90s") to seconds, as the engine hands them to providers. */
export function durationSeconds(s: string): number {
    if (!s) return 0;
    const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/g;
    let total = 0;
    let consumed = 0;
    for (const m of s.matchAll(re)) {
        const n = Number(m[1]);
        total += m[2] === "h" ? n * 3600 : m[2] === "m" ? n * 60 : m[2] === "s" ? n : n / 1000;
        consumed += m[0].length;
    }
    if (consumed !== s.length) throw new Error(`replay: customTimeouts value ${JSON.stringify(s)} is not a duration`);
    return total;
}

/** Replace secret wrappers by their values and assets by JSON (for providers). */
function plain(v: unknown): any {
    if (Array.isArray(v)) return v.map(plain);
    if (v && typeof v === "object") {
        const o = v as Record<string, unknown>;
        if (o[SIG_KEY] === SECRET_SIG) return plain(o.value);
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(o)) out[k] = plain(x);
        return out;
    }
    return v;
}

/**
 * Inputs as JSON for the state: assets become `{__asset: {path | text, hash}}` with the sha256 of
 * their content, as the engine compares assets by hash (sdk/go/common/resource/asset Asset.Hash).
 */
async function toJson(v: unknown): Promise<unknown> {
    if (pulumi.asset.Asset.isInstance(v)) {
        const a = v as unknown as { path?: Promise<string>; text?: Promise<string>; uri?: Promise<string> };
        const [path, text, uri] = [await a.path, await a.text, await a.uri];
        const content = path !== undefined ? fs.readFileSync(path) : Buffer.from(text ?? uri ?? "");
        const hash = crypto.createHash("sha256").update(content).digest("hex");
        return { __asset: path !== undefined ? { path, hash } : text !== undefined ? { text, hash } : { uri, hash } };
    }
    if (pulumi.asset.Archive.isInstance(v)) throw new Error("replay: archives are not modelled");
    if (Array.isArray(v)) return Promise.all((v as unknown[]).map(toJson));
    if (v && typeof v === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (x !== undefined) out[k] = await toJson(x);
        return out;
    }
    return v;
}

function stableEqual(a: unknown, b: unknown): boolean {
    return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}
function sortKeys(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === "object") {
        const out: Record<string, unknown> = {};
        for (const k of Object.keys(v as object).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
        return out;
    }
    return v;
}

class Semaphore {
    private running = 0;
    private readonly queue: (() => void)[] = [];
    constructor(private readonly limit: number) {}
    async acquire(): Promise<void> {
        if (this.running < this.limit) {
            this.running++;
            return;
        }
        await new Promise<void>((resolve) => this.queue.push(resolve));
        this.running++;
    }
    release(): void {
        this.running--;
        this.queue.shift()?.();
    }
}

class ReplayEngine {
    readonly stackOutputEvents: Record<string, unknown>[] = [];
    readonly ops: ReplayOp[] = [];
    readonly errors: string[] = [];
    readonly warnings: string[] = [];
    /** Resources written by this run, by URN. */
    readonly news = new Map<string, ReplayResourceState>();
    /** URNs the program registered (custom resources). */
    readonly registered = new Set<string>();
    /** Old versions of replaced resources, deleted at the end. */
    readonly replacedOld: { state: ReplayResourceState; deleteBeforeReplace: boolean }[] = [];
    /** URNs of removed resources whose delete succeeded. */
    readonly deleted = new Set<string>();
    private readonly finished = new Map<string, Promise<Finish>>();
    private readonly running = new Set<Promise<unknown>>();
    private readonly old = new Map<string, ReplayResourceState>();
    private readonly providers: Record<string, ReplayProvider>;
    private readonly sem: Semaphore;
    private readonly t0 = Date.now();
    private readonly cancelPending: Set<string>;
    stopped = false;

    constructor(readonly opts: ReplayOptions) {
        for (const r of opts.oldState?.resources ?? []) this.old.set(r.urn, r);
        this.providers = { ...defaultProviders(), ...(opts.providers ?? {}) };
        this.sem = new Semaphore(opts.parallel ?? Number.POSITIVE_INFINITY);
        this.cancelPending = new Set(opts.cancelAfter ?? []);
    }

    private targeted(urn: string, name: string): boolean {
        return !this.opts.targets || this.opts.targets.includes(name) || this.opts.targets.includes(urn);
    }

    private now(): number {
        return Date.now() - this.t0;
    }

    stop(reason: string): void {
        if (!this.stopped) this.errors.push(reason);
        this.stopped = true;
    }

    /** The mock's newResource: answers stack references, registers components, runs custom resources. */
    async register(args: pulumi.runtime.MockResourceArgs, pending: Pending | undefined): Promise<pulumi.runtime.MockResourceResult> {
        if (args.type === STACK_REFERENCE) return this.stackReference(args.inputs.name as string);
        if (!pending) throw new Error(`replay: ${args.type} ${args.name} registered without a request`);
        if (!args.custom) return { id: undefined, state: {} };
        if (this.registered.has(pending.urn)) throw new Error(`replay: duplicate resource URN ${pending.urn}`);
        this.registered.add(pending.urn);
        const step = this.step(args, pending);
        const tracked = step.then(
            () => undefined,
            () => undefined,
        );
        this.running.add(tracked);
        this.finished.set(
            pending.urn,
            step.then(
                (r) => r.finish,
                () => "failed" as const,
            ),
        );
        const r = await step;
        if (r.error) throw new Error(r.error);
        return { id: r.id, state: r.outputs };
    }

    private stackReference(name: string): pulumi.runtime.MockResourceResult {
        const self = `${this.opts.organization ?? "organization"}/${this.opts.project}/${this.opts.stack}`;
        let outputs: Record<string, unknown>;
        let secretOutputNames: string[] = [];
        if (name === self) {
            const wire = this.opts.oldState?.stackOutputs ?? {};
            outputs = {};
            for (const [k, v] of Object.entries(wire)) {
                if (v && typeof v === "object" && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG) secretOutputNames.push(k);
                outputs[k] = plain(v);
            }
        } else {
            outputs = this.opts.stacks?.[name] ?? {};
            secretOutputNames = [];
        }
        return { id: name, state: { name, outputs, secretOutputNames } };
    }

    private async step(
        args: pulumi.runtime.MockResourceArgs,
        p: Pending,
    ): Promise<{ finish: Finish; id?: string; outputs: Record<string, unknown>; error?: string }> {
        // Wait for every dependency to finish (components and stack references are not steps).
        const deps = await Promise.all(p.dependencies.map((d) => this.finished.get(d) ?? Promise.resolve<Finish>("ok")));
        const old = this.old.get(p.urn);
        const inputs = (await toJson(args.inputs)) as Record<string, unknown>;
        // Explicit provider resources (pulumi:providers:*) are configured by the engine, nothing runs.
        const provider = this.providers[p.type] ?? (p.type.startsWith("pulumi:providers:") ? inputsAsOutputsProvider() : undefined);
        const targeted = this.targeted(p.urn, p.name);
        const kind: ReplayOpKind = !targeted ? "same" : !old ? "create" : this.diff(old, inputs, p, provider);
        const op: ReplayOp = { name: p.name, type: p.type, urn: p.urn, op: kind, result: "not-run", ran: false, durationMs: 0, startedAt: 0, endedAt: 0 };
        this.ops.push(op);
        const notRun = (why: string) => {
            op.startedAt = op.endedAt = this.now();
            return { finish: "not-run" as Finish, outputs: {}, error: `replay: ${p.name} not run: ${why}` };
        };
        if (deps.some((d) => d === "failed" || d === "not-run")) return notRun("a dependency did not complete");
        if (!targeted) {
            op.result = "skipped";
            op.startedAt = op.endedAt = this.now();
            if (old) {
                return { finish: "skipped", id: old.id, outputs: old.outputs };
            }
            p.unknown = true; // NewSkippedCreateStep: the program sees unknown outputs; nothing is stored.
            return { finish: "skipped", id: "", outputs: {} };
        }
        if (kind === "same") {
            op.result = "ok";
            op.startedAt = op.endedAt = this.now();
            this.news.set(p.urn, { ...old!, inputs, dependencies: p.dependencies });
            return { finish: "ok", id: old!.id, outputs: old!.outputs };
        }
        if (this.opts.preview) {
            op.result = "planned";
            op.startedAt = op.endedAt = this.now();
            p.unknown = true; // a preview's create/update outputs are unknown to the program
            return { finish: "ok", id: old?.id ?? "", outputs: {} };
        }
        await this.sem.acquire();
        try {
            if (this.stopped) return notRun("the deployment stopped (a step failed or the run was cancelled)");
            op.startedAt = this.now();
            const ctx = this.context(p, inputs, kind === "update" ? old : undefined, kind === "update" ? p.timeouts.update : p.timeouts.create);
            try {
                if (!provider) throw new Error(`replay: no provider for type ${p.type} (pass one in options.providers)`);
                const injected = this.opts.fail?.(p.name);
                if (injected !== undefined) throw new Error(injected);
                op.ran = true;
                if (kind === "replace" && p.deleteBeforeReplace) await this.deleteOld(old!, ctx.capMs);
                const res = kind === "update" ? await provider.update(ctx) : await provider.create(ctx);
                op.ran = res.ran || (kind === "replace" && p.deleteBeforeReplace && op.ran);
                op.result = "ok";
                // local/commandController.go Create: resource.NewUniqueHex(name, 8, 0) (name + 8 random hex digits).
                const id = kind === "update" ? old!.id : `${p.name}${crypto.randomBytes(4).toString("hex")}`;
                // Outputs = inputs (as registered, secret wrappers kept) + what the provider adds;
                // inputs the provider schema marks secret are wrapped as secrets.
                const merged: Record<string, unknown> = { ...inputs };
                for (const k of provider.secretInputs ?? []) {
                    const v = merged[k];
                    if (v !== undefined && !(v && typeof v === "object" && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG))
                        merged[k] = { [SIG_KEY]: SECRET_SIG, value: v };
                }
                const outputs = { ...merged, ...((await rpc.serializeProperties("replay", res.outputs)) as Record<string, unknown>) };
                this.news.set(p.urn, { urn: p.urn, type: p.type, name: p.name, id, inputs, outputs, dependencies: p.dependencies });
                if (kind === "replace" && !p.deleteBeforeReplace) this.replacedOld.push({ state: old!, deleteBeforeReplace: false });
                return { finish: "ok", id, outputs };
            } catch (e) {
                op.result = "failed";
                op.error = (e as Error).message;
                // A failed update keeps the old state, a failed create leaves nothing (no partial state):
                // nothing is written to `news`, so the old version (if any) stays.
                if (old && kind === "replace" && p.deleteBeforeReplace) this.deleted.add(p.urn);
                this.stop(`${p.name}: ${op.error}`);
                return { finish: "failed", outputs: {}, error: op.error };
            } finally {
                op.endedAt = this.now();
                op.durationMs = op.endedAt - op.startedAt;
                if (this.cancelPending.delete(p.name) && this.cancelPending.size === 0) this.stop("replay: the run was cancelled (cancelAfter)");
            }
        } finally {
            this.sem.release();
        }
    }

    private diff(old: ReplayResourceState, inputs: Record<string, unknown>, p: Pending, provider: ReplayProvider | undefined): ReplayOpKind {
        const keys = new Set([...Object.keys(old.inputs), ...Object.keys(inputs)].filter((k) => !k.startsWith("__")));
        const changed = [...keys].filter((k) => !stableEqual(old.inputs[k], inputs[k]));
        if (changed.length === 0) return "same";
        const replaceKeys = new Set([...(provider?.replaceOnChanges ?? []), ...p.replaceOnChanges]);
        if (p.replaceOnChanges.includes("*") || !(provider?.hasUpdate ?? true) || changed.some((k) => replaceKeys.has(k))) return "replace";
        return "update";
    }

    private context(
        p: { name: string; type: string; urn: string },
        inputs: Record<string, unknown>,
        old: ReplayResourceState | undefined,
        timeout: string,
    ): ProviderContext {
        return {
            name: p.name,
            type: p.type,
            urn: p.urn,
            inputs: plain(inputs),
            old: old ? { inputs: plain(old.inputs), outputs: plain(old.outputs) } : undefined,
            timeoutSeconds: durationSeconds(timeout),
            capMs: this.opts.stepCapMs ?? 120_000,
            warn: (m) => this.warnings.push(`${p.name}: ${m}`),
        };
    }

    private async deleteOld(state: ReplayResourceState, capMs: number): Promise<boolean> {
        const provider = this.providers[state.type];
        if (!provider) throw new Error(`replay: no provider for type ${state.type} (pass one in options.providers)`);
        const ctx: ProviderContext = {
            ...this.context(state, state.inputs, state, ""),
            inputs: plain(state.inputs),
            capMs,
        };
        return (await provider.delete(ctx)).ran;
    }

    /** Wait for every step this run started. */
    async drain(): Promise<void> {
        while (this.running.size > 0) {
            const all = [...this.running];
            await Promise.all(all);
            for (const p of all) this.running.delete(p);
        }
    }

    /** The final phase: deletes of removed and replaced resources, dependents first, one at a time. */
    async deletes(): Promise<void> {
        // A stopped deployment never reaches the point where the step generator issues deletes.
        if (this.stopped && !this.opts.preview) return;
        const removed = [...this.old.values()].filter((r) => !this.registered.has(r.urn));
        const isRemoved = new Set(removed.map((r) => r.urn));
        const toDelete = [...removed.filter((r) => this.targeted(r.urn, r.name)), ...this.replacedOld.map((x) => x.state)];
        const order = [...toDelete].reverse(); // registration order reversed: dependents before their dependencies
        for (const r of order) {
            const op: ReplayOp = {
                name: r.name,
                type: r.type,
                urn: r.urn,
                op: "delete",
                result: "not-run",
                ran: false,
                durationMs: 0,
                startedAt: this.now(),
                endedAt: 0,
            };
            this.ops.push(op);
            if (this.opts.preview || this.stopped) {
                op.result = this.opts.preview ? "planned" : "not-run"; // not-run: an earlier delete failed
                op.endedAt = op.startedAt;
                continue;
            }
            try {
                const injected = this.opts.fail?.(r.name);
                if (injected !== undefined) throw new Error(injected);
                op.ran = await this.deleteOld(r, this.opts.stepCapMs ?? 120_000);
                op.result = "ok";
                if (isRemoved.has(r.urn)) this.deleted.add(r.urn);
            } catch (e) {
                op.result = "failed";
                op.error = (e as Error).message;
                this.stop(`${r.name}: ${op.error}`);
            } finally {
                op.endedAt = this.now();
                op.durationMs = op.endedAt - op.startedAt;
            }
        }
    }

    /**
     * The new state: old resources in their order (updated, kept, or gone when deleted), then new
     * resources in registration order. A resource whose step did not run keeps its old version.
     */
    state(stackOutputs: Record<string, unknown>): ReplayState {
        const resources: ReplayResourceState[] = [];
        const seen = new Set<string>();
        for (const r of this.opts.oldState?.resources ?? []) {
            seen.add(r.urn);
            if (this.deleted.has(r.urn)) continue;
            resources.push(this.news.get(r.urn) ?? r);
        }
        for (const [urn, r] of this.news) if (!seen.has(urn)) resources.push(r);
        return JSON.parse(JSON.stringify({ resources, stackOutputs }));
    }
}

function withCap<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const cap = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
    return Promise.race([p, cap]).finally(() => clearTimeout(timer));
}

/** Run `opts.program` through the replay and return what the engine would have done and saved. */
export async function replay(opts: ReplayOptions): Promise<ReplayRun> {
    const engine = new ReplayEngine(opts);
    const mocks = new ReplayMocks(engine);
    await pulumi.runtime.setMocks(mocks, opts.project, opts.stack, opts.preview ?? false, opts.organization ?? "organization");
    pulumi.runtime.setAllConfig({ ...(opts.config?.values ?? {}) }, [...(opts.config?.secretKeys ?? [])]);
    // The language host turns unhandled rejections into program errors (cmd/run/run.js
    // `uncaughtHandler`, installed with process.on("unhandledRejection")): so does the replay, in
    // place of whoever listened before (jest's handler), restored afterwards. Under jest the
    // `process` a test sees is a copy (jest-util createProcessObject) that never receives the
    // event: the real one is the main context's (vm.runInThisContext runs there).
    const real = vm.runInThisContext("process") as NodeJS.Process;
    const saved = real.listeners("unhandledRejection");
    const unhandled = (reason: unknown) => {
        const msg = reason instanceof Error ? reason.message : String(reason);
        if (!engine.errors.includes(`program: ${msg}`)) engine.errors.push(`program: ${msg}`);
    };
    real.removeAllListeners("unhandledRejection");
    real.on("unhandledRejection", unhandled);
    let programFailed = false;
    try {
        const capMs = opts.programCapMs ?? 300_000;
        try {
            const run = (async () => {
                await pulumi.runtime.runInPulumiStack(async () => opts.program());
                await (settings as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
            })();
            await withCap(run, capMs, `replay safety cap: the program did not finish within ${capMs} ms; the engine would still be waiting`);
        } catch (e) {
            programFailed = true;
            engine.errors.push(`program: ${(e as Error).message}`);
        }
        await engine.drain();
        if (programFailed && !engine.stopped) engine.stop("replay: the program failed");
        await engine.deletes();
        // Give late rejections one turn to be reported before the handler is removed.
        await new Promise((r) => setImmediate(r));
    } finally {
        real.off("unhandledRejection", unhandled);
        for (const l of saved) real.on("unhandledRejection", l as (...a: unknown[]) => void);
    }
    const errored = engine.stopped || engine.errors.length > 0;
    const old = opts.oldState?.stackOutputs ?? {};
    const last = engine.stackOutputEvents[engine.stackOutputEvents.length - 1];
    const stackOutputs = opts.preview ? old : last === undefined ? old : errored ? { ...old, ...last } : last;
    return {
        state: engine.state(stackOutputs),
        ops: engine.ops,
        stackOutputs: JSON.parse(JSON.stringify(stackOutputs)),
        stackOutputEvents: engine.stackOutputEvents,
        errored,
        errors: engine.errors,
        warnings: engine.warnings,
    };
}
