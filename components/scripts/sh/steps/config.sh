# config: write the migration config (migration.toml) atomically, mode 0640.
# Options: --path ABS --content TEXT --sha256 HEX --require-quorum 0|1
require_opts path content sha256 require-quorum
check_abs_path "${OPT[path]}"
[[ ${OPT[sha256]} =~ ^[0-9a-f]{64}$ ]] || usage "--sha256 must be 64 hex digits"
init_step

TARGET=$(R "${OPT[path]}")
if same_content "$TARGET" "${OPT[content]}"; then
  done_step unchanged "${OPT[path]} already says phase $TO"
fi
[ "$(sha256_text "${OPT[content]}")" = "${OPT[sha256]}" ] || fail 65 "--content does not match --sha256"
if [ "${OPT[require-quorum]}" = 1 ] && ! is_sandbox; then
  # Read the whole report first: `pvecm status | grep -q` fails under pipefail once grep has
  # matched and pvecm, still writing, dies of SIGPIPE (seen on the node lab). A failing pvecm
  # leaves no "Quorate: Yes" line: not quorate.
  QUORUM=$(bounded 30 pvecm status 2>/dev/null) || QUORUM=""
  grep -Eq '^Quorate:[[:space:]]+Yes' <<<"$QUORUM" \
    || fail 69 "cluster is not quorate: /etc/pve is read-only; not writing ${OPT[path]}"
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
