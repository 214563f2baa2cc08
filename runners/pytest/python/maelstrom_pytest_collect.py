"""maelstrom-pytest's collection helper.

maelstrom-pytest runs this script with the interpreter that will run the
tests, in the project directory:

    python3 maelstrom_pytest_collect.py [PYTEST ARGS...]

It runs pytest's collection (``--collect-only``) in this process, with the
given arguments, and writes JSON records to standard output, one per line:

    {"type": "no-pytest", "error": "..."}    pytest cannot be imported
                                              (the only record; exit 3)
    {"type": "python", ...}                   the interpreter and the files
                                              a container needs to run it
    {"type": "test", ...}                     one per collected test
    {"type": "done", "exit": N}               pytest's exit status

Everything else that would reach standard output (pytest's own report,
prints from conftest.py files) is sent to standard error instead, so
standard output holds nothing but records. The exit status is pytest's
(0: collected, 5: no tests, others: collection failed), or 3 when pytest is
missing.

The "python" record lists what the default container copies from the host:
the interpreter (``executable``, with its directories' symlinks resolved;
``links``, every symlink from it to the real file, and that file; and its
``real_executable``), the
directories of its standard library and of every existing sys.path entry
(``dirs``, none inside another), single files (``files``: a virtual
environment's pyvenv.cfg, zip files on sys.path, and the targets of
symlinks that point out of those directories) and the compiled extension
modules found there (``extensions``), whose shared libraries the container
needs too.
"""
import json
import os
import sys
import sysconfig

# Records go to a private duplicate of standard output; descriptor 1 becomes
# a copy of standard error, so nothing else can end up among the records.
_RECORDS = os.fdopen(os.dup(1), "w", encoding="utf-8", errors="backslashreplace")
sys.stdout.flush()
os.dup2(2, 1)

NO_PYTEST_EXIT = 3


def emit(record):
    _RECORDS.write(json.dumps(record, sort_keys=True))
    _RECORDS.write("\n")
    _RECORDS.flush()


# ---- the interpreter ----------------------------------------------------------


def _inside(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


def _walk_dir(top, roots, extensions, files, more_dirs):
    """Finds the extension modules under top, and symlinks leading out of
    every root (whose targets must be copied as well)."""
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                target = os.path.realpath(path)
                if not os.path.exists(target) or any(_inside(target, r) for r in roots):
                    continue
                if os.path.isdir(target):
                    more_dirs.append(target)
                else:
                    files.append(target)
                    if name.endswith(".so") or ".so." in name:
                        extensions.append(target)
            elif name in filenames and (name.endswith(".so") or ".so." in name):
                extensions.append(path)


def _dedup(paths):
    seen, out = set(), []
    for p in paths:
        if p not in seen:
            seen.add(p)
            out.append(p)
    return out


def _dir_resolved(path):
    """path with its directories' symlinks resolved, not its own."""
    head, tail = os.path.split(os.path.abspath(path))
    return os.path.join(os.path.realpath(head), tail)


def _link_chain(path):
    """Every hop from path to the file it finally names: symlinks and the
    file, each with its directories resolved, so that placing them all at
    their paths rebuilds the same chain."""
    chain, seen = [], set()
    current = _dir_resolved(path)
    while current not in seen:
        seen.add(current)
        chain.append(current)
        if not os.path.islink(current):
            break
        target = os.readlink(current)
        current = _dir_resolved(os.path.join(os.path.dirname(current), target))
    return chain


def python_record(project_dir, helper_dir):
    candidates = []
    for key in ("stdlib", "platstdlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            candidates.append(path)
    candidates.append(os.path.dirname(os.__file__))
    candidates.extend(sys.path)
    dirs, files = [], []
    for entry in candidates:
        if not entry:
            continue
        path = os.path.realpath(entry)
        if path in (helper_dir, "/") or _inside(project_dir, path):
            continue   # the project (copied by its own layer) or one of its parents
        if os.path.isdir(path):
            dirs.append(path)
        elif os.path.isfile(path):
            files.append(path)   # a zip file on sys.path
    dirs = _dedup(dirs)
    # Outer directories only: a directory inside another is copied with it.
    dirs = [d for d in dirs if not any(o != d and _inside(d, o) for o in dirs)]
    extensions, more_dirs = [], []
    todo = list(dirs)
    while todo:
        top = todo.pop(0)
        _walk_dir(top, dirs, extensions, files, more_dirs)
        for extra in more_dirs:
            if not any(_inside(extra, d) for d in dirs):
                dirs.append(extra)
                todo.append(extra)
        more_dirs.clear()
    if sys.prefix != sys.base_prefix:
        cfg = os.path.join(sys.prefix, "pyvenv.cfg")
        if os.path.isfile(cfg):
            files.append(cfg)
    executable = _dir_resolved(sys.executable)
    return {
        "type": "python",
        "executable": executable,
        "links": _link_chain(executable),
        "real_executable": os.path.realpath(sys.executable),
        "version": "%d.%d.%d" % sys.version_info[:3],
        "prefix": sys.prefix,
        "dirs": dirs,
        "files": _dedup(files),
        "extensions": _dedup(extensions),
    }


# ---- the tests ------------------------------------------------------------------


def _package_of(item, rel_file):
    module = getattr(item, "module", None)
    package = getattr(module, "__package__", None) if module is not None else None
    if package:
        return package
    # Not in a package (pytest imported the file as a top-level module): the
    # directory it is in, as a dotted path.
    directory = os.path.dirname(rel_file)
    if not directory or directory.startswith(".."):
        return ""
    return directory.replace(os.sep, ".")


def _skip_state(item):
    """Whether pytest would skip the test at setup, from its skip and
    skipif markers (evaluated here, on the host), and why."""
    try:
        from _pytest.skipping import evaluate_skip_marks
        skipped = evaluate_skip_marks(item)
    except Exception:   # a private API, or a condition that fails here
        return False, ""
    if skipped is None:
        return False, ""
    return True, getattr(skipped, "reason", "") or ""


def test_record(item, project_dir):
    node_id = item.nodeid
    head, sep, rest = node_id.partition("::")
    path = getattr(item, "path", None) or getattr(item, "fspath", None)
    if path is not None:
        rel_file = os.path.relpath(str(path), project_dir)
    else:
        rel_file = head
    markers = _dedup(m.name for m in item.iter_markers())
    skip, reason = _skip_state(item)
    return {
        "type": "test",
        "node_id": node_id,
        "name": rest if sep else item.name,
        "file": rel_file,
        "package": _package_of(item, rel_file),
        "markers": markers,
        "skip": skip,
        "skip_reason": reason,
        # What to pass to pytest, from the project directory, to run it.
        "run_arg": rel_file + sep + rest,
    }


class Collector:
    def __init__(self, project_dir):
        self.project_dir = project_dir

    def pytest_collection_finish(self, session):
        for item in session.items:
            emit(test_record(item, self.project_dir))


def main(argv):
    try:
        import pytest
    except BaseException as e:   # ImportError, or a broken installation
        emit({"type": "no-pytest", "error": "%s: %s" % (type(e).__name__, e)})
        return NO_PYTEST_EXIT
    project_dir = os.path.realpath(os.getcwd())
    helper_dir = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))
    record = python_record(project_dir, helper_dir)
    record["pytest_version"] = getattr(pytest, "__version__", "")
    emit(record)
    # Import like `python -m pytest` (which the tests run with): the project
    # directory first on sys.path, not this script's directory.
    if sys.path and os.path.realpath(sys.path[0] or ".") == helper_dir:
        sys.path[0] = project_dir
    else:
        sys.path.insert(0, project_dir)
    args = ["--collect-only", "-qq", "-p", "no:cacheprovider"] + argv
    code = pytest.main(args, plugins=[Collector(project_dir)])
    code = int(code)
    emit({"type": "done", "exit": code})
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
