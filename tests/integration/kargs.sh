#!/bin/bash
# SPDX-License-Identifier: MIT
# kargs.sh - kernel arguments as uhyve hands them over (issue 11 items 7-8), read by the
# test guests kargs/kargs-v2 exactly as Hermit's kernel parses FDT /chosen/bootargs
# (tests/guests/kargs.c) and by args (kernel 0.6.x's Cmdsize/Cmdval):
#   - words before a '--' go to the kernel's command line (-freq -ip -gateway -mask -mount,
#     env=), words after it to the application; no '--': every word is the kernel's;
#   - no fixed cap for the FDT: 300 variables and 20,000- to 60,000-byte arguments reach v2 and
#     v1 kernels whole (the tree then lies below the kernel; also for a fixed-address kernel);
#   - a v1 kernel's real limit (Cmdsize: 127 arguments, 128 variables) is a one-line error,
#     and counts only what Cmdval carries (the application's words);
#   - a kernel panic on a bad kernel argument is the guest's, reported as one (status 83).
# Usage: kargs.sh VMM GUEST_DIR.  Skips (77) without /dev/kvm.
set -u
vmm=$(realpath "$1") guests=$(realpath "$2")
{ [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; } || { echo "SKIP: /dev/kvm is not usable"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail=0
cd "$guests" || exit 99

# check LABEL WANT_STATUS [VMM-ARGS...]; expected stdout in $T/want, stderr in $T/want-err
# (missing: must be empty)
check() {
	local label=$1 want=$2 st
	shift 2
	timeout -s KILL 120 "$vmm" "$@" >"$T/out" 2>"$T/err" </dev/null
	st=$?
	[ "$st" = "$want" ] || { echo "FAIL: $label: status $st, expected $want"; fail=1; }
	cmp -s "$T/out" "$T/want" || {
		echo "FAIL: $label: stdout differs"
		diff "$T/want" "$T/out" | cut -c1-200 | head -20
		fail=1
	}
	[ -f "$T/want-err" ] || : >"$T/want-err"
	cmp -s "$T/err" "$T/want-err" || {
		echo "FAIL: $label: stderr: $(head -c 400 "$T/err")"
		fail=1
	}
	rm -f "$T/want-err"
}

# 1. the split, for a v2 kernel and for a v1 kernel that reads the FDT
for g in kargs-v2 kargs; do
	cat >"$T/want" <<-'EOF'
		freq=2000
		env HERMIT_IP=10.0.5.3
		env HERMIT_GATEWAY=10.0.5.1
		env HERMIT_MASK=255.255.255.0
		env UHYVE_MOUNT=/data
		image_path=app
		error could not parse bootarg: extra
		env FOO=x y
		env Q=it's #1
		arg=a
		arg=b c
		arg=--
		arg=-x
		argc=5
	EOF
	check "split $g" 0 -e 'FOO=x y' --env "Q=it's #1" "./$g" -- -freq 2000 -ip 10.0.5.3 \
		-gateway 10.0.5.1 -mask 255.255.255.0 -mount /data app extra -- a 'b c' -- -x
done

# 2. without '--' every word is the kernel's (uhyve's behaviour): the application gets none
printf 'image_path=one\nerror could not parse bootarg: two words\nargc=1\n' >"$T/want"
check "no separator" 0 ./kargs-v2 one 'two words'
# ...and only application words: nothing for the kernel
printf 'arg=-ip\narg=x\nargc=3\n' >"$T/want"
check "application only" 0 ./kargs-v2 -- -- -ip x

# 3. kernel 0.6.x (Cmdval): the application's words; every word without a '--'
printf 'argc=3\nargv[0]=./args\nargv[1]=a\nargv[2]=b c\n' >"$T/want"
check "cmdval split" 0 ./args -- -freq 2000 -- a 'b c'
check "cmdval all" 0 ./args a 'b c'

# 4. no fixed cap: 300 variables (11 KB) and a 20,000-byte argument (60,000 bytes where the
# guest does not parse them: guest code is slow on an emulating KVM)
big=$(head -c 20000 /dev/zero | tr '\0' 'z')
big3=$big$big$big
envs=()
for i in $(seq 300); do envs+=(-e "VARIABLE_NUMBER_$i=value of variable $i"); done
{
	for i in $(seq 300); do echo "env VARIABLE_NUMBER_$i=value of variable $i"; done
	echo "arg=$big"
	echo "argc=2"
} >"$T/want"
check "big v2" 0 "${envs[@]}" ./kargs-v2 -- -- "$big"
# a v1 kernel that reads the FDT (its Cmdsize would take 128 variables: these use bootargs)
{
	echo "arg=$big"
	echo "argc=2"
} >"$T/want"
check "big v1" 0 ./kargs -- -- "$big"
# kernel 0.6.x gets the same argument through Cmdval, and a fixed-address kernel is fine
printf 'argc=2\nargv[0]=./args\nargv[1]=%s\n' "$big3" >"$T/want"
check "big v1 cmdval" 0 ./args -- -- "$big3"
printf 'Hello from uhyve-sec!\n' >"$T/want"
check "big fixed-address" 0 ./hello-exec -- -- "$big3" "$big3"
# a real Hermit 0.6.9 kernel (when UHYVE_SEC_COMPAT_DIR has the samples) boots moved up by
# 2 MiB for a tree below it, and a fixed-address one with the tree under its image
if [ -n "${UHYVE_SEC_COMPAT_DIR:-}" ] && [ -f "$UHYVE_SEC_COMPAT_DIR/hello_world" ]; then
	for k in hello_world hello_c; do
		"$vmm" -e "BIG=$big" "$UHYVE_SEC_COMPAT_DIR/$k" -- -- "$big3" >"$T/out" 2>"$T/err"
		st=$?
		{ [ $st = 0 ] && grep -q '^Hello,* [wW]orld!' "$T/out" && [ ! -s "$T/err" ]; } ||
			{ echo "FAIL: real $k with a big tree: status $st: $(head -c 300 "$T/err")"; fail=1; }
	done
fi
# (RAM is then the only limit: tests/unit/test_layout.c fdt_room shows the refusal)

# 5. a v1 kernel's real limit: Cmdsize's 128 entries, counted on what Cmdval carries
many=()
for i in $(seq 128); do many+=("w$i"); done
: >"$T/want"
printf 'uhyve-sec: a uhyve interface v1 kernel takes at most 127 arguments and 128 environment variables (Cmdsize); 128 and 0 given\n' >"$T/want-err"
check "v1 128 arguments" 64 ./args -- -- "${many[@]}"
{
	echo "argc=128"
	echo "argv[0]=./args"
	for i in $(seq 127); do echo "argv[$i]=w$i"; done
} >"$T/want"
check "v1 127 arguments" 0 ./args -- -- "${many[@]:0:127}"
# kernel words do not count for Cmdval
printf 'argc=2\nargv[0]=./args\nargv[1]=a\n' >"$T/want"
check "v1 kernel words" 0 ./args -- "${many[@]}" "${many[@]}" -- a
# a v2 kernel has no such limit
{
	for w in "${many[@]}" "${many[@]}" "${many[@]:0:44}"; do echo "arg=$w"; done
	echo "argc=301"
} >"$T/want"
check "v2 300 arguments" 0 ./kargs-v2 -- -- "${many[@]}" "${many[@]}" "${many[@]:0:44}"

# 6. a bad kernel argument panics the kernel: its panic (on the console), status 83
printf "[0][PANIC] panicked at src/env/mod.rs:1:1:\nrequires a value but none was supplied: the argument '-freq'\n" >"$T/want"
printf 'uhyve-sec: guest panicked (guest exit code 1)\n' >"$T/want-err"
check "freq without value" 83 ./kargs-v2 -- -freq

[ $fail = 0 ] && echo "ok: kernel arguments as uhyve splits them, no fixed cap, v1's limit"
exit $fail
