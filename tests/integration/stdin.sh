#!/bin/bash
# SPDX-License-Identifier: MIT
# stdin.sh - a guest FileRead on fd 0 reads uhyve-sec's stdin, as in uhyve (issue 11 item 9;
# vmm/stdin.c), through the v1 and v2 ports (test guests stdin, stdin-v2):
#   - bytes from a pipe arrive whole and in order, then end of input (read returns 0);
#   - /dev/null and a closed stdin (opened on /dev/null by uhyve-sec) are an empty input;
#   - a read of fd 1 is -EBADF;
#   - a read that waits for input never keeps a stop from ending the run: SIGTERM (143) and a
#     guest exit on another vCPU (its code, 7) both end it within seconds, stdin still open.
# Usage: stdin.sh VMM GUEST_DIR.  Skips (77) without /dev/kvm.
set -u
vmm=$(realpath "$1") guests=$(realpath "$2")
{ [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; } || { echo "SKIP: /dev/kvm is not usable"; exit 77; }
T=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	exec 3<&- 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fail=0
cd "$guests" || exit 99

same() { # LABEL WANT_STATUS STATUS
	[ "$3" = "$2" ] || { echo "FAIL: $1: status $3, expected $2"; fail=1; }
	cmp -s "$T/out" "$T/want" || { echo "FAIL: $1: stdout:"; head -c 300 "$T/out"; fail=1; }
	[ -s "$T/err" ] && { echo "FAIL: $1: stderr: $(head -c 300 "$T/err")"; fail=1; }
	return 0
}

head -c 15000 /dev/urandom | base64 >"$T/in"
for g in stdin stdin-v2; do
	printf 'hello\nworld\n' | "$vmm" "./$g" >"$T/out" 2>"$T/err"
	st=$?
	printf 'read1=-9\nhello\nworld\nstdin=12 bytes\n' >"$T/want"
	same "$g pipe" 0 $st
	"$vmm" "./$g" <"$T/in" >"$T/out" 2>"$T/err"
	st=$?
	{ echo "read1=-9"; cat "$T/in"; echo "stdin=$(stat -c %s "$T/in") bytes"; } >"$T/want"
	same "$g file" 0 $st
	printf 'read1=-9\nstdin=0 bytes\n' >"$T/want"
	"$vmm" "./$g" </dev/null >"$T/out" 2>"$T/err"
	same "$g /dev/null" 0 $?
	"$vmm" "./$g" <&- >"$T/out" 2>"$T/err"
	same "$g closed" 0 $?
done

# stops: stdin is a FIFO that stays open and is never written
stop() { # LABEL WANT_STATUS SIGNAL|- VMM-ARGS...
	local label=$1 want=$2 sig=$3 waited=0 st
	shift 3
	rm -f "$T/fifo"
	mkfifo "$T/fifo"
	exec 3<>"$T/fifo" # a writer that never writes
	"$vmm" "$@" <"$T/fifo" >"$T/out" 2>"$T/err" &
	pid=$!
	sleep 1
	[ "$sig" != - ] && kill -s "$sig" "$pid"
	while kill -0 "$pid" 2>/dev/null && [ $waited -lt 100 ]; do
		sleep 0.05
		waited=$((waited + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "FAIL: $label: still running (blocked on stdin)"
		kill -9 "$pid"
		fail=1
	fi
	wait "$pid"
	st=$?
	pid=""
	exec 3<&-
	[ "$st" = "$want" ] || { echo "FAIL: $label: status $st, expected $want"; fail=1; }
}
for g in stdin stdin-v2; do
	stop "$g SIGTERM" 143 TERM "./$g"
	grep -qx "uhyve-sec: stopped by SIGTERM" "$T/err" || { echo "FAIL: $g SIGTERM: $(cat "$T/err")"; fail=1; }
	grep -qx "read1=-9" "$T/out" || { echo "FAIL: $g SIGTERM: the guest did not start"; fail=1; }
	stop "$g exit on vCPU 1" 7 - -c 2 "./$g" -- exit-on-cpu1
	[ -s "$T/err" ] && { echo "FAIL: $g exit on vCPU 1: $(cat "$T/err")"; fail=1; }
done
[ $fail = 0 ] && echo "ok: guest fd 0 reads uhyve-sec's stdin; a waiting read never blocks a stop"
exit $fail
