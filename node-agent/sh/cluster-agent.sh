#!/bin/sh
# cluster-agent.sh - the minimal node agent for the Pi Zero W (ARMv6: Deno does not run there).
#
# Same job and wire protocol as node-agent/main.ts, in POSIX sh plus curl (or wget):
#  - drives the bay LED (BCM GPIO 21) through sysfs, handling the kernel >= 6.6 base offset;
#  - patterns heartbeat (inverted on the Zero W: off 900 ms, on 100 ms), identify, fault, on,
#    off, scheduled against an absolute time base (edge times computed from the pattern's
#    start, never by chaining sleeps; a late wake-up skips to the edge due now);
#  - POSTs a Heartbeat to ${hub}/api/v1/agent/heartbeat with "Authorization: Bearer KEY" from a
#    background loop (timeout, capped exponential backoff with jitter), so the LED never waits
#    for the network; shows `fault` after --fault-ms (at least 2 intervals + the 2 s request
#    timeout) without a good reply. The key reaches curl in a 0600 config file, never argv.
# On SIGTERM/SIGINT it turns the LED off, unexports the line and exits 0.
#
# Usage: cluster-agent.sh [--hub URL] [--key KEY | --key-file PATH] [--node N] [--gpio N]
#          [--sysfs-root DIR] [--root DIR] [--interval-ms MS] [--fault-ms MS]
#          [--model pi3b|pi3b+|pi4|pi0w] [--hostname NAME] [--clock auto|date|uptime]
#          [--led-engine auto|kernel|agent]
# LED engines: `kernel` (where $SYSFS_ROOT/class/leds/bay has the pattern trigger: the kernel
# blinks, the agent restarts a 2 s dead-man pattern once a second on the wall clock's grid, and
# reports from the same loop: under busybox over one kept-alive connection, forking nothing per
# heartbeat; elsewhere forking curl per heartbeat) or `agent` (GPIO 21 via sysfs,
# written per edge); `auto` takes the kernel's where it can and says so once otherwise.
# Defaults come from the kernel command line (cm.hub= cm.node= cm.key=) under --root.
set -u

VERSION="0.1.0-sh"
HUB=""
KEY=""
KEY_FILE=""
NODE=""
GPIO=21
SYSFS_ROOT=/sys
ROOT=""
INTERVAL_MS=1000
FAULT_MS=5000
TIMEOUT_S=2
MODEL=""
HOST=""
CLOCK=auto
LED_ENGINE=auto

die() {
	echo "cluster-agent: $*" >&2
	exit 2
}
log() { echo "cluster-agent: $*" >&2; }

while [ $# -gt 0 ]; do
	case "$1" in
	--hub) HUB="$2" ;;
	--key) KEY="$2" ;;
	--key-file) KEY_FILE="$2" ;;
	--node) NODE="$2" ;;
	--gpio) GPIO="$2" ;;
	--sysfs-root) SYSFS_ROOT="$2" ;;
	--root) ROOT="$2" ;;
	--interval-ms) INTERVAL_MS="$2" ;;
	--fault-ms) FAULT_MS="$2" ;;
	--model) MODEL="$2" ;;
	--hostname) HOST="$2" ;;
	--clock) CLOCK="$2" ;;
	--led-engine) LED_ENGINE="$2" ;;
	-h | --help)
		sed -n '2,24p' "$0"
		exit 0
		;;
	*) die "unknown option $1 (see --help)" ;;
	esac
	[ $# -ge 2 ] || die "$1 needs a value"
	shift 2
done

# --- small helpers ---------------------------------------------------------------------------

# read_file PATH: the file's first line with NULs dropped (device-tree strings end in NUL).
read_file() {
	[ -r "$1" ] || return 1
	tr -d '\000' <"$1" | head -n 1
}

# tick: sets NOW to milliseconds on one time base (date +%s%N, one fork; /proc/uptime, no
# fork but 10 ms steps, where date lacks %N or with --clock uptime). Call it directly, never
# in $(...): that would fork a subshell on top.
case "$CLOCK" in
auto) case "$(date +%N)" in *[!0-9]* | "") CLOCK=uptime ;; *) CLOCK=date ;; esac ;;
date | uptime) ;;
*) die "--clock must be auto, date or uptime, not $CLOCK" ;;
esac
if [ "$CLOCK" = uptime ]; then
	tick() {
		read -r up _ <"$ROOT/proc/uptime"
		frac=${up#*.}
		frac=${frac#0} # hundredths: "08" would be read as (invalid) octal
		NOW=$((${up%.*} * 1000 + 10 * ${frac:-0}))
	}
else
	tick() {
		t=$(date +%s%N)
		NOW=$((t / 1000000))
	}
fi

# sleep_ms MS: sleeps a fractional number of seconds.
sleep_ms() {
	[ "$1" -gt 0 ] || return 0
	ms=$(($1 % 1000))
	[ $ms -ge 100 ] || ms="0$ms"
	[ $ms -ge 10 ] || ms="0$ms"
	sleep "$(($1 / 1000)).$ms"
}

# fault_limit INTERVAL_MS: sets LIMIT, the fault threshold for that heartbeat interval: never
# below two intervals plus the request timeout, or a long interval would show fault between
# heartbeats.
fault_limit() {
	LIMIT=$((2 * $1 + TIMEOUT_S * 1000))
	[ "$LIMIT" -gt "$FAULT_MS" ] || LIMIT=$FAULT_MS
}

# json_str TEXT: TEXT as a JSON string.
json_str() {
	printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g')"
}

# --- settings from the kernel command line ---------------------------------------------------

for word in $(read_file "$ROOT/proc/cmdline" || true); do
	case "$word" in
	cm.hub=*) [ -n "$HUB" ] || HUB="${word#cm.hub=}" ;;
	cm.node=*) [ -n "$NODE" ] || NODE="${word#cm.node=}" ;;
	cm.key=*) [ -n "$KEY" ] || KEY="${word#cm.key=}" ;;
	esac
done
[ -n "$KEY_FILE" ] && { KEY=$(read_file "$KEY_FILE") || die "cannot read the agent key from $KEY_FILE"; }
[ -n "$HUB" ] || HUB="http://10.42.0.250:4242"
[ -n "$KEY" ] || die "no agent key: give --key or --key-file, or cm.key= on the kernel command line"
case "$NODE" in "" | [1-9] | [1-5][0-9] | 60) ;; *) die "--node must be 1 to 60, not $NODE" ;; esac
# A node's own key (nodeNN.<43 base64url characters>, shared/agent_key.ts) names its node: it
# is the node when nothing else says, and a node id that contradicts it is refused here, as the
# hub would refuse every heartbeat.
KEY_NODE=""
case "$KEY" in
node[0-9][0-9].*)
	rest=${KEY#node??.}
	if [ ${#rest} -eq 43 ] && [ -z "$(printf '%s' "$rest" | tr -d 'A-Za-z0-9_-')" ]; then
		KEY_NODE=${KEY#node}
		KEY_NODE=${KEY_NODE%%.*}
		KEY_NODE=${KEY_NODE#0}
		case "$KEY_NODE" in [1-9] | [1-5][0-9] | 60) ;; *) KEY_NODE="" ;; esac
	fi
	;;
esac
if [ -n "$KEY_NODE" ]; then
	[ -n "$NODE" ] || NODE=$KEY_NODE
	[ "$NODE" = "$KEY_NODE" ] ||
		die "the agent key is node $KEY_NODE's, but this agent is set to be node $NODE: give it node $NODE's key (cm agent-key $NODE on the hub), or fix its node id"
fi
case "$LED_ENGINE" in auto | kernel | agent) ;; *) die "--led-engine must be kernel or agent, not $LED_ENGINE" ;; esac

# --- identity --------------------------------------------------------------------------------

BOARD=$(read_file "$ROOT/proc/device-tree/model" || sed -n 's/^Model[[:space:]]*: //p' "$ROOT/proc/cpuinfo" 2>/dev/null)
BOARD=${BOARD:-}
if [ -z "$MODEL" ]; then
	case "$BOARD" in
	"Raspberry Pi 3 Model B Plus"* | "Raspberry Pi 3 Model B+"*) MODEL="pi3b+" ;;
	"Raspberry Pi 3 Model B"*) MODEL="pi3b" ;;
	"Raspberry Pi 4 Model B"*) MODEL="pi4" ;;
	"Raspberry Pi Zero W"*) MODEL="pi0w" ;;
	*)
		MODEL="unknown"
		log "warning: board model unknown ($BOARD): standard heartbeat"
		;;
	esac
fi
SERIAL=$(read_file "$ROOT/proc/device-tree/serial-number" || sed -n 's/^Serial[[:space:]]*: //p' "$ROOT/proc/cpuinfo" 2>/dev/null)
MAC=null
for ifc in eth0 wlan0; do
	a=$(read_file "$ROOT/sys/class/net/$ifc/address" | tr 'A-F' 'a-f') || continue
	case "$a" in ??:??:??:??:??:??) [ "$a" != "00:00:00:00:00:00" ] && MAC="\"$a\"" && break ;; esac
done
[ -n "$HOST" ] || HOST=$(read_file "$ROOT/etc/hostname" || hostname)
if [ -z "$NODE" ]; then
	case "$HOST" in node[0-9]*)
		n=$(echo "$HOST" | sed -n 's/^node0*\([0-9][0-9]*\).*/\1/p')
		[ -n "$n" ] && [ "$n" -ge 1 ] && [ "$n" -le 60 ] && NODE=$n
		;;
	esac
fi
if [ -n "$NODE" ]; then NODE_JSON="\"node\":$NODE,"; else NODE_JSON=""; fi
IDENTITY="{$NODE_JSON\"hostname\":$(json_str "$HOST"),\"model\":\"$MODEL\",\"boardName\":$(json_str "$BOARD"),\"serial\":$(json_str "${SERIAL:-}"),\"mac\":$MAC,\"agentVersion\":\"$VERSION\"}"

# health: sets HEALTH to the health JSON, with shell builtins only (no fork: this runs every
# heartbeat, and on a Zero W each fork costs milliseconds of its one core).
health() {
	up=0
	load=0
	total=0
	avail=0
	t=""
	[ -r "$ROOT/proc/uptime" ] && read -r up _ <"$ROOT/proc/uptime"
	[ -r "$ROOT/proc/loadavg" ] && read -r load _ <"$ROOT/proc/loadavg"
	if [ -r "$ROOT/proc/meminfo" ]; then
		while read -r k v _; do
			case "$k" in
			MemTotal:) total=$v ;;
			MemAvailable:) avail=$v ;;
			esac
		done <"$ROOT/proc/meminfo"
	fi
	[ -r "$ROOT/sys/class/thermal/thermal_zone0/temp" ] &&
		read -r t <"$ROOT/sys/class/thermal/thermal_zone0/temp"
	case "$t" in
	"" | *[!0-9-]*) temp=null ;;
	*)
		sign=""
		case "$t" in -*)
			sign=-
			t=${t#-}
			;;
		esac
		m=$((t % 1000))
		[ $m -ge 100 ] || m="0$m"
		[ $m -ge 10 ] || m="0$m"
		temp="$sign$((t / 1000)).$m"
		;;
	esac
	case "$total" in "" | *[!0-9]*) total=0 ;; esac
	case "$avail" in "" | *[!0-9]*) avail=0 ;; esac
	throttled
	HEALTH="{\"uptimeSeconds\":${up:-0},\"load1\":${load:-0},\"memTotalBytes\":$((total * 1024)),\"memAvailableBytes\":$((avail * 1024)),\"cpuTempCelsius\":$temp,\"throttled\":$TH}"
}

# throttled: sets TH to the firmware's throttling flags as a number: the sysfs file (bare hex,
# read with a builtin), else `vcgencmd get_throttled` (throttled=0x...), else null.
throttled() {
	tv=""
	[ -r "$ROOT/sys/devices/platform/soc/soc:firmware/get_throttled" ] &&
		read -r tv <"$ROOT/sys/devices/platform/soc/soc:firmware/get_throttled"
	if [ -z "$tv" ] && command -v vcgencmd >/dev/null 2>&1; then
		tv=$(vcgencmd get_throttled 2>/dev/null) || tv=""
		tv=${tv#throttled=}
	fi
	tv=${tv#0x}
	case "$tv" in
	"" | *[!0-9a-fA-F]* | ?????????*) TH=null ;;
	*) TH=$((0x$tv)) ;;
	esac
}

# --- LED engine ------------------------------------------------------------------------------

# The bay LED node (dtoverlay=gpio-led,gpio=21,label=bay,...) with ledtrig-pattern: the kernel
# blinks. The unit's ExecStartPre selects the trigger as root and hands the files to the gpio
# group; without it the agent selects it here when it may.
LEDDIR="$SYSFS_ROOT/class/leds/bay"
ENGINE=agent
if [ "$LED_ENGINE" != agent ]; then
	why=""
	trig=""
	if ! { read -r trig <"$LEDDIR/trigger"; } 2>/dev/null; then
		why="no bay LED node ($LEDDIR)"
	else
		case " $trig " in
		*" [pattern] "*) ;;
		*" pattern "*) { echo pattern >"$LEDDIR/trigger"; } 2>/dev/null || why="cannot select $LEDDIR's pattern trigger" ;;
		*) why="$LEDDIR has no pattern trigger (load ledtrig-pattern)" ;;
		esac
	fi
	if [ -z "$why" ] && ! { echo "0 1000 0 0" >"$LEDDIR/pattern"; } 2>/dev/null; then
		why="cannot drive $LEDDIR's pattern trigger"
	fi
	if [ -z "$why" ]; then
		ENGINE=kernel
	elif [ "$LED_ENGINE" = kernel ]; then
		die "--led-engine kernel: $why"
	else
		log "$why: the agent blinks the bay LED itself (LED engine agent)"
	fi
fi

# --- GPIO through sysfs (LED engine agent) ----------------------------------------------------

GPIODIR="$SYSFS_ROOT/class/gpio"
if [ "$ENGINE" = agent ]; then
BASE=""
for chip in "$GPIODIR"/gpiochip*; do
	[ -d "$chip" ] || continue
	case "$(read_file "$chip/label")" in
	pinctrl-bcm2835 | pinctrl-bcm2711 | pinctrl-bcm2712 | pinctrl-rp1)
		BASE=$(read_file "$chip/base")
		break
		;;
	esac
done
[ -n "$BASE" ] || die "no Raspberry Pi GPIO chip under $GPIODIR (is CONFIG_GPIO_SYSFS enabled?)"
LINE=$((BASE + GPIO))
VALUE="$GPIODIR/gpio$LINE/value"
if [ ! -d "$GPIODIR/gpio$LINE" ]; then
	echo "$LINE" >"$GPIODIR/export" || die "cannot export GPIO $GPIO (line $LINE)"
fi
# udev makes the new files writable a moment after export: try for up to 2 s.
tries=0
until echo low >"$GPIODIR/gpio$LINE/direction" 2>/dev/null; do
	tries=$((tries + 1))
	[ $tries -lt 200 ] || die "cannot set $GPIODIR/gpio$LINE/direction"
	sleep 0.01
done
fi

# --- state shared between the LED loop and the reporter --------------------------------------

# Each file has one writer and is replaced whole (put); readers keep their last value when a
# read comes back empty.
STATE=$(mktemp -d "${TMPDIR:-/tmp}/cluster-agent.XXXXXX") || die "cannot make a state directory"

# put NAME VALUE: writes $STATE/NAME atomically (a temp file renamed into place), so the other
# loop never sees it truncated.
put() {
	printf '%s\n' "$2" >"$STATE/$1.tmp" && mv -f "$STATE/$1.tmp" "$STATE/$1"
}

put hub_led null
tick
put last_ok "$NOW"
fault_limit "$INTERVAL_MS"
put fault_ms "$LIMIT"
put shown heartbeat
REPORTER=""

# The key goes to curl in a config file in the private (0700) state directory, never on a
# command line, where ps and /proc/*/cmdline would show it. wget (busybox) cannot read headers
# from a file: without curl the key is on wget's command line.
if command -v curl >/dev/null 2>&1; then
	HTTP=curl
	(
		umask 077
		printf 'header = "Authorization: Bearer %s"\n' \
			"$(printf '%s' "$KEY" | sed 's/\\/\\\\/g; s/"/\\"/g')" >"$STATE/curl.conf"
	) || die "cannot write $STATE/curl.conf"
else
	HTTP=wget
	log "warning: no curl, using wget: the agent key is visible in ps while a heartbeat is sent"
	# BusyBox's wget (1.35, Debian bookworm) segfaults on -T (seen on the real kernel): bound it
	# with timeout(1) instead; GNU wget takes -T.
	WGET_T="-T $TIMEOUT_S"
	WGET_BOUND=""
	if wget --help 2>&1 | grep -q BusyBox; then
		WGET_T=""
		command -v timeout >/dev/null 2>&1 && WGET_BOUND="timeout $TIMEOUT_S"
	fi
fi

cleanup() {
	[ -n "$REPORTER" ] && kill "$REPORTER" 2>/dev/null
	if [ "$ENGINE" = kernel ]; then
		[ -n "$CURL" ] && [ "$CURL" != ka ] && kill "$CURL" 2>/dev/null
		[ -n "$NC" ] && kill "$NC" 2>/dev/null
		{ echo "0 1000 0 0" >"$LEDDIR/pattern" && echo 1 >"$LEDDIR/repeat"; } 2>/dev/null
		rm -rf "$STATE"
		log "stopped: bay LED dark"
		exit 0
	fi
	echo 0 >"$VALUE" 2>/dev/null
	echo "$LINE" >"$GPIODIR/unexport" 2>/dev/null
	rm -rf "$STATE"
	log "stopped: LED off, GPIO $GPIO released"
	exit 0
}
CURL=""
NC=""
KA=0
trap cleanup TERM INT

# --- reporter (background) -------------------------------------------------------------------

random_unit_1000() { # 0..999
	r=$(od -An -N2 -tu2 /dev/urandom 2>/dev/null | tr -d ' ')
	echo $((${r:-0} % 1000))
}

# failed: counts a failed heartbeat (said once) and sets BACKOFF, the wait before the next:
# d/2 + jitter x d/2 with d = min(10 s, interval x 2^(failures-1)).
failed() {
	failures=$((failures + 1))
	[ $failures -eq 1 ] && log "heartbeat failed: no good reply from $HUB"
	f=$failures
	[ $f -gt 5 ] && f=5
	d=$((interval << (f - 1)))
	[ $d -gt 10000 ] && d=10000
	BACKOFF=$((d / 2 + d * $(random_unit_1000) / 2000))
}

post() { # post BODY -> writes the reply to $STATE/reply; success only on HTTP 200
	url="${HUB%/}/api/v1/agent/heartbeat"
	if [ "$HTTP" = curl ]; then
		code=$(curl -s -K "$STATE/curl.conf" -m "$TIMEOUT_S" -o "$STATE/reply" -w '%{http_code}' \
			-H "Content-Type: application/json" --data-binary "$1" "$url") || return 1
		[ "$code" = 200 ]
	else
		# shellcheck disable=SC2086 # WGET_BOUND and WGET_T are words or empty
		$WGET_BOUND wget -q $WGET_T -O "$STATE/reply" --header="Authorization: Bearer $KEY" \
			--header="Content-Type: application/json" --post-data="$1" "$url"
	fi
}

# parse_reply: sets led and iv from the hub's reply in $STATE/reply. The reply is one line of
# JSON: taken apart with builtins, no cat or sed forks.
parse_reply() {
	reply=""
	read -r reply <"$STATE/reply" || :
	case "$reply" in
	*'"led":null'*) led=null ;;
	*'"led":"'*)
		led=${reply#*\"led\":\"}
		led=${led%%\"*}
		;;
	*) led="" ;;
	esac
	case "$reply" in
	*'"intervalMs":'*)
		iv=${reply#*\"intervalMs\":}
		iv=${iv%%[!0-9]*}
		;;
	*) iv="" ;;
	esac
}

report_loop() {
	trap - TERM INT
	seq=0
	failures=0
	interval=$INTERVAL_MS
	shown=heartbeat
	hub_led=null
	while :; do
		tick
		started=$NOW
		# Epoch ms: the date clock's NOW is one; the uptime clock's is not.
		if [ "$CLOCK" = date ]; then sent_at=$NOW; else sent_at=$(($(date +%s) * 1000)); fi
		read -r v <"$STATE/shown" && [ -n "$v" ] && shown=$v
		health
		body="{\"identity\":$IDENTITY,\"health\":$HEALTH,\"led\":\"$shown\",\"ledEngine\":\"$ENGINE\",\"seq\":$seq,\"sentAt\":$sent_at}"
		seq=$((seq + 1))
		if post "$body"; then
			parse_reply
			case "$led" in heartbeat | identify | fault | on | off | null)
				[ "$led" = "$hub_led" ] || { put hub_led "$led" && hub_led=$led; }
				;;
			esac
			if [ -n "$iv" ] && [ "$iv" -gt 0 ] && [ "$iv" != "$interval" ]; then
				interval=$iv
				fault_limit "$interval"
				put fault_ms "$LIMIT"
			fi
			tick
			put last_ok "$NOW"
			[ $failures -gt 0 ] && log "hub answers again after $failures failed heartbeat(s)"
			failures=0
			wait_ms=$((started + interval - NOW))
		else
			failed
			wait_ms=$BACKOFF
		fi
		sleep_ms "$wait_ms"
	done
}
# --- kernel LED engine: one loop for the restarts and the heartbeats ---------------------------

# kernel_pattern MODE: sets PAT, the mode's dead-man pattern for ledtrig-pattern, as
# shared/led/kernel_pattern.ts makes it (a test compares them): the mode in LED terms (the
# device tree's active_low inverts the Zero W's GPIO) for 2 s, as step pairs, ending dark.
kernel_pattern() {
	case "$1" in
	heartbeat) PAT="1 900 1 0 0 100 0 0 1 900 1 0 0 100 0 0" ;;
	identify)
		PAT="1 100 1 0 0 100 0 0"
		PAT="$PAT $PAT $PAT $PAT $PAT"
		PAT="$PAT $PAT"
		;;
	fault)
		PAT="1 100 1 0 0 100 0 0 1 100 1 0 0 700 0 0"
		PAT="$PAT $PAT"
		;;
	on) PAT="1 1000 1 0 1 1000 1 0 0 0" ;;
	*) PAT="0 1000 0 0 0 1000 0 0" ;;
	esac
}

# uptime_ms: sets U, the machine's /proc/uptime in ms (a builtin read: no fork; 10 ms steps),
# plus 5: on average the uptime is half a step past what it says.
uptime_ms() {
	read -r up _ </proc/uptime
	frac=${up#*.}
	frac=${frac#0}
	U=$((${up%.*} * 1000 + 10 * ${frac:-0} + 5))
}

# epoch_sync: OFFSET = wall clock - uptime (ms), taken just after the uptime ticks: one `date`
# fork, again every 64 s (NTP may have moved the wall clock).
epoch_sync() {
	uptime_ms
	u0=$U
	i=0
	while [ "$U" = "$u0" ] && [ $i -lt 500 ]; do
		uptime_ms
		i=$((i + 1))
	done
	if [ "$CLOCK" = date ]; then
		t=$(date +%s%N)
		OFFSET=$((t / 1000000 - U))
	else
		OFFSET=$(($(date +%s) * 1000 - U))
	fi
	SYNCED=$U
}

# ktick: sets NOW, wall-clock ms from the uptime and OFFSET (no fork between syncs).
ktick() {
	uptime_ms
	[ $((U - SYNCED)) -lt 64000 ] || epoch_sync
	NOW=$((U + OFFSET))
}

# nap MS: sleeps; with a shell whose read takes -t (busybox ash, bash) a read with a timeout
# on a FIFO nobody writes (no fork), else sleep(1).
nap() {
	[ "$1" -gt 0 ] || return 0
	ms=$(($1 % 1000))
	[ $ms -ge 100 ] || ms="0$ms"
	[ $ms -ge 10 ] || ms="0$ms"
	if [ "$NAP" = read ]; then
		read -t "$(($1 / 1000)).$ms" _ <&3 2>/dev/null || :
	else
		sleep "$(($1 / 1000)).$ms" &
		wait $!
	fi
}

# post_bg BODY: sends a heartbeat in the background (CURL is its pid); $STATE/code gets the
# HTTP status (000 on failure) when it is done, $STATE/reply the answer.
post_bg() {
	url="${HUB%/}/api/v1/agent/heartbeat"
	: >"$STATE/code"
	if [ "$HTTP" = curl ]; then
		curl -s -K "$STATE/curl.conf" -m "$TIMEOUT_S" -o "$STATE/reply" -w '%{http_code}\n' \
			-H "Content-Type: application/json" --data-binary "$1" "$url" >"$STATE/code" 2>/dev/null &
	else
		(
			# shellcheck disable=SC2086 # WGET_BOUND and WGET_T are words or empty
			if $WGET_BOUND wget -q $WGET_T -O "$STATE/reply" --header="Authorization: Bearer $KEY" \
				--header="Content-Type: application/json" --post-data="$1" "$url" 2>/dev/null; then
				echo 200
			else
				echo 000
			fi >"$STATE/code"
		) &
	fi
	CURL=$!
}

# --- the kernel engine's transport: one kept-alive connection to the hub ---------------------

# With busybox (its nc) and a shell whose read takes -t and -n (busybox ash), an http:// hub is
# reached over one TCP connection kept open across heartbeats: `busybox nc HOST PORT` between
# two FIFOs, started once (again only when the hub closed it or a heartbeat failed). A
# heartbeat is then builtins only (printf the request, read the answer at the next pass): no
# fork per heartbeat (curl's start costs a Zero W milliseconds of its one core). The key goes
# to the FIFO, never on a command line. Otherwise (dash, https, no busybox) curl per heartbeat.

# keep_alive_setup: sets KA=1 and HUB_HOST, HUB_PORT, HUB_HP, HUB_PATH where the connection
# can be kept (else KA=0).
keep_alive_setup() {
	KA=0
	[ "$NAP" = read ] && [ "$HTTP" = curl ] || return 0
	case "$HUB" in http://*) ;; *) return 0 ;; esac
	command -v busybox >/dev/null 2>&1 && busybox --list 2>/dev/null | grep -qx nc || return 0
	HUB_HP=${HUB#http://}
	HUB_HP=${HUB_HP%%/*}
	HUB_PATH=${HUB#http://"$HUB_HP"}
	HUB_PATH="${HUB_PATH%/}/api/v1/agent/heartbeat"
	case "$HUB_HP" in *"["* | *@*) return 0 ;; *:*) HUB_HOST=${HUB_HP%:*} HUB_PORT=${HUB_HP##*:} ;; *) HUB_HOST=$HUB_HP HUB_PORT=80 ;; esac
	case "$HUB_PORT" in "" | *[!0-9]*) return 0 ;; esac
	# Content-Length is ${#body}: characters, so bytes only for ASCII (health is numbers)
	case "$IDENTITY$KEY" in *[!\ -~]*) return 0 ;; esac
	CR=$(printf '\r')
	KA=1
	NC=""
	ka_fifos
}

# ka_fifos: fresh FIFOs (nothing left of an earlier connection), fd 4 to the hub, fd 5 from it;
# both held open read-write, so that opening them never blocks and nc never sees EOF.
ka_fifos() {
	exec 4>&- 5<&-
	rm -f "$STATE/to_hub" "$STATE/from_hub"
	mkfifo -m 600 "$STATE/to_hub" "$STATE/from_hub" || { KA=0 && return 0; }
	exec 4<>"$STATE/to_hub" 5<>"$STATE/from_hub"
}

# ka_close: drops the connection (nc killed and reaped) and the FIFOs' contents.
ka_close() {
	[ -n "$NC" ] && { kill "$NC" 2>/dev/null; wait "$NC" 2>/dev/null; }
	NC=""
	ka_fifos
}

# ka_send BODY: sends a heartbeat on the kept connection (connecting first when there is none).
ka_send() {
	if [ -n "$NC" ] && ! kill -0 "$NC" 2>/dev/null; then ka_close; fi # the hub closed it
	if [ -z "$NC" ]; then
		busybox nc "$HUB_HOST" "$HUB_PORT" <"$STATE/to_hub" >"$STATE/from_hub" 2>/dev/null &
		NC=$!
	fi
	printf 'POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n%s' \
		"$HUB_PATH" "$HUB_HP" "$KEY" "${#1}" "$1" >&4
}

# ka_read: the answer to the heartbeat sent, if it has come: sets code to its HTTP status and
# writes its body to $STATE/reply (builtins only); code stays empty while none has come.
ka_read() {
	code=""
	line=""
	# Up to 0.5 s for the answer to begin (the restart is done and the nap's end is absolute):
	# a read that times out part-way through a line loses what it read, and on a starved
	# ARMv6 a short timeout did.
	read -r -t 0.5 line <&5 2>/dev/null || return 0
	case "$line" in
	"HTTP/1."?" "[0-9][0-9][0-9]*) ;;
	*)
		code=000
		return 0
		;;
	esac
	status=${line#HTTP/1.? }
	status=${status%%[!0-9]*}
	len=""
	closing=0
	while read -r -t 1 line <&5; do
		line=${line%"$CR"}
		[ -n "$line" ] || break
		case "$line" in
		[Cc][Oo][Nn][Tt][Ee][Nn][Tt]-[Ll][Ee][Nn][Gg][Tt][Hh]:*)
			len=${line#*:}
			len=${len# }
			;;
		[Cc][Oo][Nn][Nn][Ee][Cc][Tt][Ii][Oo][Nn]:*[Cc][Ll][Oo][Ss][Ee]*) closing=1 ;;
		esac
	done
	case "$len" in
	"" | *[!0-9]*) # not framed by a length (chunked, or up to close): not on this connection
		code=000
		return 0
		;;
	esac
	body=""
	if [ "$len" -gt 0 ]; then
		read -r -t 1 -n "$len" body <&5 || {
			code=000
			return 0
		}
	fi
	printf '%s\n' "$body" >"$STATE/reply"
	code=$status
	[ $closing = 0 ] || ka_close
}

kernel_loop() {
	NAP=sleep
	if mkfifo "$STATE/nap" 2>/dev/null && exec 3<>"$STATE/nap"; then
		{ read -t 0.001 _ <&3; } 2>/dev/null
		[ $? = 2 ] || NAP=read # dash: "Illegal option -t", status 2
	fi
	keep_alive_setup
	mode=""
	hub_led=null
	interval=$INTERVAL_MS
	seq=0
	failures=0
	led_failing=0
	epoch_sync
	ktick
	last_ok=$NOW
	next_hb=$NOW
	fault_limit "$interval"
	if [ "$KA" = 1 ]; then transport="one kept-alive connection (busybox nc)"; else transport=$HTTP; fi
	log "the kernel blinks the bay LED ($LEDDIR, restarted on the grid; naps: $NAP; heartbeats: $transport)"
	target=""
	adj=0 # how late naps end (ms, a running mean): the next nap ends that much earlier
	while :; do
		ktick
		if [ -n "$target" ]; then
			late=$((NOW - target + adj)) # after the nap's intended end
			[ $late -ge 0 ] || late=0
			[ $late -le 300 ] && adj=$(((3 * adj + late) / 4))
		fi
		# 1. The LED first, on time: the mode's pattern when it changes, else a restart.
		if [ $((NOW - last_ok)) -ge "$LIMIT" ]; then
			want=fault
		elif [ "$hub_led" = null ]; then
			want=heartbeat
		else
			want=$hub_led
		fi
		if [ "$want" != "$mode" ]; then
			[ "$want" = fault ] && log "no reply from the hub for $((NOW - last_ok)) ms: LED shows fault"
			kernel_pattern "$want"
			{ echo "$PAT" >"$LEDDIR/pattern"; } 2>/dev/null && mode=$want
		fi
		if { echo 1 >"$LEDDIR/repeat"; } 2>/dev/null; then
			[ $led_failing = 1 ] && log "$LEDDIR: writes work again"
			led_failing=0
		else
			[ $led_failing = 1 ] || log "$LEDDIR: write failed"
			led_failing=1
		fi
		# 2. A heartbeat that finished since the last pass.
		if [ -n "$CURL" ]; then
			code=""
			if [ "$KA" = 1 ]; then
				ka_read
				# no answer in time, or the connection gone: a failed heartbeat
				if [ -z "$code" ] && { [ $((NOW - hb_sent)) -ge $((TIMEOUT_S * 1000)) ] ||
					! kill -0 "$NC" 2>/dev/null; }; then
					code=000
				fi
				[ "$code" = 000 ] && ka_close
			else
				read -r code <"$STATE/code" || :
			fi
			if [ -n "$code" ]; then
				[ "$KA" = 1 ] || wait "$CURL"
				CURL=""
				if [ "$code" = 200 ]; then
					parse_reply
					case "$led" in heartbeat | identify | fault | on | off | null) hub_led=$led ;; esac
					if [ -n "$iv" ] && [ "$iv" -gt 0 ] && [ "$iv" != "$interval" ]; then
						next_hb=$((next_hb - interval + iv))
						interval=$iv
						fault_limit "$interval"
					fi
					last_ok=$hb_sent
					[ $failures -gt 0 ] && log "hub answers again after $failures failed heartbeat(s)"
					failures=0
				else
					failed
					next_hb=$((NOW + BACKOFF))
				fi
			fi
		fi
		# 3. A heartbeat due: sent in the background, so that a slow hub never delays a restart.
		# The pass's grid instant: naps end early by their usual lateness, so a pass may begin
		# just before its second (compared with NOW, its heartbeat would wait a whole second).
		slot=$NOW
		[ -n "$target" ] && [ $((target - NOW)) -lt 500 ] && [ $((NOW - target)) -lt 500 ] && slot=$target
		if [ -z "$CURL" ] && [ "$slot" -ge "$next_hb" ]; then
			health
			# The answer is read at the next pass, a second on (no holdMs: the hub answers at once).
			body="{\"identity\":$IDENTITY,\"health\":$HEALTH,\"led\":\"$mode\",\"ledEngine\":\"kernel\",\"seq\":$seq,\"sentAt\":$NOW}"
			if [ "$KA" = 1 ]; then
				ka_send "$body"
				CURL=ka # in flight
			else
				post_bg "$body"
			fi
			seq=$((seq + 1))
			hb_sent=$NOW
			next_hb=$((slot / 1000 * 1000 + interval)) # on the grid, like the restarts
			[ "$next_hb" -gt "$slot" ] || next_hb=$(((slot / 1000 + 1) * 1000))
		fi
		# 4. Nap to the next instant of the grid (whole seconds of the wall clock), less the
		# naps' usual lateness (fork or poll wake-up, scheduling).
		# This pass was target's (even if it began a little early): the next is a second on.
		ktick
		if [ -n "$target" ] && [ $((target + 1000)) -gt "$NOW" ]; then
			target=$((target + 1000))
		else
			target=$(((NOW / 1000 + 1) * 1000))
		fi
		nap $((target - NOW - adj))
	done
}
if [ "$ENGINE" = kernel ]; then
	kernel_loop
fi

report_loop &
REPORTER=$!

# --- LED loop (foreground) -------------------------------------------------------------------

# pattern MODE: sets PERIOD and EDGES ("offset:value ...", first at offset 0).
pattern() {
	case "$1" in
	heartbeat)
		PERIOD=1000
		if [ "$MODEL" = pi0w ]; then EDGES="0:0 900:1"; else EDGES="0:1 900:0"; fi
		;;
	identify) PERIOD=200 EDGES="0:1 100:0" ;;
	fault) PERIOD=1000 EDGES="0:1 100:0 200:1 300:0" ;;
	on) PERIOD=1000 EDGES="0:1" ;;
	*) PERIOD=1000 EDGES="0:0" ;;
	esac
}

MODE=""
LAST=""
START=0
MAX_NAP=250 # mode changes are seen within this many ms
hub_led=null
last_ok=$NOW
fault_ms=$LIMIT
while :; do
	tick
	now=$NOW
	read -r v <"$STATE/hub_led" && [ -n "$v" ] && hub_led=$v
	read -r v <"$STATE/last_ok" && [ -n "$v" ] && last_ok=$v
	read -r v <"$STATE/fault_ms" && [ -n "$v" ] && fault_ms=$v
	if [ $((now - last_ok)) -ge "$fault_ms" ]; then
		want=fault
	elif [ "$hub_led" = null ]; then
		want=heartbeat
	else
		want=$hub_led
	fi
	if [ "$want" != "$MODE" ]; then
		MODE=$want
		START=$now
		pattern "$MODE"
		put shown "$MODE"
	fi
	# The edge due now and the next one, on the timeline that started at START.
	cycle=$(((now - START) / PERIOD))
	into=$((now - START - cycle * PERIOD))
	level=""
	next=""
	for e in $EDGES; do
		off=${e%:*}
		if [ "$off" -le "$into" ]; then
			level=${e#*:}
		elif [ -z "$next" ]; then next=$((START + cycle * PERIOD + off)); fi
	done
	[ -n "$next" ] || next=$((START + (cycle + 1) * PERIOD))
	if [ "$level" != "$LAST" ]; then
		echo "$level" >"$VALUE" && LAST=$level
	fi
	# From the pass's one tick: a second `date` fork here would cost more time than it corrects.
	nap=$((next - now))
	[ $nap -gt $MAX_NAP ] && nap=$MAX_NAP
	if [ $nap -gt 0 ]; then
		ms=$((nap % 1000))
		[ $ms -ge 100 ] || ms="0$ms"
		[ $ms -ge 10 ] || ms="0$ms"
		sleep "$((nap / 1000)).$ms" &
		wait $! # a TERM/INT is handled at once, not after the sleep
	fi
done
