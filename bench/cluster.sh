#!/usr/bin/env bash
# Cluster mode costs, everything on loopback:
#  (a) dispatch: BENCH_DISPATCH_JOBS (50,000) runs of a static `true` through
#      maelstrom-broker + one maelstrom-worker (slots = CPUs), against the
#      same jobs run standalone by maelstrom-run --slots CPUs. Prints jobs/s
#      for both and the broker's CPU time per job (utime + stime from
#      /proc/PID/stat, before and after) against the 20 us target.
#  (b) scaling: BENCH_SCALE_JOBS (400) jobs of `sleep 0.2` over 1, 2 and 4
#      workers of BENCH_SLOTS (4) slots each; the makespan (maelstrom-run's
#      wall time) against the ideal jobs * 0.2 s / total slots, as a ratio
#      (target within 1.1x at 4 workers).
# Never fails on a threshold. A missing program skips the bench (exit 0); a
# case that could run but failed is reported with the end of its log and
# makes the exit status 1.
#
# usage: bash bench/cluster.sh [BUILDDIR]     (default: build)
# env:   BENCH_DISPATCH_JOBS (50000)  BENCH_SCALE_JOBS (400)
#        BENCH_SCALE_SLEEP (0.2)  BENCH_SLOTS (4)  BENCH_SCALE_WORKERS ("1 2 4")
#        BENCH_TIMEOUT (seconds allowed for one measurement, 600)
set -u

build=${1:-build}
dispatch_jobs=${BENCH_DISPATCH_JOBS:-50000}
scale_jobs=${BENCH_SCALE_JOBS:-400}
scale_sleep=${BENCH_SCALE_SLEEP:-0.2}
slots=${BENCH_SLOTS:-4}
scale_workers=${BENCH_SCALE_WORKERS:-1 2 4}
limit=${BENCH_TIMEOUT:-600}
busybox=${BUSYBOX:-/bin/busybox}
cpus=$(nproc)
bench_start=$(date +%s.%N)

die() { echo "cluster: $*" >&2; exit 2; }

[ -d "$build" ] || die "no build directory '$build'; run 'make bench'"
build=$(cd "$build" && pwd)
broker=$build/bin/maelstrom-broker
worker=$build/bin/maelstrom-worker
admin=$build/bin/maelstrom-admin
mrun=$build/bin/maelstrom-run
true_bin=$build/tests/static-true

missing=()
for p in "$broker" "$worker" "$admin" "$mrun" "$true_bin" "$busybox"; do
	[ -x "$p" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "cluster bench SKIPPED: missing ${missing[*]}"
	exit 0
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-cluster.XXXXXX") || die "cannot make a temp dir"
pids=()
cleanup() {
	local p i
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do
		for i in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	pids=()
	chmod -R u+w "$tmp" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export XDG_CACHE_HOME=$tmp/xdg/cache XDG_STATE_HOME=$tmp/xdg/state XDG_CONFIG_HOME=$tmp/xdg/config
mkdir -p "$tmp/bin" "$XDG_CACHE_HOME" "$XDG_STATE_HOME" "$XDG_CONFIG_HOME" || die "cannot fill $tmp"
cp "$true_bin" "$tmp/bin/static-true" && cp "$busybox" "$tmp/bin/busybox" || die "cannot copy the job binaries"

true_spec="{\"layers\": [{\"paths\": [\"$tmp/bin/static-true\"], \"strip_prefix\": \"$tmp/bin/\"}], \"program\": \"/static-true\"}"
sleep_spec() { # sleep_spec SECONDS
	printf '{"layers": [{"paths": ["%s"], "strip_prefix": "%s"}], "program": "/busybox", "arguments": ["sleep", "%s"]}\n' \
		"$tmp/bin/busybox" "$tmp/bin/" "$1"
}
printf '%s\n' "$true_spec" >"$tmp/true1.json"
yes "$true_spec" | head -n "$dispatch_jobs" >"$tmp/dispatch.json"
yes "$(sleep_spec "$scale_sleep")" | head -n "$scale_jobs" >"$tmp/scale.json"

failed=0
now() { date +%s.%N; }
calc() { awk "BEGIN {printf \"$1\", $2}"; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" \
	'BEGIN {ok = (op == ">=") ? v >= t : v <= t; print ok ? "met" : "NOT met"}'; }

# cpu_ticks PID: utime + stime of PID, in clock ticks.
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; }
tck=$(getconf CLK_TCK)

# --- the cluster (all on 127.0.0.1) --------------------------------------------
broker_pid="" broker_addr="" nworkers=0

start_broker() {
	local log=$tmp/broker.log i port=""
	"$broker" --port 0 --http-port 0 --cache-root "$tmp/broker-cache" >/dev/null 2>"$log" </dev/null &
	broker_pid=$!
	pids+=("$broker_pid")
	for i in $(seq 200); do
		port=$(sed -n 's/.*listening on port \([0-9][0-9]*\).*/\1/p' "$log" | head -1)
		[ -n "$port" ] && break
		kill -0 "$broker_pid" 2>/dev/null || break
		sleep 0.05
	done
	[ -n "$port" ] || { note="broker did not start: $(tail -3 "$log" | tr '\n' ' ')"; return 1; }
	broker_addr=127.0.0.1:$port
}

# add_worker SLOTS: one more worker; waits until the broker lists them all.
add_worker() {
	nworkers=$((nworkers + 1))
	"$worker" --broker "$broker_addr" --slots "$1" --cache-root "$tmp/worker$nworkers-cache" \
		>/dev/null 2>"$tmp/worker$nworkers.log" </dev/null &
	pids+=($!)
	local i n=0
	for i in $(seq 100); do
		n=$(timeout 10 "$admin" --broker "$broker_addr" status --json 2>/dev/null | grep -o '"slots"' | wc -l)
		[ "$n" -eq "$nworkers" ] && return 0
		sleep 0.1
	done
	note="the broker lists $n workers, expected $nworkers: $(tail -3 "$tmp/worker$nworkers.log" | tr '\n' ' ')"
	return 1
}

stop_cluster() {
	local p i cleanup_pids=("${pids[@]}")
	for p in "${cleanup_pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${cleanup_pids[@]}"; do
		for i in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	pids=()
	nworkers=0
}

# timed_run NAME ARGS...: maelstrom-run ARGS under the time limit; sets
# secs, or note and returns 1.
timed_run() {
	local name=$1 t0 t1 rc
	shift
	t0=$(now)
	timeout "$limit" "$mrun" "$@" >/dev/null 2>"$tmp/$name.err" </dev/null
	rc=$?
	t1=$(now)
	secs=$(calc %.3f "$t1 - $t0")
	[ "$rc" -eq 0 ] && return 0
	if [ "$rc" -eq 124 ]; then
		note="$name timed out after ${limit}s"
	else
		note="$name exited $rc: $(tail -3 "$tmp/$name.err" | tr '\n' ' ')"
	fi
	return 1
}

# --- (a) dispatch ----------------------------------------------------------------
echo "(a) dispatch: $dispatch_jobs jobs of a static true, $cpus slots, on loopback"
echo "    as $(id -un 2>/dev/null || id -u) on $(uname -sr), $cpus CPUs"
note=""
declare -A jps
if timed_run standalone-warm --slots "$cpus" -f "$tmp/true1.json" &&
	timed_run standalone --slots "$cpus" -f "$tmp/dispatch.json"; then
	jps[standalone]=$(calc %.1f "$dispatch_jobs / $secs")
	printf '    %-22s %10s jobs/s  (%ss)\n' standalone "${jps[standalone]}" "$secs"
else
	printf '    %-22s FAILED: %s\n' standalone "$note"
	failed=1
fi
note=""
broker_cpu_us=""
if start_broker && add_worker "$cpus" &&
	timed_run cluster-warm --broker "$broker_addr" -f "$tmp/true1.json"; then
	c0=$(cpu_ticks "$broker_pid")
	if timed_run cluster --broker "$broker_addr" -f "$tmp/dispatch.json"; then
		c1=$(cpu_ticks "$broker_pid")
		jps[cluster]=$(calc %.1f "$dispatch_jobs / $secs")
		broker_cpu_us=$(calc %.1f "($c1 - $c0) / $tck * 1e6 / $dispatch_jobs")
		printf '    %-22s %10s jobs/s  (%ss)\n' "broker + 1 worker" "${jps[cluster]}" "$secs"
	else
		printf '    %-22s FAILED: %s\n' "broker + 1 worker" "$note"
		failed=1
	fi
else
	printf '    %-22s FAILED: %s\n' "broker + 1 worker" "$note"
	failed=1
fi
stop_cluster
if [ -n "${jps[cluster]:-}" ]; then
	echo "    broker CPU per job:          ${broker_cpu_us} us  (target <= 20 us: $(verdict "$broker_cpu_us" "<=" 20))"
fi
if [ -n "${jps[cluster]:-}" ] && [ -n "${jps[standalone]:-}" ]; then
	echo "    cluster vs standalone jobs/s: $(calc %.2f "${jps[cluster]} / ${jps[standalone]}")x"
fi

# --- (b) scaling ---------------------------------------------------------------------
echo
echo "(b) scaling: $scale_jobs jobs of sleep $scale_sleep, $slots slots per worker, on loopback"
printf '    %-8s %6s %10s %10s %8s\n' workers slots "makespan" ideal ratio
note=""
last_ratio="" last_w=""
if start_broker; then
	for w in $scale_workers; do
		ok=1
		while [ "$nworkers" -lt "$w" ]; do
			add_worker "$slots" || { ok=0; break; }
		done
		total=$((w * slots))
		if [ "$ok" -eq 1 ]; then
			# Warm-up: the layer reaches the broker and (most likely) every worker.
			yes "$(sleep_spec 0)" | head -n "$((2 * total))" >"$tmp/warm.json"
			timed_run scale-warm-$w --broker "$broker_addr" -f "$tmp/warm.json" &&
				timed_run scale-$w --broker "$broker_addr" -f "$tmp/scale.json" || ok=0
		fi
		if [ "$ok" -eq 1 ]; then
			ideal=$(calc %.2f "$scale_jobs * $scale_sleep / $total")
			last_ratio=$(calc %.2f "$secs / $ideal")
			last_w=$w
			printf '    %-8s %6s %9ss %9ss %7sx\n' "$w" "$total" "$secs" "$ideal" "$last_ratio"
		else
			printf '    %-8s %6s FAILED: %s\n' "$w" "$total" "$note"
			failed=1
			break
		fi
	done
else
	echo "    FAILED: $note"
	failed=1
fi
stop_cluster
if [ -n "$last_ratio" ]; then
	echo "    makespan / ideal at $last_w workers: ${last_ratio}x  (target <= 1.1x at 4 workers: $(verdict "$last_ratio" "<=" 1.1))"
fi

echo
echo "cluster bench took $(calc %.0f "$(now) - $bench_start")s"
exit "$failed"
