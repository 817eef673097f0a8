#!/bin/sh
# Installs the Debian packages the netboot integration test needs, only when missing:
# dnsmasq (DHCP/DNS/TFTP), busybox (udhcpc, tftp, nslookup), iproute2 (ip netns) and
# iptables (the NAT rules, loaded inside the test's namespace), rpcbind and nfs-ganesha (the
# user-space NFS server the tests use: this machine kind's kernel has no NFS server).
# (dnsmasq-base is the dnsmasq binary without the Debian service, which would grab port 53.)
# Idempotent and quiet: prints nothing when everything is already there.
# Exit status 0 when all tools are present afterwards, 1 otherwise.
set -eu

need=""
command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || need="$need dnsmasq-base"
command -v busybox >/dev/null 2>&1 || need="$need busybox"
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || need="$need iproute2"
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || need="$need iptables"
command -v rpcbind >/dev/null 2>&1 || [ -x /usr/sbin/rpcbind ] || need="$need rpcbind"
command -v ganesha.nfsd >/dev/null 2>&1 || [ -x /usr/bin/ganesha.nfsd ] || need="$need nfs-ganesha nfs-ganesha-vfs"

[ -z "$need" ] && exit 0

if [ "$(id -u)" != "0" ]; then
  echo "install-deps: missing$need and not root; install them with apt-get" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Refresh the package lists only when they are missing (first run on a fresh image).
if [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial)" ]; then
  apt-get update -qq >/dev/null 2>&1 || true
fi
# shellcheck disable=SC2086
if ! apt-get install -y -qq -o DPkg::Lock::Timeout=120 --no-install-recommends $need >/dev/null 2>&1; then
  apt-get update -qq >/dev/null 2>&1 || true
  # shellcheck disable=SC2086
  apt-get install -y -qq -o DPkg::Lock::Timeout=120 --no-install-recommends $need >/dev/null 2>&1 || {
    echo "install-deps: apt-get install$need failed" >&2
    exit 1
  }
fi
exit 0
