#!/bin/sh
# bay-led-dtb.sh - a board's device tree with the bay LED node built in: what
# `dtoverlay=gpio-led,gpio=21,label=bay[,active_low=1]` (gpio-led-overlay.dts) adds, for device
# trees the firmware cannot apply an overlay to. Debian's arm64 device trees (e.g.
# broadcom/bcm2837-rpi-3-b-plus.dtb) carry no __symbols__, so an overlay's `&gpio` has nothing
# to resolve against (fdtoverlay: FDT_ERR_NOTFOUND); here the node is added with the GPIO
# controller's phandle read from the tree itself (fdtget/fdtput, device-tree-compiler).
#
#   scripts/image/bay-led-dtb.sh IN.dtb OUT.dtb [GPIO] [ACTIVE_LOW]     (defaults 21 0)
set -eu
IN=${1:?IN.dtb}; OUT=${2:?OUT.dtb}; GPIO=${3:-21}; LOW=${4:-0}
die() { echo "bay-led-dtb: $*" >&2; exit 2; }
for c in fdtget fdtput; do command -v $c >/dev/null || die "$c missing (apt-get install device-tree-compiler)"; done
# the SoC's GPIO controller: the node under /soc compatible with brcm,bcm2835-gpio (or 2711's)
CTRL=""
for n in $(fdtget -l "$IN" /soc); do
  case "$(fdtget "$IN" "/soc/$n" compatible 2>/dev/null)" in
  *brcm,bcm2835-gpio* | *brcm,bcm2711-gpio* | *brcm,bcm7211-gpio*) CTRL=/soc/$n && break ;;
  esac
done
[ -n "$CTRL" ] || die "no Raspberry Pi GPIO controller under /soc in $IN"
PH=$(fdtget "$IN" "$CTRL" phandle 2>/dev/null) || die "$CTRL has no phandle in $IN"
cp "$IN" "$OUT.tmp"
fdtput -c "$OUT.tmp" /cm-bay-leds /cm-bay-leds/led-bay
fdtput -t s "$OUT.tmp" /cm-bay-leds compatible gpio-leds
fdtput -t s "$OUT.tmp" /cm-bay-leds/led-bay label bay
fdtput -t u "$OUT.tmp" /cm-bay-leds/led-bay gpios "$PH" "$GPIO" "$LOW"
fdtput -t s "$OUT.tmp" /cm-bay-leds/led-bay default-state off
fdtput -t s "$OUT.tmp" /cm-bay-leds/led-bay linux,default-trigger none
mv "$OUT.tmp" "$OUT"
