import { ConfigError, parseStackConfig } from "../../components/config/schema";

const SHA = "a".repeat(64);
function base(): Record<string, string> {
    return {
        cluster: "pve-east",
        phase: "rust-read-only",
        perlApi: JSON.stringify({ baseUrl: "https://pve-east.example.internal:8006", timeout: 60 }),
        package: JSON.stringify({ version: "0.4.2-1", sha256: SHA, url: "https://apt.example.internal/p.deb" }),
        nodes: JSON.stringify([
            { name: "pve1", address: "10.0.0.1", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1" },
            { name: "pve2", address: "pve2.example.internal", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK2" },
            { name: "pve3", address: "fd00::3", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK3" },
        ]),
        sshPrivateKeys: JSON.stringify({ default: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----\n" }),
    };
}
const parse = (values: Record<string, string>, secret = ["sshPrivateKeys"], guards = true) =>
    parseStackConfig({ values, secretKeys: new Set(secret), stack: "s", projectDir: "/repo" }, { guards });

function errorsOf(values: Record<string, string>, secret = ["sshPrivateKeys"]): string[] {
    try {
        parse(values, secret);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).errors;
    }
    throw new Error("expected a ConfigError");
}
const withNodes = (nodes: unknown[]) => ({ ...base(), nodes: JSON.stringify(nodes) });
const node = (o: Record<string, unknown>) => ({ name: "pve1", address: "10.0.0.1", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1", ...o });

describe("stack config", () => {
    test("a valid config parses with the runbook defaults", () => {
        const c = parse(base());
        expect(c.commands).toEqual({
            legacyApply: ["pvenet-legacy", "apply"],
            legacyValidate: ["pvenet-legacy", "validate", "--config", "/etc/network/interfaces"],
            verify: ["pvenet", "status", "--verbose"],
            middlewareService: "pve-network-migration.service",
            rustService: "pve-network-rs.service",
            legacyService: "pve-network.service",
        });
        expect(c.migrationConfig).toEqual({ scope: "cluster", path: "/etc/pve/network/migration.toml", writerNode: "pve1" });
        expect(c.fallbackEnabled).toBe(true);
        expect(c.logMigrationDecisions).toBe(true);
        expect(c.backups).toEqual({ retention: 5 });
        expect(c.nodes.map((n) => [n.name, n.port, n.sshUser, n.sshKey, n.root])).toEqual([
            ["pve1", 22, "root", "default", "/"],
            ["pve2", 22, "root", "default", "/"],
            ["pve3", 22, "root", "default", "/"],
        ]);
        expect(c.soakSeconds["rust-read-only"]).toBe(86400);
        expect(c.sshKeyNames).toEqual(["default"]);
        expect(JSON.stringify(c)).not.toContain("BEGIN OPENSSH");
    });

    test.each([
        [
            "phase",
            { phase: "rust-everything" },
            ["pve-migration:phase: must be one of perl-only, rust-read-only, rust-basic-write, rust-advanced, rust-sdn, rust-full"],
        ],
        [
            "http Perl API",
            { perlApi: JSON.stringify({ baseUrl: "http://pve:8006" }) },
            ["pve-migration:perlApi.baseUrl: must be an https:// URL (the Perl API carries credentials)"],
        ],
        [
            "credentials in the Perl API URL",
            { perlApi: JSON.stringify({ baseUrl: "https://root:pw@pve:8006" }) },
            ["pve-migration:perlApi.baseUrl: must be an https:// URL without credentials, query or fragment"],
        ],
        ["timeout 0", { perlApi: JSON.stringify({ baseUrl: "https://pve:8006", timeout: 0 }) }, ["pve-migration:perlApi.timeout: must be at least 1 second"]],
        ["timeout 601", { perlApi: JSON.stringify({ baseUrl: "https://pve:8006", timeout: 601 }) }, ["pve-migration:perlApi.timeout: must be at most 600 seconds"]],
        [
            "fallback off below rust-full",
            { fallbackEnabled: "false" },
            ["pve-migration:fallbackEnabled: must be true in phase rust-read-only (only rust-full may disable the fallback)"],
        ],
        ["fallback not a boolean", { fallbackEnabled: "maybe" }, ["pve-migration:fallbackEnabled: must be true or false"]],
        [
            "unpinned package",
            { package: JSON.stringify({ version: "0.4.2-1", url: "https://a/p.deb" }) },
            ["pve-migration:package.sha256: required: the package is pinned by version and sha256"],
        ],
        [
            "bad sha256",
            { package: JSON.stringify({ version: "0.4.2-1", sha256: "abc", url: "https://a/p.deb" }) },
            ["pve-migration:package.sha256: must be 64 lowercase hex digits"],
        ],
        [
            "bad version",
            { package: JSON.stringify({ version: "latest", sha256: SHA, url: "https://a/p.deb" }) },
            ["pve-migration:package.version: must be a Debian package version such as 0.4.2-1"],
        ],
        ["no source", { package: JSON.stringify({ version: "0.4.2-1", sha256: SHA }) }, ["pve-migration:package.path: set exactly one of path or url"]],
        [
            "http package url",
            { package: JSON.stringify({ version: "0.4.2-1", sha256: SHA, url: "http://a/p.deb" }) },
            ["pve-migration:package.url: must be an https:// URL without credentials"],
        ],
        ["no nodes", { nodes: "[]" }, ["pve-migration:nodes: must list at least one node"]],
        ["retention 0", { backups: JSON.stringify({ retention: 0 }) }, ["pve-migration:backups.retention: must keep at least 1 backup"]],
        ["unknown key", { phse: "perl-only" }, ["pve-migration: unknown key(s) pve-migration:phse"]],
        ["unknown nested key", { perlApi: JSON.stringify({ baseUrl: "https://pve:8006", timout: 3 }) }, ["pve-migration:perlApi: unknown key(s) timout"]],
        [
            "scope node without {node}",
            { migrationConfig: JSON.stringify({ scope: "node", path: "/etc/pve/network/migration.toml" }) },
            ["pve-migration:migrationConfig.path: must contain {node} with scope node (one file per node)"],
        ],
        [
            "cluster file outside /etc/pve",
            { migrationConfig: JSON.stringify({ scope: "cluster", path: "/etc/pve-network/migration.toml" }) },
            ["pve-migration:migrationConfig.path: a cluster-wide file must live under /etc/pve/ (pmxcfs)"],
        ],
        [
            "path with ..",
            { migrationConfig: JSON.stringify({ path: "/etc/pve/../migration.toml" }) },
            ["pve-migration:migrationConfig.path: must be an absolute path without '..'"],
        ],
        [
            "unknown writer",
            { migrationConfig: JSON.stringify({ writerNode: "pve9" }) },
            ["pve-migration:migrationConfig.writerNode: pve9 is not one of the stack's nodes"],
        ],
        [
            "bad service name",
            { commands: JSON.stringify({ rustService: "pve-network-rs; reboot" }) },
            ["pve-migration:commands.rustService: must be a systemd service name"],
        ],
        [
            "empty legacy command",
            { commands: JSON.stringify({ legacyApply: [] }) },
            ["pve-migration:commands.legacyApply: must name a command (a list of arguments)"],
        ],
        [
            "ring upstream neither a stack name nor org/project/stack",
            { ring: JSON.stringify({ name: "canary-b", upstream: "org/canary-a" }) },
            ["pve-migration:ring.upstream: must be a stack name of this project or org/project/stack"],
        ],
        [
            "behindUntilSoaked without upstream",
            { ring: JSON.stringify({ name: "canary-b", behindUntilSoaked: true }) },
            ["pve-migration:ring.behindUntilSoaked: needs ring.upstream"],
        ],
        [
            "blueGreen without kubeconfig, and blueGreen itself validated in the same pass",
            { blueGreen: JSON.stringify({ namespace: "x" }) },
            [
                "pve-migration:kubeconfig: required with pve-migration:blueGreen (pulumi config set --secret pve-migration:kubeconfig < file)",
                "pve-migration:blueGreen.image: required",
                "pve-migration:blueGreen.activeColor: required",
                "pve-migration:blueGreen.releases: required (blue, green or both)",
            ],
        ],
        ["local transport without sandboxDir", { transport: "local" }, ["pve-migration:sandboxDir: required with transport local"]],
    ])("%s", (_name, patch, expected) => {
        expect(errorsOf({ ...base(), ...(patch as Record<string, string>) })).toEqual(expected);
    });

    test.each([
        ["bad node name", [node({ name: "pve_1;rm" })], ["pve-migration:nodes[0].name: must be a Proxmox VE node name (letters, digits, '-', at most 63)"]],
        [
            "bad address",
            [node({}), node({ name: "pve2", address: "10.0.0.1;reboot" })],
            ["pve-migration:nodes[1].address: must be an IPv4 or IPv6 address or a DNS name"],
        ],
        [
            "missing address",
            [node({}), node({ name: "pve2" }), node({ name: "pve3", address: undefined })],
            ["pve-migration:nodes[2].address: required with transport ssh"],
        ],
        ["missing host key", [node({ hostKey: undefined })], ["pve-migration:nodes[0].hostKey: required with transport ssh (host keys are pinned)"]],
        ["bad host key", [node({ hostKey: "AAAA" })], ["pve-migration:nodes[0].hostKey: must be an OpenSSH public host key ('ssh-ed25519 AAAA...')"]],
        ["bad port", [node({ port: 70000 })], ["pve-migration:nodes[0].port: Number must be less than or equal to 65535"]],
        ["duplicate names", [node({}), node({ name: "PVE1" })], ["pve-migration:nodes[1].name: duplicate node name PVE1 (also nodes[0])"]],
        ["unknown key name", [node({ sshKey: "ops" })], ['pve-migration:nodes[0].sshKey: no key "ops" in pve-migration:sshPrivateKeys']],
    ])("nodes: %s", (_name, nodes, expected) => {
        expect(errorsOf(withNodes(nodes as unknown[]))).toEqual(expected);
    });

    // The cases of the former diagnostics stack file reader, now read through this one parse.
    test.each([["-oProxyCommand=x"], [":::::"], ["a..b"], ["fe80::1%eth0"]])(
        "nodes: the address %j is refused (a hostile address reaches no ssh command line)",
        (address) => {
            expect(errorsOf(withNodes([node({ address })]))).toEqual(["pve-migration:nodes[0].address: must be an IPv4 or IPv6 address or a DNS name"]);
        },
    );

    test.each([
        ["an unknown soak phase", { soakSeconds: JSON.stringify({ "rust-fast": 1 }) }, ["pve-migration:soakSeconds: unknown key(s) rust-fast"]],
        ["a latency ratio of 0", { gates: JSON.stringify({ maxLatencyRatio: 0 }) }, ["pve-migration:gates.maxLatencyRatio: Number must be greater than 0"]],
        [
            "a relative migration config path",
            { migrationConfig: JSON.stringify({ path: "etc/x.toml" }) },
            ["pve-migration:migrationConfig.path: must be an absolute path without '..'"],
        ],
        ["an unknown transport", { transport: "telnet" }, ["pve-migration:transport: Invalid enum value. Expected 'ssh' | 'local', received 'telnet'"]],
    ])("%s", (_name, patch, expected) => {
        expect(errorsOf({ ...base(), ...(patch as Record<string, string>) })).toEqual(expected);
    });

    test("an SSH key that is not a Pulumi secret is refused, naming the key and how to set it", () => {
        expect(errorsOf(base(), [])).toEqual([
            "pve-migration:sshPrivateKeys: must be a Pulumi secret (pulumi config set --secret --path 'sshPrivateKeys.default' ...)",
        ]);
    });

    test("every problem is reported at once, and the error message lists them", () => {
        try {
            parse({ ...base(), phase: "nope", perlApi: JSON.stringify({ baseUrl: "ftp://x" }) });
            throw new Error("no error");
        } catch (e) {
            expect((e as Error).message).toBe(
                "invalid stack config:\n  pve-migration:phase: must be one of perl-only, rust-read-only, rust-basic-write, rust-advanced, rust-sdn, rust-full\n  pve-migration:perlApi.baseUrl: must be an https:// URL without credentials, query or fragment",
            );
        }
    });

    test("a bad node address and an http Perl API URL are reported together (the safety rules run beside the schema)", () => {
        expect(
            errorsOf({ ...withNodes([node({ address: "10.0.0.1;reboot" })]), perlApi: JSON.stringify({ baseUrl: "http://pve-east.example.internal:8006" }) }),
        ).toEqual([
            "pve-migration:nodes[0].address: must be an IPv4 or IPv6 address or a DNS name",
            "pve-migration:perlApi.baseUrl: must be an https:// URL (the Perl API carries credentials)",
        ]);
    });

    test("blueGreen and monitoring are validated in the same pass as the rest, every problem by key", () => {
        expect(
            errorsOf({
                ...base(),
                phase: "rust-turbo",
                monitoring: JSON.stringify({
                    alerts: { perlBaselineSeconds: 0.8 },
                    rulesFile: { host: { name: "mon1", address: "10.0.0.9;id" }, path: "rules.yml" },
                }),
            }),
        ).toEqual([
            "pve-migration:phase: must be one of perl-only, rust-read-only, rust-basic-write, rust-advanced, rust-sdn, rust-full",
            "pve-migration:monitoring.rulesFile.host.address: must be an IPv4 or IPv6 address or a DNS name",
            "pve-migration:monitoring.rulesFile.path: must be an absolute path without '..'",
        ]);
        expect(errorsOf({ ...base(), monitoring: JSON.stringify({ alerts: { perlBaselineSeconds: 0.8 } }) })).toEqual([
            "pve-migration:monitoring: set rulesFile, prometheusRule or both",
        ]);
    });

    test("a valid monitoring block comes back parsed, with its alert options", () => {
        const c = parse({
            ...base(),
            monitoring: JSON.stringify({
                alerts: { perlBaselineSeconds: 0.8 },
                rulesFile: { host: { name: "mon1", address: "10.0.0.9", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK9" } },
            }),
        });
        expect([c.monitoring?.rulesFile?.path, c.monitoring?.rulesFile?.host.port, c.monitoring?.alertOptions.perlBaselineSeconds]).toEqual([
            "/etc/prometheus/rules/pve-network-migration.yml",
            22,
            0.8,
        ]);
    });

    test("with the program's guards off (offline policy check only) the safety rules are left to the policies", () => {
        const c = parse(
            {
                ...base(),
                fallbackEnabled: "false",
                perlApi: JSON.stringify({ baseUrl: "http://pve:8006" }),
                package: JSON.stringify({ version: "0.4.2-1", url: "https://a/p.deb" }),
            },
            [],
            false,
        );
        expect([c.fallbackEnabled, c.perlApi.baseUrl, c.package.sha256]).toEqual([false, "http://pve:8006", undefined]);
    });

    test("local transport: node roots under the sandbox folder, relative paths from the project folder", () => {
        const c = parse({
            ...base(),
            transport: "local",
            sandboxDir: ".sandbox/dev",
            nodes: JSON.stringify([{ name: "pve1" }]),
            package: JSON.stringify({ version: "0.4.2-1", sha256: SHA, path: "debs/p.deb" }),
        });
        expect(c.nodes[0].root).toBe("/repo/.sandbox/dev/pve1");
        expect(c.package.path).toBe("/repo/debs/p.deb");
    });

    test("an ssh-rsa host key is refused with the key to pin instead; ed25519 and ECDSA keys are accepted", () => {
        expect(errorsOf(withNodes([node({}), node({ name: "pve2", hostKey: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7" })]))).toEqual([
            "pve-migration:nodes[1].hostKey: ssh-rsa host keys cannot be used: @pulumi/command would verify it with the SHA-1 'ssh-rsa' signature, which OpenSSH 8.8 and later (Debian 12) refuse; pin the node's ed25519 key instead (ssh-keyscan -t ed25519 <address>)",
        ]);
        const c = parse(withNodes([node({}), node({ name: "pve2", hostKey: "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY=" })]));
        expect(c.nodes.map((n) => n.hostKey)).toEqual(["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK1", "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY="]);
    });

    test("step time limits: every step has its default; `default` covers the unlisted steps; a step's own value wins", () => {
        expect(parse(base()).stepTimeouts).toEqual({
            snapshot: 600,
            package: 1200,
            units: 300,
            config: 300,
            services: 600,
            restore: 300,
            "legacy-apply": 900,
            "network-confirm": 600,
            "ha-enter": 1200,
            "ha-leave": 600,
            verify: 600,
            rules: 600,
        });
        expect(parse({ ...base(), stepTimeouts: JSON.stringify({ default: 120, package: 1800, "legacy-apply": 5 }) }).stepTimeouts).toEqual({
            snapshot: 120,
            package: 1800,
            units: 120,
            config: 120,
            services: 120,
            restore: 120,
            "legacy-apply": 5,
            "network-confirm": 120,
            "ha-enter": 120,
            "ha-leave": 120,
            verify: 120,
            rules: 120,
        });
    });

    test.each([
        ["an unknown step", { reboot: 60 }, ["pve-migration:stepTimeouts: unknown key(s) reboot"]],
        ["zero", { verify: 0 }, ["pve-migration:stepTimeouts.verify: must be at least 1 second"]],
        ["more than a day", { default: 86401 }, ["pve-migration:stepTimeouts.default: must be at most 86400 seconds"]],
        ["a fraction", { package: 1.5 }, ["pve-migration:stepTimeouts.package: must be a whole number of seconds"]],
        ["a string", { config: "60" }, ["pve-migration:stepTimeouts.config: Expected number, received string"]],
    ])("step time limits: %s is refused, naming the key", (_name, value, expected) => {
        expect(errorsOf({ ...base(), stepTimeouts: JSON.stringify(value) })).toEqual(expected);
    });
    test("step time limits: not an object is refused, naming the key", () => {
        expect(errorsOf({ ...base(), stepTimeouts: "600" })).toEqual(["pve-migration:stepTimeouts: Expected object, received number"]);
        expect(errorsOf({ ...base(), stepTimeouts: "{" })).toEqual(["pve-migration:stepTimeouts: must be a YAML object or list"]);
    });
});

describe("network.requiredInterfaces: the interfaces verify requires by name", () => {
    test("default none; names kept in order", () => {
        expect(parse(base()).network).toEqual({ requiredInterfaces: [], confirmTimeout: 30, applyAttempt: 0 });
        expect(parse({ ...base(), network: JSON.stringify({ requiredInterfaces: ["bond0", "vmbr0.100", "eno1:1"] }) }).network).toEqual({
            requiredInterfaces: ["bond0", "vmbr0.100", "eno1:1"],
            confirmTimeout: 30,
            applyAttempt: 0,
        });
    });
    test.each([
        [
            "a name too long for the kernel",
            { requiredInterfaces: ["abcdefghijklmnop"] },
            ["pve-migration:network.requiredInterfaces[0]: must be a Linux interface name (1 to 15 letters, digits, '_', '.', ':', '-')"],
        ],
        [
            "a name with a blank",
            { requiredInterfaces: ["bond0", "vmbr 1"] },
            ["pve-migration:network.requiredInterfaces[1]: must be a Linux interface name (1 to 15 letters, digits, '_', '.', ':', '-')"],
        ],
        [
            "a command",
            { requiredInterfaces: ["$(reboot)"] },
            ["pve-migration:network.requiredInterfaces[0]: must be a Linux interface name (1 to 15 letters, digits, '_', '.', ':', '-')"],
        ],
        ["a name twice", { requiredInterfaces: ["bond0", "bond0"] }, ["pve-migration:network.requiredInterfaces: must not list an interface twice"]],
        ["an unknown key", { required: ["bond0"] }, ["pve-migration:network: unknown key(s) required"]],
    ])("%s is refused, naming the key", (_name, value, expected) => {
        expect(errorsOf({ ...base(), network: JSON.stringify(value) })).toEqual(expected);
    });
});

describe("network.confirmTimeout, healthCommand, applyAttempt: the dead-man switch of every network apply", () => {
    test("defaults: 30 s, no health command, attempt 0; given values kept", () => {
        expect(parse({ ...base(), network: JSON.stringify({ confirmTimeout: 5, healthCommand: ["pvecm", "status"], applyAttempt: 2 }) }).network).toEqual({
            requiredInterfaces: [],
            confirmTimeout: 5,
            healthCommand: ["pvecm", "status"],
            applyAttempt: 2,
        });
        expect(parse({ ...base(), network: JSON.stringify({ confirmTimeout: 45 }) }).network.confirmTimeout).toBe(45);
    });
    test.each([
        ["a timeout under 5 s", { confirmTimeout: 4 }, ["pve-migration:network.confirmTimeout: must be at least 5 s"]],
        [
            "a timeout past 45 s",
            { confirmTimeout: 46 },
            ["pve-migration:network.confirmTimeout: must be at most 45 s: the node must revert well inside HA's 60 s fencing window"],
        ],
        ["a fractional timeout", { confirmTimeout: 7.5 }, ["pve-migration:network.confirmTimeout: must be a whole number of seconds"]],
        ["a timeout as a string", { confirmTimeout: "30" }, ["pve-migration:network.confirmTimeout: Expected number, received string"]],
        ["a negative attempt", { applyAttempt: -1 }, ["pve-migration:network.applyAttempt: must be 0 or more"]],
        ["a fractional attempt", { applyAttempt: 1.5 }, ["pve-migration:network.applyAttempt: must be a whole number"]],
        ["a huge attempt", { applyAttempt: 1_000_001 }, ["pve-migration:network.applyAttempt: must be at most 1000000"]],
        ["a health command as a string", { healthCommand: "pvecm status" }, ["pve-migration:network.healthCommand: Expected array, received string"]],
    ])("%s is refused, naming the key", (_name, value, expected) => {
        expect(errorsOf({ ...base(), network: JSON.stringify(value) })).toEqual(expected);
    });
});

describe("ha: Proxmox VE HA maintenance around a node's services", () => {
    test("defaults: off, ha-manager's node-maintenance enable/disable for the node, no status command, 300 s to settle; given values kept", () => {
        expect(parse(base()).ha).toEqual({
            maintenance: false,
            enterCommand: ["ha-manager", "crm-command", "node-maintenance", "enable", "{node}"],
            leaveCommand: ["ha-manager", "crm-command", "node-maintenance", "disable", "{node}"],
            settleTimeout: 300,
        });
        expect(parse({ ...base(), ha: JSON.stringify({ maintenance: true, statusCommand: ["ha-in-maintenance", "{node}"], settleTimeout: 60 }) }).ha).toEqual({
            maintenance: true,
            enterCommand: ["ha-manager", "crm-command", "node-maintenance", "enable", "{node}"],
            leaveCommand: ["ha-manager", "crm-command", "node-maintenance", "disable", "{node}"],
            statusCommand: ["ha-in-maintenance", "{node}"],
            settleTimeout: 60,
        });
    });
    test.each([
        ["maintenance as a string", { maintenance: "yes" }, ["pve-migration:ha.maintenance: Expected boolean, received string"]],
        ["an empty enter command", { enterCommand: [] }, ["pve-migration:ha.enterCommand: must name a command (a list of arguments)"]],
        ["a settle time of 0", { settleTimeout: 0 }, ["pve-migration:ha.settleTimeout: must be at least 1 s"]],
        ["a settle time past 1200 s", { settleTimeout: 1201 }, ["pve-migration:ha.settleTimeout: must be at most 1200 s"]],
        ["an unknown key", { maintenanceMode: true }, ["pve-migration:ha: unknown key(s) maintenanceMode"]],
    ])("%s is refused, naming the key", (_name, value, expected) => {
        expect(errorsOf({ ...base(), ha: JSON.stringify(value) })).toEqual(expected);
    });
});

describe("rollback: the automatic rollback guard", () => {
    test("defaults around the one required key, prometheus.url", () => {
        expect(parse({ ...base(), rollback: JSON.stringify({ enabled: true, prometheus: { url: "http://prom:9090" } }) }).rollback).toEqual({
            enabled: true,
            automatic: false,
            emergency: false,
            prometheus: { url: "http://prom:9090" },
            interval: 30,
            triggers: {
                healthCheckFailures: 3,
                healthCheckInterval: 60,
                errorRateThreshold: 0.1,
                errorRateWindow: 300,
                responseTimeThreshold: 5000,
                responseTimeWindow: 300,
                cpuThreshold: 0.95,
                memoryThreshold: 0.9,
                sustainedSeconds: 120,
                fallbackWindow: 300,
                applyLatencyRatio: 1,
                applyLatencyWindow: 300,
            },
            queries: {},
            cooldownPeriod: 300,
            maximumRetries: 5,
            commit: { mode: "main", push: false },
        });
        expect(parse(base()).rollback).toBeUndefined();
    });
    test.each([
        ["no prometheus", { enabled: true }, ["pve-migration:rollback.prometheus: Required"]],
        [
            "an error rate of 110 %",
            { prometheus: { url: "http://p" }, triggers: { errorRateThreshold: 1.1 } },
            ["pve-migration:rollback.triggers.errorRateThreshold: must be at most 1"],
        ],
        ["retries 0", { prometheus: { url: "http://p" }, maximumRetries: 0 }, ["pve-migration:rollback.maximumRetries: must be at least 1"]],
        ["an unknown trigger", { prometheus: { url: "http://p" }, triggers: { diskFull: 1 } }, ["pve-migration:rollback.triggers: unknown key(s) diskFull"]],
        [
            "a target that is not a phase",
            { prometheus: { url: "http://p" }, targetPhase: "perl" },
            [expect.stringMatching(/^pve-migration:rollback\.targetPhase: /)],
        ],
    ])("%s is refused, naming the key", (_name, value, expected) => {
        expect(errorsOf({ ...base(), rollback: JSON.stringify(value) })).toEqual(expected);
    });
});
