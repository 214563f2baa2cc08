"""maelstrom_fork_server: the zygote side of Maelstrom's fork-server protocol.

A zygote is a program the executor starts once in a job's container and
keeps warm; for each job it forks a child that isolates itself like a cold
container and runs the job. The protocol, and what a child must do before
it runs the job, are specified in container/forkserver.h; this module
implements all of it, so that a zygote only says which jobs it can serve
and how to run one:

    import maelstrom_fork_server as mfs

    class MyZygote(mfs.Zygote):
        def accept(self, request):
            # In the zygote. Return what run() needs, or raise
            # mfs.Refused("why") (the executor then runs the job cold).
            ...
        def child_stdio_ready(self, request, task):
            # In the job's process, once fds 0, 1 and 2 are the job's: fix
            # whatever held the zygote's own stdout and stderr (optional).
            ...
        def run(self, request, task):
            # In the job's process, isolated, in the job's environment and
            # working directory. Returns the exit status (SystemExit works
            # as it does in a script).
            ...

    MyZygote(mfs.socket_from_env()).serve()   # returns when the socket closes

request is a Request (job id, argv, envp, cwd, network). serve() sends
{"ready": true}, then for each request:

  - accept() decides in the zygote; a refusal is answered right away;
  - the zygote forks the job's process, once: it unshares a PID namespace
    (its next child is born in it, as its PID 1), forks, and at once goes
    back to its own PID namespace (setns(2) on an fd of it kept from the
    start), so that its later children are not in the job's. It closes
    its copies of the job's two fds, opens a pidfd of the process and
    goes back to its loop, which polls the socket, each starting job's
    ready pipe and a self-pipe that a SIGCHLD handler writes to: it
    reaps its children with WNOHANG, so it never blocks on one;
  - the job's process closes what the zygote keeps for itself (pidfds,
    ready pipes, namespace fds), unshares the mount namespace (and the
    UTS, IPC and network namespaces, but see "Network namespaces") and
    makes every mount private. When the root file system is writable, it
    gives itself a root of its own (a "fresh upper", below): a cold
    container's writable root starts empty, and a file an earlier job
    wrote must not show. It then mounts a fresh tmpfs on /tmp when /tmp
    is a directory that the fresh upper does not already make fresh (the
    directories the zygote and the job need that lie below /tmp -- the
    working directories, sys.path, sys.prefix -- are bound back over it),
    a fresh tmpfs on /dev/shm and a new mqueue on /dev/mqueue when those
    are such mounts, a new /proc when /proc is a proc mount, and sets up
    its network. It starts its own session, takes stdin from /dev/null
    and stdout and stderr from the job's fds (and every duplicate of the
    zygote's own stdout or stderr that the zygote holds now points at the
    job's instead), closes the zygote's socket, moves to the job's working
    directory and environment, calls child_stdio_ready() and writes one
    NUL byte on its ready pipe;
  - on that byte the zygote sends {"job": ID, "pid": PID} with the pidfd;
    when it reaps the process it sends {"job": ID, "exit": CODE} or
    {"job": ID, "signal": SIG}. When anything fails before the process is
    ready, the process writes why on the pipe and exits, and the zygote
    answers {"job": ID, "refused": "why"} instead (never after the "pid"
    message): the job runs cold;
  - the job's process runs run(), flushes sys.stdout and sys.stderr, runs
    the atexit functions and leaves with os._exit(status): everything it
    started dies with it (it is PID 1 of its namespace).

Network namespaces. Making a network namespace and tearing it down costs
more than the rest of a small job's isolation, so the zygote keeps a pool
of them for "disabled" and for "loopback" (loopback up), at most
Zygote.NETNS_POOL_LIMIT of each, made when a job needs one and none is
free, each by a short-lived thread of the zygote (a thread's network
namespace is its own: the zygote's stays as it is). A job's process enters
a free one with setns(2), and the namespace is free again once that
process has been reaped: the process was PID 1 of its PID namespace, so
every process that could hold a socket there is gone (TCP connections it
closed may linger in TIME_WAIT). So that a job cannot reconfigure a
namespace for the jobs after it (bring loopback up or down, add
addresses, routes, interfaces, firewall rules), it then enters a user
namespace of its own (mapping the zygote's uid and gid to themselves),
with new mount, UTS and IPC namespaces that it owns: it keeps every
capability over its mounts, host name and IPC objects, and has none over
the network namespace, which it can use but not change (nor mount a new
/proc: its PID namespace belongs to the zygote's user namespace). Without
/proc (the user namespace's maps are written there), when the kernel
refuses one more user namespace, or when the pool cannot make a
namespace (said once on the zygote's stderr), a job's process unshares a
fresh network namespace instead, with the capabilities over it that a
cold job has. Network "local" shares the zygote's.

The fresh upper. The zygote finds once whether "/" is mounted read-only
(statvfs) and, when it is not, which mounts lie on the root
(/proc/self/mountinfo). For each job, its process then clones those
mounts (open_tree), mounts a private tmpfs on a directory that nobody sees
any more once the process has moved out (/tmp when it exists), makes
upper/, work/ and root/ in it, mounts an overlay of the current root (lowerdir=/) with that
upper on root/, moves the clones to their places in it, and makes it the
root (pivot_root; the old root is detached). /tmp is then fresh already
unless it is a mount of its own (that one gets a fresh tmpfs as above).
An overlay stacks on the zygote's root only when that root is at most one
overlay deep (the kernel stacks file systems two deep at most: a root
whose layers lie on an overlay file system cannot have one more), and
when no mount on it is locked (mounts a user namespace inherited from a
more privileged one, e.g. a root shared with the host). The
zygote tries the whole sequence once when it starts; when that fails, or
mountinfo cannot be read, its jobs share its writable root, and serve()
says so once on the zygote's stderr. A job whose fresh upper fails
although the trial worked is refused (it then runs cold).

The zygote is expected to be uid 0 with every capability in its own user
namespace (as in a Maelstrom container); without that, a job's unshare
fails and every job is refused, so it runs cold. A zygote that cannot
return to its own PID namespace after a fork (or cannot keep an fd of it:
without /proc, setns(2) takes a pidfd only from Linux 5.8 on) sends
{"error": ...} and exits, and the executor runs that zygote's jobs cold.

Only the standard library is used (Python 3.9+: socket.send_fds,
os.pidfd_open); unshare(2), setns(2), mount(2), umount2(2),
pivot_root(2), open_tree(2), move_mount(2) and kcmp(2) are called through
ctypes.
"""
import ctypes
import ctypes.util
import errno
import fcntl
import gc
import json
import os
import platform
import select
import signal
import socket
import stat
import struct
import sys
import threading
import time
import traceback

FD_ENV = "MAELSTROM_FORK_SERVER_FD"
MAX_MSG = 256 << 10      # FORKSERVER_MAX_MSG

NETWORKS = ("disabled", "loopback", "local")

# <linux/sched.h>
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
# <linux/mount.h>
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 0x2
OPEN_TREE_CLONE = 1
OPEN_TREE_CLOEXEC = 0o2000000
AT_RECURSIVE = 0x8000
AT_FDCWD = -100
MOVE_MOUNT_F_EMPTY_PATH = 0x4
# <linux/sockios.h>, <linux/if.h>
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1
# <linux/kcmp.h>
KCMP_FILE = 0

# System calls glibc has no wrapper for. open_tree and move_mount have the
# same number on every architecture (every call from 424 on does); kcmp and
# pivot_root do not, and are only used where their number is known (without
# pivot_root, jobs share a writable root: see the fresh upper above).
_NR_OPEN_TREE = 428
_NR_MOVE_MOUNT = 429
_NR_KCMP = {"x86_64": 312, "aarch64": 272, "i686": 349, "i386": 349}.get(platform.machine())
_NR_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "i686": 217,
                  "i386": 217}.get(platform.machine())

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.syscall.restype = ctypes.c_long


class Refused(Exception):
    """Raised by Zygote.accept(): the job cannot be served warm."""


class ProtocolError(Exception):
    """The zygote cannot go on: the executor sent something it cannot read,
    or it cannot return to its own namespaces after starting a job. The
    executor has been told ({"error": ...}) when this is raised."""


class Request:
    """One job: its id, argv, envp ("K=V" strings), working directory and
    network ("disabled", "loopback" or "local"), and the two fds
    (stdout_fd, stderr_fd) it writes to."""

    def __init__(self, job, argv, envp, cwd, network, stdout_fd, stderr_fd):
        self.job = job
        self.argv = argv
        self.envp = envp
        self.cwd = cwd
        self.network = network
        self.stdout_fd = stdout_fd
        self.stderr_fd = stderr_fd

    def environ(self):
        """envp as a dict (for a name given twice, the last value)."""
        env = {}
        for entry in self.envp:
            name, _, value = entry.partition("=")
            env[name] = value
        return env


# ---- system calls ----------------------------------------------------------------


def _oserror(what):
    code = ctypes.get_errno()
    return OSError(code, "%s: %s" % (what, os.strerror(code)))


def unshare(flags):
    if _libc.unshare(flags) != 0:
        raise _oserror("unshare(0x%x)" % flags)


def setns(fd, nstype):
    if _libc.setns(fd, nstype) != 0:
        raise _oserror("setns(fd %d, 0x%x)" % (fd, nstype))


def _enc(s):
    return None if s is None else os.fsencode(s)


def _syscall(number, *args):
    """syscall(2) with every integer passed as a long, as the kernel reads
    its arguments."""
    return _libc.syscall(ctypes.c_long(number),
                         *(ctypes.c_long(a) if isinstance(a, int) else a for a in args))


def mount(source, target, fstype, flags, data=None):
    if _libc.mount(_enc(source), _enc(target), _enc(fstype), flags, _enc(data)) != 0:
        raise _oserror("mount %s on %s (type %s)" % (source, target, fstype))


def umount2(target, flags):
    if _libc.umount2(_enc(target), flags) != 0:
        raise _oserror("umount2 %s" % target)


def pivot_root(new_root, put_old):
    if _NR_PIVOT_ROOT is None:
        raise OSError("pivot_root: its system call number on %s is not known to this "
                      "module; add it to _NR_PIVOT_ROOT" % platform.machine())
    if _syscall(_NR_PIVOT_ROOT, os.fsencode(new_root), os.fsencode(put_old)) != 0:
        raise _oserror("pivot_root(%s, %s)" % (new_root, put_old))


def _open_tree(path):
    fd = _syscall(_NR_OPEN_TREE, AT_FDCWD, os.fsencode(path),
                       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)
    if fd < 0:
        raise _oserror("open_tree(%s)" % path)
    return fd


def _move_mount(fd, target):
    if _syscall(_NR_MOVE_MOUNT, fd, b"", AT_FDCWD, os.fsencode(target),
                     MOVE_MOUNT_F_EMPTY_PATH) != 0:
        raise _oserror("move_mount onto %s" % target)


def _same_file(fd1, fd2):
    """True when fd1 and fd2 share one open file description (dup'ed), by
    kcmp(2); None when the kernel cannot say."""
    if _NR_KCMP is None:
        return None
    pid = os.getpid()
    r = _syscall(_NR_KCMP, pid, pid, KCMP_FILE, fd1, fd2)
    if r < 0:
        return None
    return r == 0


def loopback_up():
    """Sets IFF_UP on lo in the current network namespace."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH22x", b"lo", 0)
        flags = struct.unpack("16sH22x", fcntl.ioctl(s.fileno(), SIOCGIFFLAGS, req))[1]
        if not flags & IFF_UP:
            fcntl.ioctl(s.fileno(), SIOCSIFFLAGS, struct.pack("16sH22x", b"lo", flags | IFF_UP))


# ---- the container as the zygote sees it ------------------------------------------------


def _unescape_mountinfo(field):
    # Spaces, tabs, newlines and backslashes are written as \ooo.
    out, i = [], 0
    while i < len(field):
        digits = field[i + 1:i + 4]
        if field[i] == "\\" and len(digits) == 3 and digits.isdigit():
            out.append(chr(int(field[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def read_mountinfo(path="/proc/self/mountinfo"):
    """[(mount point, file system type)] of every mount, in mountinfo's
    order (a mount comes after the one it lies on), or None when mountinfo
    cannot be read (no /proc)."""
    mounts = []
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                fields = line.split()
                if "-" not in fields:
                    continue
                sep = fields.index("-")
                if len(fields) < 5 or sep + 1 >= len(fields):
                    continue
                mounts.append((_unescape_mountinfo(fields[4]), fields[sep + 1]))
    except OSError:
        return None
    return mounts


def read_mounts(path="/proc/self/mountinfo"):
    """{mount point: file system type} of the topmost mount at each point,
    or {} when mountinfo cannot be read (no /proc)."""
    return dict(read_mountinfo(path) or ())


def _below(path, top):
    return path != top and path.startswith(top.rstrip("/") + "/")


def _outermost(paths):
    paths = sorted(set(paths))
    return [p for p in paths if not any(_below(p, o) for o in paths if o != p)]


class Shape:
    """What the zygote's container has, found once: a /tmp directory (and
    whether it is a mount), a proc mount on /proc, tmpfs on /dev/shm,
    mqueue on /dev/mqueue, the directories below /tmp it must keep (bound
    back over a fresh /tmp), and for a writable root either how to give
    each job a fresh upper (fresh_root, a FreshRoot) or why it cannot
    (shared_root_note, to tell once)."""

    def __init__(self, keep=()):
        mountinfo = read_mountinfo()
        mounts = dict(mountinfo or ())
        self.proc = mounts.get("/proc") == "proc"
        self.shm = mounts.get("/dev/shm") == "tmpfs"
        self.mqueue = mounts.get("/dev/mqueue") == "mqueue"
        try:
            self.tmp = stat.S_ISDIR(os.lstat("/tmp").st_mode)
        except OSError:
            self.tmp = False
        self.tmp_mount = "/tmp" in mounts
        self.proc_fd_dir = os.path.isdir("/proc/self/fd")
        self.writable_root = root_is_writable()
        self.fresh_root = None
        self.shared_root_note = None
        if self.writable_root:
            self._plan_fresh_root(mountinfo)
        wanted = [os.getcwd(), sys.prefix, sys.exec_prefix, os.path.dirname(sys.executable)]
        wanted.extend(p for p in sys.path if p)
        wanted.extend(keep)
        self.keep = self.below_tmp(wanted)

    def _plan_fresh_root(self, mountinfo):
        if mountinfo is None:
            why = "/proc/self/mountinfo cannot be read, so the mounts to carry over are unknown"
        else:
            scratch = _scratch_dir()
            if scratch is None:
                why = "the root has no directory to mount a scratch tmpfs on"
            else:
                fresh = FreshRoot(mountinfo, scratch)
                why = _try_in_child(fresh.trial)
                if why is None:
                    self.fresh_root = fresh
                    return
        self.shared_root_note = (
            "maelstrom_fork_server: the root file system is writable, but the jobs forked "
            "from this zygote cannot get a fresh upper layer of their own (%s); they share "
            "the zygote's, so a file one job writes outside /tmp is seen by the jobs after "
            "it. For full isolation make the root read-only, or run these jobs cold "
            "(maelstrom-pytest: --fork-server=false)." % why)

    def fresh_tmp_needed(self):
        """True when a job's process must mount a fresh tmpfs on /tmp: /tmp is a
        directory that a fresh upper does not already make fresh."""
        return self.tmp and (self.fresh_root is None or self.tmp_mount)

    def below_tmp(self, paths):
        """The existing directories among paths (resolved) below /tmp."""
        if not self.tmp:
            return []
        out = []
        for p in paths:
            real = os.path.realpath(p)
            if _below(real, "/tmp") and os.path.isdir(real):
                out.append(real)
        return out


# ---- the fresh upper --------------------------------------------------------------------


def root_is_writable():
    """True when "/" is not mounted read-only."""
    try:
        return not os.statvfs("/").f_flag & os.ST_RDONLY
    except OSError:
        return False


# Where a job's process may mount its scratch tmpfs: any directory will do, as the mounts
# below it are cloned first and the whole old root is detached afterwards.
_SCRATCH_CANDIDATES = ("/tmp", "/mnt", "/run", "/var/tmp", "/root", "/home", "/dev", "/proc",
                       "/sys", "/etc", "/usr")


def _scratch_dir():
    for path in _SCRATCH_CANDIDATES:
        try:
            if stat.S_ISDIR(os.lstat(path).st_mode):
                return path
        except OSError:
            continue
    return None


class FreshRoot:
    """A job's own root over a writable root: an overlay of the current
    root with an empty upper, carrying every mount on the root along (see
    "The fresh upper" in the module's documentation). Made once in the
    zygote; enter() runs in each job's process."""

    def __init__(self, mountinfo, scratch):
        # The outermost mounts on the root: each is cloned with everything
        # mounted below it. "/" itself is the overlay's lower layer.
        self.carry = _outermost(point for point, _ in mountinfo if point != "/")
        self.scratch = scratch
        self.upper = os.path.join(scratch, "upper")
        self.work = os.path.join(scratch, "work")
        self.root = os.path.join(scratch, "root")
        self.options = "lowerdir=/,upperdir=%s,workdir=%s,userxattr" % (self.upper, self.work)

    def enter(self):
        """In a job's process, in a mount namespace of its own whose mounts are private:
        makes the fresh root its root (and working directory). Raises
        OSError naming the step that failed."""
        clones = []
        try:
            for point in self.carry:
                clones.append((point, _open_tree(point)))
            mount("tmpfs", self.scratch, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
            for path in (self.upper, self.work, self.root):
                os.mkdir(path, 0o755)
            try:
                # userxattr: in a user namespace overlayfs may only use
                # user.* extended attributes (as the executor's root does).
                mount("overlay", self.root, "overlay", 0, self.options)
            except OSError as e:
                if e.errno == errno.EINVAL:
                    raise OSError(e.errno, "%s; overlayfs refuses a lower layer that is "
                                  "already two file systems deep (a root whose layers lie on "
                                  "an overlay file system) or that holds mounts locked by a "
                                  "user namespace" % e.strerror) from None
                raise
            for point, fd in clones:
                _move_mount(fd, self.root + point)
            os.chdir(self.root)
            # pivot_root(".", ".") stacks the old root on the new one, and
            # detaching "." drops it: the new root needs no directory to
            # park the old one in.
            pivot_root(".", ".")
            umount2(".", MNT_DETACH)
            os.chdir("/")
        finally:
            _close_quietly(*(fd for _, fd in clones))

    def trial(self):
        """enter() in a mount namespace of its own (in a throw-away child):
        raises what a job's process would meet."""
        unshare(CLONE_NEWNS)
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        self.enter()


def _try_in_child(fn):
    """Runs fn() in a forked child that exits afterwards. Returns None when
    fn returned, else why it did not (its exception's text)."""
    sys.stdout.flush()
    sys.stderr.flush()
    r, w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(r)
            fn()
            code = 0
        except BaseException as e:
            _write_all(w, (str(e) or repr(e)).encode("utf-8", "replace"))
        finally:
            os._exit(code)
    os.close(w)
    why = _read_all(r)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    if why:
        return why.decode("utf-8", "replace")
    if status != 0:
        return "the trial process ended with %s" % _describe(status)
    return None


# ---- the zygote -------------------------------------------------------------------------


def socket_from_env(environ=None):
    """The zygote's socket, from the fd named by $MAELSTROM_FORK_SERVER_FD
    (close-on-exec from now on), or None when the variable is unset."""
    environ = os.environ if environ is None else environ
    value = environ.get(FD_ENV)
    if value is None:
        return None
    try:
        fd = int(value)
        os.fstat(fd)
    except (ValueError, OSError) as e:
        raise ProtocolError("%s=%r does not name an open file descriptor (%s); the executor "
                            "must pass the zygote's socket there" % (FD_ENV, value, e))
    os.set_inheritable(fd, False)
    try:
        sock = socket.socket(fileno=fd)
    except OSError as e:
        raise ProtocolError("%s=%s: fd %d is not a socket (%s); the executor must pass an "
                            "AF_UNIX SOCK_SEQPACKET socket there" % (FD_ENV, value, fd, e))
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_SEQPACKET:
        sock.detach()
        raise ProtocolError("%s=%s: fd %d is not an AF_UNIX SOCK_SEQPACKET socket; the executor "
                            "must pass one end of such a socket pair" % (FD_ENV, value, fd))
    sock.setblocking(True)     # the loop polls; the executor may have made it non-blocking
    return sock


def _send(sock, obj, fds=()):
    data = json.dumps(obj, sort_keys=True).encode("utf-8")
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.send(data)


def _close_quietly(*fds):
    for fd in fds:
        if fd is not None and fd >= 0:
            try:
                os.close(fd)
            except OSError:
                pass


def _string_list(obj, key, job):
    value = obj.get(key)
    if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
        raise Refused("request for job %s: \"%s\" must be an array of strings" % (job, key))
    return value


def parse_request(data, fds):
    """A Request from one datagram and its fds. Raises ProtocolError when
    the datagram is not a request at all (no job id), Refused when the
    request is malformed (the fds are closed then)."""
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        _close_quietly(*fds)
        raise ProtocolError("the executor sent a message that is not JSON (%s): %r"
                            % (e, data[:200]))
    if not isinstance(obj, dict) or "job" not in obj:
        _close_quietly(*fds)
        raise ProtocolError("the executor sent a message without a \"job\" id: %r" % data[:200])
    job = obj["job"]
    try:
        if len(fds) != 2:
            raise Refused("request for job %s carries %d fds; it needs 2 (stdout, stderr)"
                          % (job, len(fds)))
        argv = _string_list(obj, "argv", job)
        envp = _string_list(obj, "envp", job)
        if not argv:
            raise Refused("request for job %s: \"argv\" is empty" % job)
        cwd = obj.get("cwd", "/")
        if not isinstance(cwd, str) or not cwd.startswith("/"):
            raise Refused("request for job %s: \"cwd\" must be an absolute path, not %r"
                          % (job, cwd))
        network = obj.get("network", "disabled")
        if network not in NETWORKS:
            raise Refused("request for job %s: \"network\" must be one of %s, not %r"
                          % (job, ", ".join(NETWORKS), network))
    except Refused:
        _close_quietly(*fds)
        raise
    return Request(job, argv, envp, cwd, network, fds[0], fds[1])


class _NetnsPool:
    """Network namespaces the zygote makes ahead of its jobs and reuses, one
    job at a time each (see "Network namespaces" in the module's
    documentation): making one and tearing it down costs more than the
    rest of a small test's isolation.

    A namespace is made by a short-lived thread of the zygote (a network
    namespace is a thread's own: the zygote's stays as it is), with
    loopback up for "loopback"; there are separate namespaces for
    "disabled" and "loopback", at most `limit` of each. acquire() lends an
    fd of a free one (made now when none is free and the limit allows),
    release() takes it back once the job that used it has been reaped."""

    def __init__(self, limit):
        self.limit = limit
        self._free = {"disabled": [], "loopback": []}
        self._made = {"disabled": 0, "loopback": 0}
        self._failed = False

    def fds(self):
        """The fds of the free namespaces (not of those lent)."""
        return self._free["disabled"] + self._free["loopback"]

    def acquire(self, network):
        """An fd of a free namespace for network ("disabled" or
        "loopback"), or None: the job then makes a fresh one."""
        free = self._free[network]
        if free:
            return free.pop()
        if self._failed or self._made[network] >= self.limit:
            return None
        result = []
        maker = threading.Thread(target=self._make, args=(network, result),
                                 name="maelstrom-netns")
        maker.start()
        maker.join()
        if isinstance(result[0], OSError):
            # Jobs make their own from now on, as without a pool.
            self._failed = True
            sys.stderr.write("maelstrom_fork_server: the zygote cannot keep network namespaces "
                             "for its jobs (%s); each job makes a fresh one instead\n"
                             % result[0])
            sys.stderr.flush()
            return None
        self._made[network] += 1
        return result[0]

    def release(self, network, fd):
        self._free[network].append(fd)

    @staticmethod
    def _make(network, result):
        """In a thread of its own: a new network namespace for it, kept by
        an fd in result (or the OSError in result)."""
        fd = -1
        try:
            unshare(CLONE_NEWNET)
            fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
            if network == "loopback":
                loopback_up()
            result.append(fd)
        except OSError as e:
            _close_quietly(fd)
            result.append(e)


class _Running:
    """A job the zygote forked: its process, the pidfd the executor gets,
    the read end of the pipe on which the process says it is ready, what
    came through it, and the pooled network namespace it uses."""

    def __init__(self, job, pid, pidfd, ready_fd, network, netns_fd):
        self.job = job
        self.pid = pid
        self.pidfd = pidfd
        self.ready_fd = ready_fd
        self.ready = b""
        self.started = False     # the "pid" message was sent
        self.kill_reason = None  # set when the zygote killed it before it started
        self.network = network
        self.netns_fd = netns_fd


class Zygote:
    """A fork server on sock (see the module's documentation). Subclasses
    override accept(), run() and optionally child_stdio_ready(); keep
    names directories below /tmp that jobs need besides the defaults."""

    # Pooled network namespaces, for each of "disabled" and "loopback".
    NETNS_POOL_LIMIT = 16

    def __init__(self, sock, keep=()):
        self.sock = sock
        self.shape = Shape(keep)
        self._running = {}       # pid of a job's process -> _Running
        self._by_ready_fd = {}   # its ready pipe -> _Running
        self._poller = None
        self._wake_r = self._wake_w = -1
        self._pidns_fd = -1      # the zygote's own PID namespace
        self._netns_pool = None
        self._saved_out = []     # fds that duplicate the zygote's stdout
        self._saved_err = []     # ... and stderr

    # -- to override --

    def accept(self, request):
        raise Refused("this zygote serves no job")

    def child_stdio_ready(self, request, task):
        pass

    def run(self, request, task):
        return 0

    # -- the loop --

    def send_error(self, message):
        """Tells the executor this zygote is broken (it runs the jobs cold)."""
        try:
            _send(self.sock, {"error": message})
        except OSError:
            pass

    def serve(self):
        """Sends ready and serves requests until the executor closes the
        socket. Returns normally then; raises ProtocolError when the
        zygote cannot go on (after telling the executor)."""
        self._saved_out, self._saved_err = self._find_saved_stdio()
        try:
            self._pidns_fd = _own_pidns_fd()
        except OSError as e:
            message = ("the zygote cannot hold on to its own PID namespace (%s), which it needs "
                       "to give each job a PID namespace of its own; its jobs run cold" % e)
            self.send_error(message)
            raise ProtocolError(message) from None
        if self.shape.proc:
            # A job entering a pooled namespace gives up its capabilities
            # over it in a user namespace of its own, whose maps it writes
            # in /proc: without proc, every job makes a fresh namespace.
            self._netns_pool = _NetnsPool(self.NETNS_POOL_LIMIT)
        # Everything alive now lives as long as the zygote: out of the
        # collector's reach, so that a child's collections do not write to
        # (and copy) every page of the heap it shares with the zygote.
        gc.collect()
        gc.freeze()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        old_wakeup = signal.set_wakeup_fd(self._wake_w, warn_on_full_buffer=False)
        old_handler = signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        try:
            if self.shape.shared_root_note:
                sys.stderr.write(self.shape.shared_root_note + "\n")
                sys.stderr.flush()
            _send(self.sock, {"ready": True})
            self._loop()
        finally:
            signal.signal(signal.SIGCHLD, old_handler)
            signal.set_wakeup_fd(old_wakeup)
            _close_quietly(self._wake_r, self._wake_w)
            self._wake_r = self._wake_w = -1

    def _loop(self):
        self._poller = select.poll()
        self._poller.register(self.sock.fileno(), select.POLLIN)
        self._poller.register(self._wake_r, select.POLLIN)
        while True:
            events = self._poller.poll()
            # Ready pipes first: a job whose process said it is ready and
            # then ended gets its "pid" before its end.
            for fd, _ in events:
                run = self._by_ready_fd.get(fd)
                if run is not None:
                    self._read_ready(run)
            for fd, _ in events:
                if fd == self._wake_r:
                    self._drain_wakeups()
                    self._reap()
                elif fd == self.sock.fileno() and not self._receive():
                    return

    def _drain_wakeups(self):
        try:
            while os.read(self._wake_r, 512):
                pass
        except BlockingIOError:
            pass

    def _reap(self):
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            run = self._running.pop(pid, None)
            if run is not None:
                self._ended(run, status)
            # else: an orphan that ended up with us (we are PID 1)

    def _read_ready(self, run):
        """Reads what the job's process said on its ready pipe: "\\0" once
        it is set up (the executor then gets its pid), else why it failed,
        then end of file."""
        while True:
            try:
                chunk = os.read(run.ready_fd, 65536)
            except BlockingIOError:
                return
            except InterruptedError:
                continue
            run.ready += chunk
            if run.ready.startswith(b"\0") and not run.started and run.kill_reason is None:
                run.started = True
                self._send_quietly({"job": run.job, "pid": run.pid}, [run.pidfd])
                self._close_pidfd(run)
            if not chunk or run.started:
                self._drop_ready_pipe(run)
                return

    def _drop_ready_pipe(self, run):
        if run.ready_fd >= 0:
            self._poller.unregister(run.ready_fd)
            del self._by_ready_fd[run.ready_fd]
            _close_quietly(run.ready_fd)
            run.ready_fd = -1

    def _ended(self, run, status):
        """The job's process was reaped: its end (or, when it never got
        ready, the refusal) goes to the executor, and its network namespace
        back to the pool."""
        if run.ready_fd >= 0:
            self._read_ready(run)     # all of it is there now: the writer is gone
        if run.started:
            if os.WIFSIGNALED(status):
                self._send_quietly({"job": run.job, "signal": os.WTERMSIG(status)})
            else:
                self._send_quietly({"job": run.job, "exit": os.WEXITSTATUS(status)})
        else:
            why = run.kill_reason or run.ready.decode("utf-8", "replace")
            if not why:
                why = "the job's process ended while it set itself up (%s)" % _describe(status)
            self._send_quietly({"job": run.job, "refused": why})
        self._drop_ready_pipe(run)
        self._close_pidfd(run)
        if run.netns_fd is not None:
            self._netns_pool.release(run.network, run.netns_fd)
            run.netns_fd = None

    def _close_pidfd(self, run):
        _close_quietly(run.pidfd)
        run.pidfd = -1

    def _send_quietly(self, obj, fds=()):
        # A failure means the executor is gone: the loop sees the socket close.
        try:
            _send(self.sock, obj, fds)
        except OSError:
            pass

    def _receive(self):
        """Handles one datagram; False at end of stream."""
        try:
            data, fds, flags, _ = socket.recv_fds(self.sock, MAX_MSG, 4)
        except InterruptedError:
            return True
        except ConnectionResetError:
            return False
        if not data and not fds:
            return False
        if flags & (socket.MSG_TRUNC | socket.MSG_CTRUNC):
            _close_quietly(*fds)
            message = ("a message from the executor was truncated (over %d bytes or too many "
                       "fds); the zygote cannot read it" % MAX_MSG)
            self.send_error(message)
            raise ProtocolError(message)
        try:
            request = parse_request(data, fds)
        except ProtocolError as e:
            self.send_error(str(e))
            raise
        except Refused as e:
            return self._refuse(self._job_of(data), str(e))
        try:
            task = self.accept(request)
        except Refused as e:
            _close_quietly(request.stdout_fd, request.stderr_fd)
            return self._refuse(request.job, str(e))
        try:
            self._start(request, task)
        except ProtocolError as e:
            self.send_error(str(e))
            raise
        return True

    @staticmethod
    def _job_of(data):
        try:
            return json.loads(data.decode("utf-8")).get("job")
        except (ValueError, AttributeError, UnicodeDecodeError):
            return None

    def _refuse(self, job, why):
        try:
            _send(self.sock, {"job": job, "refused": why})
        except OSError:
            return False
        return True

    def _start(self, request, task):
        """Forks the job's process as PID 1 of a fresh PID namespace: the
        zygote unshares one (its next child is born in it), forks, and
        returns to its own at once."""
        netns_fd = None
        if request.network != "local" and self._netns_pool is not None:
            netns_fd = self._netns_pool.acquire(request.network)
        sys.stdout.flush()
        sys.stderr.flush()
        ready_r = ready_w = -1
        try:
            ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
            unshare(CLONE_NEWPID)
        except OSError as e:
            _close_quietly(ready_r, ready_w, request.stdout_fd, request.stderr_fd)
            self._give_back(request.network, netns_fd)
            self._refuse(request.job, "the zygote cannot make a PID namespace for job %s: %s"
                         % (request.job, e))
            return
        try:
            pid = os.fork()
        except OSError as e:
            pid = -1
            fork_error = e
        if pid == 0:
            _Child(self, request, task, ready_r, ready_w, netns_fd).main()   # does not return
        self._return_to_own_pidns()
        _close_quietly(ready_w, request.stdout_fd, request.stderr_fd)
        if pid < 0:
            _close_quietly(ready_r)
            self._give_back(request.network, netns_fd)
            self._refuse(request.job, "the zygote cannot fork: %s" % fork_error)
            return
        run = _Running(request.job, pid, -1, ready_r, request.network, netns_fd)
        try:
            run.pidfd = os.pidfd_open(pid)
        except OSError as e:
            # Not reaped yet, so the pid is still the job's.
            os.kill(pid, signal.SIGKILL)
            run.kill_reason = "pidfd_open of job %s's process failed: %s" % (request.job, e)
        os.set_blocking(ready_r, False)
        self._running[pid] = run
        self._by_ready_fd[ready_r] = run
        self._poller.register(ready_r, select.POLLIN)

    def _return_to_own_pidns(self):
        try:
            setns(self._pidns_fd, CLONE_NEWPID)
        except OSError as e:
            raise ProtocolError("the zygote cannot return to its own PID namespace after forking "
                                "a job (%s); it stops so that its jobs run cold" % e) from None

    def _give_back(self, network, netns_fd):
        if netns_fd is not None:
            self._netns_pool.release(network, netns_fd)

    def _private_fds(self, keep):
        """The fds the zygote holds for itself (the wake-up pipe, its PID
        namespace, the network namespaces, every job's pidfd and ready
        pipe), but those in keep: a job's process closes them."""
        fds = [self._wake_r, self._wake_w, self._pidns_fd]
        if self._netns_pool is not None:
            fds.extend(self._netns_pool.fds())
        for run in self._running.values():
            fds.extend((run.pidfd, run.ready_fd))
            if run.netns_fd is not None:
                fds.append(run.netns_fd)
        return [fd for fd in fds if fd >= 0 and fd not in keep]

    # -- the zygote's own stdout and stderr --

    def _find_saved_stdio(self):
        """The fds above 2 that duplicate fd 1 or fd 2 (plugins keep such
        copies to write around output capturing): in a job's process they
        must point at the job's stdout and stderr instead."""
        fds = _open_fds()
        out, err = [], []
        for fd in fds:
            if fd <= 2 or fd == self.sock.fileno():
                continue
            if _duplicates(fd, 2):
                err.append(fd)
            elif _duplicates(fd, 1):
                out.append(fd)
        return out, err


def _own_pidns_fd():
    """An fd (close-on-exec) that setns(2) takes to return to the zygote's
    PID namespace: the namespace's file, or without /proc a pidfd of the
    zygote (Linux 5.8+)."""
    try:
        return os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        pass
    fd = os.pidfd_open(os.getpid())
    try:
        setns(fd, CLONE_NEWPID)      # before Linux 5.8, setns(2) takes no pidfd
    except OSError:
        _close_quietly(fd)
        raise
    return fd


def _open_fds():
    try:
        return sorted(int(n) for n in os.listdir("/proc/self/fd"))
    except OSError:
        limit = min(os.sysconf("SC_OPEN_MAX"), 4096)
        fds = []
        for fd in range(limit):
            try:
                os.fstat(fd)
            except OSError:
                continue
            fds.append(fd)
        return fds


def _duplicates(fd, target):
    same = _same_file(fd, target)
    if same is not None:
        return same
    # No kcmp: the same pipe, socket or file counts (a terminal or /dev/null
    # could be opened separately, so those do not).
    try:
        a, b = os.fstat(fd), os.fstat(target)
    except OSError:
        return False
    kinds = (stat.S_ISFIFO(b.st_mode) or stat.S_ISSOCK(b.st_mode) or stat.S_ISREG(b.st_mode))
    return kinds and (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


# ---- the job's process -------------------------------------------------------------------


def _read_all(fd):
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except InterruptedError:
            continue
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _describe(status):
    if os.WIFSIGNALED(status):
        return "killed by signal %d" % os.WTERMSIG(status)
    return "exit status %d" % os.WEXITSTATUS(status)


def _write_all(fd, data):
    while data:
        try:
            n = os.write(fd, data)
        except InterruptedError:
            continue
        data = data[n:]


def _write_file(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        _write_all(fd, text.encode("ascii"))
    finally:
        os.close(fd)


class _Child:
    """Runs in the job's process, forked by the zygote as PID 1 of a fresh
    PID namespace: isolates itself, says it is ready, runs the job and
    exits."""

    def __init__(self, zygote, request, task, ready_r, ready_w, netns_fd):
        self.z = zygote
        self.request = request
        self.task = task
        self.ready_r = ready_r
        self.ready_w = ready_w
        self.netns_fd = netns_fd

    def main(self):
        code = 127
        try:
            try:
                self._setup()
            except BaseException as e:
                msg = "%s" % e
                _write_all(self.ready_w, msg.encode("utf-8", "replace") or b"?")
                os._exit(127)
            _write_all(self.ready_w, b"\0")
            os.close(self.ready_w)
            code = _exit_status(self.z.run, self.request, self.task)
            _flush_std()
            _run_atexit()
        finally:
            _flush_std()
            os._exit(code if isinstance(code, int) else 1)

    def _setup(self):
        z, r = self.z, self.request
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _close_quietly(self.ready_r, *z._private_fds(keep={self.netns_fd}))
        try:
            self._isolate()
        except Exception as e:
            raise OSError("isolating job %s failed: %s" % (r.job, e)) from None
        try:
            self._own_stdio_env_cwd()
            z.child_stdio_ready(r, self.task)
        except Exception as e:
            raise OSError("setting up job %s's process failed: %s" % (r.job, e)) from None

    def _isolate(self):
        """New namespaces for the job, private mounts, a fresh upper over a
        writable root, a fresh /tmp (keeping what lies below it), fresh
        /dev/shm and /dev/mqueue, a new /proc, the network."""
        shape = self.z.shape
        network = self.request.network
        pooled = self.netns_fd is not None
        flags = CLONE_NEWNS
        if not pooled:
            flags |= CLONE_NEWUTS | CLONE_NEWIPC
            if network != "local":
                flags |= CLONE_NEWNET
        unshare(flags)
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        if shape.fresh_root is not None:
            shape.fresh_root.enter()
        if shape.fresh_tmp_needed():
            self._fresh_tmp(shape)
        if shape.shm:
            mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV)
        if shape.proc:
            # By PID 1 of the new PID namespace: the new /proc shows it.
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        if pooled:
            self._enter_pooled_netns(shape)
            return
        if shape.mqueue:
            mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        if network == "loopback":
            loopback_up()

    def _enter_pooled_netns(self, shape):
        """Enters the pooled network namespace, then a user namespace of the
        job's own (mapping the zygote's uid and gid to themselves) with
        mount, UTS and IPC namespaces it owns: the job keeps every
        capability over those, and has none over the network namespace,
        which it can use but not reconfigure for the jobs after it."""
        setns(self.netns_fd, CLONE_NEWNET)
        _close_quietly(self.netns_fd)
        uid, gid = os.geteuid(), os.getegid()
        try:
            unshare(CLONE_NEWUSER)
        except OSError:
            # No user namespace (a limit, a seccomp filter): a fresh network
            # namespace instead, as without a pool.
            unshare(CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC)
            if self.request.network == "loopback":
                loopback_up()
        else:
            _write_file("/proc/self/setgroups", "deny")
            _write_file("/proc/self/uid_map", "%d %d 1" % (uid, uid))
            _write_file("/proc/self/gid_map", "%d %d 1" % (gid, gid))
            unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC)
        if shape.mqueue:
            # The mqueue file system shows the IPC namespace that mounts it.
            mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC)

    def _fresh_tmp(self, shape):
        keep = _outermost(shape.keep + shape.below_tmp([self.request.cwd]))
        held = []
        try:
            for path in keep:
                if shape.proc_fd_dir:
                    held.append((path, os.open(path, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC),
                                 False))
                else:
                    held.append((path, _open_tree(path), True))
            mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV)
            for path, fd, detached in held:
                os.makedirs(path, mode=0o755, exist_ok=True)
                if detached:
                    _move_mount(fd, path)
                else:
                    mount("/proc/self/fd/%d" % fd, path, None, MS_BIND | MS_REC)
        finally:
            _close_quietly(*(fd for _, fd, _ in held))

    def _own_stdio_env_cwd(self):
        r = self.request
        os.setsid()      # its own session, as a cold job is
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        os.dup2(r.stdout_fd, 1)
        os.dup2(r.stderr_fd, 2)
        for fd in self.z._saved_out:
            os.dup2(1, fd, inheritable=False)
        for fd in self.z._saved_err:
            os.dup2(2, fd, inheritable=False)
        _close_quietly(r.stdout_fd, r.stderr_fd)
        self.z.sock.close()
        os.chdir(r.cwd)
        tz = os.environ.get("TZ")
        tmp_vars = [os.environ.get(name) for name in _TEMPFILE_VARS]
        _set_environ(r.environ())
        # What the standard library derived from the zygote's environment
        # and file system: the time zone, and tempfile's directory (found
        # anew when the variables it reads differ or the directory is gone
        # with the zygote's /tmp; finding it writes a file in each
        # candidate, so it is kept when it still holds).
        if os.environ.get("TZ") != tz:
            time.tzset()
        tempfile = sys.modules.get("tempfile")
        if tempfile is not None and tempfile.tempdir is not None:
            if (tmp_vars != [os.environ.get(name) for name in _TEMPFILE_VARS] or
                    not os.path.isdir(tempfile.tempdir)):
                tempfile.tempdir = None


# What tempfile.gettempdir() reads.
_TEMPFILE_VARS = ("TMPDIR", "TEMP", "TMP")


def _set_environ(env):
    """Makes os.environ equal env, touching only the variables that
    differ (a job's environment is mostly the zygote's)."""
    environ = os.environ
    for name in [name for name in environ if name not in env]:
        del environ[name]
    for name, value in env.items():
        if environ.get(name) != value:
            environ[name] = value


def _run_atexit():
    """What the interpreter does at exit: the atexit functions (each one's
    exception is printed by atexit itself)."""
    import atexit
    try:
        atexit._run_exitfuncs()
    except BaseException:
        pass


def _exit_status(fn, *args):
    """fn(*args)'s result as an exit status, with the interpreter's rules
    for SystemExit and for an exception nobody caught."""
    try:
        result = fn(*args)
    except SystemExit as e:
        result = e.code
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            pass
        return 1
    if result is None:
        return 0
    if isinstance(result, int):
        return result & 0xff
    try:
        print(result, file=sys.stderr)
    except BaseException:
        pass
    return 1


def _flush_std():
    for f in (sys.stdout, sys.stderr):
        try:
            if f is not None:
                f.flush()
        except BaseException:
            pass
