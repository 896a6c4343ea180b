# package: install the pinned pve-network-rs .deb (upgrade or downgrade), checking its
# sha256 first; leaves the Rust daemon's enablement (and, on a real node, its state) as it was.
# Before dpkg runs, package.pending in the state folder records that state: a run killed after
# dpkg and before putting it back is finished by the next run (which would otherwise see the
# version installed and stop).
# Options: --version --sha256 --deb-path FILE | --url URL --rust-service NAME
require_opts version sha256 rust-service
VERSION=${OPT[version]}
SHA=${OPT[sha256]}
RUST=${OPT[rust-service]}
[[ $VERSION =~ $PVE_DEB_VERSION_ERE ]] || usage "--version is not a Debian version"
[ "${#VERSION}" -le "$PVE_MAX_VERSION_LENGTH" ] || usage "--version is longer than $PVE_MAX_VERSION_LENGTH characters"
[[ $SHA =~ ^[0-9a-f]{64}$ ]] || usage "--sha256 must be 64 hex digits"
check_unit_name "$RUST"
TEMP_DIRS=(/var/cache/pve-network-rs)
init_step

ADMIN=${RP}/var/lib/dpkg
PENDING="$STATE_DIR/package.pending"
CURRENT=$(dpkg-query --admindir="$ADMIN" -W -f='${db:Status-Abbrev}${Version}' pve-network-rs 2>/dev/null || true)
if [ "$CURRENT" = "ii $VERSION" ] && ! [ -f "$PENDING" ]; then
  done_step unchanged "pve-network-rs $VERSION already installed"
fi

CACHE=${RP}/var/cache/pve-network-rs
mkdir -p -- "$CACHE"
DEB="$CACHE/pve-network-rs_${VERSION}_amd64.deb"
if [ "$CURRENT" != "ii $VERSION" ] && { ! [ -f "$DEB" ] || [ "$(sha256_file "$DEB")" != "$SHA" ]; }; then
  pve_new_temp TMP "$CACHE" .download
  if [ -n "${OPT[deb-path]+set}" ]; then
    check_abs_path "${OPT[deb-path]}"
    cp -- "${OPT[deb-path]}" "$TMP" || { rm -f -- "$TMP"; fail 66 "cannot read ${OPT[deb-path]}"; }
  elif [ -n "${OPT[url]+set}" ]; then
    [[ ${OPT[url]} == https://* ]] || usage "--url must be https"
    curl -fsSL --proto '=https' --max-time 300 -o "$TMP" "${OPT[url]}" || { rm -f -- "$TMP"; fail 69 "download failed: ${OPT[url]}"; }
  else
    usage "one of --deb-path or --url is required"
  fi
  kill_point downloaded
  GOT=$(sha256_file "$TMP")
  if [ "$GOT" != "$SHA" ]; then
    rm -f -- "$TMP"
    fail 65 "sha256 mismatch for pve-network-rs $VERSION: expected $SHA, got $GOT; not installed"
  fi
  mv -f -- "$TMP" "$DEB"
  kill_point cached
fi

if [ -f "$PENDING" ]; then
  # An interrupted run recorded the daemon's state before its dpkg.
  WAS_ENABLED=$(state_field package.pending was_enabled)
  WAS_ACTIVE=$(state_field package.pending was_active)
  PREV=$(state_field package.pending was)
  [[ $WAS_ENABLED =~ ^[01]$ && $WAS_ACTIVE =~ ^[01]$ ]] || fail 65 "$PENDING is damaged: remove it and check the state of $RUST"
  RESUMED=" (finishing an interrupted install)"
else
  WAS_ENABLED=0
  unit_is_enabled "$RUST" && WAS_ENABLED=1
  WAS_ACTIVE=0
  unit_is_active "$RUST" && WAS_ACTIVE=1
  PREV=${CURRENT:-none}
  PREV=${PREV#ii }
  RESUMED=""
  atomic_write "$PENDING" 0644 "was_enabled=$WAS_ENABLED
was_active=$WAS_ACTIVE
was=${PREV//[^[:print:]]/?}
"
fi
if [ "$CURRENT" != "ii $VERSION" ]; then
  if is_sandbox; then
    # Everything dpkg writes stays in the root: its database (--admindir) and its log (--log,
    # else it appends to the host's /var/log/dpkg.log).
    mkdir -p -- "${RP}/var/log"
    bounded 300 dpkg --root="$ROOT" --admindir="$ADMIN" --log="${RP}/var/log/dpkg.log" \
      --force-not-root --force-script-chrootless -i "$DEB" >/dev/null
  else
    DEBIAN_FRONTEND=noninteractive bounded 300 dpkg -i "$DEB" >/dev/null
  fi
  kill_point installed
  NOW=$(dpkg-query --admindir="$ADMIN" -W -f='${db:Status-Abbrev}${Version}' pve-network-rs 2>/dev/null || true)
  [ "$NOW" = "ii $VERSION" ] || fail 70 "dpkg reports '$NOW' after installing $VERSION"
fi

if [ "$WAS_ENABLED" = 0 ] && unit_is_enabled "$RUST"; then
  if is_sandbox; then
    systemctl --root="$ROOT" disable --quiet -- "$RUST"
  else
    bounded 120 systemctl disable --quiet -- "$RUST"
  fi
fi
if ! is_sandbox && [ "$WAS_ACTIVE" = 0 ] && unit_is_active "$RUST"; then
  bounded 120 systemctl stop -- "$RUST"
fi
rm -f -- "$PENDING"
done_step changed "installed pve-network-rs $VERSION (was ${PREV})$RESUMED"
