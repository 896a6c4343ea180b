# verify: the node is in the phase it was asked for: the pinned package is installed, the
# migration config is the one rendered, the Rust daemon is enabled (running) exactly when the
# phase needs it, no /etc/network/interfaces.new is pending, the running network is what
# /etc/network/interfaces says (on a node; a sandbox root has no network of its own:
# components/scripts/sh/network.sh net_check_running, every required interface up too), and the
# site's verify command (`pvenet status --verbose`) succeeds. Each network problem is a line
# of its own (result=problem) in the output and the decision log. Closes the transition in
# progress.
# Options: --transition ID --version --config-path --config-sha256 --daemon 0|1 --rust-service --middleware-service
#   [--required-interfaces IF1,IF2] [-- VERIFY_ARGV...]
check_verify_args
TEMP_DIRS=(/var/lib/pve-network-rs/diagnostics)
init_step

# The line the program reads from this step's stdout to record the node as verified
# (components/deployed parseVerified); printed only when every check passed.
print_verified() {
  printf 'pve-migration-verified node=%s phase=%s transition=%s at=%s\n' "$NODE" "$TO" "${OPT[transition]:-}" "$(now_utc)"
}

verify_state "${OPT[version]}" "${OPT[config-path]}" "${OPT[config-sha256]}" "${OPT[daemon]}" "${OPT[rust-service]}" "${OPT[middleware-service]}" "${REQUIRED[@]}"
for p in "${NET_PROBLEMS[@]}"; do
  log_line problem "network: $p"
done
if [ "${#CMD[@]}" -gt 0 ] && [ "${#PROBLEMS[@]}" -eq 0 ]; then
  if ! OUT=$(run_site_command "${CMD[@]}" 2>&1); then
    PROBLEMS+=("${CMD[0]} failed: $OUT")
  fi
fi
if [ "${#PROBLEMS[@]}" -gt 0 ]; then
  fail 70 "$(IFS=';'; printf '%s' "${PROBLEMS[*]}")"
fi
# The phase this node last verified, for migration-ctl drift (drift-check.sh): a first deployment
# opens no transition, so transition.last alone would not say it. Written only when it changes.
kv_get_into WAS "$STATE_DIR/verified" phase
[ "$WAS" = "$TO" ] || atomic_write "$STATE_DIR/verified" 0644 "phase=$TO
"
# Closing the transition: transition -> transition.last, for a rollback with the time it was
# closed, which names the post-rollback diagnostics bundle. A run killed after the close is finished by the
# next run of the same transition (it starts the bundle if it is not there).
kill_point checked
T="$STATE_DIR/transition"
LAST="$STATE_DIR/transition.last"
if [ -f "$T" ]; then
  STAMP=$(state_field transition closed)
  if [ "$(phase_index "$TO")" -lt "$(phase_index "$FROM")" ] && ! [[ $STAMP =~ ^[0-9]{8}T[0-9]{6}Z$ ]]; then
    printf -v STAMP '%(%Y%m%dT%H%M%SZ)T' -1
    atomic_write "$T" 0644 "id=$(state_field transition id)
from=$FROM
to=$TO
closed=$STAMP
"
  fi
  mv -f -- "$T" "$LAST"
  kill_point transition-closed
  DONE="; transition from $FROM complete"
elif [ -n "${OPT[transition]:-}" ] && [ "$(state_field transition.last id)" = "${OPT[transition]}" ] \
  && [ "$(state_field transition.last to)" = "$TO" ] && is_phase "$(state_field transition.last from)"; then
  FROM=$(state_field transition.last from)
  STAMP=$(state_field transition.last closed)
  DONE=""
else
  print_verified
  done_step ok "phase $TO verified$NET_NOTE"
fi
DIAG=""
if [ "$(phase_index "$TO")" -lt "$(phase_index "$FROM")" ] && [[ $STAMP =~ ^[0-9]{8}T[0-9]{6}Z$ ]]; then
  NAME="$STAMP-$(state_field transition.last id)-post-rollback"
  if ! [ -f "$(diagnostics_dir)/$NAME.tar.gz" ]; then
    collect_diagnostics_detached "$NAME"
    DIAG="; diagnostics $NAME (collected after this step)"
  fi
fi
print_verified
done_step ok "phase $TO verified$NET_NOTE$DONE$DIAG"
