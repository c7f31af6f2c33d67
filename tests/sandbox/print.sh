#!/bin/bash
# SPDX-License-Identifier: MIT
# print.sh - `--print-sandbox` lists at most 22 VMM and 30 broker syscalls, each with a reason,
# and none of the VMM's forbidden ones (no path syscalls, exec, sockets, ptrace, mmap/mprotect;
# kill only as SIGKILL to the instruction assist, its own child, which it then reaps).
set -u
out=$("$1" --print-sandbox) || { echo "FAIL: --print-sandbox exited $?"; exit 1; }
fail=0
count() { # which
	sed -n "/^  $1 seccomp allowlist/,/^[^ ]/p" <<<"$out" | grep -cE '^    [a-z0-9_]+ .* # .+'
}
names() { # which
	sed -n "/^  $1 seccomp allowlist/,/^[^ ]/p" <<<"$out" | awk '/^    [a-z0-9_]+ / {print $1}'
}
v=$(count VMM) b=$(count broker)
claimed_v=$(grep -oE 'VMM seccomp allowlist \([0-9]+' <<<"$out" | grep -oE '[0-9]+$')
[ "$v" -ge 10 ] && [ "$v" -le 22 ] || { echo "FAIL: VMM allows $v syscalls (limit 22)"; fail=1; }
[ "$b" -ge 10 ] && [ "$b" -le 30 ] || { echo "FAIL: broker allows $b syscalls (limit 30)"; fail=1; }
[ "$v" = "$claimed_v" ] || { echo "FAIL: VMM list has $v lines but claims $claimed_v"; fail=1; }
for bad in open openat openat2 creat stat lstat fstatat newfstatat statx access faccessat \
	unlink unlinkat mkdir mkdirat rename renameat renameat2 link linkat symlink symlinkat \
	execve execveat socket connect bind ptrace process_vm_readv process_vm_writev mmap \
	mprotect fork vfork clone clone3; do
	if names VMM | grep -qx "$bad"; then
		echo "FAIL: the VMM allowlist contains $bad"
		fail=1
	fi
done
for need in openat2 sendmsg recvmsg; do
	names broker | grep -qx "$need" || { echo "FAIL: the broker allowlist lacks $need"; fail=1; }
done
grep -q "ioctl .*fd in the vCPU fds" <<<"$out" || { echo "FAIL: ioctl is not argument-filtered"; fail=1; }
if names VMM | grep -qx kill &&
	! grep -qE '^    kill .*pid == the instruction assist.s pid, sig == SIGKILL' <<<"$out"; then
	echo "FAIL: the VMM may kill, but not only SIGKILL to the instruction assist"
	fail=1
fi
[ $fail = 0 ] && echo "ok: VMM $v syscalls, broker $b syscalls"
exit $fail
