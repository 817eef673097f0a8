#!/bin/sh
# zerow-root.sh - the Pi Zero W card's base: an armel (ARMv6) Debian root built with mmdebstrap
# under qemu-user (binfmt qemu-arm), plus the kernel pieces the card boots with.
#
#   scripts/image/zerow-root.sh --cache DIR [--suite bookworm] [--print-dir]
#
# Prints the output directory, CACHE/zerow-root-<sha256 of this script and the suite>; an
# output that finished (OUT/.ready) is reused. Needs root, mmdebstrap, binfmt qemu-arm.
#   OUT/root       the root file system (systemd, udev, kmod, curl, wpasupplicant, the Zero W's
#                  WiFi firmware, raspi-firmware for the boot blobs); its /lib/modules holds
#                  Debian's linux-image-rpi modules (depmod run on the host)
#   OUT/boot       what the card's FAT partition needs from Debian: bootcode.bin, start.elf,
#                  fixup.dat, vmlinuz, initrd.img (built on the host: busybox-static and the
#                  modules an ext4 root on the SD card needs; mkinitramfs under emulation takes
#                  over 10 minutes), bcm2835-rpi-zero-w.dtb
# The kernel is unpacked on the host (dpkg-deb -x), not installed with dpkg in the root: its
# postinst would run mkinitramfs under emulation.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SUITE=bookworm
CACHE=""
PRINT_DIR=0
die() { echo "image(zerow): $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  [ "$1" = --print-dir ] && { PRINT_DIR=1; shift; continue; }
  [ $# -ge 2 ] || die "$1 needs a value"
  case "$1" in
  --cache) CACHE=$2 ;;
  --suite) SUITE=$2 ;;
  *) die "unknown option $1" ;;
  esac
  shift 2
done
[ -n "$CACHE" ] || die "give --cache DIR"
mkdir -p "$CACHE"
HASH=$( (cat "$HERE/zerow-root.sh"; echo "$SUITE") | sha256sum | cut -c1-16)
OUT=$CACHE/zerow-root-$HASH
if [ "$PRINT_DIR" = 1 ] || [ -e "$OUT/.ready" ]; then echo "$OUT"; exit 0; fi
[ "$(id -u)" = 0 ] || die "run as root (mmdebstrap builds a root file system with real owners)"
command -v mmdebstrap >/dev/null || die "mmdebstrap missing: apt-get install mmdebstrap"
command -v arch-test >/dev/null && arch-test armel >/dev/null 2>&1 ||
  die "this host cannot run armel binaries: apt-get install qemu-user-static binfmt-support arch-test; mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; update-binfmts --enable qemu-arm"
echo "image(zerow): building the armel root ($SUITE) into $OUT" >&2
T0=$(date +%s)
rm -rf "$OUT"
mkdir -p "$OUT/boot" "$OUT/debs"
ROOT=$OUT/root

# The slow part, mmdebstrap under emulation (about 5 to 10 minutes), is cached apart as a
# tarball keyed by its own recipe (the lines between the markers), so that changes to the
# steps after it do not rebuild it.
# --- recipe begin
PACKAGES=systemd,systemd-sysv,udev,kmod,dbus,libnss-systemd,iproute2,netbase,curl,ca-certificates,wpasupplicant,firmware-brcm80211,raspi-firmware,busybox
# --- recipe end
RHASH=$( (sed -n '/^# --- recipe begin/,/^# --- recipe end/p' "$HERE/zerow-root.sh"; sed -n '/^mmdebstrap_root() {/,/^}/p' "$HERE/zerow-root.sh"; echo "$SUITE") | sha256sum | cut -c1-16)
TAR=$CACHE/zerow-rootfs-$RHASH.tar
mmdebstrap_root() {
  # Read-only friendly and small: no docs, no man pages; no apt timers.
  mmdebstrap --variant=minbase --arch=armel --components="main non-free-firmware" \
    --include="$PACKAGES" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='printf "/dev/mmcblk0p2 / ext4 defaults,noatime 0 1\n/dev/mmcblk0p1 /boot/firmware vfat defaults,noatime 0 2\ntmpfs /tmp tmpfs defaults,mode=1777 0 0\n" >"$1/etc/fstab"; mkdir -p "$1/boot/firmware"' \
    --customize-hook='echo zerow >"$1/etc/hostname"; : >"$1/etc/machine-id"; chroot "$1" passwd -d root' \
    --customize-hook='chroot "$1" groupadd -r gpio' \
    --customize-hook='chroot "$1" systemctl enable systemd-networkd.service' \
    --customize-hook='chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer 2>/dev/null || true' \
    "$SUITE" "$1" >"$TAR.log" 2>&1
}
if [ ! -s "$TAR" ]; then
  mmdebstrap_root "$CACHE/zerow-rootfs-$RHASH.part.tar" || { tail -20 "$TAR.log" >&2; die "mmdebstrap failed (log: $TAR.log)"; }
  mv "$CACHE/zerow-rootfs-$RHASH.part.tar" "$TAR"
fi
mkdir -p "$ROOT"
tar -xf "$TAR" -C "$ROOT" --numeric-owner

# The kernel: Debian's linux-image-rpi (armel, ARMv6: Pi 1 and Zero), unpacked on the host.
cd "$OUT/debs"
pkg=$(apt-cache depends "linux-image-rpi:armel" | sed -n 's/.*Depends: \(linux-image-[^:]*\).*/\1/p' | head -n 1)
[ -n "$pkg" ] || die "apt knows no linux-image-rpi:armel (dpkg --add-architecture armel; apt-get update)"
apt-get download "$pkg:armel" "busybox-static:armel" >/dev/null 2>&1 || die "cannot download $pkg:armel"
KVER=${pkg#linux-image-}
dpkg-deb -x "$pkg"_*_armel.deb "$OUT/kernel"
mkdir -p "$ROOT/lib/modules"
cp -a "$OUT/kernel/lib/modules/$KVER" "$ROOT/lib/modules/"
depmod -b "$ROOT" "$KVER"
cp "$OUT/kernel/boot/vmlinuz-$KVER" "$OUT/boot/vmlinuz"
cp "$OUT/kernel/usr/lib/linux-image-$KVER/bcm2835-rpi-zero-w.dtb" "$OUT/boot/"
FW=$ROOT/usr/lib/raspi-firmware
cp "$FW/bootcode.bin" "$FW/start.elf" "$FW/fixup.dat" "$OUT/boot/"

# The initramfs: busybox, the modules for an ext4 root on the SD card (and its dependencies,
# from the root's modules.dep), and an init that mounts root= read-write and switches to it.
dpkg-deb -x busybox-static_*_armel.deb "$OUT/bb"
IRD=$OUT/initramfs
mkdir -p "$IRD/bin" "$IRD/proc" "$IRD/sys" "$IRD/dev" "$IRD/newroot" "$IRD/lib/modules"
cp "$OUT/bb/bin/busybox" "$IRD/bin/busybox"
M=$ROOT/lib/modules/$KVER
: >"$IRD/modules"
for want in kernel/crypto/crc32c_generic.ko kernel/fs/ext4/ext4.ko; do
  deps=$(sed -n "s|^$want[.a-z]*: *||p" "$M/modules.dep")
  for d in $(echo "$deps" | tr ' ' '\n' | tac) $want; do
    f=$(ls "$M/$d"* 2>/dev/null | head -n 1)
    [ -n "$f" ] || continue
    grep -qx "$(basename "$f")" "$IRD/modules" && continue
    cp "$f" "$IRD/lib/modules/"
    basename "$f" >>"$IRD/modules"
  done
done
cat >"$IRD/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules); do
  case "$m" in *.xz) xz -dc "/lib/modules/$m" >/tmp.ko && insmod /tmp.ko && rm /tmp.ko ;; *) insmod "/lib/modules/$m" ;; esac
done
root=/dev/mmcblk0p2
for a in $(cat /proc/cmdline); do case "$a" in root=*) root=${a#root=} ;; esac; done
i=0
until [ -b "$root" ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 -o rw,noatime "$root" /newroot || { echo "initramfs: cannot mount $root"; exec sh; }
umount /proc /sys
mount --move /dev /newroot/dev 2>/dev/null || umount /dev
exec switch_root /newroot /sbin/init
INIT
chmod 0755 "$IRD/init"
(cd "$IRD" && find . | cpio -o -H newc 2>/dev/null | gzip -9) >"$OUT/boot/initrd.img"
rm -rf "$OUT/bb" "$OUT/debs"
echo "$KVER" >"$OUT/kver"
echo "armel $SUITE $KVER built $(date -u +%FT%TZ) in $(($(date +%s) - T0)) s" >"$OUT/.ready"
echo "image(zerow): root done in $(($(date +%s) - T0)) s: $(du -sh "$ROOT" | cut -f1)" >&2
echo "$OUT"
