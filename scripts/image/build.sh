#!/bin/sh
# build.sh - builds the node image ("clyde") with mmdebstrap from Debian packages and lays it
# out the way the hub serves it: OUT/pxe/boot (TFTP root) and OUT/pxe/root (NFS root).
#
#   scripts/image/build.sh [--arch amd64|arm64] [--suite bookworm] [--cache DIR] [--print-dir]
#
# Prints the output directory (--print-dir: only that, building nothing). The result is cached by content: OUT is
# CACHE/<arch>-<sha256 of every input> (this script, the overlay unit, arch, suite; for arm64
# also the kernel package version and the modprobe blacklist), and an OUT that finished
# (OUT/.ready) is reused without building. CACHE defaults to the machine-wide cache
# (scripts/lib/cache-dir.sh, outside the checkout: a fresh clone reuses it). Needs root and
# mmdebstrap.
#   amd64 (host): virtual nodes under QEMU; boots vmlinuz + initrd.img via iPXE (boot.ipxe).
#   arm64: real Pis (and the Pi lab's emulated 3B+); the root is built under qemu-user (binfmt,
#          scripts/pi-lab/deps.sh sets it up) with no kernel or initramfs tool in it: Debian's
#          arm64 kernel package is unpacked into it on the host, and the initramfs (busybox,
#          klibc's ipconfig/nfsmount, lan78xx, smsc95xx, dwc2, cdc_ether, NFS; /init is
#          scripts/pi-lab/netboot-init.sh) is built on the host by scripts/pi-lab/initramfs.sh
#          (mkinitramfs under emulation took over 10 min), with the device trees, by
#          pi-boot.sh. Boot files (pi-boot-files.sh): raspi-firmware's bootcode.bin, start*.elf,
#          fixup*.dat, the kernel's bcm2837/bcm2711 DTBs with the bay LED node built into the 3B,
#          3B+ and 4 trees; the hub renders config.txt (configTxt) and cmdline.txt.
# In both: read-only root (tmpfs /tmp, /var/tmp, /var/log; state directories systemd would
# create at boot, e.g. logind's /var/lib/systemd/linger, made here), the per-node overlay unit
# (cm-overlay), the gpio group, NFS readahead 32 KB (nfs.conf.d, for nfs-common's udev rule),
# initramfs for an NFS root (BOOT=nfs); arm64 also blacklists the radio, display and sound
# drivers a wired, headless node never uses (cluster-node-modprobe.conf). The agent is not part of
# the cached image: install it with scripts/agent/install-agent.sh --root OUT/pxe/root
# (`deno task image -- --hub URL --key-file FILE` does both).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PROJ=$(cd "$HERE/../.." && pwd)
ARCH=$(dpkg --print-architecture 2>/dev/null || echo amd64)
SUITE=bookworm
CACHE=""
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

[ -n "$CACHE" ] || CACHE=$(sh "$PROJ/scripts/lib/cache-dir.sh" image)
PI=$PROJ/scripts/pi-lab
KPIECES=""
if [ "$ARCH" = arm64 ]; then
  # the kernel pieces (Debian's current arm64 kernel, busybox, klibc): cached, and their
  # directory name (kernel ABI and package version) is an input of the image
  KPIECES=$(bash "$PI/prepare.sh" arm64) || die "cannot fetch Debian's arm64 kernel"
fi
HASH=$( (cat "$HERE/build.sh" "$HERE/cm-overlay.sh" "$HERE/cm-overlay.service"
  [ "$ARCH" = arm64 ] && cat "$HERE/cluster-node-modprobe.conf" &&
    grep '^linux-image' "$KPIECES/packages"
  echo "$ARCH $SUITE") | sha256sum | cut -c1-16)
OUT=$CACHE/$ARCH-$HASH
if [ "$PRINT_DIR" = 1 ]; then echo "$OUT"; exit 0; fi
# arm64: the boot files made from the kernel (initramfs, device trees) are not part of the
# root's hash: scripts/image/pi-boot.sh rebuilds them in seconds when its own inputs change.
if [ -e "$OUT/.ready" ]; then
  [ "$ARCH" = arm64 ] && sh "$HERE/pi-boot.sh" "$OUT/pxe/root" "$KPIECES" "$OUT/pxe/boot" "$OUT/firmware"
  echo "$OUT"
  exit 0
fi
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
  KERNEL="" # unpacked on the host below, with no maintainer scripts under emulation
  EXTRA=""
  COMPONENTS="main non-free-firmware"
  if [ "$(dpkg --print-architecture 2>/dev/null)" != arm64 ]; then
    command -v arch-test >/dev/null && arch-test arm64 >/dev/null ||
      die "this host cannot run arm64 binaries: set up binfmt and qemu-user (docs/netboot.md)"
  fi
  ;;
esac

# amd64: the initramfs mounts an NFS root (BOOT=nfs) with the network drivers
# (MODULES=netboot); virtio for QEMU guests. Written before the kernel package, so its first
# initramfs is right. arm64: no kernel and no initramfs-tools in the root (see above); the
# raspi-firmware package is only downloaded (its files go to the TFTP root).
if [ "$ARCH" = arm64 ]; then
  PKGS="systemd,systemd-sysv,udev,libnss-systemd,dbus,busybox,iproute2,netbase,nfs-common"
  # (not under /tmp: mmdebstrap empties it when it is done)
  FWHOOK='mkdir -p "$1/root/fw" && chroot "$1" sh -c "cd /root/fw && apt-get download -q raspi-firmware" >/dev/null'
else
  PKGS="systemd,systemd-sysv,udev,libnss-systemd,dbus,initramfs-tools,$KERNEL,busybox,iproute2,netbase,nfs-common$EXTRA"
  # a hook of one word is run as a program by mmdebstrap: this one is for sh (no firmware)
  FWHOOK='test -d "$1"'
fi
mmdebstrap --variant=minbase --arch="$ARCH" --components="$COMPONENTS" \
  --include="$PKGS" \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" &&
    printf "BOOT=nfs\nMODULES=netboot\nCOMPRESS=zstd\n" >"$1/etc/initramfs-tools/conf.d/netboot" &&
    printf "virtio_pci\nvirtio_net\n" >>"$1/etc/initramfs-tools/modules"' \
  --customize-hook='printf "tmpfs /tmp tmpfs defaults,mode=1777 0 0\ntmpfs /var/tmp tmpfs defaults,mode=1777 0 0\ntmpfs /var/log tmpfs defaults,mode=0755 0 0\n" >"$1/etc/fstab"' \
  --customize-hook='echo clyde >"$1/etc/hostname"; : >"$1/etc/machine-id"; chroot "$1" passwd -d root' \
  --customize-hook='chroot "$1" groupadd -r gpio' \
  --customize-hook='mkdir -p "$1/var/lib/systemd/linger"' \
  --customize-hook='mkdir -p "$1/etc/nfs.conf.d" && printf "# The NFS readahead of the root and the overlay (nfs-common udev rule, nfsrahead): 32 KB,\n# as the initramfs sets it before udev runs (scripts/pi-lab/netboot-init.sh says why).\n[nfsrahead]\nnfs=32\n" >"$1/etc/nfs.conf.d/cm-readahead.conf"' \
  --customize-hook="install -m 0755 '$HERE/cm-overlay.sh' \"\$1/usr/local/sbin/cm-overlay\"" \
  --customize-hook="install -m 0644 '$HERE/cm-overlay.service' \"\$1/etc/systemd/system/cm-overlay.service\"" \
  --customize-hook='mkdir -p "$1/cm/state" && chroot "$1" systemctl enable cm-overlay.service' \
  --customize-hook="$FWHOOK" \
  --customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer systemd-timesyncd.service rpcbind.service rpcbind.socket nfs-client.target 2>/dev/null || true' \
  "$SUITE" "$ROOT" >"$OUT.log" 2>&1 || { tail -20 "$OUT.log" >&2; die "mmdebstrap failed (log: $OUT.log)"; }

if [ "$ARCH" = arm64 ]; then
  # Debian's arm64 kernel, the version prepare.sh resolved, unpacked into the root on the host
  # (its modules for udev, its device trees), then its modules.dep; and the firmware files.
  KV=$(cat "$KPIECES/kernel-version")
  KPKGV=$(sed -n "s/^linux-image-$KV=//p" "$KPIECES/packages")
  T=$(mktemp -d)
  (cd "$T" && apt-get download -q "linux-image-$KV:arm64=$KPKGV" >/dev/null 2>&1) ||
    die "cannot download linux-image-$KV:arm64=$KPKGV"
  # (tar keeps the root's /lib -> usr/lib symlink: dpkg-deb -x replaced it with a directory,
  # and /sbin/init had no dynamic loader)
  dpkg-deb --fsys-tarfile "$T"/linux-image-*.deb | tar -x --keep-directory-symlink -C "$ROOT"
  depmod -b "$ROOT" "$KV"
  rm -rf "$T"
  # raspi-firmware unpacked beside the root (not in it: the nodes never read it), kept with the
  # cached image for pi-boot.sh
  mkdir -p "$OUT/firmware" && dpkg-deb -x "$ROOT"/root/fw/raspi-firmware_*.deb "$OUT/firmware" ||
    die "raspi-firmware was not downloaded (log: $OUT.log)"
  rm -rf "$ROOT/root/fw"
  # a headless node on wired Ethernet: udev loads no Bluetooth, WiFi, display or sound driver
  install -D -m 0644 "$HERE/cluster-node-modprobe.conf" "$ROOT/etc/modprobe.d/cluster-node.conf"
fi

# Boot files: what the TFTP root serves.
B=$OUT/pxe/boot
cp "$(ls "$ROOT"/boot/vmlinuz-* | head -n 1)" "$B/vmlinuz"
if [ "$ARCH" = arm64 ]; then
  # the initramfs, raspi-firmware's files and the device trees (the bay LED node built in)
  sh "$HERE/pi-boot.sh" "$ROOT" "$KPIECES" "$B" "$OUT/firmware"
  # config.txt and cmdline.txt are rendered by the hub (netboot settings "configTxt": true).
else
  cp "$(ls "$ROOT"/boot/initrd.img-* | head -n 1)" "$B/initrd.img"
fi
echo "$ARCH $SUITE built $(date -u +%FT%TZ) in $(($(date +%s) - T0)) s" >"$OUT/.ready"
echo "image: done in $(($(date +%s) - T0)) s: $(du -sh "$OUT" | cut -f1)" >&2
echo "$OUT"
