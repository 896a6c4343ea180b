# drift-check: what verify checks of this node, read only: it takes no lock, writes nothing and
# logs nothing (migration-ctl drift; README "Drift"). It runs verify's own checks (lib.sh
# verify_state) against the phase the stack deployed, compares the phase the node last verified
# (or a transition still in progress), and runs the site's verify command when nothing else
# differs. Output, one record a line: `phase <last verified phase or ->`, then `drift <text>`
# per difference (none: in step).
# Options: --root R --node N --to PHASE --version V --config-path P --config-sha256 H --daemon 0|1
#   --rust-service S --middleware-service S [--required-interfaces IF,...] [-- VERIFY_ARGV...]
require_opts to
is_phase "${OPT[to]}" || usage "--to is not a phase"
check_verify_args
[[ ${OPT[config-sha256]} =~ ^[0-9a-f]{64}$ ]] || usage "--config-sha256 must be 64 hex digits"
init_root
TO=${OPT[to]}
# The phase verify last recorded (steps/verify.sh); a node verified before it recorded one: the
# phase its last closed transition went to.
kv_get_into LAST "$STATE_DIR/verified" phase
[ -n "$LAST" ] || kv_get_into LAST "$STATE_DIR/transition.last" to
kv_get_into OPEN_FROM "$STATE_DIR/transition" from
kv_get_into OPEN_TO "$STATE_DIR/transition" to
printf 'phase %s\n' "${LAST:--}"
DRIFT=()
if [ -n "$OPEN_TO" ]; then
  DRIFT+=("a transition from ${OPEN_FROM:-?} to $OPEN_TO is in progress (not verified)")
elif [ "$LAST" != "$TO" ]; then
  DRIFT+=("the node last verified ${LAST:-no phase}, the stack deployed $TO")
fi
verify_state "${OPT[version]}" "${OPT[config-path]}" "${OPT[config-sha256]}" "${OPT[daemon]}" "${OPT[rust-service]}" "${OPT[middleware-service]}" "${REQUIRED[@]}"
DRIFT+=("${PROBLEMS[@]}")
if [ "${#CMD[@]}" -gt 0 ] && [ "${#DRIFT[@]}" -eq 0 ]; then
  if ! OUT=$(run_site_command "${CMD[@]}" 2>&1); then
    DRIFT+=("${CMD[0]} failed: ${OUT//[^[:print:]]/?}")
  fi
fi
for d in "${DRIFT[@]}"; do
  printf 'drift %s\n' "${d//[^[:print:]]/?}"
done
