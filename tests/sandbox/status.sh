#!/bin/bash
# SPDX-License-Identifier: MIT
# status.sh - while a guest runs with a mount, the VMM and the broker must show Seccomp 2,
# NoNewPrivs 1 and no capabilities, and hold only the fds their allowlists name, all of them
# close-on-exec except stdio.  The guest holds a directory open meanwhile: the VMM has its
# listing (a memfd), never a directory fd.  Skips (77) without /dev/kvm or in a sanitizer
# build, which compiles the sandbox out.
set -u
vmm=$1 guests=$2
shift 2 # the rest: options for uhyve-sec (e.g. --file-isolation=none: it must change nothing)
{ [ -c /dev/kvm ] && [ -w /dev/kvm ]; } || { echo "SKIP: /dev/kvm is not usable"; exit 77; }
if "$vmm" --print-sandbox | grep -q "not installed in this sanitizer build"; then
	echo "SKIP: sanitizer build (no sandbox)"
	exit 77
fi
T=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
mkdir -p "$T/data/sub"
out="$T/console"
"$vmm" "$@" --mount "$T/data:/data" --output "$out" "$guests/fsops-v2" hold:/data/sub </dev/null \
	>/dev/null 2>"$T/err" &
pid=$!
for _ in $(seq 1 100); do
	grep -q "^hold /data/sub = fd 3" "$out" 2>/dev/null && break
	sleep 0.05
done
broker=$(pgrep -x -P "$pid" uhyve-sec-broke) # comm: 15 characters
fail=0
check_status() { # PID NAME
	local s
	s=$(cat "/proc/$1/status")
	for want in "Seccomp:	2" "NoNewPrivs:	1" "CapEff:	0000000000000000" \
		"CapPrm:	0000000000000000" "CapInh:	0000000000000000"; do
		grep -qF "$want" <<<"$s" || { echo "FAIL: $2: no '$want' in /proc/$1/status"; fail=1; }
	done
}
check_fds() { # PID NAME ALLOWED-REGEX
	local fd target flags
	for fd in /proc/"$1"/fd/*; do
		fd=${fd##*/}
		target=$(readlink "/proc/$1/fd/$fd")
		if ! [[ "$target" =~ $3 ]]; then
			echo "FAIL: $2 holds fd $fd -> $target, not on its allowlist"
			fail=1
		fi
		flags=$(awk '/^flags:/ {print $2}' "/proc/$1/fdinfo/$fd")
		if [ "$fd" -gt 2 ] && (( (8#$flags & 8#2000000) == 0 )); then
			echo "FAIL: $2 fd $fd -> $target is not close-on-exec"
			fail=1
		fi
	done
}
[ -n "$broker" ] || { echo "FAIL: no broker process"; exit 1; }
check_status "$pid" VMM
check_status "$broker" broker
# VMM: stdio, its output file, the broker socket, vCPU fds.  No directory, no /dev/kvm, no
# VM fd, no kernel image.
# The VM fd only where KVM can batch port writes (vmm/pio_ring.c; seccomp allows one request).
vmfd=""
grep -q "KVM_REGISTER_COALESCED_MMIO" <("$vmm" --print-sandbox) && vmfd="|anon_inode:kvm-vm"
grep -q "^hold /data/sub = fd 3" "$out" || { echo "FAIL: the guest did not open /data/sub"; fail=1; }
check_fds "$pid" VMM "^(/dev/null|/dev/pts/.*|pipe:.*|$T/console|$T/err|socket:.*|anon_inode:kvm-vcpu:[0-9]+$vmfd|/memfd:uhyve-sec-dir \(deleted\))$"
for f in /proc/"$pid"/fd/*; do
	[ -d "$f" ] && { echo "FAIL: the VMM holds a directory: fd ${f##*/} -> $(readlink "$f")"; fail=1; }
done
# Broker: stdio (/dev/null), stderr, the socket, the mount root (O_PATH).
check_fds "$broker" broker "^(/dev/null|/dev/pts/.*|pipe:.*|$T/err|socket:.*|$T/data)$"
# The broker is its own exec'd program image, not a fork of the VMM: another executable, and
# another address-space layout (a fork would share the stack and vDSO addresses).
[ "$(basename "$(readlink "/proc/$broker/exe")")" = uhyve-sec-broker ] ||
	{ echo "FAIL: the broker runs $(readlink "/proc/$broker/exe"), not uhyve-sec-broker"; fail=1; }
for m in '[stack]' '[vdso]'; do
	a=$(awk -v m="$m" '$6 == m {print $1}' "/proc/$pid/maps")
	b=$(awk -v m="$m" '$6 == m {print $1}' "/proc/$broker/maps")
	[ -n "$a" ] && [ "$a" != "$b" ] ||
		{ echo "FAIL: VMM and broker share the $m address $a: not a fresh image"; fail=1; }
done
[ "$(readlink "/proc/$pid/root")" = / ] && ls "/proc/$pid/root/" | grep -q . &&
	{ echo "FAIL: the VMM's root is not empty: $(ls "/proc/$pid/root/")"; fail=1; }
kill -TERM "$pid"
wait "$pid"
st=$?
pid=""
[ "$st" = 143 ] || { echo "FAIL: VMM exit status $st after SIGTERM, expected 143"; fail=1; }
[ $fail = 0 ] && echo "ok: VMM and broker $broker confined"
exit $fail
