# Cluster mode: maelstrom-broker, two maelstrom-workers and maelstrom-run
# --broker, each on its own host of a private network (network namespaces
# as root, loopback otherwise; see cluster_lib.sh). Jobs are busybox jobs
# (lib.sh's bb_job).

source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"

# cl_sum_running: the sum of the workers' running counts in a status JSON on stdin.
cl_sum_running() { jq -r '[.workers[].running] | add // 0'; }

t_cluster_jobs_spread_over_workers() {
	cluster_basic 2 || return 1
	local i
	for i in $(seq 1 40); do
		bb_job "sleep 0.2; echo spread-$i"
	done >jobs.json
	cluster_run_bg -L debug -f jobs.json
	# Meanwhile, note which workers the status shows busy.
	local -A busy=()
	local n
	while kill -0 "$RUN_PID" 2>/dev/null; do
		while IFS= read -r n; do
			[ -n "$n" ] && busy[$n]=1
		done < <(cluster_jq '.workers[] | select(.running > 0) | .name' 2>/dev/null)
		sleep 0.1
	done
	cluster_run_wait
	expect_eq "exit" 0 "$CODE" || { echo "$ERR" | tail -5; return 1; }
	expect_eq "jobs whose output arrived" 40 "$(printf '%s\n' "$OUT" | grep -c '^spread-')" || return 1
	local ran_on names
	ran_on=$(printf '%s\n' "$ERR" | sed -n 's/.*job [0-9]* ran on //p')
	names=$(printf '%s\n' "$ran_on" | grep . | sort | uniq -c | awk '{print $2 "=" $1}' | tr '\n' ' ')
	if [ -n "$ran_on" ]; then
		expect_eq "'ran on' debug lines" 40 "$(printf '%s\n' "$ran_on" | grep -c .)" || return 1
		[ "$(printf '%s\n' "$ran_on" | sort -u | wc -l)" -ge 2 ] ||
			fail "every job ran on one worker: $names" || return 1
	else
		echo "    note: no 'job N ran on WORKER' debug lines; judging by the status counters" >&2
		[ "${#busy[@]}" -ge 2 ] ||
			fail "status showed only these workers busy: ${!busy[*]}" || return 1
	fi
}

t_cluster_worker_killed_loses_no_job() {
	cluster_basic 2 || return 1
	local i
	for i in $(seq 1 24); do
		bb_job "sleep 0.5; echo survivor-$i"
	done >jobs.json
	cluster_run_bg -f jobs.json
	# More than 2 running at 2 slots a worker: both workers hold jobs.
	cluster_wait_status '[.workers[].running] | add > 2' true || { cluster_run_wait 1; return 1; }
	kill -KILL "${CL_PID[worker1]}"
	wait "${CL_PID[worker1]}" 2>/dev/null
	cluster_run_wait 60
	expect_eq "exit" 0 "$CODE" || { echo "$ERR" | tail -5; return 1; }
	for i in $(seq 1 24); do
		expect_eq "times survivor-$i was printed" 1 "$(printf '%s\n' "$OUT" | grep -cx "survivor-$i")" ||
			return 1
	done
	cluster_wait_workers 1
}

t_cluster_killed_client_cancels_its_jobs() {
	cluster_basic 2 || return 1
	cluster_marker
	local m=$CL_LAST_MARKER i
	# 8 jobs on 4 slots: 4 run and 4 wait in the broker's queue.
	for i in $(seq 1 8); do
		bb_job "sleep 30; : $m-$i"
	done >jobs.json
	cluster_run_bg -f jobs.json
	cluster_wait_status '[.workers[].running] | add' 4 || return 1
	for i in $(seq 100); do
		[ "$(cluster_marked_pids "$m" | grep -c .)" -ge 4 ] && break
		sleep 0.1
	done
	[ "$(cluster_marked_pids "$m" | grep -c .)" -ge 4 ] ||
		fail "the status says 4 jobs run but pgrep finds $(cluster_marked_pids "$m" | grep -c .) with '$m'" ||
		return 1
	kill -KILL "$RUN_PID"
	wait "$RUN_PID" 2>/dev/null
	local left=""
	for i in $(seq 100); do
		left=$(cluster_marked_pids "$m")
		[ -z "$left" ] && break
		sleep 0.1
	done
	[ -z "$left" ] || fail "jobs still running 10 s after their client died: $(ps -o pid=,args= -p "$(echo $left | tr ' ' ,)")" ||
		return 1
	cluster_wait_status '.jobs.running' 0 || return 1
	cluster_wait_status '[.workers[].running] | add' 0 || return 1
	cluster_wait_status '.jobs.pending' 0 || return 1
	kill -0 "${CL_PID[worker1]}" && kill -0 "${CL_PID[worker2]}" ||
		fail "a worker died while its jobs were canceled"
}

t_cluster_second_run_uploads_nothing() {
	cluster_basic 2 || return 1
	local i
	for i in 1 2 3; do
		bb_job "echo again-$i"
	done >jobs.json
	cluster_run -f jobs.json
	expect_eq "first run" 0 "$CODE" || { echo "$ERR" | tail -5; return 1; }
	local first second
	first=$(cluster_jq '.stats.artifacts_received_bytes')
	[ "$first" -gt 0 ] 2>/dev/null ||
		fail "the first run must upload its layers (artifacts_received_bytes = [$first])" || return 1
	cluster_run -f jobs.json
	expect_eq "second run" 0 "$CODE" || { echo "$ERR" | tail -5; return 1; }
	expect_eq "output" 3 "$(printf '%s\n' "$OUT" | grep -c '^again-')" || return 1
	second=$(cluster_jq '.stats.artifacts_received_bytes')
	expect_eq "artifact bytes received after the second run" "$first" "$second"
}

t_cluster_status_matches_reality() {
	cluster_up || return 1
	cluster_start_broker || return 1
	cluster_start_worker worker1 2 || return 1
	cluster_start_worker worker2 3 || return 1
	cluster_wait_workers 2 || return 1
	local i
	for i in $(seq 1 6); do
		bb_job "echo status-$i"
	done >jobs.json
	cluster_run -f jobs.json
	expect_eq "run" 0 "$CODE" || { echo "$ERR" | tail -5; return 1; }
	cluster_wait_status '.clients' 0 || return 1
	local s
	s=$(cluster_status) || { fail "maelstrom-admin status --json failed: $s"; return 1; }
	printf '%s' "$s" | jq -e . >/dev/null || { fail "status is not JSON: $s"; return 1; }
	cl_q() { printf '%s' "$s" | jq -r "$1"; }
	expect_eq "workers" 2 "$(cl_q '.workers | length')" || return 1
	expect_eq "slots, sorted" "2 3" "$(cl_q '[.workers[].slots] | sort | map(tostring) | join(" ")')" || return 1
	expect_eq "slots, sum" 5 "$(cl_q '[.workers[].slots] | add')" || return 1
	expect_eq "workers' running" 0 "$(cl_q '[.workers[].running] | add')" || return 1
	expect_eq "worker names distinct" 2 "$(cl_q '[.workers[].name] | unique | length')" || return 1
	expect_eq "jobs.running" 0 "$(cl_q '.jobs.running')" || return 1
	expect_eq "jobs.pending" 0 "$(cl_q '.jobs.pending')" || return 1
	expect_eq "jobs.waiting_for_artifacts" 0 "$(cl_q '.jobs.waiting_for_artifacts')" || return 1
	expect_eq "jobs.completed" 6 "$(cl_q '.jobs.completed')" || return 1
	expect_eq "stats.jobs_submitted" 6 "$(cl_q '.stats.jobs_submitted')" || return 1
	expect_eq "stats.jobs_completed" 6 "$(cl_q '.stats.jobs_completed')" || return 1
	expect_eq "cache holds the layers" true "$(cl_q '.cache.bytes_used > 0 and .cache.cache_size >= .cache.bytes_used')" ||
		return 1
	expect_eq "uptime is a number" number "$(cl_q '.stats.uptime_s | type')" || return 1
	if [ "$CL_MODE" = netns ]; then
		local addrs
		addrs=$(cl_q '[.workers[].address] | sort | join(" ")')
		expect_contains "worker1's address" "$(cluster_addr worker1)" "$addrs" || return 1
		expect_contains "worker2's address" "$(cluster_addr worker2)" "$addrs" || return 1
	fi
	# The HTTP page serves the same document.
	local h
	h=$(cluster_http_status)
	printf '%s' "$h" | jq -e . >/dev/null || { fail "GET /api/status is not JSON: $h"; return 1; }
	expect_eq "http: workers" 2 "$(printf '%s' "$h" | jq '.workers | length')" || return 1
	expect_eq "http: jobs_completed" 6 "$(printf '%s' "$h" | jq '.stats.jobs_completed')" || return 1
	expect_eq "http: same keys" "$(cl_q 'keys | join(" ")')" "$(printf '%s' "$h" | jq -r 'keys | join(" ")')"
}

t_cluster_admin_stop_exits_broker_zero() {
	cluster_basic 2 || return 1
	local out
	out=$(cluster_admin stop 2>&1)
	expect_eq "maelstrom-admin stop exit" 0 "$?" || { echo "$out"; return 1; }
	local i
	for i in $(seq 100); do
		kill -0 "$CL_BROKER_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$CL_BROKER_PID" 2>/dev/null && { fail "broker still running 10 s after stop"; return 1; }
	wait "$CL_BROKER_PID"
	expect_eq "broker exit status" 0 "$?"
}

t_cluster_garbage_peer_is_dropped() {
	cluster_basic 2 || return 1
	local payload rc
	# A frame length of 1.7 GB ("garb"), a short frame that is no protobuf,
	# and a well-formed empty frame (an Envelope with nothing set).
	for payload in 'garbage' '\0\0\0\5\377\377\377\377\377' '\0\0\0\0'; do
		cluster_exec client timeout 10 bash -c '
			exec 3<>"/dev/tcp/${1%:*}/${1##*:}" || exit 99
			printf "$2" >&3
			timeout 5 cat <&3 >/dev/null' _ "$BROKER_ADDR" "$payload"
		rc=$?
		[ "$rc" -ne 99 ] || fail "could not connect to the broker" || return 1
		[ "$rc" -ne 124 ] || fail "the broker kept a peer that sent [$payload] for 5 s" || return 1
		kill -0 "$CL_BROKER_PID" 2>/dev/null || fail "the broker died after [$payload]" || return 1
	done
	bb_job 'echo still-serving' >job.json
	cluster_run -f job.json
	expect_eq "run after garbage" 0 "$CODE" || { echo "$ERR" | tail -5; return 1; }
	expect_eq "output" still-serving "$OUT" || return 1
	expect_eq "workers still registered" 2 "$(cluster_jq '.workers | length')"
}
