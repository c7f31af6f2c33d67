#!/bin/bash
# SPDX-License-Identifier: MIT
# run-direct.sh - uhyve-sec-oci's command line driven directly, as an engine would, with
# bundles made by the test (no podman, no containerd).
#
# Usage: run-direct.sh SCENARIO RUNTIME GUEST_DIR LINUX_HELLO
#   lifecycle    create -> state created (pid file, cgroups in every hierarchy, memory limit)
#                -> start -> running -> ps -> kill TERM -> stopped, the end record in --log
#                -> delete (state and cgroups gone)
#   kill         SIGKILL (without --all) ends VMM, broker, assist and monitor; delete --force
#   skipped      proc/sys/dev, tmpfs and single-file mounts skipped with debug lines
#   bundles      hostile bundles: each create fails with its one-line error, leaves nothing
#   vmm-error    uhyve-sec's own failure reaches --log as an error with its message
#   commands     exec/pause/resume/update/checkpoint/restore refused, features, --version
#   console      --console-socket: the pty master arrives and carries the guest's output
#   image        args[0] a Hermit image (.hermit): its hermit.toml's arguments, its files at /
#                (not the root file system's), a bind mount beside them; a corrupt image's
#                refusal reaches --log
# Exits 77 (skip) without /dev/kvm for the scenarios that boot a guest.
set -u
here=$(dirname "$(readlink -f "$0")")
. "$here/lib.sh"
scenario=$1 OCI_RT=$(realpath "$2") guests=$(realpath "$3") linux_hello=$(realpath "$4")
case $scenario in bundles | commands) ;; *) oci_need_kvm ;; esac
oci_tmp
R=("$OCI_RT") # T/bin/uhyve-sec-oci: --root T/oci-root
LOG=$T/log.json
fail=0
bad() { echo "FAIL $scenario: $*"; fail=1; }
rt() { "${R[@]}" --log "$LOG" --log-format json "$@"; }
# bundle DIR ARGS_JSON [TOP_LEVEL_EXTRA] [LINUX_EXTRA]: rootfs DIR/rootfs with the guests
bundle() {
	mkdir -p "$1"
	[ -d "$1/rootfs" ] || oci_rootfs "$1/rootfs" "$guests" "$linux_hello"
	cat >"$1/config.json" <<EOC
{"ociVersion":"1.0.2","root":{"path":"rootfs"},
 "process":{"args":$2,"env":["K=v"],"cwd":"/"},
 "linux":{"cgroupsPath":"/uhs-oci-test-$$/$(basename "$1")"${4:-}}${3:-}}
EOC
}
status_of() { "${R[@]}" state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }
wait_status() { # ID STATUS
	for _ in $(seq 1 200); do [ "$(status_of "$1")" = "$2" ] && return 0; sleep 0.05; done
	return 1
}
last_error() { python3 - "$LOG" <<'PY'
import json, sys
err = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
err = [e for e in err if e["level"] == "error"]
print(err[-1]["msg"] if err else "")
PY
}
cgdirs() { ls -d /sys/fs/cgroup/*/uhs-oci-test-$$/"$1" 2>/dev/null; }
OCI_EXTRA_CLEANUP='for c in /sys/fs/cgroup/*/uhs-oci-test-$$; do [ -d "$c" ] && { for d in "$c"/*/; do [ -d "$d" ] && rmdir "$d"; done; rmdir "$c"; }; done 2>/dev/null'

case $scenario in
lifecycle)
	bundle "$T/b" '["/spin"]' '' ',"resources":{"memory":{"limit":134217728},"pids":{"limit":50}}'
	rt create --bundle "$T/b" --pid-file "$T/pid" c1 >"$T/stdout" 2>"$T/stderr" ||
		bad "create: $(last_error)"
	pid=$(cat "$T/pid")
	[ "$(status_of c1)" = created ] || bad "state after create: $(status_of c1)"
	"${R[@]}" state c1 | python3 -c '
import json, sys
s = json.load(sys.stdin)
assert s["ociVersion"].startswith("1.") and s["id"] == "c1" and s["pid"] == '"$pid"', s
assert s["bundle"] == "'"$T/b"'" and s["annotations"] == {}, s' || bad "state JSON"
	n=$(cgdirs b | wc -l)
	h=$(grep -c ' - cgroup2\? ' /proc/self/mountinfo)
	[ "$n" -ge 1 ] && [ "$n" = "$h" ] || bad "cgroup directories: $n, hierarchies: $h"
	for d in $(cgdirs b); do
		grep -qx "$pid" "$d/cgroup.procs" || bad "init $pid not in $d"
	done
	m=$(cat /sys/fs/cgroup/memory/uhs-oci-test-$$/b/memory.limit_in_bytes 2>/dev/null ||
		cat /sys/fs/cgroup/uhs-oci-test-$$/b/memory.max)
	[ "$m" = 134217728 ] || bad "memory limit $m"
	rt start c1 || bad "start: $(last_error)"
	wait_status c1 running || bad "not running after start: $(status_of c1)"
	rt start c1 2>/dev/null && bad "a second start succeeded"
	sleep 0.3
	[ "$(cat /proc/$pid/comm)" = uhyve-sec ] || bad "pid $pid is $(cat /proc/$pid/comm)"
	ps=$("${R[@]}" ps --format json c1)
	python3 -c "import json; p = json.loads('$ps'); assert $pid in p and len(p) >= 3, p" ||
		bad "ps --format json: $ps"
	rt delete c1 2>/dev/null && bad "delete of a running container succeeded"
	rt kill --all c1 TERM || bad "kill --all TERM: $(last_error)"
	wait_status c1 stopped || bad "not stopped after SIGTERM"
	sleep 0.3
	grep -q '"level":"info","msg":"uhyve-sec: stopped by SIGTERM (exit status 143, signal)"' "$LOG" ||
		bad "no end record in the log: $(cat "$LOG")"
	rt kill c1 TERM 2>/dev/null && bad "kill of a stopped container succeeded"
	grep -q "container not running" "$LOG" || bad "kill stopped: $(last_error)"
	rt delete c1 || bad "delete: $(last_error)"
	[ -e "$T/oci-root/c1" ] && bad "state directory left"
	[ -z "$(cgdirs b)" ] || bad "cgroups left: $(cgdirs b)"
	[ "$(cat "$T/stdout")" = spinning ] || bad "guest stdout: $(cat "$T/stdout")"
	[ "$(cat "$T/stderr")" = "uhyve-sec: stopped by SIGTERM" ] || bad "stderr: $(cat "$T/stderr")"
	rt delete c1 2>/dev/null && bad "delete of a missing container succeeded"
	rt delete --force c1 || bad "delete --force of a missing container failed"
	;;
kill)
	bundle "$T/b" '["/spin"]' ',"mounts":[{"destination":"/t","type":"bind","source":"'"$T"'"}]'
	rt create --bundle "$T/b" --pid-file "$T/pid" c2 >/dev/null 2>&1 && rt start c2 ||
		bad "create/start"
	sleep 0.5
	procs=$(cat "$(cgdirs b | head -n 1)/cgroup.procs" | tr '\n' ' ')
	[ "$(wc -w <<<"$procs")" -ge 3 ] || bad "expected VMM, broker and monitor: $procs"
	rt kill c2 KILL || bad "kill KILL"
	sleep 0.5
	for p in $procs; do [ -d /proc/$p ] && [ "$(cut -d' ' -f3 /proc/$p/stat)" != Z ] &&
		bad "process $p ($(cat /proc/$p/comm)) survived SIGKILL"; done
	[ "$(status_of c2)" = stopped ] || bad "state after SIGKILL: $(status_of c2)"
	rt delete --force c2 || bad "delete --force: $(last_error)"
	[ -z "$(cgdirs b)" ] || bad "cgroups left: $(cgdirs b)"
	# delete --force of a running container kills it
	bundle "$T/b3" '["/spin"]'
	rt create --bundle "$T/b3" --pid-file "$T/pid3" c3 >/dev/null 2>&1 && rt start c3 ||
		bad "create/start c3"
	pid=$(cat "$T/pid3")
	rt delete --force c3 || bad "delete --force running: $(last_error)"
	sleep 0.2
	[ -d /proc/$pid ] && [ "$(cut -d' ' -f3 /proc/$pid/stat)" != Z ] && bad "c3 still runs"
	# without cgroups (none in config.json, or --cgroup-manager disabled): the process tree
	bundle "$T/b4" '["/spin"]'
	sed -i 's|"cgroupsPath":"[^"]*"|"cgroupsPath":""|' "$T/b4/config.json"
	rt create --bundle "$T/b4" --pid-file "$T/pid4" c4 >/dev/null 2>&1 || bad "create c4"
	SECONDS=0
	rt delete --force c4 || bad "delete --force of created c4: $(last_error)"
	[ $SECONDS -le 2 ] || bad "delete --force of created c4 took $SECONDS s"
	rt --cgroup-manager disabled create --bundle "$T/b3" --pid-file "$T/pid5" c5 >/dev/null 2>&1 &&
		rt start c5 || bad "create/start c5"
	sleep 0.5
	[ -z "$(cgdirs b3)" ] || bad "--cgroup-manager disabled made cgroups: $(cgdirs b3)"
	n=$("${R[@]}" ps --format json c5 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
	[ "$n" -ge 2 ] || bad "ps without cgroups lists $n processes"
	rt kill c5 KILL || bad "kill c5"
	sleep 0.3
	rt delete c5 || bad "delete c5: $(last_error)"
	[ -z "$(oci_leftovers)" ] || bad "processes left: $(oci_leftovers)"
	;;
skipped)
	bundle "$T/b" '["/hello"]' ',"mounts":[
	  {"destination":"/proc","type":"proc","source":"proc"},
	  {"destination":"/sys","type":"sysfs","source":"sysfs"},
	  {"destination":"/dev/pts","type":"devpts","source":"devpts"},
	  {"destination":"/tmp","type":"tmpfs","source":"tmpfs"},
	  {"destination":"/etc/hosts","type":"bind","source":"'"$T/b/config.json"'"}]'
	"${R[@]}" --debug --log "$LOG" --log-format text create --bundle "$T/b" c4 || bad "create"
	for want in 'mount /proc (proc) skipped' 'mount /sys (sysfs) skipped' \
		'mount /dev/pts (devpts) skipped' 'mount /tmp (tmpfs) skipped: only bind' \
		"mount /etc/hosts skipped: $T/b/config.json is not a directory"; do
		grep -q "level=debug msg=\"$want" "$LOG" || bad "no debug line '$want'"
	done
	python3 -c "import json; p = json.load(open('$T/oci-root/c4/policy.json')); \
		assert [m['guest'] for m in p['mounts']] == ['/'] and p['mounts'][0]['access'] == 'ro'" ||
		bad "policy: $(cat "$T/oci-root/c4/policy.json")"
	: >"$LOG"
	rt delete --force c4
	rt create --bundle "$T/b" c5 && rt delete --force c5
	grep -q debug "$LOG" && bad "debug lines without --debug"
	;;
bundles)
	# each: NAME, ARGS_JSON, TOP_EXTRA, expected error (substring)
	mkdir -p "$T/outside"
	cp "$guests/hello" "$T/outside/hello"
	check() {
		local name=$1 want=$2 id=${3:-b-$1}
		: >"$LOG"
		rt create --bundle "$T/$name" --pid-file "$T/pid-$name" "$id" 2>/dev/null &&
			{ bad "$name: accepted"; rt delete --force "$id"; return; }
		[ "$(wc -l <"$LOG")" = 1 ] || bad "$name: $(wc -l <"$LOG") log lines, expected one error"
		[[ $(last_error) == *"$want"* ]] || bad "$name: error '$(last_error)', expected '$want'"
		[ -e "$T/pid-$name" ] && bad "$name: pid file written"
		[ "$name" = dup ] && return 0 # its first create stays
		[ -e "$T/oci-root/$id" ] && bad "$name: state left"
		[ -z "$(cgdirs "$name")" ] || bad "$name: cgroup left"
		return 0
	}
	bundle "$T/missing" '["/nope"]'
	check missing "args[0] '/nope' in the container: no such file or directory"
	bundle "$T/abslink" '["/k"]'
	ln -s "$T/outside/hello" "$T/abslink/rootfs/k"
	check abslink "args[0] '/k' in the container: no such file or directory"
	bundle "$T/rellink" '["/bin/k"]'
	mkdir "$T/rellink/rootfs/bin" && ln -s ../../../outside/hello "$T/rellink/rootfs/bin/k"
	check rellink "args[0] '/bin/k' in the container: no such file or directory"
	bundle "$T/dotdot" '["/../../outside/hello"]'
	check dotdot "no such file or directory"
	bundle "$T/dir" '["/etc"]'
	check dir "args[0] '/etc' in the container: not a regular file"
	bundle "$T/linux" '["/linux-hello"]'
	check linux "args[0] '/linux-hello' is not a Hermit kernel"
	bundle "$T/cfglink" '["/hello"]'
	mv "$T/cfglink/config.json" "$T/cfglink/real.json" && ln -s real.json "$T/cfglink/config.json"
	check cfglink "config.json in the bundle: is a symbolic link"
	bundle "$T/huge" '["/hello"]' ",\"pad\":\"$(head -c 5000000 /dev/zero | tr '\0' a)\""
	check huge "config.json: larger than 4194304 bytes"
	bundle "$T/types" '"/hello"'
	check types "process.args must be an array of strings"
	bundle "$T/deep" '["/hello"]' ",\"x\":$(printf '[%.0s' $(seq 100))$(printf ']%.0s' $(seq 100))"
	check deep "nested deeper than 32 levels"
	bundle "$T/hooks" '["/hello"]' ',"hooks":{"prestart":[{"path":"/bin/true"}]}'
	check hooks "hooks are not supported"
	bundle "$T/nosrc" '["/hello"]' ',"mounts":[{"destination":"/d","type":"bind","source":"/nonexistent-uhs"}]'
	check nosrc "bind mount source /nonexistent-uhs: no such file or directory"
	bundle "$T/smallmem" '["/hello"]' '' ',"resources":{"memory":{"limit":41943040}}'
	check smallmem "memory limit of 40 MiB is too small"
	bundle "$T/cgesc" '["/hello"]'
	sed -i 's|"cgroupsPath":"[^"]*"|"cgroupsPath":"/../../escape"|' "$T/cgesc/config.json"
	check cgesc "invalid cgroupsPath '/../../escape'"
	bundle "$T/tty" '["/hello"]'
	sed -i 's|"cwd":"/"|"cwd":"/","terminal":true|' "$T/tty/config.json"
	check tty "process.terminal needs --console-socket"
	check missing "invalid container ID '../x'" "../x"
	bundle "$T/dup" '["/hello"]'
	rt create --bundle "$T/dup" dup || bad "dup: first create failed: $(last_error)"
	check dup "a container with this ID already exists" dup
	rt delete --force dup
	;;
vmm-error)
	bundle "$T/b" '["/broken"]'
	# OSABI 0xff passes the runtime's screening; uhyve-sec's ELF loader refuses the rest
	head -c 2000 "$guests/hello" >"$T/b/rootfs/broken"
	printf '\xff' | dd of="$T/b/rootfs/broken" bs=1 seek=7 conv=notrunc status=none
	rt create --bundle "$T/b" v1 >/dev/null 2>"$T/stderr" && rt start v1 ||
		bad "create/start: $(last_error)"
	wait_status v1 stopped || bad "not stopped"
	sleep 0.3
	[[ $(last_error) == "uhyve-sec: /proc/"*"/fd/"*": ELF: "*"(exit status 65, image)" ]] ||
		bad "log: $(cat "$LOG")"
	rt delete v1 || bad "delete"
	;;
image)
	# app.hermit: the fsops-v2 guest as its kernel, hermit.toml's app_args, one data file
	mkdir -p "$T/img/data" "$T/vol" && cp "$guests/fsops-v2" "$T/img/kern" &&
		printf 'from the image' >"$T/img/data/a.txt" && printf 'from the bind' >"$T/vol/v.txt" &&
		printf 'version = "1"\nkernel = "/kern"\n[input]\nkernel_args = []\napp_args = ["cat:/data/a.txt", "cat:/etc/motd", "cat:/vol/v.txt"]\n' >"$T/img/hermit.toml" ||
		exit 99
	bundle "$T/b" '["/app.hermit"]' ',"mounts":[{"destination":"/vol","type":"bind","source":"'"$T/vol"'","options":["ro"]}]'
	(cd "$T/img" && tar -cf - . | gzip -n >"$T/b/rootfs/app.hermit") || exit 99
	rt create --bundle "$T/b" i1 >"$T/stdout" 2>"$T/stderr" && rt start i1 ||
		bad "create/start: $(last_error)"
	wait_status i1 stopped || bad "not stopped"
	sleep 0.3
	[ -z "$(last_error)" ] || bad "log: $(cat "$LOG")"
	# the image's file, the rootfs's /etc/motd unreachable (ENOENT), the bind's file
	[ "$(cat "$T/stdout")" = "cat /data/a.txt = 14 'from the image'
cat /etc/motd = -2
cat /vol/v.txt = 13 'from the bind'" ] || bad "guest output: $(cat "$T/stdout")"
	rt delete i1 || bad "delete"
	# a corrupt image passes the runtime (gzip magic) and is refused by uhyve-sec: 65
	printf '\x1f\x8b\x08\x00garbage' >"$T/b/rootfs/app.hermit"
	: >"$LOG"
	rt create --bundle "$T/b" i2 >/dev/null 2>"$T/stderr" && rt start i2 ||
		bad "create/start corrupt: $(last_error)"
	wait_status i2 stopped || bad "corrupt: not stopped"
	sleep 0.3
	[[ $(last_error) == "uhyve-sec: "*"(exit status 65, image)" ]] || bad "corrupt log: $(cat "$LOG")"
	rt delete i2 || bad "delete i2"
	;;
commands)
	for c in exec pause resume update checkpoint restore; do
		: >"$LOG"
		rt $c x >/dev/null 2>&1 && bad "$c succeeded"
		[[ $(last_error) == "$c is not supported by uhyve-sec-oci: "* ]] || bad "$c: $(last_error)"
	done
	rt bogus x 2>/dev/null && bad "unknown command succeeded"
	"${R[@]}" features | python3 -c '
import json, sys
f = json.load(sys.stdin)
assert f["ociVersionMin"] == "1.0.0" and f["hooks"] == [] and "ro" in f["mountOptions"], f' ||
		bad "features"
	"${R[@]}" --version | grep -q '^uhyve-sec-oci version ' || bad "--version"
	rt state nope 2>/dev/null && bad "state of a missing container succeeded"
	;;
console)
	bundle "$T/b" '["/args","tty"]'
	sed -i 's|"cwd":"/"|"cwd":"/","terminal":true,"consoleSize":{"height":30,"width":100}|' \
		"$T/b/config.json"
	python3 - "$T/console.sock" "$T/console.out" <<'PY' &
import array, os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
fds = array.array("i")
msg, anc, _, _ = c.recvmsg(64, socket.CMSG_LEN(4))
for level, kind, data in anc:
    fds.frombytes(data[:4])
out = b""
deadline = time.time() + 20
while time.time() < deadline and b"env[0]" not in out:
    try:
        out += os.read(fds[0], 4096)
    except OSError:
        break
open(sys.argv[2], "wb").write(msg + b"\n" + out)
PY
	listener=$!
	for _ in $(seq 1 100); do [ -S "$T/console.sock" ] && break; sleep 0.05; done
	rt create --bundle "$T/b" --console-socket "$T/console.sock" t1 && rt start t1 ||
		bad "create/start: $(last_error)"
	wait $listener
	head -n 1 "$T/console.out" | grep -q '^/dev/pts/' || bad "no pty name in the message"
	grep -q $'argv\\[1\\]=tty\r' "$T/console.out" || bad "no output on the pty: $(cat "$T/console.out")"
	wait_status t1 stopped
	rt delete t1 || bad "delete"
	;;
*)
	echo "unknown scenario $scenario"
	exit 99
	;;
esac
[ -z "$(oci_leftovers)" ] || bad "processes left: $(oci_leftovers)"
[ $fail = 0 ] && echo "ok $scenario"
exit $fail
