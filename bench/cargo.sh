#!/usr/bin/env bash
# cargo-maelstrom wall time against `cargo test` and a bare process-per-test
# run, on two workspaces whose test binaries are already built:
#   fixture    tests/fixtures/cargo-workspace (5 test binaries; its slow,
#              failing and ignored tests left out, so every case passes)
#   generated  bench/gen-cargo-workspace: PACKAGES test binaries of TESTS
#              trivial tests each (10 x 200 = 2,000 by default)
# Cases, run in rounds (all cases once per round), REPEATS rounds, median kept:
#   cargo-maelstrom  cargo-maelstrom --offline --quiet --slots JOBS (standalone)
#   cargo test       cargo test --offline --workspace -q -- --test-threads=JOBS
#   bare             every test as its own process, `<bin> --exact <name>`,
#                    JOBS at once (xargs -P JOBS)
#   cargo no-run     cargo test --offline --workspace --no-run: cargo's
#                    freshness check alone, a fixed cost every cargo-maelstrom
#                    run pays (with `cargo metadata`) and bare does not;
#                    reference only
# Each case gets one untimed warm-up run first (for cargo-maelstrom: its
# layer cache and listing state are filled, as on a developer's machine
# after the first run). Ratios printed with their targets (cargo-maelstrom
# within 1.2x of bare; faster than cargo test on the generated workspace).
# Exits non-zero only when a case that could run failed, never on a time; a
# missing cargo skips everything, a missing cargo-maelstrom skips its case.
#
# usage: bash bench/cargo.sh [BUILDDIR]      (default: build)
# env:   BENCH_REPEATS (3)  BENCH_JOBS (nproc)  BENCH_TIMEOUT (seconds per
#        measurement, 120)  BENCH_CARGO_PACKAGES (10)  BENCH_CARGO_TESTS (200)
set -u

build=${1:-build}
repeats=${BENCH_REPEATS:-3}
jobs=${BENCH_JOBS:-$(nproc)}
limit=${BENCH_TIMEOUT:-120}
gen_packages=${BENCH_CARGO_PACKAGES:-10}
gen_tests=${BENCH_CARGO_TESTS:-200}
here=$(cd "$(dirname "$0")" && pwd)
fixture=$here/../tests/fixtures/cargo-workspace

die() { echo "cargo: $*" >&2; exit 2; }

[ -d "$build" ] || die "no build directory '$build'; run 'make bench'"
build=$(cd "$build" && pwd)
cm=$build/bin/cargo-maelstrom

cargo=$(command -v cargo 2>/dev/null)
[ -z "$cargo" ] && [ -x "${HOME:-/nonexistent}/.cargo/bin/cargo" ] && cargo=$HOME/.cargo/bin/cargo
if [ -z "$cargo" ] || ! "$cargo" --version >/dev/null 2>&1; then
	echo "cargo test runners: SKIPPED: cargo is not installed (or not usable by $(id -un 2>/dev/null || id -u))"
	exit 0
fi
PATH=$(dirname "$cargo"):$PATH
command -v jq >/dev/null || die "jq is needed to read cargo's JSON messages (Debian package 'jq')"
[ -d "$fixture" ] || die "missing fixture $fixture"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-cargo.XXXXXX") || die "cannot make a temp dir"
cleanup() {
	chmod -R u+w "$tmp" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export CARGO_HOME=$tmp/cargo-home CARGO_INCREMENTAL=0 NO_COLOR=1
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR
mkdir -p "$CARGO_HOME"

# --- the workspaces, built ----------------------------------------------------
workspaces=(fixture generated)
declare -A wsdir skip_cargo skip_cm what
wsdir[fixture]=$tmp/fixture
wsdir[generated]=$tmp/generated
(cd "$fixture" && tar --exclude=./target -cf - .) | (mkdir -p "$tmp/fixture" && cd "$tmp/fixture" && tar -xf -) ||
	die "cannot copy $fixture"
bash "$here/gen-cargo-workspace" "$tmp/generated" "$gen_packages" "$gen_tests" ||
	die "gen-cargo-workspace failed"
# The fixture's sleepers and its deliberate failure stay out of every case.
skip_cargo[fixture]="--skip slow:: --skip verdict::fails_on_purpose"
skip_cm[fixture]="name.starts_with(slow::) | name.equals(verdict::fails_on_purpose)"
skip_cargo[generated]=""
skip_cm[generated]=""

for w in "${workspaces[@]}"; do
	d=${wsdir[$w]}
	echo "building the $w workspace..."
	(cd "$d" && timeout 600 cargo test --offline --workspace --no-run --message-format=json \
		2>"$d.build.err") >"$d.build.json" ||
		die "building the $w workspace failed: $(tail -5 "$d.build.err")"
	jq -r 'select(.reason == "compiler-artifact" and .profile.test == true and .executable != null)
		| .executable' "$d.build.json" >"$d.bins"
	# One "BIN --exact NAME" line per test that is not ignored.
	: >"$d.cmds"
	while read -r bin; do
		"$bin" --list --format terse --ignored 2>/dev/null | sed -n 's/: test$//p' | sort >"$d.ign"
		"$bin" --list --format terse 2>/dev/null | sed -n 's/: test$//p' | sort |
			comm -23 - "$d.ign" | sed "s|^|$bin --exact |" >>"$d.cmds"
	done <"$d.bins"
	if [ "$w" = fixture ]; then
		grep -v -e ' --exact slow::' -e ' --exact verdict::fails_on_purpose$' "$d.cmds" >"$d.cmds2"
		mv "$d.cmds2" "$d.cmds"
	fi
	what[$w]="$(wc -l <"$d.bins") test binaries, $(wc -l <"$d.cmds") tests run"
done

# --- measuring -------------------------------------------------------------------
cases=(cm cargo bare norun)
declare -A label=([cm]="cargo-maelstrom" [cargo]="cargo test" [bare]="bare per-test"
	[norun]="cargo no-run")
declare -A state results note # key: case/workspace

# run_case CASE WS: one run; its wall seconds in $secs, or note[] and 1.
run_case() {
	local c=$1 w=$2 d=${wsdir[$2]} log=$tmp/$1.$2.log rc start end
	local -a cmd
	case $c in
	cm)
		cmd=(env "XDG_CACHE_HOME=$tmp/xdg/cache" "XDG_STATE_HOME=$tmp/xdg/state"
			"XDG_CONFIG_HOME=$tmp/xdg/config" "$cm" --offline --quiet --slots "$jobs")
		[ -n "${skip_cm[$w]}" ] && cmd+=(-x "${skip_cm[$w]}")
		;;
	cargo)
		# shellcheck disable=SC2206 # the skip list is words on purpose
		cmd=(cargo test --offline --workspace -q -- --test-threads="$jobs" ${skip_cargo[$w]})
		;;
	bare) cmd=(xargs -P "$jobs" -L 1 -a "$d.cmds" env) ;;
	norun) cmd=(cargo test --offline --workspace --no-run -q) ;;
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
echo "cargo test runners: binaries already built, parallelism $jobs, median of $repeats"
echo "  as $(id -un 2>/dev/null || id -u) on $(uname -sr), $(nproc) CPUs, $(cargo --version)"
for w in "${workspaces[@]}"; do echo "  $w: ${what[$w]}"; done

mkdir -p "$tmp/xdg/cache" "$tmp/xdg/state" "$tmp/xdg/config"
for w in "${workspaces[@]}"; do
	for c in "${cases[@]}"; do
		state[$c/$w]=ready
	done
	if [ ! -x "$cm" ]; then
		state[cm/$w]=skipped
		note[cm/$w]="cargo-maelstrom is not built ($cm missing)"
	fi
	for c in "${cases[@]}"; do # warm-up
		[ "${state[$c/$w]}" = ready ] || continue
		run_case "$c" "$w" || state[$c/$w]=failed
	done
done
for ((r = 1; r <= repeats; r++)); do
	for w in "${workspaces[@]}"; do
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

# --- report ------------------------------------------------------------------------
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
declare -A med
failed=0
for w in "${workspaces[@]}"; do
	printf '\n%s (%s)\n' "$w" "${what[$w]}"
	printf '  %-16s %9s   %s\n' case "wall s" "runs (s)"
	for c in "${cases[@]}"; do
		case ${state[$c/$w]} in
		ready)
			med[$c/$w]=$(median "${results[$c/$w]}")
			printf '  %-16s %9.3f   %s\n' "${label[$c]}" "${med[$c/$w]}" "${results[$c/$w]}"
			;;
		skipped) printf '  %-16s %9s   %s\n' "${label[$c]}" - "SKIPPED: ${note[$c/$w]}" ;;
		failed)
			printf '  %-16s %9s   %s\n' "${label[$c]}" - "FAILED: ${note[$c/$w]}"
			failed=1
			;;
		esac
	done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
verdict() { awk -v v="$1" -v op="$2" -v t="$3" \
	'BEGIN {ok = (op == ">") ? v > t : v <= t; print ok ? "met" : "NOT met"}'; }
echo
echo "ratios (wall time):"
for w in "${workspaces[@]}"; do
	if [ -n "${med[cm/$w]:-}" ] && [ -n "${med[bare/$w]:-}" ]; then
		v=$(ratio "${med[cm/$w]}" "${med[bare/$w]}")
		echo "  $(printf %-10s "$w:") cargo-maelstrom / bare per-test:  ${v}x  (target <= 1.2x: $(verdict "$v" "<=" 1.2))"
	else
		echo "  $(printf %-10s "$w:") cargo-maelstrom / bare per-test:  n/a (a case did not run)"
	fi
	if [ -n "${med[cm/$w]:-}" ] && [ -n "${med[cargo/$w]:-}" ]; then
		v=$(ratio "${med[cargo/$w]}" "${med[cm/$w]}")
		if [ "$w" = generated ]; then
			echo "  $(printf %-10s "$w:") cargo test / cargo-maelstrom:     ${v}x  (target > 1x, i.e. faster: $(verdict "$v" ">" 1))"
		else
			echo "  $(printf %-10s "$w:") cargo test / cargo-maelstrom:     ${v}x  (reference)"
		fi
	else
		echo "  $(printf %-10s "$w:") cargo test / cargo-maelstrom:     n/a (a case did not run)"
	fi
	if [ -n "${med[cargo/$w]:-}" ] && [ -n "${med[bare/$w]:-}" ]; then
		echo "  $(printf %-10s "$w:") bare per-test / cargo test:       $(ratio "${med[bare/$w]}" "${med[cargo/$w]}")x  (reference)"
	fi
done
exit "$failed"
