#!/bin/busybox sh
# /init of the hub-on-a-Pi guest (tests/pi/hub_on_pi.test.ts): an emulated 3B+ running the
# hub as installed by scripts/hub/install-hub.sh (Deno for arm64), started the way its unit
# starts it (hub_service.js), on QEMU's user network (the test reaches port 4242 through a
# host-loopback forward). The hub's settings are in /etc/cluster-hub (hub.args, power.json).
/bin/busybox --install -s /bin
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/lib/klibc/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /var/lib/cluster-hub /dev/pts /run/lock # as systemd-tmpfiles makes them
echo "PI-HUB model $(tr -d '\0' </proc/device-tree/model)"
for m in phy-generic dwc2 cdc_ether; do modprobe -q "$m"; done
i=0
while [ ! -e /sys/class/net/usb0 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
ip link set lo up
ipconfig -t 30 -c dhcp -d usb0 >/dev/null 2>&1 || echo "PI-HUB no lease on usb0"
echo "PI-HUB net $(ip -4 -o addr show usb0 | awk '{print $4}')"
cd /
# the hub as the guest itself sees it, every 10 s (the test reaches it from outside)
(while sleep 10; do
  echo "PI-HUB self $(printf 'GET /api/v1/module HTTP/1.0\r\n\r\n' | nc -w 5 127.0.0.1 4242 | head -n 1)"
done) >/dev/console 2>&1 &
exec /opt/cluster-hub/bin/deno run --allow-all /t/hub_service.js "$(cat /etc/cluster-hub/hub.args)" \
  </dev/console >/dev/console 2>&1
