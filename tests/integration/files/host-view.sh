# SPDX-License-Identifier: MIT
# host-view.sh - scenarios of run-files.sh (sourced by it) about what the guest sees of the host
# (issue 16):
#   dirlist      directory listings are served from a sealed snapshot (a memfd): the VMM never
#                holds a directory fd, with or without its sandbox (item 8);
#   meta         stat, fstat and getdents show synthetic identities: st_dev = mount index + 1,
#                st_ino = d_ino = a keyed hash (random per run), uid = gid = rdev = 0 (item 6);
#   write_limit_spend (called by sc_write_limit) the write budget pays for holes and for
#                every file and directory created (item 4).
# Uses run-files.sh's helpers (vmm, bg_start, fail, ...) and its variables T, W.

# The ids line of a file: "ids DIR/NAME = stat dev=D ino=I ... | fstat dev=D ino=I ... | ls ino=I"
ids_field() { # LABEL PATH FIELD(stat|fstat|ls) -> the ino it shows
	local line
	line=$(grep -F "ids $2 = " "$W/runs/$1.out" | head -n 1)
	case "$3" in
	stat) sed -E 's/^.* = stat dev=[0-9]+ ino=([0-9]+) .*$/\1/' <<<"$line" ;;
	fstat) sed -E 's/^.*\| fstat dev=[0-9]+ ino=([0-9]+) .*$/\1/' <<<"$line" ;;
	ls) sed -E 's/^.*\| ls ino=([0-9]+)$/\1/' <<<"$line" ;;
	esac
}

# The same file has one ino through stat, fstat and getdents; it is not the host's.  Sets ino.
want_ids() { # LABEL GUEST-PATH HOST-PATH(relative to T)
	local f l host
	ino=$(ids_field "$1" "$2" stat) f=$(ids_field "$1" "$2" fstat) l=$(ids_field "$1" "$2" ls)
	host=$(stat -c %i "$T/$3")
	if ! [[ "$ino" =~ ^[0-9]+$ ]] || [ "$ino" != "$f" ] || [ "$ino" != "$l" ]; then
		fail "$1: $2: ino through stat '$ino', fstat '$f', ls '$l' differ"
	fi
	[ "$ino" != "$host" ] || fail "$1: $2: the guest sees the host inode number $host"
}

sc_meta() {
	local a sub b r l1 l2 s ino
	# (under T/data: the snapshot of everything else is taken before the scenario)
	mkdir "$T/data/lk" && printf 'one' >"$T/data/lk/l1" && ln "$T/data/lk/l1" "$T/data/lk/l2" ||
		exit 99
	# Owned by someone else (as root): the guest must see uid 0 and gid 0 all the same.
	chown 1234:1234 "$T/data/a.txt" "$T/data/sub" "$T/data/sub/b.txt" "$T/data/lk/l1" 2>/dev/null
	printf '{"version": 1, "mounts": [{"host": "%s", "guest": "/data", "access": "rw"},
 {"host": "%s", "guest": "/links", "access": "ro", "hardlinks": true}], "scratch": true}\n' \
		"$T/data" "$T/data/lk" >"$W/meta.json"
	local -a pol=(--policy "$W/meta.json" --mount "$T/ro:/ro:ro")
	vmm meta 0 -- "${pol[@]}" @fsops-v2 ids:/data:a.txt ids:/data:sub ids:/data/sub:b.txt \
		ids:/ro:r.txt ids:/links:l1 ids:/links:l2 put:/s:scratch ids:/:s fstat:/data/a.txt \
		fstat:/data/sub fstat:/ro/rsub stat:/data/sub ls:/data/sub
	want_ids meta /data/a.txt data/a.txt
	a=$ino
	want_ids meta /data/sub data/sub
	sub=$ino
	want_ids meta /data/sub/b.txt data/sub/b.txt
	b=$ino
	want_ids meta /ro/r.txt ro/r.txt
	r=$ino
	want_ids meta /links/l1 data/lk/l1
	l1=$ino
	want_ids meta /links/l2 data/lk/l2
	l2=$ino
	s=$(ids_field meta /s stat)
	[ "$l1" = "$l2" ] || fail "meta: the hard links l1 and l2 have different inos ($l1, $l2)"
	[ "$(printf '%s\n' "$a" "$sub" "$b" "$r" "$l1" "$s" | sort -u | wc -l)" = 6 ] ||
		fail "meta: different files share an ino: $a $sub $b $r $l1 $s"
	# The key is chosen per run: the same file gets another ino in the next run.
	vmm meta-again 0 -- "${pol[@]}" @fsops-v2 ids:/data:a.txt
	want_ids meta-again /data/a.txt data/a.txt
	[ "$a" != "$ino" ] || fail "meta: /data/a.txt has ino $a in two runs: the key is not per run"
}

# Entries of a directory listing, counted by the guest, with a rewind and a tiny buffer.
sc_dirlist() {
	local i pid n fd dirs memfds
	mkdir "$T/data/many" || exit 99
	(cd "$T/data/many" && seq -f 'entry-%05g' 1 10000 | xargs touch) || exit 99
	vmm dirlist 0 -- --mount "$T/data:/data" --mount "$T/ro:/ro:ro" @fsops-v2 \
		ls:/data/sub ls:/ro ls:/ro/rsub lsseek:/data/many:4096 \
		lsseek:/data/many:32768 lsseek:/data/sub:24 lsseek:/data/sub:32 fstat:/data/many \
		ls:/data/a.txt
	# Listings held open at once are capped at 64 MiB: a 5.6 MB one (20,000 names of 255
	# bytes) opens 11 times, then ENOMEM until one is closed.
	mkdir "$T/data/wide" || exit 99
	python3 -c 'import os, sys
for i in range(20000): open(os.path.join(sys.argv[1], "%s%05d" % ("w" * 250, i)), "w").close()' \
		"$T/data/wide" || exit 99
	vmm dirlist-held 0 -- --mount "$T/data:/data" @fsops-v2 openmany:/data/wide:13 close:5 \
		openmany:/data/wide:2 lsseek:/data/sub:4096
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

# Called by sc_write_limit: a 64 KiB budget pays for bytes, holes and entries.
write_limit_spend() {
	local n
	printf '{"version": 1, "limits": {"write_bytes": "64K"}}\n' >"$W/w64.json"
	vmm write-spend 0 -- --policy "$W/w64.json" --mount "$T/data:/data" @fsops-v2 \
		seekwrite:/data/sparse:1099511627776:x seekwrite:/data/sparse:61430:abcdefghijklmnop \
		createmany:/data/f:2000 mkdirmany:/data/d:300 open:/data/sub/b.txt:0101 \
		open:/data/newfile:0101 open:/data/a.txt:0301 append:/data/sub/b.txt:x \
		stat:/data/sparse
	[ "$(stat -c %s "$T/data/sparse" 2>/dev/null)" = 61440 ] ||
		fail "host: data/sparse is $(stat -c %s "$T/data/sparse" 2>/dev/null) bytes, expected 61440"
	n=$(find "$T/data" -maxdepth 1 -name 'f[0-9]*' | wc -l)
	[ "$n" = 0 ] || fail "host: $n files f* created after the budget was spent"
	n=$(find "$T/data" -maxdepth 1 -name 'd[0-9]*' | wc -l)
	[ "$n" = 0 ] || fail "host: $n directories d* created after the budget was spent"
	want_absent data/newfile
	want_content data/sub/b.txt bee
	# Entries cost 4 KiB each: a 64 KiB budget creates 16 empty files, then ENOSPC.
	vmm write-entries 0 -- --policy "$W/w64.json" --mount "$T/data:/data" @fsops-v2 \
		createmany:/data/e:100 mkdirmany:/data/g:10
	n=$(find "$T/data" -maxdepth 1 -name 'e[0-9]*' | wc -l)
	[ "$n" = 16 ] || fail "host: $n files e* created with a 64 KiB budget, expected 16"
	# In scratch, O_CREAT makes the missing parents too: each one is an entry (16 KiB: the
	# three directories and the file of /a/b/c/f, then nothing).
	printf '{"version": 1, "scratch": true, "limits": {"write_bytes": "16K"}}\n' >"$W/w16s.json"
	vmm write-scratch 0 -- --policy "$W/w16s.json" @fsops put:/a/b/c/f:x put:/g/h:x \
		put:/a/b/c/f:y cat:/a/b/c/f
}
