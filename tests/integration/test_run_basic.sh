# maelstrom-run: the issue's example, --one semantics, and stream mode.

t_issue_example_shared_libraries() {
	# /bin/sh and /usr/bin/id from the host, with their shared libraries.
	local job='{ "layers": [ { "paths": ["/bin/sh", "/usr/bin/id"], "follow_symlinks": true },
	              { "shared-library-dependencies": ["/bin/sh", "/usr/bin/id"] } ],
	  "program": "/bin/sh", "arguments": ["-c", "echo hi; /usr/bin/id -u; echo $$"] }'
	run_one "$job"
	expect_eq "exit code" 0 "$CODE" || { echo "$ERR"; return 1; }
	expect_eq "output" "hi
0
1" "$OUT"
}

t_one_exit_code_is_the_jobs() {
	run_one "$(bb_job 'exit 7')"
	expect_eq "exit code" 7 "$CODE"
}

t_one_killed_by_signal_is_mirrored() {
	# A job is PID 1 of its namespace, so only SIGKILL from outside can
	# kill it: do that from the host and expect maelstrom-run to end the
	# same way.
	bb_job 'exec sleep 31337' >job.json
	"$RUN" --one -f job.json &
	local pid=$! victim="" i
	for i in $(seq 100); do
		victim=$(pgrep -f 'sleep 31337' | head -1)
		[ -n "$victim" ] && break
		sleep 0.1
	done
	[ -n "$victim" ] || { kill "$pid"; fail "job never started"; return 1; }
	kill -KILL "$victim"
	wait "$pid"
	expect_eq "status (128 + SIGKILL)" 137 "$?"
}

t_one_positional_arguments_replace_program() {
	run_one "$(bb_job 'echo from-spec')" /bin/echo replaced words
	expect_eq "exit" 0 "$CODE" || return 1
	expect_eq "output" "replaced words" "$OUT"
}

t_stream_runs_every_job() {
	{
		for i in $(seq 1 40); do
			bb_job "echo job-$i"
		done
	} >jobs.json
	run_stream -f jobs.json
	expect_eq "exit" 0 "$CODE" || { echo "$ERR" | tail -5; return 1; }
	expect_eq "count" 40 "$(printf '%s\n' "$OUT" | grep -c '^job-')" || return 1
	for i in 1 17 40; do
		expect_contains "output" "job-$i" "$OUT" || return 1
	done
}

t_stream_on_stdin_and_failures_set_status() {
	{
		bb_job 'echo a'
		bb_job 'echo b; exit 3'
		bb_job 'echo c'
	} >jobs.json
	# Through a pipe, so the reactor reads it as a stream.
	run_stream < <(cat jobs.json)
	[ "$CODE" -ne 0 ] || fail "a failed job must make the exit status non-zero" || return 1
	expect_contains "a" "a" "$OUT" || return 1
	expect_contains "c" "c" "$OUT" || return 1
	expect_contains "reason" "exited with code 3" "$ERR"
}

t_stream_jobs_run_in_parallel() {
	# Two jobs that each wait for the other's file: only finishes if both
	# run at once (in separate containers sharing a bind-mounted dir).
	mkdir -p shared
	local m='"mounts": [ {"type": "bind", "mount_point": "/mnt", "local_path": "shared", "read_only": false} ]'
	{
		bb_job 'touch /mnt/a; for i in $(seq 100); do [ -e /mnt/b ] && exit 0; sleep 0.1; done; exit 1' "$m"
		bb_job 'touch /mnt/b; for i in $(seq 100); do [ -e /mnt/a ] && exit 0; sleep 0.1; done; exit 1' "$m"
	} >jobs.json
	run_stream --slots 2 -f jobs.json
	expect_eq "exit" 0 "$CODE" || echo "$ERR"
}

t_second_run_builds_no_layer() {
	bb_job 'echo once' >job.json
	run_stream -f job.json -L debug
	expect_eq "first" 0 "$CODE" || { echo "$ERR"; return 1; }
	local first_builds
	first_builds=$(printf '%s\n' "$ERR" | grep -c 'built as' || true)
	[ "$first_builds" -gt 0 ] || fail "first run should build layers (debug log)" || return 1
	run_stream -f job.json -L debug
	expect_eq "second" 0 "$CODE" || return 1
	expect_eq "layers read again" 0 "$(printf '%s\n' "$ERR" | grep -c 'files read' || true)"
}
