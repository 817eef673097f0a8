#!/bin/sh
# The Pi lab's tests (deno task test:pi, and the last stage of deno task test), in the order
# that keeps them short and sound on a 2-core machine:
# - the netbooting node (node_e2e) waits mostly on its emulated USB network (its QEMU uses about
#   60 % of a core), so it runs beside the other 3B+ files, which run one after another;
# - the Zero W card runs alone, last: raspi0's only clock event is the BCM2835 system timer, and a
#   guest starved by a second guest stopped for minutes (a missed compare, we think), once in a
#   run beside the node.
# Exit status: 0 only when every part passed.
set -u
deno test --allow-all tests/pi/node_e2e.test.ts &
node=$!
deno test --allow-all --ignore=tests/pi/node_e2e.test.ts,tests/pi/zerow_card.test.ts tests/pi
rest=$?
wait "$node"
node_rc=$?
deno test --allow-all tests/pi/zerow_card.test.ts
zerow=$?
[ "$rest" = 0 ] && [ "$node_rc" = 0 ] && [ "$zerow" = 0 ]
