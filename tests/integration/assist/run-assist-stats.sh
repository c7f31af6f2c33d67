#!/bin/bash
# SPDX-License-Identifier: MIT
# run-assist-stats.sh - the SSE guest with --stats: its output as without --stats, and, where
# KVM rejected instructions (vm exits "internal_error"), the assist's statistics: emulation
# exits, bursts, instructions, time, what was completed where, why bursts stopped.  In exits
# mode: JIT mode (the default with one vCPU) may engage before the first rejected instruction,
# and its statistics are another test's (sleeplat, the JIT tests).
#
# Usage: run-assist-stats.sh VMM EXPECT_DIR   (GUEST_DIR in the environment)
set -u
vmm=$(realpath "$1") dir=$2
if ! { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
	echo "SKIP: /dev/kvm is not usable"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "${GUEST_DIR:-.}" || exit 99
timeout -s KILL 120 "$vmm" --assist=exits --stats ./sse >"$tmp/out" 2>"$tmp/err" </dev/null
status=$?
fail=0
[ "$status" = 0 ] || { echo "FAIL: exit status $status"; fail=1; }
cmp -s "$tmp/out" "$dir/sse-1.out" || { echo "FAIL: stdout differs from sse-1.out"; fail=1; }
if grep -q '^    internal_error ' "$tmp/err"; then
	for re in '^  instruction assist: [1-9][0-9]* emulation exits, [1-9][0-9]* bursts, [1-9][0-9]* instructions emulated$' \
		'^    time in bursts [0-9.]* ms \([0-9.]* us per burst, [0-9.]* ms of it in the assist process\), in the assist path [0-9.]* ms$' \
		'^    completed in the VMM: .*xgetbv [1-9].*xsave [1-9].*xrstor [1-9]' \
		'^    completed in the assist: [1-9][0-9]* \(POPCNT/TZCNT/LZCNT; JIT mode also RDTSC, INVLPG, MFENCE, CR0.TS, the FS/GS bases, the TSC deadline, the x2APIC'"'"'s LVT timer, EOI and ICR, #NM, IRETQ, XSAVE and XRSTOR\); page-table changes followed: [1-9]' \
		'^    burst stops: .*kvm [1-9].*vmm [1-9]' \
		'^    stopped before: .*lock [1-9]' \
		'^    injected: .*#NM 1.*#GP 2.*#PF 1'; do
		grep -Eq -- "$re" "$tmp/err" || { echo "FAIL: no stats line matching $re"; fail=1; }
	done
elif grep -q 'instruction assist' "$tmp/err"; then
	echo "FAIL: assist statistics without any emulation failure"
	fail=1
fi
if [ $fail = 1 ]; then
	echo "--- stdout"; cat "$tmp/out"; echo "--- stderr"; cat "$tmp/err"
	exit 1
fi
echo "ok: sse --stats (status $status)"
