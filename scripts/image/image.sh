#!/bin/sh
# image.sh - `deno task image`: the node image where the hub serves it, with the agent in it.
#
#   scripts/image/image.sh --out DIR [--arch amd64|arm64] [--cache DIR]
#                          [--hub URL (--key-from-overlay | --key-file FILE) [--gpio-backend B]
#                           [--deno-binary PATH]]
#
# 1. builds the base image with build.sh, or reuses the cached one (cached by content);
# 2. puts it at DIR/pxe/boot and DIR/pxe/root (hard links to the cache when on the same file
#    system, else a copy; an earlier DIR/pxe/root is replaced, files in DIR/pxe/boot that the
#    image does not have, e.g. the hub's cmdline.txt and boot.ipxe, are kept);
# 3. with --key-from-overlay (or --key-file): installs the node agent into DIR/pxe/root with
#    scripts/agent/install-agent.sh, the installer users run (for amd64 the host's deno is the
#    node's deno unless --deno-binary says otherwise; for arm64 install-agent.sh fetches it).
#    --key-from-overlay puts no key into the shared root: each node's own key comes from its
#    overlay (netboot `overlays: true`). --key-file puts one key there for every node: only the
#    old shared key can work that way (docs/security.md).
# On a real hub: sudo deno task image --arch arm64 --out / --hub http://10.42.0.250:4242 \
#   --key-from-overlay
# The Pi Zero W's SD card: `deno task image -- --board zerow --out CARD.img --key-file FILE`
# (scripts/image/zerow.sh; docs/agent.md, "The Zero W card").
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
for a in "$@"; do
  [ "$a" = --board ] && exec sh "$HERE/zerow.sh" "$@"
done
PROJ=$(cd "$HERE/../.." && pwd)
OUT=""
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
CACHE="" # build.sh's default: the machine-wide cache (scripts/lib/cache-dir.sh)
HUB=""
KEY_FILE=""
FROM_OVERLAY=0
BACKEND=""
DENO_BIN=""
die() { echo "image: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  [ "$1" = -- ] && { shift; continue; } # `deno task image -- ARGS`
  [ "$1" = --key-from-overlay ] && { FROM_OVERLAY=1; shift; continue; }
  [ $# -ge 2 ] || die "$1 needs a value"
  case "$1" in
  --out) OUT=$2 ;;
  --arch) ARCH=$2 ;;
  --cache) CACHE=$2 ;;
  --hub) HUB=$2 ;;
  --key-file) KEY_FILE=$2 ;;
  --gpio-backend) BACKEND=$2 ;;
  --deno-binary) DENO_BIN=$2 ;;
  *) die "unknown option $1" ;;
  esac
  shift 2
done
[ -n "$OUT" ] || die "give --out DIR (the image goes to DIR/pxe/boot and DIR/pxe/root; / on a hub)"
if [ -n "$CACHE" ]; then
  BASE=$(sh "$HERE/build.sh" --arch "$ARCH" --cache "$CACHE")
else
  BASE=$(sh "$HERE/build.sh" --arch "$ARCH")
fi

mkdir -p "$OUT/pxe/boot"
rm -rf "$OUT/pxe/root"
if ! cp -al "$BASE/pxe/root" "$OUT/pxe/root" 2>/dev/null; then
  rm -rf "$OUT/pxe/root"
  cp -a "$BASE/pxe/root" "$OUT/pxe/root"
fi
# boot files: copies (small), so the hub's per-node dirs can link to them
cp -a "$BASE/pxe/boot/." "$OUT/pxe/boot/"
# Pis: the bay LED overlay for Debian's kernel, which ships no Raspberry Pi overlays (the hub's
# config.txt says dtoverlay=gpio-led,gpio=21,label=bay; docs/agent.md)
if [ "$ARCH" = arm64 ]; then
  command -v dtc >/dev/null || die "dtc missing: apt-get install device-tree-compiler"
  mkdir -p "$OUT/pxe/boot/overlays"
  dtc -q -@ -W no-label_is_string -W no-gpios_property -I dts -O dtb \
    -o "$OUT/pxe/boot/overlays/gpio-led.dtbo" "$HERE/gpio-led-overlay.dts"
fi

if [ -n "$KEY_FILE" ] || [ "$FROM_OVERLAY" = 1 ]; then
  if [ "$FROM_OVERLAY" = 1 ]; then
    [ -z "$KEY_FILE" ] || die "give --key-from-overlay or --key-file, not both"
    set -- --root "$OUT/pxe/root" --key-from-overlay
  else
    set -- --root "$OUT/pxe/root" --key-file "$KEY_FILE"
  fi
  [ -n "$HUB" ] && set -- "$@" --hub "$HUB"
  [ -n "$BACKEND" ] && set -- "$@" --gpio-backend "$BACKEND"
  if [ -z "$DENO_BIN" ] && [ "$ARCH" = "$(dpkg --print-architecture 2>/dev/null)" ]; then
    DENO_BIN=$(command -v deno || true)
  fi
  [ -n "$DENO_BIN" ] && set -- "$@" --deno-binary "$DENO_BIN"
  sh "$PROJ/scripts/agent/install-agent.sh" "$@" >&2
fi
echo "$OUT/pxe"
