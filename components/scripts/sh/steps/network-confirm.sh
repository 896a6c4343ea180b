# network-confirm: the first step after a network apply, in a command of its own, so that it
# runs over a new SSH connection: reaching the node is the first proof that the apply kept it
# reachable. It runs the site's health command where one is configured (network.healthCommand),
# then takes the dead-man switch's arm (net_guard_confirm), which stops the revert, and restarts
# the legacy service. When the switch fired first (the node reverted), it fails, naming what the
# revert did. With nothing armed for this transition (the apply found nothing to do) it does nothing.
# Options: --transition ID --legacy-service NAME [--health-argc N -- HEALTH_ARGV...]
#   [--backup-id B] [--apply-attempt N]: only carried, as legacy-apply's
require_opts transition legacy-service
[[ ${OPT[transition]} =~ ^[0-9a-f]{4,64}$ ]] || usage "--transition must be hex"
check_unit_name "${OPT[legacy-service]}"
HN=${OPT[health-argc]:-0}
if [ "$HN" != 0 ]; then
  check_count health-argc "$HN" "$PVE_MAX_COMMAND_ARGS"
  [ "${#CMD[@]}" -eq "$HN" ] || usage "--health-argc $HN does not match the ${#CMD[@]} words after --"
  check_site_argv "${CMD[@]}"
elif [ "${#CMD[@]}" -gt 0 ]; then
  usage "a health command after -- needs --health-argc"
fi
init_step
ID=${OPT[transition]}
G=$STATE_DIR/net-guard
kv_get_into WAITING_OF "$G/armed" transition
HEALTH=""
if [ "$WAITING_OF" = "$ID" ] && [ "$HN" != 0 ]; then
  if ! OUT=$(run_site_command "${CMD[@]}" 2>&1); then
    fail 65 "the health command ${CMD[0]} failed, not confirming the network apply (the dead-man switch reverts it at its deadline): $OUT"
  fi
  HEALTH="; ${CMD[0]} passed"
fi
net_guard_confirm "$ID"
case "$NET_CONFIRM" in
  reverted)
    fail 75 "$NET_REVERTED. Nothing was confirmed: the node runs the network it ran before this transition. Once the cause is fixed, raise pve-migration:network.applyAttempt to apply the same files again, or name another backup in pve-migration:backups.restoreId to restore and apply it"
    ;;
  none)
    done_step unchanged "no network apply of transition $ID waits for confirmation"
    ;;
esac
kill_point confirmed
if [ "$NET_CONFIRM" = confirmed-before ]; then
  MSG="an earlier run of this step confirmed the network apply of transition $ID (deadline ${NET_TIMEOUT} s); the dead-man switch is disarmed"
else
  WAITED=$((EPOCHSECONDS - NET_ARMED_AT))
  MSG="confirmed the network apply over a new connection ${WAITED} s after it was armed (deadline ${NET_TIMEOUT} s)$HEALTH; the dead-man switch is disarmed"
fi
if is_sandbox; then
  done_step changed "$MSG; restart of ${OPT[legacy-service]} skipped: sandbox"
fi
if unit_exists "${OPT[legacy-service]}"; then
  bounded 120 systemctl restart -- "${OPT[legacy-service]}"
  done_step changed "$MSG; restarted ${OPT[legacy-service]}"
fi
done_step changed "$MSG"
