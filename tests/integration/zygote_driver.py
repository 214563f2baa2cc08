"""Plays the executor's side of the fork-server protocol (container/forkserver.h)
against a real zygote, for tests/integration/test_pytest_zygote.sh and for
measurements.

    python3 zygote_driver.py [OPTIONS] JOBS -- ZYGOTE ARGV...

The zygote starts as the executor would start it, in a user namespace where
it is root, with its own mount and PID namespaces (PID 1) and a new /proc:

    unshare --user --map-root-user --mount --pid --fork --mount-proc --kill-child ZYGOTE ARGV...

Its root is then the host's, or with --writable-root a container's
writable root, as the executor builds it for enable_writable_file_system:
an overlay of a layer directory with an empty tmpfs upper, onto which
/proc, /dev and /sys are bound (recursively), then the --tmpfs and --bind
mounts made in their order, made the root with pivot_root. With
--read-only-root the same root is then made read-only.

with one end of an AF_UNIX SOCK_SEQPACKET socket pair on fd 3 and
MAELSTROM_FORK_SERVER_FD=3, in the driver's environment and working
directory. JOBS is a file of JSON lines, one job each:

    {"argv": [...], "network": "disabled"|"loopback"|"local",
     "cwd": "/dir" (default: the driver's), "env": {"K": "V"} (added to the
     driver's environment)}

The driver waits for {"ready": true}, sends the jobs (at most --parallel at
a time, each with a fresh pair of pipes for stdout and stderr), collects
pid, pidfd, exit or signal, and the output, and prints one JSON line per
job, in job order:

    {"job": N, "refused": "why"}
    {"job": N, "pid": P, "exit": C | "signal": S, "stdout": "...",
     "stderr": "...", "outcome": {...} | null, "seconds": T}

(outcome: the record of maelstrom_pytest_report's outcome line, which is
removed from stderr), then {"zygote_exit": CODE, "zygote_stdout": "...",
"zygote_stderr": "...", "wall_seconds": T, "ready_seconds": T,
"cpu_seconds": T} after closing the socket (cpu_seconds: the user and
system time of the zygote and every process it forked, not the driver's). Exit status 0, or 2 when something went wrong (the
zygote died, a message broke the protocol, --timeout passed): what
appears on stderr.

Options:
    --parallel N       jobs in flight at once (default 1)
    --timeout S        give up after S seconds (default 300)
    --no-proc          unmount /proc in the zygote's namespace before it
                       starts (a container without /proc)
    --writable-root LAYER
                       the zygote's root is an overlay of the directory
                       LAYER with a tmpfs upper (see above); the zygote's
                       working directory must exist in LAYER
    --read-only-root LAYER
                       the same, but the root mount is then made read-only
    --bind PATH        with a --*-root: bind the driver's directory
                       PATH (recursively) to the same path in that root, or
                       when PATH is a symbolic link, make the same link
                       there (repeatable; e.g. /usr, /etc, /lib)
    --tmpfs PATH       with a --*-root: mount a tmpfs on PATH in that
                       root (repeatable)
    --zygote-cwd DIR   the zygote's working directory (default: the
                       driver's; jobs still default to the driver's)
    --kill-zygote-at N kill the zygote once job N's process runs, then
                       expect the socket to close and that process to die
    --cold             no zygote: run each job's argv as its own process
                       (same unshare wrapper), for comparison
    --kill-job-at N    kill job N's process through its pidfd once it runs
                       (as the executor does on timeout or cancel)
    --count-procs S    add "procs_left": how many processes whose command
                       line contains S are alive when each job has ended
                       (the job's namespace is gone by then)
"""
import argparse
import json
import os
import resource
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time

MARK = "@@maelstrom-pytest-outcome@@"
UNSHARE = ["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork",
           "--mount-proc", "--kill-child"]

# --writable-root, run by sh in the zygote's new namespaces:
#     sh -c WRITABLE_ROOT sh rw|ro LAYER SCRATCH CWD [bind:PATH | tmpfs:PATH]... -- ZYGOTE ARGV...
# SCRATCH is an empty directory to mount the tmpfs on.
WRITABLE_ROOT = r"""set -e
mode=$1 layer=$2 s=$3 cwd=$4
shift 4
mount -t tmpfs -o mode=0755 tmpfs "$s"
mkdir "$s/upper" "$s/work" "$s/root"
mount -t overlay -o "lowerdir=$layer,upperdir=$s/upper,workdir=$s/work,userxattr" overlay "$s/root"
for p in /proc /dev /sys; do
	mkdir -p "$s/root$p"
	mount --rbind "$p" "$s/root$p"
done
while [ "$1" != -- ]; do
	p=${1#*:}
	case $1 in
	tmpfs:*)
		mkdir -p "$s/root$p"
		mount -t tmpfs -o mode=1777 tmpfs "$s/root$p"
		;;
	*)
		if [ -L "$p" ]; then
			mkdir -p "$s/root${p%/*}"
			ln -s "$(readlink "$p")" "$s/root$p"
		else
			mkdir -p "$s/root$p"
			mount --rbind "$p" "$s/root$p"
		fi
		;;
	esac
	shift
done
shift
[ "$mode" = rw ] || mount -o remount,bind,ro "$s/root"
cd "$s/root"
pivot_root . .
umount -l .
cd "$cwd"
exec "$@"
"""


def die(msg):
    print("zygote_driver: %s" % msg, file=sys.stderr)
    sys.exit(2)


def _ancestors():
    """This process and its ancestors (whose command lines name the needle)."""
    pids, pid = set(), os.getpid()
    while pid > 0 and pid not in pids:
        pids.add(pid)
        try:
            with open("/proc/%d/stat" % pid, encoding="utf-8", errors="replace") as f:
                pid = int(f.read().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def count_procs(needle):
    """Processes (but the driver and its ancestors) whose command line
    contains needle."""
    n, skip = 0, _ancestors()
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) in skip:
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if needle.encode() in f.read():
                    n += 1
        except OSError:
            pass
    return n


def split_outcome(stderr):
    """(stderr without the outcome line, the outcome record or None)."""
    outcome, kept = None, []
    for line in stderr.split("\n"):
        if line.startswith(MARK + " "):
            outcome = json.loads(line[len(MARK) + 1:])
        else:
            kept.append(line)
    return "\n".join(kept), outcome


class Job:
    def __init__(self, index, spec):
        self.index = index
        self.spec = spec
        self.out = []
        self.err = []
        self.open_fds = []
        self.pid = None
        self.pidfd = None
        self.end = None          # {"exit": C} or {"signal": S}
        self.refused = None
        self.started = None
        self.seconds = None
        self.procs_left = None

    def envp(self):
        env = dict(os.environ)
        env.update(self.spec.get("env", {}))
        return ["%s=%s" % kv for kv in sorted(env.items())]

    def done(self):
        return self.refused is not None or (self.end is not None and not self.open_fds)

    def result(self):
        if self.refused is not None:
            return {"job": self.index, "refused": self.refused}
        stderr, outcome = split_outcome(b"".join(self.err).decode("utf-8", "replace"))
        r = {"job": self.index, "pid": self.pid, "stdout": b"".join(self.out).decode(
            "utf-8", "replace"), "stderr": stderr, "outcome": outcome,
            "seconds": round(self.seconds, 6)}
        r.update(self.end)
        if self.procs_left is not None:
            r["procs_left"] = self.procs_left
        return r


class Driver:
    def __init__(self, args, jobs):
        self.args = args
        self.jobs = jobs
        self.deadline = time.monotonic() + args.timeout
        self.poller = select.poll()
        self.fd_owner = {}       # pipe fd -> (job, which list)
        self.pidfd_owner = {}
        self.zygote_out = []
        self.zygote_err = []
        self.sock = None
        self.proc = None
        self.killed = False
        self.sock_polled = False
        self.scratch = None      # --writable-root's mount point, removed at the end

    def remove_scratch(self):
        if self.scratch is not None:
            try:
                os.rmdir(self.scratch)
            except OSError:
                pass
            self.scratch = None

    def start(self, argv, no_proc):
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        cfd = child.fileno()
        cmd = list(UNSHARE)
        layer = self.args.writable_root or self.args.read_only_root
        if layer is not None:
            self.scratch = tempfile.mkdtemp(prefix="zygote-driver-root.")
            mode = "rw" if self.args.writable_root else "ro"
            cmd += ["sh", "-c", WRITABLE_ROOT, "sh", mode, os.path.abspath(layer), self.scratch,
                    self.args.zygote_cwd or os.getcwd()] + self.args.mounts + ["--"]
        elif self.args.zygote_cwd:
            cmd += ["sh", "-c", 'cd "$0" && exec "$@"', self.args.zygote_cwd]
        if no_proc:
            cmd += ["sh", "-c", 'umount /proc && exec "$@"', "sh"]
        cmd += argv
        env = dict(os.environ, MAELSTROM_FORK_SERVER_FD="3")

        def fd3():
            os.dup2(cfd, 3)

        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     preexec_fn=fd3, close_fds=False)
        child.close()
        self.sock = parent
        for f, sink in ((self.proc.stdout, self.zygote_out), (self.proc.stderr, self.zygote_err)):
            os.set_blocking(f.fileno(), False)
            self.fd_owner[f.fileno()] = (None, sink)
            self.poller.register(f.fileno(), select.POLLIN)
        self.poller.register(self.sock.fileno(), select.POLLIN)
        self.sock_polled = True

    def zygote_output(self):
        return ("stdout: %s\nstderr: %s" % (b"".join(self.zygote_out)[-2000:].decode(
            "utf-8", "replace"), b"".join(self.zygote_err)[-2000:].decode("utf-8", "replace")))

    def poll_once(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            self.kill_zygote()
            die("timed out; zygote output so far:\n" + self.zygote_output())
        messages = []
        for fd, _ in self.poller.poll(min(left, 1.0) * 1000):
            if fd == self.sock.fileno():
                messages.append(self.receive())
            elif fd in self.pidfd_owner:
                self.poller.unregister(fd)
                del self.pidfd_owner[fd]
            else:
                self.read_pipe(fd)
        return [m for m in messages if m is not None]

    def read_pipe(self, fd):
        job, sink = self.fd_owner[fd]
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            return
        if data:
            sink.append(data)
            return
        self.poller.unregister(fd)
        del self.fd_owner[fd]
        if job is not None:
            job.open_fds.remove(fd)
            os.close(fd)
            self.check_done(job)

    def receive(self):
        try:
            data, fds, flags, _ = socket.recv_fds(self.sock, 1 << 18, 4)
        except ConnectionResetError:
            data, fds = b"", []
        if not data:
            self.unregister_sock()
            return {"eof": True}
        msg = json.loads(data)
        msg["fds"] = fds
        return msg

    def wait_ready(self):
        t0 = time.monotonic()
        while True:
            for msg in self.poll_once():
                if msg.get("eof"):
                    self.proc.wait()
                    die("the zygote closed the socket before it was ready (exit %s)\n%s"
                        % (self.proc.returncode, self.zygote_output()))
                if msg.get("ready") is True:
                    return time.monotonic() - t0
                die("unexpected message before ready: %r\n%s" % (msg, self.zygote_output()))

    def send(self, job):
        out_r, out_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        err_r, err_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        os.set_blocking(out_w, True)
        os.set_blocking(err_w, True)
        req = {"job": job.index, "argv": job.spec["argv"], "envp": job.envp(),
               "cwd": job.spec.get("cwd", os.getcwd()),
               "network": job.spec.get("network", "disabled")}
        job.started = time.monotonic()
        socket.send_fds(self.sock, [json.dumps(req).encode()], [out_w, err_w])
        os.close(out_w)
        os.close(err_w)
        for fd, sink in ((out_r, job.out), (err_r, job.err)):
            job.open_fds.append(fd)
            self.fd_owner[fd] = (job, sink)
            self.poller.register(fd, select.POLLIN)

    def handle(self, msg, by_id):
        if msg.get("eof"):
            if self.killed:
                return "eof"
            self.proc.wait()
            die("the zygote closed the socket with jobs in flight (exit %s)\n%s"
                % (self.proc.returncode, self.zygote_output()))
        if "error" in msg:
            die("the zygote reports an error: %s\n%s" % (msg["error"], self.zygote_output()))
        job = by_id.get(msg.get("job"))
        if job is None:
            die("message for an unknown job: %r" % msg)
        fds = msg.pop("fds")
        if "refused" in msg:
            if job.pid is not None:
                die("job %d refused after its pid was sent" % job.index)
            job.refused = msg["refused"]
            for fd in list(job.open_fds):
                self.poller.unregister(fd)
                del self.fd_owner[fd]
                os.close(fd)
            job.open_fds = []
        elif "pid" in msg:
            if len(fds) != 1:
                die("job %d: the pid message carries %d fds, not 1" % (job.index, len(fds)))
            job.pid = msg["pid"]
            job.pidfd = fds[0]
            if self.args.kill_zygote_at == job.index:
                self.kill_zygote()
                self.pidfd_owner[job.pidfd] = job
                self.poller.register(job.pidfd, select.POLLIN)
                return "killed"
            if self.args.kill_job_at == job.index:
                signal.pidfd_send_signal(job.pidfd, signal.SIGKILL)
            os.close(job.pidfd)
        elif "exit" in msg or "signal" in msg:
            if job.pid is None:
                die("job %d ended before its pid was sent" % job.index)
            if job.end is not None:
                die("job %d ended twice" % job.index)
            job.end = {k: msg[k] for k in ("exit", "signal") if k in msg}
        else:
            die("unexpected message %r" % msg)
        self.check_done(job)
        return None

    def check_done(self, job):
        if job.done() and job.seconds is None:
            job.seconds = time.monotonic() - job.started
            if self.args.count_procs is not None:
                job.procs_left = count_procs(self.args.count_procs)

    def kill_zygote(self):
        self.killed = True
        try:
            self.proc.send_signal(signal.SIGKILL)
        except ProcessLookupError:
            pass

    def run(self):
        by_id = {j.index: j for j in self.jobs}
        todo = list(self.jobs)
        inflight = []
        while todo or inflight:
            while todo and len(inflight) < self.args.parallel:
                job = todo.pop(0)
                self.send(job)
                inflight.append(job)
            for msg in self.poll_once():
                if self.handle(msg, by_id) == "killed":
                    return self.after_kill()
            inflight = [j for j in inflight if not j.done()]
        return True

    def after_kill(self):
        """The zygote was killed with a job running: the socket must close
        and the job's process must die (its pidfd becomes readable)."""
        eof = False
        while not eof or self.pidfd_owner:
            for msg in self.poll_once():
                if msg.get("eof"):
                    eof = True
        self.proc.wait()
        print(json.dumps({"zygote_killed": True, "socket_closed": eof,
                          "job_process_gone": not self.pidfd_owner}))
        return False

    def unregister_sock(self):
        if self.sock_polled:
            self.poller.unregister(self.sock.fileno())
            self.sock_polled = False

    def finish(self):
        self.unregister_sock()
        self.sock.close()
        while self.fd_owner:
            self.poll_once()
        try:
            self.proc.wait(timeout=max(self.deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            self.kill_zygote()
            die("the zygote did not exit after the socket closed\n" + self.zygote_output())
        return self.proc.returncode


def run_cold(args, jobs):
    t0 = time.monotonic()
    for job in jobs:
        env = dict(os.environ)
        env.update(job.spec.get("env", {}))
        start = time.monotonic()
        p = subprocess.run(UNSHARE + job.spec["argv"], env=env, cwd=job.spec.get("cwd"),
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=args.timeout)
        stderr, outcome = split_outcome(p.stderr.decode("utf-8", "replace"))
        r = {"job": job.index, "stdout": p.stdout.decode("utf-8", "replace"),
             "stderr": stderr, "outcome": outcome,
             "seconds": round(time.monotonic() - start, 6)}
        if p.returncode < 0:
            r["signal"] = -p.returncode
        else:
            r["exit"] = p.returncode
        print(json.dumps(r, sort_keys=True))
    print(json.dumps({"wall_seconds": round(time.monotonic() - t0, 6)}))


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        die("usage: zygote_driver.py [OPTIONS] JOBS -- ZYGOTE ARGV...")
    cut = argv.index("--")
    p = argparse.ArgumentParser(prog="zygote_driver.py")
    p.add_argument("--parallel", type=int, default=1)
    p.add_argument("--timeout", type=float, default=300)
    p.add_argument("--no-proc", action="store_true")
    root = p.add_mutually_exclusive_group()
    root.add_argument("--writable-root")
    root.add_argument("--read-only-root")
    p.add_argument("--bind", action="append", dest="mounts", default=[],
                   type=lambda path: "bind:" + path)
    p.add_argument("--tmpfs", action="append", dest="mounts", type=lambda path: "tmpfs:" + path)
    p.add_argument("--zygote-cwd")
    p.add_argument("--kill-zygote-at", type=int)
    p.add_argument("--kill-job-at", type=int)
    p.add_argument("--cold", action="store_true")
    p.add_argument("--count-procs")
    p.add_argument("jobs")
    args = p.parse_args(argv[:cut])
    zygote_argv = argv[cut + 1:]
    with open(args.jobs, encoding="utf-8") as f:
        jobs = [Job(i, json.loads(line)) for i, line in enumerate(f) if line.strip()]
    if args.cold:
        run_cold(args, jobs)
        return 0
    if not zygote_argv:
        die("no zygote to start after --")
    if args.mounts and args.writable_root is None and args.read_only_root is None:
        die("--bind and --tmpfs need --writable-root or --read-only-root")
    t0 = time.monotonic()
    d = Driver(args, jobs)
    try:
        d.start(zygote_argv, args.no_proc)
        ready = d.wait_ready()
        if not d.run():
            return 0
        for job in jobs:
            print(json.dumps(job.result(), sort_keys=True))
        code = d.finish()
    finally:
        d.remove_scratch()
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"zygote_exit": code, "ready_seconds": round(ready, 6),
                      "cpu_seconds": round(ru.ru_utime + ru.ru_stime, 6),
                      "wall_seconds": round(time.monotonic() - t0, 6),
                      "zygote_stdout": b"".join(d.zygote_out).decode("utf-8", "replace"),
                      "zygote_stderr": b"".join(d.zygote_err).decode("utf-8", "replace")},
                     sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
