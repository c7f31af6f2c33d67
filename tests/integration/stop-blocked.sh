#!/bin/bash
# SPDX-License-Identifier: MIT
# stop-blocked.sh - a stop signal ends the run even when the output cannot be written: stdout
# is a FIFO that is open for reading but never read, the guest prints in a loop (console
# writes block a vCPU thread holding the output lock; serial bytes batched by KVM block the
# main thread, which drains them), then SIGTERM.  uhyve-sec must print "stopped
# by SIGTERM" and exit 143 within a few seconds, with no process left.  Also with --stats
# (printed after the stop) and with two vCPUs.  Skips (77) without /dev/kvm.
#
# Usage: stop-blocked.sh VMM GUEST_DIR
set -u
vmm=$1 guests=$2
{ [ -c /dev/kvm ] && [ -w /dev/kvm ]; } || { echo "SKIP: /dev/kvm is not usable"; exit 77; }
T=$(mktemp -d)
pid=""
cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	exec 3<&- 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
fail=0
run() { # LABEL MODE ARGS...
	local label=$1 mode=$2 st waited=0
	shift 2
	rm -f "$T/fifo" "$T/err"
	mkfifo "$T/fifo"
	exec 3<>"$T/fifo" # a reader that never reads
	"$vmm" "$@" "$guests/spin" "$mode" >"$T/fifo" 2>"$T/err" </dev/null &
	pid=$!
	sleep 1 # the pipe (64 KiB) is full long before this
	kill -TERM "$pid"
	while kill -0 "$pid" 2>/dev/null && [ $waited -lt 100 ]; do
		sleep 0.05
		waited=$((waited + 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "FAIL: $label: still running 5 s after SIGTERM (blocked in the output)"
		kill -9 "$pid"
		wait "$pid" 2>/dev/null
		pid=""
		fail=1
		exec 3<&-
		return
	fi
	wait "$pid"
	st=$?
	pid=""
	exec 3<&-
	[ "$st" = 143 ] || { echo "FAIL: $label: exit status $st, expected 143"; fail=1; }
	grep -qx "uhyve-sec: stopped by SIGTERM" "$T/err" ||
		{ echo "FAIL: $label: stderr: $(cat "$T/err")"; fail=1; }
}
run console print
run console-stats print --stats
run console-smp print -c 2
run serial uart -v
run serial-smp uart -v -c 2
[ $fail = 0 ] && echo "ok: SIGTERM ends a run whose output is blocked (exit 143)"
exit $fail
