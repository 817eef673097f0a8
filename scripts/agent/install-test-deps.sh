#!/bin/sh
# Installs what the agent's tests use beyond Deno: dash and busybox (the sh agent runs under
# both), linux-libc-dev and gcc (the chardev structs are checked against linux/gpio.h), curl.
set -eu
if command -v apt-get >/dev/null 2>&1; then
	apt-get update -qq
	apt-get install -y -qq dash busybox linux-libc-dev gcc curl
else
	echo "install-test-deps.sh: no apt-get; install dash, busybox, linux-libc-dev, gcc, curl" >&2
	exit 1
fi
