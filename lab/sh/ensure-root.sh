#!/bin/bash
# Build (once per cache key) the node lab's Debian root: debootstrap into BASE, then a copy of
# BASE provisioned by PROVISION into ROOT. Each is built in a temp folder and renamed when
# complete, under a lock, so an interrupted build never leaves a half root that is reused.
# Usage: ensure-root.sh SUITE MIRROR PACKAGES(comma-separated) BASE PROVISION ROOT
set -euo pipefail
[ "$#" -eq 6 ] || { echo "usage: ensure-root.sh SUITE MIRROR PACKAGES BASE PROVISION ROOT" >&2; exit 2; }
suite=$1 mirror=$2 packages=$3 base=$4 provision=$5 root=$6
export PATH="$PATH:/usr/sbin:/sbin"
command -v debootstrap >/dev/null || { echo "debootstrap is missing: install debootstrap" >&2; exit 3; }
[ -d "$root" ] && exit 0
cache=$(dirname "$root")
mkdir -p "$cache"
exec 9>"$cache/.build.lock"
flock -w 1800 9 || { echo "timed out after 1800 s waiting for $cache/.build.lock" >&2; exit 4; }
[ -d "$root" ] && exit 0
tmp=""
trap 'if [ -n "$tmp" ]; then rm -rf -- "$tmp" "$tmp.log"; fi' EXIT
if [ ! -d "$base" ]; then
  tmp="$base.tmp.$$"
  rm -rf -- "$tmp"
  start=$(date +%s)
  timeout 1500 debootstrap --variant=minbase --include="$packages" "$suite" "$tmp" "$mirror" >"$tmp.log" 2>&1 || {
    echo "debootstrap $suite from $mirror failed; the last lines of its log:" >&2; tail -n 20 "$tmp.log" >&2; exit 5; }
  rm -rf -- "$tmp/var/cache/apt/archives/"*.deb
  echo "debootstrap $suite: $(( $(date +%s) - start )) s" > "$tmp/.pve-lab-build-time"
  mv -T -- "$tmp" "$base"
  rm -f -- "$tmp.log"
  tmp=""
fi
tmp="$root.tmp.$$"
rm -rf -- "$tmp"
cp -a -- "$base" "$tmp"
chroot "$tmp" /bin/bash -s < "$provision" >"$tmp.log" 2>&1 || {
  echo "provisioning $tmp failed; the last lines of its log:" >&2; tail -n 20 "$tmp.log" >&2; exit 6; }
mv -T -- "$tmp" "$root"
rm -f -- "$tmp.log"
tmp=""
