#!/usr/bin/env bash
# Container image jobs: a job on a 5-layer busybox image (built with
# tests/integration/image_lib.sh, pulled from a private docker-registry on
# loopback) against the same job without an image (busybox from host paths
# layers), all running `busybox true`:
#   cold      one maelstrom-run --one, empty depot and cache: resolve, pull
#             5 layers, flatten, store, extract, run
#   warm      one maelstrom-run --one, later: the depot and cache hold
#             everything (steady state: see the note on the path cache in
#             the rounds below)
#   no-image  one maelstrom-run --one, its layers already built and cached
# and, for throughput, one maelstrom-run fed COUNT jobs, warm image against
# no image. Cases interleave round by round, REPEATS rounds; medians kept.
# Prints a table and the ratios (warm vs no-image is the one that matters:
# a warm image must cost what a job without one costs). Exits non-zero only
# when a case that could run failed (never on a time threshold); missing
# tools are reported and the benchmark skipped.
#
# usage: bash bench/image.sh [BUILDDIR]     (default: build)
# env:   BENCH_IMAGE_REPEATS (5)  BENCH_IMAGE_COUNT (200)
#        BENCH_TIMEOUT (seconds allowed for one measurement, 60)
set -u

build=${1:-build}
repeats=${BENCH_IMAGE_REPEATS:-5}
count=${BENCH_IMAGE_COUNT:-200}
limit=${BENCH_TIMEOUT:-60}
here=$(cd "$(dirname "$0")" && pwd)

die() { echo "image: $*" >&2; exit 2; }
skip() { echo "image: SKIPPED: $*"; exit 0; }

[ -d "$build" ] || die "no build directory '$build'; run 'make bench'"
build=$(cd "$build" && pwd)
spawn=$build/bench/spawn
mrun=$build/bin/maelstrom-run
[ -x "$spawn" ] || die "missing $spawn; build it with 'make BUILD=${build##*/} $build/bench/spawn'"
[ -x "$mrun" ] || skip "maelstrom-run is not built ($mrun missing)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-image.XXXXXX") || die "cannot make a temp dir"
# image_lib.sh reports through `fail` and keeps its files under $SCRATCH.
fail() { printf 'image: %s\n' "$*" >&2; return 1; }
SCRATCH=$tmp
# shellcheck source=../tests/integration/image_lib.sh
source "$here/../tests/integration/image_lib.sh"
cleanup() {
	img_registry_stop
	# Extracted layers may be read-only; make them removable first.
	chmod -R u+w "$tmp" 2>/dev/null
	rm -rf "$tmp"
}

img_need_tools 2>"$tmp/tools" || { cat "$tmp/tools"; cleanup; skip "a tool is missing (above)"; }
img_build "$tmp/oci" 1 bench 5 || { cleanup; die "cannot build the test image"; }
img_registry_start || { cleanup; die "cannot start docker-registry"; }
# After img_registry_start, which sets its own.
trap cleanup EXIT
trap 'exit 130' INT TERM
img_push "$tmp/oci" 1 bench 1 || die "cannot push the test image"
image=docker://$IMG_REG/bench:1

# --- inputs ------------------------------------------------------------------
json_str() { # prints $1 as a JSON string
	local s=${1//\\/\\\\}
	printf '"%s"' "${s//\"/\\\"}"
}
img_spec="{\"image\": $(json_str "$image"), \"program\": \"/bin/busybox\", \"arguments\": [\"true\"]}"
bb_spec="{\"layers\": [{\"paths\": [$(json_str "$IMG_BUSYBOX")], \"strip_prefix\": $(json_str "$(dirname "$IMG_BUSYBOX")/"), \"prepend_prefix\": \"/bin/\"},
 {\"stubs\": [\"/{proc,sys,tmp,dev,work}/\", \"/dev/{full,null,random,urandom,zero,tty}\"]}],
 \"program\": \"/bin/busybox\", \"arguments\": [\"true\"]}"
bb_spec=$(tr '\n' ' ' <<<"$bb_spec")
printf '%s\n' "$img_spec" >"$tmp/img.json"
printf '%s\n' "$bb_spec" >"$tmp/bb.json"
for ((i = 0; i < count; i++)); do printf '%s\n' "$img_spec"; done >"$tmp/img-many.json"
for ((i = 0; i < count; i++)); do printf '%s\n' "$bb_spec"; done >"$tmp/bb-many.json"

# Each home is a project dir (the tags lock file lands there) with its own
# XDG dirs (depot and cache).
home_env() { # HOME_DIR
	mkdir -p "$1/xdg/cache" "$1/xdg/state" "$1/xdg/config"
	home=(env "XDG_CACHE_HOME=$1/xdg/cache" "XDG_STATE_HOME=$1/xdg/state"
		"XDG_CONFIG_HOME=$1/xdg/config")
}

# --- measuring -----------------------------------------------------------------
declare -A label=([cold]="cold image" [warm]="warm image" [noimg]="no image"
	[warm_n]="warm image, $count jobs" [noimg_n]="no image, $count jobs")
declare -A results note state
cases=(cold warm noimg warm_n noimg_n)
for c in "${cases[@]}"; do state[$c]=ready; done

# run HOME_DIR JOBS_FILE N: times one maelstrom-run of JOBS_FILE (N jobs) in
# HOME_DIR; sets $last to spawn's line, or records why in $why.
run() {
	local dir=$1 file=$2 n=$3 rc
	home_env "$dir"
	(cd "$dir" && timeout "$limit" "${home[@]}" "$spawn" --time -n "$n" -o "$tmp/log" -- \
		"$mrun" -f "$file") >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		last=$(cat "$tmp/out")
		return 0
	fi
	why="failed ($rc): $(tr '\n' ' ' <"$tmp/err") -- its output ends: $(tail -3 "$tmp/log" | tr '\n' ' ')"
	[ "$rc" -eq 124 ] && why="timed out after ${limit}s"
	return 1
}

# record CASE: keeps the seconds (1-job cases) or jobs/s (COUNT-job cases)
# of $last, or marks CASE failed.
record() {
	local c=$1 ok=$2 v
	if [ "$ok" -ne 0 ]; then
		state[$c]=failed
		note[$c]=$why
		return
	fi
	case $c in
	*_n) v=$(sed -n 's/.*jobs_per_sec=\([0-9.]*\).*/\1/p' <<<"$last") ;;
	*) v=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' <<<"$last") ;;
	esac
	results[$c]+="$v "
}

echo "image jobs: a 5-layer image pulled from docker-registry on loopback, against no image;"
echo "  median of $repeats rounds, $count jobs for throughput; as $(id -un 2>/dev/null || id -u)" \
	"on $(uname -sr), $(nproc) CPUs"

# The no-image home builds its layers once, before any timing.
run "$tmp/noimg" "$tmp/bb.json" 1 || die "warm-up of the no-image job $why"

for ((r = 1; r <= repeats; r++)); do
	# A fresh home per round: empty depot, empty cache, no lock file.
	dir=$tmp/round$r
	if [ "${state[cold]}" = ready ]; then
		run "$dir" "$tmp/img.json" 1
		record cold $?
	fi
	if [ "${state[cold]}" = ready ] && [ "${state[warm]}" = ready ]; then
		# Steady state: the path cache trusts the depot's flattened tar
		# only once it is a second old (pathcache.h, racy files), so one
		# untimed run after that second records its digest for good.
		sleep 1.1
		if run "$dir" "$tmp/img.json" 1; then
			run "$dir" "$tmp/img.json" 1
		fi
		record warm $?
	fi
	if [ "${state[noimg]}" = ready ]; then
		run "$tmp/noimg" "$tmp/bb.json" 1
		record noimg $?
	fi
	if [ "${state[cold]}" = ready ] && [ "${state[warm_n]}" = ready ]; then
		run "$dir" "$tmp/img-many.json" "$count"
		record warm_n $?
	fi
	if [ "${state[noimg_n]}" = ready ]; then
		run "$tmp/noimg" "$tmp/bb-many.json" "$count"
		record noimg_n $?
	fi
	# Keep the disk small: this round's depot and cache are done with.
	chmod -R u+w "$dir" 2>/dev/null
	rm -rf "$dir"
done

# --- report -----------------------------------------------------------------------
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
declare -A med
printf '\n%-26s %12s   %s\n' case median runs
failed=0
for c in "${cases[@]}"; do
	unit="ms"
	case $c in *_n) unit="jobs/s" ;; esac
	if [ "${state[$c]}" = failed ] || [ -z "${results[$c]:-}" ]; then
		printf '%-26s %12s   %s\n' "${label[$c]}" - "FAILED: ${note[$c]:-did not run (cold failed)}"
		failed=1
		continue
	fi
	med[$c]=$(median "${results[$c]}")
	if [ "$unit" = ms ]; then
		printf '%-26s %9.1f ms   %s\n' "${label[$c]}" "$(awk -v s="${med[$c]}" 'BEGIN {print s * 1000}')" \
			"$(for v in ${results[$c]}; do awk -v s="$v" 'BEGIN {printf "%.1f ", s * 1000}'; done)"
	else
		printf '%-26s %6.1f jobs/s   %s\n' "${label[$c]}" "${med[$c]}" "${results[$c]}"
	fi
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN {print (v <= t) ? "met" : "NOT met"}'; }
echo
echo "ratios:"
if [ -n "${med[warm]:-}" ] && [ -n "${med[noimg]:-}" ]; then
	v=$(ratio "${med[warm]}" "${med[noimg]}")
	echo "  warm image vs no image, one-job run time:    ${v}x  (target <= 1.1x: $(verdict "$v" 1.1))"
else
	echo "  warm image vs no image, one-job run time:    n/a (a case did not run)"
fi
if [ -n "${med[warm_n]:-}" ] && [ -n "${med[noimg_n]:-}" ]; then
	v=$(ratio "${med[noimg_n]}" "${med[warm_n]}")
	echo "  warm image vs no image, per-job cost ($count): ${v}x  (target <= 1.1x: $(verdict "$v" 1.1))"
else
	echo "  warm image vs no image, per-job cost:        n/a (a case did not run)"
fi
if [ -n "${med[cold]:-}" ] && [ -n "${med[warm]:-}" ]; then
	echo "  cold vs warm image, one-job run time:        $(ratio "${med[cold]}" "${med[warm]}")x  (pull + flatten + extract, for reference)"
fi
exit "$failed"
