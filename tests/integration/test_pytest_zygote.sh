# The pytest zygote (runners/pytest/python/maelstrom_pytest_zygote.py on
# maelstrom_fork_server.py), driven directly by tests/integration/zygote_driver.py,
# which plays the executor's side of container/forkserver.h: the zygote runs
# as root of its own user namespace, PID 1 of its own PID namespace, fd 3 a
# SOCK_SEQPACKET socket; jobs are cold maelstrom-pytest command lines.
#
# Projects: a copy of tests/fixtures/pytest-project in $SCRATCH/proj, and a
# small project written here ($SCRATCH/iso) whose tests probe isolation: module
# state, /tmp, a child process left running, os._exit, PID 1 and /proc, the
# network namespace (pooled: reused one job at a time, never reconfigurable
# by a job), the zygote's own fds, files written outside /tmp, and a file
# that fails to import. $SCRATCH lies below /tmp (mktemp), so every run also checks that
# the project is bound back over each child's fresh /tmp.
#
# The zygote's root is the host's (writable, but an overlay of it is refused:
# the host's mounts on it are locked in the user namespace, so the zygote
# says once that its jobs share it), or with the driver's --writable-root a
# container's writable root, as maelstrom-pytest makes it for a project below
# /tmp: there each child must get a fresh upper layer. The last test runs
# maelstrom-pytest itself ($BUILD/bin) on a project below /tmp.
#
# Needs a Python with pytest (/usr/bin/python3 on Debian) and unshare(1) with
# unprivileged user namespaces; when one is missing each test says so and
# passes.

ZY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ZY_DRIVER=$ZY_DIR/zygote_driver.py
ZY_HELPERS=$ZY_DIR/../../runners/pytest/python
ZY_FIXTURE=$ZY_DIR/../fixtures/pytest-project
ZY_COLD_HEAD='"-m", "pytest", "--verbose", "-p", "no:cacheprovider", "-p", "maelstrom_pytest_report"'

# zy_setup: ZY_PY (a python3 with pytest), the helpers on PYTHONPATH, and a
# check that user namespaces work. Returns 2 when something is missing:
# callers `zy_setup || return "$(zy_skip $?)"`.
zy_setup() {
	local p
	ZY_PY=
	for p in "${MAELSTROM_PYTEST_PYTHON:-}" /usr/bin/python3 "$(command -v python3 2>/dev/null)"; do
		[ -n "$p" ] && [ -x "$p" ] || continue
		if "$p" -c 'import pytest, socket; socket.send_fds' >/dev/null 2>&1; then
			ZY_PY=$p
			break
		fi
	done
	if [ -z "$ZY_PY" ]; then
		echo "note: no python3 (3.9+) with pytest available; zygote test skipped"
		return 2
	fi
	if ! unshare --user --map-root-user --mount --pid --fork --mount-proc true 2>/dev/null; then
		echo "note: unshare cannot make user namespaces here; zygote test skipped"
		return 2
	fi
	[ -f "$ZY_HELPERS/maelstrom_pytest_zygote.py" ] ||
		{ fail "helpers missing: $ZY_HELPERS"; return 1; }
	PYTHONPATH=$(cd "$ZY_HELPERS" && pwd) || return 1
	export PYTHONPATH PYTHONDONTWRITEBYTECODE=1 NO_COLOR=1
	return 0
}

zy_skip() { [ "$1" -eq 2 ] && echo 0 || echo 1; }

# zy_fixture: the fixture project in $SCRATCH/proj (the working directory).
zy_fixture() {
	mkdir -p "$SCRATCH/proj" || return 1
	(cd "$ZY_FIXTURE" && tar --exclude=__pycache__ --exclude=./.maelstrom-pytest \
		--exclude=./.pytest_cache -cf - .) | (cd "$SCRATCH/proj" && tar -xpf -) ||
		{ fail "cannot copy the fixture"; return 1; }
	cd "$SCRATCH/proj" || return 1
}

# zy_iso: the isolation project in $SCRATCH/iso (the working directory).
zy_iso() {
	mkdir -p "$SCRATCH/iso" && cd "$SCRATCH/iso" || return 1
	cat >test_iso.py <<'PY'
"""Each test must start as if it were the first in its process."""
import fcntl
import os
import pathlib
import socket
import struct
import subprocess
import sys
import time

import pytest

STATE = []
MARK = os.environ.get("ZY_MARK", "unset")


def test_module_state():
    STATE.append(1)
    assert STATE == [1], "an earlier test's module state leaked in"


def test_tmp_is_fresh():
    path = pathlib.Path("/tmp") / ("zygote-iso-" + MARK)
    assert not path.exists(), "an earlier test's /tmp file leaked in"
    path.write_text("written by test_tmp_is_fresh\n")


def test_leaves_child():
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1000)", "left-" + MARK])


def test_calls_os_exit():
    print("about to _exit", flush=True)
    os._exit(7)


def test_pid_one_and_own_proc():
    assert os.getpid() == 1
    assert [p for p in os.listdir("/proc") if p.isdigit()] == ["1"]


def test_network():
    mode = os.environ["ZY_NET"]
    ns = os.readlink("/proc/self/ns/net")
    if mode == "local":
        assert ns == os.environ["ZY_HOST_NETNS"]
    else:
        assert ns != os.environ["ZY_HOST_NETNS"]
    try:
        with socket.socket() as server:
            server.bind(("127.0.0.1", 0))
            server.listen()
            socket.create_connection(server.getsockname(), timeout=30).close()
        reachable = True
    except OSError:
        reachable = False
    assert reachable == (mode != "disabled")
    if "ZY_TAG" in os.environ:
        pathlib.Path("netns-" + os.environ["ZY_TAG"]).write_text(ns)


def _lo_flags(sock):
    req = struct.pack("16sH22x", b"lo", 0)
    return struct.unpack("16sH22x", fcntl.ioctl(sock.fileno(), 0x8913, req))[1]   # SIOCGIFFLAGS


def test_network_tamper():
    """Turns loopback the other way round (up for "disabled", down for
    "loopback") when the kernel lets it: the next job must not notice."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH22x", b"lo", _lo_flags(s) ^ 1)     # IFF_UP
        try:
            fcntl.ioctl(s.fileno(), 0x8914, req)                    # SIOCSIFFLAGS
        except PermissionError:
            pass


def test_rendezvous():
    """Two at a time: each waits for the other, then checks that they do
    not share a network namespace and that it holds none of the zygote's
    own fds (pidfds, namespaces)."""
    me = pathlib.Path("rdv-" + os.environ["ZY_TAG"])
    me.write_text(os.readlink("/proc/self/ns/net"))
    deadline = time.monotonic() + 60
    while len(list(pathlib.Path(".").glob("rdv-*"))) < 2:
        assert time.monotonic() < deadline, "the other job did not run at the same time"
        time.sleep(0.01)
    other = [p for p in pathlib.Path(".").glob("rdv-*") if p != me][0]
    assert other.read_text() != me.read_text(), "two jobs at once share a network namespace"
    held = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            held.append(os.readlink("/proc/self/fd/" + fd))
        except OSError:
            pass
    leaked = [h for h in held if h.startswith(("net:", "pid:", "user:", "anon_inode:[pidfd]"))]
    assert leaked == [], "the zygote's fds leaked in: %s" % leaked


def test_env_and_cwd():
    assert os.environ.get("ZY_JOB_VAR") == "job-value"
    assert "MAELSTROM_FORK_SERVER_FD" not in os.environ
    assert os.getcwd() == os.environ["ZY_EXPECT_CWD"]
    assert os.read(0, 1) == b""


def test_sleeps_forever():
    time.sleep(1000)


def test_no_zygote_socket():
    for fd in map(int, os.listdir("/proc/self/fd")):
        try:
            s = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        kind = s.type
        s.close()
        assert kind != socket.SOCK_SEQPACKET, "fd %d: the zygote's socket leaked in" % fd


def test_segfaults():
    import ctypes
    ctypes.string_at(0)


def test_writes_outside_tmp():
    """Run in a writable root: the files an earlier test wrote in the
    project directory, at the root and in /tmp are gone."""
    paths = [pathlib.Path(d) / ("zygote-leak-" + MARK) for d in (os.getcwd(), "/", "/tmp")]
    left = [str(p) for p in paths if p.exists()]
    for p in paths:
        p.write_text("written by test_writes_outside_tmp\n")
    assert left == [], "files of an earlier test leaked in: %s" % left


def test_mounts_carried():
    """Run in a fresh root: the container's mounts are there."""
    assert os.path.ismount("/sys") and os.path.ismount("/dev")
    assert os.path.ismount(os.environ["ZY_BOUND"])
    with open("/dev/null", "w") as f:
        f.write("x")
    assert os.statvfs("/").f_flag & os.ST_RDONLY == 0


def test_read_only_root():
    """Run in a read-only root: it stays read-only, /tmp is a fresh tmpfs."""
    assert os.statvfs("/").f_flag & os.ST_RDONLY
    assert os.path.ismount("/tmp")
    with pytest.raises(OSError):
        pathlib.Path("/zygote-leak-" + MARK).write_text("x")
PY
	printf 'import module_that_does_not_exist_anywhere\n\ndef test_never():\n    pass\n' >test_broken.py
	printf '[pytest]\n' >pytest.ini
}

# zy_job NODE [EXTRA JSON FIELDS]: a cold job's request line for NODE.
zy_job() {
	printf '{"argv": ["%s", %s, "%s"]%s}\n' "$ZY_PY" "$ZY_COLD_HEAD" "$1" "${2:+, $2}"
}

# zy_drive JOBS [DRIVER OPTIONS...] -- FILE...: runs the zygote on FILE...
# through the driver; its output in $ZY_OUT, status in $CODE.
zy_drive() {
	local jobs=$1
	shift
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		opts+=("$1")
		shift
	done
	shift
	ZY_OUT=$SCRATCH/driver.out
	timeout 300 "$ZY_PY" "$ZY_DRIVER" --timeout 240 "${opts[@]}" "$jobs" -- \
		"$ZY_PY" -m pytest -p no:cacheprovider -p maelstrom_pytest_report \
		-p maelstrom_pytest_zygote --verbose "$@" >"$ZY_OUT" 2>"$SCRATCH/driver.err"
	CODE=$?
	if [ "$CODE" -ne 0 ]; then
		fail "driver exit $CODE: $(tail -20 "$SCRATCH/driver.err")"
		return 1
	fi
}

# zy_assert FILE EXPR...: each Python expression must hold, with R the job
# results (R[n] is job n), Z the driver's last line (the zygote's exit).
zy_assert() {
	"$ZY_PY" - "$@" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
R = {r["job"]: r for r in lines if "job" in r}
Z = lines[-1] if lines else {}
bad = 0
for expr in sys.argv[2:]:
    try:
        ok = eval(expr)
    except Exception as e:
        ok = False
        expr += "  (raised %r)" % e
    if not ok:
        bad += 1
        print("    FAIL: does not hold: %s" % expr, file=sys.stderr)
if bad:
    for line in lines:
        print("    " + json.dumps(line)[:1500], file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

# ---- verdicts ------------------------------------------------------------------

# Every fixture test but the two that sleep, warm and cold: same exit
# status, same outcome record, same output once durations are masked.
t_zygote_verdicts_and_output_equal_cold() {
	zy_setup || return "$(zy_skip $?)"
	zy_fixture || return 1
	local ids
	ids=$(cd "$SCRATCH/proj" && "$ZY_PY" -m pytest -p no:cacheprovider --collect-only -q 2>/dev/null |
		grep '::' | grep -v sleeps)
	expect_eq "collected tests" 20 "$(printf '%s\n' "$ids" | wc -l)" || return 1
	local n
	while IFS= read -r n; do zy_job "$n"; done <<<"$ids" >"$SCRATCH/jobs"
	zy_drive "$SCRATCH/jobs" -- tests/test_arith.py tests/test_outcomes.py \
		tests/sandbox/test_env.py extra/test_text.py || return 1
	cp "$ZY_OUT" "$SCRATCH/warm.out"
	timeout 300 "$ZY_PY" "$ZY_DRIVER" --cold "$SCRATCH/jobs" -- >"$SCRATCH/cold.out" ||
		{ fail "cold driver run failed"; return 1; }
	"$ZY_PY" - "$SCRATCH/warm.out" "$SCRATCH/cold.out" <<'PY' || return 1
import json, re, sys
def load(p):
    return {r["job"]: r for r in map(json.loads, open(p)) if "job" in r}
warm, cold = load(sys.argv[1]), load(sys.argv[2])
mask = lambda s: re.sub(r" in [0-9.]+s ", " in Ns ", s)
bad = 0
for j in sorted(cold):
    w, c = warm.get(j, {}), cold[j]
    for key in ("exit", "signal", "outcome"):
        if w.get(key) != c.get(key):
            bad += 1
            print("    FAIL: job %d %s: warm %r, cold %r" % (j, key, w.get(key), c.get(key)), file=sys.stderr)
    for key in ("stdout", "stderr"):
        if mask(w.get(key, "")) != mask(c[key]):
            bad += 1
            print("    FAIL: job %d %s differs:\n--- warm\n%s\n--- cold\n%s" % (j, key, w.get(key), c[key]), file=sys.stderr)
sys.exit(1 if bad else 0)
PY
	# And the verdicts are the right ones.
	zy_assert "$ZY_OUT" \
		'len(R) == 20 and Z["zygote_exit"] == 0' \
		'sum(r["outcome"]["outcome"] == "passed" for r in R.values()) == 13' \
		'[r["outcome"]["outcome"] for r in R.values() if r["exit"] == 1] == ["failed", "error"]' \
		'sorted(r["outcome"]["outcome"] for r in R.values() if r["outcome"]["outcome"] not in ("passed", "failed", "error")) == ["skipped", "skipped", "xfailed", "xfailed", "xpassed"]' \
		'all("collected 1 item" in r["stdout"] for r in R.values())' \
		'"deliberate failure in the fixture" in [r for r in R.values() if r["exit"] == 1][0]["stdout"]'
}

# The same tests four at a time.
t_zygote_parallel_jobs() {
	zy_setup || return "$(zy_skip $?)"
	zy_fixture || return 1
	local t
	for t in test_add test_mul "test_square[two]" "test_square[three]" "test_square[negative]" \
		TestDivision::test_exact TestDivision::test_by_zero_raises; do
		zy_job "tests/test_arith.py::$t"
		zy_job "extra/test_text.py::test_upper"
	done >"$SCRATCH/jobs"
	zy_drive "$SCRATCH/jobs" --parallel 4 -- tests/test_arith.py extra/test_text.py || return 1
	zy_assert "$ZY_OUT" 'len(R) == 14' \
		'all(r.get("exit") == 0 and r["outcome"]["outcome"] == "passed" for r in R.values())' \
		'len({r["pid"] for r in R.values()}) == 14'
}

# ---- isolation -------------------------------------------------------------------

t_zygote_children_are_isolated() {
	zy_setup || return "$(zy_skip $?)"
	zy_iso || return 1
	local mark
	mark=zy$$x$RANDOM$RANDOM
	export ZY_MARK=$mark ZY_EXPECT_CWD
	ZY_EXPECT_CWD=$(cd "$SCRATCH/iso" && pwd -P)
	{
		zy_job test_iso.py::test_module_state
		zy_job test_iso.py::test_module_state
		zy_job test_iso.py::test_tmp_is_fresh
		zy_job test_iso.py::test_tmp_is_fresh
		zy_job test_iso.py::test_leaves_child
		zy_job test_iso.py::test_calls_os_exit
		zy_job test_iso.py::test_pid_one_and_own_proc
		zy_job test_iso.py::test_module_state
		zy_job test_iso.py::test_env_and_cwd '"env": {"ZY_JOB_VAR": "job-value"}'
		zy_job test_iso.py::test_no_zygote_socket
		zy_job test_iso.py::test_segfaults
	} >"$SCRATCH/jobs"
	zy_drive "$SCRATCH/jobs" --count-procs "left-$mark" -- test_iso.py test_broken.py || return 1
	zy_assert "$ZY_OUT" 'Z["zygote_exit"] == 0' \
		'all(R[j]["exit"] == 0 and R[j]["outcome"]["outcome"] == "passed" for j in (0, 1, 2, 3, 4, 6, 7, 8))' \
		'R[4]["procs_left"] == 0' \
		'R[5]["exit"] == 7 and R[5]["outcome"] is None and "test_iso.py::test_calls_os_exit" in R[5]["stdout"]' \
		'"collected 1 item" in R[7]["stdout"]' \
		'R[9]["exit"] == 0 and R[9]["outcome"]["outcome"] == "passed"' \
		'R[10].get("signal") == 11 and "Fatal Python error: Segmentation fault" in R[10]["stderr"]' || return 1
	[ ! -e "/tmp/zygote-iso-$mark" ] || { fail "a child's /tmp file reached the zygote's /tmp"; return 1; }
}

t_zygote_network_modes() {
	zy_setup || return "$(zy_skip $?)"
	zy_iso || return 1
	export ZY_HOST_NETNS
	ZY_HOST_NETNS=$(readlink /proc/self/ns/net)
	local m
	for m in disabled loopback local disabled; do
		zy_job test_iso.py::test_network "\"network\": \"$m\", \"env\": {\"ZY_NET\": \"$m\"}"
	done >"$SCRATCH/jobs"
	zy_drive "$SCRATCH/jobs" -- test_iso.py || return 1
	zy_assert "$ZY_OUT" 'len(R) == 4' \
		'all(r["exit"] == 0 and r["outcome"]["outcome"] == "passed" for r in R.values())'
}

# Network namespaces are pooled: a job finds loopback as its mode says even
# when the job before it in the same namespace tried to turn it the other
# way, and jobs one after the other reuse one namespace.
t_zygote_network_namespaces_reused_not_reconfigured() {
	zy_setup || return "$(zy_skip $?)"
	zy_iso || return 1
	export ZY_HOST_NETNS
	ZY_HOST_NETNS=$(readlink /proc/self/ns/net)
	{
		zy_job test_iso.py::test_network '"network": "disabled", "env": {"ZY_NET": "disabled", "ZY_TAG": "d1"}'
		zy_job test_iso.py::test_network_tamper '"network": "disabled"'
		zy_job test_iso.py::test_network '"network": "disabled", "env": {"ZY_NET": "disabled", "ZY_TAG": "d2"}'
		zy_job test_iso.py::test_network '"network": "loopback", "env": {"ZY_NET": "loopback", "ZY_TAG": "l1"}'
		zy_job test_iso.py::test_network_tamper '"network": "loopback"'
		zy_job test_iso.py::test_network '"network": "loopback", "env": {"ZY_NET": "loopback", "ZY_TAG": "l2"}'
	} >"$SCRATCH/jobs"
	zy_drive "$SCRATCH/jobs" -- test_iso.py || return 1
	zy_assert "$ZY_OUT" 'len(R) == 6' \
		'all(r["exit"] == 0 and r["outcome"]["outcome"] == "passed" for r in R.values())' || return 1
	expect_eq "the namespace of two disabled jobs in a row" "$(cat netns-d1)" "$(cat netns-d2)" || return 1
	expect_eq "the namespace of two loopback jobs in a row" "$(cat netns-l1)" "$(cat netns-l2)" || return 1
	[ "$(cat netns-d1)" != "$(cat netns-l1)" ] || { fail "disabled and loopback jobs shared a namespace"; return 1; }
}

# Two jobs at once: each has its own network namespace, and neither holds
# the zygote's pidfds or namespace fds.
t_zygote_parallel_jobs_own_namespaces_and_fds() {
	zy_setup || return "$(zy_skip $?)"
	zy_iso || return 1
	local m
	for m in disabled loopback; do
		rm -f rdv-*
		zy_job test_iso.py::test_rendezvous "\"network\": \"$m\", \"env\": {\"ZY_TAG\": \"${m}1\"}" >"$SCRATCH/jobs"
		zy_job test_iso.py::test_rendezvous "\"network\": \"$m\", \"env\": {\"ZY_TAG\": \"${m}2\"}" >>"$SCRATCH/jobs"
		zy_drive "$SCRATCH/jobs" --parallel 2 -- test_iso.py || return 1
		zy_assert "$ZY_OUT" 'len(R) == 2' \
			'all(r["exit"] == 0 and r["outcome"]["outcome"] == "passed" for r in R.values())' || return 1
	done
}

# A container without /proc: nothing to remount, and the project below /tmp
# is bound back by open_tree(2) instead of /proc/self/fd.
t_zygote_without_proc() {
	zy_setup || return "$(zy_skip $?)"
	zy_fixture || return 1
	{
		zy_job tests/test_arith.py::test_add
		zy_job tests/sandbox/test_env.py::test_writes_to_tmp
		zy_job tests/sandbox/test_env.py::test_reads_data_file
		zy_job tests/test_outcomes.py::test_fails_on_purpose
	} >"$SCRATCH/jobs"
	zy_drive "$SCRATCH/jobs" --no-proc -- tests/test_arith.py tests/sandbox/test_env.py \
		tests/test_outcomes.py || return 1
	zy_assert "$ZY_OUT" 'Z["zygote_exit"] == 0' \
		'[R[j]["exit"] for j in range(4)] == [0, 0, 0, 1]' \
		'R[3]["outcome"]["outcome"] == "failed" and "deliberate failure" in R[3]["stdout"]'
}

# ---- a writable root ---------------------------------------------------------------

# ZY_NOTE: the start of what the zygote says when its jobs share its root.
ZY_NOTE='the root file system is writable, but the jobs forked from this zygote cannot get a fresh upper layer'

# zy_binds: the --bind options that give a --writable-root zygote the host's
# Python and the helpers.
zy_binds() {
	local p prefix
	for p in /usr /etc /bin /sbin /lib /lib32 /lib64 /libx32; do
		[ -e "$p" ] && printf -- '--bind\n%s\n' "$p"
	done
	for prefix in $("$ZY_PY" -c 'import sys; print(sys.prefix, sys.base_prefix)'); do
		case $prefix in /usr | /usr/*) ;; *) printf -- '--bind\n%s\n' "$prefix" ;; esac
	done
	printf -- '--bind\n%s\n' "$PYTHONPATH"
}

# In a container's writable root (an overlay with a tmpfs upper, the project
# in its layer, below /tmp; /tmp no mount of its own), each child gets a
# fresh upper: what one test writes in the project directory, at the root or
# in /tmp is absent for the next, and never reaches the layer; the mounts on
# the root are carried over.
t_zygote_writable_root_gets_fresh_upper() {
	zy_setup || return "$(zy_skip $?)"
	zy_iso || return 1
	local mark proj layer binds
	mark=zy$$w$RANDOM$RANDOM
	proj=$(pwd -P)
	layer=$SCRATCH/layer
	mkdir -p "$layer$proj" && cp -a "$proj/." "$layer$proj/" || { fail "cannot make the layer"; return 1; }
	export ZY_MARK=$mark ZY_EXPECT_CWD=$proj ZY_BOUND=$PYTHONPATH
	{
		zy_job test_iso.py::test_writes_outside_tmp
		zy_job test_iso.py::test_writes_outside_tmp
		zy_job test_iso.py::test_tmp_is_fresh
		zy_job test_iso.py::test_tmp_is_fresh
		zy_job test_iso.py::test_mounts_carried
		zy_job test_iso.py::test_pid_one_and_own_proc
		zy_job test_iso.py::test_env_and_cwd '"env": {"ZY_JOB_VAR": "job-value"}'
		zy_job test_iso.py::test_writes_outside_tmp
	} >"$SCRATCH/jobs"
	mapfile -t binds < <(zy_binds)
	zy_drive "$SCRATCH/jobs" --writable-root "$layer" "${binds[@]}" -- test_iso.py || return 1
	zy_assert "$ZY_OUT" 'Z["zygote_exit"] == 0' 'len(R) == 8' \
		'all(r.get("exit") == 0 and r["outcome"]["outcome"] == "passed" for r in R.values())' \
		"\"$ZY_NOTE\" not in Z[\"zygote_stderr\"]" || return 1
	local dir f
	for dir in "$layer$proj" "$proj" "$layer" "" "$layer/tmp" /tmp; do
		for f in "$dir/zygote-leak-$mark" "$dir/zygote-iso-$mark"; do
			[ ! -e "$f" ] || { fail "a test's file reached $f"; return 1; }
		done
	done
}

# A writable root with a tmpfs on /tmp (the project elsewhere, in /proj):
# each child gets a fresh upper and a fresh tmpfs on /tmp, in which the
# zygote's directories below /tmp (the helpers, for an unprivileged run)
# are bound back; two tests at a time.
t_zygote_writable_root_with_tmp_mount() {
	zy_setup || return "$(zy_skip $?)"
	zy_iso || return 1
	local layer=$SCRATCH/layer binds j
	mkdir -p "$layer/proj" "$layer/tmp" && cp -a "$SCRATCH/iso/." "$layer/proj/" ||
		{ fail "cannot make the layer"; return 1; }
	export ZY_MARK=zy$$m$RANDOM$RANDOM ZY_BOUND=$PYTHONPATH
	for j in 1 2 3 4; do
		zy_job test_iso.py::test_writes_outside_tmp '"cwd": "/proj"'
		zy_job test_iso.py::test_tmp_is_fresh '"cwd": "/proj"'
	done >"$SCRATCH/jobs"
	zy_job test_iso.py::test_mounts_carried '"cwd": "/proj"' >>"$SCRATCH/jobs"
	mapfile -t binds < <(zy_binds)
	zy_drive "$SCRATCH/jobs" --parallel 2 --writable-root "$layer" --tmpfs /tmp "${binds[@]}" \
		--zygote-cwd /proj -- test_iso.py || return 1
	zy_assert "$ZY_OUT" 'Z["zygote_exit"] == 0' 'len(R) == 9' \
		'all(r.get("exit") == 0 and r["outcome"]["outcome"] == "passed" for r in R.values())' \
		"\"$ZY_NOTE\" not in Z[\"zygote_stderr\"]"
}

# A read-only root: nothing to stack; each child gets a fresh tmpfs on /tmp,
# with the project (below /tmp) bound back over it, as before.
t_zygote_read_only_root_gets_fresh_tmp() {
	zy_setup || return "$(zy_skip $?)"
	zy_iso || return 1
	local proj layer binds
	proj=$(pwd -P)
	layer=$SCRATCH/layer
	mkdir -p "$layer$proj" && cp -a "$proj/." "$layer$proj/" || { fail "cannot make the layer"; return 1; }
	export ZY_MARK=zy$$r$RANDOM$RANDOM ZY_EXPECT_CWD=$proj
	{
		zy_job test_iso.py::test_read_only_root
		zy_job test_iso.py::test_tmp_is_fresh
		zy_job test_iso.py::test_tmp_is_fresh
		zy_job test_iso.py::test_env_and_cwd '"env": {"ZY_JOB_VAR": "job-value"}'
	} >"$SCRATCH/jobs"
	mapfile -t binds < <(zy_binds)
	# pytest in the zygote needs a writable temporary directory: /var/tmp.
	zy_drive "$SCRATCH/jobs" --read-only-root "$layer" --tmpfs /var/tmp "${binds[@]}" -- \
		test_iso.py || return 1
	zy_assert "$ZY_OUT" 'Z["zygote_exit"] == 0' 'len(R) == 4' \
		'all(r.get("exit") == 0 and r["outcome"]["outcome"] == "passed" for r in R.values())' \
		"\"$ZY_NOTE\" not in Z[\"zygote_stderr\"]"
}

# A writable root that cannot take an overlay (here the host's: its mounts
# are locked in the user namespace): the zygote says so once on its own
# stderr, and its jobs run as before, each with a fresh /tmp.
t_zygote_writable_root_fallback_says_so_once() {
	zy_setup || return "$(zy_skip $?)"
	zy_iso || return 1
	if ! "$ZY_PY" -c 'import os, sys; sys.exit(os.statvfs("/").f_flag & os.ST_RDONLY)'; then
		echo "note: the host's root is read-only; nothing to fall back from"
		return 0
	fi
	export ZY_MARK=zy$$f$RANDOM$RANDOM
	local j
	for j in 1 2 3; do zy_job test_iso.py::test_tmp_is_fresh; done >"$SCRATCH/jobs"
	zy_drive "$SCRATCH/jobs" --parallel 2 -- test_iso.py || return 1
	zy_assert "$ZY_OUT" 'Z["zygote_exit"] == 0' \
		'all(r.get("exit") == 0 and r["outcome"]["outcome"] == "passed" for r in R.values())' \
		"Z[\"zygote_stderr\"].count(\"$ZY_NOTE\") == 1" \
		"all(\"$ZY_NOTE\" not in r[\"stderr\"] for r in R.values())"
}

# ---- through maelstrom-pytest ------------------------------------------------------

# maelstrom-pytest on a project below /tmp makes the root writable; the
# tests, run warm one after the other, each write a file into the project
# directory and at the root, and must not see the others'.
t_zygote_pytest_project_writes_do_not_leak() {
	zy_setup || return "$(zy_skip $?)"
	local pt=$BUILD/bin/maelstrom-pytest
	[ -x "$pt" ] || { fail "maelstrom-pytest is not built ($pt missing)"; return 1; }
	mkdir -p "$SCRATCH/wproj" && cd "$SCRATCH/wproj" || return 1
	cat >test_writes.py <<'PY'
import os
import pathlib

IMPORT_PID_NS = os.readlink("/proc/self/ns/pid")


def _write(name):
    left = sorted(str(p) for d in (".", "/") for p in pathlib.Path(d).glob("left-by-*"))
    pathlib.Path("left-by-" + name).write_text(name)
    pathlib.Path("/left-by-" + name).write_text(name)
    assert left == [], "files of an earlier test: %s" % left
    # Forked from the zygote: imported in another PID namespace.
    assert os.readlink("/proc/self/ns/pid") != IMPORT_PID_NS, "this test ran cold"


def test_a():
    _write("a")


def test_b():
    _write("b")


def test_c():
    _write("c")
PY
	printf '[pytest]\n' >pytest.ini
	local out code
	out=$(MAELSTROM_PYTEST_PYTHON=$ZY_PY timeout 180 "$pt" --ui simple --slots 1 2>&1 </dev/null)
	code=$?
	expect_eq "maelstrom-pytest's exit" 0 "$code" || { printf '%s\n' "$out" | tail -30 >&2; return 1; }
	local t
	for t in a b c; do
		expect_contains "test_$t" "test_writes.py::test_$t " "$(printf '%s\n' "$out" | grep ' OK ')" ||
			return 1
	done
	expect_eq "files left in the project" "" "$(find . -name 'left-by-*')"
}

# ---- refusals and failures ------------------------------------------------------

t_zygote_refuses_what_it_cannot_serve() {
	zy_setup || return "$(zy_skip $?)"
	zy_iso || return 1
	{
		zy_job test_iso.py::test_no_such_test
		zy_job test_broken.py::test_never
		printf '{"argv": ["%s", %s, "-x", "test_iso.py::test_module_state"]}\n' "$ZY_PY" "$ZY_COLD_HEAD"
		printf '{"argv": ["/bin/true"]}\n'
		zy_job test_iso.py::test_module_state '"cwd": "/"'
		zy_job test_iso.py::test_module_state
	} >"$SCRATCH/jobs"
	zy_drive "$SCRATCH/jobs" -- test_iso.py test_broken.py || return 1
	zy_assert "$ZY_OUT" 'Z["zygote_exit"] == 0' \
		'all("refused" in R[j] for j in range(5))' \
		'"not collected" in R[0]["refused"] and "not collected" in R[1]["refused"]' \
		'"-x" in R[2]["refused"]' \
		'"python -m pytest" in R[3]["refused"]' \
		'"runs in /" in R[4]["refused"]' \
		'R[5]["exit"] == 0 and R[5]["outcome"]["outcome"] == "passed"'
}

# The zygote killed while a test runs: the socket closes, the test's process
# dies with it; nothing hangs.
t_zygote_killed_midrun_leaves_nothing() {
	zy_setup || return "$(zy_skip $?)"
	zy_iso || return 1
	zy_job test_iso.py::test_sleeps_forever >"$SCRATCH/jobs"
	zy_drive "$SCRATCH/jobs" --kill-zygote-at 0 -- test_iso.py || return 1
	zy_assert "$ZY_OUT" 'Z.get("zygote_killed") is True' 'Z["socket_closed"] is True' \
		'Z["job_process_gone"] is True'
}

# The executor kills a job through its pidfd (timeout, cancel): the zygote
# reports the signal and serves the next job.
t_zygote_job_killed_by_pidfd() {
	zy_setup || return "$(zy_skip $?)"
	zy_iso || return 1
	{
		zy_job test_iso.py::test_sleeps_forever
		zy_job test_iso.py::test_module_state
	} >"$SCRATCH/jobs"
	zy_drive "$SCRATCH/jobs" --kill-job-at 0 -- test_iso.py || return 1
	zy_assert "$ZY_OUT" 'Z["zygote_exit"] == 0' 'R[0].get("signal") == 9' \
		'R[1]["exit"] == 0 and R[1]["outcome"]["outcome"] == "passed"'
}

# Without MAELSTROM_FORK_SERVER_FD the plugin does nothing: pytest runs the
# tests itself.
t_zygote_plugin_inert_without_fd() {
	zy_setup || return "$(zy_skip $?)"
	zy_fixture || return 1
	local out
	out=$(env -u MAELSTROM_FORK_SERVER_FD timeout 120 "$ZY_PY" -m pytest -p no:cacheprovider \
		-p maelstrom_pytest_zygote tests/test_arith.py 2>&1)
	expect_eq "pytest's exit" 0 "$?" || return 1
	expect_contains "pytest's summary" "7 passed" "$out"
}

# A fd 3 that is not a socket: a usage error naming the variable, before
# collection.
t_zygote_rejects_a_bad_fd() {
	zy_setup || return "$(zy_skip $?)"
	zy_fixture || return 1
	local out code
	out=$(MAELSTROM_FORK_SERVER_FD=3 timeout 120 "$ZY_PY" -m pytest -p no:cacheprovider \
		-p maelstrom_pytest_zygote tests/test_arith.py 2>&1 3</dev/null)
	code=$?
	expect_eq "pytest's exit (usage error)" 4 "$code" || return 1
	expect_contains "message" "MAELSTROM_FORK_SERVER_FD=3: fd 3 is not a socket" "$out"
}

# The library on its own (maelstrom_fork_server.Zygote with a tiny zygote):
# refusals from accept() and from a child that fails to set itself up (the
# helper answers "refused", never "pid"), SystemExit as the exit status.
t_zygote_library_refusals_and_exit_status() {
	zy_setup || return "$(zy_skip $?)"
	cat >"$SCRATCH/echo_zygote.py" <<'PY'
import maelstrom_fork_server as mfs


class Echo(mfs.Zygote):
    def accept(self, request):
        if request.argv[0] == "refuse":
            raise mfs.Refused("asked to refuse")
        return request.argv

    def child_stdio_ready(self, request, argv):
        if argv[0] == "break":
            raise RuntimeError("child broken on purpose")

    def run(self, request, argv):
        print("ran", " ".join(argv))
        if argv[0] == "exit":
            raise SystemExit(int(argv[1]))
        return 0


Echo(mfs.socket_from_env()).serve()
PY
	printf '%s\n' '{"argv": ["refuse"]}' '{"argv": ["break"]}' '{"argv": ["exit", "5"]}' \
		'{"argv": ["hello"]}' >"$SCRATCH/jobs"
	ZY_OUT=$SCRATCH/driver.out
	timeout 120 "$ZY_PY" "$ZY_DRIVER" --timeout 60 "$SCRATCH/jobs" -- \
		"$ZY_PY" "$SCRATCH/echo_zygote.py" >"$ZY_OUT" 2>"$SCRATCH/driver.err" ||
		{ fail "driver: $(tail -5 "$SCRATCH/driver.err")"; return 1; }
	zy_assert "$ZY_OUT" 'Z["zygote_exit"] == 0' \
		'R[0]["refused"] == "asked to refuse"' \
		'"child broken on purpose" in R[1]["refused"]' \
		'R[2]["exit"] == 5 and R[2]["stdout"] == "ran exit 5\n"' \
		'R[3]["exit"] == 0 and R[3]["stdout"] == "ran hello\n"'
}
