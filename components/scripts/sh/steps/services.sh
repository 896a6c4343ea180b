# services: restart the migration middleware (never the network) when the migration config
# changed, then enable and start, or stop and disable, the Rust daemon as the phase requires.
# Options: --middleware-service NAME --rust-service NAME --daemon 0|1 --config-sha256 HEX
require_opts middleware-service rust-service daemon config-sha256
MW=${OPT[middleware-service]}
RUST=${OPT[rust-service]}
check_unit_name "$MW"
check_unit_name "$RUST"
[[ ${OPT[daemon]} =~ ^[01]$ ]] || usage "--daemon must be 0 or 1"
[[ ${OPT[config-sha256]} =~ ^[0-9a-f]{64}$ ]] || usage "--config-sha256 must be 64 hex digits"
init_step

DONE=()
SEEN="$STATE_DIR/middleware.config-sha256"
LAST=""
[ -f "$SEEN" ] && LAST=$(cat -- "$SEEN")
if is_sandbox; then
  if [ "$LAST" != "${OPT[config-sha256]}" ]; then
    DONE+=("restart of $MW skipped: the sandbox has no service manager")
    atomic_write "$SEEN" 0644 "${OPT[config-sha256]}"
  fi
  kill_point middleware-done
  if [ "${OPT[daemon]}" = 1 ] && ! unit_is_enabled "$RUST"; then
    systemctl --root="$ROOT" enable --quiet -- "$RUST"
    DONE+=("enabled $RUST (start skipped: sandbox)")
  elif [ "${OPT[daemon]}" = 0 ] && unit_is_enabled "$RUST"; then
    systemctl --root="$ROOT" disable --quiet -- "$RUST"
    DONE+=("disabled $RUST (stop skipped: sandbox)")
  fi
else
  if [ "$LAST" != "${OPT[config-sha256]}" ] || ! unit_is_active "$MW"; then
    bounded 120 systemctl restart -- "$MW"
    atomic_write "$SEEN" 0644 "${OPT[config-sha256]}"
    DONE+=("restarted $MW")
  fi
  if [ "${OPT[daemon]}" = 1 ]; then
    if ! unit_is_enabled "$RUST" || ! unit_is_active "$RUST"; then
      bounded 120 systemctl enable --now --quiet -- "$RUST"
      DONE+=("enabled and started $RUST")
    fi
  elif unit_is_enabled "$RUST" || unit_is_active "$RUST"; then
    bounded 120 systemctl disable --now --quiet -- "$RUST"
    DONE+=("stopped and disabled $RUST")
  fi
fi
[ "${#DONE[@]}" -gt 0 ] || done_step unchanged "$MW up to date; $RUST $( [ "${OPT[daemon]}" = 1 ] && echo enabled || echo disabled )"
done_step changed "$(IFS=';'; printf '%s' "${DONE[*]}")"
