#!/bin/bash
# SPDX-License-Identifier: MIT
# isolation.sh - a test run must not depend on what else runs on the machine.  Neighbours run
# all the time: one uhyve-sec that keeps running (its own broker), and a loop of short runs
# that each make and remove a scratch directory in /tmp.  Meanwhile the scratch and kill-vmm
# scenarios of run-files.sh, which check processes and scratch directories, must pass
# unchanged: they may look only at their own process tree and their own TMPDIR.  Skips (77)
# without /dev/kvm.
#
# Usage: isolation.sh   (env as for run-files.sh: UHYVE_SEC, GUEST_DIR, EXPECT_DIR)
set -u
{ [ -c /dev/kvm ] && [ -w /dev/kvm ]; } || { echo "SKIP: /dev/kvm is not usable"; exit 77; }
here=$(dirname "$(readlink -f "$0")")
N=$(mktemp -d) || exit 99
pid="" loop=""
cleanup() {
	[ -n "$loop" ] && kill -TERM "$loop" 2>/dev/null && wait "$loop" 2>/dev/null
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$N"
}
trap cleanup EXIT
printf '{"version": 1, "scratch": true}\n' >"$N/scratch.json"
mkdir "$N/data"
TMPDIR=/tmp "$UHYVE_SEC" --policy "$N/scratch.json" --mount "$N/data:/data" \
	--output "$N/out" "$GUEST_DIR/spin" </dev/null >/dev/null 2>"$N/err" &
pid=$!
for _ in $(seq 1 100); do
	grep -q spinning "$N/out" 2>/dev/null && break
	sleep 0.05
done
grep -q spinning "$N/out" 2>/dev/null || { echo "FAIL: the neighbour did not start"; cat "$N/err"; exit 1; }
(
	trap 'exit 0' TERM
	while :; do
		TMPDIR=/tmp "$UHYVE_SEC" --policy "$N/scratch.json" "$GUEST_DIR/hello" \
			</dev/null >/dev/null 2>&1
	done
) &
loop=$!
fail=0
for s in scratch kill-vmm; do
	"$here/run-files.sh" "$s" >"$N/$s.log" 2>&1 || {
		echo "FAIL: scenario $s fails while a neighbour runs:"
		sed 's/^/    /' "$N/$s.log"
		fail=1
	}
done
kill -0 "$pid" 2>/dev/null || { echo "FAIL: the neighbour died during the scenarios"; fail=1; }
[ $fail = 0 ] && echo "ok: scenarios scratch and kill-vmm pass next to another uhyve-sec"
exit $fail
