# units: install the systemd unit files rendered from code (atomically), then daemon-reload.
# A run killed after writing a unit and before the daemon-reload leaves units.reload-pending
# in the state folder: the next run reloads even when the files are already up to date.
# Options: --rust-service NAME --rust-unit TEXT --middleware-service NAME --middleware-unit TEXT
require_opts rust-service rust-unit middleware-service middleware-unit
check_unit_name "${OPT[rust-service]}"
check_unit_name "${OPT[middleware-service]}"
TEMP_DIRS=(/etc/systemd/system)
init_step

PENDING="$STATE_DIR/units.reload-pending"
CHANGED=""
install_unit() {
  local path
  path=${RP}/etc/systemd/system/$1
  if same_content "$path" "$2"; then
    return 0
  fi
  [ -f "$PENDING" ] || atomic_write "$PENDING" 0644 "daemon-reload pending
"
  atomic_write "$path" 0644 "$2"
  CHANGED="$CHANGED $1"
}
install_unit "${OPT[rust-service]}" "${OPT[rust-unit]}"
install_unit "${OPT[middleware-service]}" "${OPT[middleware-unit]}"
WROTE="wrote${CHANGED}"
if [ -z "$CHANGED" ]; then
  [ -f "$PENDING" ] || done_step unchanged "unit files up to date"
  WROTE="unit files written by an interrupted run"
fi
kill_point units-written
if is_sandbox; then
  rm -f -- "$PENDING"
  done_step changed "${WROTE}; daemon-reload skipped: the sandbox has no service manager"
fi
bounded 120 systemctl daemon-reload
rm -f -- "$PENDING"
done_step changed "${WROTE}; daemon-reload"
