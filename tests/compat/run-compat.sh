#!/bin/bash
# run-compat.sh - boot a real, unmodified Hermit binary and check its output and status.
#
# Usage: run-compat.sh VMM NAME EXPECTED_STATUS EXPECTED_LINE [VMM-ARGS...]
# The binaries come from the directory in $UHYVE_SEC_COMPAT_DIR (for example uhyve's
# data/0.6.0/x86_64: hello_world, hello_c, rusty_demo); they are never part of this
# repository.  Skips (77) when the variable is unset, the binary is missing, /dev/kvm is
# unusable, or this host's KVM cannot execute an instruction the guest uses (status 81:
# KVM's instruction emulator, e.g. kvm_pvm, rejects SSE/XSAVE until the instruction
# assist exists).  EXPECTED_LINE must appear as a whole line of the guest's stdout.
set -u
vmm=$1 name=$2 want_status=$3 want_line=$4
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
if [ "$status" = 81 ] && grep -q "instruction emulation failed" "$tmp/err"; then
	echo "SKIP: this KVM cannot execute an instruction of $name:"
	cat "$tmp/err"
	exit 77
fi
fail=0
if [ "$status" != "$want_status" ]; then
	echo "FAIL: $name exited with $status, expected $want_status"
	fail=1
fi
if ! grep -qxF -- "$want_line" "$tmp/out"; then
	echo "FAIL: $name did not print the line '$want_line'"
	fail=1
fi
if [ $fail = 1 ]; then
	echo "--- stdout"; cat "$tmp/out"; echo "--- stderr"; cat "$tmp/err"
	exit 1
fi
echo "ok: $name $* (status $status)"
