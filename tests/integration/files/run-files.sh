#!/bin/bash
# SPDX-License-Identifier: MIT
# run-files.sh - file-system integration tests of uhyve-sec: one scenario per call.
#
# Usage: run-files.sh SCENARIO          (run-files.sh --list prints the scenarios)
# Environment: UHYVE_SEC (the binary), GUEST_DIR (the test guests), EXPECT_DIR (golden files);
# the defaults assume the build directory ./build next to the sources.
# FILES_GOLDEN_UPDATE=1 writes the actual output to the golden file: review every line!
# Exit status: 0 pass, 1 fail (with a diff-like report), 77 skip (/dev/kvm or python3
# missing), 99 broken setup.
#
# Every scenario builds a fresh fixture T (mktemp -d):
#   T/data   mounted rw at /data: a.txt "hello host", sub/b.txt "bee", up -> .., etc -> /etc,
#            dangling -> nowhere, dangling-out -> ../nowhere, loop1 -> loop2 -> loop1,
#            inlink -> a.txt, fifo, sock (a bound unix socket), null (char 1,3, if mknod is
#            permitted), hard (hard link to T/outside/secret.txt), bindmnt (bind mount of
#            T/outside/dir, if mount is permitted), sgid/ (mode 2775), setid (mode 6755 "setid")
#   T/ro     mounted ro at /ro: r.txt "read only", rsub/s.txt "s", link -> r.txt,
#            esc -> ../outside/secret.txt, abs -> /etc/passwd
#   T/outside (never mounted): secret.txt "TOPSECRET", dir/x "x"
# After each uhyve-sec run: its exit status; its stderr (empty unless the scenario checks it);
# "TOPSECRET" in neither stdout nor stderr; no process left whose command line names T; no
# scratch directory left in its TMPDIR (a fresh directory; the scratch scenario checks the
# directory is made there, so nothing else on the machine is looked at).  At the end: the
# stdout of all runs, each preceded by "### LABEL (exit N)", with T written as @T@ and the work
# directory as @W@, equals expected/SCENARIO.out (one pattern per line, only '*' is a
# wildcard; lines naming a fixture entry that could not be created are dropped on both sides);
# the snapshot of T minus T/data (type, mode, size, mtime, inode, owner, link target, sha256)
# is unchanged, so is /etc/passwd; and the scenario's explicit checks of T/data hold.
set -u
umask 022
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
VMM=${UHYVE_SEC:-$here/../../../build/uhyve-sec}
GUEST_DIR=${GUEST_DIR:-$here/../../../build/tests/guests}
EXPECT_DIR=${EXPECT_DIR:-$here/expected}
SCENARIOS="ops-v1 ops-v2 attacks-v1 attacks-v2 ro-identical symlinks-within open-limit \
write-limit scratch audit kill-broker kill-vmm broker-start-failure meta dirlist tempdir \
io-mode file-mapping"

if [ $# -ne 1 ]; then
	echo "usage: $0 SCENARIO (or --list)" >&2
	exit 99
fi
if [ "$1" = --list ]; then
	echo "$SCENARIOS"
	exit 0
fi
scenario=$1
case " $SCENARIOS " in
*" $scenario "*) ;;
*)
	echo "unknown scenario '$scenario' (known: $SCENARIOS)" >&2
	exit 99
	;;
esac
if ! { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; }; then
	echo "SKIP: /dev/kvm is not usable"
	exit 77
fi
if ! python3 -c 'import json, hashlib' 2>/dev/null; then
	echo "SKIP: python3 is missing"
	exit 77
fi
VMM=$(realpath "$VMM") GUEST_DIR=$(realpath "$GUEST_DIR")
if [ ! -x "$VMM" ] || [ ! -f "$GUEST_DIR/fsops" ]; then
	echo "ERROR: no uhyve-sec at $VMM or no test guests in $GUEST_DIR" >&2
	exit 99
fi

# A private mount namespace, when we may have one: the bind mount of the fixture can then
# never outlive this script, even if it is killed before its trap runs.
if [ -z "${RUN_FILES_UNSHARED-}" ] && unshare --mount --propagation private true 2>/dev/null; then
	RUN_FILES_UNSHARED=1 exec unshare --mount --propagation private "$BASH" "$0" "$@"
fi

T=$(mktemp -d) || exit 99 # the fixture
W=$(mktemp -d) || exit 99 # our own files: outputs, policies, logs, TMPDIR of the runs
bound=0 fails=0
bg_pids=() skips=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	for p in "${bg_pids[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	if [ "$bound" = 1 ]; then
		umount "$T/data/bindmnt" 2>/dev/null || umount -l "$T/data/bindmnt" 2>/dev/null
	fi
	rm -rf "$T" "$W"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir "$W/tmp" "$W/runs"
: >"$W/stdout"

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# Writes "$T" as @T@ and "$W" as @W@.
anon() {
	local s
	while IFS= read -r s || [ -n "$s" ]; do
		s=${s//"$T"/@T@}
		printf '%s\n' "${s//"$W"/@W@}"
	done
}

# ---- the fixture ----

make_fixture() {
	local d=$T/data
	mkdir -p "$d/sub" "$d/sgid" "$d/bindmnt" "$T/ro/rsub" "$T/outside/dir" || exit 99
	printf 'hello host' >"$d/a.txt"
	printf 'bee' >"$d/sub/b.txt"
	ln -s .. "$d/up"
	ln -s /etc "$d/etc"
	ln -s nowhere "$d/dangling"
	ln -s ../nowhere "$d/dangling-out"
	ln -s loop2 "$d/loop1"
	ln -s loop1 "$d/loop2"
	ln -s a.txt "$d/inlink"
	mkfifo "$d/fifo"
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$d/sock"
	chmod 2775 "$d/sgid"
	printf 'setid' >"$d/setid"
	chmod 6755 "$d/setid"
	printf 'read only' >"$T/ro/r.txt"
	printf 's' >"$T/ro/rsub/s.txt"
	ln -s r.txt "$T/ro/link"
	ln -s ../outside/secret.txt "$T/ro/esc"
	ln -s /etc/passwd "$T/ro/abs"
	printf 'TOPSECRET' >"$T/outside/secret.txt"
	printf 'x' >"$T/outside/dir/x"
	ln "$T/outside/secret.txt" "$d/hard"
	if ! { [ -p "$d/fifo" ] && [ -S "$d/sock" ] && [ -L "$d/dangling" ] && [ -f "$d/hard" ]; }; then
		echo "ERROR: cannot build the fixture" >&2
		exit 99
	fi
	if ! mknod "$d/null" c 1 3 2>/dev/null; then
		echo "note: mknod not permitted: commands on /data/null are skipped"
		skips+=(/data/null)
	fi
	if mount --bind "$T/outside/dir" "$d/bindmnt" 2>/dev/null; then
		bound=1
	else
		echo "note: mount --bind not permitted: commands on /data/bindmnt are skipped"
		skips+=(/data/bindmnt)
	fi
}

# Everything but T/data: one line per entry, sorted by path.
snapshot() {
	python3 - "$T" data <<'EOF'
import hashlib, os, stat, sys
root = os.fsencode(sys.argv[1])
skip = {os.fsencode(a) for a in sys.argv[2:]}
def walk(rel):
    p = os.path.join(root, rel) if rel else root
    st = os.lstat(p)
    m = st.st_mode
    extra = b''
    if stat.S_ISLNK(m):
        extra = os.readlink(p)
    elif stat.S_ISREG(m):
        with open(p, 'rb') as f:
            extra = hashlib.sha256(f.read()).hexdigest().encode()
    print(repr(rel), oct(m), st.st_size, st.st_mtime_ns, st.st_ino, st.st_uid, st.st_gid,
          repr(extra))
    if stat.S_ISDIR(m):
        for n in sorted(os.listdir(p)):
            r = os.path.join(rel, n) if rel else n
            if r not in skip:
                walk(r)
walk(b'')
EOF
}

skipped() { # ARG: is it about a fixture entry we could not create?
	local s
	for s in "${skips[@]}"; do
		case "$1" in *"$s"*) return 0 ;; esac
	done
	return 1
}

# ---- running uhyve-sec ----

guest_args() { # fills `args` from the arguments: @name = test guest, skipped entries dropped
	local a
	args=()
	for a in "$@"; do
		if skipped "$a"; then
			continue
		fi
		case "$a" in
		@*) args+=("./${a#@}") ;;
		*) args+=("$a") ;;
		esac
	done
}

# After every run: status, secrets, processes, scratch directories; appends the stdout.
after_run() { # LABEL WANT STATUS CHECK_STDERR
	local label=$1 want=$2 status=$3 err=$4 f=$W/runs/$1 left
	{
		echo "### $label (exit $status)"
		anon <"$f.out"
	} >>"$W/stdout"
	[ "$status" = "$want" ] || fail "$label: exit status $status, expected $want"
	if grep -qa TOPSECRET "$f.out" "$f.err"; then
		fail "$label: the secret TOPSECRET appears in the output"
	fi
	if [ "$err" = 1 ] && [ -s "$f.err" ]; then
		fail "$label: unexpected stderr:"
		anon <"$f.err" | sed 's/^/    /'
	fi
	if left=$(pgrep -f -- "$T"); then
		fail "$label: processes left running: ${left//$'\n'/ }"
		ps -o pid,ppid,stat,args -p "${left//$'\n'/,}" | anon
	fi
	if [ -n "$(ls -A "$W/tmp")" ]; then
		fail "$label: scratch left in TMPDIR: $(ls -A "$W/tmp")"
		rm -rf "${W:?}"/tmp/*
	fi
}

# vmm [-e] LABEL WANT_STATUS [VAR=VALUE...] -- ARGS...: runs uhyve-sec in GUEST_DIR with a
# fresh TMPDIR; -e: the caller checks stderr (else it must be empty).  With VMM_NOFILE=N in
# its environment, uhyve-sec runs with an open-file limit of N.
vmm() {
	local err=1 label want status
	local -a envs=() args pre=()
	[ -n "${VMM_NOFILE-}" ] && pre=(prlimit --nofile="$VMM_NOFILE:$VMM_NOFILE")
	if [ "$1" = -e ]; then
		err=0
		shift
	fi
	label=$1 want=$2
	shift 2
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	guest_args "$@"
	(cd "$GUEST_DIR" && exec env TMPDIR="$W/tmp" "${envs[@]}" timeout -s KILL 60 "${pre[@]}" \
		"$VMM" "${args[@]}") >"$W/runs/$label.out" 2>"$W/runs/$label.err" </dev/null
	status=$?
	after_run "$label" "$want" "$status" "$err"
}

# bg_start LABEL [VAR=VALUE...] -- ARGS...: starts uhyve-sec in the background (bg_pid).
bg_start() {
	local label=$1
	local -a envs=() args
	shift
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	guest_args "$@"
	(cd "$GUEST_DIR" && exec env TMPDIR="$W/tmp" "${envs[@]}" "$VMM" "${args[@]}") \
		>"$W/runs/$label.out" 2>"$W/runs/$label.err" </dev/null &
	bg_pid=$!
	bg_pids+=("$bg_pid")
}

gone() { # PID: not running any more (absent or a zombie)
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
	[ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}

wait_gone() { # PID SECONDS
	local i
	for ((i = 0; i < $2 * 50; i++)); do
		gone "$1" && return 0
		sleep 0.02
	done
	return 1
}

wait_output() { # FILE SECONDS
	local i
	for ((i = 0; i < $2 * 50; i++)); do
		[ -s "$1" ] && return 0
		sleep 0.02
	done
	return 1
}

# stderr_is LABEL LINE...: the run's stderr is exactly these lines (patterns, '*' only).
stderr_is() {
	local label=$1
	shift
	printf '%s\n' "$@" >"$W/want.err"
	[ $# = 0 ] && : >"$W/want.err"
	anon <"$W/runs/$label.err" >"$W/got.err"
	compare "$W/got.err" "$W/want.err" "$label stderr"
}

# compare ACTUAL GOLDEN LABEL: golden lines are patterns in which only '*' is special (it
# matches anything); golden lines naming a skipped fixture entry are dropped.  On a mismatch,
# prints a diff of the best alignment ("-" expected, "+" actual, 2 lines of context).
compare() {
	local out
	out=$(python3 - "$1" "$2" "${skips[@]}" <<'EOF2'
import re, sys
def lines(p):
    with open(p, 'rb') as f:
        return f.read().decode('utf-8', 'surrogateescape').splitlines()
got = lines(sys.argv[1])
exp = [l for l in lines(sys.argv[2]) if not any(s in l for s in sys.argv[3:])]
pat = [re.compile('.*'.join(map(re.escape, l.split('*'))), re.S) for l in exp]
ok = lambda i, j: pat[i].fullmatch(got[j]) is not None
if len(got) == len(exp) and all(ok(i, i) for i in range(len(exp))):
    sys.exit(0)
n, m = len(exp), len(got)  # longest common subsequence, then walk it
L = [[0] * (m + 1) for _ in range(n + 1)]
for i in range(n - 1, -1, -1):
    for j in range(m - 1, -1, -1):
        L[i][j] = L[i + 1][j + 1] + 1 if ok(i, j) else max(L[i + 1][j], L[i][j + 1])
ops, i, j = [], 0, 0
while i < n or j < m:
    if i < n and j < m and ok(i, j):
        ops.append((' ', exp[i], j)); i += 1; j += 1
    elif i < n and (j == m or L[i + 1][j] >= L[i][j + 1]):
        ops.append(('-', exp[i], j)); i += 1
    else:
        ops.append(('+', got[j], j)); j += 1
show = {k for k, o in enumerate(ops) if o[0] != ' ' for k in range(k - 2, k + 3)}
last = -2
for k, (c, text, j) in enumerate(ops):
    if k in show:
        if k != last + 1:
            print('  @@ actual line %d' % (j + 1))
        print('  %s %s' % (c, text[:300]))
        last = k
sys.exit(1)
EOF2
	) && return 0
	fail "$3 differs (- expected, + actual):"
	printf '%s\n' "$out"
	return 1
}

# audit_lines FILE: validates a JSON-lines audit log and prints it without the time stamps
# as "audit: key=value ...".  Fails on any line that is not a well-formed audit record.
audit_lines() {
	python3 - "$1" <<'EOF' | anon
import json, re, sys
known = ['time', 'op', 'path', 'path_escaped', 'verdict', 'reason', 'errno', 'mount', 'count']
required = ['time', 'op', 'path', 'verdict']
ok = True
def show(v):
    if isinstance(v, bool):
        return str(v).lower()
    v = str(v)
    return v if v.isascii() and v.isprintable() else ascii(v)
with open(sys.argv[1], 'rb') as f:
    for n, raw in enumerate(f, 1):
        try:
            # guest-chosen bytes never reach the log raw: every line is printable ASCII
            assert re.fullmatch(rb'[ -~]*\n', raw), 'bytes outside printable ASCII'
            o = json.loads(raw)
            assert isinstance(o, dict), 'not an object'
            assert set(o) <= set(known), 'unknown keys %s' % sorted(set(o) - set(known))
            assert re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z', o['time']), 'time'
            if o.get('op') == 'audit':  # what the rate limit dropped
                assert o.get('verdict') == 'dropped' and 'path' not in o, 'dropped line'
                assert isinstance(o.get('count'), int) and o['count'] > 0, 'count'
                print('audit: dropped %d (%s)' % (o['count'], o.get('reason')))
                continue
            assert set(required) <= set(o), 'missing keys %s' % sorted(set(required) - set(o))
            assert o['op'] in ('open', 'unlink', 'mkdir', 'stat', 'lstat'), 'op'
            assert isinstance(o['path'], str), 'path'
            assert o['verdict'] in ('allow', 'deny', 'error'), 'verdict'
            assert o['verdict'] == 'allow' or ('reason' in o and 'errno' in o), 'reason/errno'
            assert o['verdict'] != 'allow' or 'errno' not in o, 'errno on allow'
            assert o.get('path_escaped', True) is True, 'path_escaped'
            assert 'count' not in o, 'count'
        except Exception as e:
            print('audit: BAD LINE %d (%s): %r' % (n, e, raw[:300]))
            ok = False
            continue
        print('audit: ' + ' '.join('%s=%s' % (k, show(o[k])) for k in known if k in o and k != 'time'))
sys.exit(0 if ok else 1)
EOF
}

# Appends the validated audit log FILE (or a run's stderr) to the compared output.
show_audit() { # FILE TITLE
	echo "--- $2" >>"$W/stdout"
	audit_lines "$1" >>"$W/stdout" || fail "$2: malformed audit record (see the output)"
}

# ---- host-side checks ----

want_content() { # PATH (relative to T) CONTENT
	if [ ! -f "$T/$1" ] || [ -L "$T/$1" ]; then
		fail "host: $1 is not a regular file"
	elif ! cmp -s "$T/$1" <(printf '%s' "$2"); then
		fail "host: $1 contains '$(head -c 200 "$T/$1" | cat -v)', expected '$2'"
	fi
}

want_absent() { # PATH...
	local p
	for p in "$@"; do
		if [ -e "$T/$p" ] || [ -L "$T/$p" ]; then
			fail "host: $p exists, it must not"
		fi
	done
}

want_mode() { # PATH OCTAL-MODE (as stat %a prints it)
	local m
	m=$(stat -c %a "$T/$1" 2>/dev/null)
	[ "$m" = "$2" ] || fail "host: mode of $1 is ${m:-missing}, expected $2"
}

want_type() { # PATH TYPE (find -type letter)
	local got
	got=$(find "$T/$1" -maxdepth 0 -printf %y 2>/dev/null)
	[ "$got" = "$2" ] || fail "host: type of $1 is ${got:-missing}, expected $2"
}

# No set-id bits in T/data except on the fixture's own sgid/ and, if untouched, setid.
want_no_setid() {
	local f
	while IFS= read -r -d '' f; do
		[ "$f" = "$T/data/sgid" ] || [ "$f" = "$T/data/setid" ] ||
			fail "host: ${f#"$T"/} has a set-id bit ($(stat -c %A "$f"))"
	done < <(find "$T/data" -xdev -perm /6000 -print0)
}

data_names() { # the names in T/data (one level), sorted, for before/after comparisons
	(cd "$T/data" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | sort)
}

long=$(printf 'a%.0s' $(seq 5000)) # a 5000-byte path component
# shellcheck source=host-view.sh
. "$here/host-view.sh" # the scenarios meta and dirlist, write_limit_spend
. "$here/uhyve-opts.sh" # the scenarios tempdir, io-mode and file-mapping
etc_sum=$(sha256sum /etc/passwd)

# ---- scenarios ----

sc_ops() { # v1|v2
	local v=$1 g=@fsops
	[ "$v" = v2 ] && g=@fsops-v2
	local -a c=(
		cat:/data/a.txt cat:/data/sub/b.txt
		put:/data/new.txt:written append:/data/new.txt:+more cat:/data/new.txt
		seek:/data/a.txt:6 seek:/data/new.txt:7 seek:/data/a.txt:100
		open:/data/a.txt:0300 open:/data/excl.txt:0301 open:/data/excl.txt:0301
		close:3 close:3
		put:/data/gone.txt:bye unlink:/data/gone.txt cat:/data/gone.txt unlink:/data/gone.txt
		open:/data/sub:0 open:/data:0 open:/data/sub:0200000 open:/data/a.txt:0200000
		open:/data/sub:01 open:/data/sub:0101 close:3 close:4 close:5
		cat:data/a.txt put:data/rel.txt:relative cat:./data//sub/./b.txt cat://data/sub/../a.txt
		put:/data/sub/b.txt:bumble cat:/data/sub/b.txt
		append:/data/missing.txt:x put:/data/nodir/f:x
		open:/data/a.txt:02 close:3
		open:/data/a.txt:01000 open:/data/a.txt:04000 close:3
		open:/data/sub:0200100
		cat:/ro/r.txt cat:ro/rsub/s.txt
		put:/data:x unlink:/data close:42
	)
	if [ "$v" = v2 ]; then
		c+=(
			mkdir:/data/newdir mkdir:/data/newdir put:/data/newdir/f:in ls:/data/newdir
			ls:/data/sub ls:/ro ls:data/sub
			stat:/data/a.txt lstat:/data/a.txt stat:data/sub/b.txt stat:/data/newdir stat:/data
			stat:/ro/r.txt stat:/data/nonexist lstat:/data/inlink stat:/data/inlink
			ls:/data/a.txt ls:/data/nonexist
			mkdir:/data/sub mkdir:/data mkdir:/data/nodir/x unlink:/data/sub unlink:/data/newdir
		)
	fi
	vmm "ops-$v" 0 -- --mount "$T/data:/data" --mount "$T/ro:/ro:ro" \
		--audit-log "$W/audit.log" "$g" "${c[@]}"
	want_content data/new.txt written+more
	want_mode data/new.txt 644
	want_content data/excl.txt ""
	want_mode data/excl.txt 644
	want_content data/rel.txt relative
	want_content data/sub/b.txt bumble
	want_content data/a.txt "hello host"
	want_absent data/gone.txt data/missing.txt data/nodir data/x
	if [ "$v" = v2 ]; then
		want_type data/newdir d
		want_mode data/newdir 755
		want_content data/newdir/f in
	fi
	want_no_setid
}

# Attacks from inside the guest: every one must fail with its errno, and change nothing.
sc_attacks() { # v1|v2
	local v=$1 g=@fsops
	[ "$v" = v2 ] && g=@fsops-v2
	local -a c=(
		cat:/data/up/outside/secret.txt cat:/data/../outside/secret.txt
		cat:/data/sub/../../outside/secret.txt cat:../outside/secret.txt
		cat:data/up/outside/secret.txt cat:/data/up put:/data/up/outside/new:x
		cat:/data/etc/passwd put:/data/etc/uhyvesec-evil:x
		cat:/data/dangling put:/data/dangling:x put:/data/dangling-out:x
		cat:/data/loop1 put:/data/loop1:x
		cat:/data/fifo put:/data/fifo:x append:/data/fifo:x open:/data/fifo:02
		cat:/data/sock put:/data/sock:x
		cat:/data/null put:/data/null:x
		cat:/data/hard put:/data/hard:x append:/data/hard:x open:/data/hard:01 seek:/data/hard:0
		cat:/data/bindmnt/x put:/data/bindmnt/x:y put:/data/bindmnt/new:y cat:/data/bindmnt
		unlink:/data/bindmnt/x
		cat:/data/inlink put:/data/inlink:z
		"cat:/data/$long"
		cat:/etc/passwd put:/etc/uhyvesec-evil:x cat:/ unlink:/etc/passwd
		put:/ro/r.txt:x append:/ro/r.txt:x unlink:/ro/r.txt put:/ro/new:x
		open:/data/a.txt:04000 open:/data/a.txt:010000000
		unlink:/data/etc/passwd unlink:/data/up/outside/secret.txt
		put:/data/sgid/f:x append:/data/setid:x
		open:/data/a.txt:03 cat:/data/a.txt
	)
	if [ "$v" = v1 ]; then
		c+=("put:/data/$long:x" $'put:/data/\xff\xfe:nonutf8' $'cat:/data/\xff\xfe')
	else
		c+=(
			"mkdir:/data/$long"
			mkdir:/data/sgid/d mkdir:/ro/d mkdir:/data/up/evil mkdir:/data/bindmnt/y mkdir:/etc/x
			stat:/data/up lstat:/data/up stat:/data/etc/passwd stat:/data/up/outside/secret.txt
			stat:/data/bindmnt stat:/data/bindmnt/x stat:/data/loop1 stat:/data/dangling
			stat:/data/fifo lstat:/data/dangling-out stat:/etc/passwd stat:/
			stat:/data/hard lstat:/data/hard
			ls:/data/up ls:/data/etc ls:/data/bindmnt ls:/data/loop1 ls:/ ls:/data/fifo
		)
	fi
	vmm "attacks-$v" 0 -- --mount "$T/data:/data" --mount "$T/ro:/ro:ro" \
		--audit-log "$W/audit.log" "$g" "${c[@]}"
	show_audit "$W/audit.log" "audit log"
	want_content data/a.txt "hello host"
	want_type data/up l
	want_type data/inlink l
	want_type data/dangling l
	want_type data/fifo p
	want_type data/sock s
	want_absent data/nowhere nowhere data/up/outside/new outside/new data/bindmnt/new
	[ -e /etc/uhyvesec-evil ] && fail "host: /etc/uhyvesec-evil was created"
	want_content data/sgid/f x
	want_mode data/sgid/f 644
	want_content data/setid setidx
	want_mode data/setid 755 # a write strips set-id bits
	if [ "$v" = v1 ]; then
		want_content $'data/\xff\xfe' nonutf8
	else
		want_type data/sgid/d d
		want_mode data/sgid/d 755 # no S_ISGID inherited from sgid/
	fi
	want_no_setid
}

# The read-only mount stays byte-identical, mtimes included, whatever the guest tries; a
# policy-file mount with symlinks=within is just as read-only.
sc_ro_identical() {
	local -a c=(
		put:/ro/r.txt:x append:/ro/r.txt:x put:/ro/new:x put:/ro/rsub/new:x put:/ro/link:x
		open:/ro/r.txt:01 open:/ro/r.txt:02 open:/ro/r.txt:01000 open:/ro/r.txt:0100
		open:/ro/r.txt:02000 open:/ro/new:0301 open:/ro/rsub:01 open:/ro:0101
		unlink:/ro/r.txt unlink:/ro/rsub/s.txt unlink:/ro/rsub unlink:/ro/link unlink:/ro
		bigwrite:/ro/big:100000 bigwrite:/ro/r.txt:10 put:/ro/rsub/../r.txt:x put:ro/r.txt:x
		cat:/ro/r.txt cat:/ro/link cat:/ro/esc cat:/ro/abs cat:/ro/rsub/s.txt
	)
	cp -a "$T/ro" "$W/ro.before"
	printf '{"version": 1, "mounts": [{"host": "%s", "guest": "/ro", "access": "ro", "symlinks": "within"}]}\n' \
		"$T/ro" >"$W/ro.json"
	vmm ro-v1 0 -- --mount "$T/ro:/ro:ro" --audit-log "$W/audit.log" @fsops "${c[@]}"
	vmm ro-v1-within 0 -- --policy "$W/ro.json" --audit-log "$W/audit.log" @fsops "${c[@]}"
	vmm ro-v2-within 0 -- --policy "$W/ro.json" --audit-log "$W/audit.log" @fsops-v2 "${c[@]}" \
		mkdir:/ro/d mkdir:/ro/rsub/d mkdir:/ro mkdir:/ro/link/d lstat:/ro/link stat:/ro/link
	show_audit "$W/audit.log" "audit log"
	diff -r --no-dereference "$W/ro.before" "$T/ro" >"$W/diff" 2>&1 ||
		fail "T/ro changed: $(anon <"$W/diff")"
}

# symlinks=within on a writable mount: links are followed inside the mount only.
sc_symlinks_within() {
	printf '{"version": 1, "mounts": [{"host": "%s", "guest": "/data", "access": "rw", "symlinks": "within"}]}\n' \
		"$T/data" >"$W/within.json"
	vmm within 0 -- --policy "$W/within.json" --audit-log "$W/audit.log" @fsops-v2 \
		cat:/data/inlink put:/data/inlink:via-link cat:/data/a.txt stat:/data/inlink \
		lstat:/data/inlink cat:/data/up/data/sub/b.txt cat:/data/up/outside/secret.txt \
		cat:/data/up cat:/data/etc/passwd put:/data/dangling:made cat:/data/nowhere \
		put:/data/dangling-out:x cat:/data/loop1 cat:/data/hard cat:/data/bindmnt/x \
		mkdir:/data/up/evil ls:/data/up unlink:/data/inlink
	show_audit "$W/audit.log" "audit log"
	want_content data/a.txt via-link
	want_content data/nowhere made
	want_absent nowhere evil data/inlink
}

sc_open_limit() {
	local max_vmm=0 max_brk=0 n b="" start end
	printf '{"version": 1, "limits": {"open_files": 8}}\n' >"$W/limit8.json"
	vmm limit-8 0 -- --policy "$W/limit8.json" --mount "$T/data:/data" @fsops \
		openmany:/data/a.txt:20 close:3 open:/data/sub:0 open:/data/a.txt:0 cat:/data/a.txt \
		close:10 close:11 close:3 cat:/data/a.txt
	vmm limit-default 0 -- --mount "$T/data:/data" --audit-log "$W/audit.log" @fsops \
		openmany:/data/nonexist:1000 openmany:/data/fifo:1000 openmany:/data/a.txt:1000 \
		close:130 close:3 close:130 openmany:/data/sub:5
	# 100000 opens: the VMM's and the broker's fd counts must stay bounded.
	start=$(date +%s%N)
	bg_start limit-loop -- --mount "$T/data:/data" @fsops openmany:/data/a.txt:100000
	while ! gone "$bg_pid"; do
		[ -z "${b-}" ] && b=$(pgrep -x -P "$bg_pid" uhyve-sec-broke)
		n=$(find "/proc/$bg_pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		[ "$n" -gt "$max_vmm" ] && max_vmm=$n
		if [ -n "${b-}" ]; then
			n=$(find "/proc/$b/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
			[ "$n" -gt "$max_brk" ] && max_brk=$n
		fi
		sleep 0.01
		if [ $((($(date +%s%N) - start) / 1000000000)) -ge 100 ]; then
			kill -KILL "$bg_pid" 2>/dev/null # a hang, not a slow host: speed is bench/fsbench.sh's
			fail "100000 opens did not finish in 100 s (meson gives the test 120)"
			break
		fi
	done
	wait "$bg_pid"
	n=$?
	end=$(date +%s%N)
	after_run limit-loop 0 "$n" 1
	echo "note: 100000 opens took $(((end - start) / 1000000)) ms; max fds: VMM $max_vmm, broker $max_brk"
	[ "$max_vmm" -ge 128 ] || fail "fd sampling did not see the 128 guest files (max $max_vmm)"
	[ "$max_vmm" -le 160 ] || fail "the VMM held $max_vmm fds (limit 128 guest files + 32)"
	[ "$max_brk" -le 16 ] || fail "the broker held $max_brk fds"
	want_content data/a.txt "hello host"
}

sc_write_limit() {
	printf '{"version": 1, "limits": {"write_bytes": 10000}}\n' >"$W/w.json"
	printf '{"version": 1, "limits": {"write_bytes": "10K"}}\n' >"$W/w10k.json"
	# Every file created costs 4096 bytes of the budget (docs/policy.md): big gets 5904
	# bytes, nothing is left to create big2 or p.
	vmm write-v2 0 -- --policy "$W/w.json" --mount "$T/data:/data" @fsops-v2 \
		bigwrite:/data/big:50000 bigwrite:/data/big2:10 put:/data/p:abc \
		append:/data/a.txt:more stat:/data/big cat:/data/a.txt
	# v1 writes have no result: the guest believes all went through, the host got 6 KiB.
	vmm write-v1 0 -- --policy "$W/w10k.json" --mount "$T/data:/data" @fsops \
		bigwrite:/data/v1big:50000 append:/data/v1big:more
	# The budget is per run (a fresh 10000 bytes), shared by all files of the run.
	vmm write-v2-again 0 -- --policy "$W/w.json" --mount "$T/data:/data" @fsops-v2 \
		put:/data/p:abc bigwrite:/data/big3:9999 put:/data/p2:ab
	want_content data/big "$(printf 'x%.0s' $(seq 5904))"
	want_content data/a.txt "hello host"
	want_content data/v1big "$(printf 'x%.0s' $(seq 6144))"
	want_content data/p abc
	want_absent data/big2 data/p2
	[ "$(stat -c %s "$T/data/big3" 2>/dev/null)" = 1805 ] || fail "host: data/big3 is not 1805 bytes"
	write_limit_spend # holes and entries (host-view.sh)
}

sc_scratch() {
	local d
	printf '{"version": 1, "scratch": true}\n' >"$W/scratch.json"
	local -a pol=(--policy "$W/scratch.json" --mount "$T/data:/data" --audit-log "$W/audit.log")
	vmm scratch-v1 0 -- "${pol[@]}" @fsops put:/x:hi cat:/x append:/x:+more cat:x \
		cat:/data/a.txt put:/data/x:data cat:/../x cat:/nonexist unlink:/x cat:/x put:/y:kept
	vmm scratch-v1-next 0 -- "${pol[@]}" @fsops cat:/y
	vmm scratch-v2 0 -- "${pol[@]}" @fsops-v2 mkdir:/tmp put:/tmp/x:hi cat:/tmp/x ls:/tmp \
		mkdir:/tmp/d put:/tmp/d/f:deep ls:/ stat:/tmp/d/f ls:/data/sub mkdir:/tmp \
		unlink:/tmp/d/f unlink:/ mkdir:/
	show_audit "$W/audit.log" "audit log"
	# 600 levels with 256 fds allowed (the longest guest path allows about 2,040 levels):
	# the scratch directory still goes entirely (no fd per level when it is removed).
	VMM_NOFILE=256 vmm scratch-deep 0 -- --policy "$W/scratch.json" @fsops-v2 mkdir:/s deep:/s:600
	# While a run lives, its scratch directory is in TMPDIR (mode 0700); SIGTERM removes it.
	bg_start scratch-live -- "${pol[@]}" @spin
	wait_output "$W/runs/scratch-live.out" 10 || fail "spin did not start"
	d=$(ls -d "$W"/tmp/uhyve-sec-* 2>/dev/null)
	if [ -z "$d" ] || [ "$(echo "$d" | wc -l)" != 1 ]; then
		fail "no single scratch directory in TMPDIR during the run: '$(echo "$d" | anon | tr '\n' ' ')'"
	else
		[ "$(stat -c %a "$d")" = 700 ] || fail "scratch directory mode $(stat -c %a "$d"), expected 700"
	fi
	kill -TERM "$bg_pid"
	wait_gone "$bg_pid" 5 || fail "uhyve-sec did not stop within 5 s of SIGTERM"
	wait "$bg_pid"
	after_run scratch-live 143 $? 0
	stderr_is scratch-live "uhyve-sec: stopped by SIGTERM"
	want_content data/x data
	want_absent data/y data/tmp y tmp
	# The scratch files exist nowhere on the host any more.
	if grep -rlsa -D skip --exclude-dir=bindmnt -e '+more' -e deep -e kept "$T" >/dev/null; then
		fail "scratch content found under T"
	fi
}

sc_audit() {
	local n
	vmm audit-deny 0 -- --mount "$T/data:/data" --mount "$T/ro:/ro:ro" \
		--audit-log "$W/deny.log" @fsops cat:/data/up/outside/secret.txt put:/ro/r.txt:x \
		cat:/data/a.txt cat:/data/nonexist $'cat:/etc/\xff\x01' cat:/data/fifo unlink:/ro/r.txt \
		cat:../x cat:/data/hard
	show_audit "$W/deny.log" "deny.log"
	[ "$(stat -c %a "$W/deny.log")" = 600 ] || fail "audit log mode $(stat -c %a "$W/deny.log"), expected 600"
	vmm audit-all 0 -- --mount "$T/data:/data" --mount "$T/ro:/ro:ro" \
		--audit-log "$W/all.log" --audit=all @fsops-v2 cat:/data/a.txt cat:/data/nonexist \
		put:/data/new:x mkdir:/data/d stat:/data/d lstat:/data/inlink unlink:/data/new \
		mkdir:/ro/d cat:/data/inlink
	show_audit "$W/all.log" "all.log"
	# Guest-chosen bytes never reach the log raw: a C1 control (U+009B), the right-to-left
	# override (U+202E), DEL (show_audit fails on any byte outside printable ASCII).
	vmm audit-escape 0 -- --mount "$T/data:/data" --audit-log "$W/esc.log" @fsops \
		$'cat:/etc/a\xc2\x9bb' $'cat:/etc/c\xe2\x80\xaed' $'cat:/etc/e\x7ff'
	show_audit "$W/esc.log" "esc.log"
	# A flood of 5,000 denials: at most 1,000 lines at once, then 100 per second, and the
	# dropped ones counted (logged + dropped = 5,000).
	vmm audit-flood 0 -- --mount "$T/data:/data" --audit-log "$W/flood.log" @fsops \
		openmany:/etc/x:5000
	audit_lines "$W/flood.log" >"$W/flood.txt" || fail "flood.log: malformed audit record"
	n=$(grep -c "verdict=deny" "$W/flood.txt")
	local dropped
	dropped=$(awk '/^audit: dropped/ {s += $3} END {print s + 0}' "$W/flood.txt")
	[ "$n" -ge 1000 ] && [ "$n" -le 2000 ] || fail "audit flood: $n denial lines, expected 1000 + 100/s"
	[ $((n + dropped)) = 5000 ] || fail "audit flood: $n lines + $dropped dropped != 5000"
	# A second run appends.
	n=$(wc -l <"$W/deny.log")
	vmm audit-append 0 -- --mount "$T/data:/data" --audit-log "$W/deny.log" @fsops cat:/etc/shadow
	[ "$(wc -l <"$W/deny.log")" = $((n + 1)) ] || fail "the audit log was not appended to"
	# Without --audit-log, denials go to stderr, one JSON object per line.
	vmm -e audit-stderr 0 -- --mount "$T/data:/data" @fsops cat:/data/up/outside/secret.txt \
		cat:/data/a.txt cat:/etc/passwd
	show_audit "$W/runs/audit-stderr.err" "stderr of audit-stderr"
	vmm -e audit-stderr-all 0 -- --mount "$T/data:/data" --audit=all @fsops cat:/data/a.txt
	show_audit "$W/runs/audit-stderr-all.err" "stderr of audit-stderr-all"
	# The log is never opened through a symlink.
	ln -s "$W/target.log" "$W/link.log"
	vmm -e audit-symlink 73 -- --mount "$T/data:/data" --audit-log "$W/link.log" @fsops \
		cat:/data/a.txt
	stderr_is audit-symlink "uhyve-sec: cannot open audit log @W@/link.log: Too many levels of symbolic links"
	[ -e "$W/target.log" ] && fail "the audit log was created through a symlink"
	vmm -e audit-bad-option 64 -- --audit=some @fsops
	stderr_is audit-bad-option "uhyve-sec: invalid --audit 'some': expected 'deny' or 'all'"
}

sc_kill_broker() {
	local b
	bg_start kill-broker -- --mount "$T/data:/data" @spin
	wait_output "$W/runs/kill-broker.out" 10 || fail "spin did not start"
	b=$(pgrep -x -P "$bg_pid" uhyve-sec-broke)
	if [ -z "$b" ] || [ "$(echo "$b" | wc -l)" != 1 ]; then
		fail "expected one broker child of uhyve-sec, found '$b'"
	else
		bg_pids+=("$b")
		kill -9 "$b"
	fi
	wait_gone "$bg_pid" 5 || fail "uhyve-sec still runs 5 s after its broker was killed"
	kill -9 "$bg_pid" 2>/dev/null
	wait "$bg_pid"
	after_run kill-broker 74 $? 0
	stderr_is kill-broker "uhyve-sec: the file broker was killed by SIGKILL"
}

sc_kill_vmm() {
	local b n
	printf '{"version": 1, "scratch": true}\n' >"$W/scratch.json"
	bg_start kill-vmm -- --policy "$W/scratch.json" --mount "$T/data:/data" @spin
	wait_output "$W/runs/kill-vmm.out" 10 || fail "spin did not start"
	b=$(pgrep -x -P "$bg_pid" uhyve-sec-broke)
	[ -n "$(ls -A "$W/tmp")" ] || fail "no scratch directory while the guest runs"
	if [ -z "$b" ] || [ "$(echo "$b" | wc -l)" != 1 ]; then
		fail "expected one broker child of uhyve-sec, found '$b'"
	else
		bg_pids+=("$b")
	fi
	kill -9 "$bg_pid"
	{ wait "$bg_pid"; } 2>/dev/null
	n=$?
	if [ -n "$b" ]; then
		wait_gone "$b" 5 || fail "the broker (pid $b) still runs 5 s after the VMM was killed"
	fi
	after_run kill-vmm 137 "$n" 1
}

sc_broker_start_failure() {
	local -a c=(@fsops cat:/x/y)
	printf '{"version": 1,\n "mounts": [}\n' >"$W/syntax.json"
	printf '{"version": 1, "mount": []}\n' >"$W/unknown.json"
	printf '{"version": 1, "mounts": [{"host": "%s", "guest": "/data", "access": "rw"}],\n "limits": {"open_files": 8, "write_bytes": "10K"}}\n' \
		"$T/data" >"$W/good.json"
	printf '{"version": 1, "scratch": true}\n' >"$W/scratch.json"
	vmm -e nonexistent 78 -- --mount /nonexistent-uhyve-sec-test:/x "${c[@]}"
	stderr_is nonexistent "uhyve-sec: mount /x (--mount #1): host path /nonexistent-uhyve-sec-test: No such file or directory"
	vmm -e not-a-dir 78 -- --mount "$T/data/sock:/x" "${c[@]}"
	stderr_is not-a-dir "uhyve-sec: mount /x (--mount #1): host path @T@/data/sock is neither a directory nor a regular file"
	vmm -e twice 78 -- --mount "$T/data:/x" --mount "$T/ro:/x/" "${c[@]}"
	stderr_is twice "uhyve-sec: mount /x (--mount #2): guest path already mounted by --mount #1"
	vmm -e bad-mode 78 -- --mount "$T/data:/x:rx" "${c[@]}"
	stderr_is bad-mode "uhyve-sec: --mount #1: \"@T@/data:/x:rx\": mode must be \"ro\" or \"rw\", got \"rx\""
	vmm -e syntax 78 -- --policy "$W/syntax.json" "${c[@]}"
	stderr_is syntax "uhyve-sec: @W@/syntax.json:2:13: invalid JSON: unexpected token near '}'"
	vmm -e unknown-key 78 -- --policy "$W/unknown.json" "${c[@]}"
	stderr_is unknown-key 'uhyve-sec: @W@/unknown.json:1:16: unknown key "mount" at top level (known keys: version, mounts, limits, scratch)'
	vmm -e missing-policy 78 -- --policy "$W/none.json" "${c[@]}"
	stderr_is missing-policy "uhyve-sec: @W@/none.json: cannot open: No such file or directory"
	# The broker itself fails to start: its scratch directory cannot be created.
	vmm -e no-tmpdir 74 TMPDIR="$W/nonexistent" -- --policy "$W/scratch.json" "${c[@]}"
	stderr_is no-tmpdir "uhyve-sec: broker: cannot create the scratch directory in @W@/nonexistent: No such file or directory"
	# A kernel the VMM rejects after the broker started: exactly one line, every time (the
	# broker leaves quietly when the VMM is gone before it read the broker's READY).
	# stderr is read through a pipe: it ends only when every writer (the broker too) is gone.
	local i n err
	for i in $(seq 1 20); do
		err=$(cd "$GUEST_DIR" && TMPDIR="$W/tmp" "$VMM" --mount "$T/data:/data" \
			"$W/good.json" 2>&1 >/dev/null </dev/null)
		n=$?
		err=$(anon <<<"$err")
		if [ "$n" != 65 ] || [ "$err" != "uhyve-sec: @W@/good.json: ELF: not an ELF image" ]; then
			fail "bad kernel with a mount, run $i: exit $n, stderr: ${err//$'\n'/ | }"
			break
		fi
	done
	vmm check-good 0 -- --check-policy "$W/good.json" --mount "$T/ro:/ro:ro"
	vmm -e check-bad 78 -- --check-policy "$W/syntax.json"
	stderr_is check-bad "uhyve-sec: @W@/syntax.json:2:13: invalid JSON: unexpected token near '}'"
	vmm -e check-bad-mount 78 -- --check-policy "$W/good.json" --mount "$T/nonexistent:/n"
	stderr_is check-bad-mount "uhyve-sec: mount /n (--mount #1): host path @T@/nonexistent: No such file or directory"
}

# ---- main ----

make_fixture
snap_before=$(snapshot)
data_before=$(data_names)
case "$scenario" in
ops-v1) sc_ops v1 ;;
ops-v2) sc_ops v2 ;;
attacks-v1) sc_attacks v1 ;;
attacks-v2) sc_attacks v2 ;;
ro-identical) sc_ro_identical ;;
symlinks-within) sc_symlinks_within ;;
open-limit) sc_open_limit ;;
write-limit) sc_write_limit ;;
scratch) sc_scratch ;;
audit) sc_audit ;;
kill-broker) sc_kill_broker ;;
kill-vmm) sc_kill_vmm ;;
broker-start-failure) sc_broker_start_failure ;;
meta) sc_meta ;;
dirlist) sc_dirlist ;;
tempdir) sc_tempdir ;;
io-mode) sc_io_mode ;;
file-mapping) sc_file_mapping ;;
esac

snap_after=$(snapshot)
if [ "$snap_before" != "$snap_after" ]; then
	fail "something outside the writable mount changed (- before, + after):"
	diff <(echo "$snap_before") <(echo "$snap_after") | grep '^[<>]' | sed 's/^</  -/; s/^>/  +/' | anon
fi
[ "$(sha256sum /etc/passwd)" = "$etc_sum" ] || fail "/etc/passwd changed"
case "$scenario" in
ops-* | attacks-* | symlinks-within | write-limit | scratch | audit | meta | dirlist | tempdir | \
	file-mapping) ;;
*)
	[ "$(data_names)" = "$data_before" ] || fail "T/data changed: $(diff <(echo "$data_before") <(data_names) | grep '^[<>]' | tr '\n' ' ')"
	;;
esac

golden=$EXPECT_DIR/$scenario.out
if [ "${FILES_GOLDEN_UPDATE-}" = 1 ]; then
	# The patterns: the 5000-byte path by its first 64 bytes, directory sizes (file system
	# dependent) by '*'.
	sed -E 's/a{64}a{4936}/&*/; s/a{4936}\*/*/; s/(type=dir size=)[0-9]+/\1*/' "$W/stdout" >"$golden"
	echo "wrote $golden: review every line"
elif [ ! -f "$golden" ]; then
	fail "no golden file $golden"
else
	compare "$W/stdout" "$golden" "stdout (expected/$scenario.out)"
fi

if [ $fails -gt 0 ]; then
	echo "--- stdout of all runs"
	cut -c1-300 "$W/stdout"
	for f in "$W"/runs/*.err; do
		[ -s "$f" ] || continue
		echo "--- stderr of $(basename "$f" .err)"
		anon <"$f" | cut -c1-300
	done
	echo "FAIL: $scenario: $fails problem(s)"
	exit 1
fi
echo "ok: $scenario"
exit 0
