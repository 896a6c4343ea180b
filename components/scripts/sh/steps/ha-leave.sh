# ha-leave: take the node out of Proxmox VE HA maintenance after verify, with the leave command
# ha-enter saved, when this transition put it there (README "HA maintenance"). A node that was in
# maintenance before the transition is left as found.
# Options: --transition ID
require_opts transition
[[ ${OPT[transition]} =~ ^[0-9a-f]{4,64}$ ]] || usage "--transition must be hex"
TEMP_DIRS=(/var/lib/pve-network-rs/ha)
init_step
ID=${OPT[transition]}
ha_state_into HA_STATE HA_OF
[ "$HA_OF" = "$ID" ] || done_step unchanged "transition $ID did not put $NODE in HA maintenance"
case "$HA_STATE" in
  entered | entering) ;;
  prior)
    ha_write_state left "$ID"
    done_step unchanged "$NODE was in HA maintenance before transition $ID; left as found"
    ;;
  *) done_step unchanged "$NODE is not in HA maintenance for transition $ID ($HA_STATE)" ;;
esac
ha_saved_into HA_LEAVE leave
[ "${#HA_LEAVE[@]}" -gt 0 ] || fail 66 "no leave command saved in $STATE_DIR/ha/leave.argv: take $NODE out of HA maintenance by hand"
OUT=$(run_site_command "${HA_LEAVE[@]}" 2>&1) || fail 65 "the HA leave command ${HA_LEAVE[0]} failed, $NODE stays in HA maintenance: ${OUT//[^[:print:]]/?}"
kill_point ha-left
ha_write_state left "$ID"
done_step changed "took $NODE out of HA maintenance (${HA_LEAVE[*]})"
