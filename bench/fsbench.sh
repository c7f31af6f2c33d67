#!/bin/bash
# SPDX-License-Identifier: MIT
# fsbench.sh - file hypercall benchmark (issue 3): broker open+close latency and file
# read/write throughput seen by the guest, each against a floor measured in the same run.
#
# Usage: [VMM_ARGS=...] fsbench.sh UHYVE_SEC FSBENCH_GUEST FSFLOOR [N]
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
# The guest and the broker run on one host CPU (--affinity), like the floor.
set -euo pipefail
vmm=$1 guest=$2 floor=$3 n=${4:-2000}
cpu=${BENCH_CPU:-$(( $(nproc) - 1 ))}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
head -c $((2 << 20)) /dev/urandom >"$dir/big"
echo small >"$dir/small"
cat "$dir/big" >/dev/null
big=$(( n / 8 > 50 ? n / 8 : 50 ))
declare -A f g
while IFS='=' read -r k v; do f[$k]=$v; done < <("$floor" "$dir" "$cpu" "$n")
# shellcheck disable=SC2086 # VMM_ARGS: extra options, e.g. --sandbox=off for a comparison
while read -r what bs _ med _; do
	g["$what.${bs#bs=}"]=${med#median_ns=}
done < <("$vmm" ${VMM_ARGS:-} --affinity "$cpu" -m 128M --mount "$dir:/b" "$guest" \
	noop:4096:"$n" noop:1048576:"$big" openclose:/b/small:"$n" \
	pread:/b/big:4096:"$n" pread:/b/big:1048576:"$big" \
	pwrite:/b/out:4096:"$n" pwrite:/b/out:1048576:"$big")
for k in noop.4096 noop.1048576 openclose.0 pread.4096 pread.1048576 pwrite.4096 pwrite.1048576 \
	floor-pread.4096 floor-pread.1048576 floor-pwrite.4096 floor-pwrite.1048576; do
	[ -n "${g[$k]:-}" ] || { echo "fsbench: the guest did not report $k"; exit 3; }
done
us() { awk -v x="$1" 'BEGIN { printf "%.1f", x / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo "file benchmark: medians, guest-measured (RDTSC) unless noted; host CPU $cpu, n=$n"
printf '  %-34s %10s\n' "VM exit (no-op hypercall)" "$(us "${g[noop.4096]}") us"
printf '  %-34s %10s\n' "broker round trip (host floor)" "$(us "${f[rtt]}") us"
oc=${g[openclose.0]}
fl1=$(( g[noop.4096] + f[rtt] ))
fl2=$(( 2 * g[noop.4096] + f[rtt] ))
printf '  %-34s %10s   floor 1 exit+rtt %s us: ratio %s;  floor 2 exits+rtt %s us: ratio %s\n' \
	"open+close" "$(us "$oc") us" "$(us $fl1)" "$(ratio "$oc" $fl1)" "$(us $fl2)" "$(ratio "$oc" $fl2)"
for op in read write; do
	for bs in 4096 1048576; do
		nat=${f[p${op}_$bs]} cold=${f[cold_p${op}_$bs]}
		t=${g[p$op.$bs]} ex=${g[floor-p$op.$bs]}
		fl=$(( ex + nat ))
		# throughput ratio = floor time / measured time (1.0 = as fast as the floor)
		printf '  %-34s %10s   floor exit %s + native %s us: throughput ratio %s;  native cold TLB %s us\n' \
			"$op $bs B" "$(us "$t") us" "$(us "$ex")" "$(us "$nat")" "$(ratio $fl "$t")" "$(us "$cold")"
		echo "RESULT ${op}_${bs}_ratio=$(ratio $fl "$t")" >>"$dir/results"
	done
done
echo "RESULT openclose_ratio_1exit=$(ratio "$oc" $fl1) openclose_ratio_2exits=$(ratio "$oc" $fl2)"
cat "$dir/results"
