#!/bin/bash
# SPDX-License-Identifier: MIT
# fd.sh - --net fd:N: an orchestrator (here a Python helper) opens the TAP itself and hands
# the fd over; uhyve-sec keeps exactly that inherited fd (and closes every other one), and the
# guest answers UDP echo through it.
#
#   fd.sh VMM GUEST NETCLIENT
set -u
. "$(dirname "$0")/lib.sh"
vmm=$(realpath "$1") guest=$(realpath "$2") client=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
net_setup kvm
command -v python3 >/dev/null || skip "python3 is missing"
mac=$(tap_mac tap10)
exec 9</dev/null # an unrelated inherited fd: must not reach the VMM
start_guest python3 "$here/tapopen.py" tap10 vnet exec "$vmm" --stats --net fd:%FD% "$guest" || {
	bad "the guest did not come up"
	cat "$TMP/out" "$TMP/err"
	exit 1
}
[ -e "/proc/$VPID/fd/9" ] && bad "the unrelated fd 9 reached the VMM"
out=$(in_ns "$client" 10.0.5.3 echo via-fd) && [ "$out" = "echo via-fd" ] || bad "echo: $out"
out=$(in_ns "$client" 10.0.5.3 cmd quit) && [ "$out" = bye ] || bad "quit: $out"
stop_guest
[ "$STATUS" = 0 ] || bad "VMM exit status $STATUS"
expect_lines "$TMP/out" \
	"net-echo: virtio-net 1af4:1041 at 00:0.0, irq 11, mac $mac, mtu 1500, link up" \
	"net-echo: ip 10.0.5.3 mask 255.255.255.0 gateway 10.0.5.1" "net-echo: ready" \
	"net-echo: arp * icmp 0 udp 1"
grep -q "^  net tap10:" "$TMP/err" || bad "--stats do not name tap10"
[ $fail = 0 ] && echo "ok: UDP echo through an inherited TAP fd"
exit $fail
