# maelstrom-pytest starts the run's zygote (its fork server) while the host
# still collects the tests, so that the zygote's start-up overlaps the
# collection instead of following it (runners/pytest/pytest_discover.h,
# client_prewarm). Uses the isolation fixture and helpers of test_pytest.sh
# (pi_setup, pt, pi_expect_isolated, ...).

# pp_await_zygote: makes the fixture's host collection wait, at its end,
# until a zygote (a process with `-p maelstrom_pytest_zygote` in its
# command line) descending from this maelstrom-pytest runs, at most 30 s,
# then write "seen" or "not seen" into $PP_AWAIT. Only where $PP_AWAIT is
# set: the host; the containers do not get the variable. Without a zygote
# started during collection, the collection waits the whole bound and the
# file says "not seen": the check fails, whatever the machine's speed.
pp_await_zygote() {
	cat >>conftest.py <<'EOF'


def _pp_zygote_descends_from(ancestor):
    """Whether a zygote process descending from ancestor runs now."""
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if b"\0maelstrom_pytest_zygote\0" not in f.read():
                    continue
            p = int(pid)
            while p > 1:
                with open("/proc/%d/stat" % p) as f:
                    p = int(f.read().rsplit(")", 1)[1].split()[1])
                if p == ancestor:
                    return True
        except (OSError, ValueError, IndexError):
            continue
    return False


def pytest_collection_finish(session):
    flag = os.environ.get("PP_AWAIT")
    if not flag:
        return
    import time
    seen = False
    for _ in range(300):
        if _pp_zygote_descends_from(os.getppid()):
            seen = True
            break
        time.sleep(0.1)
    with open(flag, "w") as f:
        f.write("seen" if seen else "not seen")
EOF
}

# pp_zygote_starts: the debug log's "fork server `...` started" lines of
# pytest zygotes.
pp_zygote_starts() {
	printf '%s\n' "$ERR" | grep -E '^maelstrom-pytest: debug: fork server `.*-p maelstrom_pytest_zygote.*` started$'
}

t_pytest_prewarm_zygote_starts_during_collection() {
	pi_setup || return "$(pt_skip $?)"
	pp_await_zygote
	PP_AWAIT=$SCRATCH/await EXPECTED_START=warm pt -L debug --ui simple -i "$PI_FAST"
	pi_expect_isolated || return 1
	expect_eq "a zygote ran while the host collected" "seen" "$(cat "$SCRATCH/await" 2>/dev/null)" ||
		{ pt_dump; return 1; }
	# In the log: the zygote started before the collection's end, once;
	# the tests were forked from that one.
	expect_eq "zygotes started" 1 "$(pp_zygote_starts | wc -l)" || { pt_dump; return 1; }
	local started collected
	started=$(printf '%s\n' "$ERR" | grep -nE '^maelstrom-pytest: debug: fork server `.*` started$' |
		head -n 1 | cut -d: -f1)
	collected=$(printf '%s\n' "$ERR" | grep -n '^maelstrom-pytest: debug: collected 16 tests$' |
		head -n 1 | cut -d: -f1)
	[ -n "$started" ] && [ -n "$collected" ] && [ "$started" -lt "$collected" ] ||
		fail "the zygote must start before the collection ends (log lines ${started:-none}," \
			"${collected:-none})" || { pt_dump; return 1; }
	# --fork-server=false starts nothing ahead, and the collection is not
	# waited for (the check can fail).
	rm -f "$SCRATCH/await"
	PP_AWAIT=$SCRATCH/await EXPECTED_START=cold pt -L debug --ui simple --fork-server=false \
		-i 'name.equals(test_start_mode)'
	expect_pt tests/test_mode.py::test_start_mode OK || return 1
	expect_eq "zygotes started with --fork-server=false" 0 "$(pp_zygote_starts | wc -l)" || return 1
	expect_eq "a zygote seen with --fork-server=false" "not seen" "$(cat "$SCRATCH/await" 2>/dev/null)"
}

t_pytest_prewarm_other_container_gets_its_own_zygote() {
	pi_setup || return "$(pt_skip $?)"
	# test_mode.py's tests get an environment of their own: a zygote of
	# their own, which their first job starts; the others use the one
	# started ahead. Every test still starts warm.
	cat >>maelstrom-pytest.toml <<'EOF'

[[directives]]
filter = "file.equals(tests/test_mode.py)"
added_environment = { OWN_ZYGOTE = "1" }
EOF
	EXPECTED_START=warm pt -L debug --ui simple -i "$PI_FAST"
	pi_expect_isolated || return 1
	expect_eq "zygotes started" 2 "$(pp_zygote_starts | wc -l)" || { pt_dump; return 1; }
	local specs
	specs=$(pt_job_specs)
	expect_eq "distinct zygote environments" 2 \
		"$(printf '%s\n' "$specs" | cut -f2 | jq -c 'select(.fork_server) | .environment' | sort -u | wc -l)"
}

t_pytest_prewarm_not_with_collect_args() {
	pi_setup || return "$(pt_skip $?)"
	# Arguments only the collection gets: the zygote collects the selected
	# tests' files, known once the host collected, and the first job
	# starts it (nothing ahead).
	mkdir -p "$XDG_CONFIG_HOME/maelstrom/pytest"
	echo 'extra-pytest-collect-args = ["-q"]' >"$XDG_CONFIG_HOME/maelstrom/pytest/config.toml"
	EXPECTED_START=warm pt -L debug --ui simple -i "$PI_FAST"
	pi_expect_isolated || return 1
	expect_eq "zygotes started ahead" 0 \
		"$(printf '%s\n' "$ERR" | grep -c 'ahead of its jobs')" || { pt_dump; return 1; }
	expect_eq "zygotes started" 1 "$(pp_zygote_starts | wc -l)" || return 1
	expect_eq "the zygote's files" \
		'["tests/test_cold_only.py","tests/test_exit.py","tests/test_leaks.py","tests/test_mode.py"]' \
		"$(pt_job_specs | cut -f2 | jq -c 'select(.fork_server) | .fork_server.arguments[-4:]' | sort -u)"
}

# pp_count PATTERN: lines of the debug log ($ERR) matching the ERE.
pp_count() {
	printf '%s\n' "$ERR" | grep -cE "$1"
}

t_pytest_prewarm_guesses_the_last_interpreter() {
	pi_setup || return "$(pt_skip $?)"
	local cache=.maelstrom-pytest/cache/python.json one='name.equals(test_start_mode)'
	local guessing='^maelstrom-pytest: debug: guessing the interpreter of the last run'
	local ahead='ahead of its jobs$'
	# The first run has nothing to guess from: it starts the zygote once
	# the helper named the interpreter, and keeps that for the next run.
	EXPECTED_START=warm pt -L debug --ui simple -i "$one"
	expect_pt tests/test_mode.py::test_start_mode OK || return 1
	expect_eq "guesses in the first run" 0 "$(pp_count "$guessing")" || return 1
	expect_eq "the interpreter kept" "$PT_PY" "$(jq -r .interpreter "$cache")" || return 1
	# The next run starts the zygote with it before the helper says
	# anything; the helper agrees, so nothing more is started.
	EXPECTED_START=warm pt -L debug --ui simple -i "$one"
	expect_pt tests/test_mode.py::test_start_mode OK || return 1
	expect_eq "guesses" 1 "$(pp_count "$guessing, ${PT_PY//./\\.}$")" || { pt_dump; return 1; }
	expect_eq "zygotes asked for ahead (a right guess)" 1 "$(pp_count "$ahead")" || return 1
	expect_eq "zygotes started" 1 "$(pp_zygote_starts | wc -l)" || return 1
	# A guess the helper contradicts: the fresh record is adopted, asked
	# for again (here the same container: the same zygote) and kept.
	local real
	real=$(jq -r .python.version "$cache")
	jq -c '.python.version = "0.0.0"' "$cache" >"$cache.new" && mv "$cache.new" "$cache"
	EXPECTED_START=warm pt -L debug --ui simple -i "$one"
	expect_pt tests/test_mode.py::test_start_mode OK || return 1
	expect_eq "zygotes asked for ahead (a wrong guess)" 2 "$(pp_count "$ahead")" || return 1
	expect_eq "zygotes started" 1 "$(pp_zygote_starts | wc -l)" || return 1
	expect_eq "the version kept" "$real" "$(jq -r .python.version "$cache")" || return 1
	# An interpreter this run would not try is no guess; a broken file is
	# none either (said at debug level); both are replaced.
	jq -c '.interpreter = "/no/such/python3"' "$cache" >"$cache.new" && mv "$cache.new" "$cache"
	EXPECTED_START=warm pt -L debug --ui simple -i "$one"
	expect_pt tests/test_mode.py::test_start_mode OK || return 1
	expect_eq "guesses of an interpreter not tried" 0 "$(pp_count "$guessing")" || return 1
	expect_eq "the interpreter kept" "$PT_PY" "$(jq -r .interpreter "$cache")" || return 1
	echo '{"interpreter": ' >"$cache"
	EXPECTED_START=warm pt -L debug --ui simple -i "$one"
	expect_pt tests/test_mode.py::test_start_mode OK || return 1
	expect_eq "a broken file said" 1 \
		"$(pp_count "the last run's interpreter is unknown: .*python\\.json")" || { pt_dump; return 1; }
	expect_eq "the interpreter kept" "$PT_PY" "$(jq -r .interpreter "$cache")"
}
