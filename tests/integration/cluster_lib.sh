# Helpers for the cluster tests: a private "cluster" of hosts (broker,
# worker1, worker2, client), each program running on its own host.
#
# As root, every host is a network namespace with one veth link to a
# "switch" namespace holding a bridge; the hosts live on 10.213.0.0/24, a
# range that exists only inside these namespaces, so no traffic leaves them
# and the host's own network is never touched (no link or route is added to
# it). Without root (or with CLUSTER_LOOPBACK=1, or when namespaces cannot
# be made) every host is 127.0.0.1 and programs differ only by port; the
# tests then say so on stderr and still run.
#
# Usage, inside a test function (which runs in its own subshell):
#   cluster_up || return 1              # namespaces or loopback; sets an EXIT trap
#   cluster_start_broker || return 1    # sets BROKER_ADDR, BROKER_HTTP, CL_BROKER_PID
#   cluster_start_worker worker1 2 || return 1
#   cluster_wait_workers 2 || return 1
#   cluster_run -f jobs.json            # maelstrom-run on the client host: OUT ERR CODE
#   cluster_status                      # status JSON (maelstrom-admin) on stdout
# Teardown (cluster_down, run by the EXIT trap) kills every process started
# here (by PID), every process left in the namespaces, every job still
# carrying a registered marker, then deletes the namespaces (which destroys
# the veth links and the bridge with them). On a failed test it prints the
# end of each program's log.

CL_BROKER_BIN="$BUILD/bin/maelstrom-broker"
CL_WORKER_BIN="$BUILD/bin/maelstrom-worker"
CL_ADMIN_BIN="$BUILD/bin/maelstrom-admin"
CL_HOSTS=(broker worker1 worker2 client)
declare -A CL_IP=([broker]=10.213.0.1 [worker1]=10.213.0.11 [worker2]=10.213.0.12 [client]=10.213.0.100)
CL_MODE=""      # netns | loopback
CL_NS=""        # namespace name prefix (netns mode)
CL_DIR=""       # logs and caches
CL_PIDS=()      # every background process started, in start order
CL_MARKERS=()   # strings in job command lines; matching processes die at teardown
declare -A CL_PID   # host name -> PID of the program running there

# cluster_need_programs: fails naming the first missing program or tool.
cluster_need_programs() {
	local p
	for p in "$CL_BROKER_BIN" "$CL_WORKER_BIN" "$CL_ADMIN_BIN" "$RUN"; do
		[ -x "$p" ] || { fail "$(basename "$p") is not built ($p missing)"; return 1; }
	done
	command -v jq >/dev/null || { fail "jq is needed to read the status JSON (apt-get install jq)"; return 1; }
}

# cl_netns_up: makes the switch and one namespace per host; 0 on success.
cl_netns_up() {
	local sw="$CL_NS-sw" h
	ip netns add "$sw" || return 1
	ip -n "$sw" link add br0 type bridge || return 1
	ip -n "$sw" link set br0 up || return 1
	for h in "${CL_HOSTS[@]}"; do
		ip netns add "$CL_NS-$h" || return 1
		ip -n "$CL_NS-$h" link set lo up || return 1
		# Both ends are created inside the namespaces: nothing on the host.
		ip link add eth0 netns "$CL_NS-$h" type veth peer name "v-$h" netns "$sw" || return 1
		ip -n "$sw" link set "v-$h" master br0 up || return 1
		ip -n "$CL_NS-$h" addr add "${CL_IP[$h]}/24" dev eth0 || return 1
		ip -n "$CL_NS-$h" link set eth0 up || return 1
	done
}

# cl_netns_del: deletes this cluster's namespaces, killing what is left in them.
cl_netns_del() {
	local ns pids
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$CL_NS-"); do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
}

# cluster_up: builds the cluster; sets CL_MODE and the EXIT trap.
cluster_up() {
	cluster_need_programs || return 1
	CL_DIR="${SCRATCH:-$(mktemp -d)}/cluster"
	mkdir -p "$CL_DIR" || return 1
	trap 'cluster_down' EXIT
	trap 'exit 130' INT TERM
	CL_MODE=loopback
	if [ "$(id -u)" -eq 0 ] && [ -z "${CLUSTER_LOOPBACK:-}" ] && command -v ip >/dev/null; then
		CL_NS="mcl$BASHPID"
		if cl_netns_up 2>"$CL_DIR/netns.err"; then
			CL_MODE=netns
		else
			echo "    note: cannot build network namespaces ($(tr '\n' ' ' <"$CL_DIR/netns.err")); using loopback" >&2
			cl_netns_del
		fi
	fi
	if [ "$CL_MODE" = loopback ]; then
		local h
		for h in "${CL_HOSTS[@]}"; do CL_IP[$h]=127.0.0.1; done
		echo "    note: cluster on loopback (127.0.0.1, one port per program), not network namespaces" >&2
	fi
}

# cluster_addr HOST: the host's IP address.
cluster_addr() { echo "${CL_IP[$1]}"; }

# cl_cmd HOST: sets the array CL_CMD to the prefix running a program on HOST.
# Background it directly ("${CL_CMD[@]}" prog &) so $! is the program itself:
# `ip netns exec` execs without forking.
cl_cmd() {
	if [ "$CL_MODE" = netns ]; then
		CL_CMD=(ip netns exec "$CL_NS-$1")
	else
		CL_CMD=()
	fi
}

# cluster_exec HOST CMD...: runs CMD on HOST in the foreground.
cluster_exec() {
	local h=$1
	shift
	cl_cmd "$h"
	"${CL_CMD[@]}" "$@"
}

# cl_wait_log FILE PATTERN PID: waits (10 s) for a line matching PATTERN
# (a sed regex with one group) in FILE; prints the group. Fails early when
# PID dies.
cl_wait_log() {
	local file=$1 re=$2 pid=$3 i v
	for i in $(seq 200); do
		v=$(sed -n "s/.*$re.*/\\1/p" "$file" 2>/dev/null | head -1)
		[ -n "$v" ] && { echo "$v"; return 0; }
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# cluster_start_broker [ARGS...]: starts the broker on host "broker".
cluster_start_broker() {
	local log="$CL_DIR/broker.log"
	cl_cmd broker
	"${CL_CMD[@]}" "$CL_BROKER_BIN" --port 0 --http-port 0 --cache-root "$CL_DIR/broker-cache" "$@" \
		>"$CL_DIR/broker.out" 2>"$log" </dev/null &
	CL_BROKER_PID=$!
	CL_PID[broker]=$!
	CL_PIDS+=($!)
	local port http
	port=$(cl_wait_log "$log" 'listening on port \([0-9][0-9]*\)' "$CL_BROKER_PID") ||
		{ fail "broker did not log 'listening on port N': $(tail -3 "$log")"; return 1; }
	http=$(cl_wait_log "$log" 'http on port \([0-9][0-9]*\)' "$CL_BROKER_PID") ||
		{ fail "broker did not log 'http on port N': $(tail -3 "$log")"; return 1; }
	BROKER_ADDR="$(cluster_addr broker):$port"
	BROKER_HTTP="$(cluster_addr broker):$http"
}

# cluster_start_worker HOST SLOTS [ARGS...]: starts a worker on HOST.
cluster_start_worker() {
	local h=$1 slots=$2
	shift 2
	cl_cmd "$h"
	"${CL_CMD[@]}" "$CL_WORKER_BIN" --broker "$BROKER_ADDR" --slots "$slots" \
		--cache-root "$CL_DIR/$h-cache" "$@" >"$CL_DIR/$h.out" 2>"$CL_DIR/$h.log" </dev/null &
	CL_PID[$h]=$!
	CL_PIDS+=($!)
}

# cluster_admin ARGS...: maelstrom-admin on the client host (10 s limit).
cluster_admin() {
	cluster_exec client timeout 10 "$CL_ADMIN_BIN" --broker "$BROKER_ADDR" "$@"
}

# cluster_status: the status JSON, from `maelstrom-admin status --json`.
cluster_status() {
	cluster_admin status --json
}

# cluster_http_status: the status JSON, from GET /api/status on the client host.
cluster_http_status() {
	cluster_exec client timeout 10 bash -c '
		exec 3<>"/dev/tcp/${1%:*}/${1##*:}" || exit 1
		printf "GET /api/status HTTP/1.0\r\nHost: %s\r\n\r\n" "$1" >&3
		cat <&3' _ "$BROKER_HTTP" | sed '1,/^\r\{0,1\}$/d'
}

# cluster_jq FILTER: applies FILTER to a fresh status JSON.
cluster_jq() {
	cluster_status | jq -r "$1"
}

# cluster_wait_status FILTER VALUE [TRIES]: waits until FILTER gives VALUE
# (checks every 0.1 s, 100 tries by default); fails saying what it saw.
cluster_wait_status() {
	local filter=$1 want=$2 tries=${3:-100} i got=""
	for i in $(seq "$tries"); do
		got=$(cluster_jq "$filter" 2>/dev/null)
		[ "$got" = "$want" ] && return 0
		sleep 0.1
	done
	fail "status: $filter: expected [$want], last saw [$got]"
}

# cluster_wait_workers N: waits until the broker lists N workers.
cluster_wait_workers() {
	cluster_wait_status '.workers | length' "$1"
}

# cluster_basic [SLOTS]: broker plus worker1 and worker2 with SLOTS each (2),
# both registered.
cluster_basic() {
	local slots=${1:-2}
	cluster_up || return 1
	cluster_start_broker || return 1
	cluster_start_worker worker1 "$slots" || return 1
	cluster_start_worker worker2 "$slots" || return 1
	cluster_wait_workers 2
}

# cluster_run ARGS...: maelstrom-run --broker on the client host; sets OUT,
# ERR and CODE.
cluster_run() {
	local o="$CL_DIR/run.out" e="$CL_DIR/run.err"
	cluster_exec client timeout 120 "$RUN" --broker "$BROKER_ADDR" "$@" >"$o" 2>"$e" </dev/null
	CODE=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
}

# cluster_marker: prints a fresh string for job command lines and registers
# it, so teardown kills any job process still carrying it.
cluster_marker() {
	local m="h16mark-$BASHPID-$RANDOM$RANDOM"
	CL_MARKERS+=("$m")
	CL_LAST_MARKER=$m
}

# cluster_marked_pids MARKER: PIDs of processes whose command line holds MARKER.
cluster_marked_pids() {
	pgrep -f -- "$1" 2>/dev/null | grep -vx -e "$$" -e "$BASHPID" || true
}

# cl_stop PID: SIGTERM, up to 3 s, then SIGKILL; reaps it.
cl_stop() {
	local pid=$1 i
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# cluster_down: the teardown (see the top of this file). Safe to run twice.
cluster_down() {
	local rc=$? i pid m f
	trap - EXIT
	if [ "$rc" -ne 0 ] && [ -n "$CL_DIR" ]; then
		for f in "$CL_DIR"/*.log; do
			[ -s "$f" ] || continue
			echo "    --- last lines of $(basename "$f"):" >&2
			tail -5 "$f" | sed 's/^/      /' >&2
		done
	fi
	for ((i = ${#CL_PIDS[@]} - 1; i >= 0; i--)); do
		cl_stop "${CL_PIDS[$i]}"
	done
	CL_PIDS=()
	for m in "${CL_MARKERS[@]}"; do
		pid=$(cluster_marked_pids "$m")
		[ -n "$pid" ] && kill -KILL $pid 2>/dev/null
	done
	[ "$CL_MODE" = netns ] && cl_netns_del
	CL_MODE=""
	return "$rc"
}

# cluster_run_bg ARGS...: starts maelstrom-run --broker on the client host in
# the background (no timeout wrapper, so RUN_PID is maelstrom-run itself).
cluster_run_bg() {
	cl_cmd client
	"${CL_CMD[@]}" "$RUN" --broker "$BROKER_ADDR" "$@" \
		>"$CL_DIR/bg.out" 2>"$CL_DIR/bg.err" </dev/null &
	RUN_PID=$!
	CL_PIDS+=($!)
}

# cluster_run_wait [SECONDS]: waits (60 s) for the background run; sets OUT,
# ERR and CODE (124 when it had to be killed).
cluster_run_wait() {
	local limit=${1:-60} i
	for ((i = 0; i < limit * 10; i++)); do
		kill -0 "$RUN_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$RUN_PID" 2>/dev/null; then
		kill -KILL "$RUN_PID"
		wait "$RUN_PID" 2>/dev/null
		CODE=124
	else
		wait "$RUN_PID"
		CODE=$?
	fi
	OUT=$(cat "$CL_DIR/bg.out")
	ERR=$(cat "$CL_DIR/bg.err")
}
