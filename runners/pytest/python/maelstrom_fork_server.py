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
  - the zygote forks a helper process (A), closes its copies of the job's
    two fds and goes back to its loop. A SIGCHLD handler only wakes the
    loop up (a self-pipe): the loop reaps its helpers with WNOHANG, so it
    never blocks on a child;
  - A unshares the mount, PID, UTS and IPC namespaces (and the network
    namespace unless the job's network is "local") and makes every mount
    private. When the root file system is writable, A gives the job a
    root of its own (a "fresh upper", below): a cold container's writable
    root starts empty, and a file an earlier job wrote must not show.
    A then mounts a fresh tmpfs on /tmp when /tmp is a directory that the
    fresh upper does not already make fresh (the directories the zygote
    and the job need that lie below /tmp -- the working directories,
    sys.path, sys.prefix -- are bound back over it), a fresh tmpfs on
    /dev/shm and a new mqueue on /dev/mqueue when those are such mounts,
    brings loopback up for "loopback", then forks the job's process (B),
    the PID 1 of the new PID namespace;
  - B starts its own session, mounts a new /proc when /proc is a proc
    mount, takes stdin from /dev/null and stdout and stderr from the job's
    fds (and every duplicate of the zygote's own stdout or stderr that the
    zygote holds now points at the job's instead), closes the zygote's
    socket, moves to the job's working directory and environment, calls
    child_stdio_ready() and tells A, over a pipe, that it is ready;
  - A sends {"job": ID, "pid": B} with a pidfd of B, waits for B and sends
    {"job": ID, "exit": CODE} or {"job": ID, "signal": SIG}. When anything
    fails before B is ready, A answers {"job": ID, "refused": "why"}
    instead (never after the "pid" message), and the job runs cold;
  - B runs run(), flushes sys.stdout and sys.stderr, runs the atexit
    functions and leaves with os._exit(status): everything it started dies
    with it (it is PID 1 of its namespace).

The fresh upper. The zygote finds once whether "/" is mounted read-only
(statvfs) and, when it is not, which mounts lie on the root
(/proc/self/mountinfo). For each job, A then clones those mounts
(open_tree), mounts a private tmpfs on a directory that nobody sees any
more once A has moved out (/tmp when it exists), makes upper/, work/ and
root/ in it, mounts an overlay of the current root (lowerdir=/) with that
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

If a helper A dies without reporting its job (killed, out of memory), the
zygote can no longer keep its promise of one result per job: it sends
{"error": ...} and exits, and the executor runs that zygote's jobs cold.

The zygote is expected to be uid 0 with every capability in its own user
namespace (as in a Maelstrom container); without that, A's unshare fails
and every job is refused, so it runs cold.

Only the standard library is used (Python 3.9+: socket.send_fds,
os.pidfd_open); unshare(2), mount(2), umount2(2), pivot_root(2),
open_tree(2), move_mount(2) and kcmp(2) are called through ctypes.
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
import time
import traceback

FD_ENV = "MAELSTROM_FORK_SERVER_FD"
MAX_MSG = 256 << 10      # FORKSERVER_MAX_MSG

NETWORKS = ("disabled", "loopback", "local")

# <linux/sched.h>
CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
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
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.syscall.restype = ctypes.c_long


class Refused(Exception):
    """Raised by Zygote.accept(): the job cannot be served warm."""


class ProtocolError(Exception):
    """The executor sent something this zygote cannot read."""


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
        """True when A must mount a fresh tmpfs on /tmp: /tmp is a
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


# Where A may mount its scratch tmpfs: any directory will do, as the mounts
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
    zygote; enter() runs in each A."""

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
        """In A, in a mount namespace of its own whose mounts are private:
        makes the fresh root A's root (and working directory). Raises
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
        raises what a job's A would meet."""
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


class Zygote:
    """A fork server on sock (see the module's documentation). Subclasses
    override accept(), run() and optionally child_stdio_ready(); keep
    names directories below /tmp that jobs need besides the defaults."""

    def __init__(self, sock, keep=()):
        self.sock = sock
        self.shape = Shape(keep)
        self._helpers = {}       # pid of a helper A -> job id
        self._wake_r = self._wake_w = -1
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
        executor sends something that is not a request (after telling it)."""
        self._saved_out, self._saved_err = self._find_saved_stdio()
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
        poller = select.poll()
        poller.register(self.sock.fileno(), select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        while True:
            for fd, _ in poller.poll():
                if fd == self._wake_r:
                    self._drain_wakeups()
                    self._reap()
                elif not self._receive():
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
            job = self._helpers.pop(pid, None)
            if job is None:
                continue     # an orphan that ended up with us (we are PID 1)
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
                continue
            why = ("killed by signal %d" % os.WTERMSIG(status) if os.WIFSIGNALED(status)
                   else "exit status %d" % os.WEXITSTATUS(status))
            message = ("the helper process of job %s died (%s) before reporting the job's "
                       "end; this zygote stops so that its jobs run cold" % (job, why))
            self.send_error(message)
            raise ProtocolError(message)

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
        self._start(request, task)
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
        sys.stdout.flush()
        sys.stderr.flush()
        try:
            pid = os.fork()
        except OSError as e:
            _close_quietly(request.stdout_fd, request.stderr_fd)
            self._refuse(request.job, "the zygote cannot fork: %s" % e)
            return
        if pid == 0:
            code = 1
            try:
                code = _Helper(self, request, task).main()
            except BaseException:
                traceback.print_exc()
            finally:
                _flush_std()
                os._exit(code)
        self._helpers[pid] = request.job
        _close_quietly(request.stdout_fd, request.stderr_fd)

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


# ---- the helper (A) and the job's process (B) ------------------------------------------


class _Helper:
    """Runs in A, the zygote's fork for one job."""

    def __init__(self, zygote, request, task):
        self.z = zygote
        self.request = request
        self.task = task

    def main(self):
        """A's whole life; returns its exit status (0 once the job's end,
        or a refusal, is reported)."""
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        _close_quietly(self.z._wake_r, self.z._wake_w)
        job = self.request.job
        try:
            self._isolate()
            ready_r, ready_w = os.pipe2(os.O_CLOEXEC)
            pid = os.fork()
        except Exception as e:
            return self._refuse("isolating job %s failed: %s" % (job, e))
        if pid == 0:
            os.close(ready_r)
            _Job(self.z, self.request, self.task, ready_w).main()   # does not return
        os.close(ready_w)
        _close_quietly(self.request.stdout_fd, self.request.stderr_fd)
        try:
            pidfd = os.pidfd_open(pid)
        except OSError as e:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return self._refuse("pidfd_open of job %s's process failed: %s" % (job, e))
        failure = _read_all(ready_r)
        os.close(ready_r)
        if failure != b"\0":
            _, status = os.waitpid(pid, 0)
            if failure:
                why = failure.decode("utf-8", "replace")
            else:
                why = "the job's process ended while it set itself up (%s)" % _describe(status)
            return self._refuse(why)
        try:
            _send(self.z.sock, {"job": job, "pid": pid}, [pidfd])
        except OSError:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return 1
        os.close(pidfd)
        while True:
            try:
                _, status = os.waitpid(pid, 0)
                break
            except InterruptedError:
                continue
        if os.WIFSIGNALED(status):
            end = {"job": job, "signal": os.WTERMSIG(status)}
        else:
            end = {"job": job, "exit": os.WEXITSTATUS(status)}
        try:
            _send(self.z.sock, end)
        except OSError:
            return 1
        return 0

    def _refuse(self, why):
        _close_quietly(self.request.stdout_fd, self.request.stderr_fd)
        try:
            _send(self.z.sock, {"job": self.request.job, "refused": why})
        except OSError:
            return 1
        return 0

    def _isolate(self):
        """New namespaces for the job, private mounts, a fresh upper over a
        writable root, a fresh /tmp (keeping what lies below it), fresh
        /dev/shm and /dev/mqueue, loopback."""
        shape = self.z.shape
        flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC
        if self.request.network != "local":
            flags |= CLONE_NEWNET
        unshare(flags)
        mount(None, "/", None, MS_REC | MS_PRIVATE)
        if shape.fresh_root is not None:
            shape.fresh_root.enter()
        if shape.fresh_tmp_needed():
            self._fresh_tmp(shape)
        if shape.shm:
            mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV)
        if shape.mqueue:
            mount("mqueue", "/dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        if self.request.network == "loopback":
            loopback_up()

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


class _Job:
    """Runs in B, the job's process: PID 1 of its own PID namespace."""

    def __init__(self, zygote, request, task, ready_w):
        self.z = zygote
        self.request = request
        self.task = task
        self.ready_w = ready_w

    def main(self):
        code = 127
        try:
            try:
                self._setup()
            except BaseException as e:
                msg = "setting up job %s's process failed: %s" % (self.request.job, e)
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
        r = self.request
        os.setsid()      # its own session, as a cold job is
        if self.z.shape.proc:
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
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
        os.environ.clear()
        os.environ.update(r.environ())
        # What the standard library derived from the zygote's environment
        # and file system: the time zone, and tempfile's directory (the
        # zygote's may be gone with its /tmp).
        if os.environ.get("TZ") != tz:
            time.tzset()
        if "tempfile" in sys.modules:
            sys.modules["tempfile"].tempdir = None
        self.z.child_stdio_ready(r, self.task)


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
