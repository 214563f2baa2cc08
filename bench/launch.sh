#!/usr/bin/env bash
# Container launch throughput: COUNT runs of a static `true`, at parallelism
# = number of CPUs, as
#   bare   fork+exec by the spawn driver,
#   bwrap  bwrap --unshare-all with a read-only root holding only the binary,
#   mrun   one maelstrom-run fed COUNT job specs (--slots = CPUs),
# interleaved round by round, each measured REPEATS times; the median is kept.
# Prints a table and the ratios. Exits non-zero only when a case that could
# run failed (never on a time threshold); a missing maelstrom-run or bwrap is
# reported and skipped.
#
# usage: bash bench/launch.sh [BUILDDIR]     (default: build)
# env:   BENCH_COUNT (2000)  BENCH_REPEATS (3)  BENCH_JOBS (nproc)
#        BENCH_TIMEOUT (seconds allowed for one measurement, 60)
set -u

build=${1:-build}
count=${BENCH_COUNT:-2000}
repeats=${BENCH_REPEATS:-3}
jobs=${BENCH_JOBS:-$(nproc)}
limit=${BENCH_TIMEOUT:-60}

die() { echo "launch: $*" >&2; exit 2; }

[ -d "$build" ] || die "no build directory '$build'; run 'make bench' (or 'make BUILD=$build all $build/bench/spawn')"
build=$(cd "$build" && pwd)
spawn=$build/bench/spawn
true_bin=$build/tests/static-true
mrun=$build/bin/maelstrom-run
[ -x "$spawn" ] || die "missing $spawn; build it with 'make BUILD=${build##*/} $build/bench/spawn'"
[ -x "$true_bin" ] || die "missing $true_bin; build it with 'make BUILD=${build##*/} $true_bin'"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-launch.XXXXXX") || die "cannot make a temp dir"
cleanup() {
	# Extracted layers may be read-only; make them removable first.
	chmod -R u+w "$tmp" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- inputs ------------------------------------------------------------------
mkdir -p "$tmp/bin" "$tmp/root/proc" "$tmp/root/dev" "$tmp/root/tmp" \
	"$tmp/xdg/cache" "$tmp/xdg/state" "$tmp/xdg/config" || die "cannot fill $tmp"
for dest in "$tmp/bin/static-true" "$tmp/root/static-true"; do
	cp "$true_bin" "$dest" || die "cannot copy $true_bin to $dest"
done

json_str() { # prints $1 as a JSON string
	local s=${1//\\/\\\\}
	printf '"%s"' "${s//\"/\\\"}"
}
spec="{\"layers\": [{\"paths\": [$(json_str "$tmp/bin/static-true")], \"strip_prefix\": $(json_str "$tmp/bin/")}], \"program\": \"/static-true\"}"
printf '%s\n' "$spec" >"$tmp/warm.json"
for ((i = 0; i < count; i++)); do printf '%s\n' "$spec"; done >"$tmp/jobs.json"

bare_cmd=("$tmp/bin/static-true")
bwrap_cmd=(bwrap --unshare-all --ro-bind "$tmp/root" / --proc /proc --dev /dev
	--tmpfs /tmp /static-true)
mrun_env=(env "XDG_CACHE_HOME=$tmp/xdg/cache" "XDG_STATE_HOME=$tmp/xdg/state"
	"XDG_CONFIG_HOME=$tmp/xdg/config")

# --- measuring -----------------------------------------------------------------
declare -A label=([bare]="bare fork+exec" [bwrap]="bwrap" [mrun]="maelstrom-run")
declare -A state results # state: ready | skipped | failed; results: jobs/s list
declare -A note
cases=(bare bwrap mrun)

# measure CASE N: runs CASE once with N jobs; on success leaves the driver's
# line in $last, else records why in note[CASE] and returns 1.
measure() {
	local c=$1 n=$2 log=$tmp/$1.log rc
	: >"$log"
	case $c in
	bare) timeout "$limit" "$spawn" -n "$n" -j "$jobs" -o "$log" -- "${bare_cmd[@]}" ;;
	bwrap) timeout "$limit" "$spawn" -n "$n" -j "$jobs" -o "$log" -- "${bwrap_cmd[@]}" ;;
	mrun)
		local f=$tmp/jobs.json
		[ "$n" -eq 1 ] && f=$tmp/warm.json
		timeout "$limit" "${mrun_env[@]}" "$spawn" --time -n "$n" -o "$log" -- \
			"$mrun" --slots "$jobs" -f "$f"
		;;
	esac >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq 0 ]; then
		last=$(cat "$tmp/out")
		return 0
	fi
	local what="timed run of $n jobs"
	[ "$phase" = warm-up ] && what="warm-up ($n jobs)"
	if [ "$rc" -eq 124 ]; then
		note[$c]="$what timed out after ${limit}s"
	else
		note[$c]="$what failed: $(tr '\n' ' ' <"$tmp/err")"
	fi
	local tail
	tail=$(tail -5 "$log" | tr '\n' ' ')
	[ -n "$tail" ] && note[$c]+=" -- its output ends: $tail"
	return 1
}

echo "launch throughput: $count jobs of a static true, parallelism $jobs, median of $repeats"
echo "  as $(id -un 2>/dev/null || id -u) on $(uname -sr), $(nproc) CPUs"

state[bare]=ready
if command -v bwrap >/dev/null; then
	state[bwrap]=ready
else
	state[bwrap]=skipped
	note[bwrap]="bwrap is not installed (Debian package 'bubblewrap'); case skipped"
fi
if [ -x "$mrun" ]; then
	state[mrun]=ready
else
	state[mrun]=skipped
	note[mrun]="maelstrom-run is not built ($mrun missing); case skipped"
fi

# Warm-up: page cache for every case; for maelstrom-run, builds and extracts
# the layer once into the fresh cache.
phase=warm-up
for c in "${cases[@]}"; do
	[ "${state[$c]}" = ready ] || continue
	n=20
	[ "$c" = mrun ] && n=1
	measure "$c" "$n" || state[$c]=failed
done

# Rounds: every case once per round, so slow drift hits all cases alike.
phase=timed
for ((r = 1; r <= repeats; r++)); do
	for c in "${cases[@]}"; do
		[ "${state[$c]}" = ready ] || continue
		if measure "$c" "$count"; then
			jps=$(sed -n 's/.*jobs_per_sec=\([0-9.]*\).*/\1/p' <<<"$last")
			results[$c]+="$jps "
		else
			state[$c]=failed
		fi
	done
done

# --- report -----------------------------------------------------------------------
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
declare -A med
printf '\n%-16s %10s %12s   %s\n' case "jobs/s" "wall us/job" "runs (jobs/s)"
failed=0
for c in "${cases[@]}"; do
	case ${state[$c]} in
	ready)
		med[$c]=$(median "${results[$c]}")
		printf '%-16s %10.1f %12.1f   %s\n' "${label[$c]}" "${med[$c]}" \
			"$(awk -v j="${med[$c]}" 'BEGIN {print 1e6 / j}')" "${results[$c]}"
		;;
	skipped) printf '%-16s %10s %12s   %s\n' "${label[$c]}" - - "SKIPPED: ${note[$c]}" ;;
	failed)
		printf '%-16s %10s %12s   %s\n' "${label[$c]}" - - "FAILED: ${note[$c]}"
		failed=1
		;;
	esac
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" \
	'BEGIN {ok = (op == ">=") ? v >= t : v <= t; print ok ? "met" : "NOT met"}'; }
echo
echo "ratios:"
if [ -n "${med[mrun]:-}" ] && [ -n "${med[bwrap]:-}" ]; then
	v=$(ratio "${med[mrun]}" "${med[bwrap]}")
	echo "  maelstrom-run vs bwrap, jobs/s:            ${v}x  (target >= 4x: $(verdict "$v" ">=" 4))"
else
	echo "  maelstrom-run vs bwrap, jobs/s:            n/a (a case did not run)"
fi
if [ -n "${med[mrun]:-}" ]; then
	v=$(ratio "${med[bare]}" "${med[mrun]}")
	echo "  maelstrom-run vs bare, per-job cost:       ${v}x  (target <= 2x: $(verdict "$v" "<=" 2))"
else
	echo "  maelstrom-run vs bare, per-job cost:       n/a (maelstrom-run did not run)"
fi
if [ -n "${med[bwrap]:-}" ]; then
	echo "  bwrap vs bare, per-job cost (reference):   $(ratio "${med[bare]}" "${med[bwrap]}")x"
fi
exit "$failed"
