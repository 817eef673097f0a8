#!/bin/sh
# cm-overlay: mounts this node's writable overlay early in boot, before anything writes state.
# The hub puts `cm.overlay=HUB:/pxe/overlay/nodeNN` on the node's kernel command line (per-node
# cmdline.txt / boot.ipxe, `overlays: true`). NFS cannot be an overlayfs upper layer, so the
# export is mounted at /cm/state and /var/lib, /home and /etc/cluster-module are bind-mounted
# from it (seeded from the read-only image on first use). Without cm.overlay it does nothing.
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
    cp -a "$dir/." "$state/"
  fi
  mount --bind "$state" "$dir"
done
echo "cm-overlay: $spec mounted at /cm/state; /var/lib, /home, /etc/cluster-module are the node's own"
