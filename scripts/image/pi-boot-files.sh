#!/bin/sh
# pi-boot-files.sh - puts the Raspberry Pi boot files of an arm64 root into a TFTP root: the one
# place they are laid out (build.sh --arch arm64, through pi-boot.sh, and the Pi ROM replay test):
#
#   scripts/image/pi-boot-files.sh ROOT BOOT [FIRMWARE]
#
# - from FIRMWARE (a tree holding raspi-firmware's usr/lib/raspi-firmware; default ROOT):
#   bootcode.bin, start*.elf and fixup*.dat, what the Pi 3 ROM and bootcode.bin fetch;
# - from ROOT (an installed or unpacked Debian arm64 tree): the kernel package's Broadcom device
#   trees (bcm*.dtb, mainline names: config.txt sets upstream_kernel=1), with the bay LED node
#   (GPIO 21, lit high) built into the trees of the boards that sit in LAN bays: the 3B
#   (bcm2837-rpi-3-b), 3B+ (bcm2837-rpi-3-b-plus) and 4 (bcm2711-rpi-4-b). Debian's arm64 trees
#   carry no __symbols__, so the firmware cannot apply the `dtoverlay=gpio-led,…` line the hub's
#   config.txt names (bay-led-dtb.sh); with the node in the tree, the kernel makes
#   /sys/class/leds/bay and the agent takes its kernel LED engine (docs/agent.md);
# - the kernel package's overlays, when it has any (Debian's has none).
# config.txt and cmdline.txt are the hub's (netboot settings "configTxt": true). Needs fdtget and
# fdtput (device-tree-compiler).
set -eu
[ $# -ge 2 ] && [ $# -le 3 ] || { echo "usage: $0 ROOT BOOT [FIRMWARE]" >&2; exit 2; }
ROOT=$1 B=$2 FWROOT=${3:-$1}
HERE=$(cd "$(dirname "$0")" && pwd)
FW=$FWROOT/usr/lib/raspi-firmware
[ -f "$FW/bootcode.bin" ] || { echo "pi-boot-files: no raspi-firmware in $FWROOT" >&2; exit 2; }
mkdir -p "$B"
cp "$FW"/bootcode.bin "$FW"/start*.elf "$FW"/fixup*.dat "$B/"
# bcm*.dtb, as Debian's raspi-firmware hook copies them: the Pi 3 trees are bcm2837-*.dtb
# (mainline names), which bcm27*.dtb missed (the Pi ROM replay found the 3B+ without one)
rm -f "$B"/bcm*.dtb
cp "$ROOT"/usr/lib/linux-image-*/broadcom/bcm*.dtb "$B/"
for board in bcm2837-rpi-3-b bcm2837-rpi-3-b-plus bcm2711-rpi-4-b; do
  [ -f "$B/$board.dtb" ] || continue
  sh "$HERE/bay-led-dtb.sh" "$B/$board.dtb" "$B/$board.dtb" 21 0
done
chmod 0644 "$B"/*.bin "$B"/*.elf "$B"/*.dat "$B"/*.dtb
mkdir -p "$B/overlays"
cp -r "$ROOT"/usr/lib/linux-image-*/overlays/. "$B/overlays/" 2>/dev/null || true
