#!/bin/busybox sh
# /init of the Pi lab's agent guest (tests/pi/deadman.test.ts): an emulated 3B+ whose device
# tree has the bay LED node (the gpio-led overlay), running the Deno agent as install-agent.sh
# installed it (Deno for arm64), started as its unit starts it: bay-led-setup as root first,
# then the wrapper with the unit's flags and environment. The test reaches the hub over QEMU's
# user net and types commands on the serial console: `stop` (SIGSTOP), `cont` (SIGCONT) and
# `kill` (SIGKILL) for the agent.
/bin/busybox --install -s /bin
export PATH=/usr/local/bin:/usr/bin:/bin:/usr/lib/klibc/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
echo "PI-AGENT model $(tr -d '\0' </proc/device-tree/model)"
for m in phy-generic dwc2 cdc_ether leds-gpio; do modprobe -q "$m"; done
i=0
while [ ! -e /sys/class/net/usb0 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
ip link set lo up
ipconfig -t 30 -c dhcp -d usb0 >/dev/null 2>&1 || echo "PI-AGENT no lease on usb0"
i=0
while [ ! -e /sys/class/leds/bay/trigger ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
sh /opt/cluster-agent/bay-led-setup # the unit's ExecStartPre=+ (as root)
echo "PI-AGENT led $(cat /sys/class/leds/bay/trigger 2>&1)"
# the unit's environment (RuntimeDirectory=cluster-agent)
mkdir -p /run/cluster-agent && chmod 0700 /run/cluster-agent
export TMPDIR=/run/cluster-agent DENO_DIR=/run/cluster-agent/deno DENO_NO_UPDATE_CHECK=1
/opt/cluster-agent/cluster-agent --key-file /etc/cluster-agent/key --node 1 \
  </dev/null >/dev/console 2>&1 &
PID=$!
echo "PI-AGENT started $PID"
while read -r cmd; do
  case "$cmd" in
  stop) kill -STOP "$PID" ;;
  cont) kill -CONT "$PID" ;;
  kill) kill -KILL "$PID" ;;
  *) continue ;;
  esac
  echo "PI-AGENT did $cmd"
done </dev/console
while :; do sleep 3600; done
