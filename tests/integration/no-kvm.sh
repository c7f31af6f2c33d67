#!/bin/bash
# SPDX-License-Identifier: MIT
# no-kvm.sh - without /dev/kvm the run stops with status 69 and one line naming it; without
# permission to open it, the line says how to get access (the kvm group; issue 16 item 14).
# Hides /dev/kvm in a private mount namespace (needs root or unprivileged user namespaces),
# and runs as user nobody for the permission case (needs root, a /dev/kvm that nobody may
# not open, and a build tree nobody can read); skips (77) what cannot be done here.
set -u
vmm=$1 guest=$2
fail=0 ran=0
if unshare -m true 2>/dev/null || unshare -rm true 2>/dev/null; then
	flags=-m
	unshare -m true 2>/dev/null || flags=-rm
	err=$(unshare $flags sh -c 'mount -t tmpfs none /dev && exec "$0" "$1"' "$vmm" "$guest" 2>&1 >/dev/null)
	st=$?
	want="uhyve-sec: cannot open /dev/kvm: No such file or directory"
	if [ "$st" != 69 ] || [ "$err" != "$want" ]; then
		echo "FAIL: status $st, stderr '$err'; expected 69 and '$want'"
		fail=1
	fi
	ran=1
fi
if [ "$(id -u)" = 0 ] && [ -c /dev/kvm ] && command -v setpriv >/dev/null &&
	! setpriv --reuid=65534 --regid=65534 --clear-groups test -r /dev/kvm 2>/dev/null &&
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$vmm" -a -r "$guest"; then
	err=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$vmm" "$guest" 2>&1 >/dev/null)
	st=$?
	want="uhyve-sec: cannot open /dev/kvm: Permission denied (mode *, group '*'; give your user access, usually by adding it to the group kvm: 'sudo usermod -aG kvm \$USER', then log in again)"
	# shellcheck disable=SC2053
	if [ "$st" != 69 ] || [[ $err != $want ]]; then
		echo "FAIL: as nobody: status $st, stderr '$err'; expected 69 and '$want'"
		fail=1
	fi
	ran=1
fi
if [ $ran = 0 ]; then
	echo "SKIP: cannot hide /dev/kvm or run as nobody here"
	exit 77
fi
[ $fail = 0 ] && echo "ok: missing /dev/kvm -> 69; no permission -> 69 with the kvm-group hint"
exit $fail
