#!/bin/sh
# Installs, once and in one apt run, the Debian packages the integration tests use:
# Chromium (dashboard test), dnsmasq/busybox/iproute2/iptables (netboot netns test), rpcbind,
# nfs-ganesha and mmdebstrap (netboot NFS test, image builder, netboot end-to-end), dash and
# busybox (the Zero W sh agent), gcc + linux-libc-dev (GPIO uAPI layout check), curl, socat
# (pty pairs for the serial console test), tmux (cm console in a pseudo-terminal), bsdutils'
# `script` (a pseudo-terminal for the test of `cm`'s progress on a terminal), prometheus (its
# promtool checks and unit-tests the example alert rules), and for the kernel
# suite (scripts/kernel-lab/) qemu-system-x86, make, xz-utils and util-linux; for the fleet tests
# (tests/fleet/) openssl (the hub's self-signed certificate), Prometheus and Alertmanager (the
# federation and NodeLost chain), ansible-core (ansible-inventory over every hub), slurmctld,
# slurm-client and munge (Slurm's power saving resuming nodes through the hub);
# for the Pi lab and the arm64 image, scripts/pi-lab/deps.sh (QEMU's Pi boards, arm64/armel in
# dpkg, binfmt).
# Run by `deno task test` before the tests. Idempotent and quiet when everything is there;
# without root or apt it only says what is missing (those tests then skip with a message,
# or fail where CI=true demands them).
set -u

missing=""
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/bin/$1" ]; }
[ -x /usr/bin/chromium ] || missing="$missing chromium fonts-dejavu-core"
have dnsmasq || missing="$missing dnsmasq-base"
have busybox || missing="$missing busybox"
have ip || missing="$missing iproute2"
have iptables || missing="$missing iptables"
have rpcbind || missing="$missing rpcbind"
have ganesha.nfsd || missing="$missing nfs-ganesha nfs-ganesha-vfs"
have mmdebstrap || missing="$missing mmdebstrap"
have dash || missing="$missing dash"
have gcc || missing="$missing gcc"
[ -f /usr/include/linux/gpio.h ] || missing="$missing linux-libc-dev"
have curl || missing="$missing curl"
have socat || missing="$missing socat"
have tmux || missing="$missing tmux"
have qemu-system-x86_64 || missing="$missing qemu-system-x86"
have make || missing="$missing make"
have xz || missing="$missing xz-utils"
have unshare || missing="$missing util-linux"
have script || missing="$missing bsdutils"
have promtool || missing="$missing prometheus"
have openssl || missing="$missing openssl"
have prometheus-alertmanager || missing="$missing prometheus-alertmanager"
have ansible-inventory || missing="$missing ansible-core"
have slurmctld || missing="$missing slurmctld"
have scontrol || missing="$missing slurm-client"
have munged || missing="$missing munge"

# the dashboard tests' browser driver (from the npm registry, outside deno.lock)
sh "$(dirname "$0")/install-browser-driver.sh" ||
  echo "test-deps: no browser driver; the dashboard tests will say so" >&2

# the Pi lab (tests/pi/) and the arm64 image: QEMU's Pi boards, foreign architectures, binfmt
sh "$(dirname "$0")/pi-lab/deps.sh"

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != "0" ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: missing:$missing (install them as root with apt-get; the tests that need them will say so)" >&2
  exit 0
fi

echo "test-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq -o DPkg::Lock::Timeout=300 >/dev/null 2>&1 || echo "test-deps: apt-get update failed" >&2
# shellcheck disable=SC2086
if ! apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends $missing >/dev/null; then
  echo "test-deps: apt-get install$missing failed; the tests that need them will say so" >&2
fi
exit 0
