#!/bin/bash
# SPDX-License-Identifier: MIT
# run-assist-confined.sh - while a guest that needed the assist runs (`sse spin`), the
# instruction-assist process must be confined (Seccomp 2, NoNewPrivs 1, no capabilities,
# nobody when started by root) and hold only stdio on /dev/null and its vCPU sockets; the
# control page (doorbells) is mapped read-only; the JIT's read-write-execute memory must
# exist there and nowhere in the VMM, which maps nothing executable but its own code; when the
# VMM ends, the assist ends too.  Skips (77) without /dev/kvm, without the assist, or in a
# sanitizer build (no seccomp there).
#
# Usage: run-assist-confined.sh VMM GUEST_DIR
set -u
vmm=$1 guests=$2
{ [ -c /dev/kvm ] && [ -w /dev/kvm ]; } || { echo "SKIP: /dev/kvm is not usable"; exit 77; }
if "$vmm" --print-sandbox | grep -q "not installed in this sanitizer build"; then
	echo "SKIP: sanitizer build (no sandbox)"
	exit 77
fi
T=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
"$vmm" -c 2 --output "$T/console" "$guests/sse" spin </dev/null >/dev/null 2>"$T/err" &
pid=$!
helper=""
for _ in $(seq 1 100); do
	helper=$(pgrep -x -P "$pid" uhyve-sec-assis)
	[ -n "$helper" ] && grep -qF "Seccomp:	2" "/proc/$helper/status" 2>/dev/null && break
	sleep 0.05
done
[ -n "$helper" ] || { echo "FAIL: no assist process under uhyve-sec $pid"; cat "$T/err"; exit 1; }
fail=0
s=$(cat "/proc/$helper/status")
for want in "Seccomp:	2" "NoNewPrivs:	1" "CapEff:	0000000000000000" \
	"CapPrm:	0000000000000000"; do
	grep -qF "$want" <<<"$s" || { echo "FAIL: assist: no '$want' in its status"; fail=1; }
done
if [ "$(id -u)" = 0 ] && ! grep -qE "^Uid:	65534	65534	65534	65534" <<<"$s"; then
	echo "FAIL: assist started by root does not run as nobody: $(grep ^Uid <<<"$s")"
	fail=1
fi
for fd in /proc/"$helper"/fd/*; do
	n=${fd##*/} target=$(readlink "$fd")
	case "$n:$target" in
	[012]:/dev/null | [56]:socket:*) ;;
	*) echo "FAIL: assist holds fd $n -> $target"; fail=1 ;;
	esac
done
if grep -E 'uhyve-sec-assist-ctl' "/proc/$helper/maps" | grep -vqE '^[0-9a-f]+-[0-9a-f]+ r--s '; then
	echo "FAIL: the assist maps its control page writable or executable"
	fail=1
fi
grep -q 'uhyve-sec-assist-ctl' "/proc/$helper/maps" ||
	{ echo "FAIL: no control page in the assist process"; fail=1; }
grep -qE '^[0-9a-f]+-[0-9a-f]+ rwxp ' "/proc/$helper/maps" ||
	{ echo "FAIL: no JIT (rwx) mapping in the assist process"; fail=1; }
# The VMM: executable mappings are its own binary's code only (and the kernel's vDSO).
exe=$(readlink "/proc/$pid/exe")
while read -r range perms _ _ _ path; do
	[[ $perms == *x* ]] || continue
	[ "$path" = "$exe" ] || [ "$path" = "[vdso]" ] || [ "$path" = "[vsyscall]" ] ||
		{ echo "FAIL: the VMM maps $range $perms ${path:-(anonymous)}"; fail=1; }
done <"/proc/$pid/maps"
kill -TERM "$pid"
wait "$pid" 2>/dev/null
pid=""
for _ in $(seq 1 40); do
	kill -0 "$helper" 2>/dev/null || break
	sleep 0.05
done
kill -0 "$helper" 2>/dev/null && { echo "FAIL: the assist outlived the VMM"; fail=1; }
[ $fail = 0 ] && echo "ok: the assist process is confined, the VMM maps nothing executable"
exit $fail
