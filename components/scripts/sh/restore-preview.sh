# restore-preview: what a rollback's restore would change on this node, read only: it takes no
# lock, writes nothing and logs nothing (migration-ctl plan --read-nodes; README "What a rollback
# will revert"). It selects the backup exactly as the restore does (restore_select_backup: the
# recorded one, or --backup-id) and lists each file the restore of each part would put back.
# A backup the restore would refuse ends it as the restore would (exit 66 missing, 65 otherwise,
# the reason on stderr).
# Options: --root R --node N --parts node|node,cluster [--backup-id NAME|TRANSITION]
# Output, one record a line; values that may hold any byte are base64 (one line, no wrapping):
#   backup NAME
#   file changed|added|unchanged BASE64(node path) BASE64(current content) BASE64(backup content)
require_opts parts
init_root
case "${OPT[parts]}" in
  node) PARTS=(node) ;;
  node,cluster) PARTS=(node cluster) ;;
  *) usage "--parts must be node or node,cluster" ;;
esac
if [ -n "${OPT[backup-id]+set}" ]; then
  is_backup_name "${OPT[backup-id]}" || [[ ${OPT[backup-id]} =~ ^[0-9a-f]{4,64}$ ]] ||
    usage "--backup-id must be a backup's folder name (<yyyymmdd>T<hhmmss>Z-<transition id>) or a transition id (hex)"
fi
REFUSE="the restore would refuse, changing nothing"
restore_select_backup
printf 'backup %s\n' "$NAME"
b64() { base64 -w0; }
for part in "${PARTS[@]}"; do
  restore_pairs "$part"
  for ((i = 0; i < ${#PAIRS[@]}; i += 2)); do
    rel=${PAIRS[i]}
    target=${RP}${PAIRS[i + 1]}
    [ -f "$SRC/$rel" ] || continue
    if [ -f "$target" ] && [ ! -L "$target" ]; then
      if cmp -s -- "$SRC/$rel" "$target"; then state=unchanged; else state=changed; fi
      current=$(b64 < "$target")
    else
      state=added current=""
    fi
    printf 'file %s %s %s %s\n' "$state" "$(printf '%s' "${PAIRS[i + 1]}" | b64)" "$current" "$(b64 < "$SRC/$rel")"
  done
done
