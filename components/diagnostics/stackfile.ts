/**
 * Read the few keys of `stacks/Pulumi.<stack>.yaml` the operator tools need (nodes, transport,
 * sandbox folder, migration config location, soak), without the Pulumi engine. Errors name the
 * exact key and the bad value.
 */
import * as fs from "fs";
import * as path from "path";
import YAML from "yaml";
import { NAMESPACE, NODE_NAME_RE, DEFAULT_CLUSTER_CONFIG_PATH, DEFAULT_NODE_CONFIG_PATH, isHostAddress } from "../config/schema";
import { PHASES, Phase, DEFAULT_SOAK_SECONDS, isPhase } from "../phases";

export interface StackNode {
    readonly name: string;
    readonly address?: string;
    readonly port: number;
    readonly sshUser: string;
    readonly hostKey?: string;
}

export interface StackFile {
    readonly stack: string;
    readonly file: string;
    readonly transport: "ssh" | "local";
    /** Absolute sandbox folder (transport local), resolved against the project folder. */
    readonly sandboxDir?: string;
    readonly nodes: StackNode[];
    readonly migrationConfig: { scope: "cluster" | "node"; path: string };
    readonly phase?: Phase;
    readonly soakSeconds: Record<Phase, number>;
    /** `pve-migration:gates.maxLatencyRatio` (default 1). */
    readonly maxLatencyRatio: number;
}

export class StackFileError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "StackFileError";
    }
}

export const STACK_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export function stackFilePath(projectDir: string, stack: string): string {
    return path.join(projectDir, "stacks", `Pulumi.${stack}.yaml`);
}

/** Read and check the stack file of `stack` under `projectDir`. */
export function readStackFile(projectDir: string, stack: string): StackFile {
    if (!STACK_NAME_RE.test(stack)) throw new StackFileError(`--stack: ${JSON.stringify(stack)} is not a stack name`);
    const file = stackFilePath(projectDir, stack);
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch (e) {
        throw new StackFileError(`--stack ${stack}: cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return parseStackFile(text, stack, file, projectDir);
}

/** Pure part of readStackFile. */
export function parseStackFile(text: string, stack: string, file: string, projectDir: string): StackFile {
    let doc: unknown;
    try {
        doc = YAML.parse(text);
    } catch (e) {
        throw new StackFileError(`${file}: not valid YAML: ${(e as Error).message}`);
    }
    const config = (doc as { config?: unknown } | null)?.config;
    if (config === null || typeof config !== "object") throw new StackFileError(`${file}: no config: section`);
    const c = config as Record<string, unknown>;
    const key = (k: string) => `${NAMESPACE}:${k}`;
    const bad = (k: string, why: string, v: unknown) => new StackFileError(`${file}: ${key(k)}: ${why} (got ${JSON.stringify(v)})`);

    const transport = c[key("transport")] ?? "ssh";
    if (transport !== "ssh" && transport !== "local") throw bad("transport", "must be ssh or local", transport);

    const rawNodes = c[key("nodes")];
    if (!Array.isArray(rawNodes) || rawNodes.length === 0) throw bad("nodes", "must be a list of {name, ...}", rawNodes);
    const nodes: StackNode[] = rawNodes.map((n, i) => {
        const o = n as Record<string, unknown>;
        if (o === null || typeof o !== "object") throw bad(`nodes[${i}]`, "must be an object with a name", n);
        if (typeof o.name !== "string" || !NODE_NAME_RE.test(o.name)) throw bad(`nodes[${i}].name`, "must be a Proxmox VE node name", o.name);
        const port = o.port ?? 22;
        if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) throw bad(`nodes[${i}].port`, "must be a port number", port);
        const sshUser = o.sshUser ?? "root";
        if (typeof sshUser !== "string" || !/^[a-z_][a-z0-9_-]{0,31}$/.test(sshUser)) throw bad(`nodes[${i}].sshUser`, "must be a POSIX user name", sshUser);
        // The program's own validator of node addresses (components/config/schema.ts isHostAddress).
        if (o.address !== undefined && (typeof o.address !== "string" || !isHostAddress(o.address))) {
            throw bad(`nodes[${i}].address`, "must be an address or a DNS name", o.address);
        }
        if (o.hostKey !== undefined && (typeof o.hostKey !== "string" || !/^[a-z0-9-]+ [A-Za-z0-9+/]+={0,3}$/.test(o.hostKey))) {
            throw bad(`nodes[${i}].hostKey`, "must be an OpenSSH public host key", o.hostKey);
        }
        return { name: o.name, address: o.address as string | undefined, port, sshUser, hostKey: o.hostKey as string | undefined };
    });

    let sandboxDir: string | undefined;
    const sd = c[key("sandboxDir")];
    if (transport === "local") {
        if (typeof sd !== "string" || sd === "") throw bad("sandboxDir", "required with transport local", sd);
        sandboxDir = path.resolve(projectDir, sd);
    }

    const mc = (c[key("migrationConfig")] ?? {}) as Record<string, unknown>;
    if (mc === null || typeof mc !== "object") throw bad("migrationConfig", "must be an object {scope, path}", mc);
    const scope = mc.scope ?? "cluster";
    if (scope !== "cluster" && scope !== "node") throw bad("migrationConfig.scope", "must be cluster or node", scope);
    const cfgPath = mc.path ?? (scope === "cluster" ? DEFAULT_CLUSTER_CONFIG_PATH : DEFAULT_NODE_CONFIG_PATH);
    if (typeof cfgPath !== "string" || !cfgPath.startsWith("/") || cfgPath.split("/").includes("..") || /[\0\n]/.test(cfgPath)) {
        throw bad("migrationConfig.path", "must be an absolute path without '..'", cfgPath);
    }

    const phase = c[key("phase")];
    if (phase !== undefined && !isPhase(phase)) throw bad("phase", `must be one of ${PHASES.join(", ")}`, phase);

    const soak: Record<Phase, number> = { ...DEFAULT_SOAK_SECONDS };
    const rawSoak = c[key("soakSeconds")];
    if (rawSoak !== undefined) {
        if (rawSoak === null || typeof rawSoak !== "object") throw bad("soakSeconds", "must be an object {phase: seconds}", rawSoak);
        for (const [p, v] of Object.entries(rawSoak as Record<string, unknown>)) {
            if (!isPhase(p)) throw bad(`soakSeconds.${p}`, `unknown phase (one of ${PHASES.join(", ")})`, v);
            if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw bad(`soakSeconds.${p}`, "must be whole seconds >= 0", v);
            soak[p] = v;
        }
    }
    let maxLatencyRatio = 1;
    const gates = c[key("gates")];
    if (gates !== undefined) {
        if (gates === null || typeof gates !== "object") throw bad("gates", "must be an object", gates);
        const r = (gates as Record<string, unknown>).maxLatencyRatio;
        if (r !== undefined) {
            if (typeof r !== "number" || !(r > 0) || r > 10) throw bad("gates.maxLatencyRatio", "must be a number in (0, 10]", r);
            maxLatencyRatio = r;
        }
    }
    return {
        stack,
        file,
        maxLatencyRatio,
        transport,
        sandboxDir,
        nodes,
        migrationConfig: { scope, path: cfgPath },
        phase: phase as Phase | undefined,
        soakSeconds: soak,
    };
}

/** The migration config path of `node` on the node (`{node}` substituted). */
export function nodeMigrationConfigPath(sf: Pick<StackFile, "migrationConfig">, node: string): string {
    return sf.migrationConfig.path.split("{node}").join(node);
}
