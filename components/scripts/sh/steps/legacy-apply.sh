# legacy-apply: validate, then apply the configuration through the Perl CLI
# (`pvenet-legacy validate --config /etc/network/interfaces`, `pvenet-legacy apply`) under the
# network dead-man switch: armed first (net_guard_arm: the node reverts to the network files
# saved at the transition's start after --confirm-timeout seconds unless network-confirm, over
# a new SSH connection, confirms). An apply that fails is reverted at once. The restart of the
# legacy service comes after the confirmation (network-confirm). Skips when this transition
# already applied the same interfaces (its own command run again); another transition always
# applies, since the Rust side may have applied something else in between (a revert forgets it).
# Options: --transition ID --confirm-timeout S --validate-argc N -- VALIDATE_ARGV... APPLY_ARGV...
#   [--backup-id B] [--apply-attempt N]: only carried, so that choosing another backup or raising
#   network.applyAttempt runs the apply again
require_opts validate-argc transition confirm-timeout
check_count validate-argc "${OPT[validate-argc]}" "$PVE_MAX_COMMAND_ARGS"
[[ ${OPT[transition]} =~ ^[0-9a-f]{4,64}$ ]] || usage "--transition must be hex"
if ! [[ ${OPT[confirm-timeout]} =~ ^[0-9]{1,2}$ ]] || [ "${OPT[confirm-timeout]}" -lt "$PVE_MIN_CONFIRM_TIMEOUT" ] || [ "${OPT[confirm-timeout]}" -gt "$PVE_MAX_CONFIRM_TIMEOUT" ]; then
  usage "--confirm-timeout must be $PVE_MIN_CONFIRM_TIMEOUT to $PVE_MAX_CONFIRM_TIMEOUT seconds"
fi
N=${OPT[validate-argc]}
[ "${#CMD[@]}" -gt "$N" ] || usage "need the validate and apply commands after --"
[ "$((${#CMD[@]} - N))" -le "$PVE_MAX_COMMAND_ARGS" ] || usage "the apply command has more than $PVE_MAX_COMMAND_ARGS arguments"
check_site_argv "${CMD[@]}"
TEMP_DIRS=(/var/lib/pve-network-rs/net-guard)
init_step
ID=${OPT[transition]}
T=${OPT[confirm-timeout]}
VALIDATE=("${CMD[@]:0:N}")
APPLY=("${CMD[@]:N}")

# Applying again after the dead-man switch reverted this transition's apply (the run after a
# raised network.applyAttempt, or this step's own command run again): the files that apply left
# (net-guard/attempted, kept by the revert) go back first. A restore that runs again (another
# backup) removed them: then the restored files are applied.
G=$STATE_DIR/net-guard
AGAIN=""
kv_get_into REVERTED_OF "$G/fired" transition
kv_get_into LEFT_OF "$G/attempted/manifest" transition
if [ "$REVERTED_OF" = "$ID" ] && [ "$LEFT_OF" = "$ID" ]; then
  atomic_write "$G/revert.sh" 0600 "$PVE_NET_REVERT_SCRIPT"
  OUT=$(bash "$G/revert.sh" --root "$ROOT" --node "$NODE" --transition "$ID" --put-back attempted 2>&1) ||
    fail 70 "cannot put back the files of the reverted apply: $OUT"
  AGAIN="; applied again after the dead-man switch reverted it ($OUT)"
fi

IFACES=${RP}/etc/network/interfaces
[ -f "$IFACES" ] || fail 66 "$IFACES is missing"
SUM=$(sha256_file "$IFACES")
SEEN="$STATE_DIR/legacy-applied.sha256"
if [ -f "$SEEN" ] && [ "$(cat -- "$SEEN")" = "$ID $SUM" ]; then
  done_step unchanged "transition $ID already applied these interfaces through the Perl CLI"
fi
if ! OUT=$(run_site_command "${VALIDATE[@]}" 2>&1); then
  fail 65 "legacy validate failed, not applying: $OUT"
fi
kill_point validated
net_guard_arm "$ID" "$T"
kill_point armed
RC=0
OUT=$(run_site_command "${APPLY[@]}" 2>&1) || RC=$?
if [ "$RC" != 0 ]; then
  net_guard_revert_now "$ID" "the apply failed (exit $RC)"
  fail 70 "legacy apply failed: $OUT; $NET_REVERTED"
fi
kill_point applied
atomic_write "$SEEN" 0644 "$ID $SUM"
if is_sandbox; then
  done_step changed "validated and applied through ${APPLY[0]}; armed the dead-man switch ($T s; no timer: sandbox): network-confirm confirms over a new connection$AGAIN"
fi
done_step changed "validated and applied through ${APPLY[0]}; the node reverts it in $T s unless network-confirm confirms over a new connection$AGAIN"
