#!/bin/sh
# Installs Debian's Chromium for the dashboard browser test (tests/live/dashboard.test.ts).
# Idempotent: does nothing when /usr/bin/chromium is already there. Needs root (or sudo).
set -eu

if [ -x /usr/bin/chromium ]; then
  echo "chromium: already installed ($(/usr/bin/chromium --version 2>/dev/null || echo unknown version))"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium fonts-dejavu-core
echo "chromium: installed ($(/usr/bin/chromium --version 2>/dev/null || echo unknown version))"
