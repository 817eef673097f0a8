#!/bin/sh
# pi-boot-files.sh - puts the Raspberry Pi boot files of an arm64 root into a TFTP root:
#
#   scripts/image/pi-boot-files.sh ROOT BOOT
#
# From ROOT (an installed or unpacked Debian arm64 tree): raspi-firmware's bootcode.bin,
# start*.elf and fixup*.dat (what the Pi 3 ROM and bootcode.bin fetch), the kernel package's
# Broadcom device trees (mainline names: config.txt sets upstream_kernel=1), and its overlays when it has any. config.txt and cmdline.txt are
# the hub's (netboot settings "configTxt": true). Used by build.sh --arch arm64 and by the Pi
# ROM replay test.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 ROOT BOOT" >&2; exit 2; }
ROOT=$1 B=$2
FW=$ROOT/usr/lib/raspi-firmware
mkdir -p "$B"
cp "$FW"/bootcode.bin "$FW"/start*.elf "$FW"/fixup*.dat "$B/"
# bcm*.dtb, as Debian's raspi-firmware hook copies them: the Pi 3 trees are bcm2837-*.dtb
# (mainline names), which bcm27*.dtb missed (the Pi ROM replay found the 3B+ without one)
cp "$ROOT"/usr/lib/linux-image-*/broadcom/bcm*.dtb "$B/"
mkdir -p "$B/overlays"
cp -r "$ROOT"/usr/lib/linux-image-*/overlays/. "$B/overlays/" 2>/dev/null || true
