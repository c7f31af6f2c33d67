#!/bin/bash
# SPDX-License-Identifier: MIT
# run-assist-off.sh - the SSE guest with --assist=off.  Where KVM's instruction emulator
# rejects its instructions (kvm_pvm), the run must end with status 81 and the diagnostic
# naming the address and the instruction bytes (expected/sse-assist-off.err); on a KVM with
# hardware virtualization nothing is rejected and the guest's normal output is expected.
#
# Usage: run-assist-off.sh RUN-VMM VMM EXPECT_DIR   (GUEST_DIR in the environment)
set -u
run_vmm=$1 vmm=$2 dir=$3
out=$("$run_vmm" --kvm "$vmm" 81 "$dir" sse-assist-off --assist=off @sse)
rc=$?
if [ $rc = 0 ] || [ $rc = 77 ]; then
	echo "$out"
	exit $rc
fi
if "$run_vmm" --kvm "$vmm" 0 "$dir" sse-1 --assist=off @sse >/dev/null; then
	echo "ok: this KVM runs the SSE guest without any assist (hardware virtualization)"
	exit 0
fi
echo "$out"
exit 1
