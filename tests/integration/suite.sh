#!/usr/bin/env bash
# Runs every t_* function of every test_*.sh here, each in its own subshell
# with fresh XDG directories, printing TAP-style "ok N name" lines.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
: "${BUILD:?BUILD must name the build directory}"
source "$HERE/lib.sh"
for f in "$HERE"/test_*.sh; do
	source "$f"
done
n=0
for t in $(declare -F | awk '{print $3}' | grep '^t_' ); do
	if [ -n "${ONLY:-}" ] && [[ "$t" != *"$ONLY"* ]]; then
		continue
	fi
	n=$((n + 1))
	scratch=$(mktemp -d)
	if (
		export XDG_CACHE_HOME="$scratch/cache" XDG_STATE_HOME="$scratch/state" \
			XDG_CONFIG_HOME="$scratch/config" SCRATCH="$scratch"
		cd "$scratch" && "$t"
	); then
		echo "ok $n $t"
	else
		echo "not ok $n $t"
	fi
	chmod -R u+w "$scratch" 2>/dev/null
	rm -rf "$scratch"
done
echo "suite done: $n tests"
