#!/bin/sh
# cm-overlay: mounts this node's writable overlay early in boot, before anything writes state.
# The hub puts `cm.overlay=HUB:/pxe/overlay/nodeNN` on the node's kernel command line (per-node
# cmdline.txt / boot.ipxe, `overlays: true`). NFS cannot be an overlayfs upper layer, so the
# export is mounted at /cm/state and /var/lib, /home and /etc/cluster-module are bind-mounted
# from it (seeded from the read-only image on first use). The hub keeps the node's own agent key
# in the overlay (agent-key, mode 0600): it is bound over /etc/cluster-agent/key, so the agent
# authenticates as this node and the shared root holds no key. The root is exported with
# root_squash, so a file there that only root may read cannot be copied: seeding skips it and
# says which. Without cm.overlay it does nothing.
set -eu
spec=""
for arg in $(cat /proc/cmdline); do
  case "$arg" in cm.overlay=*) spec=${arg#cm.overlay=} ;; esac
done
[ -n "$spec" ] || { echo "cm-overlay: no cm.overlay= on the kernel command line; read-only image only"; exit 0; }
# noacl: ganesha (and a kernel server without NFSACL) fails ACL calls over NFSv3 with EIO,
# which made `cp -a` fail; without it ACLs fall back to plain modes.
if ! mount -t nfs -o vers=3,tcp,nolock,noacl,rw "$spec" /cm/state; then
  echo "cm-overlay: could not mount $spec at /cm/state; this node runs without its own state" >&2
  exit 1
fi
for dir in /var/lib /home /etc/cluster-module; do
  [ -d "$dir" ] || continue
  state="/cm/state/$(echo "${dir#/}" | tr / -)"
  if [ ! -d "$state" ]; then
    mkdir -p "$state"
    # Entries only root may read (dpkg/apt locks, apt's partial dirs, systemd's private/) cannot
    # be read through root_squash: they are skipped, and recreated by their owners on use.
    if ! errs=$(cp -a "$dir/." "$state/" 2>&1); then
      skipped=$(printf '%s\n' "$errs" | sed -n "s/^cp: cannot [a-z]* '\([^']*\)'.*/\1/p" | tr '\n' ' ')
      echo "cm-overlay: $dir seeded; root-only entries skipped (root_squash): ${skipped:-$errs}"
    fi
  fi
  mount --bind "$state" "$dir"
done
if [ -f /cm/state/agent-key ]; then
  if [ -f /etc/cluster-agent/key ]; then
    mount --bind /cm/state/agent-key /etc/cluster-agent/key
    echo "cm-overlay: /etc/cluster-agent/key is this node's own agent key"
  else
    echo "cm-overlay: warning: no /etc/cluster-agent/key in the image to bind this node's key over (install the agent with --key-from-overlay)" >&2
  fi
fi
echo "cm-overlay: $spec mounted at /cm/state; /var/lib, /home, /etc/cluster-module are the node's own"
