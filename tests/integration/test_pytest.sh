# maelstrom-pytest against tests/fixtures/pytest-project: every outcome,
# every option, the listing state's order, JUnit, --init, the layer cache,
# and agreement with plain pytest.
#
# Each test works on its own copy of the fixture in $SCRATCH/proj, never in
# the source tree. maelstrom-pytest runs with the Python interpreter that
# has pytest (PT_PY: /usr/bin/python3 on Debian, whatever python3 comes first
# on PATH), given through MAELSTROM_PYTEST_PYTHON. When no interpreter with
# pytest is found, each test says so and passes.
#
# Fixture tests (node ids; display = node id):
#   tests/test_arith.py      test_add, test_mul, test_square[two|three|negative],
#                            TestDivision::test_exact, TestDivision::test_by_zero_raises
#                            (all marked arith; TestDivision uses the conftest
#                            fixture `calculator`)
#   tests/test_outcomes.py   test_skipped_with_reason (skip), test_skipif_true
#                            (skipped), test_skipif_false (passes),
#                            test_xfail_non_strict, test_xfail_strict (XFAIL),
#                            test_xpass (passes though marked xfail, not strict:
#                            OK, as it does not fail pytest's run either; a
#                            strict one would be XPASS, a failure),
#                            test_fails_on_purpose (prints, then fails),
#                            test_fixture_error (ERROR in a fixture),
#                            test_prints_output (prints, passes; marked output)
#   tests/sandbox/test_env.py  test_writes_to_tmp, test_reads_data_file (its
#                            file comes from an added_layers glob layer), both
#                            marked io; test_sleeps_two_seconds,
#                            test_sleeps_past_timeout (3 s; maelstrom-pytest.toml
#                            gives it timeout = 1), both marked slow
#   extra/test_text.py       test_upper, test_greeting_length (conftest fixture)

PT_FIXTURE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures/pytest-project" 2>/dev/null && pwd)
PT_A=tests/test_arith.py
PT_O=tests/test_outcomes.py
PT_S=tests/sandbox/test_env.py
PT_E=extra/test_text.py
# Every node id, one per line (brackets included: never split unquoted).
PT_TESTS_ALL="$PT_A::test_add
$PT_A::test_mul
$PT_A::test_square[two]
$PT_A::test_square[three]
$PT_A::test_square[negative]
$PT_A::TestDivision::test_exact
$PT_A::TestDivision::test_by_zero_raises
$PT_O::test_skipped_with_reason
$PT_O::test_skipif_true
$PT_O::test_skipif_false
$PT_O::test_xfail_non_strict
$PT_O::test_xfail_strict
$PT_O::test_xpass
$PT_O::test_fails_on_purpose
$PT_O::test_fixture_error
$PT_O::test_prints_output
$PT_S::test_writes_to_tmp
$PT_S::test_reads_data_file
$PT_S::test_sleeps_two_seconds
$PT_S::test_sleeps_past_timeout
$PT_E::test_upper
$PT_E::test_greeting_length"
PT_WORDS='OK|FAIL|TIMEOUT|ERROR|IGNORED|SKIPPED|XFAIL|XPASS'

# pt_find_python: sets PT_PY to an interpreter that imports pytest, or says
# why not and returns 1.
pt_find_python() {
	local p
	for p in "${MAELSTROM_PYTEST_PYTHON:-}" /usr/bin/python3 "$(command -v python3 2>/dev/null)"; do
		[ -n "$p" ] && [ -x "$p" ] || continue
		if "$p" -c 'import pytest' >/dev/null 2>&1; then
			PT_PY=$p
			return 0
		fi
	done
	echo "note: no python3 with pytest available to $(id -un 2>/dev/null || id -u); maelstrom-pytest test skipped"
	return 1
}

# pt_setup: the fixture in $SCRATCH/proj (the working directory afterwards).
# Returns 2 when Python with pytest is missing: callers `|| return "$(pt_skip $?)"`.
pt_setup() {
	pt_find_python || return 2
	PT=$BUILD/bin/maelstrom-pytest
	[ -x "$PT" ] || { fail "maelstrom-pytest is not built ($PT missing)"; return 1; }
	[ -d "$PT_FIXTURE" ] || { fail "fixture missing: tests/fixtures/pytest-project"; return 1; }
	mkdir -p "$SCRATCH/proj" || return 1
	(cd "$PT_FIXTURE" && tar --exclude=__pycache__ --exclude=./.maelstrom-pytest \
		--exclude=./.pytest_cache -cf - .) | (cd "$SCRATCH/proj" && tar -xpf -) ||
		{ fail "cannot copy the fixture"; return 1; }
	export MAELSTROM_PYTEST_PYTHON=$PT_PY NO_COLOR=1 PYTHONDONTWRITEBYTECODE=1
	cd "$SCRATCH/proj" || return 1
}

# Use as: pt_setup || return "$(pt_skip $?)" -- 0 when skipped, else 1.
pt_skip() { [ "$1" -eq 2 ] && echo 0 || echo 1; }

# pt [ARGS...]: runs maelstrom-pytest ARGS in the project; sets OUT, ERR, CODE.
pt() {
	local o=$SCRATCH/pt.out e=$SCRATCH/pt.err
	timeout 180 "$PT" "$@" >"$o" 2>"$e" </dev/null
	CODE=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
	[ "$CODE" -ne 124 ] || fail "maelstrom-pytest $* did not finish in 180 s"
}

# pt_result_lines: the per-test result lines of $OUT ("NODEID ..... WORD 0.012s"),
# up to the summary (which names failed tests again).
pt_result_lines() {
	printf '%s\n' "$OUT" | sed '/Test Summary/,$d' | grep -E " \\.\\.\\.+ ($PT_WORDS)( |\$)"
}

# pt_outcome NODEID: the outcome word on NODEID's first result line ("" if none).
pt_outcome() {
	pt_result_lines | awk -v n="$1" '
		index($0, n " ") == 1 {
			if (match($0, / \.\.\.+ [A-Z]+/)) {
				w = substr($0, RSTART, RLENGTH); sub(/^ \.+ /, "", w)
				print w; exit
			}
		}'
}

# pt_count NODEID WORD: how many result lines give NODEID that outcome.
pt_count() {
	pt_result_lines | awk -v n="$1" -v w="$2" '
		index($0, n " ") == 1 && $0 ~ (" \\.\\.\\.+ " w "( |$)") { c++ }
		END { print c + 0 }'
}

# expect_pt NODEID WORD
expect_pt() {
	local got
	got=$(pt_outcome "$1")
	[ "$got" = "$2" ] && return 0
	fail "$1: expected $2, got [${got:-no result line}]"
	printf '%s\n' "$OUT" | tail -30 >&2
	[ -z "$ERR" ] || printf 'stderr: %s\n' "$ERR" | tail -10 >&2
	return 1
}

# pt_listed: the fixture's node ids that appear as a whole line's first word
# in $OUT, sorted.
pt_listed() {
	local t
	while read -r t; do
		printf '%s\n' "$OUT" | awk -v n="$t" '$1 == n { f = 1 } END { exit !f }' && echo "$t"
	done <<<"$PT_TESTS_ALL" | sort
}

# pt_sorted WORDS...: the words one per line, sorted.
pt_sorted() { printf '%s\n' "$@" | sort; }

# pt_xpath FILE EXPR: xmllint's answer for EXPR on FILE.
pt_xpath() { xmllint --xpath "$2" "$1" 2>/dev/null; }

# pt_dump: the end of the last run's output, for a failure's context.
pt_dump() { printf '%s\n%s\n' "$OUT" "$ERR" | tail -30 >&2; }

# ---- outcomes ---------------------------------------------------------------

t_pytest_every_outcome_in_one_run() {
	pt_setup || return "$(pt_skip $?)"
	pt --ui simple -x "node_id.equals($PT_S::test_sleeps_two_seconds)"
	[ "$CODE" -ne 0 ] || fail "a run with failures must exit non-zero" || return 1
	local t
	for t in $PT_A::test_add $PT_A::test_mul "$PT_A::test_square[two]" "$PT_A::test_square[three]" \
		"$PT_A::test_square[negative]" $PT_A::TestDivision::test_exact \
		$PT_A::TestDivision::test_by_zero_raises $PT_O::test_skipif_false $PT_O::test_prints_output \
		$PT_O::test_xpass \
		$PT_S::test_writes_to_tmp $PT_S::test_reads_data_file $PT_E::test_upper \
		$PT_E::test_greeting_length; do
		expect_pt "$t" OK || return 1
	done
	expect_pt $PT_O::test_skipped_with_reason SKIPPED || return 1
	expect_pt $PT_O::test_skipif_true SKIPPED || return 1
	expect_pt $PT_O::test_xfail_non_strict XFAIL || return 1
	expect_pt $PT_O::test_xfail_strict XFAIL || return 1
	expect_pt $PT_O::test_fails_on_purpose FAIL || return 1
	expect_pt $PT_O::test_fixture_error ERROR || return 1
	expect_pt $PT_S::test_sleeps_past_timeout TIMEOUT || return 1
	expect_eq "result lines" 21 "$(pt_result_lines | wc -l)" || return 1
	expect_contains "summary" "Test Summary" "$OUT"
}

t_pytest_failure_shows_captured_output() {
	pt_setup || return "$(pt_skip $?)"
	pt -i "node_id.equals($PT_O::test_fails_on_purpose)"
	expect_eq "exit" 1 "$CODE" || { pt_dump; return 1; }
	expect_pt $PT_O::test_fails_on_purpose FAIL || return 1
	expect_contains "captured stdout" "pytest-failing-stdout-line" "$OUT$ERR" || return 1
	expect_contains "captured stderr" "pytest-failing-stderr-line" "$OUT$ERR" || return 1
	expect_contains "assertion message" "deliberate failure in the fixture" "$OUT$ERR"
}

t_pytest_fixture_error_is_error_not_fail() {
	pt_setup || return "$(pt_skip $?)"
	pt -i "name.equals(test_fixture_error)"
	[ "$CODE" -ne 0 ] || fail "an error must make the exit status non-zero" || return 1
	expect_pt $PT_O::test_fixture_error ERROR || return 1
	expect_contains "the fixture's exception" "fixture setup failed on purpose" "$OUT$ERR"
}

t_pytest_skips_show_reasons_and_pass_the_run() {
	pt_setup || return "$(pt_skip $?)"
	pt --ui simple -i 'name.starts_with(test_skip)'
	expect_eq "exit (skipped is not failed)" 0 "$CODE" || { pt_dump; return 1; }
	expect_pt $PT_O::test_skipped_with_reason SKIPPED || return 1
	expect_pt $PT_O::test_skipif_true SKIPPED || return 1
	expect_pt $PT_O::test_skipif_false OK || return 1
	expect_contains "skip reason" "skipped by the fixture on purpose" "$OUT" || return 1
	expect_contains "skipif reason" "condition holds on Python 3" "$OUT"
}

t_pytest_xfail_and_xpass() {
	pt_setup || return "$(pt_skip $?)"
	pt -i 'name.starts_with(test_xfail_)'
	# As in pytest, a test failing as expected does not fail the run.
	expect_eq "exit (xfail only)" 0 "$CODE" || { pt_dump; return 1; }
	expect_pt $PT_O::test_xfail_non_strict XFAIL || return 1
	expect_pt $PT_O::test_xfail_strict XFAIL || return 1
	# An unexpected pass without strict=True does not fail pytest's run: OK,
	# saying it was an XPASS.
	pt --ui simple -i 'name.equals(test_xpass)'
	expect_eq "exit (xpass, not strict)" 0 "$CODE" || { pt_dump; return 1; }
	expect_pt $PT_O::test_xpass OK || return 1
	expect_contains "says XPASS" "XPASS" "$OUT" || return 1
	# A strict xfail that passes is a failure in pytest ([XPASS(strict)]).
	sed -i 's/assert add(2, 2) == 5$/assert add(2, 2) == 4/' $PT_O
	grep -q 'assert add(2, 2) == 4$' $PT_O || { fail "could not make the strict xfail pass"; return 1; }
	pt --ui simple -i 'name.equals(test_xfail_strict)'
	expect_pt $PT_O::test_xfail_strict XPASS || return 1
	expect_eq "exit (strict xpass)" 1 "$CODE" || return 1
	expect_contains "reason" "known bug, strict" "$OUT"
}

t_pytest_passing_output_not_shown() {
	pt_setup || return "$(pt_skip $?)"
	pt --ui simple -i 'markers.contains(output)'
	expect_eq "exit" 0 "$CODE" || { pt_dump; return 1; }
	expect_pt $PT_O::test_prints_output OK || return 1
	case $OUT in
	*pytest-passing-stdout-line*) fail "a passing test's output must not be shown"; return 1 ;;
	esac
}

t_pytest_sandbox_has_tmp_and_data_layer() {
	pt_setup || return "$(pt_skip $?)"
	pt -i 'markers.contains(io)'
	expect_eq "exit" 0 "$CODE" || { pt_dump; return 1; }
	expect_pt $PT_S::test_writes_to_tmp OK || return 1
	expect_pt $PT_S::test_reads_data_file OK || return 1
	# Without the directive's added layer, the data file is not there.
	awk '/^# The data file/ { skip = 1 } skip && /^$/ { skip = 0; next } !skip' \
		maelstrom-pytest.toml >toml.new && mv toml.new maelstrom-pytest.toml
	grep -q 'data/' maelstrom-pytest.toml && { fail "could not remove the data directive"; return 1; }
	pt -i 'markers.contains(io)'
	expect_eq "exit without the data layer" 1 "$CODE" || { pt_dump; return 1; }
	expect_pt $PT_S::test_reads_data_file FAIL || return 1
	expect_pt $PT_S::test_writes_to_tmp OK
}

t_pytest_directive_timeout_gives_timeout() {
	pt_setup || return "$(pt_skip $?)"
	pt -i 'name.equals(test_sleeps_past_timeout)'
	[ "$CODE" -ne 0 ] || fail "a timed-out test must make the exit status non-zero" || return 1
	expect_pt $PT_S::test_sleeps_past_timeout TIMEOUT
}

t_pytest_timeout_option_overrides_directive() {
	pt_setup || return "$(pt_skip $?)"
	pt -t 1 -i 'name.equals(test_sleeps_two_seconds)'
	[ "$CODE" -ne 0 ] || fail "-t 1 on a 2 s test must fail the run" || return 1
	expect_pt $PT_S::test_sleeps_two_seconds TIMEOUT || return 1
	# The directive gives this one 1 s; --timeout replaces it.
	pt --timeout 30 -i 'name.equals(test_sleeps_past_timeout)'
	expect_eq "exit" 0 "$CODE" || { pt_dump; return 1; }
	expect_pt $PT_S::test_sleeps_past_timeout OK
}

t_pytest_directive_ignore_gives_ignored() {
	pt_setup || return "$(pt_skip $?)"
	cat >>maelstrom-pytest.toml <<'EOF'

[[directives]]
filter = "name.equals(test_mul)"
ignore = true
EOF
	pt -i 'name.equals(test_mul) | name.equals(test_add)'
	expect_eq "exit" 0 "$CODE" || { pt_dump; return 1; }
	expect_pt $PT_A::test_mul IGNORED || return 1
	expect_pt $PT_A::test_add OK || return 1
	pt --list -i 'name.equals(test_mul) | name.equals(test_add)'
	expect_eq "listed" "$(pt_sorted $PT_A::test_add $PT_A::test_mul)" "$(pt_listed)"
}

t_pytest_exit_status_zero_when_all_pass() {
	pt_setup || return "$(pt_skip $?)"
	pt -i 'markers.contains(arith)' -i "file.equals($PT_E)"
	expect_eq "exit" 0 "$CODE" || { pt_dump; return 1; }
	expect_eq "result lines" 9 "$(pt_result_lines | wc -l)"
}

t_pytest_collection_error_is_reported() {
	pt_setup || return "$(pt_skip $?)"
	printf 'def test_broken(:\n    pass\n' >tests/test_broken_syntax.py
	pt
	[ "$CODE" -ne 0 ] || fail "a module that cannot be collected must fail the run" || return 1
	expect_contains "names the module" "test_broken_syntax.py" "$OUT$ERR"
}

t_pytest_interpreter_without_pytest_is_explained() {
	pt_setup || return "$(pt_skip $?)"
	# The same interpreter without site-packages (-S): no pytest there.
	printf '#!/bin/sh\nexec %s -S "$@"\n' "$PT_PY" >"$SCRATCH/python-without-pytest"
	chmod 755 "$SCRATCH/python-without-pytest"
	pt --python "$SCRATCH/python-without-pytest"
	[ "$CODE" -ne 0 ] || fail "an interpreter without pytest must be an error" || return 1
	expect_eq "result lines" 0 "$(pt_result_lines | wc -l)" || return 1
	expect_contains "names the interpreter" "python-without-pytest" "$OUT$ERR" || return 1
	expect_contains "says what is missing" "pytest" "$OUT$ERR" || return 1
	MAELSTROM_PYTEST_PYTHON=$SCRATCH/no-such-python pt --list
	[ "$CODE" -ne 0 ] || fail "a missing interpreter must be an error" || return 1
	expect_contains "names the missing one" "no-such-python" "$OUT$ERR"
}

# ---- options ------------------------------------------------------------------

t_pytest_list_runs_nothing() {
	pt_setup || return "$(pt_skip $?)"
	pt --list
	expect_eq "exit" 0 "$CODE" || { pt_dump; return 1; }
	expect_eq "listed" "$(printf '%s\n' "$PT_TESTS_ALL" | sort)" "$(pt_listed)" || return 1
	expect_eq "result lines" 0 "$(pt_result_lines | wc -l)" || return 1
	local state=.maelstrom-pytest/state/test-listing.json
	[ ! -e "$state" ] || jq -e '.tests | length == 0' "$state" >/dev/null ||
		fail "--list must not record test runs"
}

t_pytest_filter_selectors() {
	pt_setup || return "$(pt_skip $?)"
	pt --list -i 'name.equals(test_add)'
	expect_eq "name" "$PT_A::test_add" "$(pt_listed)" || return 1
	pt --list -i 'name.starts_with(test_square)'
	expect_eq "parametrized names" "$(pt_sorted "$PT_A::test_square[two]" "$PT_A::test_square[three]" \
		"$PT_A::test_square[negative]")" "$(pt_listed)" || return 1
	pt --list -i "file.equals($PT_E)"
	expect_eq "file" "$(pt_sorted $PT_E::test_upper $PT_E::test_greeting_length)" "$(pt_listed)" || return 1
	pt --list -i 'package.equals(extra)'
	expect_eq "package" "$(pt_sorted $PT_E::test_upper $PT_E::test_greeting_length)" "$(pt_listed)" || return 1
	# The package is the test module's package, dotted.
	pt --list -i 'package.equals(tests.sandbox)'
	expect_eq "nested package" "$(pt_sorted $PT_S::test_writes_to_tmp $PT_S::test_reads_data_file \
		$PT_S::test_sleeps_two_seconds $PT_S::test_sleeps_past_timeout)" "$(pt_listed)" || return 1
	pt --list -i 'package.equals(tests) & name.starts_with(TestDivision::)'
	expect_eq "name of a method" "$(pt_sorted $PT_A::TestDivision::test_exact \
		$PT_A::TestDivision::test_by_zero_raises)" "$(pt_listed)" || return 1
	pt --list -i "node_id.equals($PT_A::TestDivision::test_exact)"
	expect_eq "node_id (class method)" "$PT_A::TestDivision::test_exact" "$(pt_listed)" || return 1
	pt --list -i 'node_id.contains(::TestDivision::)'
	expect_eq "node_id.contains" "$(pt_sorted $PT_A::TestDivision::test_exact \
		$PT_A::TestDivision::test_by_zero_raises)" "$(pt_listed)" || return 1
	pt --list -i 'markers.contains(slow)'
	expect_eq "markers" "$(pt_sorted $PT_S::test_sleeps_two_seconds $PT_S::test_sleeps_past_timeout)" \
		"$(pt_listed)" || return 1
	# A class's marker reaches its methods; a marker is a whole word, not a substring.
	pt --list -i 'markers.contains(arith) & node_id.contains(TestDivision)'
	expect_eq "class marker" "$(pt_sorted $PT_A::TestDivision::test_exact \
		$PT_A::TestDivision::test_by_zero_raises)" "$(pt_listed)" || return 1
	pt --list -i 'markers.contains(ari)'
	expect_eq "exit (no marker ari)" 0 "$CODE" || { pt_dump; return 1; }
	expect_eq "marker is not a substring match" "" "$(pt_listed)" || return 1
	# pytest's own markers (skip, xfail) are markers too.
	pt --list -i 'markers.contains(xfail)'
	expect_eq "xfail marker" "$(pt_sorted $PT_O::test_xfail_non_strict $PT_O::test_xfail_strict \
		$PT_O::test_xpass)" "$(pt_listed)" || return 1
	pt --list -i 'file.matches(^tests/sandbox/) & !markers.contains(slow)'
	expect_eq "matches and not" "$(pt_sorted $PT_S::test_writes_to_tmp $PT_S::test_reads_data_file)" \
		"$(pt_listed)" || return 1
	pt --list -i 'file.globs(extra/*.py)'
	expect_eq "globs" "$(pt_sorted $PT_E::test_upper $PT_E::test_greeting_length)" "$(pt_listed)"
}

t_pytest_include_exclude_semantics() {
	pt_setup || return "$(pt_skip $?)"
	pt --list -i 'markers.contains(slow)' -i 'markers.contains(io)'
	expect_eq "includes add up" "$(pt_sorted $PT_S::test_sleeps_two_seconds \
		$PT_S::test_sleeps_past_timeout $PT_S::test_writes_to_tmp $PT_S::test_reads_data_file)" \
		"$(pt_listed)" || return 1
	pt --list -i "file.equals($PT_S)" -x 'markers.contains(slow)'
	expect_eq "exclude" "$(pt_sorted $PT_S::test_writes_to_tmp $PT_S::test_reads_data_file)" \
		"$(pt_listed)" || return 1
	# --exclude wins, whatever the order on the command line.
	pt --list -x "file.equals($PT_E)" -i "file.equals($PT_E)"
	expect_eq "exit (nothing selected)" 0 "$CODE" || { pt_dump; return 1; }
	expect_eq "exclude wins" "" "$(pt_listed)" || return 1
	pt --list --exclude "file.starts_with(tests/)"
	expect_eq "only excludes" "$(pt_sorted $PT_E::test_upper $PT_E::test_greeting_length)" \
		"$(pt_listed)" || return 1
	# Abbreviations, as the book's example; `-` is difference.
	pt --list -i 'f.eq(extra/test_text.py) & na.starts(test_up)'
	expect_eq "abbreviated" "$PT_E::test_upper" "$(pt_listed)" || return 1
	# `n` could be name or node_id.
	pt --list -i 'n.eq(test_add)'
	[ "$CODE" -ne 0 ] || fail "an ambiguous abbreviation must be an error" || return 1
	expect_contains "names the candidates" "node_id" "$OUT$ERR" || return 1
	pt --list -i 'm.c(arith) - name.starts_with(test_square)'
	expect_eq "difference" "$(pt_sorted $PT_A::test_add $PT_A::test_mul $PT_A::TestDivision::test_exact \
		$PT_A::TestDivision::test_by_zero_raises)" "$(pt_listed)"
}

t_pytest_bad_filter_is_an_error() {
	pt_setup || return "$(pt_skip $?)"
	pt -i 'name.equalz(x)'
	[ "$CODE" -ne 0 ] || fail "a bad filter must exit non-zero" || return 1
	expect_eq "result lines" 0 "$(pt_result_lines | wc -l)" || return 1
	expect_contains "message names the bad word" "equalz" "$OUT$ERR" || return 1
	# cargo's selectors are not pytest's.
	pt --list -i 'binary'
	[ "$CODE" -ne 0 ] || fail "a cargo selector must be an error for maelstrom-pytest"
}

t_pytest_repeat_runs_each_test_n_times() {
	pt_setup || return "$(pt_skip $?)"
	pt -r 3 -i 'name.equals(test_add) | name.equals(test_upper)'
	expect_eq "exit" 0 "$CODE" || { pt_dump; return 1; }
	expect_eq "runs of test_add" 3 "$(pt_count $PT_A::test_add OK)" || return 1
	expect_eq "runs of test_upper" 3 "$(pt_count $PT_E::test_upper OK)" || return 1
	pt --repeat 2 -i 'name.equals(test_mul)'
	expect_eq "runs with --repeat" 2 "$(pt_count $PT_A::test_mul OK)"
}

t_pytest_stop_after_cancels_the_rest() {
	pt_setup || return "$(pt_skip $?)"
	pt -r 5 -i 'name.equals(test_fails_on_purpose)'
	expect_eq "failures without --stop-after" 5 "$(pt_count $PT_O::test_fails_on_purpose FAIL)" || return 1
	pt -s 1 -r 20 -i 'name.equals(test_fails_on_purpose)'
	expect_eq "exit" 1 "$CODE" || return 1
	local n
	n=$(pt_count $PT_O::test_fails_on_purpose FAIL)
	[ "$n" -ge 1 ] && [ "$n" -lt 20 ] ||
		fail "with -s 1, expected between 1 and 19 failures reported, got $n" || return 1
	pt --stop-after 2 -r 20 -i 'name.equals(test_fails_on_purpose)'
	n=$(pt_count $PT_O::test_fails_on_purpose FAIL)
	[ "$n" -ge 2 ] && [ "$n" -lt 20 ] ||
		fail "with --stop-after 2, expected between 2 and 19 failures, got $n"
}

t_pytest_quiet_prints_no_test_lines() {
	pt_setup || return "$(pt_skip $?)"
	pt --quiet -i 'markers.contains(arith)'
	expect_eq "exit" 0 "$CODE" || { pt_dump; return 1; }
	expect_eq "result lines" 0 "$(pt_result_lines | wc -l)" || return 1
	expect_contains "summary" "Test Summary" "$OUT" || return 1
	pt --quiet -i 'name.equals(test_fails_on_purpose)'
	expect_eq "exit (failing)" 1 "$CODE"
}

t_pytest_fancy_ui_on_a_terminal() {
	pt_setup || return "$(pt_skip $?)"
	command -v script >/dev/null || { echo "note: script(1) missing; fancy UI not tested"; return 0; }
	OUT=$(timeout 120 script -qefc "$(printf '%q ' "$PT" --ui fancy -i 'markers.contains(arith)')" \
		/dev/null </dev/null 2>&1)
	CODE=$?
	expect_eq "exit" 0 "$CODE" || { pt_dump; return 1; }
	expect_contains "summary" "Test Summary" "$OUT" || return 1
	OUT=$(timeout 120 script -qefc "$(printf '%q ' "$PT" --ui fancy \
		-i 'name.equals(test_fails_on_purpose)')" /dev/null </dev/null 2>&1)
	expect_eq "exit (failing)" 1 "$?"
}

# ---- state, JUnit, --init, caching ------------------------------------------------

t_pytest_state_orders_failed_then_longest_first() {
	pt_setup || return "$(pt_skip $?)"
	# One slot, so the result lines come in submission order.
	local sel="(file.equals($PT_S) - name.equals(test_sleeps_past_timeout)) | name.equals(test_fails_on_purpose)"
	pt --slots 1 -i "$sel"
	expect_eq "first run exit" 1 "$CODE" || { pt_dump; return 1; }
	local state=.maelstrom-pytest/state/test-listing.json
	[ -f "$state" ] || fail "no listing state at $state" || return 1
	jq -e . "$state" >/dev/null || fail "listing state is not JSON" || return 1
	expect_contains "state names the failed test" "test_fails_on_purpose" "$(cat "$state")" || return 1
	pt --ui simple --slots 1 -i "$sel"
	local order
	order=$(pt_result_lines | head -2 | awk '{ print $1 }' | tr '\n' ' ')
	# The failed test first, then the longest.
	expect_eq "order" "$PT_O::test_fails_on_purpose $PT_S::test_sleeps_two_seconds " "$order" || {
		pt_result_lines >&2
		return 1
	}
	expect_eq "second run count" 4 "$(pt_result_lines | wc -l)"
}

t_pytest_junit_report() {
	pt_setup || return "$(pt_skip $?)"
	command -v xmllint >/dev/null || { fail "xmllint is needed (Debian package libxml2-utils)"; return 1; }
	pt --junit "$SCRATCH/report.xml" -x 'name.equals(test_sleeps_two_seconds)'
	[ "$CODE" -ne 0 ] || fail "the run holds failures" || return 1
	local f=$SCRATCH/report.xml
	[ -f "$f" ] || fail "no JUnit file written" || return 1
	xmllint --noout "$f" || fail "JUnit file is not well-formed XML" || return 1
	expect_eq "testcases" 21 "$(pt_xpath "$f" 'count(//testcase)')" || return 1
	# FAIL, ERROR and TIMEOUT.
	expect_eq "failed testcases" 3 "$(pt_xpath "$f" 'count(//testcase[failure or error])')" || return 1
	# Two skipped, two xfailed.
	expect_eq "skipped testcases" 4 "$(pt_xpath "$f" 'count(//testcase[skipped])')" || return 1
	expect_eq "tests attribute" 21 "$(pt_xpath "$f" 'sum(//testsuite/@tests)')" || return 1
	expect_eq "failures+errors attributes" 3 \
		"$(pt_xpath "$f" 'sum(//testsuite/@failures) + sum(//testsuite/@errors)')" || return 1
	expect_eq "skipped attribute" 4 "$(pt_xpath "$f" 'sum(//testsuite/@skipped)')" || return 1
	expect_contains "captured output in the report" "pytest-failing-stdout-line" \
		"$(pt_xpath "$f" '//testcase[contains(@name, "test_fails_on_purpose")]')" || return 1
	expect_eq "timed-out test is a failure" 1 \
		"$(pt_xpath "$f" 'count(//testcase[contains(@name, "test_sleeps_past_timeout")][failure or error])')"
}

t_pytest_init_creates_and_refuses_to_overwrite() {
	pt_setup || return "$(pt_skip $?)"
	local before
	before=$(cksum <maelstrom-pytest.toml)
	pt --init
	[ "$CODE" -ne 0 ] || fail "--init over an existing maelstrom-pytest.toml must fail" || return 1
	expect_eq "existing file untouched" "$before" "$(cksum <maelstrom-pytest.toml)" || return 1
	rm maelstrom-pytest.toml
	pt --init
	expect_eq "exit" 0 "$CODE" || { pt_dump; return 1; }
	[ -f maelstrom-pytest.toml ] || fail "--init created no maelstrom-pytest.toml" || return 1
	expect_contains "template" "[[directives]]" "$(cat maelstrom-pytest.toml)" || return 1
	expect_eq "nothing ran" 0 "$(pt_result_lines | wc -l)" || return 1
	before=$(cksum <maelstrom-pytest.toml)
	pt --init
	[ "$CODE" -ne 0 ] || fail "a second --init must fail" || return 1
	expect_eq "created file untouched" "$before" "$(cksum <maelstrom-pytest.toml)" || return 1
	# The template is the default container: /tmp works with it, and the
	# project's own modules and conftest.py are there.
	pt -i 'name.equals(test_writes_to_tmp) | markers.contains(arith) | file.equals(extra/test_text.py)'
	expect_eq "run with the template" 0 "$CODE" || { pt_dump; return 1; }
	expect_pt $PT_S::test_writes_to_tmp OK || return 1
	expect_pt $PT_A::TestDivision::test_exact OK || return 1
	expect_pt $PT_E::test_upper OK
}

t_pytest_second_run_builds_no_layer() {
	pt_setup || return "$(pt_skip $?)"
	pt -L debug -i 'markers.contains(arith)'
	expect_eq "first run" 0 "$CODE" || { pt_dump; return 1; }
	local n
	n=$(printf '%s\n%s\n' "$OUT" "$ERR" | grep -c 'files read')
	[ "$n" -gt 0 ] || fail "the first run should read files into layers (debug log)" || return 1
	pt -L debug -i 'markers.contains(arith)'
	expect_eq "second run" 0 "$CODE" || { pt_dump; return 1; }
	expect_eq "layers read again" 0 "$(printf '%s\n%s\n' "$OUT" "$ERR" | grep -c 'files read')" || {
		printf '%s\n%s\n' "$OUT" "$ERR" | grep 'files read' | head -5 >&2
		return 1
	}
	# A changed source file is read again, and only that layer's files.
	printf '\n# changed\n' >>calc/arith.py
	pt -L debug -i 'markers.contains(arith)'
	expect_eq "third run" 0 "$CODE" || { pt_dump; return 1; }
	n=$(printf '%s\n%s\n' "$OUT" "$ERR" | grep -c 'files read')
	[ "$n" -gt 0 ] || fail "a changed project file must be read again"
}

# ---- agreement with plain pytest ---------------------------------------------------

t_pytest_outcomes_match_plain_pytest() {
	pt_setup || return "$(pt_skip $?)"
	# The sleeper passes under plain pytest (no timeout there): leave it out.
	# pytest's (non-strict) XPASS is maelstrom-pytest's OK.
	local sleeper=$PT_S::test_sleeps_past_timeout
	timeout 120 "$PT_PY" -m pytest -p no:cacheprovider -v -rA --deselect "$sleeper" \
		--junitxml="$SCRATCH/plain.xml" >"$SCRATCH/plain.out" 2>&1
	local expected
	expected=$(sed -nE 's/^([^ ]+::[^ ]+) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)( .*)?$/\1 \2/p' \
		"$SCRATCH/plain.out" |
		sed -e 's/ PASSED$/ OK/' -e 's/ FAILED$/ FAIL/' -e 's/ XPASS$/ OK/' | sort)
	[ "$(printf '%s\n' "$expected" | wc -l)" -eq 21 ] ||
		fail "plain pytest reported an unexpected set: [$expected]" || return 1
	# JUnit from pytest agrees on the counts (xfail is a skip there).
	expect_eq "pytest's junit testcases" 21 "$(pt_xpath "$SCRATCH/plain.xml" 'count(//testcase)')" || return 1
	pt -x "node_id.equals($sleeper)"
	local got="" name
	while read -r name _; do
		got+="$name $(pt_outcome "$name")"$'\n'
	done <<<"$expected"
	expect_eq "outcomes" "$expected" "$(printf '%s' "$got" | sort)" || return 1
	expect_eq "as many results as pytest" 21 "$(pt_result_lines | wc -l)"
}

# ---- warm containers (fork servers) --------------------------------------------
#
# The isolation fixture (tests/fixtures/pytest-isolation) holds pairs of
# tests that break each other when they share a process, an environment, a
# /tmp, a network or a PID namespace (tests/test_leaks.py), a test that ends
# its interpreter with os._exit(7) and one after it (tests/test_exit.py), a
# test that checks how it started (tests/test_mode.py: warm when forked from
# a zygote, cold otherwise, against $EXPECTED_START), one that a directive's
# `fork_server = false` keeps cold (tests/test_cold_only.py), and four slow
# ones (tests/test_slow.py, selected only by the zygote-killing test).

PI_FIXTURE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../fixtures/pytest-isolation" 2>/dev/null && pwd)
PI_L=tests/test_leaks.py
PI_LEAKS="$PI_L::test_module_state_a $PI_L::test_module_state_b $PI_L::test_environ_a
$PI_L::test_environ_b $PI_L::test_tmp_a $PI_L::test_tmp_b $PI_L::test_leftover_process_a
$PI_L::test_leftover_process_b"
PI_FAST='!markers.contains(slow)'

# pi_setup: the isolation fixture in $SCRATCH/iso (the working directory).
pi_setup() {
	pt_find_python || return 2
	PT=$BUILD/bin/maelstrom-pytest
	[ -x "$PT" ] || { fail "maelstrom-pytest is not built ($PT missing)"; return 1; }
	[ -d "$PI_FIXTURE" ] || { fail "fixture missing: tests/fixtures/pytest-isolation"; return 1; }
	mkdir -p "$SCRATCH/iso" || return 1
	(cd "$PI_FIXTURE" && tar --exclude=__pycache__ --exclude=./.maelstrom-pytest -cf - .) |
		(cd "$SCRATCH/iso" && tar -xpf -) || { fail "cannot copy the isolation fixture"; return 1; }
	export MAELSTROM_PYTEST_PYTHON=$PT_PY NO_COLOR=1 PYTHONDONTWRITEBYTECODE=1
	cd "$SCRATCH/iso" || return 1
}

# pt_verdicts: "NODEID WORD" for every result line of $OUT, sorted.
pt_verdicts() {
	pt_result_lines | awk '{ w = $0; sub(/ \.\.\.+ /, "\t", w); split(w, p, "\t");
		split(p[2], q, " "); print $1, q[1] }' | sort
}

# pt_job_specs: "NODEID<TAB>JOB-SPEC-JSON" for each job in a debug log ($ERR).
pt_job_specs() {
	printf '%s\n' "$ERR" | sed -n 's/^maelstrom-pytest: debug: \(.*\): job spec: \(.*\)$/\1\t\2/p'
}

# pi_expect_isolated: the verdicts of a run of the fixture's fast tests.
pi_expect_isolated() {
	expect_eq "exit (test_os_exit fails)" 1 "$CODE" || { pt_dump; return 1; }
	local t
	for t in $PI_LEAKS tests/test_exit.py::test_after_exit tests/test_mode.py::test_start_mode \
		tests/test_cold_only.py::test_always_cold; do
		expect_pt "$t" OK || return 1
	done
	expect_pt tests/test_exit.py::test_os_exit FAIL || return 1
	expect_eq "result lines" 12 "$(pt_result_lines | wc -l)"
}

t_pytest_warm_tests_are_isolated() {
	pi_setup || return "$(pt_skip $?)"
	EXPECTED_START=warm pt --ui simple -i "$PI_FAST"
	pi_expect_isolated || return 1
	# The same tests break each other in one pytest process (in namespaces
	# of their own, so that the listener they leave dies with the run and
	# their port and files are private): the pairs can fail.
	mkdir -p "$SCRATCH/plain-tmp"
	ISOLATION_TMP=$SCRATCH/plain-tmp timeout 120 unshare -rnpf --mount-proc \
		sh -c 'ip link set lo up && exec "$0" -m pytest -p no:cacheprovider -q -rf "$1"' \
		"$PT_PY" "$PI_L" >"$SCRATCH/plain.out" 2>&1
	local pair failed
	for pair in module_state environ tmp leftover_process; do
		failed=$(grep -cE "^FAILED $PI_L::test_${pair}_[ab]( |\$)" "$SCRATCH/plain.out")
		expect_eq "tests of the $pair pair failing in one pytest process" 1 "$failed" || {
			tail -20 "$SCRATCH/plain.out" >&2
			return 1
		}
	done
}

t_pytest_warm_and_cold_give_the_same_verdicts() {
	pi_setup || return "$(pt_skip $?)"
	EXPECTED_START=cold pt --ui simple --fork-server=false -i "$PI_FAST"
	pi_expect_isolated || return 1
	local cold
	cold=$(pt_verdicts)
	EXPECTED_START=warm pt --ui simple -i "$PI_FAST"
	expect_eq "isolation fixture: warm verdicts = cold verdicts" "$cold" "$(pt_verdicts)" || return 1
	# The main fixture: warm, cold and plain pytest agree (the sleepers
	# left out: the timeout exists only in maelstrom-pytest.toml).
	pt_setup || return 1
	local sleepers="node_id.equals($PT_S::test_sleeps_past_timeout) | node_id.equals($PT_S::test_sleeps_two_seconds)"
	pt --ui simple -x "$sleepers"
	local warm
	warm=$(pt_verdicts)
	expect_eq "warm result lines" 20 "$(printf '%s\n' "$warm" | grep -c .)" || { pt_dump; return 1; }
	pt --ui simple --fork-server=false -x "$sleepers"
	expect_eq "main fixture: warm verdicts = cold verdicts" "$warm" "$(pt_verdicts)" || return 1
	timeout 120 "$PT_PY" -m pytest -p no:cacheprovider -v --deselect "$PT_S::test_sleeps_past_timeout" \
		--deselect "$PT_S::test_sleeps_two_seconds" >"$SCRATCH/plain.out" 2>&1
	local plain
	plain=$(sed -nE 's/^([^ ]+::[^ ]+) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)( .*)?$/\1 \2/p' \
		"$SCRATCH/plain.out" |
		sed -e 's/ PASSED$/ OK/' -e 's/ FAILED$/ FAIL/' -e 's/ XPASS$/ OK/' | sort)
	expect_eq "main fixture: warm verdicts = plain pytest's" "$plain" "$warm"
}

t_pytest_fork_server_option_and_directive() {
	pi_setup || return "$(pt_skip $?)"
	# Warm by default: every job names the same zygote, except the test a
	# directive keeps cold. The zygote is given no files: it collects what
	# pytest collects by default, as the host did, so that it can start
	# while the host collects (test_pytest_prewarm.sh).
	EXPECTED_START=warm pt -L debug --ui simple -i "$PI_FAST"
	pi_expect_isolated || return 1
	local specs
	specs=$(pt_job_specs)
	expect_eq "job specs in the debug log" 12 "$(printf '%s\n' "$specs" | grep -c .)" || return 1
	expect_eq "jobs without a fork server" "tests/test_cold_only.py::test_always_cold" \
		"$(printf '%s\n' "$specs" | awk -F'\t' 'index($2, "\"fork_server\"") == 0 { print $1 }')" ||
		return 1
	local zygotes
	zygotes=$(printf '%s\n' "$specs" | cut -f2 | jq -c 'select(.fork_server) | .fork_server' | sort -u)
	expect_eq "distinct zygotes" 1 "$(printf '%s\n' "$zygotes" | grep -c .)" || return 1
	expect_eq "the zygote's arguments" '["-m","pytest","-p","no:cacheprovider","-p","maelstrom_pytest_report","-p","maelstrom_pytest_zygote","--verbose"]' \
		"$(printf '%s\n' "$zygotes" | jq -c '.arguments')" || return 1
	# --fork-server=false, the environment, the config file: all cold.
	EXPECTED_START=cold pt -L debug --ui simple --fork-server=false -i "$PI_FAST"
	pi_expect_isolated || return 1
	expect_eq "fork servers with --fork-server=false" 0 "$(pt_job_specs | grep -c '"fork_server"')" || return 1
	EXPECTED_START=cold MAELSTROM_PYTEST_FORK_SERVER=false pt --ui simple -i "$PI_FAST"
	pi_expect_isolated || return 1
	mkdir -p "$XDG_CONFIG_HOME/maelstrom/pytest"
	echo 'fork-server = false' >"$XDG_CONFIG_HOME/maelstrom/pytest/config.toml"
	EXPECTED_START=cold pt --ui simple -i "$PI_FAST"
	pi_expect_isolated || return 1
	# The command line wins over the file.
	EXPECTED_START=warm pt --ui simple --fork-server=true -i "$PI_FAST"
	pi_expect_isolated || return 1
	# A test that expected the other mode fails: the check can fail.
	EXPECTED_START=cold pt --ui simple --fork-server=true -i 'name.equals(test_start_mode)'
	expect_pt tests/test_mode.py::test_start_mode FAIL
}

# pi_descendants PID: every descendant of PID, one per line.
pi_descendants() {
	local kids k
	kids=$(pgrep -P "$1" 2>/dev/null)
	for k in $kids; do
		echo "$k"
		pi_descendants "$k"
	done
}

t_pytest_killed_zygote_costs_no_test() {
	pi_setup || return "$(pt_skip $?)"
	# Four 3 s tests at four slots, warm; once the zygote has been up a
	# second (the tests forked from it are running), it is killed.
	timeout 180 "$PT" --ui simple --slots 4 -i 'markers.contains(slow)' \
		>"$SCRATCH/pt.out" 2>"$SCRATCH/pt.err" </dev/null &
	local run=$! zygote="" i p
	for i in $(seq 300); do
		for p in $(pi_descendants "$run"); do
			if tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -q -- '-p maelstrom_pytest_zygote '; then
				zygote=$p
				break
			fi
		done
		[ -n "$zygote" ] && break
		kill -0 "$run" 2>/dev/null || break
		sleep 0.1
	done
	if [ -n "$zygote" ]; then
		sleep 1
		kill -KILL "$zygote" 2>/dev/null
	fi
	wait "$run"
	CODE=$?
	OUT=$(cat "$SCRATCH/pt.out")
	ERR=$(cat "$SCRATCH/pt.err")
	[ -n "$zygote" ] || fail "no zygote process (-p maelstrom_pytest_zygote) was seen under maelstrom-pytest" ||
		{ pt_dump; return 1; }
	expect_eq "exit" 0 "$CODE" || { pt_dump; return 1; }
	for i in 0 1 2 3; do
		expect_pt "tests/test_slow.py::test_slow[$i]" OK || return 1
	done
	expect_eq "result lines" 4 "$(pt_result_lines | wc -l)"
}

t_pytest_warm_on_a_cluster() {
	pi_setup || return "$(pt_skip $?)"
	source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh" || return 1
	cluster_up || return 1
	cluster_start_broker || return 1
	cluster_start_worker worker1 2 || return 1
	cluster_wait_workers 1 || return 1
	local o=$SCRATCH/pt.out e=$SCRATCH/pt.err
	EXPECTED_START=warm cluster_exec client timeout 180 "$PT" --broker "$BROKER_ADDR" --ui simple \
		-i "$PI_FAST" >"$o" 2>"$e" </dev/null
	CODE=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
	# test_start_mode passing says the worker forked it from a zygote.
	pi_expect_isolated || return 1
	expect_eq "jobs the broker completed" 12 "$(cluster_jq '.stats.jobs_completed')"
}
