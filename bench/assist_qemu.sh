# SPDX-License-Identifier: MIT
# assist_qemu.sh - sourced by bench/assist.sh (its variables: vmm, guests, compat, tmp, hogs,
# qemu_runs, sleeps, hog_runs): uhyve-sec against QEMU TCG with the public Hermit loader, and
# timer latency under a CPU hog (issue 14).  Nothing here is downloaded: the loader comes from
# $HERMIT_LOADER or the local bare mirror of stlankes/hermit-wasm, into $tmp only.

# The loader's path, or nothing (with a notice on stderr).
find_loader() {
	local mirror=${HERMIT_WASM_MIRROR:-/work/.mirror/stlankes+hermit-wasm/repo}

	if [ -n "${HERMIT_LOADER:-}" ] && [ -f "$HERMIT_LOADER" ]; then
		echo "$HERMIT_LOADER"
	elif [ -d "$mirror" ] &&
		git --git-dir="$mirror" show HEAD:hermit-loader-x86_64 >"$tmp/hermit-loader" 2>/dev/null; then
		echo "$tmp/hermit-loader"
	else
		echo "notice: no Hermit loader (HERMIT_LOADER, or hermit-loader-x86_64 in $mirror): QEMU comparison skipped" >&2
	fi
}

# KERNEL CPUS: one QEMU TCG run; status 0 when the guest exited 0 (isa-debug-exit: 2 * code + 1)
qemu_run() {
	qemu-system-x86_64 -accel tcg -cpu max -smp "$2" -m 512M -display none -serial stdio \
		-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
		-kernel "$loader" -initrd "$1" </dev/null >/dev/null 2>&1
	[ $? = 3 ]
}

# NAME CPUS KERNEL [uhyve-sec options...]: alternating runs, medians and ratio
versus() {
	local name=$1 cpus=$2 kernel=$3 t0 t1 mu mq su="" sq=""
	shift 3
	: >"$tmp/tu"
	: >"$tmp/tq"
	for _ in $(seq 1 "$qemu_runs"); do
		t0=$(now)
		"$vmm" -c "$cpus" "$@" "$kernel" </dev/null >/dev/null 2>&1
		su="$su $?"
		t1=$(now)
		echo $((t1 - t0)) >>"$tmp/tu"
		t0=$(now)
		qemu_run "$kernel" "$cpus"
		sq="$sq $?"
		t1=$(now)
		echo $((t1 - t0)) >>"$tmp/tq"
	done
	read -r mu _ <<<"$(summary <"$tmp/tu")"
	read -r mq _ <<<"$(summary <"$tmp/tq")"
	printf "%-12s %5s %5s %10s %10s %7s  status uhyve-sec%s, qemu%s\n" "$name" "$cpus" \
		"$qemu_runs" "$mu" "$mq" "$(awk -v u="$mu" -v q="$mq" 'BEGIN {printf "%.2f", u / q}')" \
		"$su" "$sq"
}

qemu_compare() {
	local pie
	echo
	if ! command -v qemu-system-x86_64 >/dev/null; then
		echo "notice: qemu-system-x86_64 not installed: QEMU comparison skipped"
		return
	fi
	loader=$(find_loader)
	[ -n "$loader" ] || return
	echo "against QEMU TCG (alternating runs; qemu status 0 = guest exit 0):"
	printf "%-12s %5s %5s %10s %10s %7s\n" sample vCPUs runs "uhyve-sec" "qemu" ratio
	for cpus in 1 2; do
		pie=(--assist=auto) # JIT mode here (a KVM without VMX/SVM), with either count
		[ "$cpus" = 1 ] || pie=(--no-aslr)
		for s in hello_world hello_c rusty_demo; do
			[ -f "$compat/$s" ] && versus "$s" "$cpus" "$compat/$s" "${pie[@]}"
		done
	done
	# two vCPUs in exits mode (--assist=exits; auto's choice where the host has VMX/SVM)
	[ -f "$compat/rusty_demo" ] &&
		versus "rusty_demo:exits" 2 "$compat/rusty_demo" --no-aslr --assist=exits
}

start_hog() {
	for cpu in $(seq 0 $(($(nproc) - 1))); do
		taskset -c "$cpu" sh -c 'while :; do :; done' &
		hogs+=($!)
	done
}

stop_hog() {
	for h in "${hogs[@]}"; do
		kill "$h" 2>/dev/null
		wait "$h" 2>/dev/null
	done
	hogs=()
}

sleep_latency() {
	local st pass=0
	echo
	echo "timer latency under a CPU hog on each of the $(nproc) host CPUs:"
	start_hog
	for mode in auto exits; do
		printf "  sleeplat --assist=%-5s " "$mode"
		"$vmm" --assist=$mode "$guests/sleeplat" "$sleeps" 100 </dev/null 2>&1 | head -1
	done
	if [ -n "$compat" ] && [ -f "$compat/rusty_demo" ] && [ "$hog_runs" -gt 0 ]; then
		for _ in $(seq 1 "$hog_runs"); do
			"$vmm" -c 2 --no-aslr "$compat/rusty_demo" </dev/null >"$tmp/rd" 2>&1
			st=$?
			[ $st = 0 ] && pass=$((pass + 1))
			grep -h 'Measured time for 100ms' "$tmp/rd" | sed "s/^/  rusty_demo -c 2 (status $st): /"
		done
		echo "  rusty_demo -c 2 under the hog: $pass of $hog_runs runs exit 0"
	fi
	stop_hog
}
