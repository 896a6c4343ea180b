# restore: put back the configuration of the newest backup of a Perl-managed state, after
# verifying its manifest. Refuses, changing nothing, when the backup is missing or does not
# verify. --part node: /etc/network/interfaces and /etc/pve/lxc/*.conf; --part cluster:
# /etc/pve/sdn.cfg and /etc/pve/storage.cfg (restored once per cluster). /etc/pve/lxc is a link
# to /etc/pve/nodes/<node>/lxc on Proxmox VE; the scripts use the node path directly.
# Options: --from --to --part node|cluster
require_opts part from
init_step
case "${OPT[part]}" in
  node|cluster) ;;
  *) usage "--part must be node or cluster" ;;
esac

BDIR=$(backups_dir)
SRC=""
if [ -d "$BDIR" ]; then
  while IFS= read -r b; do
    if [ "$(meta_get "$BDIR/$b" perl_state)" = 1 ]; then SRC="$BDIR/$b"; break; fi
  done < <(cd -- "$BDIR" && find . -mindepth 1 -maxdepth 1 -type d ! -name '.*' | sed 's#^\./##' | LC_ALL=C sort -r)
fi
[ -n "$SRC" ] || fail 66 "no backup of a Perl-managed state under $BDIR: refusing to restore, nothing changed"
verify_backup "$SRC" || fail 65 "backup ${SRC##*/} does not match its manifest: refusing to restore, nothing changed"

# Pairs of (file in backup, target path).
PAIRS=()
if [ "${OPT[part]}" = node ]; then
  PAIRS+=("interfaces" "/etc/network/interfaces")
  shopt -s nullglob
  for conf in "$SRC"/lxc/*.conf; do
    PAIRS+=("lxc/${conf##*/}" "/etc/pve/nodes/$NODE/lxc/${conf##*/}")
  done
else
  PAIRS+=("sdn.cfg" "/etc/pve/sdn.cfg" "storage.cfg" "/etc/pve/storage.cfg")
fi

# The backup's checksums come from its manifest (verified above); the live files' from one
# sha256sum run.
declare -gA WANT=() HAVE=()
while IFS= read -r line; do
  WANT[${line:66}]=${line:0:64}
done < "$SRC/MANIFEST.sha256"
LIVE=()
for ((i = 1; i < ${#PAIRS[@]}; i += 2)); do
  [ -f "$(R "${PAIRS[i]}")" ] && LIVE+=("$(R "${PAIRS[i]}")")
done
if [ "${#LIVE[@]}" -gt 0 ]; then
  while IFS= read -r -d '' rec; do
    HAVE[${rec:66}]=${rec:0:64}
  done < <(sha256sum --zero -- "${LIVE[@]}")
fi

# Stage every changed file next to its target first, then rename them all.
STAGED=()
TARGETS=()
cleanup_staged() {
  local t
  for t in "${STAGED[@]}"; do rm -f -- "$t"; done
}
for ((i = 0; i < ${#PAIRS[@]}; i += 2)); do
  rel=${PAIRS[i]}
  target=$(R "${PAIRS[i + 1]}")
  [ -f "$SRC/$rel" ] || continue
  [ "${HAVE[$target]:-}" != "${WANT[$rel]}" ] || continue
  dir=${target%/*}
  [ -d "$dir" ] || mkdir -p -- "$dir"
  tmp=$(mktemp -- "$dir/.${target##*/}.restore.XXXXXX") || { cleanup_staged; fail 73 "cannot stage $target"; }
  STAGED+=("$tmp")
  cp -p -- "$SRC/$rel" "$tmp" || { cleanup_staged; fail 73 "cannot stage $target"; }
  TARGETS+=("$target")
done
[ "${#TARGETS[@]}" -gt 0 ] || done_step unchanged "${OPT[part]} files already match backup ${SRC##*/}"
for i in "${!STAGED[@]}"; do
  mv -f -- "${STAGED[$i]}" "${TARGETS[$i]}"
done
done_step changed "restored ${#TARGETS[@]} ${OPT[part]} file(s) from backup ${SRC##*/}"
