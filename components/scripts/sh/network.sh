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
