#!/bin/bash
# SPDX-License-Identifier: MIT
# ocinet.sh - what the OCI runtime's network set-up costs (bench/README.md): the net-echo
# guest given a container's veth by uhyve-sec-oci (a TAP and tc mirred redirection both ways,
# docs/oci.md "Networking") against the same guest on a plain TAP (uhyve-sec --net, the
# network tests' set-up) and against the floor (netserver, a host process, at the end of a
# veth).  One client (netclient) in the same namespace measures all three, alternately.
#
#   ocinet.sh UHYVE_SEC_OCI UHYVE_SEC NET_ECHO_GUEST NETCLIENT NETSERVER [ROUNDS]
#
# Namespaces, removed at exit (also on failure), nothing else touched:
#   uhs-ocb-<pid>-<r>-h  the client; tap10 10.0.5.1/24 (plain TAP guest at 10.0.5.3); vh
#                        10.77.3.1/24 (veth to -c); vs 10.77.8.1/24 (veth to -s)
#   ...-c                the container's: eth0 10.77.3.2/24, default via 10.77.3.1 (the guest
#                        takes it over)
#   ...-s                netserver on 10.77.8.2/24
# Per round and target: `rtt 1000 64` (median), `tx 10000 1472`, `rx 10000 1472`; medians
# over the rounds.  Exits 77 without root, network namespaces, /dev/net/tun or /dev/kvm.
set -u
oci=$(realpath "$1") vmm=$(realpath "$2") guest=$(realpath "$3") client=$(realpath "$4")
server=$(realpath "$5") rounds=${6:-5}
skip() {
	echo "SKIP: $*"
	exit 77
}
[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "/dev/kvm is not usable"
[ -c /dev/net/tun ] || skip "/dev/net/tun is missing"
command -v ip >/dev/null || skip "iproute2 (ip) is missing"
ns=uhs-ocb-$$-$RANDOM
H=$ns-h C=$ns-c S=$ns-s
tmp=$(mktemp -d)
vpid="" spid="" made=()
cleanup() {
	[ -n "$vpid" ] && kill "$vpid" 2>/dev/null
	[ -n "$spid" ] && kill "$spid" 2>/dev/null
	"$oci" --root "$tmp/root" delete --force b1 >/dev/null 2>&1
	wait 2>/dev/null
	for n in "${made[@]}"; do ip netns del "$n" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
for n in "$H" "$C" "$S"; do
	ip netns add "$n" 2>/dev/null || skip "cannot create network namespaces (need root)"
	made+=("$n")
	ip -n "$n" link set lo up || exit 1
done
ip -n "$H" tuntap add dev tap10 mode tap && ip -n "$H" addr add 10.0.5.1/24 dev tap10 &&
	ip -n "$H" link set tap10 up &&
	ip -n "$H" link add vh type veth peer name eth0 netns "$C" &&
	ip -n "$H" addr add 10.77.3.1/24 dev vh && ip -n "$H" link set vh up &&
	ip -n "$C" addr add 10.77.3.2/24 dev eth0 && ip -n "$C" link set eth0 up &&
	ip -n "$C" route add default via 10.77.3.1 &&
	ip -n "$H" link add vs type veth peer name vs netns "$S" &&
	ip -n "$H" addr add 10.77.8.1/24 dev vs && ip -n "$H" link set vs up &&
	ip -n "$S" addr add 10.77.8.2/24 dev vs && ip -n "$S" link set vs up || exit 1

ready() { # FILE
	for _ in $(seq 300); do
		grep -q "net-echo: ready" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	echo "FAIL: a guest did not come up: $(cat "$1")"
	exit 1
}
# the floor, the guest on a plain TAP, the guest in a container (ip itself, not a function:
# $! must be the process to stop)
ip netns exec "$S" "$server" &
spid=$!
ip netns exec "$H" "$vmm" --net tap:tap10 "$guest" >"$tmp/tap.out" 2>"$tmp/tap.err" &
vpid=$!
mkdir -p "$tmp/b/rootfs" && cp "$guest" "$tmp/b/rootfs/net-echo" || exit 1
cat >"$tmp/b/config.json" <<EOC
{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["/net-echo"],"cwd":"/"},
 "linux":{"namespaces":[{"type":"network","path":"/run/netns/$C"}]}}
EOC
"$oci" --root "$tmp/root" create --bundle "$tmp/b" b1 >"$tmp/oci.out" 2>"$tmp/oci.err" &&
	"$oci" --root "$tmp/root" start b1 || {
	echo "FAIL: uhyve-sec-oci create/start"
	exit 1
}
ready "$tmp/tap.out"
ready "$tmp/oci.out"

run() { # HOST MODE N SIZE FIELD
	local line
	line=$(ip netns exec "$H" "$client" "$1" "$2" "$3" "$4") || {
		echo "FAIL: netclient $1 $2 $3 $4" >&2
		exit 1
	}
	sed -nE "s/.* $5=([0-9.]+).*/\1/p" <<<"$line"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
targets=(f:10.77.8.2 t:10.0.5.3 o:10.77.3.2)
for _ in $(seq "$rounds"); do
	for t in "${targets[@]}"; do
		run "${t#*:}" rtt 1000 64 median_us >>"$tmp/${t%%:*}_rtt"
		run "${t#*:}" tx 10000 1472 mbit_s >>"$tmp/${t%%:*}_tx"
		run "${t#*:}" rx 10000 1472 mbit_s >>"$tmp/${t%%:*}_rx"
	done
done
for t in "${targets[@]}"; do
	ip netns exec "$H" "$client" "${t#*:}" cmd quit >/dev/null
done
printf '%-4s %12s %12s %12s   (%s rounds)\n' "" floor "TAP guest" "OCI guest" "$rounds"
for k in rtt tx rx; do
	printf '%-4s %12s %12s %12s   %s\n' "$k" "$(median <"$tmp/f_$k")" "$(median <"$tmp/t_$k")" \
		"$(median <"$tmp/o_$k")" \
		"$([ $k = rtt ] && echo "median round trip, us, 64-byte datagrams" ||
			echo "Mbit/s, 1472-byte datagrams")"
done
awk -v fr="$(median <"$tmp/f_rtt")" -v tr="$(median <"$tmp/t_rtt")" -v or="$(median <"$tmp/o_rtt")" \
	-v tt="$(median <"$tmp/t_tx")" -v ot="$(median <"$tmp/o_tx")" \
	-v tx="$(median <"$tmp/t_rx")" -v ox="$(median <"$tmp/o_rx")" 'BEGIN {
	printf "RESULT oci_tap_rtt_ratio=%.2f oci_floor_rtt_ratio=%.2f tap_floor_rtt_ratio=%.2f oci_tap_tx_ratio=%.2f oci_tap_rx_ratio=%.2f\n", or / tr, or / fr, tr / fr, ot / tt, ox / tx
}'
