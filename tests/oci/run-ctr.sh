#!/bin/bash
# SPDX-License-Identifier: MIT
# run-ctr.sh - containerd runs Hermit containers through uhyve-sec-oci as the runc binary of
# its runc shim (`ctr run --runc-binary`), the set-up docs/oci.md shows for Kubernetes.
#
# Usage: run-ctr.sh RUNTIME GUEST_DIR LINUX_HELLO
# The test starts its own containerd (root, state, opt directory, gRPC and ttrpc sockets in
# its temporary directory, CRI plugin off) and talks only to that socket, in its own
# namespace; containers get their runtime root there too (--runc-root).  Checks: output and
# argv, exit code, --memory-limit and --cpus, rw and ro binds, a detached container's ps
# (the shim calls `ps --format json`), pause refused with the reason, SIGTERM -> 143, a pod
# sandbox with a Linux args[0] handed to runc, and nothing left running.  Exits 77 (skip)
# with the reason when /dev/kvm or containerd are missing or containerd does not start.
# Outside T: containerd 1.6's shims put their sockets in /run/containerd/s/ (named after a
# hash of our socket path; no setting moves them) and remove them when they exit; ctr's
# FIFOs go to T (--fifo-dir).
set -u
here=$(dirname "$(readlink -f "$0")")
. "$here/lib.sh"
OCI_RT=$(realpath "$1") guests=$(realpath "$2") linux_hello=$(realpath "$3")
oci_need_kvm
for p in containerd ctr containerd-shim-runc-v2; do
	command -v $p >/dev/null || oci_skip "$p is not installed (./dev build installs containerd)"
done
oci_tmp
OCI_RT=$OCI_RT_REAL # containerd passes --root itself (--runc-root)
cat >"$T/config.toml" <<EOC
version = 2
root = "$T/ctd-root"
state = "$T/ctd-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$T/c.sock"
[ttrpc]
  address = "$T/c.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$T/opt"
EOC
containerd --config "$T/config.toml" >"$T/containerd.log" 2>&1 &
ctd=$!
# a namespace of this run's own: containerd names the containers' cgroups after it, and the
# cleanup removes that parent (empty by then) from every hierarchy
NS=uhs-test-$$
OCI_EXTRA_CLEANUP='kill $ctd 2>/dev/null; wait $ctd 2>/dev/null
for c in /sys/fs/cgroup/$NS /sys/fs/cgroup/*/$NS; do [ -d "$c" ] && rmdir "$c"; done 2>/dev/null'
C=(ctr --address "$T/c.sock" --namespace "$NS")
for _ in $(seq 1 100); do
	"${C[@]}" version >/dev/null 2>&1 && break
	kill -0 $ctd 2>/dev/null || oci_skip "containerd does not start: $(tail -n 2 "$T/containerd.log")"
	sleep 0.1
done
"${C[@]}" version >/dev/null 2>&1 || oci_skip "containerd does not answer on $T/c.sock"
oci_rootfs "$T/rootfs" "$guests" "$linux_hello" || exit 99
fail=0
bad() { echo "FAIL ctr: $*"; fail=1; }
run() { "${C[@]}" run --fifo-dir "$T/fifo" --runc-binary "$OCI_RT" --runc-root "$T/oci-root" --rootfs "$@"; }

run --rm "$T/rootfs" t1 /args one "two words" >"$T/out" 2>&1 || bad "args: $(cat "$T/out")"
printf 'argc=3\nargv[0]=/args\nargv[1]=one\nargv[2]=two words\n' >"$T/want"
head -n 4 "$T/out" | diff -u "$T/want" - || bad "args output differs"
run --rm "$T/rootfs" t2 /exitcode 7 >/dev/null 2>&1
rc=$?
[ $rc = 7 ] || bad "exit code $rc, expected 7"
run --rm --memory-limit 134217728 --cpus 2 "$T/rootfs" t3 /demo >"$T/out" 2>&1
grep -qx 'vcpus=2 ram=94 MiB' "$T/out" || bad "memory/cpus: $(cat "$T/out")"
mkdir -p "$T/rw" "$T/ro" && echo "ro file" >"$T/ro/f"
run --rm --mount "type=bind,src=$T/rw,dst=/out,options=rbind:rw" \
	--mount "type=bind,src=$T/ro,dst=/in,options=rbind:ro" "$T/rootfs" t4 /fsops-v2 \
	put:/out/x:ctr cat:/in/f put:/in/y:no >"$T/out" 2>/dev/null
printf '%s\n' "put /out/x = 3,3,0" "cat /in/f = 8 'ro file\\x0a'" "put /in/y = -30,-1,0" >"$T/want"
diff -u "$T/want" "$T/out" || bad "binds differ"
[ "$(cat "$T/rw/x" 2>/dev/null)" = ctr ] || bad "rw bind: x not written on the host"
[ "$(ls "$T/ro")" = f ] || bad "ro bind changed: $(ls "$T/ro")"
# detached: ps, pause refused, SIGTERM -> 143
run "$T/rootfs" t5 /spin >"$T/out5" 2>&1 &
runner=$!
for _ in $(seq 1 100); do [ -s "$T/out5" ] && break; sleep 0.05; done
n=$("${C[@]}" task ps t5 2>/dev/null | tail -n +2 | wc -l)
[ "$n" -ge 3 ] || bad "task ps lists $n processes, expected VMM, broker and monitor"
"${C[@]}" task pause t5 >"$T/pause" 2>&1 && bad "pause succeeded"
grep -q "pause is not supported by uhyve-sec-oci" "$T/pause" || bad "pause: $(cat "$T/pause")"
"${C[@]}" task kill -s SIGTERM t5 || bad "kill failed"
wait $runner
rc=$?
[ $rc = 143 ] || bad "SIGTERM: ctr run ended with $rc, expected 143"
"${C[@]}" task delete t5 >/dev/null 2>&1
"${C[@]}" container rm t5 >/dev/null 2>&1 || bad "container rm t5 failed"
# a pod sandbox (the pause container) is not a Hermit kernel: runc runs it
command -v runc >/dev/null || oci_skip "runc is not installed (the other checks passed)"
run --rm --annotation io.kubernetes.cri.container-type=sandbox "$T/rootfs" t6 /linux-hello 5 \
	>"$T/out" 2>&1
rc=$?
[ $rc = 5 ] && grep -qx "hello from Linux" "$T/out" || bad "sandbox via runc: $rc $(cat "$T/out")"
run --rm "$T/rootfs" t7 /linux-hello >"$T/out" 2>&1 && bad "a Linux args[0] ran without the sandbox annotation"
grep -q "is not a Hermit kernel" "$T/out" || bad "Linux args[0]: $(cat "$T/out")"
sleep 0.3
left=""
for p in $(oci_leftovers); do
	[ "$p" = "$ctd" ] || left+=" $(tr '\0' ' ' </proc/$p/cmdline 2>/dev/null)"
done
[ -z "$left" ] || bad "processes left:$left"
# the shim gives the runtime --root <runc-root>/<namespace>
ls "$T/oci-root/$NS" | grep -qv '^runc$' && bad "runtime state left: $(ls "$T/oci-root/$NS")"
ls "$T/oci-root/$NS/runc" | grep -q . && bad "runc state left: $(ls "$T/oci-root/$NS/runc")"
[ $fail = 0 ] && echo "ok ctr"
exit $fail
