# rules: install the Prometheus alert rules file rendered from code on the monitoring host:
# checked with `promtool check rules` before it replaces the live file (atomically), then
# Prometheus is reloaded. A file that does not pass the check is never installed.
# Options: --path ABS --content TEXT --sha256 HEX --check 0|1 [-- RELOAD_ARGV...]
require_opts path content sha256 check
check_write_path "${OPT[path]}"
[ "${#CMD[@]}" -le "$PVE_MAX_COMMAND_ARGS" ] || usage "the reload command has more than $PVE_MAX_COMMAND_ARGS arguments"
check_site_argv "${CMD[@]}"
[[ ${OPT[sha256]} =~ ^[0-9a-f]{64}$ ]] || usage "--sha256 must be 64 hex digits"
TEMP_DIRS=("${OPT[path]%/*}")
init_step

TARGET=${RP}${OPT[path]}
[ "$(sha256_text "${OPT[content]}")" = "${OPT[sha256]}" ] || fail 65 "--content does not match --sha256"
if [ -f "$TARGET" ] && [ "$(sha256_file "$TARGET")" = "${OPT[sha256]}" ]; then
  done_step unchanged "${OPT[path]} up to date"
fi
if [ "${OPT[check]}" = 1 ]; then
  command -v promtool >/dev/null || fail 69 "promtool not found: cannot check the rules before installing them"
  CHECK=$(mktemp --suffix=.yml -- "$(pve_temp_name "${TMPDIR:-/tmp}" pve-rules)")
  printf '%s' "${OPT[content]}" > "$CHECK"
  kill_point rules-check-staged
  if ! OUT=$(promtool check rules "$CHECK" 2>&1); then
    rm -f -- "$CHECK"
    fail 65 "promtool check rules failed, not installed: $OUT"
  fi
  rm -f -- "$CHECK"
  kill_point rules-checked
fi
atomic_write "$TARGET" 0644 "${OPT[content]}"
if [ "${#CMD[@]}" -eq 0 ]; then
  done_step changed "installed ${OPT[path]}"
fi
if is_sandbox; then
  done_step changed "installed ${OPT[path]}; reload skipped: sandbox"
fi
OUT=$(run_site_command "${CMD[@]}" 2>&1) || fail 70 "installed ${OPT[path]} but the reload failed: $OUT"
done_step changed "installed ${OPT[path]}; reloaded with ${CMD[0]}"
