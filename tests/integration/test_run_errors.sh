# Bad input: one clear error per bad job, naming the job, the field and what
# to do; the other jobs still run; nothing is left behind.

t_bad_jobs_in_a_stream() {
	{
		bb_job 'echo first-ok'
		echo '{ "program": "/bin/sh", "layers": [ }'          # malformed
		echo '{ "progam": "/bin/sh", "layers": [] }'          # unknown field
		echo '{ "program": 7, "layers": [] }'                 # wrong type
		echo '{ "layers": [] }'                               # missing program
		bb_job 'echo last-ok'
	} >jobs.json
	run_stream -f jobs.json
	[ "$CODE" -ne 0 ] || fail "bad jobs must make the status non-zero" || return 1
	expect_contains "good job 1 ran" "first-ok" "$OUT" || return 1
	expect_contains "good job 6 ran" "last-ok" "$OUT" || return 1
	expect_contains "malformed names job 2 and its line" "job 2 at line" "$ERR" || return 1
	expect_contains "unknown field" "unknown field \`progam\`" "$ERR" || return 1
	expect_contains "did you mean" "program" "$ERR" || return 1
	expect_contains "wrong type" "field \`program\`" "$ERR" || return 1
	expect_contains "missing program" "missing field \`program\`" "$ERR"
}

t_missing_program_is_an_execution_error() {
	local job='{ "layers": '"$(bb_layers)"', "program": "/bin/nope", "environment": {"PATH": "/bin"} }'
	run_one "$job"
	[ "$CODE" -ne 0 ] || fail "must fail" || return 1
	expect_contains "names the program" "/bin/nope" "$ERR"
}

t_missing_layer_path() {
	local job='{ "layers": [ { "paths": ["/no/such/file"] } ], "program": "/bin/sh" }'
	run_one "$job"
	[ "$CODE" -ne 0 ] || fail "must fail" || return 1
	expect_contains "names the path" "/no/such/file" "$ERR" || return 1
	expect_contains "names the field" "layers[0]" "$ERR"
}

t_mount_point_missing_from_layers() {
	local job='{ "layers": [ { "paths": ["'"$BUSYBOX"'"] } ], "program": "'"$BUSYBOX"'",
	  "arguments": ["true"], "mounts": [ {"type": "proc", "mount_point": "/proc"} ] }'
	run_one "$job"
	[ "$CODE" -ne 0 ] || fail "must fail" || return 1
	expect_contains "names the mount point" "/proc" "$ERR" || return 1
	expect_contains "says what to do" "stubs" "$ERR"
}

t_unset_env_variable() {
	local job='{ "layers": '"$(bb_layers)"', "program": "/bin/sh", "environment": {"X": "$env{MR_SURELY_UNSET}"} }'
	run_one "$job"
	[ "$CODE" -ne 0 ] || fail "must fail" || return 1
	expect_contains "names the variable" "MR_SURELY_UNSET" "$ERR"
}

t_unsafe_tar_layer_is_refused() {
	mkdir -p evil
	ln -s / evil/escape
	tar -C evil -cf evil.tar escape
	printf 'x' >dotdot
	tar -cf dotdot.tar --transform 's,^,../,' dotdot 2>/dev/null
	local job='{ "layers": [ { "tar": "dotdot.tar" } ], "program": "/x" }'
	run_one "$job"
	[ "$CODE" -ne 0 ] || fail "a tar with .. must be refused" || return 1
	expect_contains "explains" ".." "$ERR"
}

t_nothing_left_behind_after_errors() {
	{
		echo '{ "layers": [ { "paths": ["/no/such"] } ], "program": "/x" }'
		bb_job 'exit 1'
		bb_job 'sleep 100' '"timeout": 1'
	} >jobs.json
	run_stream -f jobs.json
	sleep 0.2
	expect_no_leftovers 'sleep 100' || return 1
	local tmps
	tmps=$(find "$XDG_CACHE_HOME" -path "$XDG_CACHE_HOME/*/tmp/*" -type f 2>/dev/null | wc -l)
	expect_eq "temp files left in the cache" 0 "$tmps"
}

t_bad_option_and_config_errors() {
	run_stream --no-such-option </dev/null
	[ "$CODE" -ne 0 ] || fail "unknown option must fail" || return 1
	expect_contains "names the option" "no-such-option" "$ERR" || return 1
	run_stream --slots abc </dev/null
	[ "$CODE" -ne 0 ] || fail "bad number must fail" || return 1
	expect_contains "names the value" "slots" "$ERR" || return 1
	mkdir -p "$XDG_CONFIG_HOME/maelstrom/run"
	printf 'slots = 2\ncach-size = "1 GB"\n' >"$XDG_CONFIG_HOME/maelstrom/run/config.toml"
	run_stream </dev/null
	[ "$CODE" -ne 0 ] || fail "bad config key must fail" || return 1
	expect_contains "names file and line" "config.toml line 2" "$ERR"
}
