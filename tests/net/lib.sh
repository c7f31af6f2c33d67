# SPDX-License-Identifier: MIT
# lib.sh - shared by the network tests (sourced): a private network namespace with a TAP, the
# guest under uhyve-sec inside it, and cleanup that runs even on failure.
#
# Every test makes its own namespace uhs-net-<pid>-<random> (two runs at once never collide),
# with lo up and `tap10` = 10.0.5.1/24 (net_setup), and runs everything that touches the
# network inside it: the machine's own interfaces are never touched and nothing is sent
# outside the namespace.  Skips (77) without root, network namespaces, /dev/net/tun, or (for
# tests that boot a guest) /dev/kvm.

NS="" VPID="" TMP=""
fail=0

skip() {
	echo "SKIP: $*"
	exit 77
}

bad() {
	echo "FAIL: $*"
	fail=1
}

net_cleanup() {
	[ -n "$VPID" ] && kill -KILL "$VPID" 2>/dev/null
	[ -n "$VPID" ] && wait "$VPID" 2>/dev/null
	[ -n "$NS" ] && ip netns del "$NS" 2>/dev/null
	[ -n "$TMP" ] && rm -rf "$TMP"
}

# net_setup [need_kvm]: namespace, TAP, temp dir, traps.
net_setup() {
	[ "${1:-}" = kvm ] && { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] ||
		skip "/dev/kvm is not usable"; }
	[ -c /dev/net/tun ] || skip "/dev/net/tun is missing"
	command -v ip >/dev/null || skip "iproute2 (ip) is missing"
	NS=uhs-net-$$-$RANDOM
	TMP=$(mktemp -d)
	trap net_cleanup EXIT
	trap 'exit 130' INT TERM
	ip netns add "$NS" 2>/dev/null || { NS=""; skip "cannot create a network namespace (needs root)"; }
	in_ns ip link set lo up || exit 99
	in_ns ip tuntap add dev tap10 mode tap 2>/dev/null || skip "cannot create a TAP device in a namespace"
	in_ns ip addr add 10.0.5.1/24 dev tap10 && in_ns ip link set tap10 up || exit 99
}

in_ns() {
	ip netns exec "$NS" "$@"
}

tap_mac() { # NAME
	in_ns cat "/sys/class/net/$1/address"
}

# start_guest VMM ARGS...: runs the VMM in the namespace (stdout, stderr to $TMP/out, err) and
# waits up to 20 s for "net-echo: ready".  Returns 1 if the VMM exits first or never gets there.
start_guest() {
	ip netns exec "$NS" "$@" >"$TMP/out" 2>"$TMP/err" </dev/null & # not a function: $! is the VMM
	VPID=$!
	for _ in $(seq 200); do
		grep -q "^net-echo: ready" "$TMP/out" 2>/dev/null && return 0
		kill -0 "$VPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# stop_guest: waits up to 20 s for the VMM (after "quit"); sets STATUS.
stop_guest() {
	for _ in $(seq 200); do
		kill -0 "$VPID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$VPID" 2>/dev/null && { bad "the VMM did not exit after quit"; kill -KILL "$VPID"; }
	wait "$VPID"
	STATUS=$?
	VPID=""
}

# expect_lines FILE LINE...: FILE holds exactly these lines (bash patterns: * matches anything).
expect_lines() {
	local f=$1 i=0 line
	shift
	local -a got=()
	mapfile -t got <"$f"
	if [ ${#got[@]} != $# ]; then
		bad "$(basename "$f") has ${#got[@]} lines, expected $#"
	fi
	for line in "$@"; do
		# shellcheck disable=SC2053
		[[ "${got[$i]:-}" == $line ]] || bad "$(basename "$f") line $((i + 1)): got '${got[$i]:-}', expected '$line'"
		i=$((i + 1))
	done
	[ $fail = 0 ] || { echo "--- stdout"; cat "$TMP/out"; echo "--- stderr"; cat "$TMP/err"; }
}
