#!/bin/bash
# SPDX-License-Identifier: MIT
# sandbox.sh - a VMM with a NIC keeps its confinement: while the net-echo guest runs, every
# thread (vCPU, I/O thread, main) shows Seccomp 2 and NoNewPrivs 1, the process has no
# capabilities, and its fds are exactly stdio, the TAP, the four eventfds and the KVM fds
# (plus the instruction assist's sockets where that is built in), all close-on-exec; the NIC
# allowlist printed by --print-sandbox --net adds KVM_SET_GSI_ROUTING on the VM fd and pread64
# on KVM's statistics fds, and no open, socket or other path call.
#
#   sandbox.sh VMM GUEST NETCLIENT
set -u
. "$(dirname "$0")/lib.sh"
vmm=$(realpath "$1") guest=$(realpath "$2") client=$(realpath "$3")
"$vmm" --print-sandbox | grep -q "not installed in this sanitizer build" &&
	skip "sanitizer build (no sandbox)"
net_setup kvm
start_guest "$vmm" --net tap:tap10 "$guest" || { bad "the guest did not come up"; exit 1; }
out=$(in_ns "$client" 10.0.5.3 echo confined) && [ "$out" = "echo confined" ] || bad "echo: $out"
n=0
for t in /proc/"$VPID"/task/*; do
	n=$((n + 1))
	for want in "Seccomp:	2" "NoNewPrivs:	1" "CapEff:	0000000000000000" "CapPrm:	0000000000000000"; do
		grep -qF "$want" "$t/status" || bad "thread ${t##*/}: no '$want'"
	done
done
[ $n -ge 3 ] || bad "$n threads, expected main, vCPU and I/O thread"
declare -A seen=()
for fd in /proc/"$VPID"/fd/*; do
	fd=${fd##*/}
	target=$(readlink "/proc/$VPID/fd/$fd")
	case "$target" in
	/dev/null | pipe:* | "$TMP"/*) [ "$fd" -le 2 ] || bad "fd $fd -> $target" ;;
	/dev/net/tun | anon_inode:\[eventfd\] | anon_inode:kvm-vcpu:0 | anon_inode:kvm-vm | socket:*)
		seen[$target]=$((${seen[$target]:-0} + 1)) ;;
	*) bad "the VMM holds fd $fd -> $target" ;;
	esac
	flags=$(awk '/^flags:/ {print $2}' "/proc/$VPID/fdinfo/$fd")
	[ "$fd" -le 2 ] || (( (8#$flags & 8#2000000) != 0 )) || bad "fd $fd -> $target is not close-on-exec"
done
[ "${seen[/dev/net/tun]:-0}" = 1 ] || bad "TAP fds: ${seen[/dev/net/tun]:-0}, expected 1"
[ "${seen[anon_inode:[eventfd]]:-0}" = 4 ] || bad "eventfds: ${seen[anon_inode:[eventfd]]:-0}, expected 4"
[ "${seen[anon_inode:kvm-vm]:-0}" = 1 ] || bad "no VM fd (the interrupt route needs it)"
out=$(in_ns "$client" 10.0.5.3 cmd quit) && [ "$out" = bye ] || bad "quit: $out"
stop_guest
[ "$STATUS" = 0 ] || bad "VMM exit status $STATUS"
p=$("$vmm" --print-sandbox --net tap)
nic=$(sed -n '/^  VMM --net seccomp allowlist/,/^[^ ]/p' <<<"$p" | awk '/^    [a-z0-9_]+ / {print $1}' | tr '\n' ' ')
[ "$nic" = "ioctl pread64 " ] || bad "NIC allowlist: '$nic'"
grep -q "ioctl .*fd == the VM fd, request == KVM_SET_GSI_ROUTING" <<<"$p" || bad "KVM_SET_GSI_ROUTING is not pinned"
grep -q "pread64 .*fd in the vCPUs' KVM statistics fds" <<<"$p" || bad "pread64 is not pinned"
[ -z "$("$vmm" --print-sandbox | grep -- "--net")" ] || bad "the NIC rules show without --net"
[ $fail = 0 ] && echo "ok: $n threads confined; fds: TAP, 4 eventfds, KVM; NIC rules: $nic"
exit $fail
