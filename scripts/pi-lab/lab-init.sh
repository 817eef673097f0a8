#!/bin/busybox sh
# /init of the Pi lab's bare guest (tests/pi/board.test.ts): reports the board as the kernel
# sees it, then drives GPIO LAB_GPIO (default 21) through sysfs and pinctrl-bcm2835 in a fixed
# pattern the test reads from outside (GPLEV0): high 1.5 s, low 1 s, high 0.5 s, then low;
# each step is announced on the console. Then idles.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "LAB MODEL: $(tr -d '\0' </proc/device-tree/model)"
for c in /sys/class/gpio/gpiochip*; do echo "LAB CHIP base=$(cat "$c/base") label=$(cat "$c/label")"; done
G=21
for a in $(cat /proc/cmdline); do case "$a" in lab.gpio=*) G=${a#lab.gpio=} ;; esac; done
BASE=""
for c in /sys/class/gpio/gpiochip*; do
  case "$(cat "$c/label")" in pinctrl-bcm2835 | pinctrl-bcm2711) BASE=$(cat "$c/base") ;; esac
done
N=$((BASE + G))
echo "$N" >/sys/class/gpio/export
V=/sys/class/gpio/gpio$N
echo "LAB READY gpio=$G line=$N"
sleep 3
echo out >"$V/direction"
echo 1 >"$V/value"; echo "LAB STEP high"; sleep 1.5
echo 0 >"$V/value"; echo "LAB STEP low"; sleep 1
echo 1 >"$V/value"; echo "LAB STEP high"; sleep 0.5
echo 0 >"$V/value"; echo "LAB DONE"
while :; do sleep 3600; done
