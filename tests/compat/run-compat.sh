#!/bin/bash
# SPDX-License-Identifier: MIT
# run-compat.sh - boot a real, unmodified Hermit binary and check its output and status.
#
# Usage: run-compat.sh VMM NAME EXPECTED_STATUS LINES_FILE [VMM-ARGS...]
# The binaries come from the directory in $UHYVE_SEC_COMPAT_DIR (for example uhyve's
# data/0.6.0/x86_64: hello_world, hello_c, rusty_demo); they are never part of this
# repository.  Skips (77) when the variable is unset, the binary is missing, /dev/kvm is
# unusable, or this host's KVM cannot execute an instruction the guest uses (status 81:
# KVM's instruction emulator, e.g. kvm_pvm, rejects SSE/XSAVE) and the build has no
# instruction assist.  Every line of LINES_FILE is a bash pattern ([[ line == pattern ]]) that
# must match a whole line of the guest's stdout, in that order (other lines may come in
# between: the samples print timings), after the kernel log lines are taken out; the kernel
# log must be there; stderr must be empty.
set -u
vmm=$1 name=$2 want_status=$3 lines=$4
shift 4
dir=${UHYVE_SEC_COMPAT_DIR:-}
if [ -z "$dir" ]; then
	echo "SKIP: UHYVE_SEC_COMPAT_DIR is not set"
	exit 77
fi
if [ ! -f "$dir/$name" ]; then
	echo "SKIP: $dir/$name does not exist"
	exit 77
fi
if ! { [ -c /dev/kvm ] && [ -w /dev/kvm ]; }; then
	echo "SKIP: /dev/kvm is not usable"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
timeout -s KILL 600 "$vmm" "$@" "$dir/$name" >"$tmp/out" 2>"$tmp/err" </dev/null
status=$?
# Without the instruction assist in the build, an emulating KVM cannot run these guests at
# all: skip.  With it, status 81 is a failure like any other.
if [ "$status" = 81 ] && grep -q "instruction emulation failed" "$tmp/err" &&
	"$vmm" --version | grep -qF "instruction assist: not built"; then
	echo "SKIP: this KVM cannot execute an instruction of $name and this build has no assist:"
	cat "$tmp/err"
	exit 77
fi
fail=0
if [ "$status" != "$want_status" ]; then
	echo "FAIL: $name exited with $status, expected $want_status"
	fail=1
fi
# The kernel log (serial port) goes to stdout too, as in uhyve: it must be there, and it is
# taken out before the application's lines are matched (a log line may come in the middle of
# an application line; each log line is written whole, so removing "[CPU][LEVEL] ...\n"
# gives back the application's stream).
if ! grep -qE '^\[0\]\[INFO\] ' "$tmp/out"; then
	echo "FAIL: $name: no kernel log line ('[0][INFO] ...') on stdout"
	fail=1
fi
perl -0pe 's/\[\d+\]\[(?:INFO|WARN|ERROR|DEBUG|TRACE)\] [^\n]*\n//g' "$tmp/out" >"$tmp/app"
# the patterns, in order, each against the lines after the previous match
mapfile -t got <"$tmp/app"
i=0
while IFS= read -r pat; do
	while [ $i -lt ${#got[@]} ] && [[ ${got[$i]} != $pat ]]; do
		i=$((i + 1))
	done
	if [ $i -ge ${#got[@]} ]; then
		echo "FAIL: $name: no line matching '$pat' (in order)"
		fail=1
		break
	fi
	i=$((i + 1))
done <"$lines"
if [ -s "$tmp/err" ]; then
	echo "FAIL: $name wrote to stderr"
	fail=1
fi
if [ $fail = 1 ]; then
	echo "--- stdout"; cat "$tmp/out"; echo "--- stderr"; cat "$tmp/err"
	exit 1
fi
echo "ok: $name $* (status $status)"
