#!/bin/sh
# Installs the hub on a Raspberry Pi OS Lite (arm64) hub Pi, from a checkout of this repository:
#   sudo sh scripts/hub/install-hub.sh [--root DIR]
# Puts the code in /opt/cluster-hub, Deno (from the npm registry) in /opt/cluster-hub/bin,
# a `cm` command in /usr/local/bin, and enables the cluster-hub systemd service.
# Settings: /etc/cluster-hub/hub.env (CM_HUB_ARGS="--power-config /etc/cluster-hub/power.json").
# --root DIR installs into another root (an image, a test guest): every path above lives under
# DIR and nothing is started; an arm64 root on an x86 machine gets Deno for arm64 (needs binfmt
# and qemu-user, scripts/pi-lab/deps.sh). --deno-binary PATH uses that Deno instead of the npm
# package's.
set -eu
[ "$(id -u)" = 0 ] || { echo "install-hub: run as root (sudo)" >&2; exit 1; }
src=$(cd "$(dirname "$0")/../.." && pwd)
root=""
deno_bin=""
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || { echo "install-hub: $1 needs a value" >&2; exit 2; }
  case "$1" in
  --root) root=$(cd "$2" && pwd) ;;
  --deno-binary) deno_bin=$2 ;;
  *) echo "install-hub: unknown option $1" >&2; exit 2 ;;
  esac
  shift 2
done
# dest: the path the hub runs from; $root$dest: where it is written now.
dest=${CM_HUB_DEST:-/opt/cluster-hub}
bin_dir=${CM_BIN_DIR:-/usr/local/bin}
mkdir -p "$root$dest/bin" "$root/etc/cluster-hub" "$root$bin_dir"
# Code (no tests, no local state).
tar -C "$src" --exclude=.git --exclude=node_modules --exclude=.data --exclude=.cache \
  --exclude=tests --exclude=test-artifacts -cf - . | tar -C "$root$dest" -xf -

# The root's CPU, from its dynamic loader: an arm64 image installed into from an x86 machine
# gets Deno for arm64, and runs it (deno install / cache below) under qemu-user with the root's
# own libraries (QEMU_LD_PREFIX; binfmt as scripts/pi-lab/deps.sh sets it up).
root_cpu=$(uname -m)
if [ -n "$root" ]; then
  for l in "$root"/lib/ld-linux-*.so.* "$root"/lib64/ld-linux-*.so.*; do
    case "$l" in
    */ld-linux-aarch64.so.1) root_cpu=aarch64 ;;
    */ld-linux-x86-64.so.2) root_cpu=x86_64 ;;
    esac
  done
  export QEMU_LD_PREFIX="$root"
fi
if [ -z "$deno_bin" ] && [ "$root_cpu" != "$(uname -m)" ]; then
  [ "$root_cpu" = aarch64 ] || { echo "install-hub: no Deno for a $root_cpu root; pass --deno-binary" >&2; exit 1; }
  command -v npm >/dev/null || { apt-get update -q && apt-get install -y -q nodejs npm; }
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent @deno/linux-arm64-glibc@2.9.6 >/dev/null && tar -xzf deno-linux-arm64-glibc-*.tgz)
  deno_bin=$tmp/package/deno
  [ -f "$deno_bin" ] || { echo "install-hub: cannot fetch @deno/linux-arm64-glibc@2.9.6 from npm" >&2; exit 1; }
fi
if [ -z "$deno_bin" ]; then
  # Deno from the npm registry (the package ships the binary for this CPU).
  command -v npm >/dev/null || { apt-get update -q && apt-get install -y -q nodejs npm; }
  tmp=$(mktemp -d)
  (cd "$tmp" && npm install --silent --no-audit --no-fund deno@2.9.6)
  deno_bin=$(find "$tmp/node_modules" -type f -name deno -size +10M | head -n 1)
  [ -n "$deno_bin" ] || { echo "install-hub: no deno binary for $(uname -m) in the npm package" >&2; exit 1; }
fi
install -m 0755 "$deno_bin" "$root$dest/bin/deno"
[ -n "${tmp:-}" ] && rm -rf "$tmp"

# Fetch the npm dependencies and compile the code now, so the service starts offline and
# fast. Deno keys its cache of transpiled modules by their absolute path: into another root, it
# runs where the hub will run, $dest, in a private mount namespace where the root's copy is
# mounted there (a cache made at $root$dest missed every module, and the hub on an emulated Pi
# transpiled all of them at each start, minutes under QEMU).
if [ -n "$root" ]; then
  stage=$(mktemp -d)
  unshare -m --propagation private sh -c '
    mount --bind "$0" "$2" && mkdir -p "$3" && mount -t tmpfs cm-install "$3" &&
    mkdir -p "$1" && mount --bind "$2" "$1" &&
    cd "$1" && DENO_DIR="$1/.deno" "$1/bin/deno" install --quiet &&
    DENO_DIR="$1/.deno" "$1/bin/deno" cache hub/main.ts hub/cli/main.ts
  ' "$root$dest" "$dest" "$stage" "$(dirname "$dest")"
  rmdir "$stage"
else
  (cd "$dest" && DENO_DIR="$dest/.deno" "$dest/bin/deno" install --quiet \
    && DENO_DIR="$dest/.deno" "$dest/bin/deno" cache hub/main.ts hub/cli/main.ts)
fi

cat > "$root$bin_dir/cm" <<CM
#!/bin/sh
# The cluster CLI: talks to the local hub; the admin token is read from the hub's data directory.
export CM_DATA_DIR=\${CM_DATA_DIR:-/var/lib/cluster-hub}
export DENO_DIR=$dest/.deno
exec $dest/bin/deno run --cached-only --allow-net --allow-read --allow-env --allow-write $dest/hub/cli/main.ts "\$@"
CM
chmod 0755 "$root$bin_dir/cm"

[ -f "$root/etc/cluster-hub/hub.env" ] || cat > "$root/etc/cluster-hub/hub.env" <<'ENV'
# Extra hub flags, e.g. the real power driver and the module's asset tag:
# CM_HUB_ARGS="--power-config /etc/cluster-hub/power.json --asset-tag CM48A/QA6QDEDP/NMEBW9HT"
CM_HUB_ARGS=""
ENV
mkdir -p "$root/etc/systemd/system"
sed "s#/opt/cluster-hub#$dest#g" "$src/scripts/hub/cluster-hub.service" \
  > "$root/etc/systemd/system/cluster-hub.service"
if [ -n "$root" ]; then
  echo "install-hub: installed into $root (not started)"
elif [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now cluster-hub
  echo "install-hub: running; the admin token is in /var/lib/cluster-hub/token (sudo cm status)"
else
  echo "install-hub: installed; systemd is not running here, start it with: systemctl start cluster-hub"
fi
