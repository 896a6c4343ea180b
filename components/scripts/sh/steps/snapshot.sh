# snapshot: the first step of every transition. Records the transition in progress, collects
# a diagnostics bundle of the state before it, and, when the transition enters or leaves a
# write phase, takes a verified backup. Retention runs whenever a backup is needed, also when
# the backup exists already: a run killed between the backup's rename and its pruning is
# finished by the next one.
# Refuses, before it writes anything, while /etc/network/interfaces.new is pending.
# Options: --from --to --id --backup 0|1 --retention N --config-path P --rust-service S --middleware-service S
#   [--network-guard 0|1]
require_opts id backup retention from config-path rust-service middleware-service
check_write_path "${OPT[config-path]}"
check_unit_name "${OPT[rust-service]}"
check_unit_name "${OPT[middleware-service]}"
ID=${OPT[id]}
[[ $ID =~ ^[0-9a-f]{4,64}$ ]] || usage "--id must be hex"
[[ ${OPT[network-guard]:-0} =~ ^[01]$ ]] || usage "--network-guard must be 0 or 1"
check_count retention "${OPT[retention]}" "$PVE_MAX_RETENTION"
TEMP_DIRS=(/var/lib/pve-network-rs/diagnostics /var/lib/pve-network-rs/backups /var/lib/pve-network-rs/net-guard)
init_step
# A pending /etc/network/interfaces.new (a change made through the Proxmox VE API or GUI and not
# applied: pvenetcommit would activate it at the next boot, in the middle of the migration or
# after a rollback) must be resolved first. Before anything is written.
net_pending_config
if [ -n "$NET_PENDING" ]; then
  fail 75 "refusing to start the transition $FROM -> $TO: $NET_PENDING is pending (a network change made through the Proxmox VE API or GUI, not applied; pvenetcommit would activate it at the next boot). Apply it (Apply Configuration in the GUI, or pvesh set /nodes/$NODE/network) or remove it, then run again; nothing was changed"
fi
# A transition that applies the network (a rollback: legacy-apply) saves the network files now,
# for the dead-man switch (net_guard_save), once per transition. Its revert puts these files back
# and reloads them, which brings back what runs only when they are what runs: on a node, the
# running network is compared with them first (net_check_running) and a difference refuses the
# transition before anything is written.
GUARD_NOTE=""
if [ "${OPT[network-guard]:-0}" = 1 ]; then
  kv_get_into GUARD_SAVED "$STATE_DIR/net-guard/saved/manifest" transition
  if [ "$GUARD_SAVED" != "$ID" ] && ! is_sandbox; then
    NO_REQUIRED=()
    net_check_running "${NO_REQUIRED[@]}"
    if [ "${#NET_PROBLEMS[@]}" -gt 0 ]; then
      for P in "${NET_PROBLEMS[@]}"; do log_line problem "network: $P"; done
      fail 65 "refusing to start the transition $FROM -> $TO: the running network differs from /etc/network/interfaces (${#NET_PROBLEMS[@]} problem(s), the first: ${NET_PROBLEMS[0]}), so the dead-man switch of its network apply could not bring back what runs now. Make them agree (apply the file through pvesh set /nodes/$NODE/network, or correct it), then run again; nothing was changed"
    fi
  fi
  net_guard_save "$ID"
  GUARD_NOTE="; $NET_SAVED"
fi
# The backup markers' folder (mark_backup below) is named after the node.
remove_stale_temps "${RP}/etc/pve/nodes/$NODE/pve-network-rs"

atomic_write "$STATE_DIR/transition" 0644 "id=$ID
from=$FROM
to=$TO
"
shopt -s nullglob
DDIR=$(diagnostics_dir)
mkdir -p -- "$DDIR"
# Keep the newest 4 x retention bundles (a pre and a post-rollback bundle per transition).
mapfile -t BUNDLES < <(cd -- "$DDIR" && find . -maxdepth 1 -name '*.tar.gz' | sed 's#^\./##' | LC_ALL=C sort -r)
for i in "${!BUNDLES[@]}"; do
  [ "$i" -lt $((4 * OPT[retention])) ] || rm -f -- "${DDIR:?}/${BUNDLES[$i]}"
done
# The bundle of the state before the transition is collected while the backup is taken (both
# only read the live state; the step holds the lock); the step ends when both are done.
EXISTING=("$DDIR"/*-"$ID"-pre.tar.gz)
if [ "${#EXISTING[@]}" -gt 0 ]; then
  DIAG_NAME=$(basename -- "${EXISTING[0]}" .tar.gz)
else
  printf -v STAMP '%(%Y%m%dT%H%M%SZ)T' -1
  start_diagnostics "$STAMP-$ID-pre"
fi
if [ "${OPT[backup]}" != 1 ]; then
  finish_diagnostics
  done_step unchanged "transition $ID recorded; $DIAG; no backup needed from $FROM to $TO$GUARD_NOTE"
fi

BDIR=$(backups_dir)
mkdir -p -- "$BDIR"
PERL_STATE=0
is_write_phase "$FROM" || PERL_STATE=1
# record_perl_backup NAME: the backup of a Perl-managed state that a rollback out of the write
# phases restores (restore takes exactly this one).
record_perl_backup() {
  local text
  text="id=$1
transition=$ID
node=$NODE
"
  same_content "$(restore_record)" "$text" || atomic_write "$(restore_record)" 0644 "$text"
}

# Retention: keep the newest N, and always the recorded backup of a Perl-managed state (the
# one a rollback to a non-write phase restores). Sets PRUNED.
prune_backups() {
  local i anchor
  local -a all
  mapfile -t all < <(cd -- "$BDIR" && find . -mindepth 1 -maxdepth 1 -type d ! -name '.*' | sed 's#^\./##' | LC_ALL=C sort -r)
  anchor=$(kv_get "$(restore_record)" id)
  PRUNED=0
  for i in "${!all[@]}"; do
    if [ "$i" -ge "${OPT[retention]}" ] && [ "${all[$i]}" != "$anchor" ]; then
      rm -rf -- "${BDIR:?}/${all[$i]}"
      PRUNED=$((PRUNED + 1))
      kill_point pruned-one
    fi
  done
}

# mark_backup NAME: a marker in this node's own pmxcfs folder, which every node sees: the config
# step refuses to change the migration config of a transition that needs backups until every
# node it covers has one (dependsOn orders it, but `pulumi up --target` can skip a snapshot).
mark_backup() {
  local marker
  marker="${RP}/etc/pve/nodes/$NODE/pve-network-rs/backup-$ID"
  same_content "$marker" "$1" || atomic_write "$marker" 0644 "$1"
}

rm -rf -- "$BDIR"/.tmp-*
for existing in "$BDIR"/*-"$ID"; do
  if backup_check "$existing" "${existing##*/}" "$ID"; then
    [ "$PERL_STATE" = 0 ] || record_perl_backup "${existing##*/}"
    mark_backup "${existing##*/}"
    prune_backups
    finish_diagnostics
    if [ "$PRUNED" -gt 0 ]; then
      done_step changed "backup ${existing##*/} exists and verifies; pruned $PRUNED (retention of an interrupted run); $DIAG$GUARD_NOTE"
    fi
    done_step unchanged "backup ${existing##*/} exists and verifies; $DIAG$GUARD_NOTE"
  fi
  rm -rf -- "$existing"
done

printf -v NAME '%(%Y%m%dT%H%M%SZ)T' -1
NAME="$NAME-$ID"
TMP="$BDIR/.tmp-$NAME"
mkdir -p -- "$TMP/lxc"
ABSENT=""
[ -f "${RP}/etc/network/interfaces" ] || fail 66 "${RP}/etc/network/interfaces is missing: nothing to back up"
COPY=()
for f in /etc/network/interfaces /etc/pve/sdn.cfg /etc/pve/storage.cfg; do
  if [ -f "${RP}$f" ]; then
    COPY+=("${RP}$f")
  else
    ABSENT="$ABSENT ${f##*/}"
  fi
done
cp -p -- "${COPY[@]}" "$TMP/"
# Every container config, whatever its name (a glob passes each name as one word; only
# regular files: pmxcfs has nothing else there).
CONFS=()
for c in "${RP}/etc/pve/nodes/$NODE/lxc"/*.conf; do
  [ -L "$c" ] || [ ! -f "$c" ] || CONFS+=("$c")
done
[ "${#CONFS[@]}" -eq 0 ] || cp -p -- "${CONFS[@]}" "$TMP/lxc/"
printf 'id=%s\nnode=%s\ntransition=%s\nfrom=%s\nto=%s\ncreated=%s\nperl_state=%s\nabsent=%s\n' \
  "$NAME" "$NODE" "$ID" "$FROM" "$TO" "$(now_utc)" "$PERL_STATE" "${ABSENT# }" > "$TMP/meta"
backup_manifest "$TMP" > "$TMP/MANIFEST.sha256"
kill_point backup-staged
verify_backup "$TMP" || fail 70 "backup $NAME does not verify after writing ($BACKUP_PROBLEM)"
sync -f -- "$TMP/MANIFEST.sha256" 2>/dev/null || true
mv -- "$TMP" "$BDIR/$NAME"
kill_point backup-renamed
[ "$PERL_STATE" = 0 ] || record_perl_backup "$NAME"
mark_backup "$NAME"

prune_backups
finish_diagnostics
done_step changed "backup $NAME taken ($(($(wc -l < "$BDIR/$NAME/MANIFEST.sha256") - 1)) files); pruned $PRUNED; $DIAG$GUARD_NOTE"
