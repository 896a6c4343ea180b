# config: write the migration config (migration.toml) atomically, mode 0640. With
# --backups-from, first check that every node named there has taken this transition's backup
# (the snapshot's marker in its pmxcfs folder): the program orders the snapshots first with
# dependsOn, but `pulumi up --target` can leave a node's snapshot out.
# Options: --path ABS --content TEXT --sha256 HEX --require-quorum 0|1 [--backups-from N1,N2 --transition ID]
require_opts path content sha256 require-quorum
check_write_path "${OPT[path]}"
[[ ${OPT[sha256]} =~ ^[0-9a-f]{64}$ ]] || usage "--sha256 must be 64 hex digits"
TEMP_DIRS=("${OPT[path]%/*}")
init_step

TARGET=${RP}${OPT[path]}
if same_content "$TARGET" "${OPT[content]}"; then
  done_step unchanged "${OPT[path]} already says phase $TO"
fi
[ "$(sha256_text "${OPT[content]}")" = "${OPT[sha256]}" ] || fail 65 "--content does not match --sha256"
if [ -n "${OPT[backups-from]:-}" ]; then
  [[ ${OPT[transition]:-} =~ ^[0-9a-f]{4,64}$ ]] || usage "--backups-from needs --transition"
  IFS=, read -r -a BACKUP_NODES <<< "${OPT[backups-from]}"
  for n in "${BACKUP_NODES[@]}"; do
    [[ $n =~ $PVE_NODE_NAME_ERE ]] || usage "--backups-from: not a node name"
    [ -f "${RP}/etc/pve/nodes/$n/pve-network-rs/backup-${OPT[transition]}" ] \
      || fail 75 "refusing to write ${OPT[path]}: node $n has no backup for transition ${OPT[transition]} yet (its snapshot step has not run; a pulumi up --target must include every node's snapshot)"
  done
fi
if [ "${OPT[require-quorum]}" = 1 ]; then
  require_quorum "writing ${OPT[path]}"
fi
OLD=none
if [ -f "$TARGET" ]; then
  OLD=""
  while IFS= read -r line; do
    if [[ $line =~ ^phase\ =\ \"([a-z-]*)\"$ ]]; then OLD=${BASH_REMATCH[1]}; break; fi
  done < "$TARGET"
fi
atomic_write "$TARGET" 0640 "${OPT[content]}"
done_step changed "${OPT[path]}: phase ${OLD:-unknown} -> $TO"
