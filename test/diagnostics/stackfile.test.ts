import { parseStackFile, nodeMigrationConfigPath, StackFileError } from "../../components/diagnostics/stackfile";
import { DEFAULT_SOAK_SECONDS } from "../../components/phases";

const F = "/p/stacks/Pulumi.s.yaml";
const parse = (yaml: string) => parseStackFile(yaml, "s", F, "/p");

test("a local stack: sandbox resolved against the project, defaults filled", () => {
    const s = parse("config:\n  pve-migration:transport: local\n  pve-migration:sandboxDir: .sandbox/dev\n  pve-migration:nodes:\n    - name: pve1\n");
    expect(s).toEqual({
        stack: "s",
        file: F,
        transport: "local",
        sandboxDir: "/p/.sandbox/dev",
        nodes: [{ name: "pve1", address: undefined, port: 22, sshUser: "root", hostKey: undefined }],
        migrationConfig: { scope: "cluster", path: "/etc/pve/network/migration.toml" },
        phase: undefined,
        soakSeconds: DEFAULT_SOAK_SECONDS,
        maxLatencyRatio: 1,
    });
});

test("an ssh stack with node-scoped config", () => {
    const s = parse(
        "config:\n  pve-migration:phase: rust-sdn\n  pve-migration:nodes:\n    - name: pve-east-01\n      address: 10.20.0.11\n      port: 2222\n      sshUser: deploy\n      hostKey: ssh-ed25519 AAAAC3Nz\n  pve-migration:migrationConfig:\n    scope: node\n",
    );
    expect(s.transport).toBe("ssh");
    expect(s.sandboxDir).toBeUndefined();
    expect(s.phase).toBe("rust-sdn");
    expect(s.nodes).toEqual([{ name: "pve-east-01", address: "10.20.0.11", port: 2222, sshUser: "deploy", hostKey: "ssh-ed25519 AAAAC3Nz" }]);
    expect(nodeMigrationConfigPath(s, "pve-east-01")).toBe("/etc/pve/nodes/pve-east-01/network/migration.toml");
});

test.each<[string, string]>([
    ["nodes: 1", "no config: section"],
    ["config:\n  pve-migration:transport: telnet\n", 'pve-migration:transport: must be ssh or local (got "telnet")'],
    ["config:\n  pve-migration:nodes: []\n", "pve-migration:nodes: must be a list of {name, ...} (got [])"],
    ["config:\n  pve-migration:nodes:\n    - name: 'a;b'\n", 'pve-migration:nodes[0].name: must be a Proxmox VE node name (got "a;b")'],
    ["config:\n  pve-migration:nodes:\n    - name: a\n      address: '-oProxyCommand=x'\n", 'pve-migration:nodes[0].address: must be an address or a DNS name (got "-oProxyCommand=x")'],
    // The program's validator of node addresses: malformed IPv6 and empty DNS labels too.
    ["config:\n  pve-migration:nodes:\n    - name: a\n      address: ':::::'\n", 'pve-migration:nodes[0].address: must be an address or a DNS name (got ":::::")'],
    ["config:\n  pve-migration:nodes:\n    - name: a\n      address: 'a..b'\n", 'pve-migration:nodes[0].address: must be an address or a DNS name (got "a..b")'],
    ["config:\n  pve-migration:nodes:\n    - name: a\n      address: 'fe80::1%eth0'\n", 'pve-migration:nodes[0].address: must be an address or a DNS name (got "fe80::1%eth0")'],
    ["config:\n  pve-migration:nodes:\n    - name: a\n      port: 0\n", "pve-migration:nodes[0].port: must be a port number (got 0)"],
    ["config:\n  pve-migration:transport: local\n  pve-migration:nodes:\n    - name: a\n", "pve-migration:sandboxDir: required with transport local (got undefined)"],
    ["config:\n  pve-migration:nodes:\n    - name: a\n  pve-migration:migrationConfig:\n    path: etc/x.toml\n", 'pve-migration:migrationConfig.path: must be an absolute path without \'..\' (got "etc/x.toml")'],
    ["config:\n  pve-migration:nodes:\n    - name: a\n  pve-migration:soakSeconds:\n    rust-fast: 1\n", "pve-migration:soakSeconds.rust-fast: unknown phase (one of perl-only, rust-read-only, rust-basic-write, rust-advanced, rust-sdn, rust-full) (got 1)"],
    ["config:\n  pve-migration:nodes:\n    - name: a\n  pve-migration:gates:\n    maxLatencyRatio: 0\n", "pve-migration:gates.maxLatencyRatio: must be a number in (0, 10] (got 0)"],
])("errors name the key: %#", (yaml, msg) => {
    expect(() => parse(yaml)).toThrow(new StackFileError(`${F}: ${msg}`));
});
