# package: install the pinned pve-network-rs .deb (upgrade or downgrade), checking its
# sha256 first; leaves the Rust daemon's enablement (and, on a real node, its state) as it was.
# Options: --version --sha256 --deb-path FILE | --url URL --rust-service NAME
require_opts version sha256 rust-service
VERSION=${OPT[version]}
SHA=${OPT[sha256]}
RUST=${OPT[rust-service]}
[[ $VERSION =~ $PVE_DEB_VERSION_ERE ]] || usage "--version is not a Debian version"
[ "${#VERSION}" -le "$PVE_MAX_VERSION_LENGTH" ] || usage "--version is longer than $PVE_MAX_VERSION_LENGTH characters"
[[ $SHA =~ ^[0-9a-f]{64}$ ]] || usage "--sha256 must be 64 hex digits"
check_unit_name "$RUST"
init_step

ADMIN=$(R /var/lib/dpkg)
CURRENT=$(dpkg-query --admindir="$ADMIN" -W -f='${db:Status-Abbrev}${Version}' pve-network-rs 2>/dev/null || true)
if [ "$CURRENT" = "ii $VERSION" ]; then
  done_step unchanged "pve-network-rs $VERSION already installed"
fi

CACHE=$(R /var/cache/pve-network-rs)
mkdir -p -- "$CACHE"
DEB="$CACHE/pve-network-rs_${VERSION}_amd64.deb"
if ! [ -f "$DEB" ] || [ "$(sha256_file "$DEB")" != "$SHA" ]; then
  TMP=$(mktemp -- "$CACHE/.download.XXXXXX")
  if [ -n "${OPT[deb-path]+set}" ]; then
    check_abs_path "${OPT[deb-path]}"
    cp -- "${OPT[deb-path]}" "$TMP" || { rm -f -- "$TMP"; fail 66 "cannot read ${OPT[deb-path]}"; }
  elif [ -n "${OPT[url]+set}" ]; then
    [[ ${OPT[url]} == https://* ]] || usage "--url must be https"
    curl -fsSL --proto '=https' --max-time 300 -o "$TMP" "${OPT[url]}" || { rm -f -- "$TMP"; fail 69 "download failed: ${OPT[url]}"; }
  else
    usage "one of --deb-path or --url is required"
  fi
  GOT=$(sha256_file "$TMP")
  if [ "$GOT" != "$SHA" ]; then
    rm -f -- "$TMP"
    fail 65 "sha256 mismatch for pve-network-rs $VERSION: expected $SHA, got $GOT; not installed"
  fi
  mv -f -- "$TMP" "$DEB"
fi

WAS_ENABLED=0
unit_is_enabled "$RUST" && WAS_ENABLED=1
WAS_ACTIVE=0
unit_is_active "$RUST" && WAS_ACTIVE=1
if is_sandbox; then
  bounded 300 dpkg --root="$ROOT" --force-not-root --force-script-chrootless -i "$DEB" >/dev/null
else
  DEBIAN_FRONTEND=noninteractive bounded 300 dpkg -i "$DEB" >/dev/null
fi
NOW=$(dpkg-query --admindir="$ADMIN" -W -f='${db:Status-Abbrev}${Version}' pve-network-rs 2>/dev/null || true)
[ "$NOW" = "ii $VERSION" ] || fail 70 "dpkg reports '$NOW' after installing $VERSION"

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
PREV=${CURRENT:-none}
done_step changed "installed pve-network-rs $VERSION (was ${PREV#ii })"
