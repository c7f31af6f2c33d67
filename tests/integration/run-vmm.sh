#!/bin/bash
# SPDX-License-Identifier: MIT
# run-vmm.sh - run uhyve-sec once and compare status, stdout and stderr with golden files.
#
# Usage: run-vmm.sh [--kvm] [--sort] [--signal SIG] [--env K=V]... [--output-file]
#                   VMM EXPECT_STATUS EXPECT_DIR NAME [VMM-ARGS...]
# Golden files EXPECT_DIR/NAME.out and NAME.err hold one line per output line; each is a
# bash pattern ([[ line == pattern ]]), so '*' matches anything and everything else is
# exact.  A missing .err file means "stderr must be empty".  --sort compares sorted lines
# (output of several vCPUs).  --signal waits for the first line of output (failing if none
# comes within 10 s while the guest runs), then sends SIG.
# Guest paths given as @name run the test guest `name` from the directory in $GUEST_DIR,
# so argv[0] is the stable "./name".  Exits 77 (skip) when --kvm is given and /dev/kvm is
# not usable.
set -u
kvm=0 sort=0 sig="" envs=() outfile=0
while [ $# -gt 0 ]; do
	case "$1" in
	--kvm) kvm=1; shift ;;
	--sort) sort=1; shift ;;
	--signal) sig=$2; shift 2 ;;
	--env) envs+=("$2"); shift 2 ;;
	--output-file) outfile=1; shift ;;
	*) break ;;
	esac
done
vmm=$(realpath "$1") want_status=$2 dir=$3 name=$4
shift 4
if [ $kvm = 1 ] && ! { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
	echo "SKIP: /dev/kvm is not usable"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=()
for a in "$@"; do
	case "$a" in
	@*) args+=("./${a#@}") ;;
	%OUT%) args+=("$tmp/console") ;;
	%LONG%) args+=("$(printf 'a%.0s' $(seq 17000))") ;;
	%LONGKEY%) args+=("$(printf 'K%.0s' $(seq 300))=v") ;;
	%ENV129%) for i in $(seq 129); do args+=(-e "V$i=$i"); done ;;
	%ENV300%) for i in $(seq 300); do args+=(-e "V$i=$i"); done ;;
	*) args+=("$a") ;;
	esac
done
cd "${GUEST_DIR:-.}" || exit 99
if [ -n "$sig" ]; then
	env "${envs[@]}" "$vmm" "${args[@]}" >"$tmp/out" 2>"$tmp/err" &
	pid=$!
	seen=0
	for _ in $(seq 1 200); do
		[ -s "$tmp/out" ] && { seen=1; break; }
		sleep 0.05
	done
	kill -s "$sig" "$pid"
	wait "$pid"
	status=$?
else
	timeout -s KILL 120 env "${envs[@]}" "$vmm" "${args[@]}" >"$tmp/out" 2>"$tmp/err" </dev/null
	status=$?
fi
[ $outfile = 1 ] && cp "$tmp/console" "$tmp/out"
fail=0
if [ -n "$sig" ] && [ $seen = 0 ]; then
	echo "FAIL: no output within 10 s while the guest ran (before SIG$sig)"
	fail=1
fi
if [ "$status" != "$want_status" ]; then
	echo "FAIL: exit status $status, expected $want_status"
	fail=1
fi
compare() { # actual golden label
	local actual=$1 golden=$2 label=$3
	local -a a=() g=()
	if [ $sort = 1 ]; then
		mapfile -t a < <(sort "$actual")
		[ -f "$golden" ] && mapfile -t g < <(sort "$golden")
	else
		mapfile -t a <"$actual"
		[ -f "$golden" ] && mapfile -t g <"$golden"
	fi
	if [ ${#a[@]} != ${#g[@]} ]; then
		echo "FAIL: $label has ${#a[@]} lines, expected ${#g[@]}"
		fail=1
	fi
	for i in "${!g[@]}"; do
		# Only '*' is special in golden lines: escape the other glob characters.
		local p=${g[$i]//\\/\\\\}
		p=${p//\[/\\[}
		p=${p//\]/\\]}
		p=${p//\?/\\?}
		# shellcheck disable=SC2053
		if [[ "${a[$i]-<missing>}" != $p ]]; then
			echo "FAIL: $label line $((i + 1)): got '${a[$i]-<missing>}', expected '${g[$i]}'"
			fail=1
		fi
	done
}
compare "$tmp/out" "$dir/$name.out" stdout
compare "$tmp/err" "$dir/$name.err" stderr
if [ $fail = 1 ]; then
	echo "--- stdout"; cat "$tmp/out"; echo "--- stderr"; cat "$tmp/err"
	exit 1
fi
echo "ok: $name (status $status)"
