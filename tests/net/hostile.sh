#!/bin/bash
# SPDX-License-Identifier: MIT
# hostile.sh - one case of the net-hostile guest (tests/guests/net_hostile.c) in a private
# namespace: the guest breaks the virtio-net device in one way; the VMM must refuse, drop and
# count, or set DEVICE_NEEDS_RESET, and the guest then resets the device and serves UDP echo
# on it (checked from the namespace), or the VMM ends the VM cleanly (bar-move: status 76).
# Checks the guest's exact output, the exit status, the VMM's --stats lines for the case, and
# that the TAP is still there and free afterwards (a second VMM attaches to it).
#
#   hostile.sh VMM GUEST NETCLIENT CASE
set -u
. "$(dirname "$0")/lib.sh"
vmm=$(realpath "$1") guest=$(realpath "$2") client=$(realpath "$3") case=$4
net_setup kvm
mac=$(tap_mac tap10)
# case: the guest's line; the --stats lines that must appear (extended regexes, one per |)
declare -A line stats
q1="device: broken queue +1|device: set DEVICE_NEEDS_RESET 1 time\(s\), last: queue 1: "
line[freeze]="net-hostile: freeze: size 256 desc unchanged enable 1 status 0xf"
stats[freeze]="device: queue write after DRIVER_OK +4"
for c in layout-outside size-odd misaligned; do
	line[$c]="net-hostile: $c: status 0x4b, configuration interrupt no"
done
stats[layout-outside]="device: bad queue layout +1|NEEDS_RESET 1 time\(s\), last: queue 0: layout$"
stats[size-odd]=${stats[layout-outside]}
stats[misaligned]="device: bad queue layout +1|NEEDS_RESET 1 time\(s\), last: queue 1: layout$"
line[features]="net-hostile: features: status 0x43, configuration interrupt no"
line[no-version1]="net-hostile: no-version1: status 0x43, configuration interrupt no"
stats[features]="device: features not offered +1|last: features not offered$"
stats[no-version1]=${stats[features]}
line[status-order]="net-hostile: status-order: status 0x41, configuration interrupt no"
stats[status-order]="device: bad status transition +1|last: status transition$"
for c in desc-loop next-oob head-oob avail-jump indirect buf-outside len-huge; do
	line[$c]="net-hostile: $c: status 0x4f, configuration interrupt yes"
done
stats[desc-loop]="$q1""descriptor loop$"
stats[next-oob]="$q1""descriptor next$"
stats[head-oob]="$q1""chain head$"
stats[avail-jump]="$q1""avail index$"
stats[indirect]="$q1""indirect descriptor$"
stats[buf-outside]="$q1""buffer address$"
stats[len-huge]="$q1""buffer address$"
line[tx-big]="net-hostile: tx-big: status 0xf, configuration interrupt no"
stats[tx-big]="dropped: rx too small 0, rx bad 0, tx too big 1, tx bad 0, tap errors 0$"
line[tx-gso]="net-hostile: tx-gso: status 0xf, configuration interrupt no"
stats[tx-gso]="dropped: rx too small 0, rx bad 0, tx too big 0, tx bad 1, tap errors 0$"
line[rx-small]="net-hostile: rx-small: 0 frames delivered, status 0xf"
stats[rx-small]="dropped: rx too small [1-9][0-9]*, rx bad 0, tx too big 0, tx bad 0"
line[notify-storm]="net-hostile: notify-storm: status 0xf, configuration interrupt no"
stats[notify-storm]="notifications: [1-9][0-9]* \(0 through the VMM\)"
line[bad-access]="net-hostile: bad-access: status 0xf, configuration interrupt no"
stats[bad-access]="device: bad register access +8$"
line[reset-busy]="net-hostile: reset-busy: status 0x0, configuration interrupt no"
stats[reset-busy]="rx: [0-9]+ packets, [0-9]+ bytes; tx: [0-9]+ packets"
[ -n "${line[$case]:-}${case%bar-move}" ] || [ "$case" = bar-move ] || { echo "unknown case $case"; exit 99; }

if [ "$case" = bar-move ]; then
	in_ns timeout -s KILL 60 "$vmm" --net tap:tap10 "$guest" bar-move >"$TMP/out" 2>"$TMP/err"
	st=$?
	[ $st = 76 ] || bad "VMM exit status $st, expected 76"
	[ -s "$TMP/out" ] && bad "guest output: $(cat "$TMP/out")"
	expect_lines "$TMP/err" "uhyve-sec: guest protocol violation on vCPU 0: MMIO read of 1 byte(s) at GPA 0xfd000014 outside guest RAM"
else
	start_guest "$vmm" --stats --net tap:tap10 "$guest" "$case" || {
		bad "the guest did not come up"
		cat "$TMP/out" "$TMP/err"
		exit 1
	}
	out=$(in_ns "$client" 10.0.5.3 echo alive) && [ "$out" = "echo alive" ] || bad "echo after $case: $out"
	out=$(in_ns "$client" 10.0.5.3 cmd quit) && [ "$out" = bye ] || bad "quit: $out"
	stop_guest
	[ "$STATUS" = 0 ] || bad "VMM exit status $STATUS, expected 0"
	expect_lines "$TMP/out" "${line[$case]}" \
		"net-echo: virtio-net 1af4:1041 at 00:0.0, irq 11, mac $mac, mtu 1500, link up" \
		"net-echo: ip 10.0.5.3 mask 255.255.255.0 gateway 10.0.5.1" "net-echo: ready" \
		"net-echo: arp * icmp 0 udp 1"
	IFS='|' read -r -a want <<<"${stats[$case]}"
	for re in "${want[@]}"; do
		grep -qE "$re" "$TMP/err" || bad "--stats lack /$re/: $(grep -E '^    (device|dropped|notif)' "$TMP/err")"
	done
	grep -q "^uhyve-sec:" "$TMP/err" && bad "unexpected message: $(grep '^uhyve-sec:' "$TMP/err")"
fi
# The host side is unaffected: the TAP is still there, up, and free for the next VMM.
in_ns ip link show tap10 | grep -q "state" || bad "tap10 is gone"
in_ns python3 -c 'import fcntl, os, struct
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"tap10", 0x1002 | 0x4000))' 2>/dev/null ||
	bad "tap10 is not free after the run"
[ $fail = 0 ] && echo "ok: $case"
exit $fail
