#!/bin/bash
# SPDX-License-Identifier: MIT
# run-images.sh - Hermit images (.hermit, issue 11 item 6): one scenario per call.
#
# Usage: run-images.sh SCENARIO (run-images.sh --list prints the scenarios)
# Environment: UHYVE_SEC (the binary), GUEST_DIR (the test guests), EXPECT_DIR (golden files),
# UHYVE_SEC_COMPAT_DIR (real Hermit binaries; scenario compat-hello skips without it).
# IMAGES_GOLDEN_UPDATE=1 writes the actual output to the golden file: review every line!
# Exit status: 0 pass, 1 fail, 77 skip (/dev/kvm, python3 or the compat binaries missing),
# 99 broken setup.
#
# Every fixture is built here, in a fresh work directory W (mktemp -d): images with GNU tar
# and gzip from the test guests, hostile ones with mk-hostile.py.  Each run: cwd W, TMPDIR a
# fresh W/tmp; its exit status, stdout and stderr are recorded as
#   ### LABEL (exit N)
#   stdout lines
#   E: stderr lines (audit timestamps blanked)
# (W written as @W@; the runs get only PATH, TMPDIR and RUN_ENV as their environment)
# and the whole record must equal expected/SCENARIO.out.  After every run: W/tmp is empty,
# W holds exactly what the script put there (nothing extracted or left behind), and no
# process naming W is left.
set -u
umask 022
export LC_ALL=C

here=$(cd "$(dirname "$0")" && pwd)
VMM=${UHYVE_SEC:-$here/../../../build/uhyve-sec}
GUEST_DIR=${GUEST_DIR:-$here/../../../build/tests/guests}
EXPECT_DIR=${EXPECT_DIR:-$here/expected}
SCENARIOS="hostile external-files external-mounts internal args-env requirements \
internal-too-small compat-hello parser-confined running"

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
if ! command -v python3 >/dev/null || ! command -v tar >/dev/null || ! command -v gzip >/dev/null; then
	echo "SKIP: python3, tar or gzip is missing"
	exit 77
fi
VMM=$(realpath "$VMM") GUEST_DIR=$(realpath "$GUEST_DIR")
if [ ! -x "$VMM" ] || [ ! -f "$GUEST_DIR/fsops-v2" ]; then
	echo "ERROR: no uhyve-sec at $VMM or no test guests in $GUEST_DIR" >&2
	exit 99
fi

W=$(mktemp -d) || exit 99
trap 'rm -rf "$W"' EXIT
mkdir "$W/tmp" "$W/src" || exit 99
OUT=$W/record fails=0
: >"$OUT"

fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# pack NAME KERNEL TOML [FILE...]: W/NAME.hermit from a directory holding KERNEL as "kern",
# hermit.toml with TOML, and FILE... (paths relative to W/files, copied with their parents).
pack() {
	local name=$1 kern=$2 toml=$3 d
	shift 3
	d=$W/src/$name
	mkdir -p "$d" && cp "$kern" "$d/kern" && printf '%s\n' "$toml" >"$d/hermit.toml" || exit 99
	for f in "$@"; do
		mkdir -p "$d/$(dirname "$f")" && cp -p "$W/files/$f" "$d/$f" || exit 99
	done
	(cd "$d" && tar --format=gnu --owner=0 --group=0 --mtime=@0 --sort=name -cf - . |
		gzip -n >"$W/$name.hermit") || exit 99
}

# W but the record and host/ (a writable mount's host directory: checked explicitly)
snapshot() { (cd "$W" && find . \( -path ./record -o -path ./host \) -prune -o -print | sort); }

# run LABEL ARGS...: one uhyve-sec run in W, recorded.
run() {
	local label=$1 rc before after left
	shift
	before=$(snapshot)
	# shellcheck disable=SC2086 # RUN_ENV: NAME=VALUE words
	(cd "$W" && env -i PATH=/usr/bin:/bin TMPDIR="$W/tmp" ${RUN_ENV-} timeout 60 "$VMM" "$@" \
		>"$W/.o" 2>"$W/.e")
	rc=$?
	{
		echo "### $label (exit $rc)"
		sed -e "s|$W|@W@|g" "$W/.o"
		sed -e 's/^/E: /' -e 's/"time":"[^"]*"/"time":"T"/' -e "s|$W|@W@|g" "$W/.e"
	} >>"$OUT"
	rm -f "$W/.o" "$W/.e"
	after=$(snapshot)
	[ "$before" = "$after" ] || fail "$label: the work directory changed: $(diff <(echo "$before") <(echo "$after") | tr '\n' ' ')"
	[ -z "$(ls -A "$W/tmp")" ] || fail "$label: left in TMPDIR: $(ls -A "$W/tmp")"
	left=$(pgrep -f -- "$W" | grep -v "^$$\$" || true)
	[ -z "$left" ] || fail "$label: processes left: $left"
}

TOML_PLAIN='version = "1"
kernel = "kern"
[input]
kernel_args = []
app_args = []'

sc_hostile() {
	local c
	python3 "$here/mk-hostile.py" "$GUEST_DIR/hello-v2" "$W" || exit 99
	for c in $(python3 "$here/mk-hostile.py" --list); do
		run "$c" "$c.hermit"
		run "$c internal" --hermit-image-mode internal "$c.hermit"
	done
	# Not gzip: no image at all, so the VMM's ELF check refuses it.
	(cd "$W/src" && mkdir plain && cp "$GUEST_DIR/hello-v2" plain/kern &&
		tar -cf "$W/plain-tar.hermit" plain) || exit 99
	run "plain tar" plain-tar.hermit
}

fs_toml() {
	printf 'version = "1"\nkernel = "/kern"\n[input]\nkernel_args = []\napp_args = [%s]\n' "$1"
}

files_fixture() {
	mkdir -p "$W/files/data/sub" "$W/files/bin" || exit 99
	printf 'alpha' >"$W/files/data/a.txt"
	chmod 640 "$W/files/data/a.txt"
	printf 'bee' >"$W/files/data/sub/b.txt"
	printf 'run' >"$W/files/bin/tool"
	chmod 755 "$W/files/bin/tool"
}

sc_external_files() {
	files_fixture
	pack files "$GUEST_DIR/fsops-v2" "$(fs_toml '"cat:/data/a.txt", "cat:data/sub/b.txt",
 "ls:/", "ls:/data", "stat:/", "stat:/data", "stat:/data/a.txt", "stat:/bin/tool",
 "fstat:/data/sub/b.txt", "seek:/data/a.txt:2", "cat:/hermit.toml", "cat:/nope",
 "cat:/data/a.txt/x", "stat:/data/../data/a.txt", "open:/data/a.txt:1", "open:/data/a.txt:2",
 "open:/data/a.txt:01000", "open:/data/a.txt:0300", "open:/data/a.txt:0200000",
 "open:/data:0", "put:/data/a.txt:x", "put:/new:y", "unlink:/kern", "unlink:/nope",
 "mkdir:/data", "mkdir:/d2", "cat:/data/a.txt"')" data/a.txt data/sub/b.txt bin/tool
	run "external (default)" files.hermit
	run "external, --hermit-image-mode external" --hermit-image-mode external files.hermit
	run "internal: no files served" --hermit-image-mode internal files.hermit
}

sc_external_mounts() {
	files_fixture
	mkdir -p "$W/host" && printf 'from the host' >"$W/host/a.txt" || exit 99
	pack mounts "$GUEST_DIR/fsops-v2" "$(fs_toml '"cat:/data/a.txt", "cat:/data/sub/b.txt",
 "cat:/bin/tool", "put:/data/new:n", "put:/scratch-file:s", "cat:/scratch-file",
 "put:/bin/tool:x", "ls:/"')" data/a.txt data/sub/b.txt bin/tool
	run "a mount beats the image" --mount host:/data mounts.hermit
	[ "$(cat "$W/host/new")" = n ] || fail "the guest's write did not reach the mount"
	rm -f "$W/host/new"
	run "--tempdir: names the image lacks go to scratch" --tempdir "$W/tmp" mounts.hermit
}

sc_internal() {
	local len
	pack initrd "$GUEST_DIR/initrd-v2" "$TOML_PLAIN"
	len=$(gzip -dc "$W/initrd.hermit" | wc -c)
	run "internal" --hermit-image-mode internal initrd.hermit
	run "internal, no ASLR, 2 vCPUs" --hermit-image-mode=internal --no-aslr -c 2 initrd.hermit
	run "external: no initrd" initrd.hermit
	printf '[uhyve]\nhermit_image_mode = "internal"\n' >"$W/uhyve.toml"
	run "uhyve.toml: hermit_image_mode = internal" initrd.hermit
	run "the command line beats uhyve.toml" --hermit-image-mode external initrd.hermit
	rm -f "$W/uhyve.toml"
	RUN_ENV=HERMIT_IMAGE_MODE=internal run "HERMIT_IMAGE_MODE is not uhyve's: no effect" initrd.hermit
	sed -i "s/len=$len /len=LEN /" "$OUT"
}

sc_args_env() {
	local toml='version = "1"
kernel = "kern"
[input]
kernel_args = ["-freq", "800"]
app_args = ["app arg", "two"]
env_vars = ["IMG=image", "BOTH=image", "NOEQUALS"]'
	pack args "$GUEST_DIR/args-v2" "$toml"
	run "the image's arguments and variables" args.hermit
	run "-e beats the image's variable" -e BOTH=cli -e NEW=1 args.hermit
	run "command-line arguments replace the image's" args.hermit cli1 cli2
	run "-e host: the image's variables are not used" --env host args.hermit
	printf '[guest]\nenv_vars = ["BOTH=file", "FILE=1"]\n' >"$W/uhyve.toml"
	run "uhyve.toml's env_vars over the image's, -e over both" -e BOTH=cli args.hermit
	run "uhyve.toml's env_vars over the image's" args.hermit
	rm -f "$W/uhyve.toml"
}

sc_requirements() {
	local toml='version = "1"
kernel = "kern"
[input]
kernel_args = []
app_args = []
[requirements]
memory = "256MiB"
cpus = 2'
	pack req "$GUEST_DIR/hello-v2" "$toml"
	run "-m below memory" -m 128M -c 2 req.hermit
	run "-c below cpus" -m 256M -c 1 req.hermit
	run "the default -m" -c 2 req.hermit
	run "enough" -m 256M -c 2 req.hermit
	RUN_ENV=HERMIT_MEMORY_SIZE=256M run "HERMIT_MEMORY_SIZE counts" -c 2 req.hermit
	RUN_ENV=HERMIT_CPU_COUNT=1 run "HERMIT_CPU_COUNT counts" -m 256M req.hermit
}

sc_internal_too_small() {
	mkdir -p "$W/files" && head -c $((40 << 20)) /dev/urandom >"$W/files/blob" || exit 99
	pack big "$GUEST_DIR/hello-v2" "$TOML_PLAIN" blob
	run "internal: the tar does not fit" -m 32M --hermit-image-mode internal big.hermit
	run "external: the same image runs" -m 32M big.hermit
	run "internal: with room" -m 128M --hermit-image-mode internal big.hermit
	sed -i "s/($(gzip -dc "$W/big.hermit" | wc -c) bytes)/(LEN bytes)/" "$OUT"
}

sc_compat_hello() {
	local dir=${UHYVE_SEC_COMPAT_DIR-} m
	if [ -z "$dir" ] || [ ! -f "$dir/hello_world" ]; then
		echo "SKIP: UHYVE_SEC_COMPAT_DIR with hello_world is not set"
		exit 77
	fi
	mkdir -p "$W/src/hw" && cp "$dir/hello_world" "$W/src/hw/hello_world" || exit 99
	printf 'version = "1"\nkernel = "hello_world"\n[input]\nkernel_args = []\napp_args = []\n' >"$W/src/hw/hermit.toml"
	(cd "$W/src/hw" && tar -cf - hermit.toml hello_world | gzip >"$W/hello.hermit") || exit 99
	for m in external internal; do
		(cd "$W" && TMPDIR=$W/tmp timeout 120 "$VMM" --hermit-image-mode $m hello.hermit >"$W/.o" 2>&1)
		echo "### hello_world $m (exit $?)" >>"$OUT"
		grep -c '^Hello, world!' "$W/.o" >>"$OUT"
		rm -f "$W/.o"
	done
}

# Test builds only (-Dtest_hooks=true): UHS_TEST_IMAGE_PROBE=open makes the parser child try
# open("/") after confining itself; the seccomp filter must kill it (SIGSYS), and with the
# sandbox off the same probe passes (so the test can fail).
sc_parser_confined() {
	if ! grep -q UHS_TEST_IMAGE_PROBE "$VMM"; then
		echo "SKIP: not a test-hooks build"
		exit 77
	fi
	pack probe "$GUEST_DIR/hello-v2" "$TOML_PLAIN"
	RUN_ENV=UHS_TEST_IMAGE_PROBE=open run "confined parser: open is fatal" probe.hermit
	RUN_ENV=UHS_TEST_IMAGE_PROBE=open run "--sandbox=off: the probe opens /" --sandbox=off \
		probe.hermit
	run "no probe" probe.hermit
}

# fd_count PID TEXT: the fds of PID whose target holds TEXT
fd_count() {
	local f n=0
	for f in /proc/"$1"/fd/*; do
		[[ "$(readlink "$f")" == *"$2"* ]] && n=$((n + 1))
	done
	echo "$n"
}

# While a guest of an external image runs: the VMM and the broker are confined (Seccomp 2,
# NoNewPrivs 1), neither holds an image memfd (the VMM closed both once the broker had its
# copy; the broker closed fd 6 after mapping it), the broker maps the blob read-only and
# shared, and the guest's open directory of the image is a listing memfd in the VMM.
sc_running() {
	local pid broker out=$W/tmp/console
	if "$VMM" --print-sandbox | grep -q "not installed in this sanitizer build"; then
		echo "SKIP: sanitizer build (no sandbox)"
		exit 77
	fi
	files_fixture
	pack run "$GUEST_DIR/fsops-v2" "$(fs_toml '"hold:/data"')" data/a.txt
	(cd "$W" && exec "$VMM" --output "$out" run.hermit </dev/null >/dev/null 2>"$W/tmp/err") &
	pid=$!
	for _ in $(seq 1 100); do
		grep -q "^hold /data = fd" "$out" 2>/dev/null && break
		sleep 0.05
	done
	broker=$(pgrep -x -P "$pid" uhyve-sec-broke)
	{
		echo "### running"
		grep -o "^hold /data = fd [0-9]*" "$out"
		for p in "$pid" "$broker"; do
			grep -E "^(Seccomp|NoNewPrivs):" "/proc/$p/status" | tr '\t' ' '
			echo "image memfds held: $(fd_count "$p" "memfd:uhyve-sec-image")"
		done
		echo "VMM listing memfds: $(fd_count "$pid" "memfd:uhyve-sec-dir")"
		echo "broker blob mappings: $(awk '/memfd:uhyve-sec-image /{print $2}' "/proc/$broker/maps" | sort -u)"
	} >>"$OUT"
	kill -TERM "$pid"
	wait "$pid"
	echo "stopped: $?" >>"$OUT"
	rm -f "$out" "$W/tmp/err"
}

case $scenario in
running) sc_running ;;
hostile) sc_hostile ;;
external-files) sc_external_files ;;
external-mounts) sc_external_mounts ;;
internal) sc_internal ;;
args-env) sc_args_env ;;
requirements) sc_requirements ;;
internal-too-small) sc_internal_too_small ;;
compat-hello) sc_compat_hello ;;
parser-confined) sc_parser_confined ;;
esac

golden=$EXPECT_DIR/$scenario.out
if [ "${IMAGES_GOLDEN_UPDATE-}" = 1 ]; then
	cp "$OUT" "$golden"
	echo "wrote $golden"
elif ! diff -u "$golden" "$OUT"; then
	fail "output differs from $golden"
fi
[ "$fails" -eq 0 ] && echo PASS && exit 0
exit 1
