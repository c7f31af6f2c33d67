#!/bin/bash
# layering.sh - the VMM must not know host paths: nothing in vmm/ may include a policy/
# header or call the resolver; only sandbox/ glues policy and VMM together.
set -u
src=${1:?source root}
[ -d "$src/vmm" ] || { echo "no $src/vmm"; exit 99; }
bad=$(grep -nE '#include[[:space:]]*[<"]([^">]*/)?(policy|broker)\.h[">]|policy_(open|unlink|mkdir|stat|load_file|add_cli_mount)' \
	"$src"/vmm/*.c "$src"/vmm/*.h)
if [ -n "$bad" ]; then
	echo "FAIL: vmm/ reaches into the policy or broker:"
	echo "$bad"
	exit 1
fi
echo "ok: vmm/ does not include policy/ or broker headers"
