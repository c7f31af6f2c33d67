#!/bin/bash
# SPDX-License-Identifier: MIT
# layering.sh - the tree is a map of trust: each folder may include only its own headers and
# the public headers (include/) of the folders below it.  The build enforces most of this by
# itself (each library exposes only its include/ folder); this script, run by meson at
# configure time and as a unit test, catches what include paths cannot: a quoted include with
# a relative path ("../broker/x.h") or of a header that does not belong to an allowed folder.
#
# Usage: layering.sh SOURCE_ROOT   (prints "ok: ..." and exits 0, or lists violations, exit 1)
set -u
src=${1:?source root}
cd "$src" || exit 99
declare -A allowed=(
	[common]="common"
	[sandbox]="sandbox"
	[policy]="policy"
	[vmm]="vmm sandbox common"
	[broker]="broker policy sandbox common image"
	[assist]="assist sandbox common"
	[config]="config"
	[image]="image config"
	[oci]="oci policy common"
	[launcher]="launcher vmm broker assist policy config image sandbox common"
)
fail=0
for dir in "${!allowed[@]}"; do
	[ -d "$dir" ] || continue
	# headers this folder may see: its own (any), and include/ of the allowed others
	visible=$(for d in ${allowed[$dir]}; do
		if [ "$d" = "$dir" ]; then
			find "$d" -name '*.h' -printf '%f\n'
		elif [ -d "$d/include" ]; then
			find "$d/include" -name '*.h' -printf '%f\n'
		fi
	done | sort -u)
	while IFS=: read -r file line inc; do
		[ -n "$file" ] || continue
		name=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)".*/\1/' <<<"$inc")
		if [[ $name == */* ]]; then
			echo "FAIL: $file:$line includes \"$name\" by a path (never reach around the layering)"
			fail=1
		elif ! grep -qxF "$name" <<<"$visible"; then
			echo "FAIL: $file:$line includes \"$name\", which $dir/ may not see (allowed: ${allowed[$dir]})"
			fail=1
		fi
	done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' -r "$dir" --include='*.c' \
		--include='*.h' --include='*.cpp' | sed -E 's/^([^:]*):([0-9]+):/\1:\2:/')
done
[ $fail = 0 ] && echo "ok: every folder includes only its own headers and those below it"
exit $fail
