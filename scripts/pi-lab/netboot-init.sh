#!/bin/busybox sh
# /init of the Pi node image's initramfs (built on the host by scripts/pi-lab/initramfs.sh):
# loads the network drivers a netbooting Pi needs (lan78xx on a 3B+, smsc95xx on a 3B, genet on
# a 4, dwc2 +
# cdc_ether for the lab's emulated USB network), takes a DHCP lease on the first wired
# interface (klibc ipconfig), mounts the NFS root named by nfsroot= (read-only unless rw) and
# hands over to its /sbin/init. Reads the kernel command line the hub rendered (cmdline.txt):
#   root=/dev/nfs nfsroot=SERVER:PATH[,OPTS] [ro|rw] ip=dhcp [init=/sbin/init] ...
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/lib/klibc/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs -o mode=0755 run /run
# to the kernel log, which reaches every console (the last console= of the command line, which
# is /dev/console, may be a screen)
say() { echo "<5>cm-initramfs: $*" >/dev/kmsg; }
fail() {
  say "$* (dropping to a shell)"
  exec sh </dev/console >/dev/console 2>&1
}
NFSROOT=""
RO=ro
INIT=/sbin/init
for a in $(cat /proc/cmdline); do
  case "$a" in
  nfsroot=*) NFSROOT=${a#nfsroot=} ;;
  rw) RO=rw ;;
  ro) RO=ro ;;
  init=*) INIT=${a#init=} ;;
  esac
done
[ -n "$NFSROOT" ] || fail "no nfsroot= on the command line"
for m in phy-generic dwc2 cdc_ether lan78xx smsc95xx genet; do modprobe -q "$m" 2>/dev/null; done
IF=""
i=0
while [ -z "$IF" ] && [ $i -lt 300 ]; do
  for n in /sys/class/net/*; do
    n=${n##*/}
    case "$n" in lo | sit* | dummy*) ;; *) IF=$n && break ;; esac
  done
  [ -n "$IF" ] || { sleep 0.1; i=$((i + 1)); }
done
[ -n "$IF" ] || fail "no network interface after 30 s"
# Up, and wait for its carrier before the DHCP client: klibc's ipconfig sends at once, and a
# DISCOVER sent before the link is up fails, after which ipconfig waits 10 s to try again (the
# emulated 3B+'s usb-net link comes up about 0.2 s after the interface, a LAN7515's after
# autonegotiation): 10 s of every boot.
ip link set "$IF" up 2>/dev/null
i=0
while [ "$(cat "/sys/class/net/$IF/carrier" 2>/dev/null)" != 1 ] && [ $i -lt 100 ]; do
  sleep 0.1
  i=$((i + 1))
done
say "DHCP on $IF (link $([ $i -lt 100 ] && echo "up after $((i / 10)).$((i % 10)) s" || echo "still down after 10 s"))"
ipconfig -t 60 -c dhcp -d "$IF" >/run/ipconfig.log 2>&1 || fail "no DHCP lease on $IF: $(cat /run/ipconfig.log)"
. "/run/net-$IF.conf" 2>/dev/null && say "$IF is $IPV4ADDR (DHCP server $ROOTSERVER)"
modprobe -q nfsv3 2>/dev/null || modprobe -q nfs
SERVER=${NFSROOT%%:*}
REST=${NFSROOT#*:}
P=${REST%%,*}
# nolock as initramfs-tools; then, read only, the root's attribute cache: the root is the shared
# image, replaced whole rather than changed in place (a node reboots onto a new image), so
# its attributes are cached for an hour and an open does not ask the server again (nocto).
# With NFS's defaults (close-to-open, attributes kept 3-60 s) a first boot sent 3666 GETATTRs
# before its agent ran, each a round trip (92 ms on average on the lab's emulated USB network).
# The options of nfsroot= go to nfsmount after these, as they are, and win.
OPTS=nolock
[ "$RO" = rw ] || OPTS=nolock,nocto,acregmin=3600,acregmax=3600,acdirmin=3600,acdirmax=3600
[ "$P" = "$REST" ] || OPTS="$OPTS,${REST#*,}"
say "mounting $SERVER:$P ($RO,$OPTS)"
nfsmount -o "$RO,$OPTS" "$SERVER:$P" /root || fail "cannot mount $SERVER:$P"
# The root's readahead: 32 KB, not the kernel's 128 KB. A page fault in a mapped file reads
# this much around it; on the lab's network (0.25 MB/s, 90-140 ms a round trip) systemd and its
# libraries took 11.7 MB and 47 s to page in at 128 KB, 7.8 MB and 32 s at 32 KB. Once udev
# runs, nfs-common's rule (nfsrahead) sets it again, from /etc/nfs.conf.d in the image.
BDI=/sys/class/bdi/$(awk '$5 == "/root" { print $3 }' /proc/self/mountinfo)
echo 32 >"$BDI/read_ahead_kb" && say "root readahead $(cat "$BDI/read_ahead_kb") KB"
[ -x "/root$INIT" ] || [ -L "/root$INIT" ] || fail "no $INIT in the root"
say "starting $INIT"
# the lease, for whoever wants it in the root (systemd-networkd is not in the image)
cp /run/net-*.conf /root/run/ 2>/dev/null || true
mount --move /dev /root/dev 2>/dev/null || umount /dev
mount --move /run /root/run 2>/dev/null || umount /run
umount /sys /proc
exec switch_root /root "$INIT"
