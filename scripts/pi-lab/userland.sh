#!/bin/sh
# userland.sh - what a bare Pi lab guest needs to run Deno, fetched once into the machine-wide
# cache (scripts/lib/cache-dir.sh, pi-lab/): Debian's libc6 and libgcc-s1 for ARCH unpacked
# into root/ (the dynamic loader and libraries Deno links against), and Deno for that CPU from
# the npm registry (@deno/linux-arm64-glibc at VERSION) as deno.
#   scripts/pi-lab/userland.sh arm64 DENO_VERSION     prints the directory
set -eu
PROJ=$(cd "$(dirname "$0")/../.." && pwd)
ARCH=${1:?arm64}; V=${2:?deno version}
[ "$ARCH" = arm64 ] || { echo "pi-lab: Deno runs on arm64 only (not $ARCH)" >&2; exit 2; }
OUT=$(sh "$PROJ/scripts/lib/cache-dir.sh" pi-lab)/userland-$ARCH-deno-$V
[ -e "$OUT/.ready" ] && { echo "$OUT"; exit 0; }
rm -rf "$OUT" && mkdir -p "$OUT/debs" "$OUT/root" "$OUT/npm"
(cd "$OUT/debs" && apt-get download -q "libc6:$ARCH" "libgcc-s1:$ARCH" >/dev/null 2>&1) ||
  { echo "pi-lab: cannot download libc6:$ARCH libgcc-s1:$ARCH" >&2; exit 1; }
for d in "$OUT"/debs/*.deb; do dpkg-deb -x "$d" "$OUT/root"; done
rm -rf "$OUT/root/usr/share"
(cd "$OUT/npm" && npm pack --silent "@deno/linux-$ARCH-glibc@$V" >/dev/null) ||
  { echo "pi-lab: cannot fetch @deno/linux-$ARCH-glibc@$V from npm" >&2; exit 1; }
tar -xzf "$OUT"/npm/deno-linux-*.tgz -C "$OUT/npm"
install -m 0755 "$OUT/npm/package/deno" "$OUT/deno"
rm -rf "$OUT/debs" "$OUT/npm"
touch "$OUT/.ready"
echo "$OUT"
