#!/bin/bash
# SPDX-License-Identifier: MIT
# lib.sh - shared set-up of the oci tests (sourced by run-podman.sh, run-ctr.sh, run-direct.sh,
# bench/oci.sh).  Every test gets its own temporary directory T holding everything it
# creates: podman's storage, configuration, lock files and temporary files, the runtime's
# state (--root), containerd's root, state and socket.  Nothing uses the machine's default
# storage, socket or /run/uhyve-sec-oci.
#
# The runtime's own root: podman 4.3 hands --runtime-flag values to the commands it runs, but
# not to its cleanup process (the "exit command" conmon starts), whose `delete` would then
# look in the default root; and it gives runtimes no environment but PATH.  So podman gets
# T/bin/uhyve-sec-oci, a two-line script that execs the build's uhyve-sec-oci with
# --root T/oci-root (its name stays uhyve-sec-oci, the name containers.conf lists; the
# runtime finds uhyve-sec next to its real binary through /proc/self/exe).
#
# Quirks of the CI machine (Debian 12, podman 4.3.1, conmon 2.1.6, containerd 1.6.20, hybrid
# cgroup v1 + v2 hierarchy, no systemd, no journald) and the settings they need:
#   cgroup_manager = "cgroupfs"   no systemd to ask for scopes
#   events_logger = "file"        no journald
#   lock_type = "file", tmp_dir   podman's locks and runtime files in T, not /dev/shm, /run
#   no static_dir                 podman's cleanup ("exit command") derives it from --root;
#                                 a separate static_dir makes it look in the wrong database
#   conmon_env_vars               carry CONTAINERS_CONF and CONTAINERS_STORAGE_CONF to the
#                                 exit command conmon runs, else it loads the machine's
#                                 configuration, fails, and podman run --rm waits 20 s for it
#   default_ulimits = []          podman asks for RLIMIT_NOFILE 1048576 for root, above this
#                                 machine's hard limit of 20000; without CAP_SYS_RESOURCE every
#                                 runtime (runc too) fails with "operation not permitted"
#   runtime_supports_json, _kvm, _nocgroup ("nocgroup", singular, is what podman 4.3 reads)
#                                 list uhyve-sec-oci (the runtime's basename)
#   --network none                the default (netns = "none"); the network tests
#                                 (run-net.sh) name their own CNI network, whose configuration
#                                 is in T (network_config_dir) like everything else
#   crun                          fails on this hybrid hierarchy even with --cgroups=disabled:
#                                 the runc floor of the benchmark names runc explicitly
#   podman -v SRC:DST             cannot take a ':' in SRC: tests use --mount type=bind,...
set -u
OCI_RT=${OCI_RT:-}
oci_skip() { echo "SKIP: $*"; exit 77; }
oci_need_kvm() {
	[ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ] || oci_skip "/dev/kvm is not usable"
}
oci_tmp() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/uhs-oci.XXXXXX")
	trap oci_cleanup EXIT
	mkdir -p "$T/bin"
	printf '#!/bin/sh\nexec %s --root %s "$@"\n' "$OCI_RT" "$T/oci-root" >"$T/bin/uhyve-sec-oci"
	chmod +x "$T/bin/uhyve-sec-oci"
	OCI_RT_REAL=$OCI_RT
	OCI_RT=$T/bin/uhyve-sec-oci
}
oci_cleanup() {
	local rc=$?
	[ -n "${OCI_EXTRA_CLEANUP:-}" ] && eval "$OCI_EXTRA_CLEANUP"
	if [ -n "${CONTAINERS_CONF:-}" ] && [ -f "$T/containers.conf" ]; then
		podman rm -af -t 0 >/dev/null 2>&1
		podman rmi -af >/dev/null 2>&1
		podman system reset -f >/dev/null 2>&1
	fi
	# whatever mount containers/storage left in T, deepest first
	awk -v t="$T" 'index($5, t) == 1 {print $5}' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	rm -rf "$T"
	# podman's cgroupfs parents, if empty (another test may still use them)
	for c in /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/*/libpod_parent/conmon; do
		[ -d "$c" ] && rmdir "$c/conmon" "$c" 2>/dev/null
	done
	exit $rc
}
# The image: a rootfs with the test guests (Hermit-shaped kernels) and a static Linux program;
# OCI_EXTRA_GUESTS names more guests (the network tests' net-echo).
oci_rootfs() { # DIR GUEST_DIR LINUX_HELLO
	mkdir -p "$1"
	for g in hello args exitcode spin fsops-v2 demo panic ${OCI_EXTRA_GUESTS:-}; do
		cp "$2/$g" "$1/$g" || return 1
	done
	cp "$3" "$1/linux-hello" || return 1
	mkdir -p "$1/etc" && echo "from the image" >"$1/etc/motd"
}
oci_podman_setup() { # GUEST_DIR LINUX_HELLO
	command -v podman >/dev/null || oci_skip "podman is not installed (./dev build installs it)"
	command -v conmon >/dev/null || oci_skip "conmon is not installed"
	mkdir -p "$T/cni"
	cat >"$T/storage.conf" <<EOC
[storage]
driver = "overlay"
graphroot = "$T/graph"
runroot = "$T/run"
EOC
	cat >"$T/containers.conf" <<EOC
[containers]
default_ulimits = []
netns = "none"
[network]
network_config_dir = "$T/cni"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$T/events.log"
tmp_dir = "$T/tmp"
volume_path = "$T/volumes"
lock_type = "file"
conmon_env_vars = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "CONTAINERS_CONF=$T/containers.conf", "CONTAINERS_STORAGE_CONF=$T/storage.conf"]
runtime_supports_json = ["uhyve-sec-oci", "runc"]
runtime_supports_kvm = ["uhyve-sec-oci"]
runtime_supports_nocgroup = ["uhyve-sec-oci"]
[engine.runtimes]
uhyve-sec-oci = ["$OCI_RT"]
EOC
	export CONTAINERS_CONF=$T/containers.conf CONTAINERS_STORAGE_CONF=$T/storage.conf
	podman info >"$T/info.txt" 2>&1 || oci_skip "podman is unusable here: $(tail -n 1 "$T/info.txt")"
	oci_rootfs "$T/rootfs" "$1" "$2" || return 1
	tar -C "$T/rootfs" -cf "$T/rootfs.tar" . &&
		podman import "$T/rootfs.tar" localhost/uhs-guests:test >/dev/null 2>"$T/import.err" ||
		oci_skip "podman import failed: $(tail -n 1 "$T/import.err")"
}
# Processes whose command line mentions T (VMM, broker, assist, monitor, conmon): none may be
# left once a container is gone.
oci_leftovers() {
	local p out=""
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = $$ ] && continue
		{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "$T" && out+=" ${p#/proc/}"
	done
	echo "${out# }"
}
