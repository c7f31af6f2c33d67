#!/bin/bash
# SPDX-License-Identifier: MIT
# ram-opts.sh - uhyve's --thp and --ksm (vmm/ram_opts.c): with the instruction assist off,
# guest RAM is private memory advised MADV_HUGEPAGE ("hg" in the mapping's VmFlags in
# /proc/PID/smaps) or MADV_MERGEABLE ("mg"); with the assist on, --ksm is refused and --thp
# works only where the host gives shared memory huge pages (shmem_enabled), else it is refused:
# never advice that silently does nothing.
# Usage: ram-opts.sh VMM GUEST_DIR.  Skips (77) without /dev/kvm.
set -u
vmm=$1 guests=$2
{ [ -c /dev/kvm ] && [ -w /dev/kvm ]; } || { echo "SKIP: /dev/kvm is not usable"; exit 77; }
T=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
fail=0
choice() { sed -E 's/.*\[([a-z_]+)\].*/\1/' "/sys/kernel/mm/transparent_hugepage/$1" 2>/dev/null; }

# The VmFlags of the 96 MiB guest RAM mapping of a running spin guest started with OPTIONS.
ram_flags() { # OPTIONS...
	local out=$T/out.$RANDOM
	"$vmm" -m 96M "$@" "$guests/spin" >"$out" 2>"$T/err" </dev/null &
	pid=$!
	for _ in $(seq 1 200); do
		[ -s "$out" ] && break
		sleep 0.05
	done
	local line big=0 r
	while IFS= read -r line; do
		if [[ $line =~ ^([0-9a-f]+)-([0-9a-f]+)\  ]]; then
			r=("${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}")
			big=$(((16#${r[1]} - 16#${r[0]}) == 96 * 1048576))
		elif [ "$big" = 1 ] && [[ $line == VmFlags:* ]]; then
			echo "$line"
			break
		fi
	done <"/proc/$pid/smaps"
	kill -TERM "$pid"
	wait "$pid"
	pid=""
}

check_flag() { # LABEL FLAG(hg|mg|none) OPTIONS...
	local label=$1 flag=$2 f
	shift 2
	f=$(ram_flags "$@")
	if [ -z "$f" ]; then
		echo "FAIL: $label: no 96 MiB mapping found"
		fail=1
	elif [ "$flag" = none ] && grep -qwE 'hg|mg' <<<"$f"; then
		echo "FAIL: $label: guest RAM is advised without --thp or --ksm: $f"
		fail=1
	elif [ "$flag" != none ] && ! grep -qw "$flag" <<<"$f"; then
		echo "FAIL: $label: guest RAM lacks '$flag': $f"
		fail=1
	fi
}

check_error() { # LABEL WANT-STDERR OPTIONS...
	local label=$1 want=$2 err st
	shift 2
	err=$("$vmm" "$@" "$guests/hello" 2>&1 >/dev/null </dev/null)
	st=$?
	# shellcheck disable=SC2053
	if [ "$st" != 64 ] || [[ $err != $want ]]; then
		echo "FAIL: $label: status $st, stderr '$err'; expected 64 and '$want'"
		fail=1
	fi
}

if [ "$(choice enabled)" != never ]; then
	check_flag thp-private hg --thp --assist=off
fi
check_flag ksm-private mg --ksm --assist=off
check_flag plain none --assist=off
check_flag plain-shared none
if "$vmm" --version | grep -qF "instruction assist: built in"; then
	check_error ksm-shared "uhyve-sec: --ksm needs --assist=off: KSM never merges shared memory, and guest RAM is shared with the instruction assist" --ksm
	case "$(choice shmem_enabled)" in
	never | deny) check_error thp-shared "uhyve-sec: --thp: this host gives shared memory no transparent huge pages (*shmem_enabled is '*'); --assist=off lets guest RAM be private memory" --thp ;;
	*) check_flag thp-shared hg --thp ;;
	esac
fi
[ $fail = 0 ] && echo "ok: --thp and --ksm advise guest RAM or are refused with the reason"
exit $fail
