/** Test helper: sandbox node roots laid out as README "What runs on a node" says, and running the collector. */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { renderDiagnosticsScript } from "../../components/scripts/diagnostics";

export function tempDir(prefix: string): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function write(file: string, content: string): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
}

export function dpkgStatus(entries: { pkg: string; version: string; status?: string }[]): string {
    return entries
        .map((e) =>
            [
                `Package: ${e.pkg}`,
                `Status: ${e.status ?? "install ok installed"}`,
                "Priority: optional",
                "Section: admin",
                "Installed-Size: 100",
                "Maintainer: tests <noreply@example.invalid>",
                "Architecture: amd64",
                `Version: ${e.version}`,
                "Description: test entry",
                "",
            ].join("\n"),
        )
        .join("\n");
}

export const UNIT_FILE = "[Unit]\nDescription=test unit\n[Service]\nExecStart=/bin/true\n[Install]\nWantedBy=multi-user.target\n";

/**
 * `<dir>/<node>` roots sharing `<dir>/cluster-pve` as /etc/pve (pmxcfs), with interfaces,
 * sdn.cfg, storage.cfg, lxc configs, the cluster-wide migration.toml, a decision log, a dpkg
 * status with pve-network-rs, and the Rust unit installed and enabled.
 */
export function makeSandbox(dir: string, nodes: string[], phase = "rust-read-only"): Record<string, string> {
    const shared = path.join(dir, "cluster-pve");
    write(path.join(shared, "sdn.cfg"), "simple: zone1\n\tipam pve\n\nvnet: vnet1\n\tzone zone1\n\ttag 100\n");
    write(path.join(shared, "storage.cfg"), "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n");
    write(
        path.join(shared, "network", "migration.toml"),
        `phase = "${phase}"\nfallback_enabled = true\nperl_api_base_url = "https://dev-lab:8006"\nperl_api_timeout = 60\nfeatures = { rust_cli = true, rust_daemon = true }\nlog_migration_decisions = true\n`,
    );
    const roots: Record<string, string> = {};
    nodes.forEach((node, i) => {
        const root = path.join(dir, node);
        roots[node] = root;
        write(
            path.join(root, "etc/network/interfaces"),
            `auto lo\niface lo inet loopback\n\nauto vmbr0\niface vmbr0 inet static\n\taddress 10.0.0.${i + 2}/24\n\tbridge-ports eno1\n`,
        );
        fs.symlinkSync(path.relative(path.join(root, "etc"), shared), path.join(root, "etc/pve"));
        write(path.join(shared, "nodes", node, "lxc", `${101 + i * 100}.conf`), `arch: amd64\nhostname: ct${101 + i * 100}\nnet0: name=eth0,bridge=vmbr0\n`);
        write(
            path.join(root, "var/log/pve-network/migration.log"),
            Array.from({ length: 2500 }, (_, k) => `2024-05-01T10:00:00Z node=${node} request=${k + 1} used_fallback=false`).join("\n") + "\n",
        );
        write(
            path.join(root, "var/lib/dpkg/status"),
            dpkgStatus([
                { pkg: "pve-network-rs", version: "0.4.2-1" },
                { pkg: "ifupdown2", version: "3.2.0-1+pmx8" },
            ]),
        );
        write(path.join(root, "etc/systemd/system/pve-network-rs.service"), UNIT_FILE);
        fs.mkdirSync(path.join(root, "etc/systemd/system/multi-user.target.wants"), { recursive: true });
        fs.symlinkSync("../pve-network-rs.service", path.join(root, "etc/systemd/system/multi-user.target.wants/pve-network-rs.service"));
        write(path.join(root, "etc/systemd/system/pve-network-migration.service"), UNIT_FILE);
    });
    return roots;
}

export interface Ran {
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
}

/** Run the rendered script as `bash -s -- ARGS` with the script on stdin. */
export function runScript(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Ran> {
    return new Promise((resolve, reject) => {
        const child = spawn("bash", ["-s", "--", ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
        child.stdin.end(renderDiagnosticsScript());
    });
}

/** Extract a bundle into a folder and return its files (relative to bundle/) with contents. */
export function extract(tarball: string, into: string): Record<string, string> {
    fs.mkdirSync(into, { recursive: true });
    const r = spawnSync("tar", ["-xzf", tarball, "-C", into], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(r.stderr);
    const out: Record<string, string> = {};
    const walk = (rel: string) => {
        for (const e of fs.readdirSync(path.join(into, "bundle", rel), { withFileTypes: true })) {
            const p = rel ? `${rel}/${e.name}` : e.name;
            if (e.isDirectory()) walk(p);
            else out[p] = fs.readFileSync(path.join(into, "bundle", p), "utf8");
        }
    };
    walk("");
    return out;
}
