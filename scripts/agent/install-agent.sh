#!/bin/sh
# install-agent.sh - puts the node agent into a client (clyde) root, e.g. /pxe/root.
#
#   install-agent.sh --root /pxe/root [--mode bundle|compiled|sh] [--hub URL]
#                    [--key-from-overlay | --key KEY | --key-file PATH]
#                    [--gpio-backend auto|sysfs|chardev] [--deno-binary PATH] [--binary PATH]
#
# The key: every node's agent authenticates as that node, with its own key (nodeNN.…).
#   --key-from-overlay  a netboot root shared by many nodes: no key goes into the root (which
#                       every host on the LAN can read); the hub puts each node's own key into
#                       its overlay and cm-overlay binds it over /etc/cluster-agent/key at boot.
#   --key / --key-file  a root for one node (an SD card, e.g. a Pi Zero W): that node's own key,
#                       from `cm agent-key N` on the hub. The old shared key still works while
#                       the hub allows it (it warns); this script warns too.
#
# Modes (all install /opt/cluster-agent/cluster-agent, taking the same flags):
#   bundle    (default) the agent bundled into one JS file (deno bundle, npm deps inlined) plus
#             an aarch64 Deno: --deno-binary PATH, else fetched with `npm pack
#             @deno/linux-arm64-glibc@<this deno's version>`. Runs offline on Pi 3B/3B+/4 with
#             a 64-bit OS.
#   compiled  a prebuilt `deno compile --target aarch64-unknown-linux-gnu` binary (--binary);
#             building one needs Deno's denort download, unreachable here (docs/agent.md).
#   sh        the POSIX-sh agent (Pi Zero W, ARMv6, where Deno does not run).
# Also installs the systemd unit, its enable symlink, /etc/cluster-agent/agent.json and the
# key (/etc/cluster-agent/key, mode 0600; the unit hands it over as a credential), and the
# gpio group the unit runs with (added to the root's /etc/group when missing) with a udev rule.
set -eu

REPO=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=""
MODE=bundle
HUB=""
KEY=""
KEY_FILE=""
BACKEND=""
DENO_BIN=""
BINARY=""

die() {
	echo "install-agent: $*" >&2
	exit 2
}

FROM_OVERLAY=0
while [ $# -gt 0 ]; do
	if [ "$1" = --key-from-overlay ]; then
		FROM_OVERLAY=1
		shift
		continue
	fi
	[ $# -ge 2 ] || die "$1 needs a value"
	case "$1" in
	--root) ROOT="$2" ;;
	--mode) MODE="$2" ;;
	--hub) HUB="$2" ;;
	--key) KEY="$2" ;;
	--key-file) KEY_FILE="$2" ;;
	--gpio-backend) BACKEND="$2" ;;
	--deno-binary) DENO_BIN="$2" ;;
	--binary) BINARY="$2" ;;
	*) die "unknown option $1" ;;
	esac
	shift 2
done
[ -n "$ROOT" ] || die "give --root, the client root to install into (e.g. /pxe/root)"
[ -d "$ROOT" ] || die "$ROOT is not a directory"
[ -n "$KEY_FILE" ] && KEY=$(cat "$KEY_FILE")
if [ "$FROM_OVERLAY" = 1 ]; then
	[ -z "$KEY" ] || die "give --key-from-overlay or a key (--key, --key-file), not both"
else
	[ -n "$KEY" ] || die "give --key-from-overlay (a netboot root), or --key/--key-file with the node's own key (cm agent-key N)"
	case "$KEY" in
	node[0-9][0-9].*) ;;
	*) echo "install-agent: warning: this is not a node's own key (nodeNN.…): it is the old shared key, which speaks for any node and stops working when the hub runs with --no-shared-agent-key; use cm agent-key N" >&2 ;;
	esac
fi
case "$MODE" in bundle | compiled | sh) ;; *) die "--mode must be bundle, compiled or sh" ;; esac
# The hub goes verbatim into a shell wrapper and a JSON file: refuse anything that would need
# quoting there (a URL never does).
case "$HUB" in
*[[:space:]\'\"\\\$\`]*) die "--hub must be a plain URL (no quotes, backslashes, spaces, \$ or backticks): $HUB" ;;
esac

OPT="$ROOT/opt/cluster-agent"
ETC="$ROOT/etc/cluster-agent"
UNIT_DIR="$ROOT/etc/systemd/system"
mkdir -p "$OPT" "$ETC" "$UNIT_DIR/multi-user.target.wants"

case "$MODE" in
bundle)
	command -v deno >/dev/null || die "deno is needed to bundle the agent"
	(cd "$REPO" && deno bundle --quiet --platform deno -o "$OPT/cluster-agent.js" node-agent/main.ts)
	if [ -z "$DENO_BIN" ]; then
		version=$(deno --version | sed -n 's/^deno \([0-9.]*\).*/\1/p')
		tmp=$(mktemp -d)
		(cd "$tmp" && npm pack --silent "@deno/linux-arm64-glibc@$version" >/dev/null) ||
			die "cannot fetch @deno/linux-arm64-glibc@$version from npm; pass --deno-binary"
		tar -xzf "$tmp"/deno-linux-arm64-glibc-*.tgz -C "$tmp"
		DENO_BIN="$tmp/package/deno"
	fi
	install -m 0755 "$DENO_BIN" "$OPT/deno"
	# --allow-all: Deno grants /proc, /sys and /dev (model, GPIO) to nothing less
	# (docs/permissions.md); the unit's sandbox is what confines the agent.
	# V8: no worker threads (the agent's heap is ~5 MiB: GC and compiling on the main thread
	# cost nothing, two idle threads fewer), and a heap cap, so that a leak ends in a restart
	# (Restart=on-failure) instead of eating the node's memory (docs/agent.md#footprint).
	cat >"$OPT/cluster-agent" <<'WRAP'
#!/bin/sh
exec /opt/cluster-agent/deno run --no-prompt --cached-only --allow-all \
	--v8-flags=--single-threaded,--max-old-space-size=64 \
	/opt/cluster-agent/cluster-agent.js "$@"
WRAP
	chmod 0755 "$OPT/cluster-agent"
	;;
compiled)
	[ -n "$BINARY" ] || die "--mode compiled needs --binary PATH (a deno compile output)"
	install -m 0755 "$BINARY" "$OPT/cluster-agent"
	;;
sh)
	install -m 0755 "$REPO/node-agent/sh/cluster-agent.sh" "$OPT/cluster-agent.sh"
	# The sh agent reads no JSON: the hub travels as a flag (cm.hub= still works without it).
	hub_flag=""
	[ -n "$HUB" ] && hub_flag="--hub '$HUB' "
	# busybox's ash where there is one: its `read -t` naps without a fork (dash's sleep forks).
	cat >"$OPT/cluster-agent" <<WRAP
#!/bin/sh
command -v busybox >/dev/null 2>&1 && exec busybox sh /opt/cluster-agent/cluster-agent.sh $hub_flag"\$@"
exec /bin/sh /opt/cluster-agent/cluster-agent.sh $hub_flag"\$@"
WRAP
	chmod 0755 "$OPT/cluster-agent"
	;;
esac

# The unit's SupplementaryGroups=gpio: systemd refuses to start a unit whose group does not
# exist (Raspberry Pi OS has gpio, Debian does not). Create it in the root's own group files,
# as a system group with the highest free id below 1000, and let udev give it the GPIO chips.
# Done here, at install time: on the read-only NFS root nothing can add it at boot.
# Appends a line to a new copy of FILE (same mode and owner) and renames it over FILE, so a
# root made of hard links to a cached image (scripts/image/image.sh) never changes the cache.
append_line() {
	cp -p "$1" "$1.cm-new"
	printf '%s\n' "$2" >>"$1.cm-new"
	mv "$1.cm-new" "$1"
}
ensure_gpio_group() {
	group="$ROOT/etc/group"
	if [ ! -f "$group" ]; then
		echo "install-agent: warning: $group missing; create a 'gpio' group in the root before it boots" >&2
		return 0
	fi
	grep -q '^gpio:' "$group" && return 0
	gid=999
	while cut -d: -f3 "$group" | grep -qx "$gid"; do
		gid=$((gid - 1))
		[ "$gid" -ge 100 ] || die "no free system group id in $group for the gpio group"
	done
	append_line "$group" "gpio:x:$gid:"
	if [ -f "$ROOT/etc/gshadow" ] && ! grep -q '^gpio:' "$ROOT/etc/gshadow"; then
		append_line "$ROOT/etc/gshadow" 'gpio:!::'
	fi
	echo "install-agent: added group gpio ($gid) to $group"
}
ensure_gpio_group
mkdir -p "$ROOT/etc/udev/rules.d"
cat >"$ROOT/etc/udev/rules.d/60-cluster-agent-gpio.rules" <<'RULES'
# cluster-agent: the gpio group (the agent's SupplementaryGroups=gpio) may use the GPIO chips.
SUBSYSTEM=="gpio", KERNEL=="gpiochip*", GROUP="gpio", MODE="0660"
RULES

install -m 0644 "$REPO/scripts/agent/cluster-agent.service" "$UNIT_DIR/cluster-agent.service"
install -m 0755 "$REPO/scripts/agent/bay-led-setup.sh" "$OPT/bay-led-setup"
# The kernel LED engine's trigger, loaded at boot (harmless where there is no bay LED node).
mkdir -p "$ROOT/etc/modules-load.d"
echo ledtrig-pattern >"$ROOT/etc/modules-load.d/cluster-agent.conf"
ln -sf /etc/systemd/system/cluster-agent.service \
	"$UNIT_DIR/multi-user.target.wants/cluster-agent.service"

{
	printf '{'
	sep=""
	if [ -n "$HUB" ]; then
		printf '"hub":"%s"' "$HUB"
		sep=","
	fi
	[ -n "$BACKEND" ] && printf '%s"gpioBackend":"%s"' "$sep" "$BACKEND"
	printf '}\n'
} >"$ETC/agent.json"
cat >"$OPT/README" <<EOF2
cluster node agent ($MODE), installed by scripts/agent/install-agent.sh.
Settings: /etc/cluster-agent/agent.json, kernel command line cm.hub= cm.node= cm.key=.
EOF2
umask 077
if [ "$FROM_OVERLAY" = 1 ]; then
	# An empty placeholder: the mount point cm-overlay binds the node's own key over. Booted
	# without its overlay, the agent stops with "the file is empty" instead of using a key
	# every node shares.
	: >"$ETC/key"
	chmod 0600 "$ETC/key"
	echo "install-agent: no key in the root: each node's own key comes from its overlay (netboot overlays: true)"
else
	printf '%s\n' "$KEY" >"$ETC/key"
	chmod 0600 "$ETC/key"
fi
echo "install-agent: $MODE agent installed into $ROOT (unit enabled: cluster-agent.service)"
