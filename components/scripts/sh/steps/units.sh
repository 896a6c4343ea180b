# units: install the systemd unit files rendered from code (atomically), then daemon-reload.
# Options: --rust-service NAME --rust-unit TEXT --middleware-service NAME --middleware-unit TEXT
require_opts rust-service rust-unit middleware-service middleware-unit
check_unit_name "${OPT[rust-service]}"
check_unit_name "${OPT[middleware-service]}"
init_step

CHANGED=""
install_unit() {
  local path
  path=$(R "/etc/systemd/system/$1")
  if same_content "$path" "$2"; then
    return 0
  fi
  atomic_write "$path" 0644 "$2"
  CHANGED="$CHANGED $1"
}
install_unit "${OPT[rust-service]}" "${OPT[rust-unit]}"
install_unit "${OPT[middleware-service]}" "${OPT[middleware-unit]}"
[ -n "$CHANGED" ] || done_step unchanged "unit files up to date"
if is_sandbox; then
  done_step changed "wrote${CHANGED}; daemon-reload skipped: the sandbox has no service manager"
fi
bounded 120 systemctl daemon-reload
done_step changed "wrote${CHANGED}; daemon-reload"
