# Shared helpers for the integration tests. Sourced by run-all and by each
# test file. Each test is a shell function named t_<something>; it passes by
# returning 0 and fails by returning non-zero after saying why with `fail`.

RUN="$BUILD/bin/maelstrom-run"
STATIC_TRUE="$BUILD/tests/static-true"
BUSYBOX=${BUSYBOX:-/bin/busybox}

fail() {
	printf '    FAIL: %s\n' "$*" >&2
	return 1
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	if [ "$2" != "$3" ]; then
		fail "$1: expected [$2], got [$3]"
		return 1
	fi
}

# expect_contains WHAT NEEDLE HAYSTACK
expect_contains() {
	case "$3" in
	*"$2"*) return 0 ;;
	esac
	fail "$1: expected to find [$2] in [$3]"
}

# A layer list holding busybox at /bin/busybox with /bin/sh and friends as
# symlinks, and stub directories for the usual mount points.
bb_layers() {
	cat <<JSON
[ { "paths": ["$BUSYBOX"], "strip_prefix": "$(dirname "$BUSYBOX")/", "prepend_prefix": "/bin/" },
  { "symlinks": [ {"link": "/bin/sh", "target": "/bin/busybox"},
                  {"link": "/bin/id", "target": "busybox"},
                  {"link": "/bin/cat", "target": "busybox"},
                  {"link": "/bin/ls", "target": "busybox"},
                  {"link": "/bin/touch", "target": "busybox"},
                  {"link": "/bin/sleep", "target": "busybox"},
                  {"link": "/bin/echo", "target": "busybox"},
                  {"link": "/bin/head", "target": "busybox"},
                  {"link": "/bin/ip", "target": "busybox"},
                  {"link": "/bin/env", "target": "busybox"},
                  {"link": "/bin/pwd", "target": "busybox"},
                  {"link": "/bin/wc", "target": "busybox"},
                  {"link": "/bin/grep", "target": "busybox"},
                  {"link": "/bin/tr", "target": "busybox"},
                  {"link": "/bin/hostname", "target": "busybox"} ] },
  { "stubs": ["/{proc,sys,tmp,dev,mnt,work}/", "/dev/{full,null,random,urandom,zero,tty,fuse}", "/dev/{shm,pts,mqueue}/", "/data/file"] } ]
JSON
}

# bb_job SCRIPT [EXTRA_FIELDS]: a job running `sh -c SCRIPT` on busybox.
bb_job() {
	local script=$1 extra=${2:-}
	script=${script//\\/\\\\}
	script=${script//\"/\\\"}
	printf '{ "layers": %s, "environment": {"PATH": "/bin"}, "program": "/bin/sh", "arguments": ["-c", "%s"]%s }\n' \
		"$(bb_layers)" "$script" "${extra:+, $extra}"
}

# run_one JSON [ARGS...]: runs maelstrom-run --one with the job on stdin;
# sets OUT, ERR and CODE.
run_one() {
	local json=$1
	shift
	local o e
	o=$(mktemp) e=$(mktemp)
	printf '%s' "$json" | timeout 60 "$RUN" --one "$@" >"$o" 2>"$e"
	CODE=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
	rm -f "$o" "$e"
}

# run_stream [ARGS...] < jobs: runs maelstrom-run in stream mode.
run_stream() {
	local o e
	o=$(mktemp) e=$(mktemp)
	timeout 120 "$RUN" "$@" >"$o" 2>"$e"
	CODE=$?
	OUT=$(cat "$o")
	ERR=$(cat "$e")
	rm -f "$o" "$e"
}

# No stray container may outlive a run: every job process is a child of
# maelstrom-run, which has exited by now.
expect_no_leftovers() {
	local left
	left=$(pgrep -u "$(id -u)" -f "$1" 2>/dev/null | grep -v "^$$\$" || true)
	[ -z "$left" ] || fail "processes left running: $left"
}
