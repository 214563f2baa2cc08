"""maelstrom-pytest's zygote: pytest as a fork server (container/forkserver.h).

The executor starts it once in the tests' container, in their environment
and working directory, with the zygote's socket on the fd named by
$MAELSTROM_FORK_SERVER_FD:

    python -m pytest -p no:cacheprovider -p maelstrom_pytest_report \\
        -p maelstrom_pytest_zygote --verbose EXTRA-ARGS... FILE...

pytest imports the conftest files and collects FILE... as usual; then,
instead of running the tests, this plugin serves (maelstrom_fork_server):
each request carries the argv of a cold test job,

    python -m pytest --verbose -p no:cacheprovider -p maelstrom_pytest_report \\
        EXTRA-ARGS... NODE_ID

and a forked, isolated child runs NODE_ID's item -- and only it -- with
pytest's own run-test protocol, fixtures set up and torn down in the child.
The child then finishes the session as a cold pytest would: the header
("test session starts", "collected 1 item"), the test's line, the terminal
summary (failure tracebacks), the outcome line of maelstrom_pytest_report
and pytest's exit status for that one test (0 passed, 1 failed, 2
interrupted, 3 internal error).

A request is refused (the job then runs cold) when NODE_ID was not
collected here (its file failed to import, or was not among FILE...), when
its EXTRA-ARGS, interpreter or working directory differ from the zygote's,
or when its argv is not `python -m pytest ...`. NODE_ID may be pytest's
node id or the same with the file relative to the working directory.

The zygote never runs a test itself. When the executor closes the socket it
exits at once with status 0 (an error in the protocol: 1). Without
$MAELSTROM_FORK_SERVER_FD this plugin does nothing, and pytest runs as
usual.
"""
import os
import sys

import pytest

import maelstrom_fork_server as mfs

# Arguments that the zygote's and a job's command lines both carry in some
# order, and that are left out when comparing them.
_FIXED_FLAGS = ("--verbose",)
_FIXED_PLUGINS = ("no:cacheprovider", "maelstrom_pytest_report", "maelstrom_pytest_zygote")

_fd = os.environ.get(mfs.FD_ENV)
if _fd is not None:
    # As early as possible: no process the conftest files start may inherit it.
    try:
        os.set_inheritable(int(_fd), False)
    except (ValueError, OSError):
        pass    # pytest_configure says what is wrong with it

_sock = None


def _strip_fixed(args):
    out, i = [], 0
    while i < len(args):
        if args[i] in _FIXED_FLAGS:
            i += 1
        elif args[i] == "-p" and i + 1 < len(args) and args[i + 1] in _FIXED_PLUGINS:
            i += 2
        else:
            out.append(args[i])
            i += 1
    return out


def _zygote_options(config):
    """EXTRA-ARGS of the zygote's command line: its arguments without the
    fixed ones and without the trailing files."""
    args = _strip_fixed(list(config.invocation_params.args))
    files = list(config.args)
    while args and files and args[-1] == files[-1]:
        args.pop()
        files.pop()
    return args


def _item_path(item):
    path = getattr(item, "path", None)
    if path is None:
        path = getattr(item, "fspath", None)
    return None if path is None else str(path)


class PytestZygote(mfs.Zygote):
    def __init__(self, sock, session):
        self.session = session
        self.config = session.config
        self.start_dir = str(self.config.invocation_params.dir)
        self.options = _zygote_options(self.config)
        self.python = os.path.realpath(sys.executable)
        self.items = {}
        keep = {str(self.config.rootpath), self.start_dir}
        for item in session.items:
            self.items[item.nodeid] = item
            path = _item_path(item)
            if path is None:
                continue
            keep.add(os.path.dirname(path))
            _, sep, rest = item.nodeid.partition("::")
            rel = os.path.relpath(path, self.start_dir)
            self.items.setdefault(rel + sep + rest, item)
        super().__init__(sock, keep=sorted(keep))
        self.header_lines = self._report_header()

    def _report_header(self):
        """The header lines of the plugins (rootdir, plugins, ...), found
        once: plugins may read package metadata for them, which takes
        longer than a small test."""
        tr = self.config.pluginmanager.getplugin("terminalreporter")
        if tr is None:
            return None
        try:
            return self.config.hook.pytest_report_header(config=self.config,
                                                         start_path=tr.startpath)
        except (TypeError, AttributeError):   # an older pytest: no caching
            return None

    # -- in the zygote --

    def accept(self, request):
        argv = request.argv
        if len(argv) < 4 or argv[1:3] != ["-m", "pytest"]:
            raise mfs.Refused("job %s does not run `python -m pytest ... NODE_ID` (argv %r); "
                              "only such jobs can be forked from the pytest zygote"
                              % (request.job, argv[:4]))
        if os.path.isabs(argv[0]) and os.path.realpath(argv[0]) != self.python:
            raise mfs.Refused("job %s runs %s, the zygote runs %s"
                              % (request.job, argv[0], self.python))
        options = _strip_fixed(argv[3:-1])
        if options != self.options:
            raise mfs.Refused("job %s's pytest arguments %r differ from the zygote's %r"
                              % (request.job, options, self.options))
        if os.path.realpath(request.cwd) != self.start_dir:
            raise mfs.Refused("job %s runs in %s, the zygote in %s"
                              % (request.job, request.cwd, self.start_dir))
        item = self.items.get(argv[-1])
        if item is None:
            raise mfs.Refused("%s was not collected by the zygote (%d tests collected)"
                              % (argv[-1], len(self.session.items)))
        return item

    # -- in the test's process --

    def child_stdio_ready(self, request, item):
        # Output capturing starts again on the test's own fds 0, 1 and 2
        # (the zygote stopped it), suspended as between two tests.
        capman = self.config.pluginmanager.getplugin("capturemanager")
        if capman is not None:
            capman.start_global_capturing()
            capman.suspend_global_capture()

    def run(self, request, item):
        sys.argv = [sys.argv[0]] + list(request.argv[3:])
        self._one_test_session(item)
        return int(self._run_protocol(item))

    def _one_test_session(self, item):
        """Makes the session and the terminal reporter look as they would
        in a cold pytest that collected this one item, and writes the same
        header."""
        session = self.session
        session.items = [item]
        session.testscollected = 1
        session.testsfailed = 0
        session.shouldfail = False
        session.shouldstop = False
        tr = self.config.pluginmanager.getplugin("terminalreporter")
        if tr is None:
            return
        module = item.nodeid.partition("::")[0]
        warnings = [w for w in tr.stats.get("warnings", [])
                    if not getattr(w, "nodeid", "") or
                    w.nodeid.partition("::")[0] == module]
        tr.stats = {"warnings": warnings} if warnings else {}
        tr._main_color = None      # recomputed from the new stats
        tr._known_types = None
        tr._numcollected = 1
        tr._progress_nodeids_reported = set()
        tr.currentfspath = None
        if self.header_lines is not None:
            lines = self.header_lines
            self.config.hook.pytest_report_header = lambda **kwargs: lines
        for hook in ("pytest_sessionstart", "pytest_collection", "pytest_collection_finish"):
            method = getattr(tr, hook, None)
            if method is None:
                continue
            if hook == "pytest_collection":
                method()
            else:
                method(session)

    def _run_protocol(self, item):
        """The one test, then the end of the session, with the outcomes of
        pytest's own wrap_session for what can go wrong."""
        session, config = self.session, self.config
        session.exitstatus = pytest.ExitCode.OK
        try:
            try:
                item.ihook.pytest_runtest_protocol(item=item, nextitem=None)
                if session.shouldfail:
                    raise session.Failed(session.shouldfail)
                if session.shouldstop:
                    raise session.Interrupted(session.shouldstop)
                if session.testsfailed:
                    session.exitstatus = pytest.ExitCode.TESTS_FAILED
            except session.Failed:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
            except (KeyboardInterrupt, pytest.exit.Exception):
                excinfo = pytest.ExceptionInfo.from_current()
                status = pytest.ExitCode.INTERRUPTED
                if isinstance(excinfo.value, pytest.exit.Exception):
                    if excinfo.value.returncode is not None:
                        status = excinfo.value.returncode
                config.hook.pytest_keyboard_interrupt(excinfo=excinfo)
                session.exitstatus = status
            except BaseException:
                session.exitstatus = pytest.ExitCode.INTERNAL_ERROR
                excinfo = pytest.ExceptionInfo.from_current()
                try:
                    config.notify_exception(excinfo, config.option)
                except pytest.exit.Exception as exc:
                    if exc.returncode is not None:
                        session.exitstatus = exc.returncode
                    sys.stderr.write("%s: %s\n" % (type(exc).__name__, exc))
                else:
                    if isinstance(excinfo.value, SystemExit):
                        sys.stderr.write("mainloop: caught unexpected SystemExit!\n")
        finally:
            excinfo = None
            try:
                config.hook.pytest_sessionfinish(session=session, exitstatus=session.exitstatus)
            except pytest.exit.Exception as exc:
                if exc.returncode is not None:
                    session.exitstatus = exc.returncode
                sys.stderr.write("%s: %s\n" % (type(exc).__name__, exc))
            config._ensure_unconfigure()
        return session.exitstatus


def pytest_configure(config):
    global _sock
    try:
        _sock = mfs.socket_from_env()
    except mfs.ProtocolError as e:
        raise pytest.UsageError("maelstrom_pytest_zygote: %s" % e)
    if _sock is not None:
        os.environ.pop(mfs.FD_ENV, None)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session):
    if _sock is None or session.config.option.collectonly:
        return None
    zygote = PytestZygote(_sock, session)
    # Capturing stays off in the zygote; each test's process starts it
    # again on its own fds (child_stdio_ready).
    capman = session.config.pluginmanager.getplugin("capturemanager")
    if capman is not None:
        capman.stop_global_capturing()
    code = 0
    try:
        zygote.serve()
    except mfs.ProtocolError as e:
        sys.stderr.write("maelstrom_pytest_zygote: %s\n" % e)
        code = 1
    except BaseException:
        import traceback
        traceback.print_exc()
        zygote.send_error("the pytest zygote failed: %s" % (sys.exc_info()[1],))
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
