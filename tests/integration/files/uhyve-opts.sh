# SPDX-License-Identifier: MIT
# uhyve-opts.sh - scenarios of run-files.sh (sourced by it) for uhyve's file options (issue 11):
#   tempdir      --tempdir DIR: a file the guest creates outside every mapping goes to a private
#                scratch directory in DIR (uhyve's tempdir), gone after the run; without it such
#                a create is refused; a DIR that is no directory is a usage error;
#   io-mode      --io-mode host=sync / host=direct: the host files the guest opens carry O_SYNC /
#                O_DIRECT (seen in /proc/PID/fdinfo of the VMM while the guest holds them);
#   file-mapping --file-mapping FILE:GUEST: exactly that file at exactly GUEST (read, with rw
#                written and truncated; never created, removed, listed; nothing next to it).
# Uses run-files.sh's helpers (vmm, bg_start, fail, ...) and its variables T, W.

sc_tempdir() {
	mkdir "$W/td"
	vmm tempdir-v2 0 -- --tempdir "$W/td" --mount "$T/data:/data" @fsops-v2 put:/new.txt:fresh \
		cat:/new.txt put:/data/kept.txt:kept ls:/
	vmm tempdir-v1 0 -- --tempdir "$W/td" @fsops put:/tmp/x:v1 cat:/tmp/x
	[ -z "$(ls -A "$W/td")" ] || fail "tempdir-v2: $W/td not empty after the run: $(ls -A "$W/td")"
	# without --tempdir a create outside every mapping is refused (uhyve-sec's default)
	vmm -e tempdir-none 0 -- --mount "$T/data:/data" @fsops-v2 put:/new.txt:fresh
	stderr_is tempdir-none '{"time":*,"op":"open","path":"/new.txt","verdict":"deny","reason":"no mount","errno":"EACCES"}'
	# a relative one is relative to the current directory (the guest directory here)
	vmm -e tempdir-bad 64 -- --tempdir "$W/none" @fsops-v2 put:/x:y
	stderr_is tempdir-bad "uhyve-sec: tempdir '@W@/none': not a directory"
	# while a run lives, its scratch directory is in DIR (mode 0700), not in TMPDIR
	bg_start tempdir-live -- --tempdir "$W/td" @spin
	wait_output "$W/runs/tempdir-live.out" 10 || fail "spin did not start"
	[ "$(find "$W/td" -mindepth 1 -maxdepth 1 -name 'uhyve-sec-*' -perm 0700 | wc -l)" = 1 ] ||
		fail "tempdir-live: no scratch directory (mode 0700) in $W/td during the run"
	kill -TERM "$bg_pid"
	wait_gone "$bg_pid" 5 || fail "uhyve-sec did not stop within 5 s of SIGTERM"
	wait "$bg_pid"
	after_run tempdir-live 143 $? 0
	stderr_is tempdir-live "uhyve-sec: stopped by SIGTERM"
	[ -z "$(ls -A "$W/td")" ] || fail "tempdir-live: $W/td not empty after SIGTERM"
	want_content data/kept.txt kept
	rm -f "$T/data/kept.txt"
}

# The open flags (octal, /proc/PID/fdinfo) of the VMM's fd for host file HOST.
fd_flags() { # PID HOST
	local fd
	for fd in /proc/"$1"/fd/*; do
		if [ "$(readlink "$fd")" = "$2" ]; then
			awk '/^flags:/ {print $2}' "/proc/$1/fdinfo/${fd##*/}"
			return 0
		fi
	done
	return 1
}

io_mode_run() { # LABEL MODE MASK(octal) WANT(0|1)
	local flags
	bg_start "$1" -- ${2:+--io-mode "$2"} --mount "$T/data:/data" @fsops-v2 open:/data/a.txt:0 \
		hold:/data/sub
	for _ in $(seq 1 200); do
		grep -q "^hold /data/sub" "$W/runs/$1.out" 2>/dev/null && break
		sleep 0.05
	done
	flags=$(fd_flags "$bg_pid" "$T/data/a.txt") || fail "$1: the VMM holds no fd of a.txt"
	if [ -n "$flags" ] && [ $(((8#$flags & 8#$3) == 8#$3)) != "$4" ]; then
		fail "$1: a.txt open with flags $flags: O_SYNC/O_DIRECT bits $3 expected $4"
	fi
	kill -TERM "$bg_pid"
	wait_gone "$bg_pid" 5 || fail "uhyve-sec did not stop within 5 s of SIGTERM"
	wait "$bg_pid"
	after_run "$1" 143 $? 0
	stderr_is "$1" "uhyve-sec: stopped by SIGTERM"
}

sc_io_mode() {
	io_mode_run io-default "" 4010000 0
	io_mode_run io-sync host=sync 4010000 1
	io_mode_run io-direct host=direct 40000 1
	io_mode_run io-direct-sync HOST=Sync,Direct 4050000 1
	vmm -e io-bad 64 -- --io-mode direct @fsops-v2 cat:/data/a.txt
	stderr_is io-bad "uhyve-sec: invalid --io-mode 'direct': *"
}

sc_file_mapping() {
	local -a fm=(--file-mapping "$T/data/a.txt:/guest.txt" --file-mapping "$T/ro/r.txt:/r.txt:ro"
		--file-mapping "$T/data/inlink:etc/l.txt")
	vmm fm-v2 0 -- "${fm[@]}" --audit-log "$W/fm.log" @fsops-v2 cat:/guest.txt stat:/guest.txt lstat:/guest.txt \
		fstat:/guest.txt cat:/etc/l.txt cat:/r.txt put:/r.txt:no cat:/guest.txt/x \
		open:/guest.txt:0200000 open:/guest.txt:0300 unlink:/guest.txt mkdir:/guest.txt \
		ls:/ cat:/data/a.txt cat:/a.txt put:/guest.txt:rewritten cat:/guest.txt \
		append:/guest.txt:+more cat:/guest.txt
	vmm fm-v1 0 -- "${fm[@]}" --audit-log "$W/fm.log" @fsops cat:guest.txt cat:/guest.txt cat:/etc/l.txt unlink:/r.txt
	want_content data/a.txt "rewritten+more"
	printf 'hello host' >"$T/data/a.txt"
	vmm -e fm-fifo 78 -- --file-mapping "$T/data/fifo:/f" @fsops-v2 cat:/f
	stderr_is fm-fifo "uhyve-sec: mount /f (--mount #1): host path @T@/data/fifo is neither a directory nor a regular file"
	vmm -e fm-root 78 -- --file-mapping "$T/data/a.txt:/" @fsops-v2 cat:/
	stderr_is fm-root "uhyve-sec: mount / (--mount #1): the file @T@/data/a.txt cannot be mounted at /"
	show_audit "$W/fm.log" "audit log"
	printf '{"version": 1}\n' >"$W/empty.json"
	vmm fm-check 0 -- --check-policy "$W/empty.json" --file-mapping "$T/data/a.txt:g.txt:ro"
}
