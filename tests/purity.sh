#!/bin/bash
# SPDX-License-Identifier: MIT
# purity.sh - a pure library calls no system call wrapper: every symbol it needs from outside
# must match the allowed pattern (string and memory functions, allocation, formatting into a
# buffer or a stream the caller gives, its own dependencies).  Catches an open(), stat(),
# getcwd() or read() that would make the library touch the host.
#
# Usage: purity.sh LIBRARY.a ALLOWED-ERE
set -u
lib=${1:?library} allowed=${2:?pattern}
command -v nm >/dev/null || { echo "SKIP: no nm"; exit 77; }
bad=$(nm -u "$lib" | awk '{print $2}' | sort -u | grep -vE "^($allowed)$")
if [ -n "$bad" ]; then
	echo "FAIL: $(basename "$lib") calls outside its allowlist: $(echo $bad)"
	exit 1
fi
echo "ok: $(basename "$lib") is pure ($(nm -u "$lib" | awk '{print $2}' | sort -u | wc -l) external symbols, all allowed)"
