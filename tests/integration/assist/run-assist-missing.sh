#!/bin/bash
# SPDX-License-Identifier: MIT
# run-assist-missing.sh - a uhyve-sec binary whose instruction-assist helper is not next to it
# (a packaging error) must stop before the guest runs with status 71 and one line naming the
# helper and the way out; with --assist=off the same binary runs the guest.
#
# Usage: run-assist-missing.sh VMM GUEST_DIR
set -u
vmm=$1 guests=$2
{ [ -c /dev/kvm ] && [ -w /dev/kvm ]; } || { echo "SKIP: /dev/kvm is not usable"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$vmm" "$tmp/uhyve-sec"
"$tmp/uhyve-sec" "$guests/hello" >"$tmp/out" 2>"$tmp/err" </dev/null
status=$?
fail=0
[ "$status" = 71 ] || { echo "FAIL: status $status, expected 71"; fail=1; }
want="uhyve-sec: the instruction assist (uhyve-sec-assist) is not installed next to uhyve-sec; run with --assist=off to do without it"
[ "$(cat "$tmp/err")" = "$want" ] || { echo "FAIL: stderr:"; cat "$tmp/err"; fail=1; }
[ ! -s "$tmp/out" ] || { echo "FAIL: the guest ran"; fail=1; }
"$tmp/uhyve-sec" --assist=off "$guests/hello" >"$tmp/out" 2>"$tmp/err" </dev/null
status=$?
[ "$status" = 0 ] && [ -s "$tmp/out" ] || { echo "FAIL: --assist=off: status $status"; fail=1; }
[ $fail = 0 ] && echo "ok: missing helper -> status 71; --assist=off runs"
exit $fail
