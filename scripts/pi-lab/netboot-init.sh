#!/bin/busybox sh
# /init of the Pi node image's initramfs (built on the host by scripts/pi-lab/initramfs.sh):
# loads the network drivers a netbooting Pi needs (lan78xx on a 3B+, smsc95xx on a 3B, dwc2 +
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
say() { echo "cm-initramfs: $*" >/dev/console; }
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
for m in phy-generic dwc2 cdc_ether lan78xx smsc95xx; do modprobe -q "$m" 2>/dev/null; done
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
say "DHCP on $IF"
ipconfig -t 60 -c dhcp -d "$IF" >/dev/console 2>&1 || fail "no DHCP lease on $IF"
modprobe -q nfsv3 2>/dev/null || modprobe -q nfs
SERVER=${NFSROOT%%:*}
REST=${NFSROOT#*:}
P=${REST%%,*}
OPTS=nolock
[ "$P" = "$REST" ] || OPTS="$OPTS,${REST#*,}"
OPTS=$(echo "$OPTS" | sed 's/,tcp//;s/vers=3,\{0,1\}//;s/,$//')
say "mounting $SERVER:$P ($RO,$OPTS)"
nfsmount -o "$RO,$OPTS" "$SERVER:$P" /root || fail "cannot mount $SERVER:$P"
[ -x "/root$INIT" ] || [ -L "/root$INIT" ] || fail "no $INIT in the root"
# the lease, for whoever wants it in the root (systemd-networkd is not in the image)
cp /run/net-*.conf /root/run/ 2>/dev/null || true
mount --move /dev /root/dev 2>/dev/null || umount /dev
mount --move /run /root/run 2>/dev/null || umount /run
umount /sys /proc
exec run-init /root "$INIT" </root/dev/console >/root/dev/console 2>&1
