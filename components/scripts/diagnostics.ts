/**
 * The diagnostics bundle collector ("capture the broken state first"),
 * rendered as bash that runs on a node (ROOT "/") or against a sandbox node root.
 *
 * Bundle layout (a .tar.gz holding one folder `bundle/`):
 *   FORMAT                           "pve-network-diagnostics 1"
 *   node.txt                         the NODE argument, verbatim (data, never code)
 *   meta.txt                         collected_at, root, phase_file, service_manager, lock
 *   phase.txt                        the phase read from PHASE_FILE, or "unknown (...)"
 *   logs/migration.log.tail          last 2000 lines of /var/log/pve-network/migration.log
 *   logs/journal.txt                 journalctl -n 200 of the units (ROOT "/" only)
 *   systemd/<unit>.show.txt          systemctl show (ROOT "/" only)
 *   systemd/<unit>.status.txt        systemctl status (ROOT "/" only)
 *   systemd/<unit>.is-enabled.txt    systemctl --root=ROOT is-enabled (sandbox roots)
 *   systemd/NO-SERVICE-MANAGER.txt   sandbox roots: why show/status/journal are absent
 *   packages/versions.txt            package<TAB>version<TAB>status, or <TAB>-<TAB>not-installed
 *   config/sha256sums.txt            "<sha256>  <path>" or "MISSING  <path>", paths as on the node
 *   config/files/<path>              copies of those files (each at most 256 KiB)
 *
 * The collector only reads the node: it writes nothing but the tarball (temp file + rename).
 * It takes the node steps' lock (/var/lib/pve-network-rs/.lock, components/scripts/sh/lib.sh)
 * shared, for a consistent snapshot, but waits at most 30 s (env PVE_DIAGNOSTICS_LOCK_WAIT): a step hung while holding the
 * lock is exactly when diagnostics are needed, so it then collects anyway and says so in
 * meta.txt (lock=busy).
 */

/** Units collected by default: the Rust daemon, the middleware and the legacy Perl service. */
export const DEFAULT_UNITS: readonly string[] = ["pve-network-rs.service", "pve-network-migration.service", "pve-network.service"];

/** Packages whose installed versions are recorded. */
export const PACKAGES: readonly string[] = ["pve-network-rs", "pve-network", "libpve-network-perl", "ifupdown2", "pve-manager"];

/** Node files whose checksums (and copies) go into the bundle, besides the lxc configs and PHASE_FILE. */
export const CONFIG_FILES: readonly string[] = ["/etc/network/interfaces", "/etc/pve/sdn.cfg", "/etc/pve/storage.cfg"];

export const BUNDLE_FORMAT = "pve-network-diagnostics 1";
export const LOG_TAIL_LINES = 2000;
export const JOURNAL_LINES = 200;
export const MAX_COPY_BYTES = 256 * 1024;

function bashWords(words: readonly string[]): string {
    for (const w of words) if (!/^[A-Za-z0-9@._/-]+$/.test(w)) throw new Error(`not a plain word: ${w}`);
    return words.join(" ");
}

/**
 * Bash that defines `pve_collect_diagnostics ROOT NODE PHASE_FILE OUT_TARBALL [UNIT...]`.
 * ROOT is "/" on a node or a sandbox root; PHASE_FILE is already under ROOT; OUT_TARBALL is
 * an absolute path. The function body runs in a subshell (its options, traps and umask stay
 * inside). Exit codes: 0 written, 2 bad arguments, 1 collection failed.
 */
export function renderDiagnosticsFunction(): string {
    return `# pve_collect_diagnostics ROOT NODE PHASE_FILE OUT_TARBALL [UNIT...]
# Collect a diagnostics bundle (see components/scripts/diagnostics.ts for the layout).
pve_collect_diagnostics() (
  set -euo pipefail
  umask 077
  if [ "$#" -lt 4 ]; then
    echo "pve_collect_diagnostics: usage: ROOT NODE PHASE_FILE OUT_TARBALL [UNIT...]" >&2
    exit 2
  fi
  local root=$1 node=$2 phase_file=$3 out=$4
  shift 4
  local -a units=("$@")
  if [ "\${#units[@]}" -eq 0 ]; then
    units=(${bashWords(DEFAULT_UNITS)})
  fi
  local -a packages=(${bashWords(PACKAGES)})
  local -a config_files=(${bashWords(CONFIG_FILES)})
  case $root in
    /*) ;;
    *) echo "pve_collect_diagnostics: ROOT must be an absolute path" >&2; exit 2 ;;
  esac
  case $out in
    /*) ;;
    *) echo "pve_collect_diagnostics: OUT_TARBALL must be an absolute path" >&2; exit 2 ;;
  esac
  local unit
  for unit in "\${units[@]}"; do
    if ! [[ $unit =~ ^[A-Za-z0-9@._-]+\\.service$ ]]; then
      echo "pve_collect_diagnostics: not a service unit name: $unit" >&2
      exit 2
    fi
  done
  # "/" becomes "": every node path is "$root/etc/...".
  while [ "\${root%/}" != "$root" ]; do root=\${root%/}; done
  local real=0
  if [ -z "$root" ]; then real=1; fi
  if [ "$real" -eq 0 ] && [ ! -d "$root" ]; then
    echo "pve_collect_diagnostics: ROOT $root is not a directory" >&2
    exit 2
  fi
  case $phase_file in
    "$root"/*) ;;
    *) echo "pve_collect_diagnostics: PHASE_FILE must be an absolute path under ROOT" >&2; exit 2 ;;
  esac
  # (Parameter expansions and printf's own time format instead of dirname and date: no process each.)
  local out_dir=\${out%/*}
  [ -n "$out_dir" ] || out_dir=/
  [ -d "$out_dir" ] || mkdir -p -- "$out_dir"

  # The body is a subshell: these variables and the traps end with it. Temp names carry this
  # subshell's pid ("pve-tmp.<pid>.", as the node steps' temp files, components/scripts/sh/lib.sh
  # pve_temp_name): should it be killed before its EXIT trap runs, the next node step removes
  # them once this process is gone. SIGTERM (a step's time limit) runs the EXIT trap too.
  tmp_out=""
  local owner=$BASHPID
  tmp=$(mktemp -d "\${TMPDIR:-/tmp}/pve-diagnostics.pve-tmp.$owner.XXXXXX")
  trap 'rm -rf -- "$tmp" \${tmp_out:+"$tmp_out"}' EXIT
  trap 'exit 143' TERM
  local b="$tmp/bundle"
  mkdir -p -- "$b/logs" "$b/systemd" "$b/packages" "$b/config/files"

  # A shared hold on the node steps' lock, at most PVE_DIAGNOSTICS_LOCK_WAIT seconds (default
  # 30); the lock file is never created here.
  local lock_wait=\${PVE_DIAGNOSTICS_LOCK_WAIT:-30}
  if ! [[ $lock_wait =~ ^[0-9]{1,4}$ ]]; then
    echo "pve_collect_diagnostics: PVE_DIAGNOSTICS_LOCK_WAIT must be whole seconds" >&2
    exit 2
  fi
  local lock_state=none lock_file="$root/var/lib/pve-network-rs/.lock"
  if [ "\${PVE_DIAGNOSTICS_LOCK_HELD:-0}" = 1 ]; then
    # Called from a node step, which already holds the lock exclusively.
    lock_state=held-by-step
  elif [ -f "$lock_file" ]; then
    exec 8<"$lock_file"
    if flock -s -w "$lock_wait" 8; then lock_state=held; else lock_state=busy; fi
  fi

  printf '%s\\n' "${BUNDLE_FORMAT}" > "$b/FORMAT"
  printf '%s' "$node" > "$b/node.txt"
  {
    TZ=UTC0 printf 'collected_at=%(%Y-%m-%dT%H:%M:%SZ)T\\n' -1
    printf 'root=%s\\n' "\${root:-/}"
    printf 'phase_file=%s\\n' "\${phase_file#"$root"}"
    if [ "$real" -eq 1 ]; then
      printf 'service_manager=systemd\\n'
    else
      printf 'service_manager=none (sandbox root)\\n'
    fi
    printf 'lock=%s\\n' "$lock_state"
  } > "$b/meta.txt"

  # Phase: the phase = "..." line of the migration config; data only, never evaluated.
  local phase="" line
  if [ -f "$phase_file" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      if [[ $line =~ ^[[:space:]]*phase[[:space:]]*=[[:space:]]*\\"([^\\"]*)\\" ]]; then
        phase=\${BASH_REMATCH[1]}
        break
      fi
    done < "$phase_file"
    if [ -n "$phase" ]; then
      printf '%s\\n' "$phase" > "$b/phase.txt"
    else
      printf 'unknown (no phase key in %s)\\n' "\${phase_file#"$root"}" > "$b/phase.txt"
    fi
  else
    printf 'unknown (%s is missing)\\n' "\${phase_file#"$root"}" > "$b/phase.txt"
  fi

  # Decision log tail.
  local log="$root/var/log/pve-network/migration.log"
  if [ -f "$log" ]; then
    tail -n ${LOG_TAIL_LINES} -- "$log" > "$b/logs/migration.log.tail"
  else
    printf '%s is missing\\n' "/var/log/pve-network/migration.log" > "$b/logs/migration.log.MISSING"
  fi

  # Units: the live service manager on a node; unit files only for a sandbox root.
  # The queries of the service manager run side by side (each a process that mostly waits on
  # systemd or reads unit files), each into its own file; their exit statuses are appended once
  # all have ended.
  local rc i
  local -a qpids=() qfiles=()
  query() {
    local file=$1
    shift
    "$@" > "$file" 2>&1 &
    qpids+=("$!")
    qfiles+=("$file")
  }
  if [ "$real" -eq 1 ]; then
    for unit in "\${units[@]}"; do
      query "$b/systemd/$unit.show.txt" systemctl show --no-pager -- "$unit"
      query "$b/systemd/$unit.status.txt" systemctl status --no-pager --full -n 0 -- "$unit"
    done
    local -a jargs=()
    for unit in "\${units[@]}"; do jargs+=(-u "$unit"); done
    query "$b/logs/journal.txt" journalctl --no-pager -o short-iso -n ${JOURNAL_LINES} "\${jargs[@]}"
  else
    {
      printf 'ROOT %s is a sandbox node root: no service manager runs for it.\\n' "$root"
      printf 'systemctl show/status and the journal were not collected; is-enabled is read from\\n'
      printf 'the unit files under the root (systemctl --root).\\n'
    } > "$b/systemd/NO-SERVICE-MANAGER.txt"
    for unit in "\${units[@]}"; do
      if command -v systemctl > /dev/null 2>&1; then
        query "$b/systemd/$unit.is-enabled.txt" systemctl --root="$root" is-enabled -- "$unit"
      else
        printf 'systemctl not found\\n# exit status 127\\n' > "$b/systemd/$unit.is-enabled.txt"
      fi
    done
  fi
  for i in "\${!qpids[@]}"; do
    rc=0
    wait "\${qpids[i]}" || rc=$?
    printf '# exit status %s\\n' "$rc" >> "\${qfiles[i]}"
  done

  # Installed package versions; a missing package is recorded, not fatal.
  local pkg v
  local -A installed=()
  # One dpkg-query for every package; one that is not installed is absent from its output.
  # shellcheck disable=SC2016 # dpkg-query's own \${field} syntax
  while IFS=$'\\t' read -r pkg v; do
    [ -n "$v" ] && installed[$pkg]=$v
  done < <(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='\${Package}\\t\${Version}\\t\${Status}\\n' -- "\${packages[@]}" 2> /dev/null || true)
  : > "$b/packages/versions.txt"
  for pkg in "\${packages[@]}"; do
    if [ -n "\${installed[$pkg]:-}" ]; then
      printf '%s\\t%s\\n' "$pkg" "\${installed[$pkg]}" >> "$b/packages/versions.txt"
    else
      printf '%s\\t-\\tnot-installed\\n' "$pkg" >> "$b/packages/versions.txt"
    fi
  done

  # Config checksums and copies. lxc configs: /etc/pve/lxc (a link to the local node's folder
  # on Proxmox VE), else /etc/pve/nodes/<node>/lxc when NODE is a node name.
  local -a files=("\${config_files[@]}")
  local lxc_dir="" f rel
  if [ -d "$root/etc/pve/lxc" ]; then
    lxc_dir=/etc/pve/lxc
  elif [[ $node =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$ ]] && [ -d "$root/etc/pve/nodes/$node/lxc" ]; then
    lxc_dir=/etc/pve/nodes/$node/lxc
  fi
  if [ -n "$lxc_dir" ]; then
    for f in "$root$lxc_dir"/*.conf; do
      [ -e "$f" ] || continue
      files+=("\${f#"$root"}")
    done
  fi
  files+=("\${phase_file#"$root"}")
  # Checksums and sizes of the present files in one sha256sum and one stat run; copies of the
  # small ones in one cp run (paths relative to the root, kept under config/files).
  local -A sum=() size=()
  local -a present=() copy=()
  local rec
  for rel in "\${files[@]}"; do
    [ -f "$root$rel" ] && present+=("$root$rel")
  done
  if [ "\${#present[@]}" -gt 0 ]; then
    while IFS= read -r -d '' rec; do
      sum[\${rec:66}]=\${rec:0:64}
    done < <(sha256sum --zero -- "\${present[@]}")
    while IFS=$'\\t' read -r -d '' v f; do
      size[$f]=$v
    done < <(stat --printf '%s\\t%n\\0' -- "\${present[@]}")
  fi
  : > "$b/config/sha256sums.txt"
  for rel in "\${files[@]}"; do
    f="$root$rel"
    if [ -n "\${sum[$f]:-}" ]; then
      printf '%s  %s\\n' "\${sum[$f]}" "$rel" >> "$b/config/sha256sums.txt"
      if [ "\${size[$f]}" -le ${MAX_COPY_BYTES} ]; then copy+=("\${rel#/}"); fi
    else
      printf 'MISSING  %s\\n' "$rel" >> "$b/config/sha256sums.txt"
    fi
  done
  if [ "\${#copy[@]}" -gt 0 ]; then
    (cd -- "\${root:-/}" && cp --parents -L -- "\${copy[@]}" "$b/config/files/")
  fi

  # Write the tarball atomically: temp file beside the target, then rename.
  tmp_out=$(mktemp "$out_dir/.pve-diagnostics.pve-tmp.$owner.XXXXXX")
  # mktemp made it mode 0600.
  tar -C "$tmp" --owner=0 --group=0 --numeric-owner -czf "$tmp_out" bundle
  mv -f -- "$tmp_out" "$out"
  printf '%s\\n' "$out"
)
`;
}

/**
 * A standalone script for `migration-ctl diagnostics`:
 * `--root R --node N --phase-file F --out O [--unit U...]`, then the function above.
 * Runs as `bash -s -- ARGS` with the script on stdin (locally or over ssh).
 */
export function renderDiagnosticsScript(): string {
    return `#!/bin/bash
# Collect a pve-network diagnostics bundle. Rendered by components/scripts/diagnostics.ts.
set -euo pipefail

${renderDiagnosticsFunction()}
usage() {
  echo "usage: pve-collect-diagnostics --root ROOT --node NODE --phase-file FILE --out TARBALL [--unit UNIT...]" >&2
  exit 2
}

main() {
  local root="" node="" phase_file="" out="" have_node=0
  local -a units=()
  while [ "$#" -gt 0 ]; do
    case $1 in
      --root) [ "$#" -ge 2 ] || usage; root=$2; shift 2 ;;
      --node) [ "$#" -ge 2 ] || usage; node=$2; have_node=1; shift 2 ;;
      --phase-file) [ "$#" -ge 2 ] || usage; phase_file=$2; shift 2 ;;
      --out) [ "$#" -ge 2 ] || usage; out=$2; shift 2 ;;
      --unit) [ "$#" -ge 2 ] || usage; units+=("$2"); shift 2 ;;
      -h|--help) usage ;;
      *) echo "pve-collect-diagnostics: unknown argument: $1" >&2; usage ;;
    esac
  done
  if [ -z "$root" ] || [ "$have_node" -eq 0 ] || [ -z "$phase_file" ] || [ -z "$out" ]; then
    usage
  fi
  pve_collect_diagnostics "$root" "$node" "$phase_file" "$out" "\${units[@]}"
}

# Called on the last line, so bash has read the whole script from stdin before anything runs;
# nothing it runs reads the rest of stdin.
main "$@" </dev/null
`;
}
