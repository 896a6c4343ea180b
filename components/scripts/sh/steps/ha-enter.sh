# ha-enter: put the node in Proxmox VE HA maintenance before its services step (pve-migration:ha,
# README "HA maintenance"), so that HA moves its resources away and a node that loses quorum
# while its services restart has nothing to fence itself for. A node that the status command
# finds in maintenance already is left as found (ha-leave will not take it out). The commands
# are saved on the node: a later step of this transition that fails takes the node out again
# (on_exit), and one that runs again puts it back (init_step), without the orchestrator.
# Options: --transition ID --enter-argc N --leave-argc M [--status-argc K --settle-timeout S]
#   -- ENTER_ARGV... LEAVE_ARGV... [STATUS_ARGV...]
require_opts transition enter-argc leave-argc
[[ ${OPT[transition]} =~ ^[0-9a-f]{4,64}$ ]] || usage "--transition must be hex"
check_count enter-argc "${OPT[enter-argc]}" "$PVE_MAX_COMMAND_ARGS"
check_count leave-argc "${OPT[leave-argc]}" "$PVE_MAX_COMMAND_ARGS"
EN=${OPT[enter-argc]} LN=${OPT[leave-argc]} SN=${OPT[status-argc]:-0}
if [ "$SN" != 0 ]; then
  check_count status-argc "$SN" "$PVE_MAX_COMMAND_ARGS"
  require_opts settle-timeout
  check_count settle-timeout "${OPT[settle-timeout]}" "$PVE_MAX_HA_SETTLE_TIMEOUT"
fi
[ "${#CMD[@]}" -eq $((EN + LN + SN)) ] || usage "--enter-argc $EN, --leave-argc $LN and --status-argc $SN do not add up to the ${#CMD[@]} words after --"
check_site_argv "${CMD[@]}"
TEMP_DIRS=(/var/lib/pve-network-rs/ha)
init_step
ID=${OPT[transition]}
ha_state_into HA_STATE HA_OF
if [ "$HA_OF" = "$ID" ]; then
  case "$HA_STATE" in
    entered) done_step unchanged "$NODE is in HA maintenance for transition $ID already" ;;
    prior) done_step unchanged "$NODE was in HA maintenance before transition $ID; left as found" ;;
  esac
fi
ha_save_argv enter "${CMD[@]:0:EN}"
ha_save_argv leave "${CMD[@]:EN:LN}"
if [ "$SN" != 0 ]; then
  ha_save_argv status "${CMD[@]:EN+LN:SN}"
else
  rm -f -- "$STATE_DIR/ha/status.argv"
fi
kill_point ha-saved
# Entered by an earlier transition that never got to ha-leave: this one takes it over.
if [ "$HA_STATE" = entered ] || [ "$HA_STATE" = entering ]; then
  ha_write_state entered "$ID" "${OPT[settle-timeout]:-0}"
  done_step unchanged "$NODE is in HA maintenance since transition $HA_OF, which did not take it out; transition $ID takes it out after verify"
fi
ha_write_state "${HA_STATE:-left}" "$ID" "${OPT[settle-timeout]:-0}"
if [ "$SN" != 0 ] && ha_in_maintenance; then
  ha_write_state prior "$ID"
  done_step unchanged "$NODE is in HA maintenance already (${CMD[*]:EN+LN:SN}); left as found: ha-leave will not take it out"
fi
ha_enter_now "$ID"
done_step changed "$HA_DONE; ha-leave takes it out after verify, a failure before then at once"
