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
#
# Seeding is what a node's first boot waits for, and over NFS each file costs several round
# trips: the package manager's state in /var/lib (dpkg's database, 767 of the image's 833 files
# there; apt, ucf, pam, python, shells.state) is not copied, since a node on the read-only root
# never runs dpkg. The image's own, read-only, is bound back in its place, so `dpkg -l` still
# shows what the image holds. A seed is made under a temporary name and renamed when complete,
# so a node switched off while seeding seeds afresh at its next boot.
set -eu
# /var/lib entries that only the package manager writes: the image's, bound read-only
PACKAGE_STATE="dpkg apt ucf pam python shells.state"
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

# seed DIR STATE [NAME...]: copies DIR's entries but the NAMEs into a new STATE
seed() {
  src=$1 dst=$2
  shift 2
  rm -rf "$dst.seeding"
  mkdir -p "$dst.seeding"
  errs="" n=0
  for e in "$src"/* "$src"/.[!.]* "$src"/..?*; do
    [ -e "$e" ] || [ -L "$e" ] || continue
    case " $* " in *" ${e##*/} "*) continue ;; esac
    n=$((n + 1))
    # Entries only root may read (apt's partial dirs, systemd's private/) cannot be read
    # through root_squash: they are skipped, and recreated by their owners on use.
    out=$(cp -a "$e" "$dst.seeding/" 2>&1) || errs="$errs$out
"
  done
  mv "$dst.seeding" "$dst"
  skipped=$(printf '%s' "$errs" | sed -n "s/^cp: cannot [a-z]* '\([^']*\)'.*/\1/p" | tr '\n' ' ')
  echo "cm-overlay: $src seeded ($n entries${*:+; the image's $*, read-only})${errs:+; root-only entries skipped (root_squash): ${skipped:-$errs}}"
}

for dir in /var/lib /home /etc/cluster-module; do
  [ -d "$dir" ] || continue
  state="/cm/state/$(echo "${dir#/}" | tr / -)"
  keep=""
  [ "$dir" = /var/lib ] && keep=$PACKAGE_STATE
  # (word splitting of $keep is meant: one argument per name)
  # shellcheck disable=SC2086
  [ -d "$state" ] || seed "$dir" "$state" $keep
  mount --bind "$state" "$dir"
done

# the image's package state back over the node's /var/lib: the image's root without the mounts
# on it (a bind of / is not recursive), each entry bound read-only
if [ -d /var/lib ]; then
  image=/run/cm-overlay/image
  mkdir -p "$image"
  mount --bind / "$image"
  for name in $PACKAGE_STATE; do
    src=$image/var/lib/$name
    [ -e "$src" ] || continue
    if [ -d "$src" ]; then mkdir -p "/var/lib/$name"; else [ -e "/var/lib/$name" ] || : >"/var/lib/$name"; fi
    mount --bind "$src" "/var/lib/$name"
    mount -o remount,bind,ro "/var/lib/$name"
  done
  umount "$image"
  rmdir "$image"
fi

if [ -f /cm/state/agent-key ]; then
  if [ -f /etc/cluster-agent/key ]; then
    mount --bind /cm/state/agent-key /etc/cluster-agent/key
    echo "cm-overlay: /etc/cluster-agent/key is this node's own agent key"
  else
    echo "cm-overlay: warning: no /etc/cluster-agent/key in the image to bind this node's key over (install the agent with --key-from-overlay)" >&2
  fi
fi
echo "cm-overlay: $spec mounted at /cm/state; /var/lib, /home, /etc/cluster-module are the node's own"
