# SPDX-License-Identifier: MIT
# host-view.sh - scenarios of run-files.sh (sourced by it) about what the guest sees of the host
# (issue 16):
#   dirlist      directory listings are served from a sealed snapshot (a memfd): the VMM never
#                holds a directory fd, with or without its sandbox (item 8).
# Uses run-files.sh's helpers (vmm, bg_start, fail, ...) and its variables T, W.

# Entries of a directory listing, counted by the guest, with a rewind and a tiny buffer.
sc_dirlist() {
	local i pid n fd dirs memfds
	mkdir "$T/data/many" || exit 99
	(cd "$T/data/many" && seq -f 'entry-%05g' 1 10000 | xargs touch) || exit 99
	vmm dirlist 0 -- --mount "$T/data:/data" --mount "$T/ro:/ro:ro" @fsops-v2 \
		ls:/data/sub ls:/ro ls:/ro/rsub lsseek:/data/many:4096 \
		lsseek:/data/many:32768 lsseek:/data/sub:24 lsseek:/data/sub:32 fstat:/data/many \
		ls:/data/a.txt
	# While the guest holds a directory open, no fd of the VMM is a directory; with the
	# sandbox off too (nothing but the protocol keeps the VMM from holding one).
	for i in strict off; do
		bg_start "hold-$i" -- --sandbox="$i" --mount "$T/data:/data" @fsops-v2 hold:/data/sub
		pid=$bg_pid
		wait_output "$W/runs/hold-$i.out" 10 || fail "hold-$i: the guest did not start"
		dirs="" memfds=0
		for fd in /proc/"$pid"/fd/*; do
			[ -d "$fd" ] && dirs+=" ${fd##*/} -> $(readlink "$fd" | anon)"
			case "$(readlink "$fd")" in /memfd:uhyve-sec-dir*) memfds=$((memfds + 1)) ;; esac
		done
		[ -z "$dirs" ] || fail "hold-$i: the VMM holds directory fds:$dirs"
		[ "$memfds" = 1 ] || fail "hold-$i: the VMM holds $memfds listing memfds, expected 1"
		kill -TERM "$pid"
		wait_gone "$pid" 5 || fail "hold-$i: uhyve-sec did not stop within 5 s of SIGTERM"
		wait "$pid"
		n=$?
		after_run "hold-$i" 143 "$n" 0
	done
	stderr_is hold-strict "uhyve-sec: stopped by SIGTERM"
}
