#!/bin/bash
# SPDX-License-Identifier: MIT
# no-kvm.sh - without /dev/kvm the run stops with status 69 and one line naming it.  Hides
# /dev/kvm in a private mount namespace (needs root or unprivileged user namespaces; skips
# (77) otherwise).
set -u
vmm=$1 guest=$2
if ! unshare -m true 2>/dev/null && ! unshare -rm true 2>/dev/null; then
	echo "SKIP: cannot create a mount namespace here"
	exit 77
fi
flags=-m
unshare -m true 2>/dev/null || flags=-rm
err=$(unshare $flags sh -c 'mount -t tmpfs none /dev && exec "$0" "$1"' "$vmm" "$guest" 2>&1 >/dev/null)
st=$?
want="uhyve-sec: cannot open /dev/kvm: No such file or directory"
if [ "$st" != 69 ] || [ "$err" != "$want" ]; then
	echo "FAIL: status $st, stderr '$err'; expected 69 and '$want'"
	exit 1
fi
echo "ok: missing /dev/kvm -> 69"
