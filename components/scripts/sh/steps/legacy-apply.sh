# legacy-apply: validate, then apply the configuration through the Perl CLI
# (`pvenet-legacy validate --config /etc/network/interfaces`, `pvenet-legacy apply`), then
# restart the legacy service where it exists. Skips when the same interfaces were applied.
# Options: --validate-argc N --legacy-service NAME -- VALIDATE_ARGV... APPLY_ARGV...
require_opts validate-argc legacy-service
check_count validate-argc "${OPT[validate-argc]}" "$PVE_MAX_COMMAND_ARGS"
check_unit_name "${OPT[legacy-service]}"
N=${OPT[validate-argc]}
[ "${#CMD[@]}" -gt "$N" ] || usage "need the validate and apply commands after --"
[ "$((${#CMD[@]} - N))" -le "$PVE_MAX_COMMAND_ARGS" ] || usage "the apply command has more than $PVE_MAX_COMMAND_ARGS arguments"
check_site_argv "${CMD[@]}"
init_step
VALIDATE=("${CMD[@]:0:N}")
APPLY=("${CMD[@]:N}")

IFACES=${RP}/etc/network/interfaces
[ -f "$IFACES" ] || fail 66 "$IFACES is missing"
SUM=$(sha256_file "$IFACES")
SEEN="$STATE_DIR/legacy-applied.sha256"
if [ -f "$SEEN" ] && [ "$(cat -- "$SEEN")" = "$SUM" ]; then
  done_step unchanged "these interfaces were already applied through the Perl CLI"
fi
if ! OUT=$(run_site_command "${VALIDATE[@]}" 2>&1); then
  fail 65 "legacy validate failed, not applying: $OUT"
fi
kill_point validated
if ! OUT=$(run_site_command "${APPLY[@]}" 2>&1); then
  fail 70 "legacy apply failed: $OUT"
fi
kill_point applied
atomic_write "$SEEN" 0644 "$SUM"
if is_sandbox; then
  done_step changed "validated and applied through ${APPLY[0]}; restart of ${OPT[legacy-service]} skipped: sandbox"
fi
if unit_exists "${OPT[legacy-service]}"; then
  bounded 120 systemctl restart -- "${OPT[legacy-service]}"
  done_step changed "validated and applied through ${APPLY[0]}; restarted ${OPT[legacy-service]}"
fi
done_step changed "validated and applied through ${APPLY[0]}"
