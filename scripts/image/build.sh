#!/bin/sh
# build.sh - builds the node image ("clyde") with mmdebstrap from Debian packages and lays it
# out the way the hub serves it: OUT/pxe/boot (TFTP root) and OUT/pxe/root (NFS root).
#
#   scripts/image/build.sh [--arch amd64|arm64] [--suite bookworm] [--cache DIR] [--print-dir]
#
# Prints the output directory (--print-dir: only that, building nothing). The result is cached by content: OUT is
# CACHE/<arch>-<sha256 of every input> (this script, the overlay unit, arch, suite), and an
# OUT that finished (OUT/.ready) is reused without building. Needs root and mmdebstrap.
#   amd64 (host): virtual nodes under QEMU; boots vmlinuz + initrd.img via iPXE (boot.ipxe).
#   arm64: real Pis; raspi-firmware (bootcode.bin, start*.elf, fixup*.dat), linux-image-arm64
#          with its Broadcom DTBs; the hub renders config.txt (configTxt) and cmdline.txt;
#          needs binfmt + qemu-user (docs/netboot.md).
# In both: read-only root (tmpfs /tmp, /var/tmp, /var/log; state directories systemd would
# create at boot, e.g. logind's /var/lib/systemd/linger, made here), the per-node overlay unit
# (cm-overlay), the gpio group, initramfs for an NFS root (BOOT=nfs). The agent is not part of
# the cached image: install it with scripts/agent/install-agent.sh --root OUT/pxe/root
# (`deno task image -- --hub URL --key-file FILE` does both).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PROJ=$(cd "$HERE/../.." && pwd)
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
SUITE=bookworm
CACHE=$PROJ/.cache/image
PRINT_DIR=0
die() { echo "image: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  [ "$1" = --print-dir ] && { PRINT_DIR=1; shift; continue; }
  [ $# -ge 2 ] || die "$1 needs a value"
  case "$1" in
  --arch) ARCH=$2 ;;
  --suite) SUITE=$2 ;;
  --cache) CACHE=$2 ;;
  *) die "unknown option $1" ;;
  esac
  shift 2
done
case "$ARCH" in amd64 | arm64) ;; *) die "--arch must be amd64 or arm64" ;; esac

HASH=$( (cat "$HERE/build.sh" "$HERE/pi-boot-files.sh" "$HERE/cm-overlay.sh" "$HERE/cm-overlay.service"; echo "$ARCH $SUITE") |
  sha256sum | cut -c1-16)
OUT=$CACHE/$ARCH-$HASH
if [ "$PRINT_DIR" = 1 ] || [ -e "$OUT/.ready" ]; then echo "$OUT"; exit 0; fi
[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap builds a root file system with real owners)"
command -v mmdebstrap >/dev/null || die "mmdebstrap missing: apt-get install mmdebstrap"
echo "image: building $ARCH ($SUITE) into $OUT" >&2
rm -rf "$OUT"
mkdir -p "$OUT/pxe/boot"
ROOT=$OUT/pxe/root
T0=$(date +%s)

case "$ARCH" in
amd64)
  KERNEL=linux-image-amd64
  EXTRA=""
  COMPONENTS=main
  ;;
arm64)
  KERNEL=linux-image-arm64
  EXTRA=",raspi-firmware"
  COMPONENTS="main non-free-firmware"
  if [ "$(dpkg --print-architecture 2>/dev/null)" != arm64 ]; then
    command -v arch-test >/dev/null && arch-test arm64 >/dev/null ||
      die "this host cannot run arm64 binaries: set up binfmt and qemu-user (docs/netboot.md)"
  fi
  ;;
esac

# The initramfs mounts an NFS root (BOOT=nfs) with the network drivers (MODULES=netboot);
# virtio for QEMU guests. Written before the kernel package, so its first initramfs is right.
mmdebstrap --variant=minbase --arch="$ARCH" --components="$COMPONENTS" \
  --include="systemd,systemd-sysv,udev,libnss-systemd,dbus,initramfs-tools,$KERNEL,busybox,iproute2,netbase,nfs-common$EXTRA" \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" &&
    printf "BOOT=nfs\nMODULES=netboot\nCOMPRESS=zstd\n" >"$1/etc/initramfs-tools/conf.d/netboot" &&
    printf "virtio_pci\nvirtio_net\n" >>"$1/etc/initramfs-tools/modules"' \
  --customize-hook='printf "tmpfs /tmp tmpfs defaults,mode=1777 0 0\ntmpfs /var/tmp tmpfs defaults,mode=1777 0 0\ntmpfs /var/log tmpfs defaults,mode=0755 0 0\n" >"$1/etc/fstab"' \
  --customize-hook='echo clyde >"$1/etc/hostname"; : >"$1/etc/machine-id"; chroot "$1" passwd -d root' \
  --customize-hook='chroot "$1" groupadd -r gpio' \
  --customize-hook='mkdir -p "$1/var/lib/systemd/linger"' \
  --customize-hook="install -m 0755 '$HERE/cm-overlay.sh' \"\$1/usr/local/sbin/cm-overlay\"" \
  --customize-hook="install -m 0644 '$HERE/cm-overlay.service' \"\$1/etc/systemd/system/cm-overlay.service\"" \
  --customize-hook='mkdir -p "$1/cm/state" && chroot "$1" systemctl enable cm-overlay.service' \
  --customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer systemd-timesyncd.service rpcbind.service rpcbind.socket nfs-client.target 2>/dev/null || true' \
  "$SUITE" "$ROOT" >"$OUT.log" 2>&1 || { tail -20 "$OUT.log" >&2; die "mmdebstrap failed (log: $OUT.log)"; }

# Boot files: what the TFTP root serves.
B=$OUT/pxe/boot
cp "$(ls "$ROOT"/boot/vmlinuz-* | head -n 1)" "$B/vmlinuz"
cp "$(ls "$ROOT"/boot/initrd.img-* | head -n 1)" "$B/initrd.img"
if [ "$ARCH" = arm64 ]; then
  sh "$HERE/pi-boot-files.sh" "$ROOT" "$B"
  # config.txt and cmdline.txt are rendered by the hub (netboot settings "configTxt": true).
fi
echo "$ARCH $SUITE built $(date -u +%FT%TZ) in $(($(date +%s) - T0)) s" >"$OUT/.ready"
echo "image: done in $(($(date +%s) - T0)) s: $(du -sh "$OUT" | cut -f1)" >&2
echo "$OUT"
