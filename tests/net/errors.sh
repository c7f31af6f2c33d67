#!/bin/bash
# SPDX-License-Identifier: MIT
# errors.sh - --net failures in a private namespace: each is one line on stderr and status 68
# (ST_NET), before any guest runs (only the last needs /dev/kvm): a missing TAP (never created as a side
# effect), a busy one, a TUN device, a non-TUN interface, an fd that is not a TAP, not open, or
# lacks IFF_VNET_HDR, and a kernel older than Hermit 0.13.2.
#
#   errors.sh VMM NET_ECHO_GUEST NET_OLD_GUEST
set -u
. "$(dirname "$0")/lib.sh"
vmm=$(realpath "$1") guest=$(realpath "$2") old=$(realpath "$3")
here=$(cd "$(dirname "$0")" && pwd)
net_setup
command -v python3 >/dev/null || skip "python3 is missing"

check() { # NAME EXPECTED_MESSAGE COMMAND...
	local name=$1 msg=$2
	shift 2
	in_ns timeout -s KILL 30 "$@" >"$TMP/out" 2>"$TMP/err" </dev/null
	local st=$?
	[ $st = 68 ] || bad "$name: status $st, expected 68 ($(cat "$TMP/err"))"
	[ -s "$TMP/out" ] && bad "$name: stdout: $(cat "$TMP/out")"
	[ "$(cat "$TMP/err")" = "$msg" ] || bad "$name: stderr '$(cat "$TMP/err")', expected '$msg'"
}

check missing "uhyve-sec: --net: TAP device nosuch does not exist (create it first, e.g. \`ip tuntap add dev nosuch mode tap\`)" \
	"$vmm" --net tap:nosuch "$guest"
in_ns ip link show nosuch >/dev/null 2>&1 && bad "missing: nosuch was created"

ip netns exec "$NS" python3 "$here/tapopen.py" tap10 vnet hold >"$TMP/held" &
holder=$!
for _ in $(seq 50); do [ -s "$TMP/held" ] && break; sleep 0.1; done
check busy "uhyve-sec: --net: TAP device tap10 is busy (another process is attached to it)" \
	"$vmm" --net tap "$guest"
kill "$holder"
wait "$holder" 2>/dev/null

in_ns ip tuntap add dev tun0 mode tun || exit 99
check tun "uhyve-sec: --net: tun0 is not a TAP device (a TUN or multi-queue device, or another kind of interface)" \
	"$vmm" --net tap:tun0 "$guest"
check loopback "uhyve-sec: --net: lo is not a TAP device (a TUN or multi-queue device, or another kind of interface)" \
	"$vmm" --net tap:lo "$guest"
check fd-not-tap "uhyve-sec: --net fd:7: not an attached TAP or macvtap device" \
	bash -c 'exec 7</dev/null; exec "$0" --net fd:7 "$1"' "$vmm" "$guest"
check fd-closed "uhyve-sec: --net fd:9: not an open file descriptor" \
	"$vmm" --net fd:9 "$guest"
# the fd number is python's: move it to 8 first
check fd-novnet "uhyve-sec: --net fd:8: tap10 was not opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR" \
	python3 "$here/tapopen.py" tap10 novnet exec /bin/bash -c 'exec 8<&%FD%; exec "$0" --net fd:8 "$1"' "$vmm" "$guest"
cd "$(dirname "$old")" || exit 99
n=9
# the image is parsed after KVM is set up (and the VMM confined): this one needs /dev/kvm
if ! { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
	echo "note: /dev/kvm is not usable: the old-kernel case is not run"
	n=8
else
check old-kernel "uhyve-sec: --net needs a Hermit kernel 0.13.2 or newer (uhyve's requirement); ./$(basename "$old") is Hermit 0.12.0" \
	"$vmm" --net tap "./$(basename "$old")"
fi
[ $fail = 0 ] && echo "ok: $n failures, each status 68 with its one-line message"
exit $fail
