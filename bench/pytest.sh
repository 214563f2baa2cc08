#!/usr/bin/env bash
# maelstrom-pytest wall time, warm and cold, against plain pytest,
# pytest-xdist and a bare process-per-test run, on three projects:
#   fixture    tests/fixtures/pytest-project (its failing, erroring and
#              sleeping tests left out, so every case passes)
#   generated  bench/gen-pytest-project: PACKAGES packages of TESTS trivial
#              tests each (10 x 50 = 500 by default)
#   debian     the tests Debian ships in python3-toolz and python3-simplejson
#              (/usr/lib/python3/dist-packages/{toolz,simplejson}/tests,
#              322 tests), copied into one project (toolz_tests/,
#              simplejson_tests/); skipped, saying so, when not installed
# Cases, run in rounds (every case once per round), median kept:
#   maelstrom-pytest warm  maelstrom-pytest --ui simple --slots JOBS
#                     (standalone: every test in its own container, forked
#                     from the run's warm pytest zygote; the default)
#   maelstrom-pytest cold  the same with --fork-server=false: every test a
#                     fresh interpreter in a fresh container
#   pytest            python -m pytest -q (one process, one test at a time)
#   pytest -n JOBS    python -m pytest -q -n JOBS (pytest-xdist; skipped,
#                     saying so, when xdist is not installed)
#   bare per-test     `python -m pytest -q NODE_ID` for every test, JOBS at
#                     once (xargs -P JOBS): what maelstrom-pytest does,
#                     without containers
# maelstrom-pytest gets one untimed warm-up run per project and mode first
# (its layer cache and listing state filled, as after a developer's first
# run). Ratios are printed with the targets: maelstrom-pytest warm at or
# below pytest -n JOBS (per-test isolation at the price of xdist's none),
# maelstrom-pytest cold within 1.15x of bare.
#
# Then where one test's time goes (sequential, the mean of BENCH_SAMPLES runs):
#   interpreter start      python -c pass
#   import pytest          python -c 'import pytest'        (minus the above)
#   collect its module     python -m pytest --collect-only -q NODE_ID, minus
#                          pytest's import: pytest's start-up and the collection
#                          of the test's module (TESTS tests)
#   run one test           python -m pytest -q NODE_ID, minus the collection above
#   container, empty job   maelstrom-run: `python -c pass` in the container
#                          maelstrom-pytest gives every test, minus a bare
#                          `python -c pass`
#   container, one test    maelstrom-run: the test's job as maelstrom-pytest
#                          runs it cold (pytest --verbose with its outcome
#                          plugin), minus a bare `python -m pytest -q NODE_ID`
#   warm container, one test  the same job with its fork server, forked from
#                          its zygote, whole: (a run of 1 + SAMPLES jobs minus a
#                          run of 1 job) / SAMPLES, each run starting its zygote
# The container is the one maelstrom-pytest builds for the generated project's
# tests: its job spec from its debug log (see find_job_spec).
#
# Exits non-zero only when a case that could run failed, never on a time. A
# Python without pytest skips everything; a missing maelstrom-pytest (or
# maelstrom-run) skips its cases.
#
# usage: bash bench/pytest.sh [BUILDDIR]      (default: build)
# env:   BENCH_REPEATS (rounds on the fixture, 3)  BENCH_PYTEST_GEN_REPEATS
#        (rounds on the generated project, 1: each takes minutes)
#        BENCH_PYTEST_DEBIAN_REPEATS (rounds on the Debian tests, 1)
#        BENCH_JOBS (nproc)  BENCH_TIMEOUT (seconds per measurement, 600)
#        BENCH_PYTEST_PACKAGES (10)  BENCH_PYTEST_TESTS (50)  BENCH_SAMPLES (10)
#        MAELSTROM_PYTEST_PYTHON (the interpreter; default: the first of
#        python3 on PATH and /usr/bin/python3 that imports pytest)
#        BENCH_KEEP (set: leave the temp dir with every log behind)
set -u

build=${1:-build}
jobs=${BENCH_JOBS:-$(nproc)}
limit=${BENCH_TIMEOUT:-600}
samples=${BENCH_SAMPLES:-10}
gen_packages=${BENCH_PYTEST_PACKAGES:-10}
gen_tests=${BENCH_PYTEST_TESTS:-50}
here=$(cd "$(dirname "$0")" && pwd)
fixture=$here/../tests/fixtures/pytest-project
declare -A repeats=([fixture]=${BENCH_REPEATS:-3} [generated]=${BENCH_PYTEST_GEN_REPEATS:-1}
	[debian]=${BENCH_PYTEST_DEBIAN_REPEATS:-1})
debian_src=(/usr/lib/python3/dist-packages/toolz/tests /usr/lib/python3/dist-packages/simplejson/tests)

die() { echo "pytest: $*" >&2; exit 2; }

[ -d "$build" ] || die "no build directory '$build'; run 'make bench'"
build=$(cd "$build" && pwd)
mp=$build/bin/maelstrom-pytest
mrun=$build/bin/maelstrom-run

py=""
for p in "${MAELSTROM_PYTEST_PYTHON:-}" "$(command -v python3 2>/dev/null)" /usr/bin/python3; do
	[ -n "$p" ] && [ -x "$p" ] || continue
	if "$p" -c 'import pytest' >/dev/null 2>&1; then
		py=$p
		break
	fi
done
if [ -z "$py" ]; then
	echo "pytest runners: SKIPPED: no python3 with pytest (Debian package python3-pytest)"
	exit 0
fi
export MAELSTROM_PYTEST_PYTHON=$py PYTHONDONTWRITEBYTECODE=1 NO_COLOR=1
have_xdist=0
"$py" -c 'import xdist' >/dev/null 2>&1 && have_xdist=1
[ -d "$fixture" ] || die "missing fixture $fixture"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-pytest.XXXXXX") || die "cannot make a temp dir"
cleanup() {
	chmod -R u+w "$tmp" 2>/dev/null
	[ -n "${BENCH_KEEP:-}" ] && { echo "kept $tmp"; return; }
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the projects ---------------------------------------------------------------
projects=(fixture generated)
declare -A pdir what desel_mp
pdir[fixture]=$tmp/fixture
pdir[generated]=$tmp/generated
pdir[debian]=$tmp/debian
debian_note=""
for d in "${debian_src[@]}"; do
	[ -d "$d" ] || debian_note="$d is missing (Debian packages python3-toolz, python3-simplejson)"
done
if [ -z "$debian_note" ]; then
	projects+=(debian)
	mkdir -p "$tmp/debian" || die "cannot make $tmp/debian"
	for d in "${debian_src[@]}"; do
		n=$(basename "$(dirname "$d")")_tests
		cp -r "$d" "$tmp/debian/$n" || die "cannot copy $d"
		rm -rf "$tmp/debian/$n/__pycache__"
	done
	printf '# The tests of python3-toolz and python3-simplejson, for bench/pytest.sh.\n[pytest]\n' \
		>"$tmp/debian/pytest.ini"
fi
mkdir -p "$tmp/fixture" || die "cannot make $tmp/fixture"
(cd "$fixture" && tar --exclude=__pycache__ --exclude=./.maelstrom-pytest -cf - .) |
	(cd "$tmp/fixture" && tar -xf -) || die "cannot copy $fixture"
bash "$here/gen-pytest-project" "$tmp/generated" "$gen_packages" "$gen_tests" ||
	die "gen-pytest-project failed"
# Every case leaves out the same fixture tests: those that fail on purpose
# and the sleepers.
fixture_out="tests/test_outcomes.py::test_fails_on_purpose tests/test_outcomes.py::test_fixture_error
tests/sandbox/test_env.py::test_sleeps_two_seconds tests/sandbox/test_env.py::test_sleeps_past_timeout"
desel_mp[fixture]=$(printf 'node_id.equals(%s) | ' $fixture_out)
desel_mp[fixture]=${desel_mp[fixture]% | }
desel_mp[generated]=""
desel_mp[debian]=""
declare -A desel_py
desel_py[fixture]=$(printf -- '--deselect %s ' $fixture_out)
desel_py[generated]=""
desel_py[debian]=""

for w in "${projects[@]}"; do
	d=${pdir[$w]}
	# shellcheck disable=SC2086 # the deselect list is words on purpose
	(cd "$d" && "$py" -m pytest --collect-only -q -p no:cacheprovider ${desel_py[$w]}) \
		>"$d.collect" 2>&1 || die "collecting the $w project failed: $(tail -5 "$d.collect")"
	grep '::' "$d.collect" | sed "s|^|$py -m pytest -q -p no:cacheprovider |" >"$d.cmds"
	what[$w]="$(wc -l <"$d.cmds") tests"
done

# --- measuring ---------------------------------------------------------------------
cases=(mp mpcold pytest xdist bare)
declare -A label=([mp]="maelstrom-pytest warm" [mpcold]="maelstrom-pytest cold" [pytest]="pytest"
	[xdist]="pytest -n $jobs" [bare]="bare per-test")
declare -A state results note # key: case/project
xdg=(env "XDG_CACHE_HOME=$tmp/xdg/cache" "XDG_STATE_HOME=$tmp/xdg/state"
	"XDG_CONFIG_HOME=$tmp/xdg/config")
mkdir -p "$tmp/xdg/cache" "$tmp/xdg/state" "$tmp/xdg/config"

# run_case CASE PROJECT: one run; its wall seconds in $secs, or note[] and 1.
run_case() {
	local c=$1 w=$2 d=${pdir[$2]} log=$tmp/$1.$2.log rc start end
	local -a cmd
	local -a desel
	read -ra desel <<<"${desel_py[$w]}"
	case $c in
	mp | mpcold)
		cmd=("${xdg[@]}" "$mp" --ui simple --slots "$jobs")
		[ "$c" = mpcold ] && cmd+=(--fork-server=false)
		[ -n "${desel_mp[$w]}" ] && cmd+=(-x "${desel_mp[$w]}")
		;;
	pytest) cmd=("$py" -m pytest -q -p no:cacheprovider "${desel[@]}") ;;
	xdist) cmd=("$py" -m pytest -q -p no:cacheprovider -n "$jobs" "${desel[@]}") ;;
	bare) cmd=(xargs -P "$jobs" -L 1 -a "$d.cmds" env) ;;
	esac
	start=$EPOCHREALTIME
	(cd "$d" && timeout "$limit" "${cmd[@]}") >"$log" 2>&1 </dev/null
	rc=$?
	end=$EPOCHREALTIME
	if [ "$rc" -eq 0 ]; then
		secs=$(awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f", b - a}')
		return 0
	fi
	if [ "$rc" -eq 124 ]; then
		note[$c/$w]="timed out after ${limit}s"
	else
		note[$c/$w]="exited with $rc"
	fi
	note[$c/$w]+=" -- its output ends: $(tail -5 "$log" | tr '\n' ' ')"
	return 1
}

echo
echo "pytest runners: parallelism $jobs; median of ${repeats[fixture]} (fixture), ${repeats[generated]} (generated), ${repeats[debian]} (debian)"
echo "  as $(id -un 2>/dev/null || id -u) on $(uname -sr), $(nproc) CPUs, $py: $("$py" --version 2>&1)," \
	"pytest $("$py" -c 'import pytest; print(pytest.__version__)')"
for w in "${projects[@]}"; do echo "  $w: ${what[$w]}"; done
[ -z "$debian_note" ] || echo "  debian: SKIPPED: $debian_note"

for w in "${projects[@]}"; do
	for c in "${cases[@]}"; do
		state[$c/$w]=ready
	done
	if [ ! -x "$mp" ]; then
		state[mp/$w]=skipped state[mpcold/$w]=skipped
		note[mp/$w]="maelstrom-pytest is not built ($mp missing)"
		note[mpcold/$w]=${note[mp/$w]}
	fi
	if [ "$have_xdist" -eq 0 ]; then
		state[xdist/$w]=skipped
		note[xdist/$w]="pytest-xdist is not installed for $py (Debian package python3-pytest-xdist)"
	fi
	# Warm-up: maelstrom-pytest's caches, everyone's page cache.
	for c in mp mpcold; do
		if [ "${state[$c/$w]}" = ready ]; then
			run_case "$c" "$w" || state[$c/$w]=failed
		fi
	done
	if [ "${state[pytest/$w]}" = ready ]; then
		run_case pytest "$w" || state[pytest/$w]=failed
	fi
done
for w in "${projects[@]}"; do
	for ((r = 1; r <= ${repeats[$w]}; r++)); do
		for c in "${cases[@]}"; do
			[ "${state[$c/$w]}" = ready ] || continue
			if run_case "$c" "$w"; then
				results[$c/$w]+="$secs "
			else
				state[$c/$w]=failed
			fi
		done
	done
done

# --- where a test's time goes ----------------------------------------------------------
# mean_ms N CMD...: runs CMD N times in a row (in the generated project);
# prints the mean wall milliseconds per run, or "-" when a run failed.
mean_ms() {
	local n=$1 i start end
	shift
	start=$EPOCHREALTIME
	for ((i = 0; i < n; i++)); do
		(cd "${pdir[generated]}" && "$@") >/dev/null 2>&1 </dev/null || { echo -; return 1; }
	done
	end=$EPOCHREALTIME
	awk -v a="$start" -v b="$end" -v n="$n" 'BEGIN {printf "%.1f", (b - a) * 1000 / n}'
}

# The container maelstrom-pytest gives a test of the generated project, in
# $tmp/jobspec.json, from its debug log: its "job spec: {...}" line when it
# prints one, else rebuilt from the layers it built ("layer {...} built as")
# and what runners/pytest/pytest_job.h documents (the shared libraries of the
# interpreter and its extension modules, which the log cuts short, from the
# collection helper's "python" record; the default mounts, minus
# the /tmp mount when the project is under /tmp, which makes the root
# writable instead; PYTHONPATH = the plugin's directory; the project as the
# working directory; the interpreter it names in "tests run with PATH").
find_job_spec() {
	local log=$tmp/spec.log spec=$tmp/jobspec.json d proj pyin
	[ -x "$mp" ] || return 1
	command -v jq >/dev/null || return 1
	d=${pdir[generated]}
	(cd "$d" && timeout "$limit" "${xdg[@]}" "$mp" -L debug --ui simple \
		-i 'node_id.equals(pkg_00/test_cases.py::test_case_0000)') >"$log" 2>&1 </dev/null
	sed -n 's/^.*job spec: //p' "$log" | head -1 >"$spec"
	if [ -s "$spec" ] && jq -e .program "$spec" >/dev/null 2>&1; then
		spec_how="maelstrom-pytest's job spec"
		return 0
	fi
	proj=$(cd "$d" && pwd -P)
	pyin=$(sed -n 's/^.*debug: tests run with \(.*\) (Python .*$/\1/p' "$log" | head -1)
	[ -n "$pyin" ] || return 1
	sed -n 's/^.*debug: layer \({.*}\) built as [0-9a-f]*$/\1/p' "$log" >"$tmp/layers.lines"
	# The log cuts long lines: the shared libraries' layer (one path per
	# extension module) is rebuilt from the collection helper's record.
	if grep -q 'debug: layer {"shared-library-dependencies"' "$log" &&
		! grep -q '^{"shared-library-dependencies"' "$tmp/layers.lines"; then
		local helpers dropped
		helpers=$(jq -r '.paths // [] | .[] | select(endswith("/maelstrom_pytest_report.py"))' \
			"$tmp/layers.lines" | head -1)
		helpers=${helpers%/*}
		[ -f "$helpers/maelstrom_pytest_collect.py" ] || return 1
		(cd "$d" && "$pyin" "$helpers/maelstrom_pytest_collect.py" pkg_00/test_cases.py) 2>/dev/null |
			jq -c 'select(.type == "python")' >"$tmp/python.json"
		dropped=$(sed -n 's/^.*debug: tests run with .*; \([0-9]*\) extension modules* left out.*$/\1/p' "$log")
		# Extension modules maelstrom-pytest left out are unknown here: then
		# only the interpreter's libraries.
		jq -c --arg all "$([ "${dropped:-0}" -eq 0 ] && echo 1)" \
			'{"shared-library-dependencies": ([.real_executable] + (if $all == "1" then .extensions else [] end))}' \
			"$tmp/python.json" >>"$tmp/layers.lines" || return 1
	fi
	jq -s 'sort_by(if has("stubs") then 0 else 1 end)' "$tmp/layers.lines" >"$tmp/layers.json" || return 1
	jq -n --slurpfile layers "$tmp/layers.json" --arg py "$pyin" --arg proj "$proj" '
		($layers[0] | map(.paths // [] | .[]) | map(select(endswith("/maelstrom_pytest_report.py")))
			| first // "" | sub("/[^/]*$"; "")) as $helpers
		| ($proj | startswith("/tmp/") or . == "/tmp") as $under_tmp
		| {layers: $layers[0],
		   mounts: ((if $under_tmp then [] else [{type: "tmp", mount_point: "/tmp"}] end)
			+ [{type: "proc", mount_point: "/proc"}, {type: "sys", mount_point: "/sys"},
			   {type: "devices", devices: ["full", "null", "random", "urandom", "zero"]}]),
		   enable_writable_file_system: $under_tmp,
		   environment: {PYTHONPATH: $helpers, PYTEST_XDIST_AUTO_NUM_WORKERS: "1",
			PYTHONDONTWRITEBYTECODE: "1",
			PATH: (($py | sub("/[^/]*$"; "")) + ":/usr/local/bin:/usr/bin:/bin")},
		   working_directory: $proj,
		   program: $py,
		   arguments: ["-m", "pytest", "--verbose", "-p", "no:cacheprovider", "-p",
			"maelstrom_pytest_report", "pkg_00/test_cases.py::test_case_0000"]}' >"$spec" || return 1
	spec_how="rebuilt from maelstrom-pytest's debug log"
	jq -e '.layers | length > 0' "$spec" >/dev/null
}
container_job() { # ARGV-JSON [warm]: the container's job with that program and
	# arguments, cold (no fork server) unless "warm" is given
	jq -c --argjson argv "$1" --arg warm "${2:-}" \
		'.program = $argv[0] | .arguments = $argv[1:] | del(.timeout)
		 | if $warm == "warm" then . else del(.fork_server) end' "$tmp/jobspec.json"
}

node=pkg_00/test_cases.py::test_case_0000
declare -A bd
bd[start]=$(mean_ms "$samples" "$py" -c pass)
bd[import]=$(mean_ms "$samples" "$py" -c 'import pytest')
bd[collect]=$(mean_ms "$samples" "$py" -m pytest --collect-only -q -p no:cacheprovider "$node")
bd[one]=$(mean_ms "$samples" "$py" -m pytest -q -p no:cacheprovider "$node")
bd[c_empty]=- bd[c_one]=- bd[c_warm]=- bd_note="" spec_how=""
if [ ! -x "$mrun" ]; then
	bd_note="maelstrom-run is not built ($mrun missing)"
elif ! find_job_spec; then
	bd_note="could not find maelstrom-pytest's container in its debug log ($tmp/spec.log)"
else
	# Stream SAMPLES jobs through one maelstrom-run at one slot (plus one
	# warm-up job that builds and extracts the layers): the wall time per job.
	# mrun_s FILE: wall seconds of one maelstrom-run -f FILE at one slot.
	mrun_s() {
		local start=$EPOCHREALTIME
		(cd "${pdir[generated]}" && timeout "$limit" "${xdg[@]}" "$mrun" --slots 1 -f "$1") \
			>/dev/null 2>&1 || { echo -; return 1; }
		awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.6f", b - a}'
	}
	# mrun_ms ARGV-JSON [warm]: milliseconds per job. Cold: SAMPLES jobs
	# through one maelstrom-run, after a warm-up run of one job that builds
	# and extracts the layers. Warm: each maelstrom-run starts its own
	# zygote, so the time of a run of 1 + SAMPLES jobs minus that of a run of
	# one job, over SAMPLES: the jobs forked from a zygote that is up.
	mrun_ms() {
		local job one all
		job=$(container_job "$1" "${2:-}") || { echo -; return 1; }
		printf '%s\n' "$job" >"$tmp/mrun-one.json"
		for ((i = 0; i < samples; i++)); do printf '%s\n' "$job"; done >"$tmp/mrun-jobs.json"
		one=$(mrun_s "$tmp/mrun-one.json") || { echo -; return 1; }
		if [ "${2:-}" = warm ]; then
			cat "$tmp/mrun-one.json" "$tmp/mrun-jobs.json" >"$tmp/mrun-more.json"
			one=$(mrun_s "$tmp/mrun-one.json") || { echo -; return 1; }
			all=$(mrun_s "$tmp/mrun-more.json") || { echo -; return 1; }
			awk -v a="$one" -v b="$all" -v n="$samples" 'BEGIN {printf "%.1f", (b - a) * 1000 / n}'
			return
		fi
		all=$(mrun_s "$tmp/mrun-jobs.json") || { echo -; return 1; }
		awk -v b="$all" -v n="$samples" 'BEGIN {printf "%.1f", b * 1000 / n}'
	}
	pyin=$(jq -r .program "$tmp/jobspec.json")
	bd[c_empty]=$(mrun_ms "$(jq -cn --arg p "$pyin" '[$p, "-c", "pass"]')")
	# The test job as maelstrom-pytest runs it: its own program and arguments.
	bd[c_one]=$(mrun_ms "$(jq -c '[.program] + .arguments' "$tmp/jobspec.json")")
	# And forked from its zygote.
	if jq -e .fork_server "$tmp/jobspec.json" >/dev/null 2>&1; then
		bd[c_warm]=$(mrun_ms "$(jq -c '[.program] + .arguments' "$tmp/jobspec.json")" warm)
	fi
	[ "${bd[c_empty]}" != - ] || bd_note="maelstrom-run could not run the container's python -c pass"
fi

# --- report ------------------------------------------------------------------------
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
declare -A med
failed=0
for w in "${projects[@]}"; do
	printf '\n%s (%s)\n' "$w" "${what[$w]}"
	printf '  %-22s %9s   %s\n' case "wall s" "runs (s)"
	for c in "${cases[@]}"; do
		case ${state[$c/$w]} in
		ready)
			med[$c/$w]=$(median "${results[$c/$w]}")
			printf '  %-22s %9.3f   %s\n' "${label[$c]}" "${med[$c/$w]}" "${results[$c/$w]}"
			;;
		skipped) printf '  %-22s %9s   %s\n' "${label[$c]}" - "SKIPPED: ${note[$c/$w]}" ;;
		failed)
			printf '  %-22s %9s   %s\n' "${label[$c]}" - "FAILED: ${note[$c/$w]}"
			failed=1
			;;
		esac
	done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN {print (v <= t) ? "met" : "NOT met"}'; }
echo
echo "ratios (wall time):"
# one_ratio PROJECT A B [TARGET]: the line "A / B: R x (target or reference)".
one_ratio() {
	local w=$1 a=$2 b=$3 t=${4:-} pre what v
	pre=$(printf %-10s "$w:")
	what=$(printf '%-46s' "${label[$a]} / ${label[$b]}:")
	if [ -z "${med[$a/$w]:-}" ] || [ -z "${med[$b/$w]:-}" ]; then
		echo "  $pre $what n/a (${note[$a/$w]:-${note[$b/$w]:-a case did not run}})"
		return
	fi
	v=$(ratio "${med[$a/$w]}" "${med[$b/$w]}")
	if [ -n "$t" ]; then
		echo "  $pre $what ${v}x  (target <= ${t}x: $(verdict "$v" "$t"))"
	else
		echo "  $pre $what ${v}x  (reference)"
	fi
}
for w in "${projects[@]}"; do
	one_ratio "$w" mp xdist 1.00
	one_ratio "$w" mp pytest
	one_ratio "$w" mp mpcold
	one_ratio "$w" mpcold bare 1.15
	one_ratio "$w" mpcold xdist
	one_ratio "$w" bare pytest
done

sub() { # A B: A - B, or "-" when either is missing
	if [ "$1" = - ] || [ "$2" = - ]; then echo -; else awk -v a="$1" -v b="$2" 'BEGIN {printf "%.1f", a - b}'; fi
}
echo
echo "where one test's time goes (ms, sequential, mean of $samples runs; generated project):"
printf '  %-46s %8s   %s\n' "interpreter start (python -c pass)" "${bd[start]}" ""
printf '  %-46s %8s   %s\n' "import pytest" "$(sub "${bd[import]}" "${bd[start]}")" \
	"(python -c 'import pytest': ${bd[import]})"
printf '  %-46s %8s   %s\n' "pytest start-up, collecting its module" \
	"$(sub "${bd[collect]}" "${bd[import]}")" "(pytest --collect-only NODE_ID: ${bd[collect]})"
printf '  %-46s %8s   %s\n' "running the test, reporting" "$(sub "${bd[one]}" "${bd[collect]}")" \
	"(pytest NODE_ID: ${bd[one]})"
printf '  %-46s %8s   %s\n' "container around python -c pass" "$(sub "${bd[c_empty]}" "${bd[start]}")" \
	"(maelstrom-run, python -c pass: ${bd[c_empty]})"
printf '  %-46s %8s   %s\n' "container around one test" "$(sub "${bd[c_one]}" "${bd[one]}")" \
	"(maelstrom-run, the test's job: ${bd[c_one]})"
printf '  %-46s %8s   %s\n' "one test forked from the warm zygote, whole" "${bd[c_warm]}" \
	"(maelstrom-run, the test's job with its fork server)"
if [ -n "$bd_note" ]; then
	echo "  container rows: $bd_note"
else
	echo "  container rows: maelstrom-run, one slot, $samples jobs after a warm-up job (warm: a run of"
	echo "  1 + $samples jobs minus a run of 1, each starting its zygote); the container $spec_how"
fi
exit "$failed"
