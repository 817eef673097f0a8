#!/bin/sh
# Sets up, once and idempotently, what the Pi lab (scripts/pi-lab/, tests/pi/) and the arm64
# node image (scripts/image/build.sh --arch arm64) need on an amd64 host:
# - QEMU for the boards (qemu-system-arm: raspi3b with qemu-system-aarch64, raspi0), cpio, kmod
#   (depmod for the host-built initramfs), klibc-utils is fetched per arch by prepare.sh;
# - the foreign architectures in dpkg (arm64, armel), so `apt-get download PKG:arm64` works;
# - device-tree-compiler, dosfstools, mtools, fdisk, e2fsprogs for the Zero W card image;
# - qemu-user-static + binfmt-support + arch-test, binfmt_misc mounted and the qemu-aarch64 /
#   qemu-arm handlers enabled (binfmt_misc is not mounted on these CI machines), so mmdebstrap
#   can run an arm64 root's maintainer scripts.
# Prints nothing when all is there. Needs root and apt; without them, says what is missing.
set -u
say() { echo "pi-lab deps: $*" >&2; }
missing=""
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
have qemu-system-aarch64 || missing="$missing qemu-system-arm"
have cpio || missing="$missing cpio"
have depmod || missing="$missing kmod"
have qemu-aarch64-static || missing="$missing qemu-user-static"
have update-binfmts || missing="$missing binfmt-support"
have arch-test || missing="$missing arch-test"
have mmdebstrap || missing="$missing mmdebstrap"
have zstd || missing="$missing zstd"
# the Zero W card (scripts/image/zerow.sh) and the lab's firmware part (scripts/pi-lab/card.ts)
have dtc || missing="$missing device-tree-compiler"
have mkfs.vfat || missing="$missing dosfstools"
have mcopy || missing="$missing mtools"
have sfdisk || missing="$missing fdisk"
have mkfs.ext4 || missing="$missing e2fsprogs"
if [ "$(id -u)" != 0 ] || ! have apt-get; then
  [ -n "$missing" ] && say "missing:$missing (install them as root with apt-get)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
foreign=$(dpkg --print-foreign-architectures)
added=0
for a in arm64 armel; do
  echo "$foreign" | grep -qx "$a" || { dpkg --add-architecture "$a"; added=1; }
done
if [ "$added" = 1 ] || [ -n "$missing" ]; then
  apt-get update -qq -o DPkg::Lock::Timeout=300 >/dev/null 2>&1 || say "apt-get update failed"
fi
if [ -n "$missing" ]; then
  say "installing$missing"
  # shellcheck disable=SC2086
  apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends $missing >/dev/null ||
    say "apt-get install$missing failed"
fi
# binfmt: mounted and enabled (no-ops when they already are)
[ -e /proc/sys/fs/binfmt_misc/status ] ||
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || say "cannot mount binfmt_misc"
for h in qemu-aarch64 qemu-arm; do
  [ -e "/proc/sys/fs/binfmt_misc/$h" ] || update-binfmts --enable "$h" >/dev/null 2>&1 ||
    say "cannot enable the $h binfmt handler"
done
exit 0
