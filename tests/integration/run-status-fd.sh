#!/bin/bash
# SPDX-License-Identifier: MIT
# run-status-fd.sh - uhyve-sec --status-fd: the end record (README "--status-fd") for a guest
# exit, a guest exit with a broker, uhyve-sec's own errors, a panic, a signal and a run without
# a guest; an invalid fd is a usage error.  Also --argv0 with a v1 guest.
#
# Usage: run-status-fd.sh UHYVE_SEC GUEST_DIR.  Exits 77 (skip) without a usable /dev/kvm.
set -u
vmm=$(realpath "$1") guests=$(realpath "$2")
if ! { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
	echo "SKIP: /dev/kvm is not usable"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
# check NAME WANT_STATUS WANT_RECORD_PATTERN -- ARGS...
check() {
	local name=$1 want=$2 pat=$3 rc rec
	shift 4
	"$vmm" --status-fd 3 "$@" 3>"$tmp/rec" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	rec=$(cat "$tmp/rec")
	if [ "$rc" != "$want" ]; then
		echo "FAIL $name: status $rc, expected $want"; fail=1
	fi
	# exactly one line, ending in a newline
	if [ "$(wc -l <"$tmp/rec")" != 1 ] || [[ $rec != $pat ]]; then
		echo "FAIL $name: record '$rec', expected '$pat'"; fail=1
	else
		echo "ok   $name: $rec"
	fi
}
mkdir "$tmp/data"
check guest-0 0 'uhyve-sec-end 1 guest 0' -- "$guests/hello"
check guest-7 7 'uhyve-sec-end 1 guest 7' -- "$guests/exitcode" 7
check guest-83 83 'uhyve-sec-end 1 guest 83' -- "$guests/exitcode" 83
check guest-v2 0 'uhyve-sec-end 1 guest 0' -- "$guests/hello-v2"
check guest-broker 0 'uhyve-sec-end 1 guest 0' -- --mount "$tmp/data:/data" "$guests/hello"
check noinput 66 'uhyve-sec-end 1 error 66 noinput cannot open kernel ./nope: No such file or directory' \
	-- ./nope
self=$(realpath "$0")
check image 65 "uhyve-sec-end 1 error 65 image $self: ELF: not an ELF image" -- "$self"
check usage 64 "uhyve-sec-end 1 error 64 usage invalid --memory-size '1': *" -- -m 1 "$guests/hello"
check policy 78 'uhyve-sec-end 1 error 78 policy --mount #1: *' -- --mount "x" "$guests/hello"
check panic 83 'uhyve-sec-end 1 error 83 panic guest panicked (guest exit code 1)' -- "$guests/panic"
check triple 80 'uhyve-sec-end 1 error 80 triple-fault *' -- "$guests/triple"
check violation 76 'uhyve-sec-end 1 error 76 violation guest protocol violation *' \
	-- "$guests/hostile" unknown-port
check version 0 'uhyve-sec-end 1 done 0' -- --version
echo '{"version": 1}' >"$tmp/policy.json"
check check-policy 0 'uhyve-sec-end 1 done 0' -- --check-policy "$tmp/policy.json" --mount "$tmp/data:/d"
# A signal: the VMM ends with 143 and says why.
: >"$tmp/out"
"$vmm" --status-fd 3 "$guests/spin" 3>"$tmp/rec" >"$tmp/out" 2>/dev/null &
pid=$!
for _ in $(seq 1 200); do [ -s "$tmp/out" ] && break; sleep 0.05; done
kill -TERM $pid
wait $pid
rc=$?
if [ $rc != 143 ] || [ "$(cat "$tmp/rec")" != "uhyve-sec-end 1 error 143 signal stopped by SIGTERM" ]; then
	echo "FAIL signal: status $rc, record '$(cat "$tmp/rec")'"; fail=1
else
	echo "ok   signal: $(cat "$tmp/rec")"
fi
# The fd must be open and above stderr; it is not inherited by the broker.
for bad in 2 9 x; do
	"$vmm" --status-fd $bad "$guests/hello" >/dev/null 2>"$tmp/err"
	rc=$?
	if [ $rc != 64 ] || ! grep -q "invalid --status-fd '$bad'" "$tmp/err"; then
		echo "FAIL bad fd $bad: status $rc, stderr $(cat "$tmp/err")"; fail=1
	fi
done
# --argv0: a v1 guest sees the given name as argv[0].
"$vmm" --argv0 /bin/app "$guests/args" one >"$tmp/out" 2>&1
if [ "$(sed -n 2,3p "$tmp/out")" != $'argv[0]=/bin/app\nargv[1]=one' ]; then
	echo "FAIL argv0: $(cat "$tmp/out")"; fail=1
else
	echo "ok   argv0"
fi
exit $fail
