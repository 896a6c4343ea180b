# restore: put back the configuration of the backup a rollback out of the write phases needs:
# the backup of a Perl-managed state that the snapshot recorded on entering them
# (<state>/perl-backup), or, with --backup-id, the backup a person chose (its folder name, or a
# transition id: that transition's backup on this node). It takes exactly that backup, never
# another: it refuses, changing nothing, when that backup is missing, a link, damaged (an entry
# that is not a regular file listed in its manifest, a checksum that does not match), of
# another node, of another transition, or not the backup its manifest names.
# --part node: /etc/network/interfaces and /etc/pve/lxc/*.conf; --part cluster:
# /etc/pve/sdn.cfg and /etc/pve/storage.cfg (restored once per cluster). /etc/pve/lxc is a link
# to /etc/pve/nodes/<node>/lxc on Proxmox VE; the scripts use the node path directly.
# Every changed file is staged next to its target (.pve-restore.XXXXXX, a name of bounded
# length whatever the target's) and renamed over it; staged files are removed on every exit
# path, and those a killed run left are removed by the next one.
# With --require-quorum 1 (a real pmxcfs), a file under /etc/pve is changed only while the
# cluster is quorate: checked once, before the first such file is staged (nothing is renamed
# before every file is staged, so a refusal changes nothing).
# Options: --from --to --part node|cluster [--backup-id NAME|TRANSITION] [--require-quorum 0|1]
require_opts part from
[[ ${OPT[require-quorum]:-0} =~ ^[01]$ ]] || usage "--require-quorum must be 0 or 1"
if [ -n "${OPT[backup-id]+set}" ]; then
  is_backup_name "${OPT[backup-id]}" || [[ ${OPT[backup-id]} =~ ^[0-9a-f]{4,64}$ ]] ||
    usage "--backup-id must be a backup's folder name (<yyyymmdd>T<hhmmss>Z-<transition id>) or a transition id (hex)"
fi
init_step
case "${OPT[part]}" in
  node|cluster) ;;
  *) usage "--part must be node or cluster" ;;
esac

# The live folders this part writes, and the staged files of an earlier run that was killed
# (.pve-restore.XXXXXX, and .<name>.restore.XXXXXX of the scripts before it).
if [ "${OPT[part]}" = node ]; then
  LIVE_DIRS=("${RP}/etc/network" "${RP}/etc/pve/nodes/$NODE/lxc")
else
  LIVE_DIRS=("${RP}/etc/pve")
fi
remove_staged_leftovers() {
  local d f
  for d in "${LIVE_DIRS[@]}"; do
    [ -d "$d" ] || continue
    # A glob, not find (no process): regular files only, as find -type f.
    for f in "$d"/.pve-restore.?????? "$d"/.*.restore.??????; do
      if [ -f "$f" ] && [ ! -L "$f" ]; then rm -f -- "$f"; fi
    done
  done
}
STAGED=()
remove_staged() {
  local t
  for t in "${STAGED[@]}"; do rm -f -- "$t"; done
  STAGED=()
}
# Every exit (a failure, a refused rename, the time limit's SIGTERM) removes what this run
# staged, then the prelude's on_exit logs and sets the exit code (it reads the code from $?).
restore_on_exit() {
  local rc=$?
  remove_staged
  return "$rc"
}
trap 'restore_on_exit; on_exit' EXIT
remove_staged_leftovers

REFUSE="refusing to restore, nothing changed"
restore_select_backup
if [ "${OPT[part]}" = node ]; then
  # A restore that runs (again) supersedes the files a reverted apply left for applying again
  # (net-guard/attempted): legacy-apply then applies what this restore puts in place.
  rm -rf -- "$STATE_DIR/net-guard/attempted"
fi
restore_pairs "${OPT[part]}"

# Stage every changed file next to its target first (a file is unchanged when its bytes are
# the backup's: cmp, which needs no parsing of names), then rename them all.
TARGETS=()
for ((i = 0; i < ${#PAIRS[@]}; i += 2)); do
  rel=${PAIRS[i]}
  target=${RP}${PAIRS[i + 1]}
  [ -f "$SRC/$rel" ] || continue
  if [ -f "$target" ] && [ ! -L "$target" ] && cmp -s -- "$SRC/$rel" "$target"; then continue; fi
  if [ "${OPT[require-quorum]:-0}" = 1 ] && [[ $target == "${RP}/etc/pve/"* ]] && [ "${QUORATE:-0}" = 0 ]; then
    require_quorum "restoring ${PAIRS[i + 1]} from backup $NAME"
    QUORATE=1
  fi
  dir=${target%/*}
  [ -d "$dir" ] || mkdir -p -- "$dir"
  pve_new_file tmp "$dir/.pve-restore.XXXXXX" 0600
  STAGED+=("$tmp")
  cp -p -- "$SRC/$rel" "$tmp" || fail 73 "cannot stage ${target//[^[:print:]]/?}"
  TARGETS+=("$target")
done
[ "${#TARGETS[@]}" -gt 0 ] || done_step unchanged "${OPT[part]} files already match backup $NAME ($HOW)"
# Every staged file on disk before the first rename (one sync for all of them).
sync -- "${STAGED[@]}" 2>/dev/null || true
for i in "${!TARGETS[@]}"; do
  mv -f -- "${STAGED[$i]}" "${TARGETS[$i]}" || fail 73 "cannot rename the staged file over ${TARGETS[$i]//[^[:print:]]/?}"
done
STAGED=()
done_step changed "restored ${#TARGETS[@]} ${OPT[part]} file(s) from backup $NAME ($HOW)"
