#!/bin/bash
# SPDX-License-Identifier: MIT
# docs.sh - the man page (generated from README's uhyve-sec(1) section) renders without macro
# or table errors, and it, README and --help tell the same truth: every long option --help
# names is in the man page, and every option row of the man page's OPTIONS table is in --help.
#
# Usage: docs.sh PROGRAM MAN_PAGE [OPTIONS-SECTION]   (default section: OPTIONS)
set -u
vmm=$1 man=$2 section=${3:-OPTIONS}
command -v groff >/dev/null || { echo "SKIP: no groff"; exit 77; }
fail=0
warn=$(LC_ALL=C.UTF-8 groff -t -man -Tutf8 -wmac -wtab -Wbreak -z "$man" 2>&1)
[ -z "$warn" ] || { echo "FAIL: groff: $warn"; fail=1; }
text=$(LC_ALL=C.UTF-8 MANWIDTH=200 man -l "$man" 2>/dev/null | col -b)
help=$("$vmm" --help)
for opt in $(grep -oE -- '--[a-z][a-z-]+' <<<"$help" | sort -u); do
	grep -qF -- "$opt" <<<"$text" || { echo "FAIL: --help names $opt, the man page does not"; fail=1; }
done
for opt in $(sed -n "/^$section\$/,/^[A-Z]/p" <<<"$text" | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
	grep -qF -- "$opt" <<<"$help" || { echo "FAIL: the man page names $opt, --help does not"; fail=1; }
done
[ $fail = 0 ] && echo "ok: man page renders; --help and the man page name the same options"
exit $fail
