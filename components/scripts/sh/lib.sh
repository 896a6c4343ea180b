# Shared prelude of every node step (concatenated before the step body, never sourced at
# run time). Values arrive only as arguments (--name value ... [-- argv...]); nothing here
# evaluates them as code. Prelude and body run inside the function pve_step_main (see
# renderStepScript): `declare` needs -g there to make a global, `exit` still ends the step.
set -euo pipefail
umask 022
export LC_ALL=C TZ=UTC0

declare -gA OPT=()
CMD=()
TEMP_DIRS=()
ROOT=/ RP="" NODE=- FROM=- TO=- LOG_READY=0 STEP_LOGGED=0 TIMED_OUT=0 STATE_DIR="" DIAG_PID=""

usage() {
  printf 'pve-migration %s: %s\n' "$STEP" "$*" >&2
  exit 64
}

parse_args() {
  local name
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --) shift; CMD=("$@"); return 0 ;;
      --*)
        name=${1#--}
        [[ $name =~ ^[a-z0-9-]+$ ]] || usage "bad option name"
        [ "$#" -ge 2 ] || usage "option --$name needs a value"
        OPT[$name]=$2
        shift 2 ;;
      *) usage "unexpected argument (options are --name value)" ;;
    esac
  done
}

require_opts() {
  local o
  for o in "$@"; do
    [ -n "${OPT[$o]+set}" ] || usage "missing --$o"
  done
}

# is_phase, is_write_phase and phase_index come from components/phases (generated before this prelude).

# The PVE_* bounds come from components/config/bounds.ts (generated before this prelude).
check_unit_name() {
  [[ $1 =~ $PVE_UNIT_NAME_ERE ]] || usage "not a service name"
  [ "${#1}" -le "$PVE_MAX_UNIT_NAME_LENGTH" ] || usage "service name longer than $PVE_MAX_UNIT_NAME_LENGTH characters"
}

check_abs_path() {
  [[ $1 == /* && $1 != *$'\n'* && $1 != */../* && $1 != */.. ]] || usage "not an absolute path"
}

# check_write_path PATH: a path the step writes from the stack config, within the schema's bounds.
check_write_path() {
  local part parts=()
  check_abs_path "$1"
  [[ $1 =~ $PVE_PATH_ERE ]] || usage "not a path of plain characters"
  [ "${#1}" -le "$PVE_MAX_PATH_LENGTH" ] || usage "path longer than $PVE_MAX_PATH_LENGTH characters"
  IFS=/ read -r -a parts <<< "$1"
  for part in "${parts[@]}"; do
    [ "${#part}" -le "$PVE_MAX_PATH_COMPONENT_LENGTH" ] || usage "path part longer than $PVE_MAX_PATH_COMPONENT_LENGTH characters"
  done
}

# check_count NAME VALUE MAX: VALUE is a whole number 1..MAX.
check_count() {
  if ! [[ $2 =~ ^[1-9][0-9]{0,5}$ ]] || [ "$2" -gt "$3" ]; then usage "--$1 must be 1..$3"; fi
}

# check_site_argv ARGV...: each command of at most PVE_MAX_COMMAND_ARGS words (checked by the
# caller), each word of at most PVE_MAX_ARG_LENGTH characters.
check_site_argv() {
  local a
  for a in "$@"; do
    [ "${#a}" -le "$PVE_MAX_ARG_LENGTH" ] || usage "a command argument is longer than $PVE_MAX_ARG_LENGTH characters"
  done
}

# Path of $1 under the node root ("/" on a real node, a sandbox folder in dev and tests).
R() {
  printf '%s%s' "${ROOT%/}" "$1"
}
# ${RP}/path is the same path as $(R /path) without a subshell (RP is set with ROOT by init_step).

is_sandbox() {
  [ "$ROOT" != "/" ]
}

# init_root: --root and --node checked; ROOT, RP, NODE and STATE_DIR set. Reads and writes nothing
# (init_step builds on it; the read-only restore preview uses it alone).
init_root() {
  require_opts root node
  ROOT=${OPT[root]}
  RP=${ROOT%/}
  check_abs_path "$ROOT"
  [ -d "$ROOT" ] || usage "root $ROOT is not a directory"
  [[ ${OPT[node]} =~ $PVE_NODE_NAME_ERE ]] || usage "--node is not a node name"
  NODE=${OPT[node]}
  STATE_DIR=${RP}/var/lib/pve-network-rs
}

# Common options: --root --node [--to] [--from]; sets up the lock and the decision log.
# Without --to (steps that do not depend on the phase) from/to are those of the transition in
# progress, else of the last completed one.
init_step() {
  init_root
  local t_from t_to
  kv_get_into t_from "$STATE_DIR/transition" from
  kv_get_into t_to "$STATE_DIR/transition" to
  if [ -n "${OPT[to]+set}" ]; then
    is_phase "${OPT[to]}" || usage "--to is not a phase"
    TO=${OPT[to]}
    FROM=$TO
    if [ "$t_to" = "$TO" ] && is_phase "$t_from"; then FROM=$t_from; fi
  elif is_phase "$t_to"; then
    TO=$t_to
    FROM=$t_from
  else
    kv_get_into TO "$STATE_DIR/transition.last" to
    is_phase "$TO" || TO=-
    FROM=$TO
  fi
  if [ -n "${OPT[from]+set}" ]; then
    is_phase "${OPT[from]}" || usage "--from is not a phase"
    FROM=${OPT[from]}
  fi
  [ -d "$STATE_DIR" ] || mkdir -p -- "$STATE_DIR"
  [ -d "${RP}/var/log/pve-network" ] || mkdir -p -- "${RP}/var/log/pve-network"
  LOG_READY=1
  exec 9>>"$STATE_DIR/.lock"
  flock -w "${OPT[lock-timeout]:-120}" 9 || fail 75 "another migration step holds $STATE_DIR/.lock"
  # Under the lock: the temp files that killed steps left (the state folder, $TMPDIR and the
  # folders this step writes, node paths in TEMP_DIRS, set by the step before init_step).
  local d
  remove_stale_temps "$STATE_DIR" "${TMPDIR:-/tmp}"
  for d in "${TEMP_DIRS[@]}"; do
    remove_stale_temps "${RP}$d"
  done
  kill_point locked
  ha_reenter
}

# Temp files. Every temp file or folder a step (or its diagnostics collector) makes is named
# "<dir>/.<base>.pve-tmp.<pid>.XXXXXX" in a live folder, "<dir>/pve-<what>.pve-tmp.<pid>.XXXXXX"
# in $TMPDIR, <pid> being the process that removes it when it is done. A process killed with
# SIGKILL (or a node that lost power) cannot remove its own; the next step removes, under the
# lock, every one whose process is gone (remove_stale_temps), so a live folder never keeps them.
# A temp file of a running process (a diagnostics collector outside any step, another root's
# step sharing $TMPDIR) is left alone; a reused pid only delays the removal.
# pve_temp_name DIR BASE [PID]: the template for mktemp, BASE being ".<name>" (a live folder)
# or "pve-<what>" ($TMPDIR); PID defaults to the step's own, $$ (a subshell that removes its
# own temp files passes its $BASHPID).
pve_temp_name() {
  local name
  pve_temp_name_into name "$@"
  printf '%s' "$name"
}

# pve_temp_name_into VAR DIR BASE [PID]: pve_temp_name's template into VAR (no subshell).
pve_temp_name_into() {
  [[ $3 =~ ^(\.|pve-)[^/]+$ ]] || fail 70 "pve_temp_name: bad temp file base $3"
  # The base is cut to 200 characters, so that the temp name (base, pid, six random characters)
  # fits a file name of 255 whatever the target's name (components/config/bounds.ts).
  printf -v "$1" '%s/%s.pve-tmp.%s.XXXXXX' "${2%/}" "${3:0:200}" "${4:-$$}"
}

# pve_new_temp VAR DIR BASE [MODE]: create a new empty temp file named by pve_temp_name, with
# MODE (default 0600), and set VAR to its path (pve_new_file).
pve_new_temp() {
  local template
  pve_temp_name_into template "$2" "$3"
  pve_new_file "$1" "$template" "${4:-0600}"
}

# pve_random6_into VAR: set VAR to six random characters of PVE_TEMP_CHARS (a temp name's suffix).
pve_random6_into() {
  local _pve_k _pve_r _pve_s=""
  for ((_pve_k = 0; _pve_k < 6; _pve_k++)); do
    # SRANDOM (bash 5.1 and later: Debian 11 and 12) is 32 random bits from the kernel.
    _pve_r=${SRANDOM:-$RANDOM}
    _pve_s+=${PVE_TEMP_CHARS:_pve_r%62:1}
  done
  printf -v "$1" '%s' "$_pve_s"
}

# pve_new_file VAR TEMPLATE MODE: create a new empty file named TEMPLATE with its trailing six
# X's replaced by random letters and digits (as mktemp does), with MODE (no execute bits), and
# set VAR to its path. No process: under noclobber (set -C) bash opens a `>` target that does
# not exist with O_CREAT|O_EXCL (bash redir.c noclobber_open), so the file is new and ours as
# mktemp's would be, and it is created with mode 0666 masked by the umask, which is MODE's
# complement for that one redirection (the prelude's umask 022 afterwards). A name that exists
# in any form is skipped before the open (noclobber_open opens an existing non-regular file,
# a FIFO say, without O_EXCL).
PVE_TEMP_CHARS=ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789
pve_new_file() {
  local -
  local var=$1 template=$2 mode=$3 name try rnd mask
  [[ $template == *XXXXXX ]] || fail 70 "pve_new_file: template ${template//[^[:print:]]/?} does not end in XXXXXX"
  [[ $mode =~ ^0?[0-6][0-6][0-6]$ ]] || fail 70 "pve_new_file: mode $mode is not 0000..0666 (no execute bits)"
  printf -v mask '%03o' $((0777 & ~8#${mode#0}))
  set -C
  for ((try = 0; try < 50; try++)); do
    pve_random6_into rnd
    name=${template%XXXXXX}$rnd
    if [ -e "$name" ] || [ -L "$name" ]; then continue; fi
    umask "$mask"
    if { : > "$name"; } 2> /dev/null; then
      umask 022
      printf -v "$var" '%s' "$name"
      return 0
    fi
    umask 022
    [ -e "$name" ] || [ -L "$name" ] || fail 73 "cannot create a file in ${template%/*}"
  done
  fail 73 "cannot create a file in ${template%/*}: 50 random names taken"
}

# remove_stale_temps DIR...: remove the temp files and folders of pve_temp_name in each DIR
# whose process has ended.
remove_stale_temps() {
  local dir f pid
  for dir in "$@"; do
    [ -d "$dir" ] || continue
    for f in "${dir%/}"/.*.pve-tmp.* "${dir%/}"/pve-*.pve-tmp.*; do
      [ -e "$f" ] || [ -L "$f" ] || continue
      [[ ${f##*/} =~ \.pve-tmp\.([0-9]+)\.[A-Za-z0-9]{6} ]] || continue
      pid=${BASH_REMATCH[1]}
      [ "$pid" != "$$" ] || continue
      pid_running "$pid" && continue
      rm -rf -- "$f"
    done
  done
}

# pid_running PID: the process exists and is not a zombie (a killed step stays a zombie until
# whoever adopted it reaps it). /proc/PID/stat: "pid (comm) state ...", comm may hold spaces.
pid_running() {
  local stat=""
  [ -r "/proc/$1/stat" ] || return 1
  IFS= read -r stat < "/proc/$1/stat" 2>/dev/null || return 1
  stat=${stat##*) }
  case ${stat%% *} in
    Z|X|x) return 1 ;;
  esac
}

# kill_point NAME: a test hook, for the tests that kill a step at named points and run it again
# (test/node/interrupt-*.test.ts). Only in a sandbox root (ROOT is not /): when the root's
# /var/lib/pve-network-rs/.kill-at names NAME, the marker is removed and the step's whole
# process group (the step, its commands, its diagnostics job) gets SIGKILL here, as from
# `kill -9`, the OOM killer or a lost SSH session's cleanup. On a node (ROOT /) it does nothing.
kill_point() {
  is_sandbox || return 0
  [ -n "${STATE_DIR:-}" ] && [ -f "$STATE_DIR/.kill-at" ] || return 0
  local want=""
  IFS= read -r want < "$STATE_DIR/.kill-at" || true
  [ "$want" = "$1" ] || return 0
  rm -f -- "$STATE_DIR/.kill-at"
  kill -KILL 0
}

# kv_get FILE KEY: the value of a key=value line (nothing when the file or key is absent).
kv_get() {
  local line
  [ -f "$1" ] || return 0
  while IFS= read -r line; do
    case "$line" in
      "$2="*) printf '%s' "${line#"$2"=}"; return 0 ;;
    esac
  done < "$1"
}

# state_field FILE KEY: a key=value line of a state file under /var/lib/pve-network-rs.
state_field() {
  kv_get "$STATE_DIR/$1" "$2"
}

# kv_get_into VAR FILE KEY: kv_get into the variable VAR (no subshell; "" when absent).
kv_get_into() {
  local line
  printf -v "$1" '%s' ""
  [ -f "$2" ] || return 0
  while IFS= read -r line; do
    case "$line" in
      "$3="*) printf -v "$1" '%s' "${line#"$3"=}"; return 0 ;;
    esac
  done < "$2"
}

# Time in UTC, ISO 8601 (a bash builtin: no process).
now_utc() {
  printf '%(%Y-%m-%dT%H:%M:%SZ)T' -1
}

# One line per decision: time node from to step result detail (non-printable characters of
# the detail become '?', so a value cannot start a line of its own).
log_line() {
  local line detail=${2//[^[:print:]]/?}
  line="$(now_utc) node=$NODE from=$FROM to=$TO step=$STEP result=$1 detail=$detail"
  printf '%s\n' "$line" >> "${RP}/var/log/pve-network/migration.log"
  printf '%s\n' "$line"
}

# Finish the step: log the result and exit 0.
done_step() {
  kill_point finished
  log_line "$1" "$2"
  STEP_LOGGED=1
  exit 0
}

# Fail the step with an exit code: log and exit.
fail() {
  local code=$1
  shift
  printf 'pve-migration %s on %s: %s\n' "$STEP" "$NODE" "$*" >&2
  if [ "$LOG_READY" = 1 ]; then
    log_line failed "$*"
  fi
  STEP_LOGGED=1
  exit "$code"
}

# Exit codes 124 (and 137) mean "the step ran out of time" to the command line that runs the
# step (stepCommandLine). A command inside the step that times out on its own (an inner
# `timeout`) makes the step fail with 70 instead, so the two cannot be confused.
on_exit() {
  local rc=$?
  # A failed step of a transition that put the node in HA maintenance takes it out again.
  if [ "$rc" -ne 0 ] && [ "$LOG_READY" = 1 ] && [ "$STEP" != ha-leave ]; then ha_restore_on_failure || true; fi
  # A diagnostics job this step started and did not wait for (the step failed): wait for it,
  # so that it does not outlive the step (it removes its own temp files when done; it is
  # bounded by the step's time limit, which ends the whole process group).
  if [ -n "$DIAG_PID" ]; then
    wait "$DIAG_PID" 2>/dev/null || true
    DIAG_PID=""
  fi
  if [ "$TIMED_OUT" = 0 ] && { [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; }; then
    if [ "$STEP_LOGGED" = 0 ] && [ "$LOG_READY" = 1 ]; then
      log_line failed "a command timed out or was killed (exit $rc)"
    fi
    exit 70
  fi
  if [ "$rc" -ne 0 ] && [ "$STEP_LOGGED" = 0 ] && [ "$LOG_READY" = 1 ]; then
    log_line failed "exit $rc"
  fi
}
trap on_exit EXIT

# The step's time limit (GNU timeout around the step's bash, see stepCommandLine) sends SIGTERM to
# the step's whole process group: bash runs this once its foreground command has died of the
# same signal, logs the decision and ends with 124. (The command line prints the message.)
on_term() {
  TIMED_OUT=1
  if [ "$STEP_LOGGED" = 0 ] && [ "$LOG_READY" = 1 ]; then
    log_line failed "timed out after ${OPT[time-limit]:-?} s (the step's time limit)"
  fi
  STEP_LOGGED=1
  exit 124
}
trap on_term TERM

# same_content FILE TEXT: FILE exists and holds exactly TEXT (read with a builtin: no process).
same_content() {
  local current=""
  [ -f "$1" ] || return 1
  IFS= read -r -d '' current < "$1" || true
  [ "$current" = "$2" ]
}

sha256_file() {
  local out
  out=$(sha256sum -- "$1")
  printf '%s' "${out%% *}"
}

sha256_text() {
  local out
  out=$(printf '%s' "$1" | sha256sum)
  printf '%s' "${out%% *}"
}

# atomic_write PATH MODE CONTENT: temp file in the same folder, fsync, rename.
atomic_write() {
  local path=$1 mode=$2 content=$3 dir tmp
  dir=${path%/*}
  [ -d "$dir" ] || mkdir -p -- "$dir"
  # Created with MODE (pve_new_temp), so no chmod: pmxcfs (/etc/pve), which refuses chmod,
  # gives its files its own fixed permissions whatever the mode asked.
  pve_new_temp tmp "$dir" ".${path##*/}" "$mode"
  printf '%s' "$content" > "$tmp"
  kill_point "staged:${path##*/}"
  sync -- "$tmp" 2>/dev/null || true
  mv -f -- "$tmp" "$path"
  kill_point "written:${path##*/}"
}

# require_quorum WHAT: on a node (not a sandbox root), refuse (exit 69) unless the cluster is
# quorate: without quorum pmxcfs makes /etc/pve read-only, and a write there would fail half-way.
# The whole `pvecm status` report is read first: `pvecm status | grep -q` fails under pipefail
# once grep has matched and pvecm, still writing, dies of SIGPIPE (seen on the node lab). A
# failing pvecm leaves no "Quorate: Yes" line: not quorate.
require_quorum() {
  is_sandbox && return 0
  local report
  report=$(bounded 30 pvecm status 2>/dev/null) || report=""
  grep -Eq '^Quorate:[[:space:]]+Yes' <<<"$report" || fail 69 "cluster is not quorate: /etc/pve is read-only; not $1"
}

# Service manager: a real node has systemd; a sandbox root has none, so only enablement
# (systemctl --root) is changed there, and start/stop/restart are reported as skipped.
unit_is_enabled() {
  if is_sandbox; then
    systemctl --root="$ROOT" is-enabled --quiet -- "$1" 2>/dev/null
  else
    systemctl is-enabled --quiet -- "$1" 2>/dev/null
  fi
}

unit_is_active() {
  ! is_sandbox && systemctl is-active --quiet -- "$1" 2>/dev/null
}

unit_exists() {
  [ -f "${RP}/etc/systemd/system/$1" ] || [ -f "${RP}/lib/systemd/system/$1" ] || [ -f "${RP}/usr/lib/systemd/system/$1" ]
}

# bounded SECONDS ARGV...: run a command with a time limit of its own. --foreground keeps it
# in the step's process group (a plain `timeout` makes a group of its own, which the step's
# time limit would not reach: coreutils src/timeout.c, main() calls setpgid (0, 0) unless
# --foreground), so when the step's time limit strikes, this command dies with the step.
bounded() {
  local limit=$1
  shift
  timeout --foreground -k 10 "$limit" "$@"
}

# run_site_command ARGV...: a site command (legacy apply, verify). In a sandbox the node's
# own binaries come first on PATH and PVE_ROOT names the root. It gets no stdin (/dev/null,
# see renderStepScript) and not the lock's descriptor: a process it leaves behind cannot keep
# the node locked.
run_site_command() {
  if is_sandbox; then
    PATH="${RP}/usr/sbin:${RP}/usr/bin:$PATH" PVE_ROOT="$ROOT" bounded "${OPT[command-timeout]:-300}" "$@" 9>&-
  else
    bounded "${OPT[command-timeout]:-300}" "$@" 9>&-
  fi
}

# Diagnostics (rollback runbook: a bundle before each transition and after each rollback) ---

diagnostics_dir() {
  R /var/lib/pve-network-rs/diagnostics
}

# start_diagnostics NAME: start collecting <diagnostics>/NAME.tar.gz (unless it exists) as a
# job of this step, which holds the node lock; the step goes on meanwhile. finish_diagnostics
# waits for it and sets DIAG to what happened; a failed collection never fails the step (a
# missing bundle must not block a rollback). As a job, the collector keeps its own errexit.
DIAG_NAME="" DIAG=""
start_diagnostics() {
  local out
  DIAG_NAME=$1
  out="$(diagnostics_dir)/$1.tar.gz"
  [ -f "$out" ] && return 0
  # Without the lock's descriptor (9>&-): should the step be killed alone, the job cannot keep
  # the node locked (while the step lives, the step holds the lock for both).
  PVE_DIAGNOSTICS_LOCK_HELD=1 pve_collect_diagnostics "$ROOT" "$NODE" "${RP}${OPT[config-path]}" "$out" \
    "${OPT[rust-service]}" "${OPT[middleware-service]}" </dev/null >/dev/null 2>&1 9>&- &
  DIAG_PID=$!
  kill_point diagnostics-started
}

finish_diagnostics() {
  if [ -z "$DIAG_PID" ]; then
    DIAG="diagnostics $DIAG_NAME exists"
  elif wait "$DIAG_PID"; then
    DIAG="diagnostics $DIAG_NAME"
  else
    DIAG="diagnostics $DIAG_NAME FAILED"
  fi
  DIAG_PID=""
}

# collect_diagnostics_detached NAME: the same bundle, collected in its own session after this
# step has ended: it does not hold up the step, and it waits for the node lock (shared), which
# the step holds until it exits, so it sees the state the step left. Its output goes nowhere,
# so neither SSH nor the step waits for it; the bundle appears atomically when done.
collect_diagnostics_detached() {
  local out
  out="$(diagnostics_dir)/$1.tar.gz"
  [ -f "$out" ] && return 0
  # The function's own code is passed as code; every value as an argument.
  setsid -f bash -c "$(declare -f pve_collect_diagnostics)"'
    exec 9>&-
    PVE_DIAGNOSTICS_LOCK_WAIT=120 pve_collect_diagnostics "$@"' \
    pve-collect-diagnostics "$ROOT" "$NODE" "${RP}${OPT[config-path]}" "$out" \
    "${OPT[rust-service]}" "${OPT[middleware-service]}" </dev/null >/dev/null 2>&1
}

# Backups ------------------------------------------------------------------------------

backups_dir() {
  R /var/lib/pve-network-rs/backups
}

# A backup's id is its folder's name: <UTC time>-<transition id>.
is_backup_name() {
  [[ $1 =~ ^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{4,64}$ ]]
}

# backup_manifest DIR: the manifest DIR's files call for, in sha256sum's own format (one line per
# file, sorted by name; a name holding a backslash, newline or carriage return is escaped by
# sha256sum, which marks such a line with a leading backslash: coreutils src/digest.c,
# output_file), so no name is spliced into a line unescaped and `sha256sum -c` reads it back.
backup_manifest() {
  (cd -- "$1" && find . -type f ! -path ./MANIFEST.sha256 -print0 | LC_ALL=C sort -z | xargs -0r sha256sum -- | sed 's#  \./#  #')
}

# verify_backup DIR: every entry under DIR is the lxc folder or a regular file with one link
# (no symbolic link, device, fifo, socket, other folder or hard link), of a name a backup has,
# and MANIFEST.sha256 is exactly what those files call for (every file listed once, nothing
# else listed, every checksum right). On failure BACKUP_PROBLEM says why.
BACKUP_PROBLEM=""
verify_backup() {
  local dir=$1 rec kind links name
  BACKUP_PROBLEM=""
  if [ -L "$dir" ]; then BACKUP_PROBLEM="is a symbolic link, not a folder"; return 1; fi
  if [ -e "$dir" ] && [ ! -d "$dir" ]; then BACKUP_PROBLEM="is not a folder"; return 1; fi
  if [ ! -d "$dir" ]; then BACKUP_PROBLEM="is missing"; return 1; fi
  if [ -L "$dir/MANIFEST.sha256" ] || [ ! -f "$dir/MANIFEST.sha256" ]; then BACKUP_PROBLEM="has no manifest (MANIFEST.sha256)"; return 1; fi
  while IFS= read -r -d '' rec; do
    kind=${rec%% *}
    rec=${rec#* }
    links=${rec%% *}
    name=${rec#* }
    if [ "$kind" = d ] && [ "$name" = lxc ]; then continue; fi
    if [ "$kind" != f ]; then
      BACKUP_PROBLEM="holds ${name//[^[:print:]]/?}, which is not a regular file (find type $kind)"
      return 1
    fi
    if [ "$links" != 1 ]; then
      BACKUP_PROBLEM="holds ${name//[^[:print:]]/?}, which has $links hard links"
      return 1
    fi
    case "$name" in
      MANIFEST.sha256|meta|interfaces|sdn.cfg|storage.cfg) ;;
      lxc/*/*) BACKUP_PROBLEM="holds ${name//[^[:print:]]/?}, which is not a file a backup has"; return 1 ;;
      lxc/*.conf) ;;
      *) BACKUP_PROBLEM="holds ${name//[^[:print:]]/?}, which is not a file a backup has"; return 1 ;;
    esac
  done < <(cd -- "$dir" && find . -mindepth 1 -printf '%y %n %P\0')
  if [ ! -f "$dir/meta" ]; then BACKUP_PROBLEM="has no meta"; return 1; fi
  if ! cmp -s -- "$dir/MANIFEST.sha256" <(backup_manifest "$dir"); then
    BACKUP_PROBLEM="does not match its manifest"
    return 1
  fi
  kill_point backup-verified
}

# backup_check DIR NAME [TRANSITION]: DIR verifies (verify_backup) and its meta, which the
# manifest covers, names the backup NAME (the folder's own name), this node, and TRANSITION
# (when given; the folder's name ends in it too). On failure BACKUP_PROBLEM says why.
backup_check() {
  local dir=$1 name=$2 want_t=${3:-} id node t
  verify_backup "$dir" || return 1
  id=$(meta_get "$dir" id)
  node=$(meta_get "$dir" node)
  t=$(meta_get "$dir" transition)
  if [ "$id" != "$name" ] || [ "$name" != "${dir##*/}" ]; then
    BACKUP_PROBLEM="is not the backup its manifest names (meta id=${id//[^[:print:]]/?})"
    return 1
  fi
  if [ "$node" != "$NODE" ]; then
    BACKUP_PROBLEM="was taken on node ${node//[^[:print:]]/?}, not on $NODE"
    return 1
  fi
  if [ "${name##*-}" != "$t" ] || { [ -n "$want_t" ] && [ "$t" != "$want_t" ]; }; then
    BACKUP_PROBLEM="belongs to transition ${t//[^[:print:]]/?}, not ${want_t:-${name##*-}}"
    return 1
  fi
}

# The record of the backup a rollback out of the write phases restores: the backup of a
# Perl-managed state that the snapshot took on entering them (written atomically).
restore_record() {
  printf '%s/perl-backup' "$STATE_DIR"
}

# meta_get DIR KEY: a key=value line of a backup's meta file.
meta_get() {
  kv_get "$1/meta" "$2"
}

# restore_select_backup: the backup a restore takes (restore, and the read-only preview of what it
# would change): exactly the one recorded on entering the write phases, or the one --backup-id
# names; never another. Sets NAME, HOW and SRC; refuses (fail 66 missing, 65 otherwise) with
# $REFUSE appended when it is not there intact, of this node and transition, and (when recorded)
# of a Perl-managed state.
restore_select_backup() {
  local bdir want b found=() record want_t
  bdir=$(backups_dir)
  if [ -n "${OPT[backup-id]+set}" ]; then
    # Chosen by a person: exactly that backup, after the same checks of node and own id.
    want=${OPT[backup-id]}
    HOW="chosen by --backup-id"
    if is_backup_name "$want"; then
      NAME=$want
    else
      shopt -s nullglob
      for b in "$bdir"/*-"$want"; do
        is_backup_name "${b##*/}" && found+=("${b##*/}")
      done
      shopt -u nullglob
      [ "${#found[@]}" -gt 0 ] || fail 66 "no backup of transition $want (--backup-id) under $bdir: $REFUSE"
      [ "${#found[@]}" -eq 1 ] || fail 65 "${#found[@]} backups of transition $want (--backup-id) under $bdir (${found[*]}): $REFUSE"
      NAME=${found[0]}
    fi
    want_t=""
  else
    # The backup the snapshot recorded on entering the write phases; no other is ever taken.
    record=$(restore_record)
    if [ -L "$record" ] || [ ! -f "$record" ]; then
      fail 66 "no backup of a Perl-managed state is recorded in $record: $REFUSE (restore a chosen backup with pve-migration:backups.restoreId)"
    fi
    NAME=$(kv_get "$record" id)
    want_t=$(kv_get "$record" transition)
    if ! is_backup_name "$NAME" || ! [[ $want_t =~ ^[0-9a-f]{4,64}$ ]]; then
      fail 65 "the record $record does not name a backup and its transition: $REFUSE"
    fi
    HOW="recorded in $record"
  fi
  SRC="$bdir/$NAME"
  if ! backup_check "$SRC" "$NAME" "$want_t"; then
    case "$BACKUP_PROBLEM" in
      "is missing") fail 66 "backup $NAME ($HOW) is missing: $REFUSE" ;;
      *) fail 65 "backup $NAME ($HOW) $BACKUP_PROBLEM: $REFUSE" ;;
    esac
  fi
  if [ -z "${OPT[backup-id]+set}" ] && [ "$(meta_get "$SRC" perl_state)" != 1 ]; then
    fail 65 "backup $NAME ($HOW) is not of a Perl-managed state: $REFUSE"
  fi
}

# restore_pairs node|cluster: PAIRS, the (file in backup $SRC, node path) pairs a restore of that
# part puts back: interfaces and the node's lxc/*.conf, or sdn.cfg and storage.cfg.
restore_pairs() {
  local conf
  PAIRS=()
  if [ "$1" = node ]; then
    PAIRS+=("interfaces" "/etc/network/interfaces")
    shopt -s nullglob
    for conf in "$SRC"/lxc/*.conf; do
      PAIRS+=("lxc/${conf##*/}" "/etc/pve/nodes/$NODE/lxc/${conf##*/}")
    done
    shopt -u nullglob
  else
    PAIRS+=("sdn.cfg" "/etc/pve/sdn.cfg" "storage.cfg" "/etc/pve/storage.cfg")
  fi
}

# check_verify_args: verify's options (and migration-ctl drift's check's), refused with exit 64 before
# anything is read: --version --config-path --config-sha256 --daemon --rust-service
# --middleware-service [--required-interfaces IF,...] [-- VERIFY_ARGV...]. Sets REQUIRED.
check_verify_args() {
  local r
  require_opts version config-path config-sha256 daemon rust-service middleware-service
  check_write_path "${OPT[config-path]}"
  check_unit_name "${OPT[rust-service]}"
  check_unit_name "${OPT[middleware-service]}"
  [[ ${OPT[daemon]} =~ ^[01]$ ]] || usage "--daemon must be 0 or 1"
  if ! [[ ${OPT[version]} =~ $PVE_DEB_VERSION_ERE ]] || [ "${#OPT[version]}" -gt "$PVE_MAX_VERSION_LENGTH" ]; then
    usage "--version is not a Debian version of at most $PVE_MAX_VERSION_LENGTH characters"
  fi
  [ "${#CMD[@]}" -le "$PVE_MAX_COMMAND_ARGS" ] || usage "the verify command has more than $PVE_MAX_COMMAND_ARGS arguments"
  check_site_argv "${CMD[@]}"
  REQUIRED=()
  if [ -n "${OPT[required-interfaces]:-}" ]; then
    IFS=, read -r -a REQUIRED <<< "${OPT[required-interfaces]}"
    [ "${#REQUIRED[@]}" -le 64 ] || usage "--required-interfaces: at most 64"
    for r in "${REQUIRED[@]}"; do
      [[ $r =~ ^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,14}$ ]] || usage "--required-interfaces: not an interface name"
    done
  fi
}

# verify_state VERSION CONFIG_PATH CONFIG_SHA256 DAEMON RUST_SERVICE MIDDLEWARE_SERVICE [REQUIRED_IF...]:
# what verify checks of the node, read only (verify, and migration-ctl drift's check): the pinned
# package, the migration config's checksum, the Rust daemon enabled (running) exactly when DAEMON
# is 1, the middleware running, no pending interfaces.new, and on a node the running network
# against /etc/network/interfaces (a sandbox root has no network of its own). Sets PROBLEMS (one
# text each; the network's prefixed "network: "), NET_PROBLEMS and NET_NOTE. $TO names the phase.
verify_state() {
  local version=$1 cfgpath=$2 sha=$3 daemon=$4 rust=$5 mw=$6 installed p
  shift 6
  PROBLEMS=() NET_PROBLEMS=() NET_NOTE=""
  installed=$(dpkg-query --admindir="${RP}/var/lib/dpkg" -W -f='${db:Status-Abbrev}${Version}' pve-network-rs 2>/dev/null || true)
  [ "$installed" = "ii $version" ] || PROBLEMS+=("pve-network-rs is '${installed:-not installed}', expected $version")
  if [ ! -f "${RP}$cfgpath" ]; then
    PROBLEMS+=("$cfgpath is missing")
  elif [ "$(sha256_file "${RP}$cfgpath")" != "$sha" ]; then
    PROBLEMS+=("$cfgpath differs from the rendered config for $TO")
  fi
  if [ "$daemon" = 1 ]; then
    unit_is_enabled "$rust" || PROBLEMS+=("$rust is not enabled")
    is_sandbox || unit_is_active "$rust" || PROBLEMS+=("$rust is not running")
  else
    unit_is_enabled "$rust" && PROBLEMS+=("$rust is enabled in $TO")
    unit_is_active "$rust" && PROBLEMS+=("$rust is running in $TO")
  fi
  is_sandbox || unit_is_active "$mw" || PROBLEMS+=("$mw is not running")
  net_pending_config
  [ -z "$NET_PENDING" ] || PROBLEMS+=("$NET_PENDING is pending (a network change not applied; pvenetcommit would activate it at the next boot)")
  # A sandbox root has no network of its own: the running network is checked on nodes only
  # (the node lab's tests check it for real).
  if ! is_sandbox; then
    net_check_running "$@"
    for p in "${NET_PROBLEMS[@]}"; do
      PROBLEMS+=("network: $p")
    done
    [ "${#NET_PROBLEMS[@]}" -gt 0 ] || NET_NOTE="; running network matches /etc/network/interfaces ($NET_CHECKED interfaces)"
  fi
  return 0
}

# HA maintenance (ha-enter, ha-leave; README "HA maintenance") -----------------------------------
# With pve-migration:ha.maintenance, ha-enter puts the node in Proxmox VE HA maintenance before its
# services step and ha-leave takes it out after verify. ha-enter keeps on the node what it needs to
# undo and redo that without the orchestrator: the site commands (NUL-separated words in
# $STATE_DIR/ha/{enter,leave,status}.argv) and a state file (transition, state, settle):
#   entering  ha-enter is running the enter command;
#   entered   this transition put the node in maintenance;
#   prior     the node was in maintenance before the transition (status command): left as found;
#   restored  a step of the transition failed and took the node out again (ha_restore_on_failure);
#   left      ha-leave took it out (or found it as it was).
# A step of the transition that fails takes the node out again when this transition put it in
# (on_exit), and a step after ha-enter (--ha-window 1) of the same transition, run again once the
# cause is fixed, puts it back first (init_step: ha_reenter), so a resumed run runs under
# maintenance again and ends with ha-leave.

# ha_state_into STATE_VAR TRANSITION_VAR: the HA state file's state and transition ("" when absent).
ha_state_into() {
  kv_get_into "$1" "$STATE_DIR/ha/state" state
  kv_get_into "$2" "$STATE_DIR/ha/state" transition
}

# ha_write_state STATE TRANSITION [SETTLE]
ha_write_state() {
  local settle=${3:-}
  [ -n "$settle" ] || kv_get_into settle "$STATE_DIR/ha/state" settle
  atomic_write "$STATE_DIR/ha/state" 0644 "transition=$2
state=$1
settle=${settle:-0}
at=$(now_utc)
"
}

# ha_save_argv NAME WORDS...: $STATE_DIR/ha/NAME.argv, the words NUL-separated (temp file + rename).
ha_save_argv() {
  local name=$1 tmp
  shift
  [ -d "$STATE_DIR/ha" ] || mkdir -p -- "$STATE_DIR/ha"
  pve_new_temp tmp "$STATE_DIR/ha" ".$name.argv" 0600
  printf '%s\0' "$@" > "$tmp"
  mv -f -- "$tmp" "$STATE_DIR/ha/$name.argv"
}

# ha_saved_into ARRAY NAME: the words of $STATE_DIR/ha/NAME.argv (an empty array when absent).
ha_saved_into() {
  local -n _ha_out=$1
  _ha_out=()
  [ -f "$STATE_DIR/ha/$2.argv" ] || return 0
  mapfile -d '' -t _ha_out < "$STATE_DIR/ha/$2.argv"
}

# ha_in_maintenance: the saved status command's verdict: 0 in maintenance, 1 not; exits 65 on any
# other status (a status that cannot be read is not a verdict).
ha_in_maintenance() {
  local status=() rc=0 out
  ha_saved_into status status
  out=$(run_site_command "${status[@]}" 2>&1) || rc=$?
  case "$rc" in
    0) return 0 ;;
    1) return 1 ;;
    *) fail 65 "the HA status command ${status[0]} failed (exit $rc), so the node's HA maintenance state is unknown: ${out//[^[:print:]]/?}" ;;
  esac
}

# ha_enter_now TRANSITION: run the saved enter command, then wait (settle seconds, every 2 s) until
# the saved status command, if any, sees the node in maintenance. Sets HA_DONE to what it did.
ha_enter_now() {
  local enter=() status=() out settle start
  ha_saved_into enter enter
  ha_saved_into status status
  kv_get_into settle "$STATE_DIR/ha/state" settle
  ha_write_state entering "$1"
  kill_point ha-entering
  out=$(run_site_command "${enter[@]}" 2>&1) || fail 65 "the HA enter command ${enter[0]} failed: ${out//[^[:print:]]/?}"
  kill_point ha-entered
  HA_DONE="put $NODE in HA maintenance (${enter[*]})"
  if [ "${#status[@]}" -gt 0 ]; then
    start=$EPOCHSECONDS
    until ha_in_maintenance; do
      [ $((EPOCHSECONDS - start)) -lt "${settle:-0}" ] || fail 75 "$NODE is not in HA maintenance ${settle} s after ${enter[*]} (${status[*]} still says no)"
      sleep 2
    done
    HA_DONE+="; ${status[0]} sees it in maintenance after $((EPOCHSECONDS - start)) s"
  fi
  ha_write_state entered "$1"
}

# ha_restore_on_failure: on_exit of a failed step. When this transition put the node in HA
# maintenance (entering or entered), take it out again with the saved leave command, as it was
# before the transition. Never fails the exit path: a leave that fails is logged.
ha_restore_on_failure() {
  local state of leave=() out
  [ -n "$STATE_DIR" ] && [ -f "$STATE_DIR/ha/state" ] || return 0
  ha_state_into state of
  [ -n "${OPT[transition]:-}" ] && [ "$of" = "${OPT[transition]}" ] || return 0
  case "$state" in entering | entered) ;; *) return 0 ;; esac
  ha_saved_into leave leave
  [ "${#leave[@]}" -gt 0 ] || return 0
  if out=$(run_site_command "${leave[@]}" 2>&1); then
    ha_write_state restored "$of"
    log_line ha-restored "took $NODE out of HA maintenance after the failure, as it was before transition $of (${leave[*]}); a run of this transition's steps after ha-enter puts it back first"
  else
    log_line ha-restore-failed "could not take $NODE out of HA maintenance after the failure (${leave[*]}): ${out//[^[:print:]]/?}; it stays in maintenance"
  fi
}

# ha_reenter: init_step of a step after ha-enter (--ha-window 1). A failure of this transition took
# the node out of HA maintenance (restored): put it back before the step does anything.
ha_reenter() {
  local state of
  [ "${OPT[ha-window]:-0}" = 1 ] || return 0
  [ -f "$STATE_DIR/ha/state" ] || return 0
  ha_state_into state of
  [ "$state" = restored ] && [ "$of" = "${OPT[transition]:-}" ] || return 0
  ha_enter_now "$of"
  log_line ha-entered "$HA_DONE again: transition $of resumes after a failure had taken it out"
}
