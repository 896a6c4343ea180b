# The running network against its configuration (part of the shared prelude, after lib.sh).
#
# net_pending_config: a pending /etc/network/interfaces.new, the file Proxmox VE's network API
# writes and `pvenetcommit` activates at the next boot (PUT /nodes/{node}/network renames it
# and reloads the network). Sets NET_PENDING to its node path, or "".
net_pending_config() {
  NET_PENDING=""
  if [ -e "${RP}/etc/network/interfaces.new" ] || [ -L "${RP}/etc/network/interfaces.new" ]; then
    NET_PENDING=/etc/network/interfaces.new
  fi
}

# net_check_running [REQUIRED_IFACE...]: compare what the kernel runs with
# /etc/network/interfaces (and the files it sources) and fill NET_PROBLEMS, one line per
# problem, and NET_CHECKED (what was compared). Checked, for every `auto` interface with a
# stanza: it exists and is up (admin state), each configured address is on it, its MTU, a
# bridge's ports (exactly those of bridge-ports), a vxlan's id, and a default route through
# its gateway. REQUIRED_IFACE (the stack's pve-migration:requiredInterfaces: the storage
# VLANs and bonds a runbook names) must exist and be up. ifupdown2's own check
# (`ifquery -a -c`) runs too where it is installed; its [fail] lines are problems.
# Read with `ip -o` (one line per object) rather than `ip -j`: a Proxmox VE node has no JSON
# parser for bash (jq is not among its packages), and `ip -o`'s fields are stable.
# Values from the files are data: they are compared, never run.
net_check_running() {
  NET_PROBLEMS=()
  NET_CHECKED=0
  local -A auto=() defined=() where=() addrs=() mtu=() ports=() vxlan=() gw=() up=() kmtu=() kmaster=() kvxlan=() kaddr=() seen=()
  local -a order=() auto_order=() files=()
  net_read_interfaces "${RP}/etc/network/interfaces" 0
  local line name rest flags
  local links addrs_out routes
  links=$(bounded 10 ip -o -d link show 2>&1) || { NET_PROBLEMS+=("ip -o -d link show failed: ${links//$'\n'/ }"); return 0; }
  addrs_out=$(bounded 10 ip -o addr show 2>&1) || { NET_PROBLEMS+=("ip -o addr show failed: ${addrs_out//$'\n'/ }"); return 0; }
  routes=$(bounded 10 ip -o route show default 2>&1; bounded 10 ip -o -6 route show default 2>&1) || true
  # "3: vmbr0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 ... master vmbr1 ... vxlan id 100 ..."
  while IFS= read -r line; do
    [[ $line =~ ^[0-9]+:\ ([^:@ ]+)(@[^: ]*)?:\ \<([^>]*)\>(.*)$ ]] || continue
    name=${BASH_REMATCH[1]}
    flags=,${BASH_REMATCH[3]},
    rest=${BASH_REMATCH[4]}
    seen[$name]=1
    if [[ $flags == *,UP,* ]]; then up[$name]=1; fi
    if [[ $rest =~ \ mtu\ ([0-9]+) ]]; then kmtu[$name]=${BASH_REMATCH[1]}; fi
    if [[ $rest =~ \ master\ ([^ ]+) ]]; then kmaster[$name]=${BASH_REMATCH[1]}; fi
    if [[ $rest =~ \ vxlan\ id\ ([0-9]+) ]]; then kvxlan[$name]=${BASH_REMATCH[1]}; fi
  done <<< "$links"
  # "2: host0    inet 10.99.0.11/24 brd ... scope global host0\       valid_lft ..."
  while IFS= read -r line; do
    [[ $line =~ ^[0-9]+:\ +([^ ]+)\ +inet6?\ +([^ ]+) ]] || continue
    kaddr[${BASH_REMATCH[1]}]+=" ${BASH_REMATCH[2],,} "
  done <<< "$addrs_out"

  local iface a p want got have
  # `auto` interfaces without a stanza are brought up too (ifupdown2): checked for existing and up.
  for iface in "${auto_order[@]}"; do
    if [ -z "${defined[$iface]:-}" ] && [ -z "${where[$iface]:-}" ]; then
      order+=("$iface")
      where[$iface]="${files[0]:-/etc/network/interfaces} (auto, no stanza)"
    fi
  done
  for iface in "${order[@]}"; do
    [ -n "${auto[$iface]:-}" ] || continue
    NET_CHECKED=$((NET_CHECKED + 1))
    if [ -z "${seen[$iface]:-}" ]; then
      NET_PROBLEMS+=("$iface: auto in ${where[$iface]} but not in the kernel")
      continue
    fi
    [ -n "${up[$iface]:-}" ] || NET_PROBLEMS+=("$iface: auto but down")
    for a in ${addrs[$iface]:-}; do
      if [[ ${kaddr[$iface]:-} != *" ${a,,} "* ]]; then
        # What it has, without the IPv6 link-local addresses the kernel adds by itself.
        have=""
        for p in ${kaddr[$iface]:-}; do
          if [[ $p != fe80:* ]]; then have+=" $p"; fi
        done
        NET_PROBLEMS+=("$iface: address $a configured, not on the interface (has:${have:- none})")
      fi
    done
    if [ -n "${mtu[$iface]:-}" ] && [ "${kmtu[$iface]:-}" != "${mtu[$iface]}" ]; then
      NET_PROBLEMS+=("$iface: mtu ${mtu[$iface]} configured, ${kmtu[$iface]:-unknown} running")
    fi
    if [ -n "${ports[$iface]+set}" ]; then
      want=" "
      for p in ${ports[$iface]}; do [ "$p" = none ] || want+="$p "; done
      got=" "
      for p in "${!kmaster[@]}"; do
        if [ "${kmaster[$p]}" = "$iface" ]; then got+="$p "; fi
      done
      # Both as sorted word lists, so that the order of bridge-ports does not matter.
      net_sorted_words want "$want"
      net_sorted_words got "$got"
      [ "$want" = "$got" ] || NET_PROBLEMS+=("$iface: bridge ports configured [${want}], running [${got}]")
    fi
    if [ -n "${vxlan[$iface]:-}" ] && [ "${kvxlan[$iface]:-}" != "${vxlan[$iface]}" ]; then
      NET_PROBLEMS+=("$iface: vxlan-id ${vxlan[$iface]} configured, ${kvxlan[$iface]:-none} running")
    fi
    for a in ${gw[$iface]:-}; do
      case $'\n'$routes$'\n' in
        *$'\n'"default via $a dev $iface "* | *$'\n'"default via $a dev $iface"$'\n'*) ;;
        *) NET_PROBLEMS+=("$iface: gateway $a configured, no default route via $a dev $iface") ;;
      esac
    done
  done
  for iface in "$@"; do
    NET_CHECKED=$((NET_CHECKED + 1))
    if [ -z "${seen[$iface]:-}" ]; then
      NET_PROBLEMS+=("$iface: required by the stack (pve-migration:requiredInterfaces) but not in the kernel")
    elif [ -z "${up[$iface]:-}" ]; then
      NET_PROBLEMS+=("$iface: required by the stack (pve-migration:requiredInterfaces) but down")
    fi
  done
  if command -v ifquery > /dev/null 2>&1; then
    local out rc=0
    local -a words
    out=$(bounded 60 ifquery -a -c 2>&1) || rc=$?
    if [ "$rc" -ne 0 ]; then
      local any=0
      while IFS= read -r line; do
        if [[ $line == *"[fail]"* ]]; then
          any=1
          # Its columns, blanks squeezed: "iface vmbr8 inet manual [fail]".
          read -r -a words <<< "$line" || true
          NET_PROBLEMS+=("ifquery -a -c: ${words[*]}")
        fi
      done <<< "$out"
      [ "$any" = 1 ] || NET_PROBLEMS+=("ifquery -a -c failed (exit $rc): ${out//$'\n'/ }")
    fi
  fi
}

# net_sorted_words VAR TEXT: TEXT's words sorted, one space between, into VAR (an insertion
# sort in bash: a bridge has few ports, and no process is started).
net_sorted_words() {
  local -a w=()
  local i j t
  read -r -a w <<< "$2" || true
  for ((i = 1; i < ${#w[@]}; i++)); do
    for ((j = i; j > 0; j--)); do
      [[ ${w[j - 1]} > ${w[j]} ]] || break
      t=${w[j]}; w[j]=${w[j - 1]}; w[j - 1]=$t
    done
  done
  printf -v "$1" '%s' "${w[*]}"
}

# net_read_interfaces FILE DEPTH: parse an ifupdown interfaces file into net_check_running's
# maps (auto, auto_order, defined, where, addrs, mtu, ports, vxlan, gw, order, files): `auto`/`allow-auto`,
# `iface NAME FAMILY METHOD` stanzas with address (CIDR, or address + netmask), gateway, mtu,
# bridge-ports/bridge_ports, vxlan-id; `source GLOB` and `source-directory DIR` followed (paths
# as on the node, under the root), 4 levels at most. Lines starting with # are comments.
net_read_interfaces() {
  local file=$1 depth=$2 line iface="" key f pending_addr=""
  local -a w
  [ "$depth" -le 4 ] || return 0
  [ -f "$file" ] || return 0
  files+=("${file#"$RP"}")
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line#"${line%%[![:space:]]*}"}
    if [ -z "$line" ] || [ "${line:0:1}" = "#" ]; then continue; fi
    read -r -a w <<< "$line"
    key=${w[0]}
    case $key in
      auto | allow-auto)
        for f in "${w[@]:1}"; do
          auto[$f]=1
          auto_order+=("$f")
        done
        iface="" ;;
      iface)
        iface=${w[1]:-}
        [ -n "$iface" ] || continue
        if [ -z "${defined[$iface]:-}" ]; then
          defined[$iface]=1
          where[$iface]=${file#"$RP"}
          order+=("$iface")
        fi
        ;;
      source)
        local pat=${w[1]:-} m
        [[ $pat == /* ]] || pat=/etc/network/$pat
        for m in ${RP}$pat; do net_read_interfaces "$m" $((depth + 1)); done
        iface="" ;;
      source-directory)
        local d=${w[1]:-} m
        [[ $d == /* ]] || d=/etc/network/$d
        for m in "${RP}$d"/*; do
          if [[ ${m##*/} =~ ^[A-Za-z0-9_-]+$ ]]; then net_read_interfaces "$m" $((depth + 1)); fi
        done
        iface="" ;;
      mapping | allow-*) iface="" ;;
      *)
        [ -n "$iface" ] || continue
        case $key in
          address)
            if [[ ${w[1]:-} == */* ]]; then addrs[$iface]+=" ${w[1]}"; else pending_addr=${w[1]:-}; fi ;;
          netmask)
            if [ -n "$pending_addr" ]; then addrs[$iface]+=" $pending_addr/$(net_prefix "${w[1]:-}")"; fi
            pending_addr="" ;;
          gateway) gw[$iface]+=" ${w[1]:-}" ;;
          mtu) mtu[$iface]=${w[1]:-} ;;
          bridge-ports | bridge_ports) ports[$iface]="${w[*]:1}" ;;
          vxlan-id) vxlan[$iface]=${w[1]:-} ;;
        esac ;;
    esac
  done < "$file"
}

# net_prefix NETMASK: the prefix length of a dotted IPv4 netmask (or the number itself).
net_prefix() {
  local m=$1 o n=0 b
  if [[ $m =~ ^[0-9]{1,3}$ ]]; then printf '%s' "$m"; return 0; fi
  local IFS=.
  for o in $m; do
    for b in 128 64 32 16 8 4 2 1; do
      if [ $((o & b)) -ne 0 ]; then n=$((n + 1)); fi
    done
  done
  printf '%s' "$n"
}

# The network dead-man switch ------------------------------------------------------------------
# Every network apply (legacy-apply) is armed first: a transient systemd timer on the node runs
# net-guard/revert.sh (sh/net-revert.sh, PVE_NET_REVERT_SCRIPT below) after
# network.confirmTimeout seconds unless network-confirm, the first step of the plan's next
# command (a new SSH connection), takes the arm first. The arm is the file net-guard/armed:
# the confirmation renames it to `confirmed`, the revert to `firing` (rename(2): exactly one
# of them succeeds), so neither needs the node lock.
NET_GUARD_UNIT=pve-migration-net-revert
# The files a revert puts back, node paths (interfaces.d: its regular files).
NET_GUARD_FILES=(/etc/network/interfaces /etc/network/interfaces.new /etc/frr/frr.conf)
NET_GUARD_DIR=/etc/network/interfaces.d

# net_guard_save ID: save the network files as they are at the start of transition ID (the
# snapshot step, before any step of it changed a file) to net-guard/saved, once per transition
# (a re-run keeps the first save: by then a restore may have changed the files). A temp folder
# renamed into place. Sets NET_SAVED to what was saved.
net_guard_save() {
  local id=$1 g=$STATE_DIR/net-guard t p f saved_id n=0 rnd
  kv_get_into saved_id "$g/saved/manifest" transition
  if [ "$saved_id" = "$id" ]; then
    NET_SAVED="the network files saved at the start of transition $id kept"
    return 0
  fi
  [ -d "$g" ] || mkdir -p -- "$g"
  pve_temp_name_into t "$g" ".saved"
  pve_random6_into rnd
  t=${t%XXXXXX}$rnd
  mkdir -m 0700 -- "$t"
  for p in "${NET_GUARD_FILES[@]}"; do
    if [ -f "${RP}$p" ]; then
      mkdir -p -- "$t/files${p%/*}"
      cp -p -- "${RP}$p" "$t/files$p"
      n=$((n + 1))
    fi
  done
  if [ -d "${RP}$NET_GUARD_DIR" ]; then
    mkdir -p -- "$t/files$NET_GUARD_DIR"
    for f in "${RP}$NET_GUARD_DIR"/* "${RP}$NET_GUARD_DIR"/.[!.]*; do
      if [ -f "$f" ]; then
        cp -p -- "$f" "$t/files$NET_GUARD_DIR/"
        n=$((n + 1))
      fi
    done
  fi
  printf 'transition=%s\nat=%s\nfiles=%s\n' "$id" "$(now_utc)" "$n" > "$t/manifest"
  kill_point network-staged
  # Killed between these two, the next run finds no set for this transition and saves it again
  # (the step has changed nothing yet, so the files are still the transition's start).
  rm -rf -- "$g/saved"
  mv -T -- "$t" "$g/saved"
  kill_point network-saved
  NET_SAVED="saved $n network file(s) for the dead-man switch"
}

# net_guard_arm ID SECONDS: arm the revert of the apply about to run (fails, having applied
# nothing, when the transition's start was not saved or the timer cannot be armed). A sandbox
# root gets the arm and the revert script but no timer (it has no service manager).
net_guard_arm() {
  local id=$1 secs=$2 g=$STATE_DIR/net-guard saved_id out
  kv_get_into saved_id "$g/saved/manifest" transition
  [ "$saved_id" = "$id" ] ||
    fail 66 "no network files saved at the start of transition $id under $g/saved (the snapshot step saves them): not applying a network change that could not be reverted"
  atomic_write "$g/revert.sh" 0600 "$PVE_NET_REVERT_SCRIPT"
  rm -f -- "$g/fired" "$g/confirmed" "$g/firing"
  if ! is_sandbox; then
    # A timer of an earlier arm stays loaded once elapsed (RemainAfterElapse): unload it first.
    bounded 30 systemctl stop -- "$NET_GUARD_UNIT.timer" "$NET_GUARD_UNIT.service" >/dev/null 2>&1 || true
    bounded 30 systemctl reset-failed -- "$NET_GUARD_UNIT.timer" "$NET_GUARD_UNIT.service" >/dev/null 2>&1 || true
  fi
  atomic_write "$g/armed" 0644 "transition=$id
at=$EPOCHSECONDS
timeout=$secs
"
  is_sandbox && return 0
  # systemd-run(1): --on-active makes a transient .timer beside the transient .service; the
  # command runs as argv (no shell), under RuntimeMaxSec so a hung reload cannot hold it.
  if ! out=$(bounded 30 systemd-run --quiet --collect --unit="$NET_GUARD_UNIT" \
    --description="pve-network-migration: revert the network apply of transition $id unless confirmed" \
    --on-active="${secs}s" --timer-property=AccuracySec=1s --timer-property=RemainAfterElapse=no \
    --property=RuntimeMaxSec=120 -- /bin/bash "$g/revert.sh" --root / --node "$NODE" --transition "$id" 2>&1); then
    rm -f -- "$g/armed"
    fail 70 "cannot arm the network dead-man switch (systemd-run): ${out//$'\n'/ }; nothing applied"
  fi
}

# net_guard_revert_now ID REASON: revert at once (an apply that failed part-way), as the timer would.
net_guard_revert_now() {
  local g=$STATE_DIR/net-guard
  if ! is_sandbox; then bounded 30 systemctl stop -- "$NET_GUARD_UNIT.timer" >/dev/null 2>&1 || true; fi
  NET_REVERTED=$(bounded 150 bash "$g/revert.sh" --root "$ROOT" --node "$NODE" --transition "$1" --reason "$2" 2>&1) || true
}

# net_guard_confirm ID: take the arm of transition ID and stop its timer. NET_CONFIRM: confirmed
# (NET_ARMED_AT, NET_TIMEOUT: when it was armed, its seconds), confirmed-before (an earlier run
# took it), reverted (NET_REVERTED: the revert's own account), or none (nothing of ID armed).
net_guard_confirm() {
  local id=$1 g=$STATE_DIR/net-guard armed_id fired_id
  NET_CONFIRM=none
  NET_REVERTED=""
  kv_get_into armed_id "$g/armed" transition
  kv_get_into NET_ARMED_AT "$g/armed" at
  kv_get_into NET_TIMEOUT "$g/armed" timeout
  if [ "$armed_id" = "$id" ] && mv -T -- "$g/armed" "$g/confirmed" 2>/dev/null; then
    if ! is_sandbox; then bounded 30 systemctl stop -- "$NET_GUARD_UNIT.timer" >/dev/null 2>&1 || true; fi
    NET_CONFIRM=confirmed
    return 0
  fi
  # This step's own command run again after it confirmed (killed before it finished): confirmed,
  # so that the rest of the step (the legacy service's restart) runs.
  kv_get_into armed_id "$g/confirmed" transition
  if [ "$armed_id" = "$id" ]; then
    kv_get_into NET_ARMED_AT "$g/confirmed" at
    kv_get_into NET_TIMEOUT "$g/confirmed" timeout
    NET_CONFIRM=confirmed-before
    return 0
  fi
  # Lost to the revert, or it fired before: wait (bounded) for a revert in progress to finish.
  local i=0
  while [ -f "$g/firing" ] && [ ! -f "$g/fired" ] && [ "$i" -lt 150 ]; do
    sleep 1
    i=$((i + 1))
  done
  kv_get_into fired_id "$g/fired" transition
  if [ "$fired_id" = "$id" ]; then
    NET_CONFIRM=reverted
    kv_get_into NET_REVERTED "$g/fired" detail
    local at
    kv_get_into at "$g/fired" at
    NET_REVERTED="$NET_REVERTED (at $at)"
  fi
}
