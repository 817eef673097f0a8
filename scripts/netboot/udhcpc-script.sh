#!/bin/sh
# busybox udhcpc event script for the netboot test: configures the lease on the interface
# and records what the DHCP server sent in $UDHCPC_OUT (key=value lines).
case "$1" in
  deconfig)
    ip addr flush dev "$interface" 2>/dev/null || true
    ;;
  bound|renew)
    ip addr flush dev "$interface" 2>/dev/null || true
    ip addr add "$ip/${mask:-24}" dev "$interface"
    {
      echo "ip=$ip"
      echo "mask=${mask:-}"
      echo "router=${router:-}"
      echo "dns=${dns:-}"
      echo "domain=${domain:-}"
      echo "siaddr=${siaddr:-}"
      echo "opt43=${opt43:-}"
      echo "bootFile=${boot_file:-}"
    } > "${UDHCPC_OUT:-/dev/null}"
    [ -n "${UDHCPC_OUT:-}" ] && env > "$UDHCPC_OUT.env"
    ;;
esac
exit 0
