#!/bin/bash
# SPDX-License-Identifier: MIT
# echo.sh - the net-echo guest on a TAP in a private namespace, configured like Hermit, answers
# ARP, ICMP echo (the namespace's `ping` where installed, and netclient's own) and UDP echo
# (every byte checked), then quits; its output, exit status, the host's neighbour entry and
# the VMM's --stats are checked exactly.
#
#   echo.sh VMM GUEST NETCLIENT [config|jit]
# "config": the guest gets -e HERMIT_IP=192.168.77.9 -e HERMIT_GATEWAY=192.168.77.1
# -e HERMIT_MASK=255.255.0.0 and the TAP 192.168.77.1/16; otherwise Hermit's defaults.
# "jit": Hermit's defaults with --assist=jit (the NIC's interrupts, injected by KVM through
# an irqfd, must reach a vCPU in a burst or waiting in HLT; docs/assist.md "JIT mode").
set -u
. "$(dirname "$0")/lib.sh"
vmm=$(realpath "$1") guest=$(realpath "$2") client=$(realpath "$3") mode=${4:-default}
net_setup kvm
ip=10.0.5.3 env=() line_ip="net-echo: ip 10.0.5.3 mask 255.255.255.0 gateway 10.0.5.1"
if [ "$mode" = config ]; then
	in_ns ip addr flush dev tap10 && in_ns ip addr add 192.168.77.1/16 dev tap10 || exit 99
	ip=192.168.77.9
	env=(-e HERMIT_IP=192.168.77.9 -e HERMIT_GATEWAY=192.168.77.1 -e HERMIT_MASK=255.255.0.0)
	line_ip="net-echo: ip 192.168.77.9 mask 255.255.0.0 gateway 192.168.77.1"
fi
[ "$mode" = jit ] && env=(--assist=jit)
mac=$(tap_mac tap10)
start_guest "$vmm" --stats "${env[@]}" --net tap:tap10 "$guest" || {
	bad "the guest did not come up"
	cat "$TMP/out" "$TMP/err"
	exit 1
}
icmp=0
if command -v ping >/dev/null; then
	out=$(in_ns ping -c 3 -i 0.2 -W 2 "$ip" 2>&1)
	grep -q "3 packets transmitted, 3 received" <<<"$out" || bad "ping: $out"
	icmp=3
fi
out=$(in_ns "$client" "$ip" ping 3) && [ "$out" = "ping ok 3/3" ] || bad "netclient ping: $out"
icmp=$((icmp + 3))
out=$(in_ns "$client" "$ip" echo hello "two words" x) || bad "echo: $out"
[ "$out" = $'echo hello\necho two words\necho x' ] || bad "echo replies: $out"
out=$(in_ns "$client" "$ip" rtt 50 1400) || bad "rtt: $out"
out=$(in_ns "$client" "$ip" rtt 50 1) || bad "rtt: $out"
udp=$((3 + 50 + 50))
neigh=$(in_ns ip neigh show "$ip" dev tap10)
[[ "$neigh" == "$ip lladdr $mac "* ]] || bad "neighbour entry: '$neigh' (expected lladdr $mac)"
out=$(in_ns "$client" "$ip" cmd quit) && [ "$out" = bye ] || bad "quit: $out"
stop_guest
[ "$STATUS" = 0 ] || bad "VMM exit status $STATUS, expected 0"
expect_lines "$TMP/out" \
	"net-echo: virtio-net 1af4:1041 at 00:0.0, irq 11, mac $mac, mtu 1500, link up" \
	"$line_ip" "net-echo: ready" "net-echo: arp * icmp $icmp udp $udp"
grep -q "^uhyve-sec:" "$TMP/err" && bad "unexpected message: $(grep '^uhyve-sec:' "$TMP/err")"
grep -qx "    dropped: rx too small 0, rx bad 0, tx too big 0, tx bad 0, tap errors 0" "$TMP/err" ||
	bad "drops: $(grep dropped "$TMP/err")"
grep -qE "^    device" "$TMP/err" && bad "device events: $(grep -E "^    device" "$TMP/err")"
rx=$(sed -nE 's/^    rx: ([0-9]+) packets.*tx: ([0-9]+) packets.*/\1 \2/p' "$TMP/err")
read -r prx ptx <<<"$rx"
[ "${prx:-0}" -ge $((icmp + udp + 2)) ] && [ "${ptx:-0}" -ge $((icmp + udp + 2)) ] ||
	bad "packet counts: '$rx'"
grep -qE "^    notifications: [1-9][0-9]* \(0 through the VMM\); interrupts: [1-9]" "$TMP/err" ||
	bad "notifications/interrupts: $(grep notifications "$TMP/err")"
grep -qE "^    KVM exits \(all vCPUs, in-kernel included\): [1-9]" "$TMP/err" ||
	bad "KVM exit counts missing"
[ $fail = 0 ] && echo "ok: ping, UDP echo ($udp datagrams) and quit through $mac at $ip"
exit $fail
