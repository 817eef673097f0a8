#!/bin/sh
# Removes the test namespaces (their veth ends go with them), killing anything left inside.
# Safe to run twice; never fails. Usage: netns-teardown.sh NS...
for ns in "$@"; do
  ip netns list 2>/dev/null | grep -q "^$ns\b" || continue
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
  ip netns del "$ns" 2>/dev/null || true
done
exit 0
