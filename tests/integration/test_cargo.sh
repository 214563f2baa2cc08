# cargo-maelstrom against tests/fixtures/cargo-workspace: every outcome,
# every option, the listing state's order, JUnit, --init, and agreement with
# `cargo test`.
#
# Each test works on its own copy of the fixture in $SCRATCH, never in the
# source tree. The fixture is built once per suite run into a cache dir
# (workspace copy + target dir, removed when the suite's shell exits); each
# test copies both, so cargo finds everything fresh and only links nothing.
# cargo always runs with --offline, CARGO_HOME and CARGO_TARGET_DIR in the
# scratch dir. When cargo itself is missing (as for the unprivileged pass if
# the toolchain lives in root's home), each test says so and passes.
#
# Fixture tests (display "PKG NAME"; names are unique across the workspace):
#   mathlib lib     tests::adds_numbers, tests::multiplies_numbers,
#                   tests::ignored_by_attribute (#[ignore])
#   mathlib api     public_api_adds, public_api_chains (integration test)
#   greeter bin     tests::greets_by_name
#   probes lib      args::marker_argument_absent (fails when the positional
#                   argument maelstrom_fixture_marker reaches it),
#                   sandbox::proc_self_status_exists, sandbox::tmp_is_writable,
#                   output::prints_to_both_streams, slow::sleeps_two_seconds,
#                   slow::sleeps_past_timeout (5 s; the fixture's
#                   cargo-maelstrom.toml gives it timeout = 1),
#                   verdict::fails_on_purpose (prints, then fails)
#   probes extra    extra_passes, extra_ignored_with_reason (#[ignore = ...])

CM_FIXTURE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures/cargo-workspace" 2>/dev/null && pwd)
CM_TESTS_ALL="tests::adds_numbers tests::multiplies_numbers tests::ignored_by_attribute
public_api_adds public_api_chains tests::greets_by_name args::marker_argument_absent
sandbox::proc_self_status_exists sandbox::tmp_is_writable output::prints_to_both_streams
slow::sleeps_two_seconds slow::sleeps_past_timeout verdict::fails_on_purpose extra_passes
extra_ignored_with_reason"

# cm_find_cargo: sets CM_CARGO, or says why not and returns 1.
cm_find_cargo() {
	CM_CARGO=$(command -v cargo 2>/dev/null)
	if [ -z "$CM_CARGO" ] && [ -n "${HOME:-}" ] && [ -x "$HOME/.cargo/bin/cargo" ]; then
		CM_CARGO=$HOME/.cargo/bin/cargo
	fi
	if [ -z "$CM_CARGO" ] || ! "$CM_CARGO" --version >/dev/null 2>&1; then
		echo "note: cargo is not available to $(id -un 2>/dev/null || id -u); cargo-maelstrom test skipped"
		return 1
	fi
	PATH=$(dirname "$CM_CARGO"):$PATH
	export PATH
}

# cm_cache_build: builds the fixture once per suite run into CM_CACHE.
cm_cache_build() {
	local key
	key=$(printf '%s' "$BUILD" | cksum | cut -d' ' -f1)
	# $$ is the suite's shell (the tests run in its subshells).
	CM_CACHE=${TMPDIR:-/tmp}/maelstrom-it-cargo.$(id -u).$key.$$
	[ -e "$CM_CACHE/ready" ] && return 0
	[ -d "$CM_FIXTURE" ] || { fail "fixture missing: tests/fixtures/cargo-workspace"; return 1; }
	rm -rf "$CM_CACHE"
	mkdir -p "$CM_CACHE/ws" "$CM_CACHE/cargo-home" || { fail "cannot make $CM_CACHE"; return 1; }
	# Removed once the suite's shell is gone; every descriptor is
	# redirected so the suite's output pipe does not wait for it.
	(
		suite=$$
		while kill -0 "$suite" 2>/dev/null; do sleep 2; done
		rm -rf "$CM_CACHE"
	) </dev/null >/dev/null 2>&1 &
	disown 2>/dev/null
	(cd "$CM_FIXTURE" && tar --exclude=./target -cf - .) | (cd "$CM_CACHE/ws" && tar -xpf -) ||
		{ fail "cannot copy the fixture"; return 1; }
	if ! (cd "$CM_CACHE/ws" && CARGO_HOME="$CM_CACHE/cargo-home" \
		CARGO_TARGET_DIR="$CM_CACHE/target" CARGO_INCREMENTAL=0 \
		timeout 300 cargo test --offline --no-run --workspace) >"$CM_CACHE/build.log" 2>&1; then
		tail -20 "$CM_CACHE/build.log" >&2
		fail "building the fixture with cargo failed"
		return 1
	fi
	chmod -R a+rwX "$CM_CACHE" 2>/dev/null
	touch "$CM_CACHE/ready"
}

# cm_setup [--unbuilt]: the fixture in $SCRATCH/ws (the working directory
# afterwards) with a built target dir in $SCRATCH/target (an empty one with
# --unbuilt). Returns 2 when cargo is missing: callers `|| return $(cm_skip)`.
cm_setup() {
	cm_find_cargo || return 2
	cm_cache_build || return 1
	CM=$BUILD/bin/cargo-maelstrom
	[ -x "$CM" ] || { fail "cargo-maelstrom is not built ($CM missing)"; return 1; }
	cp -a "$CM_CACHE/ws" "$SCRATCH/ws" || { fail "cannot copy the workspace"; return 1; }
	if [ "${1:-}" = --unbuilt ]; then
		mkdir "$SCRATCH/target"
	else
		cp -a "$CM_CACHE/target" "$SCRATCH/target" || { fail "cannot copy the target dir"; return 1; }
	fi
	mkdir -p "$SCRATCH/cargo-home"
	export CARGO_HOME="$SCRATCH/cargo-home" CARGO_TARGET_DIR="$SCRATCH/target" \
		CARGO_INCREMENTAL=0 NO_COLOR=1
	cd "$SCRATCH/ws" || { fail "cannot enter $SCRATCH/ws"; return 1; }
}

# Use as: cm_setup || return "$(cm_skip $?)" -- 0 when skipped, else 1.
cm_skip() { [ "$1" -eq 2 ] && echo 0 || echo 1; }

# cm [ARGS...]: runs cargo-maelstrom --offline ARGS in the workspace; sets
# OUT, ERR and CODE.
cm() {
	local o=$SCRATCH/cm.out e=$SCRATCH/cm.err
	timeout 180 "$CM" --offline "$@" >"$o" 2>"$e" </dev/null
	CODE=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
	[ "$CODE" -ne 124 ] || fail "cargo-maelstrom $* did not finish in 180 s"
}

# cm_result_lines: the per-test result lines of $OUT ("NAME ..... WORD 0.012s"),
# up to the summary (which names failed tests again).
cm_result_lines() {
	printf '%s\n' "$OUT" | sed '/Test Summary/,$d' |
		grep -E '\.\.\.+ *(OK|FAIL|TIMEOUT|ERROR|IGNORED)( |$)'
}

# cm_outcome NAME: the outcome word on NAME's first result line ("" if none).
cm_outcome() {
	cm_result_lines | awk -v n="$1" '
		{
			i = index($0, n)
			if (i == 0) next
			before = (i == 1) ? " " : substr($0, i - 1, 1)
			after = substr($0, i + length(n), 1)
			if (before ~ /[A-Za-z0-9_:]/ || after ~ /[A-Za-z0-9_:]/) next
			rest = substr($0, i + length(n))
			if (match(rest, /[ .](OK|FAIL|TIMEOUT|ERROR|IGNORED)( |$)/)) {
				w = substr(rest, RSTART + 1, RLENGTH - 1); sub(/ $/, "", w)
				print w; exit
			}
		}'
}

# cm_count NAME OUTCOME: how many result lines give NAME that outcome.
cm_count() {
	cm_result_lines | grep -E "(^|[^A-Za-z0-9_:])$(printf '%s' "$1" | sed 's/[.]/\\./g')([^A-Za-z0-9_:]|\$)" |
		grep -cE "[ .]$2( |\$)"
}

# expect_outcome NAME WORD
expect_outcome() {
	local got
	got=$(cm_outcome "$1")
	[ "$got" = "$2" ] && return 0
	fail "$1: expected $2, got [${got:-no result line}]"
	printf '%s\n' "$OUT" | tail -30 >&2
	[ -z "$ERR" ] || printf 'stderr: %s\n' "$ERR" | tail -10 >&2
	return 1
}

# cm_listed: the fixture's test names that appear (as words) in $OUT, sorted.
cm_listed() {
	local t
	for t in $CM_TESTS_ALL; do
		printf '%s\n' "$OUT" | grep -qE "(^|[^A-Za-z0-9_:])$(printf '%s' "$t" | sed 's/[.]/\\./g')([^A-Za-z0-9_:]|\$)" &&
			echo "$t"
	done | sort
}

# cm_sorted WORDS...: the words one per line, sorted.
cm_sorted() { printf '%s\n' "$@" | sort; }

# cm_xpath FILE EXPR: xmllint's answer for EXPR on FILE.
cm_xpath() { xmllint --xpath "$2" "$1" 2>/dev/null; }

# cm_no_tests_built: true when the target dir holds no test executable.
cm_no_tests_built() {
	[ -z "$(find "$CARGO_TARGET_DIR" -path '*/deps/*' -type f -perm -u+x 2>/dev/null | head -1)" ]
}

# ---- outcomes ---------------------------------------------------------------

t_cargo_every_outcome_in_one_run() {
	cm_setup || return "$(cm_skip $?)"
	cm --ui simple -x 'name.equals(slow::sleeps_two_seconds)'
	[ "$CODE" -ne 0 ] || fail "a failing run must exit non-zero" || return 1
	local t
	for t in tests::adds_numbers tests::multiplies_numbers public_api_adds public_api_chains \
		tests::greets_by_name args::marker_argument_absent sandbox::proc_self_status_exists \
		sandbox::tmp_is_writable output::prints_to_both_streams extra_passes; do
		expect_outcome "$t" OK || return 1
	done
	expect_outcome tests::ignored_by_attribute IGNORED || return 1
	expect_outcome extra_ignored_with_reason IGNORED || return 1
	expect_outcome verdict::fails_on_purpose FAIL || return 1
	expect_outcome slow::sleeps_past_timeout TIMEOUT || return 1
	expect_eq "result lines" 14 "$(cm_result_lines | wc -l)" || return 1
	expect_contains "summary" "Test Summary" "$OUT"
}

t_cargo_failure_shows_captured_output() {
	cm_setup || return "$(cm_skip $?)"
	cm -i 'name.equals(verdict::fails_on_purpose)'
	expect_eq "exit" 1 "$CODE" || return 1
	expect_outcome verdict::fails_on_purpose FAIL || return 1
	expect_contains "captured stdout" "probes-failing-stdout-line" "$OUT$ERR" || return 1
	expect_contains "captured stderr" "probes-failing-stderr-line" "$OUT$ERR" || return 1
	expect_contains "panic message" "deliberate failure in the fixture" "$OUT$ERR"
}

t_cargo_sandbox_has_proc_and_tmp() {
	cm_setup || return "$(cm_skip $?)"
	cm -i 'name.starts_with(sandbox::)'
	expect_eq "exit" 0 "$CODE" || { printf '%s\n%s\n' "$OUT" "$ERR" | tail -30 >&2; return 1; }
	expect_outcome sandbox::proc_self_status_exists OK || return 1
	expect_outcome sandbox::tmp_is_writable OK
}

t_cargo_directive_timeout_gives_timeout() {
	cm_setup || return "$(cm_skip $?)"
	cm -i 'name.equals(slow::sleeps_past_timeout)'
	[ "$CODE" -ne 0 ] || fail "a timed-out test must make the exit status non-zero" || return 1
	expect_outcome slow::sleeps_past_timeout TIMEOUT
}

t_cargo_error_when_the_job_cannot_start() {
	cm_setup || return "$(cm_skip $?)"
	cat >>cargo-maelstrom.toml <<'EOF'

[[directives]]
filter = "name.equals(tests::multiplies_numbers)"
working_directory = "/no/such/directory"
EOF
	cm -i 'package.equals(mathlib) & library'
	[ "$CODE" -ne 0 ] || fail "a test that could not run must make the exit status non-zero" || return 1
	expect_outcome tests::multiplies_numbers ERROR || return 1
	expect_outcome tests::adds_numbers OK
}

t_cargo_directive_ignore_gives_ignored() {
	cm_setup || return "$(cm_skip $?)"
	cat >>cargo-maelstrom.toml <<'EOF'

[[directives]]
filter = "name.equals(tests::multiplies_numbers)"
ignore = true
EOF
	cm -i 'package.equals(mathlib) & library'
	expect_eq "exit" 0 "$CODE" || { printf '%s\n%s\n' "$OUT" "$ERR" | tail -20 >&2; return 1; }
	expect_outcome tests::multiplies_numbers IGNORED || return 1
	expect_outcome tests::adds_numbers OK || return 1
	# Listing shows directive-ignored tests like any other.
	cm --list -i 'package.equals(mathlib) & library'
	expect_eq "listed" "$(cm_sorted tests::adds_numbers tests::multiplies_numbers \
		tests::ignored_by_attribute)" "$(cm_listed)"
}

t_cargo_exit_status_zero_when_all_pass_or_ignored() {
	cm_setup || return "$(cm_skip $?)"
	# mathlib holds an ignored test: ignoring is not failing.
	cm -i 'package.equals(mathlib)' -i 'package.equals(greeter)'
	expect_eq "exit" 0 "$CODE" || { printf '%s\n%s\n' "$OUT" "$ERR" | tail -30 >&2; return 1; }
	expect_outcome tests::ignored_by_attribute IGNORED || return 1
	expect_eq "result lines" 6 "$(cm_result_lines | wc -l)"
}

t_cargo_build_error_is_reported() {
	cm_setup || return "$(cm_skip $?)"
	printf '\nfn broken( {\n' >>greeter/src/main.rs
	cm
	[ "$CODE" -ne 0 ] || fail "a build failure must exit non-zero" || return 1
	# Tests of crates that did build may have run meanwhile; the run
	# must still fail and say which crate did not compile.
	expect_contains "compiler error" "unclosed delimiter" "$OUT$ERR" || return 1
	expect_contains "failed crate" "greeter" "$OUT$ERR"
}

# ---- options ------------------------------------------------------------------

t_cargo_list_tests_runs_nothing() {
	cm_setup || return "$(cm_skip $?)"
	cm --list-tests
	expect_eq "exit" 0 "$CODE" || { echo "$ERR" >&2; return 1; }
	# Ignored tests are listed like the others.
	# shellcheck disable=SC2086 # one word per test
	expect_eq "listed" "$(cm_sorted $CM_TESTS_ALL)" "$(cm_listed)" || return 1
	expect_eq "result lines" 0 "$(cm_result_lines | wc -l)" || return 1
	[ ! -e "$CARGO_TARGET_DIR/maelstrom/state/test-listing.json" ] ||
		jq -e '.tests | length == 0' "$CARGO_TARGET_DIR/maelstrom/state/test-listing.json" >/dev/null ||
		fail "--list-tests must not record test runs" || return 1
	cm --list -i 'package.equals(greeter)'
	expect_eq "exit (--list)" 0 "$CODE" || return 1
	expect_eq "listed (--list)" "tests::greets_by_name" "$(cm_listed)"
}

t_cargo_include_exclude_semantics() {
	cm_setup || return "$(cm_skip $?)"
	cm --list -i 'package.equals(mathlib)'
	expect_eq "one include" "$(cm_sorted tests::adds_numbers tests::multiplies_numbers \
		tests::ignored_by_attribute public_api_adds public_api_chains)" "$(cm_listed)" || return 1
	cm --list -i 'package.equals(mathlib)' -i 'binary'
	expect_eq "includes add up" "$(cm_sorted tests::adds_numbers tests::multiplies_numbers \
		tests::ignored_by_attribute public_api_adds public_api_chains tests::greets_by_name)" \
		"$(cm_listed)" || return 1
	cm --list -i 'package.equals(mathlib)' -x 'test'
	expect_eq "exclude integration tests" "$(cm_sorted tests::adds_numbers \
		tests::multiplies_numbers tests::ignored_by_attribute)" "$(cm_listed)" || return 1
	# --exclude wins, whatever the order on the command line.
	cm --list -x 'package.equals(greeter)' -i 'package.equals(greeter)'
	expect_eq "exclude wins" "" "$(cm_listed)" || return 1
	cm --list --exclude 'package.equals(probes) | package.equals(mathlib)'
	expect_eq "only excludes" "tests::greets_by_name" "$(cm_listed)" || return 1
	cm --list --include 'test.equals(extra)'
	expect_eq "test.equals" "$(cm_sorted extra_passes extra_ignored_with_reason)" "$(cm_listed)" || return 1
	# Abbreviations, as the book's example.
	cm --list -i 'p.eq(probes) & n.starts(slow::)'
	expect_eq "abbreviated" "$(cm_sorted slow::sleeps_past_timeout slow::sleeps_two_seconds)" \
		"$(cm_listed)"
}

t_cargo_bad_filter_is_an_error() {
	cm_setup || return "$(cm_skip $?)"
	cm -i 'name.equalz(x)'
	[ "$CODE" -ne 0 ] || fail "a bad filter must exit non-zero" || return 1
	expect_eq "result lines" 0 "$(cm_result_lines | wc -l)" || return 1
	expect_contains "message names the bad word" "equalz" "$OUT$ERR"
}

t_cargo_list_binaries_builds_nothing() {
	cm_setup --unbuilt || return "$(cm_skip $?)"
	cm --list-binaries
	expect_eq "exit" 0 "$CODE" || { echo "$ERR" >&2; return 1; }
	local b
	for b in api extra greeter mathlib probes; do
		expect_contains "binaries" "$b" "$OUT" || return 1
	done
	cm_no_tests_built || fail "--list-binaries must not build test binaries" || return 1
	cm --list-binaries -i 'test.equals(api)'
	expect_contains "filtered" "api" "$OUT" || return 1
	case $OUT in *greeter* | *probes* | *extra*) fail "filter not applied: [$OUT]"; return 1 ;; esac
	cm_no_tests_built || fail "--list-binaries must not build test binaries"
}

t_cargo_list_packages_builds_nothing() {
	cm_setup --unbuilt || return "$(cm_skip $?)"
	cm --list-packages
	expect_eq "exit" 0 "$CODE" || { echo "$ERR" >&2; return 1; }
	expect_eq "packages" "greeter
mathlib
probes" "$(printf '%s\n' "$OUT" | grep -oE '\b(greeter|mathlib|probes)\b' | sort -u)" || return 1
	cm --list-packages -i 'package.equals(greeter) | package.equals(mathlib)'
	expect_eq "filtered" "greeter
mathlib" "$(printf '%s\n' "$OUT" | grep -oE '\b(greeter|mathlib|probes)\b' | sort -u)" || return 1
	cm_no_tests_built || fail "--list-packages must not build test binaries"
}

t_cargo_repeat_runs_each_test_n_times() {
	cm_setup || return "$(cm_skip $?)"
	cm -r 3 -i 'name.equals(tests::adds_numbers) | name.equals(extra_passes)'
	expect_eq "exit" 0 "$CODE" || return 1
	expect_eq "runs of tests::adds_numbers" 3 "$(cm_count tests::adds_numbers OK)" || return 1
	expect_eq "runs of extra_passes" 3 "$(cm_count extra_passes OK)" || return 1
	cm --repeat 2 -i 'name.equals(tests::greets_by_name)'
	expect_eq "runs with --repeat" 2 "$(cm_count tests::greets_by_name OK)"
}

t_cargo_stop_after_cancels_the_rest() {
	cm_setup || return "$(cm_skip $?)"
	cm -r 5 -i 'name.equals(verdict::fails_on_purpose)'
	expect_eq "failures without --stop-after" 5 "$(cm_count verdict::fails_on_purpose FAIL)" || return 1
	cm -s 1 -r 20 -i 'name.equals(verdict::fails_on_purpose)'
	expect_eq "exit" 1 "$CODE" || return 1
	local n
	n=$(cm_count verdict::fails_on_purpose FAIL)
	[ "$n" -ge 1 ] && [ "$n" -lt 20 ] ||
		fail "with -s 1, expected between 1 and 19 failures reported, got $n" || return 1
	cm --stop-after 2 -r 20 -i 'name.equals(verdict::fails_on_purpose)'
	n=$(cm_count verdict::fails_on_purpose FAIL)
	[ "$n" -ge 2 ] && [ "$n" -lt 20 ] ||
		fail "with --stop-after 2, expected between 2 and 19 failures, got $n"
}

t_cargo_timeout_option_overrides_directive() {
	cm_setup || return "$(cm_skip $?)"
	cm -t 1 -i 'name.equals(slow::sleeps_two_seconds)'
	[ "$CODE" -ne 0 ] || fail "-t 1 on a 2 s test must fail the run" || return 1
	expect_outcome slow::sleeps_two_seconds TIMEOUT || return 1
	# The directive gives this one 1 s; --timeout replaces it.
	cm --timeout 30 -i 'name.equals(slow::sleeps_past_timeout)'
	expect_eq "exit" 0 "$CODE" || return 1
	expect_outcome slow::sleeps_past_timeout OK
}

t_cargo_extra_args_reach_test_binaries() {
	cm_setup || return "$(cm_skip $?)"
	cm -i 'name.equals(args::marker_argument_absent) | name.equals(output::prints_to_both_streams)'
	expect_eq "exit without extra args" 0 "$CODE" || return 1
	cm -i 'name.equals(args::marker_argument_absent) | name.equals(output::prints_to_both_streams)' \
		-- maelstrom_fixture_marker
	expect_eq "exit with the marker" 1 "$CODE" || return 1
	expect_outcome args::marker_argument_absent FAIL || return 1
	expect_contains "reason" "extra argument reached the test binary" "$OUT$ERR" || return 1
	# Other tests still run as usual with the argument added.
	expect_outcome output::prints_to_both_streams OK
}

t_cargo_quiet_prints_no_test_lines() {
	cm_setup || return "$(cm_skip $?)"
	cm --quiet -i 'package.equals(mathlib)'
	expect_eq "exit" 0 "$CODE" || return 1
	expect_eq "result lines" 0 "$(cm_result_lines | wc -l)" || return 1
	expect_contains "summary" "Test Summary" "$OUT" || return 1
	cm --quiet -i 'name.equals(verdict::fails_on_purpose)'
	expect_eq "exit (failing)" 1 "$CODE"
}

t_cargo_fancy_ui_on_a_terminal() {
	cm_setup || return "$(cm_skip $?)"
	command -v script >/dev/null || { echo "note: script(1) missing; fancy UI not tested"; return 0; }
	local cmd
	cmd=$(printf '%q ' "$CM" --offline --ui fancy -i 'package.equals(mathlib)')
	OUT=$(timeout 120 script -qefc "$cmd" /dev/null </dev/null 2>&1)
	CODE=$?
	expect_eq "exit" 0 "$CODE" || { printf '%s\n' "$OUT" | tail -20 >&2; return 1; }
	expect_contains "summary" "Test Summary" "$OUT" || return 1
	OUT=$(timeout 120 script -qefc "$(printf '%q ' "$CM" --offline --ui fancy \
		-i 'name.equals(verdict::fails_on_purpose)')" /dev/null </dev/null 2>&1)
	expect_eq "exit (failing)" 1 "$?"
}

t_cargo_runs_as_cargo_subcommand() {
	cm_setup || return "$(cm_skip $?)"
	# cargo runs `cargo-maelstrom maelstrom ARGS...` found on PATH.
	OUT=$(PATH="$BUILD/bin:$PATH" timeout 120 cargo maelstrom --offline \
		-i 'package.equals(greeter)' 2>"$SCRATCH/err")
	CODE=$?
	expect_eq "exit" 0 "$CODE" || { cat "$SCRATCH/err" >&2; return 1; }
	expect_outcome tests::greets_by_name OK
}

# ---- state, JUnit, --init ---------------------------------------------------------

t_cargo_state_orders_failed_then_longest_first() {
	cm_setup || return "$(cm_skip $?)"
	# One test binary, so every test arrives in one batch; one slot, so the
	# result lines come in submission order.
	local sel='package.equals(probes) & library & !name.equals(slow::sleeps_past_timeout)'
	cm --slots 1 -i "$sel"
	expect_eq "first run exit" 1 "$CODE" || return 1
	local state=$CARGO_TARGET_DIR/maelstrom/state/test-listing.json
	[ -f "$state" ] || fail "no listing state at $state" || return 1
	jq -e . "$state" >/dev/null || fail "listing state is not JSON" || return 1
	expect_contains "state names the failed test" "verdict::fails_on_purpose" "$(cat "$state")" || return 1
	cm --ui simple --slots 1 -i "$sel"
	local order
	order=$(cm_result_lines | head -2 | grep -oE 'verdict::fails_on_purpose|slow::sleeps_two_seconds' |
		tr '\n' ' ')
	# The failed test first (it sorts last by name), then the longest.
	expect_eq "order" "verdict::fails_on_purpose slow::sleeps_two_seconds " "$order" || {
		cm_result_lines >&2
		return 1
	}
	expect_eq "second run count" 6 "$(cm_result_lines | wc -l)"
}

t_cargo_junit_report() {
	cm_setup || return "$(cm_skip $?)"
	command -v xmllint >/dev/null || { fail "xmllint is needed (Debian package libxml2-utils)"; return 1; }
	cm --junit "$SCRATCH/report.xml" -x 'name.equals(slow::sleeps_two_seconds)'
	[ "$CODE" -ne 0 ] || fail "the run holds failures" || return 1
	local f=$SCRATCH/report.xml
	[ -f "$f" ] || fail "no JUnit file written" || return 1
	xmllint --noout "$f" || fail "JUnit file is not well-formed XML" || return 1
	expect_eq "testcases" 14 "$(cm_xpath "$f" 'count(//testcase)')" || return 1
	expect_eq "failed testcases" 2 "$(cm_xpath "$f" 'count(//testcase[failure or error])')" || return 1
	expect_eq "skipped testcases" 2 "$(cm_xpath "$f" 'count(//testcase[skipped])')" || return 1
	expect_eq "tests attribute" 14 "$(cm_xpath "$f" 'sum(//testsuite/@tests)')" || return 1
	expect_eq "failures+errors attributes" 2 \
		"$(cm_xpath "$f" 'sum(//testsuite/@failures) + sum(//testsuite/@errors)')" || return 1
	expect_eq "skipped attribute" 2 "$(cm_xpath "$f" 'sum(//testsuite/@skipped)')" || return 1
	expect_eq "root tests attribute" 14 "$(cm_xpath "$f" 'string(/testsuites/@tests)')" || return 1
	expect_contains "captured output in the report" "probes-failing-stdout-line" \
		"$(cm_xpath "$f" '//testcase[contains(@name, "fails_on_purpose")]')" || return 1
	expect_eq "timed-out test is a failure" 1 \
		"$(cm_xpath "$f" 'count(//testcase[contains(@name, "sleeps_past_timeout")][failure or error])')"
}

t_cargo_init_creates_and_refuses_to_overwrite() {
	cm_setup || return "$(cm_skip $?)"
	# The fixture's own file is there: --init must leave it alone.
	local before
	before=$(cksum <cargo-maelstrom.toml)
	cm --init
	[ "$CODE" -ne 0 ] || fail "--init over an existing cargo-maelstrom.toml must fail" || return 1
	expect_eq "existing file untouched" "$before" "$(cksum <cargo-maelstrom.toml)" || return 1
	rm cargo-maelstrom.toml
	cm --init
	expect_eq "exit" 0 "$CODE" || { echo "$ERR" >&2; return 1; }
	[ -f cargo-maelstrom.toml ] || fail "--init created no cargo-maelstrom.toml" || return 1
	expect_contains "template" "[[directives]]" "$(cat cargo-maelstrom.toml)" || return 1
	expect_eq "nothing ran" 0 "$(cm_result_lines | wc -l)" || return 1
	before=$(cksum <cargo-maelstrom.toml)
	cm --init
	[ "$CODE" -ne 0 ] || fail "a second --init must fail" || return 1
	expect_eq "created file untouched" "$before" "$(cksum <cargo-maelstrom.toml)" || return 1
	# The template is the default container: /proc and /tmp work with it.
	cm -i 'name.starts_with(sandbox::)'
	expect_eq "run with the template" 0 "$CODE" || { printf '%s\n%s\n' "$OUT" "$ERR" | tail -20 >&2; return 1; }
	expect_outcome sandbox::tmp_is_writable OK
}

# ---- agreement with cargo test ----------------------------------------------------

t_cargo_outcomes_match_cargo_test() {
	cm_setup || return "$(cm_skip $?)"
	# The sleeper passes under cargo test (no timeout there): leave it out.
	timeout 300 cargo test --offline --no-fail-fast --workspace -- --test-threads=1 \
		--skip slow::sleeps_past_timeout >"$SCRATCH/cargo-test.out" 2>&1
	local expected
	expected=$(sed -nE 's/^test ([^ ]+) \.\.\. (ok|FAILED|ignored).*$/\1 \2/p' "$SCRATCH/cargo-test.out" |
		sed -e 's/ ok$/ OK/' -e 's/ FAILED$/ FAIL/' -e 's/ ignored$/ IGNORED/' | sort)
	[ "$(printf '%s\n' "$expected" | wc -l)" -eq 14 ] ||
		fail "cargo test reported an unexpected set: [$expected]" || return 1
	cm -x 'name.equals(slow::sleeps_past_timeout)'
	local got="" name
	while read -r name _; do
		got+="$name $(cm_outcome "$name")"$'\n'
	done <<<"$expected"
	expect_eq "outcomes" "$expected" "$(printf '%s' "$got" | sort)" || return 1
	expect_eq "as many results as cargo test" 14 "$(cm_result_lines | wc -l)"
}
