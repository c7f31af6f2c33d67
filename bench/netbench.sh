#!/bin/bash
# SPDX-License-Identifier: MIT
# netbench.sh - the network benchmark (bench/README.md): UDP echo round trips and bulk
# throughput both ways, the net-echo guest on a TAP against the floor, a host process
# (netserver) with the same protocol at the other end of a veth pair between two network
# namespaces.  The same client (netclient) measures both, alternately, in the same minute.
#
#   netbench.sh UHYVE_SEC NET_ECHO_GUEST NETCLIENT NETSERVER [ROUNDS]
#
# Namespaces: uhs-nb-<pid>-c (client, tap10 = 10.0.5.1/24 for the guest at 10.0.5.3,
# veth = 10.0.6.1/24) and uhs-nb-<pid>-s (netserver, veth = 10.0.6.2/24).  Nothing outside
# them is touched; they are removed at exit, also on failure.  Exits 77 without root, network
# namespaces, /dev/net/tun or /dev/kvm.
set -u
vmm=$(realpath "$1") guest=$(realpath "$2") client=$(realpath "$3") server=$(realpath "$4")
rounds=${5:-5}
skip() {
	echo "SKIP: $*"
	exit 77
}
[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm is not usable"
[ -c /dev/net/tun ] || skip "/dev/net/tun is missing"
command -v ip >/dev/null || skip "iproute2 (ip) is missing"
ns=uhs-nb-$$-$RANDOM
C=$ns-c S=$ns-s
tmp=$(mktemp -d)
vpid="" spid=""
cleanup() {
	[ -n "$vpid" ] && kill "$vpid" 2>/dev/null
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$C" 2>/dev/null
	ip netns del "$S" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$C" 2>/dev/null || skip "cannot create network namespaces (need root)"
ip netns add "$S" || exit 1
inc() { ip netns exec "$C" "$@"; }
ins() { ip netns exec "$S" "$@"; }
inc ip link set lo up && ins ip link set lo up &&
	inc ip tuntap add dev tap10 mode tap && inc ip addr add 10.0.5.1/24 dev tap10 &&
	inc ip link set tap10 up &&
	inc ip link add veth0 type veth peer name veth1 netns "$S" &&
	inc ip addr add 10.0.6.1/24 dev veth0 && inc ip link set veth0 up &&
	ins ip addr add 10.0.6.2/24 dev veth1 && ins ip link set veth1 up || exit 1

# started with ip itself, not through a shell function: $! must be the process to stop
ip netns exec "$S" "$server" &
spid=$!
ip netns exec "$C" "$vmm" --stats --net tap:tap10 "$guest" >"$tmp/guest.out" 2>"$tmp/guest.err" &
vpid=$!
for _ in $(seq 100); do
	grep -q "net-echo: ready" "$tmp/guest.out" && break
	sleep 0.1
done
grep -q "net-echo: ready" "$tmp/guest.out" || {
	echo "FAIL: the guest did not come up"
	cat "$tmp/guest.out" "$tmp/guest.err"
	exit 1
}

# run HOST MODE N SIZE FIELD: one client run, prints the named field of its result line
run() {
	local line
	line=$(inc "$client" "$1" "$2" "$3" "$4") || {
		echo "FAIL: netclient $1 $2 $3 $4" >&2
		exit 1
	}
	sed -nE "s/.* $5=([0-9.]+).*/\1/p" <<<"$line"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for r in $(seq "$rounds"); do
	run 10.0.6.2 rtt 1000 64 median_us >>"$tmp/f_rtt"
	run 10.0.5.3 rtt 1000 64 median_us >>"$tmp/g_rtt"
	run 10.0.6.2 tx 20000 1472 mbit_s >>"$tmp/f_tx"
	run 10.0.5.3 tx 20000 1472 mbit_s >>"$tmp/g_tx"
	run 10.0.6.2 rx 20000 1472 mbit_s >>"$tmp/f_rx"
	run 10.0.5.3 rx 20000 1472 mbit_s >>"$tmp/g_rx"
done
loop_us=$(inc "$client" 10.0.5.3 cmd loop 200000 | sed -n 's/^loop //p')
# CPU time of the VMM's I/O thread (named uhs-net-io), in clock ticks
io_ticks=0
for t in /proc/"$vpid"/task/*; do
	[ "$(cat "$t/comm" 2>/dev/null)" = uhs-net-io ] &&
		io_ticks=$(awk '{print $14 + $15}' "$t/stat")
done
inc "$client" 10.0.5.3 cmd quit >/dev/null
inc "$client" 10.0.6.2 cmd quit >/dev/null
wait "$vpid"
st=$?
vpid=""
[ $st = 0 ] || {
	echo "FAIL: the guest's VMM exited with status $st"
	cat "$tmp/guest.err"
	exit 1
}
for k in rtt tx rx; do
	f=$(median <"$tmp/f_$k") g=$(median <"$tmp/g_$k")
	printf '%-4s floor %10s  guest %10s  (%s rounds; %s)\n' "$k" "$f" "$g" "$rounds" \
		"$([ $k = rtt ] && echo "median round trip, us, 64-byte datagrams" ||
			echo "Mbit/s, 1472-byte datagrams, $([ $k = tx ] && echo 'client -> server' || echo 'server -> client')")"
done
pk=$(sed -nE 's/ *rx: ([0-9]+) packets, [0-9]+ bytes; tx: ([0-9]+) packets.*/\1 \2/p' "$tmp/guest.err")
kx=$(sed -nE 's/.*KVM exits \(all vCPUs, in-kernel included\): ([0-9]+).*/\1/p' "$tmp/guest.err")
busy=$(awk -v t="$io_ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN {print t * 1000 / hz}')
ux=$(sed -nE 's/^  vm exits: ([0-9]+)/\1/p' "$tmp/guest.err")
read -r prx ptx <<<"$pk"
awk -v fr="$(median <"$tmp/f_rtt")" -v gr="$(median <"$tmp/g_rtt")" \
	-v ft="$(median <"$tmp/f_tx")" -v gt="$(median <"$tmp/g_tx")" \
	-v fx="$(median <"$tmp/f_rx")" -v gx="$(median <"$tmp/g_rx")" \
	-v p="$((prx + ptx))" -v kx="${kx:-0}" -v ux="${ux:-0}" -v busy="${busy:-0}" \
	-v loop="${loop_us:-0}" 'BEGIN {
	printf "exits per packet: %.2f KVM exits (in-kernel included), %.2f exits to the VMM (%d packets)\n", kx / p, ux / p, p
	printf "VMM I/O thread CPU time: %.2f us per packet; guest code: %.0f ns per instruction (a 2-instruction loop, 200000 times)\n", busy * 1000 / p, loop * 1000 / 400000
	printf "RESULT rtt_ratio=%.2f tx_ratio=%.3f rx_ratio=%.3f floor_rtt_us=%s guest_rtt_us=%s floor_tx_mbit=%s guest_tx_mbit=%s floor_rx_mbit=%s guest_rx_mbit=%s kvm_exits_per_packet=%.2f vmm_exits_per_packet=%.2f io_cpu_us_per_packet=%.2f guest_ns_per_insn=%.0f\n", gr / fr, gt / ft, gx / fx, fr, gr, ft, gt, fx, gx, kx / p, ux / p, busy * 1000 / p, loop * 1000 / 400000
}'
