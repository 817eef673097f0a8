#!/bin/sh
# Creates an isolated two-namespace test network for the netboot integration test:
#   HUB_NS  (VETH_HUB, address HUB_CIDR)  <-- veth pair -->  NODE_NS (VETH_NODE, no address, MAC NODE_MAC)
# Nothing is added to the host's own namespace except the namespaces themselves.
# Usage: netns-setup.sh HUB_NS NODE_NS VETH_HUB VETH_NODE HUB_CIDR NODE_MAC
set -eu
[ $# -eq 6 ] || { echo "usage: $0 HUB_NS NODE_NS VETH_HUB VETH_NODE HUB_CIDR NODE_MAC" >&2; exit 2; }
hub_ns=$1 node_ns=$2 veth_hub=$3 veth_node=$4 hub_cidr=$5 node_mac=$6

ip netns add "$hub_ns"
ip netns add "$node_ns"
# Create the pair directly inside the hub namespace, then move one end to the node namespace,
# so no interface ever appears in the host namespace.
ip -n "$hub_ns" link add "$veth_hub" type veth peer name "$veth_node"
ip -n "$hub_ns" link set "$veth_node" netns "$node_ns"
ip -n "$hub_ns" link set lo up
ip -n "$node_ns" link set lo up
ip -n "$hub_ns" addr add "$hub_cidr" dev "$veth_hub"
ip -n "$hub_ns" link set "$veth_hub" up
ip -n "$node_ns" link set "$veth_node" address "$node_mac"
ip -n "$node_ns" link set "$veth_node" up
