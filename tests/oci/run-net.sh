#!/bin/bash
# SPDX-License-Identifier: MIT
# run-net.sh - a Hermit container gets its network namespace's network (docs/oci.md,
# "Networking"): the runtime moves the veth's address and MAC to the guest through a TAP and
# tc redirection, and puts everything back on delete.
#
# Usage: run-net.sh SCENARIO RUNTIME GUEST_DIR LINUX_HELLO NETCLIENT
#   direct   namespaces made by the test: C (the container's: a veth "eth0" 10.77.3.2/24,
#            MTU 1400, default route via 10.77.3.1) and H (the veth's other end, 10.77.3.1);
#            a bundle naming C, run with the runtime's command line: the TAP, the redirection
#            and the removed address after create; the guest's MAC, MTU and address; ping
#            and UDP echo from H; a second container on C refused; C exactly as before after
#            delete; the same after SIGKILL and after delete --force of a created container
#   errors   each refused with one error and nothing changed: the host's namespace, a file
#            or a FIFO that is not a network namespace, a relative path, an interface without IPv4,
#            with two IPv4 addresses, a TUN instead of a veth, an existing ingress qdisc, an
#            existing uhs-guest0; a namespace with only loopback runs the guest without a
#            network
#   podman   podman (its storage and configuration in T, as the other tests) in a namespace P
#            made by the test, with a CNI bridge network the test defines (its configuration
#            and IPAM state in T; bridge, no masquerading, MTU 1400): `podman run -d --network
#            NET --ip 10.77.4.9` of net-echo; ping and UDP echo from P (the bridge's side); the
#            guest's MAC is the one podman reports; exit code 0 after "quit"; nothing left
# Everything network happens inside the test's namespaces (unique names, removed at the end
# and on failure); the machine's own interfaces are only read (errors: that nothing named
# uhs-guest0 appeared there).  Exits 77 (skip) with the reason without root, network
# namespaces, /dev/net/tun, /dev/kvm, podman or its CNI plugins.
set -u
here=$(dirname "$(readlink -f "$0")")
. "$here/lib.sh"
scenario=$1 OCI_RT=$(realpath "$2") guests=$(realpath "$3") linux_hello=$(realpath "$4")
client=$(realpath "$5")
oci_need_kvm
[ "$(id -u)" = 0 ] || oci_skip "needs root (network namespaces, tc)"
[ -c /dev/net/tun ] || oci_skip "/dev/net/tun is missing"
for p in ip tc nsenter; do command -v $p >/dev/null || oci_skip "$p is not installed"; done
OCI_EXTRA_GUESTS=net-echo
oci_tmp
R=("$OCI_RT")
LOG=$T/log.json
TAG=uhs-ocin-$$-$RANDOM
NSS=() IDS=()
fail=0
bad() { echo "FAIL $scenario: $*"; fail=1; }
rt() { "${R[@]}" --log "$LOG" --log-format json "$@"; }
net_cleanup() {
	local id ns
	for id in "${IDS[@]}"; do "${R[@]}" delete --force "$id" >/dev/null 2>&1; done
	for ns in "${NSS[@]}"; do ip netns del "$ns" 2>/dev/null; done
}
OCI_EXTRA_CLEANUP=net_cleanup
mkns() { # NAME
	ip netns add "$1" || oci_skip "cannot create a network namespace"
	NSS+=("$1")
	ip -n "$1" link set lo up
}
# pair HOST_NS CONT_NS: veth vh (10.77.3.1/24) in HOST_NS, eth0 (10.77.3.2/24, default route
# via .1) in CONT_NS, both MTU 1400; created inside HOST_NS, never in the machine's namespace
pair() {
	ip -n "$1" link add vh mtu 1400 type veth peer name eth0 mtu 1400 netns "$2" &&
		ip -n "$1" addr add 10.77.3.1/24 dev vh && ip -n "$1" link set vh up &&
		ip -n "$2" addr add 10.77.3.2/24 dev eth0 && ip -n "$2" link set eth0 up &&
		ip -n "$2" route add default via 10.77.3.1 || exit 99
}
# What the runtime may change in a namespace: links, IPv4 addresses, routes, qdiscs.
ns_state() {
	ip -n "$1" -br link | awk '{print $1, $3}'
	ip -n "$1" -4 -o addr | sed 's/\\.*//'
	ip -n "$1" -4 route
	tc -n "$1" qdisc | grep -v '^qdisc noqueue'
}
last_error() { python3 - "$LOG" <<'PY'
import json, sys
err = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
err = [e for e in err if e["level"] == "error"]
print(err[-1]["msg"] if err else "")
PY
}
status_of() { "${R[@]}" state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }
wait_status() { # ID STATUS
	for _ in $(seq 1 400); do [ "$(status_of "$1")" = "$2" ] && return 0; sleep 0.05; done
	return 1
}
wait_ready() { # FILE: up to 30 s for the guest's "net-echo: ready"
	for _ in $(seq 1 300); do grep -q '^net-echo: ready' "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}
# bundle DIR ARGS_JSON NETNS_ENTRY_JSON
bundle() {
	mkdir -p "$1"
	[ -d "$1/rootfs" ] || oci_rootfs "$1/rootfs" "$guests" "$linux_hello"
	cat >"$1/config.json" <<EOC
{"ociVersion":"1.0.2","root":{"path":"rootfs"},
 "process":{"args":$2,"env":["K=v","HERMIT_IP=192.0.2.9"],"cwd":"/"},
 "linux":{"namespaces":[{"type":"pid"},$3]}}
EOC
}
# talk NS IP: ping (where installed) and UDP echo from NS; RTT figures into $T/rtt
talk() {
	local out
	if command -v ping >/dev/null; then
		out=$(ip netns exec "$1" ping -c 3 -i 0.2 -W 2 "$2" 2>&1)
		grep -q "3 packets transmitted, 3 received" <<<"$out" || bad "ping $2: $out"
	fi
	out=$(ip netns exec "$1" "$client" "$2" ping 3) && [ "$out" = "ping ok 3/3" ] ||
		bad "netclient ping: $out"
	out=$(ip netns exec "$1" "$client" "$2" echo hello "two words") &&
		[ "$out" = $'echo hello\necho two words' ] || bad "UDP echo: $out"
	ip netns exec "$1" "$client" "$2" rtt 50 1 >"$T/rtt" || bad "rtt: $(cat "$T/rtt")"
	ip netns exec "$1" "$client" "$2" rtt 20 1372 >>"$T/rtt" || bad "rtt 1372: $(cat "$T/rtt")"
}

case $scenario in
direct)
	H=$TAG-h C=$TAG-c
	mkns "$H" && mkns "$C" && pair "$H" "$C"
	mac=$(ip netns exec "$C" cat /sys/class/net/eth0/address)
	before=$(ns_state "$C")
	bundle "$T/b" '["/net-echo"]' '{"type":"network","path":"/run/netns/'"$C"'"}'
	IDS+=(n1)
	rt --debug create --bundle "$T/b" --pid-file "$T/pid" n1 >"$T/out" 2>"$T/err" ||
		bad "create: $(last_error)"
	# inside C: the TAP with eth0's MAC and MTU, no address on eth0, redirection both ways
	[ "$(ip netns exec "$C" cat /sys/class/net/uhs-guest0/address)" = "$mac" ] || bad "TAP MAC"
	[ "$(ip netns exec "$C" cat /sys/class/net/uhs-guest0/mtu)" = 1400 ] || bad "TAP MTU"
	[ -z "$(ip -n "$C" -4 addr show dev eth0)" ] || bad "eth0 kept its address"
	[ -z "$(ip -n "$C" -6 addr show dev uhs-guest0)" ] || bad "the TAP has an IPv6 address"
	tc -n "$C" filter show dev eth0 ingress | grep -q "mirred (Egress Redirect to device uhs-guest0) stolen" ||
		bad "no redirection eth0 -> TAP: $(tc -n "$C" filter show dev eth0 ingress)"
	tc -n "$C" filter show dev uhs-guest0 ingress | grep -q "mirred (Egress Redirect to device eth0) stolen" ||
		bad "no redirection TAP -> eth0"
	grep -q "network: eth0 (MTU 1400) given to the guest through uhs-guest0: HERMIT_IP=10.77.3.2 HERMIT_GATEWAY=10.77.3.1 HERMIT_MASK=255.255.255.0" "$LOG" ||
		bad "no debug line for the network: $(cat "$LOG")"
	grep -q "process.env HERMIT_IP replaced" "$LOG" || bad "HERMIT_IP from the spec not replaced"
	# a second container cannot take the same namespace; nothing changes
	during=$(ns_state "$C")
	IDS+=(n2)
	rt create --bundle "$T/b" n2 >/dev/null 2>&1 && bad "a second container took the namespace"
	[[ $(last_error) == *"already has an interface uhs-guest0 (another Hermit container has its network)"* ]] ||
		bad "second container: $(last_error)"
	[ "$(ns_state "$C")" = "$during" ] || bad "the refused second container changed the namespace"
	[ -e "$T/oci-root/n2" ] && bad "state of the refused container left"
	rt start n1 || bad "start: $(last_error)"
	wait_ready "$T/out" || bad "the guest did not come up: $(cat "$T/out" "$T/err")"
	grep -qx "net-echo: virtio-net 1af4:1041 at 00:0.0, irq 11, mac $mac, mtu 1400, link up" "$T/out" ||
		bad "device line: $(head -n 1 "$T/out")"
	grep -qx "net-echo: ip 10.77.3.2 mask 255.255.255.0 gateway 10.77.3.1" "$T/out" ||
		bad "address line: $(sed -n 2p "$T/out")"
	talk "$H" 10.77.3.2
	[[ $(ip -n "$H" neigh show 10.77.3.2) == "10.77.3.2 dev vh lladdr $mac "* ]] ||
		bad "H's neighbour entry: $(ip -n "$H" neigh show 10.77.3.2)"
	[ "$(ip netns exec "$H" "$client" 10.77.3.2 cmd quit)" = bye ] || bad "quit"
	wait_status n1 stopped || bad "not stopped after quit"
	sleep 0.3
	grep -q '"msg":"the guest exited with code 0"' "$LOG" || bad "guest exit: $(cat "$LOG")"
	rt delete n1 || bad "delete: $(last_error)"
	[ "$(ns_state "$C")" = "$before" ] || bad "C after delete: $(ns_state "$C") -- expected: $before"
	echo "rtt through the container's veth: $(tr '\n' ';' <"$T/rtt")"
	# SIGKILL, then delete: the namespace comes back too
	IDS+=(n3 n4)
	rt create --bundle "$T/b" n3 >"$T/out" 2>/dev/null && rt start n3 || bad "n3: $(last_error)"
	wait_ready "$T/out" || bad "n3 did not come up"
	rt kill n3 KILL || bad "kill n3"
	wait_status n3 stopped || bad "n3 not stopped after SIGKILL"
	rt delete n3 || bad "delete n3: $(last_error)"
	[ "$(ns_state "$C")" = "$before" ] || bad "C after SIGKILL and delete: $(ns_state "$C")"
	# created, never started: delete --force
	rt create --bundle "$T/b" n4 >/dev/null 2>&1 || bad "n4: $(last_error)"
	rt delete --force n4 || bad "delete --force n4: $(last_error)"
	[ "$(ns_state "$C")" = "$before" ] || bad "C after delete --force: $(ns_state "$C")"
	;;
errors)
	host_links=$(ip -br link | awk '{print $1}')
	# check NAME NETNS_ENTRY WANT [NS]: create fails with WANT, NS (if any) unchanged
	check() {
		local name=$1 ns=${4:-} before=""
		[ -n "$ns" ] && before=$(ns_state "$ns")
		bundle "$T/$name" '["/hello"]' "$2"
		: >"$LOG"
		IDS+=("$name")
		timeout -s KILL 30 "${R[@]}" --log "$LOG" --log-format json create --bundle "$T/$name" \
			"$name" >/dev/null 2>&1 && { bad "$name: accepted"; rt delete --force "$name"; return; }
		[ "$(wc -l <"$LOG")" = 1 ] || bad "$name: $(wc -l <"$LOG") log lines, expected one error"
		[[ $(last_error) == *"$3"* ]] || bad "$name: error '$(last_error)', expected '$3'"
		[ -e "$T/oci-root/$name" ] && bad "$name: state left"
		[ -z "$ns" ] || [ "$(ns_state "$ns")" = "$before" ] ||
			bad "$name: the namespace changed: $(ns_state "$ns") -- was: $before"
	}
	nsref() { echo '{"type":"network","path":"'"$1"'"}'; }
	check host "$(nsref /proc/$$/ns/net)" "network namespace /proc/$$/ns/net is the host's: the guest cannot take over the host's network"
	check self "$(nsref /proc/self/ns/net)" "is the host's"
	echo x >"$T/notns"
	check file "$(nsref "$T/notns")" "network namespace $T/notns: not a network namespace"
	check uts "$(nsref /proc/self/ns/uts)" "not a network namespace"
	mkfifo "$T/a-fifo" # never opened for real: create would block
	check fifo "$(nsref "$T/a-fifo")" "network namespace $T/a-fifo: not a network namespace"
	check missing "$(nsref "/run/netns/$TAG-none")" "network namespace /run/netns/$TAG-none: No such file"
	check relative "$(nsref run/netns/x)" "the network namespace path must be absolute"
	check twice "$(nsref /run/netns/a),$(nsref /run/netns/b)" "linux.namespaces has two network entries"
	N=$TAG-e
	mkns "$N"
	ip -n "$N" link add vh type veth peer name eth0 && ip -n "$N" link set eth0 up || exit 99
	check noaddr "$(nsref "/run/netns/$N")" "no IPv4 default route and 0 interfaces with an IPv4 address" "$N"
	ip -n "$N" addr add 10.77.5.2/24 dev eth0 && ip -n "$N" addr add 10.77.6.2/24 dev eth0 || exit 99
	check twoaddr "$(nsref "/run/netns/$N")" "interface eth0 has 2 IPv4 addresses" "$N"
	ip -n "$N" addr del 10.77.6.2/24 dev eth0 && ip -n "$N" route add default via 10.77.5.1 || exit 99
	tc -n "$N" qdisc add dev eth0 ingress || exit 99
	check qdisc "$(nsref "/run/netns/$N")" "interface eth0 already has an ingress qdisc (tc): refusing to replace it" "$N"
	tc -n "$N" qdisc del dev eth0 ingress && ip -n "$N" tuntap add dev uhs-guest0 mode tap || exit 99
	check tapthere "$(nsref "/run/netns/$N")" "already has an interface uhs-guest0" "$N"
	ip -n "$N" link del uhs-guest0 && ip -n "$N" tuntap add dev tun7 mode tun &&
		ip -n "$N" link set tun7 up && ip -n "$N" addr add 10.77.7.2/24 dev tun7 &&
		ip -n "$N" route replace default via 10.77.7.1 dev tun7 || exit 99
	check tun "$(nsref "/run/netns/$N")" "interface tun7 of the network namespace is of kind 'tun', not a veth" "$N"
	# a namespace with only loopback: no network, the guest runs
	L=$TAG-l
	mkns "$L"
	bundle "$T/lo" '["/hello"]' "$(nsref "/run/netns/$L")"
	: >"$LOG"
	IDS+=(lo)
	rt --debug create --bundle "$T/lo" lo >"$T/out" 2>/dev/null && rt start lo || bad "lo: $(last_error)"
	wait_status lo stopped || bad "lo: not stopped"
	[ "$(cat "$T/out")" = "Hello from uhyve-sec!" ] || bad "lo: output $(cat "$T/out")"
	grep -q "network namespace /run/netns/$L has no interface but loopback: the guest has no network" "$LOG" ||
		bad "lo: no debug line"
	rt delete lo || bad "delete lo"
	[ "$(ip -br link | awk '{print $1}')" = "$host_links" ] || bad "the machine's interfaces changed"
	;;
podman)
	command -v podman >/dev/null || oci_skip "podman is not installed"
	cni=""
	for d in /usr/lib/cni /usr/libexec/cni /opt/cni/bin; do
		[ -x "$d/bridge" ] && [ -x "$d/host-local" ] && cni=$d && break
	done
	[ -n "$cni" ] || oci_skip "the CNI bridge and host-local plugins are not installed"
	P=$TAG-p NET=uhsnet$$ BR=uhsbr$$
	mkns "$P"
	oci_podman_setup "$guests" "$linux_hello"
	podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null | grep -qx cni ||
		oci_skip "podman's network backend is not CNI: $(podman info --format '{{.Host.NetworkBackend}}' 2>&1)"
	# the network: CNI bridge in P, IPAM state in T, no masquerading (no firewall rules)
	cat >"$T/cni/$NET.conflist" <<EOC
{"cniVersion": "0.4.0", "name": "$NET", "plugins": [
  {"type": "bridge", "bridge": "$BR", "isGateway": true, "ipMasq": false, "mtu": 1400,
   "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$T/cni-ipam", "routes": [{"dst": "0.0.0.0/0"}],
            "ranges": [[{"subnet": "10.77.4.0/24", "gateway": "10.77.4.1"}]]}}]}
EOC
	pn() { nsenter --net="/run/netns/$P" podman --runtime "$OCI_RT" "$@"; }
	pn network ls --format '{{.Name}}' | grep -qx "$NET" || bad "podman does not list $NET"
	pn run -d --name uhs-net-$$ --network "$NET" --ip 10.77.4.9 localhost/uhs-guests:test \
		/net-echo >"$T/cid" 2>"$T/err" || bad "podman run: $(cat "$T/err")"
	for _ in $(seq 1 300); do
		pn logs uhs-net-$$ 2>/dev/null | grep -q '^net-echo: ready' && break
		sleep 0.1
	done
	pn logs uhs-net-$$ >"$T/out" 2>&1
	mac=$(pn inspect --format "{{(index .NetworkSettings.Networks \"$NET\").MacAddress}}" uhs-net-$$)
	grep -qx "net-echo: virtio-net 1af4:1041 at 00:0.0, irq 11, mac $mac, mtu 1400, link up" "$T/out" ||
		bad "device line (podman's MAC $mac): $(cat "$T/out")"
	grep -qx "net-echo: ip 10.77.4.9 mask 255.255.255.0 gateway 10.77.4.1" "$T/out" ||
		bad "address line: $(cat "$T/out")"
	talk "$P" 10.77.4.9
	[ "$(ip netns exec "$P" "$client" 10.77.4.9 cmd quit)" = bye ] || bad "quit"
	st=$(timeout 30 nsenter --net="/run/netns/$P" podman --runtime "$OCI_RT" wait uhs-net-$$)
	[ "$st" = 0 ] || bad "exit code '$st', expected 0"
	pn rm uhs-net-$$ >/dev/null || bad "podman rm"
	echo "rtt through podman's bridge network: $(tr '\n' ';' <"$T/rtt")"
	sleep 0.3
	ls "$T/oci-root" 2>/dev/null | grep -qv '^runc$' && bad "runtime state left: $(ls "$T/oci-root")"
	ip -n "$P" -br link | grep -q '^veth' && bad "a veth is left in P: $(ip -n "$P" -br link)"
	;;
*)
	echo "unknown scenario $scenario"
	exit 99
	;;
esac
[ -z "$(oci_leftovers)" ] || bad "processes left: $(oci_leftovers)"
[ $fail = 0 ] && echo "ok net-$scenario"
exit $fail
