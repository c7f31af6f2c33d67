#!/bin/bash
# SPDX-License-Identifier: MIT
# run-assist-missing.sh - a packager may ship the instruction assist separately (issue 16 item
# 13): a uhyve-sec binary whose uhyve-sec-assist is not next to it runs every guest that never
# needs the assist (the `hello` test guest, plain C) exactly as with it; only where an
# instruction actually needs the assist (the SSE guest, on a KVM that emulates CPL-0 code) does
# the run end, with status 71 and one line naming the helper; --assist=off gives status 81
# there instead.  On a host with hardware virtualization the SSE guest needs no assist at all.
#
# Usage: run-assist-missing.sh VMM GUEST_DIR
set -u
vmm=$1 guests=$2
{ [ -c /dev/kvm ] && [ -w /dev/kvm ]; } || { echo "SKIP: /dev/kvm is not usable"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$vmm" "$tmp/uhyve-sec"
fail=0
for mode in auto exits; do
	"$tmp/uhyve-sec" --assist=$mode "$guests/hello" >"$tmp/out" 2>"$tmp/err" </dev/null
	status=$?
	[ "$status" = 0 ] || { echo "FAIL: hello, --assist=$mode: status $status"; fail=1; }
	[ "$(cat "$tmp/out")" = "Hello from uhyve-sec!" ] ||
		{ echo "FAIL: hello, --assist=$mode: stdout:"; cat "$tmp/out"; fail=1; }
	[ ! -s "$tmp/err" ] || { echo "FAIL: hello, --assist=$mode: stderr:"; cat "$tmp/err"; fail=1; }
done
"$tmp/uhyve-sec" "$guests/sse" >"$tmp/out" 2>"$tmp/err" </dev/null
status=$?
if grep -qwE 'vmx|svm' /proc/cpuinfo; then
	[ "$status" = 0 ] || { echo "FAIL: sse on hardware virtualization: status $status"; fail=1; }
else
	[ "$status" = 71 ] || { echo "FAIL: sse without the assist: status $status, expected 71"; fail=1; }
	re='^uhyve-sec: KVM cannot execute an instruction of the guest \(vCPU 0, RIP 0x[0-9a-f]+\) and the instruction assist \(uhyve-sec-assist\) is not installed next to uhyve-sec$'
	[ "$(wc -l <"$tmp/err")" = 1 ] && grep -qE "$re" "$tmp/err" ||
		{ echo "FAIL: sse without the assist: stderr:"; cat "$tmp/err"; fail=1; }
	"$tmp/uhyve-sec" --assist=off "$guests/sse" >/dev/null 2>"$tmp/err" </dev/null
	status=$?
	[ "$status" = 81 ] || { echo "FAIL: sse, --assist=off: status $status, expected 81"; fail=1; }
fi
[ $fail = 0 ] && echo "ok: without the helper, hello runs and only a guest that needs it fails"
exit $fail
