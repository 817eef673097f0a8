#!/bin/sh
# bay-led-setup - run as root before the agent starts (the unit's ExecStartPre=+): where the
# board has the bay LED node (/sys/class/leds/bay, from `dtoverlay=gpio-led,gpio=21,label=bay`
# or the card's device tree), load ledtrig-pattern, select the pattern trigger and give its
# files to the gpio group, so that the agent (a dynamic user in that group) can run the
# kernel LED engine. Without the node it does nothing: the agent then blinks GPIO 21 itself.
# Never fails the unit.
LED=${1:-/sys/class/leds/bay}
[ -e "$LED/trigger" ] || exit 0
grep -qw pattern "$LED/trigger" || modprobe ledtrig-pattern 2>/dev/null || true
grep -q '\[pattern\]' "$LED/trigger" || echo pattern >"$LED/trigger" 2>/dev/null || true
for f in trigger pattern repeat brightness; do
	[ -e "$LED/$f" ] || continue
	chgrp gpio "$LED/$f" 2>/dev/null && chmod g+w "$LED/$f" 2>/dev/null
done
exit 0
