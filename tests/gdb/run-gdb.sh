#!/bin/bash
# SPDX-License-Identifier: MIT
# run-gdb.sh - one debugger session: uhyve-sec waits for gdb, Debian's gdb drives it in batch
# mode with the commands of CASES/NAME.gdb, and the test compares
#   * gdb's output (stdout and stderr) with CASES/NAME.expect, line by line, where '*' is the
#     only wildcard (a line '...' there skips any number of lines until the next one matches),
#   * the guest's console output with CASES/NAME.out (missing: must be empty),
#   * uhyve-sec's stderr with CASES/NAME.err, if there is one,
#   * uhyve-sec's exit status with EXPECT_STATUS,
#   * that the Unix socket was created with mode 0600 and is gone afterwards.
#
# Usage: run-gdb.sh [--conn socket|tcp|env|toml] [--interrupt SEC] [--needs-assist] [--out NAME]
#                   [--emulated-watch-only] VMM CASES NAME EXPECT_STATUS [VMM-ARGS...]
# --conn: --gdb-socket in a private directory (default), -s 0 or HERMIT_GDB_PORT=0 (the port
#   uhyve-sec picked is read from its message: runs never collide), or uhyve.toml's gdb_port
#   (--config; a free port found just before).  --interrupt: SIGINT to
#   gdb after SEC seconds of the session (gdb sends Ctrl-C to the stub).  gdb's shell commands
#   see $UHS_PID (uhyve-sec's pid).  --out: the guest output's golden file is CASES/NAME.out.
#   --emulated-watch-only: the case checks what a KVM without data breakpoints does (skip
#   where uhyve-sec's probe found them working).  VMM-ARGS: @name is the test guest `name` in $GUEST_DIR.
#   Exits 77 without /dev/kvm or gdb, and with --needs-assist in a build without the
#   instruction assist.
set -u
conn=socket intr="" needs_assist=0 out="" emul_only=0
while [ $# -gt 0 ]; do
	case "$1" in
	--conn) conn=$2; shift 2 ;;
	--interrupt) intr=$2; shift 2 ;;
	--needs-assist) needs_assist=1; shift ;;
	--out) out=$2; shift 2 ;;
	--emulated-watch-only) emul_only=1; shift ;;
	*) break ;;
	esac
done
vmm=$(realpath "$1") cases=$2 name=$3 want_status=$4
shift 4
{ [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; } || { echo "SKIP: no /dev/kvm"; exit 77; }
command -v gdb >/dev/null || { echo "SKIP: gdb is not installed"; exit 77; }
if [ $needs_assist = 1 ] && "$vmm" --version | grep -q "assist: not built"; then
	echo "SKIP: this build has no instruction assist"
	exit 77
fi
tmp=$(mktemp -d)
vpid="" gpid=""
cleanup() {
	[ -n "$gpid" ] && kill -9 "$gpid" 2>/dev/null
	[ -n "$vpid" ] && kill -9 "$vpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
args=() guest=""
for a in "$@"; do
	case "$a" in
	@*) args+=("$GUEST_DIR/${a#@}"); [ -z "$guest" ] && guest="$GUEST_DIR/${a#@}" ;;
	*) args+=("$a") ;;
	esac
done
sock="$tmp/gdb.sock"
envs=()
case "$conn" in
socket) opts=(--gdb-socket "$sock") target="$sock" ;;
tcp) opts=(-s 0) ;;
env) opts=() envs=(HERMIT_GDB_PORT=0) ;;
toml) # uhyve.toml's gdb_port (0 is refused there): a port the kernel just handed out
	port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	printf '[uhyve]\ngdb_port = %s\n' "$port" >"$tmp/uhyve.toml"
	opts=(--config "$tmp/uhyve.toml") ;;
*) echo "bad --conn $conn"; exit 99 ;;
esac
env "${envs[@]}" "$vmm" "${opts[@]}" "${args[@]}" >"$tmp/console" 2>"$tmp/err" </dev/null &
vpid=$!
for _ in $(seq 1 200); do
	grep -qs "waiting for a debugger" "$tmp/err" && break
	sleep 0.05
done
fail=0
if [ "$conn" = socket ]; then
	mode=$(stat -c %a "$sock" 2>/dev/null)
	[ "$mode" = 600 ] || { echo "FAIL: the socket has mode '$mode', expected 600"; fail=1; }
else
	port=$(grep -oE '127\.0\.0\.1:[0-9]+' "$tmp/err" | head -1 | cut -d: -f2)
	target=":$port"
fi
# gdb's own settings first, so the output does not depend on the terminal or the path; one
# -ex per line: an error (an expected one, too) does not end the session as in a script
ex=(-ex "set pagination off" -ex "set confirm off" -ex "set filename-display basename"
	-ex "target remote $target")
while IFS= read -r line; do
	ex+=(-ex "$line")
done <"$cases/$name.gdb"
UHS_PID=$vpid timeout -s KILL 120 gdb -nx -batch "${ex[@]}" "$guest" >"$tmp/gdb" 2>&1 </dev/null &
gpid=$!
if [ -n "$intr" ]; then
	sleep "$intr"
	# to gdb itself: timeout(1), started in the background, ignores SIGINT
	kill -INT "$(pgrep -P "$gpid" -x gdb || echo "$gpid")"
fi
wait "$gpid" 2>/dev/null
gpid=""
timeout -s KILL 60 tail --pid="$vpid" -f /dev/null
wait "$vpid"
status=$?
vpid=""
if [ $emul_only = 1 ] && grep -q "data watchpoints in the debug registers" "$tmp/err"; then
	echo "SKIP: this KVM has data breakpoints; the case is about their emulation"
	exit 77
fi
[ "$status" = "$want_status" ] || { echo "FAIL: exit status $status, expected $want_status"; fail=1; }
[ ! -e "$sock" ] || { echo "FAIL: the socket $sock is still there"; fail=1; }

# golden comparison: '*' wildcards, '...' skips lines
match() { # line pattern
	local p=${2//\\/\\\\}
	p=${p//\[/\\[}
	p=${p//\]/\\]}
	p=${p//\?/\\?}
	# shellcheck disable=SC2053
	[[ "$1" == $p ]]
}
compare() { # actual golden label
	local -a a=() g=()
	local i=0 j=0 skip=0
	mapfile -t a <"$1"
	[ -f "$2" ] && mapfile -t g <"$2"
	while [ $j -lt ${#g[@]} ]; do
		if [ "${g[$j]}" = "..." ]; then
			skip=1 j=$((j + 1))
			continue
		fi
		if [ $i -ge ${#a[@]} ]; then
			echo "FAIL: $3: missing line '${g[$j]}'"
			fail=1
			return
		fi
		if match "${a[$i]}" "${g[$j]}"; then
			skip=0 i=$((i + 1)) j=$((j + 1))
		elif [ $skip = 1 ]; then
			i=$((i + 1))
		else
			echo "FAIL: $3 line $((i + 1)): got '${a[$i]}', expected '${g[$j]}'"
			fail=1
			return
		fi
	done
	if [ $i -lt ${#a[@]} ] && [ $skip = 0 ]; then
		echo "FAIL: $3: unexpected line $((i + 1)): '${a[$i]}'"
		fail=1
	fi
}
compare "$tmp/gdb" "$cases/$name.expect" "gdb output"
compare "$tmp/console" "$cases/${out:-$name}.out" "guest output"
[ -f "$cases/$name.err" ] && compare "$tmp/err" "$cases/$name.err" "uhyve-sec stderr"
if [ $fail = 1 ]; then
	echo "--- gdb"; cat "$tmp/gdb"; echo "--- guest"; cat "$tmp/console"
	echo "--- uhyve-sec stderr"; cat "$tmp/err"
	exit 1
fi
echo "ok: $name (status $status)"
