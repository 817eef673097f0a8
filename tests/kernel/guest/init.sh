#!/bin/busybox sh
# PID 1 of the kernel-lab guest: mount the kernel's filesystems, load the modules, build a Pi-like
# gpio-sim chip and the i2c-stub expanders, run the guest suite, power off.
/bin/busybox --install -s /bin
export PATH=/usr/bin:/bin HOME=/root DENO_NO_UPDATE_CHECK=1 NO_COLOR=1 DENO_DIR=/tmp/deno
mkdir -p /root /var/lib
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
mkdir -p /run/lock
mount -t tracefs none /sys/kernel/tracing
ip link set lo up
echo "@@ boot done $(cut -d' ' -f1 /proc/uptime) s uptime; kernel $(uname -r)"
M=/lib/modules
insmod $M/configfs.ko && mount -t configfs none /sys/kernel/config
insmod $M/gpio-sim.ko
insmod $M/i2c-dev.ko
insmod $M/i2c-stub.ko chip_addr=0x20,0x21,0x22,0x23
# One bank of 64 lines labelled like the Pi's main GPIO controller (54 on a Pi: the hub
# suite wires all 60 bays to lines of it).
G=/sys/kernel/config/gpio-sim/pi
mkdir $G $G/bank0
echo 64 >$G/bank0/num_lines
echo pinctrl-bcm2835 >$G/bank0/label
echo 1 >$G/live
echo "@@ gpio-sim $(cat $G/bank0/chip_name) live; i2c: $(ls /dev/i2c-*)"
chroot /zero /bin/busybox --install -s /bin # the Zero W root's shell tools
SECTIONS=${SECTIONS:-all}
/usr/bin/deno run --allow-all /t/suite.js "$SECTIONS"
echo "@@ RESULT rc=$? at $(cut -d' ' -f1 /proc/uptime) s uptime"
poweroff -f
