#!/bin/bash
# SPDX-License-Identifier: MIT
# config.sh - uhyve.toml (launcher/config.c): every key uhyve reads takes effect, each refused
# key and bad file is a one-line FILE:LINE:COLUMN error with status 78, the file is found in
# uhyve's order (--config, HERMIT_CONFIG, ./uhyve.toml, $XDG_CONFIG_HOME/uhyve/uhyve.toml;
# never ~/.config) and sits under the command line and the HERMIT_* environment.
#
# Usage: config.sh VMM GUEST_DIR.  Each case writes its own uhyve.toml in a fresh directory,
# runs there and compares the status, and stdout/stderr with patterns ('*' only).  Skips (77)
# without /dev/kvm.
set -u
vmm=$(realpath "$1") guests=$(realpath "$2")
{ [ -c /dev/kvm ] && [ -w /dev/kvm ]; } || { echo "SKIP: /dev/kvm is not usable"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fails=0 n=0
assist=0
"$vmm" --version | grep -qF "instruction assist: built in" && assist=1

# toml TEXT: the uhyve.toml of the next case, in a fresh working directory $D.
toml() {
	n=$((n + 1))
	D=$T/c$n
	mkdir -p "$D"
	printf '%s\n' "$1" >"$D/uhyve.toml"
}

# run LABEL STATUS [VAR=VALUE...] -- ARGS...: runs in $D with an environment of exactly
# the variables given (plus PATH); @guest = a test guest.
run() {
	local label=$1 want=$2 a
	local -a envs=(PATH="$PATH") args=()
	shift 2
	while [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	for a in "$@"; do
		case "$a" in @*) args+=("$guests/${a#@}") ;; *) args+=("$a") ;; esac
	done
	(cd "$D" && exec env -i "${envs[@]}" timeout -s KILL 60 "$vmm" "${args[@]}") \
		>"$T/out" 2>"$T/err" </dev/null
	st=$?
	L=$label
	[ "$st" = "$want" ] || bad "exit status $st, expected $want"
}

bad() {
	echo "FAIL: $L: $*"
	echo "    stdout: $(head -c 600 "$T/out" | tr '\n' '|')"
	echo "    stderr: $(head -c 600 "$T/err" | tr '\n' '|')"
	fails=$((fails + 1))
}

# The pattern with every glob character but '*' escaped.
pat() {
	local p=${1//\\/\\\\}
	p=${p//\[/\\[}
	p=${p//\]/\\]}
	printf '%s' "${p//\?/\\?}"
}

# has FILE PATTERN: some line of stdout/stderr matches PATTERN ('*' wildcard only)
has() {
	local f=$T/$1 p line
	p=$(pat "$2")
	while IFS= read -r line; do
		# shellcheck disable=SC2053
		[[ $line == $p ]] && return 0
	done <"$f"
	bad "no $1 line matching '$p'"
}

# err_is LINE: stderr is exactly this one line (a pattern, '*' only)
err_is() {
	# shellcheck disable=SC2053
	[ "$(wc -l <"$T/err")" = 1 ] && [[ "$(cat "$T/err")" == $(pat "$1") ]] ||
		bad "stderr is not '$1'"
}
quiet() { [ ! -s "$T/err" ] || bad "stderr is not empty"; }

# ---- every key takes effect ----
toml $'[memory]\nmemory_size = "96M"\n[cpu]\ncpu_count = 3'
run mem-cpus 0 -- --no-aslr @bootinfo
has out "num_cpus=3" && has out "ram=0x0-0x6000000" && quiet

toml $'[memory]\nno_aslr = true'
run no-aslr 0 -- @bootinfo
has out "ram=0x0-0x4000000" && has out "image=0x40000-0x*" && quiet

toml $'[uhyve]\nstats = true'
run stats 0 -- @hello
has err "uhyve-sec stats:" && has out "Hello from uhyve-sec!"

toml $'[uhyve]\noutput = "console.txt"'
run output-file 0 -- @hello-serial
[ ! -s "$T/out" ] || bad "stdout not empty with output = file"
[ "$(cat "$D/console.txt" 2>/dev/null)" = $'serial ok\nbuffer ok' ] || bad "console.txt: '$(cat "$D/console.txt" 2>/dev/null)'"

toml $'[uhyve]\noutput = "None"'
run output-none 0 -- @hello
[ ! -s "$T/out" ] && quiet || bad "output = None printed something"

toml $'[guest]\nenv_vars = ["A=file", "B=file"]'
run env 0 -- -e A=cli @args
has out "env[0]=A=cli" && has out "env[1]=B=file" && quiet

toml $'[cpu]\npit = true'
run pit 0 -- @pio pit
has out "pit ok"
toml $'[cpu]\npit = false'
run pit-false 76 -- @pio pit

toml $'[cpu]\ncpu_pm = true\naffinity = "0"'
run cpu-pm-affinity 0 -- @hello
has out "Hello from uhyve-sec!" && quiet

toml $'[cpu]\naffinity = [4095]'
run affinity-bad 78 -- @hello
err_is "uhyve-sec: $D/uhyve.toml:2:12: cpu.affinity: host CPU 4095 is not one this process may run on"

toml $'[memory]\nksm = true\nthp = false'
run ksm-off 0 -- --assist=off @hello
has out "Hello from uhyve-sec!"
if [ $assist = 1 ]; then
	run ksm-assist 64 -- @hello
	err_is "uhyve-sec: --ksm needs --assist=off: *"
fi

toml $'[uhyve]\nfile_isolation = "none"\nio_mode = "host=sync"\nhermit_image_mode = "internal"'
run isolation-io-image 0 -- @hello
has out "Hello from uhyve-sec!" && quiet

toml $'[uhyve]\ntempdir = "no-such-dir"'
run tempdir-unused 0 -- @hello # the file only says where a scratch directory would go
printf '{"version": 1, "scratch": true}\n' >"$D/scratch.json"
run tempdir-used 64 -- --policy scratch.json @hello
err_is "uhyve-sec: tempdir 'no-such-dir': not a directory"

# ---- precedence: command line, then HERMIT_*, then the file ----
toml $'[memory]\nmemory_size = "96M"\n[cpu]\ncpu_count = 3'
run cli-wins 0 -- -m 32M -c 2 --no-aslr @bootinfo
has out "num_cpus=2" && has out "ram=0x0-0x2000000"
run env-wins 0 HERMIT_MEMORY_SIZE=48M HERMIT_CPU_COUNT=2 -- --no-aslr @bootinfo
has out "num_cpus=2" && has out "ram=0x0-0x3000000"

# ---- refusals: one line, FILE:LINE:COLUMN, status 78 ----
toml $'[uhyve]\ngdb_port = 0'
run gdb 78 -- @hello
err_is "uhyve-sec: $D/uhyve.toml:2:12: uhyve.gdb_port*"
toml $'[uhyve]\nfile_mapping = ["a:/a"]'
run file-mapping 78 -- @hello
err_is "uhyve-sec: $D/uhyve.toml:2:*: uhyve.file_mapping: file mappings are never taken from a configuration file*"
toml $'[guest]\nenv_vars = ["host"]'
run env-host 78 -- @hello
err_is "uhyve-sec: $D/uhyve.toml:2:*: guest.env_vars*host*"
toml $'[memory]\nmemory_size = "33M"'
run mem-odd 78 -- @hello
err_is "uhyve-sec: $D/uhyve.toml:2:15: memory.memory_size: guest memory must be a multiple of 2 MiB (is 33 MiB)"
toml $'[cpu]\ncpu_count = 300'
run cpus-many 78 -- @hello
err_is "uhyve-sec: $D/uhyve.toml:2:13: cpu.cpu_count: 300 vCPUs requested; uhyve-sec runs 1 to 256"
toml $'[uhyve]\nverbose = true'
run unknown 78 -- @hello
err_is "uhyve-sec: $D/uhyve.toml:2:1: *verbose*"
toml $'[memory\nmemory_size = "64M"'
run bad-toml 78 -- @hello
err_is "uhyve-sec: $D/uhyve.toml:*:*: *"

# ---- lookup order ----
toml $'[cpu]\ncpu_count = 2'
mkdir -p "$D/xdg/uhyve" "$D/home/.config/uhyve" "$D/sub"
printf '[cpu]\ncpu_count = 3\n' >"$D/xdg/uhyve/uhyve.toml"
printf '[cpu]\ncpu_count = 4\n' >"$D/named.toml"
printf '[cpu]\ncpu_count = 5\n' >"$D/env.toml"
printf 'not toml at all [\n' >"$D/home/.config/uhyve/uhyve.toml"
run cwd 0 XDG_CONFIG_HOME="$D/xdg" -- --no-aslr @bootinfo
has out "num_cpus=2"
run config-beats-env 0 HERMIT_CONFIG=env.toml -- --config named.toml --no-aslr @bootinfo
has out "num_cpus=4"
run env-beats-cwd 0 HERMIT_CONFIG=env.toml -- --no-aslr @bootinfo
has out "num_cpus=5"
D=$D/sub # no ./uhyve.toml here
run xdg 0 XDG_CONFIG_HOME="$(dirname "$D")/xdg" HOME="$(dirname "$D")/home" -- --no-aslr @bootinfo
has out "num_cpus=3"
run no-home-fallback 0 HOME="$(dirname "$D")/home" -- --no-aslr @bootinfo
has out "num_cpus=1" && quiet
run xdg-empty 0 XDG_CONFIG_HOME= HOME="$(dirname "$D")/home" -- @hello
quiet
run config-missing 78 -- --config nothere.toml @hello
err_is "uhyve-sec: nothere.toml: *"
run env-empty 78 HERMIT_CONFIG= -- @hello
err_is "uhyve-sec: *HERMIT_CONFIG*"

[ $fails = 0 ] && echo "ok: uhyve.toml: $n files, every key, refusals, precedence and lookup order"
exit $((fails > 0))
