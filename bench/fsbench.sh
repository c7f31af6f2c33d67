#!/bin/bash
# SPDX-License-Identifier: MIT
# fsbench.sh - file hypercall benchmark (issue 3, issue 14 item 6): broker open+close latency
# and file read/write throughput seen by the guest, each against a floor measured in the same
# run.
#
# Usage: [VMM_ARGS=...] fsbench.sh UHYVE_SEC FSBENCH_GUEST FSFLOOR [N] [ROUNDS]
# Floors (see bench/README.md):
#   open+close  1 VM exit + one same-CPU socketpair round trip with openat2 + SCM_RIGHTS
#               (the issue's floor), and 2 exits + that round trip (what open plus close
#               must cost at least: close is a hypercall of its own)
#   read/write  the same hypercall (read or write) with a buffer of the same size on fd 0
#               (exit + buffer validation, EBADF, no data moved), timed by the guest
#               alternately with the real call through the same guest function (the guest's
#               own instructions run in KVM's emulator here, about 1 us each, so the floor
#               must run exactly the same ones) + native pread/pwrite of the same size
#               (fsfloor, a hot loop); fsfloor's cold-TLB pread/pwrite is printed for
#               information
# The host is shared and noisy: the run is ROUNDS (default 5) rounds of fsfloor then the guest,
# N/ROUNDS calls each; every ratio is computed within its round, and the medians over the
# rounds are reported (times too).  The guest and the broker run on one host CPU
# (--affinity), like the floor.
set -euo pipefail
vmm=$1 guest=$2 floor=$3 n=${4:-2000} rounds=${5:-5}
cpu=${BENCH_CPU:-$(( $(nproc) - 1 ))}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
head -c $((2 << 20)) /dev/urandom >"$dir/big"
echo small >"$dir/small"
cat "$dir/big" >/dev/null
nr=$(( n / rounds > 100 ? n / rounds : 100 ))
big=$(( nr / 8 > 25 ? nr / 8 : 25 ))
keys="noop.4096 openclose.0 pread.4096 pread.1048576 pwrite.4096 pwrite.1048576"
keys="$keys floor-pread.4096 floor-pread.1048576 floor-pwrite.4096 floor-pwrite.1048576"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
# one value per line per name in $dir/v.NAME
record() { echo "$2" >>"$dir/v.$1"; }
for r in $(seq 1 "$rounds"); do
	declare -A f=() g=()
	while IFS='=' read -r k v; do f[$k]=$v; done < <("$floor" "$dir" "$cpu" "$nr")
	# shellcheck disable=SC2086 # VMM_ARGS: extra options, e.g. --sandbox=off for a comparison
	while read -r what bs _ med _; do
		g["$what.${bs#bs=}"]=${med#median_ns=}
	done < <("$vmm" ${VMM_ARGS:-} --affinity "$cpu" -m 128M --mount "$dir:/b" "$guest" \
		noop:4096:"$nr" openclose:/b/small:"$nr" \
		pread:/b/big:4096:"$nr" pread:/b/big:1048576:"$big" \
		pwrite:/b/out:4096:"$nr" pwrite:/b/out:1048576:"$big")
	for k in $keys; do
		[ -n "${g[$k]:-}" ] || { echo "fsbench: the guest did not report $k"; exit 3; }
		record "$k" "${g[$k]}"
	done
	record rtt "${f[rtt]}"
	record openclose_1exit "$(ratio "${g[openclose.0]}" $((g[noop.4096] + f[rtt])))"
	record openclose_2exits "$(ratio "${g[openclose.0]}" $((2 * g[noop.4096] + f[rtt])))"
	for op in read write; do
		for bs in 4096 1048576; do
			record "native.$op.$bs" "${f[p${op}_$bs]}"
			record "cold.$op.$bs" "${f[cold_p${op}_$bs]}"
			# throughput ratio = floor time / measured time (1.0 = as fast as the floor)
			record "ratio.$op.$bs" \
				"$(ratio $((g[floor-p$op.$bs] + f[p${op}_$bs])) "${g[p$op.$bs]}")"
		done
	done
	echo "round $r: read 4 KiB $(tail -1 "$dir/v.ratio.read.4096"), 1 MiB $(tail -1 \
		"$dir/v.ratio.read.1048576"); write 4 KiB $(tail -1 "$dir/v.ratio.write.4096"), 1 MiB \
$(tail -1 "$dir/v.ratio.write.1048576")"
	unset f g
done
med() { sort -g "$dir/v.$1" | awk '{a[NR] = $1} END { print a[int((NR + 1) / 2)] }'; }
us() { awk -v x="$(med "$1")" 'BEGIN { printf "%.1f us", x / 1000 }'; }
echo "file benchmark: medians over $rounds rounds of $nr calls (1 MiB: $big), guest-measured"
echo "(RDTSC) unless noted; host CPU $cpu"
printf '  %-34s %10s\n' "VM exit (no-op hypercall)" "$(us noop.4096)"
printf '  %-34s %10s\n' "broker round trip (host floor)" "$(us rtt)"
printf '  %-34s %10s   ratio to 1 exit+rtt %s;  to 2 exits+rtt %s\n' "open+close" \
	"$(us openclose.0)" "$(med openclose_1exit)" "$(med openclose_2exits)"
for op in read write; do
	for bs in 4096 1048576; do
		printf '  %-34s %10s   floor exit %s + native %s: throughput ratio %s;  native cold TLB %s\n' \
			"$op $bs B" "$(us "p$op.$bs")" "$(us "floor-p$op.$bs")" "$(us "native.$op.$bs")" \
			"$(med "ratio.$op.$bs")" "$(us "cold.$op.$bs")"
	done
done
echo "RESULT openclose_ratio_1exit=$(med openclose_1exit) openclose_ratio_2exits=$(med openclose_2exits)"
for op in read write; do
	for bs in 4096 1048576; do
		echo "RESULT ${op}_${bs}_ratio=$(med "ratio.$op.$bs") (rounds: $(tr '\n' ' ' <"$dir/v.ratio.$op.$bs" | sed 's/ $//'))"
	done
done
