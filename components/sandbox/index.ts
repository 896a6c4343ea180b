/**
 * Sandbox node roots for the `dev` stack, the tests and the benchmarks: folders laid out like
 * a Proxmox VE node (dpkg database, /etc/network/interfaces, /etc/pve/...), where the node
 * steps run for real with `--root <folder>`.
 *
 * - /etc/pve of every node root is a link to one shared folder, as pmxcfs makes /etc/pve one
 *   file system for the whole cluster.
 * - The pve-network-rs package is a real .deb built here with dpkg-deb: a stand-in for the
 *   Rust binaries (shell scripts), with the package's own systemd unit and a postinst that
 *   enables it, as dh_installsystemd does. The build is reproducible (same version: same sha256).
 * - The Perl CLI (pvenet-legacy) is not available outside Proxmox VE; each root gets a
 *   stand-in in /usr/sbin that checks the interfaces file and records each call.
 */
import { execFileSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

export const SOURCE_DATE_EPOCH = 1700000000;

export interface BuiltDeb {
    readonly path: string;
    readonly sha256: string;
    readonly version: string;
}

function write(file: string, content: string, mode = 0o644): void {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content, { mode });
    fs.chmodSync(file, mode);
}

export function sha256File(file: string): string {
    return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

export interface StandInDebOptions {
    /**
     * `sandbox` (default): one-shot shell stand-ins for sandbox roots without a service manager.
     * `lab`: long-running stand-ins for the node lab's booted Debian nodes (lab/): the daemon
     * serves /metrics on port 9187 with busybox httpd, the middleware stays up until stopped.
     */
    readonly variant?: "sandbox" | "lab";
}

/** Build the stand-in pve-network-rs_<version>_amd64.deb into `outDir`. */
export function buildStandInDeb(outDir: string, version: string, opts: StandInDebOptions = {}): BuiltDeb {
    const lab = opts.variant === "lab";
    if (!/^[0-9][A-Za-z0-9.+~-]*$/.test(version)) throw new Error(`bad version ${version}`);
    fs.mkdirSync(outDir, { recursive: true });
    const work = fs.mkdtempSync(path.join(os.tmpdir(), "pve-deb-"));
    try {
        const pkg = path.join(work, "pkg");
        write(
            path.join(pkg, "DEBIAN/control"),
            [
                "Package: pve-network-rs",
                `Version: ${version}`,
                "Architecture: amd64",
                "Maintainer: pve-network-migration tests <noreply@example.invalid>",
                "Section: admin",
                "Priority: optional",
                "Description: Proxmox VE network stack in Rust (stand-in built by the tests)",
                lab
                    ? " Long-running shell stand-ins for pve-network-rs, pve-network-migration and pvenet (node lab)."
                    : " Shell stand-ins for pve-network-rs, pve-network-migration and pvenet.",
                "",
            ].join("\n"),
        );
        write(
            path.join(pkg, "DEBIAN/postinst"),
            [
                "#!/bin/sh",
                "set -e",
                'mkdir -p "${DPKG_ROOT:-}/var/lib/pve-network-rs" "${DPKG_ROOT:-}/var/log/pve-network"',
                "# Like dh_installsystemd: enable the unit on first install.",
                'if [ "$1" = configure ] && [ -z "$2" ]; then',
                '  systemctl --root="${DPKG_ROOT:-/}" enable pve-network-rs.service >/dev/null 2>&1 || true',
                "fi",
                "",
            ].join("\n"),
            0o755,
        );
        const stub = (name: string) => `#!/bin/sh\n# stand-in for ${name} ${version}\necho "${name} ${version} (stand-in)"\nexit 0\n`;
        write(path.join(pkg, "usr/sbin/pve-network-rs"), lab ? labDaemon(version) : stub("pve-network-rs"), 0o755);
        write(path.join(pkg, "usr/sbin/pve-network-migration"), lab ? labMiddleware(version) : stub("pve-network-migration"), 0o755);
        write(
            path.join(pkg, "usr/bin/pvenet"),
            [
                "#!/bin/sh",
                `# stand-in for the pvenet CLI of pve-network-rs ${version}`,
                'case "${1:-}" in',
                `  status) echo "pvenet ${version} (stand-in): status ok" ;;`,
                '  validate) [ -f "${PVE_ROOT:-}${3:-/etc/network/interfaces}" ] || { echo "no such file" >&2; exit 1; } ;;',
                `  *) echo "pvenet ${version} (stand-in)" ;;`,
                "esac",
                "",
            ].join("\n"),
            0o755,
        );
        write(
            path.join(pkg, "lib/systemd/system/pve-network-rs.service"),
            "[Unit]\nDescription=pve-network-rs (package default)\n\n[Service]\nExecStart=/usr/sbin/pve-network-rs\n\n[Install]\nWantedBy=multi-user.target\n",
        );
        execFileSync("find", [pkg, "-exec", "touch", "-h", "-d", `@${SOURCE_DATE_EPOCH}`, "{}", "+"]);
        const out = path.join(outDir, `pve-network-rs_${version}_amd64.deb`);
        execFileSync("dpkg-deb", ["--root-owner-group", "-Zxz", "-b", pkg, out], {
            env: { ...process.env, SOURCE_DATE_EPOCH: String(SOURCE_DATE_EPOCH) },
            stdio: "pipe",
        });
        return { path: out, sha256: sha256File(out), version };
    } finally {
        fs.rmSync(work, { recursive: true, force: true });
    }
}

/** Where the lab daemon stand-in serves its metrics from; tests write `metrics` there. */
export const LAB_METRICS_DIR = "/var/lib/pve-network-rs/stand-in-metrics";

/** The metrics text the lab daemon stand-in serves (Prometheus text format 0.0.4). */
export function renderStandInMetrics(m: { fallbacks: number; applySum: number; applyCount: number }): string {
    for (const [k, v] of Object.entries(m)) {
        if (!Number.isFinite(v) || v < 0) throw new Error(`metrics.${k}: must be a finite number >= 0, got ${v}`);
    }
    if (!Number.isInteger(m.applyCount)) throw new Error(`metrics.applyCount: must be an integer, got ${m.applyCount}`);
    return [
        "# HELP pve_network_fallback_total Requests answered by Perl after the Rust path failed (stand-in value).",
        "# TYPE pve_network_fallback_total counter",
        `pve_network_fallback_total ${m.fallbacks}`,
        "# HELP pve_network_apply_duration_seconds Duration of network applies (stand-in values).",
        "# TYPE pve_network_apply_duration_seconds summary",
        `pve_network_apply_duration_seconds_sum ${m.applySum}`,
        `pve_network_apply_duration_seconds_count ${m.applyCount}`,
        "",
    ].join("\n");
}

/** Argument parsing shared by the lab stand-ins: `--config PATH` (optional), `--version`. */
const LAB_ARGS = (name: string, version: string) => [
    'config=""',
    'while [ "$#" -gt 0 ]; do',
    '  case "$1" in',
    '    --config) [ "$#" -ge 2 ] || { echo "--config needs a path" >&2; exit 2; }; config=$2; shift 2 ;;',
    `    --version) echo "${name} ${version} (stand-in)"; exit 0 ;;`,
    '    *) echo "unknown argument: $1" >&2; exit 2 ;;',
    "  esac",
    "done",
    "phase=none",
    'if [ -n "$config" ]; then',
    '  [ -r "$config" ] || { echo "cannot read config $config" >&2; exit 1; }',
    '  phase=$(sed -n \'s/^phase *= *"\\(.*\\)"/\\1/p\' "$config" | head -n 1)',
    "fi",
];

function labDaemon(version: string): string {
    return [
        "#!/bin/sh",
        `# stand-in for the pve-network-rs daemon ${version} (node lab): serves /metrics on port 9187`,
        "# with busybox httpd from a file the tests write; no network management at all.",
        "set -eu",
        ...LAB_ARGS("pve-network-rs", version),
        `dir=${LAB_METRICS_DIR}`,
        'mkdir -p "$dir"',
        'if [ ! -f "$dir/metrics" ]; then',
        `  printf '%s' '${renderStandInMetrics({ fallbacks: 0, applySum: 0, applyCount: 0 })}' > "$dir/metrics.tmp"`,
        '  mv -f "$dir/metrics.tmp" "$dir/metrics"',
        "fi",
        `echo "pve-network-rs ${version} (stand-in) phase=$phase serving :9187/metrics"`,
        'exec busybox httpd -f -p 9187 -h "$dir"',
        "",
    ].join("\n");
}

function labMiddleware(version: string): string {
    return [
        "#!/bin/sh",
        `# stand-in for the pve-network-migration middleware ${version} (node lab): reads the phase`,
        "# from its config at start and stays up until stopped; it routes nothing.",
        "set -eu",
        ...LAB_ARGS("pve-network-migration", version),
        `echo "pve-network-migration ${version} (stand-in) started phase=$phase"`,
        "exec sleep infinity",
        "",
    ].join("\n");
}

export const FIXTURES = {
    interfaces: (node: string) =>
        [
            "auto lo",
            "iface lo inet loopback",
            "",
            "iface eno1 inet manual",
            "",
            "auto vmbr0",
            "iface vmbr0 inet static",
            `\taddress 192.0.2.${10 + (parseInt(crypto.createHash("md5").update(node).digest("hex").slice(0, 2), 16) % 200)}/24`,
            "\tgateway 192.0.2.1",
            "\tbridge-ports eno1",
            "\tbridge-stp off",
            "\tbridge-fd 0",
            "",
        ].join("\n"),
    sdn: "zone: zone1\n\ttype vlan\n\tbridge vmbr0\n\nvnet: vnet100\n\tzone zone1\n\ttag 100\n",
    storage: "dir: local\n\tpath /var/lib/vz\n\tcontent iso,vztmpl,backup\n\nlvmthin: local-lvm\n\tthinpool data\n\tvgname pve\n\tcontent rootdir,images\n",
    lxc: (id: number) =>
        `arch: amd64\nhostname: ct${id}\nmemory: 512\nnet0: name=eth0,bridge=vmbr0,ip=dhcp,type=veth\nostype: debian\nrootfs: local-lvm:vm-${id}-disk-0,size=8G\n`,
};

/** The stand-in Perl CLI: validates that the interfaces file exists and has `auto lo`. */
export const LEGACY_CLI = [
    "#!/bin/sh",
    "# stand-in for pvenet-legacy (the Perl CLI is only on Proxmox VE): records each call",
    'log="${PVE_ROOT:-}/var/log/pve-network/legacy-calls.log"',
    'mkdir -p "$(dirname "$log")"',
    'printf "%s\\n" "$*" >> "$log"',
    'case "${1:-}" in',
    '  validate) f="${PVE_ROOT:-}${3:-/etc/network/interfaces}"; grep -q "^auto lo" "$f" || { echo "invalid: $f" >&2; exit 1; } ;;',
    "  apply) ;;",
    '  *) echo "usage: pvenet-legacy validate|apply" >&2; exit 2 ;;',
    "esac",
    "",
].join("\n");

export interface SandboxOptions {
    /** Containers per node (lxc/<id>.conf files). */
    readonly containersPerNode?: number;
    /** Copy the host's systemd units into each root (for `systemd-analyze verify --root`). */
    readonly withSystemdUnits?: boolean;
}

/**
 * Create (idempotently) `<dir>/<node>` roots for `nodes` sharing `<dir>/cluster-pve` as /etc/pve.
 * Existing files are left as they are.
 */
export function createSandbox(dir: string, nodes: readonly string[], opts: SandboxOptions = {}): Record<string, string> {
    const shared = path.join(dir, "cluster-pve");
    const keep = (file: string, content: string, mode = 0o644) => {
        if (!fs.existsSync(file)) write(file, content, mode);
    };
    keep(path.join(shared, "sdn.cfg"), FIXTURES.sdn);
    keep(path.join(shared, "storage.cfg"), FIXTURES.storage);
    const roots: Record<string, string> = {};
    nodes.forEach((node, i) => {
        const root = path.join(dir, node);
        roots[node] = root;
        for (const d of ["var/lib/dpkg/updates", "var/lib/dpkg/info", "var/log/pve-network", "etc/network", "etc/systemd/system", "usr/sbin", "usr/bin"]) {
            fs.mkdirSync(path.join(root, d), { recursive: true });
        }
        keep(path.join(root, "var/lib/dpkg/status"), "");
        keep(path.join(root, "etc/network/interfaces"), FIXTURES.interfaces(node));
        keep(path.join(root, "usr/sbin/pvenet-legacy"), LEGACY_CLI, 0o755);
        const link = path.join(root, "etc/pve");
        if (!fs.existsSync(link)) fs.symlinkSync(path.relative(path.dirname(link), shared), link);
        const n = opts.containersPerNode ?? 2;
        for (let c = 0; c < n; c++) {
            const id = 100 + i * 100 + c + 1;
            keep(path.join(shared, "nodes", node, "lxc", `${id}.conf`), FIXTURES.lxc(id));
        }
        if (opts.withSystemdUnits && !fs.existsSync(path.join(root, "usr/lib/systemd/system"))) {
            fs.mkdirSync(path.join(root, "usr/lib/systemd"), { recursive: true });
            execFileSync("cp", ["-a", "/usr/lib/systemd/system", path.join(root, "usr/lib/systemd/")]);
        }
    });
    return roots;
}
