#!/bin/bash
# The network dead-man switch's revert (components/scripts/sh/network.sh net_guard_arm writes this
# file to /var/lib/pve-network-rs/net-guard/revert.sh and arms a transient systemd timer that
# runs it, so it does not depend on the SSH session that applied the network). Standalone: it
# sources nothing (the step library can be replaced while the timer waits).
#
# It first takes the arm: `armed` is renamed to `firing` (rename(2): of the confirmation's
# rename and this one exactly one succeeds; when the confirmation won, or it has fired already,
# this exits 0 and changes nothing). Then it puts back the network files saved at the start of
# the transition (net-guard/saved: /etc/network/interfaces, /etc/network/interfaces.d/*,
# /etc/network/interfaces.new, /etc/frr/frr.conf, each as it was, absent ones removed), each
# through a temp file renamed over its target, reloads the network (`ifreload -a`, bounded; and
# frr when frr.conf changed), forgets that the interfaces were applied (legacy-applied.sha256,
# so the next apply is not skipped), records `fired` (transition, time, reason, what it did)
# and writes a decision line (step=network-revert result=reverted) to the migration log.
# In a sandbox root (--root other than /) the files are put back and the reloads skipped.
# Usage: revert.sh --root ROOT --node NODE --transition ID [--reason TEXT | --put-back attempted]
set -u
export LC_ALL=C TZ=UTC
umask 022
declare -A A=()
while [ "$#" -gt 0 ]; do
  case "$1" in
    --root | --node | --transition | --reason | --put-back)
      [ "$#" -ge 2 ] || { echo "net-revert: $1 needs a value" >&2; exit 2; }
      A[${1#--}]=$2
      shift 2
      ;;
    *) echo "net-revert: unknown argument $1" >&2; exit 2 ;;
  esac
done
ROOT=${A[root]:-}
NODE=${A[node]:-}
ID=${A[transition]:-}
[[ $ROOT == /* ]] || { echo "net-revert: --root must be an absolute path" >&2; exit 2; }
[[ $ID =~ ^[0-9a-f]{4,64}$ ]] || { echo "net-revert: --transition must be hex" >&2; exit 2; }
[[ $NODE =~ ^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$ ]] || { echo "net-revert: --node is not a node name" >&2; exit 2; }
RP=${ROOT%/}
STATE_DIR=$RP/var/lib/pve-network-rs
G=$STATE_DIR/net-guard
LOG=$RP/var/log/pve-network/migration.log

kv() { # kv FILE KEY
  local line
  [ -f "$1" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    if [ "${line%%=*}" = "$2" ]; then printf '%s' "${line#*=}"; return 0; fi
  done < "$1"
}

# put_back_tree SRC: the managed files as SRC/files holds them (absent ones removed); CHANGED
# lists what changed, FRR=1 when frr.conf did.
CHANGED=()
FRR=0
put_back_tree() {
  local src=$1 p out f D=/etc/network/interfaces.d
  for p in /etc/network/interfaces /etc/network/interfaces.new /etc/frr/frr.conf; do
    out=$(put_back "$src" "$p")
    if [ -n "$out" ]; then
      CHANGED+=("$out")
      [ "$p" != /etc/frr/frr.conf ] || FRR=1
    fi
  done
  # interfaces.d: exactly the saved files (regular files only, as ifupdown2 sources them).
  if [ -d "$RP$D" ]; then
    for f in "$RP$D"/* "$RP$D"/.[!.]*; do
      if [ -f "$f" ] && [ ! -f "$src/files$D/${f##*/}" ]; then rm -f -- "$f" && CHANGED+=("removed:$D/${f##*/}"); fi
    done
  fi
  if [ -d "$src/files$D" ]; then
    for f in "$src/files$D"/* "$src/files$D"/.[!.]*; do
      [ -f "$f" ] || continue
      out=$(put_back "$src" "$D/${f##*/}")
      [ -z "$out" ] || CHANGED+=("$out")
    done
  fi
}

# put_back SRC NODE_PATH: SRC's copy over the live file (temp file + rename), or the live file
# removed when SRC has none. Prints the path when it changed.
put_back() {
  local p=$2 live=$RP$2 saved=$1/files$2 tmp
  if [ -f "$saved" ]; then
    if [ -f "$live" ] && cmp -s -- "$saved" "$live"; then return 0; fi
    mkdir -p -- "${live%/*}"
    tmp="${live%/*}/.${live##*/}.pve-tmp.$$.revert"
    cp -p -- "$saved" "$tmp" && sync -- "$tmp" 2>/dev/null
    mv -f -- "$tmp" "$live" || { rm -f -- "$tmp"; printf 'FAILED:%s\n' "$p"; return 0; }
    printf '%s\n' "$p"
  elif [ -e "$live" ] || [ -L "$live" ]; then
    rm -f -- "$live" && printf 'removed:%s\n' "$p"
  fi
}

# copy_tree DEST: the live managed files into DEST/files (a new folder).
copy_tree() {
  local dest=$1 p f D=/etc/network/interfaces.d
  mkdir -m 0700 -- "$dest" || return 1
  for p in /etc/network/interfaces /etc/network/interfaces.new /etc/frr/frr.conf; do
    if [ -f "$RP$p" ]; then mkdir -p -- "$dest/files${p%/*}" && cp -p -- "$RP$p" "$dest/files$p"; fi
  done
  if [ -d "$RP$D" ]; then
    mkdir -p -- "$dest/files$D"
    for f in "$RP$D"/* "$RP$D"/.[!.]*; do
      if [ -f "$f" ]; then cp -p -- "$f" "$dest/files$D/"; fi
    done
  fi
  printf 'transition=%s\n' "$ID" > "$dest/manifest"
}

# --put-back attempted (legacy-apply, applying again after a revert): the files of the reverted
# apply back in place, nothing else (no arm is taken, nothing reloaded).
if [ -n "${A[put-back]:-}" ]; then
  [ "${A[put-back]}" = attempted ] || { echo "net-revert: --put-back must be attempted" >&2; exit 2; }
  [ "$(kv "$G/attempted/manifest" transition)" = "$ID" ] || { echo "net-revert: no files of a reverted apply of transition $ID" >&2; exit 66; }
  put_back_tree "$G/attempted"
  printf 'put back the files of the reverted apply: %s file(s)%s\n' "${#CHANGED[@]}" "${CHANGED[*]:+: ${CHANGED[*]}}"
  exit 0
fi

# The arm: exactly one of the confirmation and this revert renames it.
mv -T -- "$G/armed" "$G/firing" 2>/dev/null || exit 0

REASON=${A[reason]:-$(kv "$G/firing" reason)}
[ -n "$REASON" ] || REASON="no confirmation within $(kv "$G/firing" timeout) s"
[ "$(kv "$G/firing" transition)" = "$ID" ] || REASON="$REASON (the arm named transition $(kv "$G/firing" transition))"

if [ -f "$G/saved/manifest" ]; then
  # What the apply left, kept for applying again (legacy-apply --put-back attempted); a restore
  # of this transition that runs again (another backup) removes it.
  rm -rf -- "$G/attempted" "$G/.attempted.pve-tmp.$$.revert"
  copy_tree "$G/.attempted.pve-tmp.$$.revert" && mv -T -- "$G/.attempted.pve-tmp.$$.revert" "$G/attempted"
  put_back_tree "$G/saved"
  WHAT="restored ${#CHANGED[@]} file(s)${CHANGED[*]:+: ${CHANGED[*]}}"
else
  WHAT="no saved network files under $G/saved: nothing restored"
fi

if [ "$ROOT" = / ]; then
  if OUT=$(timeout -k 5 60 ifreload -a 2>&1); then
    RELOAD="ifreload -a: ok"
  else
    RELOAD="ifreload -a failed (exit $?): ${OUT//$'\n'/ }"
  fi
  if [ "$FRR" = 1 ]; then
    if timeout -k 5 60 systemctl try-reload-or-restart frr.service >/dev/null 2>&1; then RELOAD="$RELOAD; frr reloaded"; else RELOAD="$RELOAD; frr reload failed"; fi
  fi
else
  RELOAD="ifreload -a skipped: sandbox"
fi
rm -f -- "$STATE_DIR/legacy-applied.sha256"

printf -v NOW '%(%Y-%m-%dT%H:%M:%SZ)T' -1
DETAIL="the dead-man switch reverted the network apply of transition $ID: $REASON; $WHAT; $RELOAD"
tmp="$G/.fired.pve-tmp.$$.revert"
printf 'transition=%s\nat=%s\nreason=%s\ndetail=%s\n' "$ID" "$NOW" "$REASON" "${DETAIL//$'\n'/ }" > "$tmp" && mv -f -- "$tmp" "$G/fired"
rm -f -- "$G/firing"
FROM=$(kv "$STATE_DIR/transition" from)
TO=$(kv "$STATE_DIR/transition" to)
mkdir -p -- "${LOG%/*}"
printf '%s node=%s from=%s to=%s step=network-revert result=reverted detail=%s\n' "$NOW" "$NODE" "${FROM:--}" "${TO:--}" "${DETAIL//[^[:print:]]/?}" >> "$LOG"
printf '%s\n' "$DETAIL"
