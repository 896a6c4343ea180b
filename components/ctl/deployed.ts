/**
 * What a stack has deployed, from the outputs the Pulumi program exports (`phase`,
 * `phaseEnteredAt`, `previousPhase`, ...). Three sources, in this order:
 *
 *  - `--deployed-file FILE`: a JSON object `{ "<stack>": <outputs of that stack> }`, each value
 *    shaped like `pulumi stack output --json --stack <stack>` prints it (`{}`: never deployed).
 *    A stack the file does not list is not known from it (`known: false`): migration-ctl
 *    reports it as unknown and guesses nothing; the offline policy check takes it as deployed
 *    in its configured phase, as it does without the flag. For tests, and for pipelines that
 *    fetch the outputs themselves. The one parser of the flag (migration-ctl and the policy check).
 *  - a `pulumi` binary on PATH: `pulumi stack output --json --stack <stack>` in the repository
 *    (for an upstream ring, its fully qualified `org/project/stack` name).
 *  - otherwise: unknown ("no pulumi CLI"). Nothing is guessed.
 *
 * A caller of the library can pass its own DeployedLookup instead (cli.ts `CliIo.deployed`).
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { z } from "zod";
import { formatPath } from "../evidence";
import { DeployedState, readDeployedOutputs } from "../deployed";
import { PHASES, Phase } from "../phases";
import { CtlError, EXIT } from "./errors";

export type Deployed =
    | {
          readonly known: true;
          /** The deployed phase; a stack that never deployed is perl-only (as the program assumes). */
          readonly phase: Phase;
          /** When the deployed phase was entered (ISO), when the outputs say. */
          readonly phaseEnteredAt?: string;
          readonly previousPhase?: Phase;
          /** Where this came from: `--deployed-file`, `pulumi stack output`, ... */
          readonly source: string;
          /** True when the stack has no outputs yet (never deployed). */
          readonly neverDeployed?: boolean;
          /** The outputs read as the program reads them (components/deployed): complete or not, the attempt. */
          readonly state?: DeployedState;
      }
    | { readonly known: false; readonly reason: string };

/** Look up what `stack` has deployed; `qualified` is its `org/project/stack` name when known. */
export type DeployedLookup = (stack: string, qualified?: string) => Deployed;

const OutputsSchema = z
    .object({
        phase: z.enum(PHASES).optional(),
        phaseEnteredAt: z.string().datetime({ offset: true }).optional(),
        previousPhase: z.enum(PHASES).optional(),
    })
    .passthrough();

/** Interpret one stack's outputs; throws a message naming the bad field. */
export function parseOutputs(raw: unknown, source: string): Deployed {
    if (raw !== null && typeof raw === "object" && "attempt" in raw) {
        // Outputs of a program that records its attempts: read them exactly as the program does.
        const state = readDeployedOutputs(raw as Record<string, unknown>);
        if (state.complete)
            return {
                known: true,
                phase: state.phase,
                phaseEnteredAt: state.enteredAt,
                previousPhase: (raw as { previousPhase?: Phase }).previousPhase,
                source,
                state,
            };
        const a = state.attempt!;
        return {
            known: true,
            phase: state.phase,
            source: `${source}; the last update from ${a.from} to ${a.to} did not complete: nodes between ${a.floor} and ${a.ceiling}, taken as ${state.phase}`,
            state,
        };
    }
    const r = OutputsSchema.safeParse(raw);
    if (!r.success) {
        const i = r.error.issues[0];
        throw new Error(`${formatPath(i.path) || "(outputs)"}: ${i.message}`);
    }
    const o = r.data;
    if (o.phase === undefined) {
        if (Object.keys(o).length === 0) return { known: true, phase: "perl-only", source: `${source} (never deployed)`, neverDeployed: true };
        throw new Error("phase: missing (not outputs of this project's program?)");
    }
    return { known: true, phase: o.phase, phaseEnteredAt: o.phaseEnteredAt, previousPhase: o.previousPhase, source };
}

/** The lookup for `--deployed-file FILE`. Reads and checks the whole file up front. */
export function deployedFromFile(file: string): DeployedLookup {
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new CtlError(EXIT.USAGE, `--deployed-file: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    let data: unknown;
    try {
        data = JSON.parse(text);
    } catch (e) {
        throw new CtlError(EXIT.USAGE, `--deployed-file: ${file}: not valid JSON: ${(e as Error).message}`);
    }
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
        throw new CtlError(EXIT.USAGE, `--deployed-file: ${file} must hold a JSON object { "<stack>": { "phase": ..., "phaseEnteredAt": ... } }`);
    }
    const states = new Map<string, Deployed>();
    for (const [stack, outputs] of Object.entries(data as Record<string, unknown>)) {
        try {
            states.set(stack, parseOutputs(outputs, "--deployed-file"));
        } catch (e) {
            throw new CtlError(EXIT.USAGE, `--deployed-file: ${file}: ${stack}.${(e as Error).message}`);
        }
    }
    return (stack) => states.get(stack) ?? { known: false, reason: "not in --deployed-file" };
}

/** The executable `name` in one of the PATH folders, if any. */
export function findOnPath(name: string, envPath: string | undefined): string | undefined {
    for (const dir of (envPath ?? "").split(path.delimiter)) {
        if (dir === "") continue;
        const candidate = path.join(dir, name);
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            if (fs.statSync(candidate).isFile()) return candidate;
        } catch {
            // not here
        }
    }
    return undefined;
}

/** The lookup through `pulumi stack output --json --stack <stack>`, run in `repo`. */
export function deployedFromPulumi(pulumi: string, repo: string, env: NodeJS.ProcessEnv): DeployedLookup {
    return (stack, qualified) => {
        const name = qualified ?? stack;
        let out: string;
        try {
            out = execFileSync(pulumi, ["stack", "output", "--json", "--stack", name], {
                cwd: repo,
                env,
                encoding: "utf8",
                stdio: ["ignore", "pipe", "pipe"],
                timeout: 60_000,
            });
        } catch (e) {
            const err = e as { stderr?: string; message: string };
            const line = (err.stderr || err.message).trim().split("\n")[0];
            return { known: false, reason: `pulumi stack output --stack ${name} failed: ${line}` };
        }
        try {
            return parseOutputs(JSON.parse(out), `pulumi stack output --stack ${name}`);
        } catch (e) {
            return { known: false, reason: `pulumi stack output --stack ${name}: ${(e as Error).message}` };
        }
    };
}

/** The lookup migration-ctl uses: `--deployed-file`, else pulumi on PATH, else unknown. Memoized. */
export function defaultDeployedLookup(repo: string, env: NodeJS.ProcessEnv, deployedFile?: string): DeployedLookup {
    let inner: DeployedLookup;
    if (deployedFile !== undefined) {
        inner = deployedFromFile(deployedFile);
    } else {
        const pulumi = findOnPath("pulumi", env.PATH);
        inner = pulumi ? deployedFromPulumi(pulumi, repo, env) : () => ({ known: false, reason: "no pulumi CLI" });
    }
    return memoize(inner);
}

export function memoize(lookup: DeployedLookup): DeployedLookup {
    const cache = new Map<string, Deployed>();
    return (stack, qualified) => {
        const k = `${stack}\0${qualified ?? ""}`;
        let d = cache.get(k);
        if (d === undefined) {
            d = lookup(stack, qualified);
            cache.set(k, d);
        }
        return d;
    };
}

/** The deployed state as JSON in reports: stable keys. */
export interface DeployedJson {
    readonly known: boolean;
    readonly phase: Phase | null;
    readonly phaseEnteredAt: string | null;
    readonly source: string | null;
    readonly reason: string | null;
}

export function deployedJson(d: Deployed): DeployedJson {
    return d.known
        ? { known: true, phase: d.phase, phaseEnteredAt: d.phaseEnteredAt ?? null, source: d.source, reason: null }
        : { known: false, phase: null, phaseEnteredAt: null, source: null, reason: d.reason };
}
