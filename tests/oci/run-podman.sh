#!/bin/bash
# SPDX-License-Identifier: MIT
# run-podman.sh - podman runs Hermit containers through uhyve-sec-oci (docs/oci.md).
#
# Usage: run-podman.sh SCENARIO RUNTIME GUEST_DIR LINUX_HELLO
#   run       output, exit code, env, args (argv[0] is the container path), rootfs read-only
#   memory    -m and --cpus reach the guest (RAM = limit - overhead), cgroup limit set
#   binds     rw and ro binds, a host path with ':', host files checked afterwards
#   detach    -d, logs, stop (143), kill -s KILL (137): nothing left running, cgroup gone
#   errors    args[0] missing (127), a Linux program (126), uhyve-sec's own failure
#   tty       -t: the guest's output comes through a pty (CRLF)
#   runc      a pod sandbox (annotation) with a Linux args[0] is handed to runc
# Each scenario has its own temporary directory, storage and runtime root (lib.sh).  Exits
# 77 (skip) with the reason when /dev/kvm, podman or conmon are missing or unusable.
set -u
here=$(dirname "$(readlink -f "$0")")
. "$here/lib.sh"
scenario=$1 OCI_RT=$(realpath "$2") guests=$(realpath "$3") linux_hello=$(realpath "$4")
oci_need_kvm
oci_tmp
oci_podman_setup "$guests" "$linux_hello"
IMG=localhost/uhs-guests:test
fail=0
bad() { echo "FAIL $scenario: $*"; fail=1; }
pr() { podman --runtime "$OCI_RT" "$@"; }
run() { pr run --rm --network none "$@"; }
# expect WANT_STATUS WANT_STDOUT_FILE -- podman run args...
expect() {
	local want=$1 wantf=$2 rc
	shift 3
	run "$@" >"$T/out" 2>"$T/err"
	rc=$?
	[ "$rc" = "$want" ] || bad "'$*': status $rc, expected $want; stderr: $(head -c 600 "$T/err")"
	if [ -n "$wantf" ] && ! diff -u "$wantf" "$T/out"; then
		bad "'$*': output differs"
	fi
}
cgroups() { ls -d /sys/fs/cgroup/*/libpod_parent/libpod-* 2>/dev/null | sort; }
cgroups_before=$(cgroups)
no_leftovers() {
	local l
	sleep 0.3
	l=$(oci_leftovers)
	[ -z "$l" ] || bad "processes left: $(for p in $l; do { tr '\0' ' ' </proc/$p/cmdline; } 2>/dev/null; echo; done)"
	ls "$T/oci-root" 2>/dev/null | grep -qv '^runc$' && bad "runtime state left: $(ls "$T/oci-root")"
	l=$(comm -13 <(echo "$cgroups_before") <(cgroups))
	[ -z "$l" ] || bad "cgroups left: $l"
	return 0
}

case "$scenario" in
run)
	printf 'argc=3\nargv[0]=/args\nargv[1]=one\nargv[2]=two words\n' >"$T/want"
	run -e GREETING=hi "$IMG" /args one "two words" >"$T/out" 2>"$T/err" || bad "args run failed"
	head -n 4 "$T/out" | diff -u "$T/want" - || bad "argv differs"
	grep -qx 'env\[[0-9]*\]=GREETING=hi' "$T/out" || bad "GREETING not in the guest's env"
	grep -q '^env\[[0-9]*\]=HOSTNAME=' "$T/out" || bad "podman's HOSTNAME not in the guest's env"
	[ -s "$T/err" ] && bad "stderr not empty: $(cat "$T/err")"
	printf 'Hello from uhyve-sec!\n' >"$T/want"
	expect 0 "$T/want" -- "$IMG" /hello
	expect 42 "" -- "$IMG" /exitcode 42
	expect 0 "$T/want" -- --cgroups=disabled "$IMG" /hello
	expect 255 "" -- "$IMG" /exitcode -1
	# the image is read-only at /, readable, and nothing else of the host is there
	run "$IMG" /fsops-v2 cat:/etc/motd put:/etc/new:x ls:/ >"$T/out" 2>/dev/null
	printf '%s\n' "cat /etc/motd = 15 'from the image\\x0a'" "put /etc/new = -30,-1,0" \
		"ls / = args demo etc exitcode fsops-v2 hello linux-hello panic spin" >"$T/want"
	diff -u "$T/want" "$T/out" || bad "rootfs view differs"
	no_leftovers
	;;
memory)
	# 128 MiB limit: 32 MiB for uhyve-sec + the kernel image rounded up to 2 MiB
	run -m 128m --cpus 2 "$IMG" /demo >"$T/out" 2>&1 || bad "demo run failed: $(cat "$T/out")"
	grep -qx 'vcpus=2 ram=94 MiB' "$T/out" || bad "expected vcpus=2 ram=94 MiB: $(cat "$T/out")"
	run --annotation org.hermit-os.uhyve-sec.memory=48M --annotation \
		org.hermit-os.uhyve-sec.cpus=3 "$IMG" /demo >"$T/out" 2>&1
	grep -qx 'vcpus=3 ram=48 MiB' "$T/out" || bad "annotations: $(cat "$T/out")"
	# a cpuset: at most that many vCPUs, pinned to it
	last=$(($(nproc) - 1))
	run --cpuset-cpus "$last" --cpus 2 "$IMG" /demo >"$T/out" 2>&1
	grep -qx 'vcpus=1 ram=[0-9]* MiB' "$T/out" || bad "cpuset: $(cat "$T/out")"
	id=$(pr run -d --network none -m 100m --cpuset-cpus "$last" "$IMG" /spin)
	sleep 0.5
	lim=$(cat /sys/fs/cgroup/memory/libpod_parent/libpod-$id/memory.limit_in_bytes 2>/dev/null ||
		cat /sys/fs/cgroup/libpod_parent/libpod-$id/memory.max 2>/dev/null)
	[ "$lim" = 104857600 ] || bad "cgroup memory limit '$lim', expected 104857600"
	cs=$(cat /sys/fs/cgroup/cpuset/libpod_parent/libpod-$id/cpuset.cpus 2>/dev/null ||
		cat /sys/fs/cgroup/libpod_parent/libpod-$id/cpuset.cpus 2>/dev/null)
	[ "$cs" = "$last" ] || bad "cgroup cpuset '$cs', expected $last"
	pid=$(podman inspect -f '{{.State.Pid}}' "$id")
	for t in /proc/$pid/task/*; do
		grep -q "^Cpus_allowed_list:[[:space:]]*$last\$" "$t/status" ||
			bad "thread $t not pinned to CPU $last: $(grep Cpus_allowed_list "$t/status")"
	done
	pr rm -f -t 0 "$id" >/dev/null
	run -m 40m "$IMG" /hello >"$T/out" 2>&1 && bad "-m 40m was accepted"
	grep -q "memory limit of 40 MiB is too small" "$T/out" || bad "-m 40m: $(cat "$T/out")"
	no_leftovers
	;;
binds)
	mkdir -p "$T/rw" "$T/ro" "$T/co:lon"
	echo "read me" >"$T/ro/in.txt"
	echo "colon" >"$T/co:lon/c.txt"
	echo "old" >"$T/rw/keep.txt"
	run -v "$T/rw:/out" -v "$T/ro:/in:ro" --mount "type=bind,source=$T/co:lon,target=/col" \
		"$IMG" /fsops-v2 cat:/in/in.txt put:/out/new.txt:written put:/in/x:no \
		unlink:/in/in.txt cat:/col/c.txt append:/out/keep.txt:+ unlink:/out/gone \
		>"$T/out" 2>"$T/err" || bad "bind run failed: $(cat "$T/err")"
	printf '%s\n' "cat /in/in.txt = 8 'read me\\x0a'" "put /out/new.txt = 3,7,0" \
		"put /in/x = -30,-1,0" "unlink /in/in.txt = -30" "cat /col/c.txt = 6 'colon\\x0a'" \
		"append /out/keep.txt = 3,1,0" "unlink /out/gone = -2" >"$T/want"
	diff -u "$T/want" "$T/out" || bad "guest view of the binds differs"
	[ "$(cat "$T/rw/new.txt" 2>/dev/null)" = written ] || bad "rw bind: new.txt not written"
	[ "$(cat "$T/rw/keep.txt")" = "$(printf 'old\n+')" ] || bad "rw bind: keep.txt not appended"
	[ "$(ls "$T/ro")" = in.txt ] && [ "$(cat "$T/ro/in.txt")" = "read me" ] ||
		bad "ro bind changed on the host: $(ls "$T/ro")"
	no_leftovers
	;;
detach)
	id=$(pr run -d --network none "$IMG" /spin) || bad "run -d failed"
	for _ in $(seq 1 100); do
		[ "$(podman logs "$id" 2>/dev/null)" = spinning ] && break
		sleep 0.05
	done
	[ "$(podman logs "$id")" = spinning ] || bad "logs: '$(podman logs "$id" 2>&1)'"
	[ "$(podman inspect -f '{{.State.Status}}' "$id")" = running ] || bad "not running"
	pid=$(podman inspect -f '{{.State.Pid}}' "$id")
	[ "$(cat /proc/$pid/comm)" = uhyve-sec ] || bad "container pid $pid is not uhyve-sec"
	pr stop -t 10 "$id" >/dev/null || bad "stop failed"
	[ "$(podman inspect -f '{{.State.ExitCode}}' "$id")" = 143 ] ||
		bad "stop: exit code $(podman inspect -f '{{.State.ExitCode}}' "$id"), expected 143"
	pr rm "$id" >/dev/null || bad "rm failed"
	no_leftovers
	id=$(pr run -d --network none -v "$T:/t" "$IMG" /spin)
	sleep 0.5
	n=$(cat /sys/fs/cgroup/pids/libpod_parent/libpod-$id/cgroup.procs 2>/dev/null | wc -l)
	[ "$n" -ge 3 ] || bad "expected VMM, broker and monitor in the cgroup, found $n processes"
	pr kill -s KILL "$id" >/dev/null || bad "kill failed"
	pr wait "$id" >/dev/null
	[ "$(podman inspect -f '{{.State.ExitCode}}' "$id")" = 137 ] || bad "kill: not 137"
	pr rm "$id" >/dev/null
	no_leftovers
	;;
errors)
	run "$IMG" /nope >"$T/out" 2>&1
	rc=$?
	[ $rc = 127 ] || bad "missing args[0]: status $rc, expected 127"
	grep -q "args\[0\] '/nope' in the container: no such file or directory" "$T/out" ||
		bad "missing args[0]: $(cat "$T/out")"
	run "$IMG" /linux-hello >"$T/out" 2>&1
	rc=$?
	[ $rc = 126 ] || bad "Linux args[0]: status $rc, expected 126"
	grep -q "args\[0\] '/linux-hello' is not a Hermit kernel" "$T/out" ||
		bad "Linux args[0]: $(cat "$T/out")"
	grep -q "hello from Linux" "$T/out" && bad "the Linux program ran"
	# uhyve-sec's own failure: a guest panic ends with status 83 and a message
	run "$IMG" /panic >"$T/out" 2>&1
	rc=$?
	[ $rc = 83 ] || bad "panic: status $rc, expected 83"
	grep -q "uhyve-sec: guest panicked" "$T/out" || bad "panic: $(cat "$T/out")"
	no_leftovers
	;;
tty)
	command -v script >/dev/null || oci_skip "script(1) is not installed"
	script -qec "podman --runtime $OCI_RT run --rm -t --network none $IMG /args tty" \
		/dev/null >"$T/out" 2>&1 </dev/null
	grep -q $'^argv\[1\]=tty\r$' "$T/out" || bad "no pty output: $(od -c "$T/out" | head -5)"
	run -t "$IMG" /exitcode 5 >/dev/null 2>&1
	rc=$?
	[ $rc = 5 ] || bad "-t exit code $rc, expected 5"
	no_leftovers
	;;
runc)
	command -v runc >/dev/null || oci_skip "runc is not installed"
	run --annotation io.kubernetes.cri.container-type=sandbox "$IMG" /linux-hello 7 \
		>"$T/out" 2>&1
	rc=$?
	[ $rc = 7 ] || bad "sandbox via runc: status $rc, expected 7: $(cat "$T/out")"
	grep -qx "hello from Linux" "$T/out" || bad "sandbox via runc: $(cat "$T/out")"
	[ -d "$T/oci-root/runc" ] || bad "runc's state root not under the runtime root"
	ls "$T/oci-root/runc" | grep -q . && bad "runc state left: $(ls "$T/oci-root/runc")"
	no_leftovers
	;;
*)
	echo "unknown scenario $scenario"
	exit 99
	;;
esac
[ $fail = 0 ] && echo "ok $scenario"
exit $fail
