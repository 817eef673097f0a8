#!/bin/sh
# Installs the hub on a Raspberry Pi OS Lite (arm64) hub Pi, from a checkout of this repository:
#   sudo sh scripts/hub/install-hub.sh
# Puts the code in /opt/cluster-hub, Deno (from the npm registry) in /opt/cluster-hub/bin,
# a `cm` command in /usr/local/bin, and enables the cluster-hub systemd service.
# Settings: /etc/cluster-hub/hub.env (CM_HUB_ARGS="--power-config /etc/cluster-hub/power.json").
set -eu
[ "$(id -u)" = 0 ] || { echo "install-hub: run as root (sudo)" >&2; exit 1; }
src=$(cd "$(dirname "$0")/../.." && pwd)
dest=${CM_HUB_DEST:-/opt/cluster-hub}
command -v npm >/dev/null || { apt-get update -q && apt-get install -y -q nodejs npm; }

mkdir -p "$dest/bin" /etc/cluster-hub
# Code (no tests, no local state).
tar -C "$src" --exclude=.git --exclude=node_modules --exclude=.data --exclude=tests \
  --exclude=test-artifacts -cf - . | tar -C "$dest" -xf -

# Deno from the npm registry (the package ships the binary for this CPU).
tmp=$(mktemp -d)
(cd "$tmp" && npm install --silent --no-audit --no-fund deno@2.9.6)
bin=$(find "$tmp/node_modules" -type f -name deno -size +10M | head -n 1)
[ -n "$bin" ] || { echo "install-hub: no deno binary for $(uname -m) in the npm package" >&2; exit 1; }
install -m 0755 "$bin" "$dest/bin/deno"
rm -rf "$tmp"

# Fetch the npm dependencies now, so the service starts offline.
(cd "$dest" && DENO_DIR="$dest/.deno" "$dest/bin/deno" install --quiet \
  && DENO_DIR="$dest/.deno" "$dest/bin/deno" cache hub/main.ts hub/cli/main.ts)

cat > "${CM_BIN_DIR:-/usr/local/bin}/cm" <<CM
#!/bin/sh
# The cluster CLI: talks to the local hub; the admin token is read from the hub's data directory.
export CM_DATA_DIR=\${CM_DATA_DIR:-/var/lib/cluster-hub}
export DENO_DIR=$dest/.deno
exec $dest/bin/deno run --cached-only --allow-net --allow-read --allow-env $dest/hub/cli/main.ts "\$@"
CM
chmod 0755 "${CM_BIN_DIR:-/usr/local/bin}/cm"

[ -f /etc/cluster-hub/hub.env ] || cat > /etc/cluster-hub/hub.env <<'ENV'
# Extra hub flags, e.g. the real power driver and the module's asset tag:
# CM_HUB_ARGS="--power-config /etc/cluster-hub/power.json --asset-tag CM48A/QA6QDEDP/NMEBW9HT"
CM_HUB_ARGS=""
ENV
sed "s#/opt/cluster-hub#$dest#g" "$src/scripts/hub/cluster-hub.service" \
  > /etc/systemd/system/cluster-hub.service
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl enable --now cluster-hub
  echo "install-hub: running; the admin token is in /var/lib/cluster-hub/token (sudo cm status)"
else
  echo "install-hub: installed; systemd is not running here, start it with: systemctl start cluster-hub"
fi
