#!/bin/sh
# fetch-pi-packages.sh - downloads Debian packages for the Raspberry Pi (arm64 or all) with apt
# and unpacks them into one root tree, without installing anything on this machine:
#
#   scripts/netboot/fetch-pi-packages.sh CACHE PACKAGE...
#
# Prints CACHE/root. apt runs with its own sources list and state under CACHE (Debian
# bookworm, main and non-free-firmware: raspi-firmware lives in non-free-firmware, which the
# host's sources may lack), so the host's apt configuration is neither needed nor changed. A
# package already unpacked (CACHE/<name>.unpacked) is not fetched again. Used by the Pi ROM
# replay test (tests/netboot/pi_rom_replay.test.ts) for the real raspi-firmware files and the
# arm64 kernel. The name linux-image-arm64 stands for the kernel package it depends on.
set -eu
[ $# -ge 2 ] || { echo "usage: $0 CACHE PACKAGE..." >&2; exit 2; }
CACHE=$1
shift
mkdir -p "$CACHE/lists/partial" "$CACHE/archives/partial" "$CACHE/root"
CACHE=$(cd "$CACHE" && pwd)
SOURCES=$CACHE/sources.list
printf "%s\n" "deb http://deb.debian.org/debian bookworm main non-free-firmware" \
  "deb http://deb.debian.org/debian-security bookworm-security main" >"$SOURCES"
APT="-o Dir::Etc::SourceList=$SOURCES -o Dir::Etc::SourceParts=/nonexistent
  -o Dir::State::Lists=$CACHE/lists -o Dir::Cache::Archives=$CACHE/archives
  -o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Debug::NoLocking=1
  -o APT::Sandbox::User=root"
updated=0
for pkg in "$@"; do
  [ -e "$CACHE/$pkg.unpacked" ] && continue
  if [ "$updated" = 0 ]; then
    # shellcheck disable=SC2086
    apt-get $APT -qq update >&2 || { echo "fetch-pi-packages: apt-get update failed" >&2; exit 1; }
    updated=1
  fi
  name=$pkg
  if [ "$pkg" = linux-image-arm64 ]; then
    # shellcheck disable=SC2086
    name=$(apt-cache $APT depends "$pkg" | sed -n 's/.*Depends: \(linux-image-[0-9][^ ]*\).*/\1/p' | head -n 1)
    [ -n "$name" ] || { echo "fetch-pi-packages: no kernel behind $pkg" >&2; exit 1; }
  fi
  # shellcheck disable=SC2086
  (cd "$CACHE/archives" && apt-get $APT -qq download "$name" >&2) ||
    { echo "fetch-pi-packages: cannot download $pkg" >&2; exit 1; }
  deb=$(ls -t "$CACHE/archives/${name}"_*.deb | head -n 1)
  dpkg-deb -x "$deb" "$CACHE/root"
  echo "$deb" >"$CACHE/$pkg.unpacked"
done
echo "$CACHE/root"
