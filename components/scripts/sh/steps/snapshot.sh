# snapshot: the first step of every transition. Records the transition in progress, collects
# a diagnostics bundle of the state before it, and, when the transition enters or leaves a
# write phase, takes a verified backup.
# Options: --from --to --id --backup 0|1 --retention N --config-path P --rust-service S --middleware-service S
require_opts id backup retention from config-path rust-service middleware-service
check_write_path "${OPT[config-path]}"
check_unit_name "${OPT[rust-service]}"
check_unit_name "${OPT[middleware-service]}"
ID=${OPT[id]}
[[ $ID =~ ^[0-9a-f]{4,64}$ ]] || usage "--id must be hex"
check_count retention "${OPT[retention]}" "$PVE_MAX_RETENTION"
init_step

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
  done_step unchanged "transition $ID recorded; $DIAG; no backup needed from $FROM to $TO"
fi

BDIR=$(backups_dir)
mkdir -p -- "$BDIR"
for existing in "$BDIR"/*-"$ID"; do
  if verify_backup "$existing"; then
    finish_diagnostics
    done_step unchanged "backup ${existing##*/} exists and verifies; $DIAG"
  fi
  rm -rf -- "$existing"
done
rm -rf -- "$BDIR"/.tmp-*

printf -v NAME '%(%Y%m%dT%H%M%SZ)T' -1
NAME="$NAME-$ID"
TMP="$BDIR/.tmp-$NAME"
mkdir -p -- "$TMP/lxc"
ABSENT=""
[ -f "$(R /etc/network/interfaces)" ] || fail 66 "$(R /etc/network/interfaces) is missing: nothing to back up"
COPY=()
for f in /etc/network/interfaces /etc/pve/sdn.cfg /etc/pve/storage.cfg; do
  if [ -f "$(R "$f")" ]; then
    COPY+=("$(R "$f")")
  else
    ABSENT="$ABSENT ${f##*/}"
  fi
done
cp -p -- "${COPY[@]}" "$TMP/"
CONFS=("$(R "/etc/pve/nodes/$NODE/lxc")"/*.conf)
[ "${#CONFS[@]}" -eq 0 ] || cp -p -- "${CONFS[@]}" "$TMP/lxc/"
PERL_STATE=0
is_write_phase "$FROM" || PERL_STATE=1
printf 'id=%s\nnode=%s\nfrom=%s\nto=%s\ncreated=%s\nperl_state=%s\nabsent=%s\n' \
  "$ID" "$NODE" "$FROM" "$TO" "$(now_utc)" "$PERL_STATE" "${ABSENT# }" > "$TMP/meta"
(cd -- "$TMP" && find . -type f ! -name MANIFEST.sha256 -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sed 's#  \./#  #') > "$TMP/MANIFEST.sha256"
verify_backup "$TMP" || fail 70 "backup $NAME does not verify after writing"
sync -f -- "$TMP/MANIFEST.sha256" 2>/dev/null || true
mv -- "$TMP" "$BDIR/$NAME"

# Retention: keep the newest N, and always the newest backup of a Perl-managed state (the
# one a rollback to a non-write phase restores).
mapfile -t ALL < <(cd -- "$BDIR" && find . -mindepth 1 -maxdepth 1 -type d ! -name '.*' | sed 's#^\./##' | LC_ALL=C sort -r)
ANCHOR=""
for b in "${ALL[@]}"; do
  if [ "$(meta_get "$BDIR/$b" perl_state)" = 1 ]; then ANCHOR=$b; break; fi
done
finish_diagnostics
PRUNED=0
for i in "${!ALL[@]}"; do
  if [ "$i" -ge "${OPT[retention]}" ] && [ "${ALL[$i]}" != "$ANCHOR" ]; then
    rm -rf -- "${BDIR:?}/${ALL[$i]}"
    PRUNED=$((PRUNED + 1))
  fi
done
done_step changed "backup $NAME taken ($(($(wc -l < "$BDIR/$NAME/MANIFEST.sha256") - 1)) files); pruned $PRUNED; $DIAG"
