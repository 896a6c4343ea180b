import { parseStackConfig, StackConfig } from "../../components/config/schema";

/** Raw stack config values (without namespace) for a local sandbox stack. */
export function localValues(opts: {
    sandboxDir: string;
    debPath: string;
    sha256: string;
    version: string;
    nodes?: string[];
    phase?: string;
    scope?: "cluster" | "node";
    retention?: number;
}): Record<string, string> {
    const nodes = opts.nodes ?? ["pve1", "pve2", "pve3"];
    return {
        cluster: "lab",
        phase: opts.phase ?? "perl-only",
        transport: "local",
        sandboxDir: opts.sandboxDir,
        perlApi: JSON.stringify({ baseUrl: "https://lab.example.internal:8006", timeout: 60 }),
        package: JSON.stringify({ version: opts.version, sha256: opts.sha256, path: opts.debPath }),
        nodes: JSON.stringify(nodes.map((name) => ({ name }))),
        migrationConfig: JSON.stringify({ scope: opts.scope ?? "cluster" }),
        backups: JSON.stringify({ retention: opts.retention ?? 3 }),
    };
}

export function localConfig(opts: Parameters<typeof localValues>[0], overrides: Record<string, string> = {}): StackConfig {
    return parseStackConfig({
        values: { ...localValues(opts), ...overrides },
        secretKeys: new Set(),
        stack: "test",
        projectDir: "/",
    });
}
