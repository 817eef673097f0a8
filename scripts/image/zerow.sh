#!/bin/sh
# zerow.sh - `deno task image -- --board zerow`: the Pi Zero W's SD card image.
#
#   scripts/image/image.sh --board zerow --out CARD.img --key-file FILE [--hub URL]
#                          [--netboot-config FILE] [--node N] [--cache DIR]
#
# One image for all twelve Zero W bays (--node N pins a card to bay N instead), 2 GiB (a power
# of two, as QEMU's SD card wants; the root grows to no more), MBR:
#   p1  FAT32, 128 MiB: the firmware (bootcode.bin, start.elf, fixup.dat), Debian's armel
#       kernel, the card's initramfs, bcm2835-rpi-zero-w.dtb, overlays/gpio-led.dtbo and
#       overlays/cm-disable-bt.dtbo (ours: Debian has no Raspberry Pi overlays), config.txt and
#       cmdline.txt rendered by the hub's
#       renderers (hub/netboot/render/sd_card.ts: the bay LED overlay, active low; the hub as
#       cm.hub=, default http://10.42.0.250:4242)
#   p2  ext4: the armel Debian root of zerow-root.sh, with the sh agent installed by
#       scripts/agent/install-agent.sh --mode sh, wpa_supplicant on wlan0 configured from the
#       hub's WiFi settings (its `wifi` renderer), systemd-networkd DHCP on wlan0 (and usb0),
#       and no /etc/hostname: the DHCP answer names the node (see docs/agent.md).
# Cached by the hash of every input (CACHE/zerow-card-HASH.img, copied to OUT);
# the root build, the slow part, by zerow-root.sh's own key. Needs root, mmdebstrap, binfmt
# qemu-arm, dosfstools, mtools, e2fsprogs, fdisk, device-tree-compiler and deno.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
PROJ=$(cd "$HERE/../.." && pwd)
OUT=""
HUB=""
KEY_FILE=""
NETBOOT_CONFIG=""
NODE=""
CACHE=""
die() { echo "image(zerow): $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  [ "$1" = -- ] && { shift; continue; }
  [ $# -ge 2 ] || die "$1 needs a value"
  case "$1" in
  --out) OUT=$2 ;;
  --hub) HUB=$2 ;;
  --key-file) KEY_FILE=$2 ;;
  --netboot-config) NETBOOT_CONFIG=$2 ;;
  --node) NODE=$2 ;;
  --cache) CACHE=$2 ;;
  --board) [ "$2" = zerow ] || die "zerow.sh builds --board zerow only" ;;
  *) die "unknown option $1" ;;
  esac
  shift 2
done
[ -n "$OUT" ] || die "give --out CARD.img"
[ -n "$KEY_FILE" ] || die "give --key-file FILE (the hub's agent key: the card's agent reports with it)"
[ -r "$KEY_FILE" ] || die "cannot read $KEY_FILE"
[ -n "$CACHE" ] || CACHE=$(sh "$PROJ/scripts/lib/cache-dir.sh" image)
for c in mkfs.vfat mcopy mkfs.ext4 sfdisk dtc deno; do
  command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || [ -x "/sbin/$c" ] ||
    die "$c missing (apt-get install dosfstools mtools e2fsprogs fdisk device-tree-compiler; deno: npx -y deno@2.9.6 task image)"
done
PATH=$PATH:/usr/sbin:/sbin

BASE=$(sh "$HERE/zerow-root.sh" --cache "$CACHE")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/zerow-card.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/files"
deno run --quiet --allow-read --allow-write "$HERE/render_card.ts" --out "$WORK/files" \
  ${NETBOOT_CONFIG:+--netboot-config "$NETBOOT_CONFIG"} ${NODE:+--node "$NODE"} ${HUB:+--hub "$HUB"}

# The card's cache key: everything that ends up on it.
HASH=$( (
  echo "$BASE $HUB"
  sha256sum "$KEY_FILE" | cut -c1-64
  cat "$HERE/zerow.sh" "$HERE/gpio-led-overlay.dts" "$PROJ/node-agent/sh/cluster-agent.sh" \
    "$PROJ/scripts/agent/install-agent.sh" "$PROJ/scripts/agent/bay-led-setup.sh" \
    "$PROJ/scripts/agent/cluster-agent.service" "$WORK/files/"*
) | sha256sum | cut -c1-16)
CARD=$CACHE/zerow-card-$HASH.img
if [ ! -s "$CARD" ]; then
  echo "image(zerow): writing the card image $CARD" >&2
  T0=$(date +%s)
  # --- the root: the cached one, copied, then the agent and the network ---------------------
  R=$WORK/root
  cp -a "$BASE/root" "$R"
  # no --hub: the agent takes cm.hub= from cmdline.txt, which anyone can edit on the card
  sh "$PROJ/scripts/agent/install-agent.sh" --root "$R" --mode sh --key-file "$KEY_FILE" >&2
  install -m 0600 "$WORK/files/wpa_supplicant-wlan0.conf" "$R/etc/wpa_supplicant/wpa_supplicant-wlan0.conf"
  mkdir -p "$R/etc/systemd/system/multi-user.target.wants" "$R/etc/systemd/network"
  ln -sf /lib/systemd/system/wpa_supplicant@.service \
    "$R/etc/systemd/system/multi-user.target.wants/wpa_supplicant@wlan0.service"
  # DHCP on the WiFi (the bays) and on usb0 (the lab's usb-net; a Zero W in gadget mode); the
  # hub's dnsmasq names the node (hostname nodeNN), which is why there is no /etc/hostname.
  printf '[Match]\nName=%s\n\n[Network]\nDHCP=ipv4\n\n[DHCPv4]\nUseHostname=yes\n' "wlan0" \
    >"$R/etc/systemd/network/20-wlan0.network"
  printf '[Match]\nName=%s\n\n[Network]\nDHCP=ipv4\n\n[DHCPv4]\nUseHostname=yes\n' "usb* eth*" \
    >"$R/etc/systemd/network/30-wired.network"
  rm -f "$R/etc/hostname"
  # A headless node: no Bluetooth (hci_uart would take the PL011, the serial console's UART,
  # as `dtoverlay=disable-bt` avoids with Raspberry Pi's kernel), no display (vc4). No
  # cdc_subset: a USB network link (the lab's usb-net) is CDC Ethernet, and cdc_subset, loaded
  # at the same time, took its second interface first and left cdc_ether EBUSY (no usb0 lease).
  mkdir -p "$R/etc/modprobe.d"
  printf 'blacklist hci_uart\nblacklist btbcm\nblacklist bluetooth\nblacklist vc4\nblacklist snd_bcm2835\nblacklist cdc_subset\n' \
    >"$R/etc/modprobe.d/cluster-card.conf"
  # the agent waits for network-online: wait for one interface, not all
  mkdir -p "$R/etc/systemd/system/systemd-networkd-wait-online.service.d"
  printf '[Service]\nExecStart=\nExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=60\n' \
    >"$R/etc/systemd/system/systemd-networkd-wait-online.service.d/any.conf"
  ln -sf /lib/systemd/system/systemd-networkd-wait-online.service \
    "$R/etc/systemd/system/network-online.target.wants/systemd-networkd-wait-online.service" 2>/dev/null || true

  # --- the boot partition ------------------------------------------------------------------
  B=$WORK/boot.img
  mkfs.vfat -F 32 -n BOOT -C "$B" $((128 * 1024)) >/dev/null
  dtc -q -@ -W no-label_is_string -W no-gpios_property -I dts -O dtb \
    -o "$WORK/gpio-led.dtbo" "$HERE/gpio-led-overlay.dts"
  dtc -q -@ -I dts -O dtb -o "$WORK/cm-disable-bt.dtbo" "$HERE/cm-disable-bt-overlay.dts"
  mcopy -i "$B" "$BASE/boot/bootcode.bin" "$BASE/boot/start.elf" "$BASE/boot/fixup.dat" \
    "$BASE/boot/vmlinuz" "$BASE/boot/initrd.img" "$BASE/boot/bcm2835-rpi-zero-w.dtb" \
    "$WORK/files/config.txt" "$WORK/files/cmdline.txt" ::/
  mmd -i "$B" ::/overlays
  mcopy -i "$B" "$WORK/gpio-led.dtbo" "$WORK/cm-disable-bt.dtbo" ::/overlays/

  # --- the card: MBR, p1 at 4 MiB (128 MiB FAT32), p2 the rest (ext4) -----------------------
  P1=8192
  P2=$((P1 + 128 * 2048))
  SIZE_MIB=2048
  ROOT_MIB=$((SIZE_MIB - P2 / 2048))
  mkfs.ext4 -q -F -L rootfs -d "$R" "$WORK/root.img" "${ROOT_MIB}M" >&2
  C=$WORK/card.img
  truncate -s "${SIZE_MIB}M" "$C"
  printf 'label: dos\nstart=%s, size=%s, type=c, bootable\nstart=%s, type=83\n' \
    "$P1" $((128 * 2048)) "$P2" | sfdisk -q "$C"
  dd if="$B" of="$C" bs=1M seek=$((P1 / 2048)) conv=notrunc,sparse status=none
  dd if="$WORK/root.img" of="$C" bs=1M seek=$((P2 / 2048)) conv=notrunc,sparse status=none
  mv "$C" "$CARD.part" && mv "$CARD.part" "$CARD"
  echo "image(zerow): card written in $(($(date +%s) - T0)) s" >&2
fi
# a copy, never a link: whatever writes the card image (dd, QEMU) must not change the cache
rm -f "$OUT"
cp --sparse=always "$CARD" "$OUT"
echo "$OUT"
