#!/bin/sh
# cache-dir.sh - prints the machine-wide cache folder for built artefacts that a fresh clone on
# the same machine (CI) should reuse: the arm64 node image and the Pi lab's kernel pieces.
# Outside the checkout, so `git clean` or a new clone does not throw away minutes of building.
#   $CLUSTER_HUB_CACHE, else $XDG_CACHE_HOME/cluster-hub, else /var/cache/cluster-hub as root,
#   else ~/.cache/cluster-hub.     Usage: sh scripts/lib/cache-dir.sh [SUBDIR]
set -eu
if [ -n "${CLUSTER_HUB_CACHE:-}" ]; then d=$CLUSTER_HUB_CACHE
elif [ -n "${XDG_CACHE_HOME:-}" ]; then d=$XDG_CACHE_HOME/cluster-hub
elif [ "$(id -u)" = 0 ]; then d=/var/cache/cluster-hub
else d=${HOME:-/tmp}/.cache/cluster-hub; fi
[ $# -gt 0 ] && d=$d/$1
mkdir -p "$d"
echo "$d"
