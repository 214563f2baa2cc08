/*
 * pytest_python: the Python side of maelstrom-pytest, seen from C: where
 * the helper scripts are, which interpreters to try, and the interpreter
 * the collection helper found.
 *
 * The helpers (runners/pytest/python/ in the source tree) are
 * maelstrom_pytest_collect.py, run on the host to collect the tests,
 * maelstrom_pytest_report.py, the pytest plugin that reports each test's
 * outcome from inside its container, and the fork server's two modules
 * (maelstrom_fork_server.py, the zygote protocol, and
 * maelstrom_pytest_zygote.py, the pytest plugin that serves it; see
 * runners/pytest/pytest_job.h). They are looked up, in order:
 *   1. $MAELSTROM_PYTEST_HELPERS, when set (it must hold them);
 *   2. <dir of the executable>/../share/maelstrom/python (installed);
 *   3. <dir of the executable>/../../runners/pytest/python (run from a
 *      build directory of the source tree, e.g. build/bin).
 * The executable is found through /proc/self/exe.
 *
 * Interpreters: the configured `python` value when set (only it), else
 * `python3` (found on PATH) and then /usr/bin/python3, since the first
 * python3 on PATH may lack pytest (a pyenv or virtualenv build) while the
 * distribution's has it. The collection helper tells which one works.
 *
 * struct pytest_python is the helper's "python" record: the interpreter
 * and everything the default container copies from the host to run it
 * (see maelstrom_pytest_collect.py). It owns its strings.
 */
#ifndef RUNNERS_PYTEST_PYTHON_H
#define RUNNERS_PYTEST_PYTHON_H

#include <jansson.h>
#include <stddef.h>

#include "core/err.h"

#define PYTEST_COLLECT_SCRIPT "maelstrom_pytest_collect.py"
#define PYTEST_REPORT_PLUGIN "maelstrom_pytest_report"
#define PYTEST_ZYGOTE_PLUGIN "maelstrom_pytest_zygote"
#define PYTEST_FORK_SERVER_MODULE "maelstrom_fork_server"
#define PYTEST_HELPERS_ENV "MAELSTROM_PYTEST_HELPERS"

struct pytest_python {
	char *executable;        /* sys.executable, its directories resolved */
	char *real_executable;   /* its real path (symlinks resolved) */
	char **links;            /* every hop from executable to the real file
				    (symlinks, then the file); NULL-terminated */
	char *version;           /* "3.11.2" */
	char *pytest_version;    /* "7.2.1", or "" */
	char **dirs;             /* directories copied whole; NULL-terminated */
	char **files;            /* single files copied; NULL-terminated */
	char **extensions;       /* compiled modules whose libraries are needed */
};

/* Fills *out from a "python" record (a JSON object). Fails, naming the
 * field, when a required field is missing or has the wrong type, or a path
 * is not absolute. *out is released on failure. */
int pytest_python_from_json(const json_t *rec, struct pytest_python *out, struct err **err);

/* The "python" record of p (a new reference): what pytest_python_from_json
 * reads back into an equal struct. */
json_t *pytest_python_to_json(const struct pytest_python *p);

/* Frees what p owns and zeroes it. Safe on a zeroed struct. */
void pytest_python_release(struct pytest_python *p);

/* Drops the extension modules whose shared libraries cannot all be found
 * on this machine (or that are not x86-64 ELF objects): a layer of their
 * libraries could not be built, and a module that cannot load on the host
 * cannot load in a container either. Returns how many were dropped. */
size_t pytest_python_check_extensions(struct pytest_python *p);

/* The helpers directory (see above), as a heap real path. Fails with a
 * message naming every place looked at and how to point at the helpers. */
int pytest_helpers_dir(char **out, struct err **err);

/* The interpreters to try (see above): a heap NULL-terminated vector
 * (strv_free). configured may be NULL or "". */
char **pytest_python_candidates(const char *configured);

#endif
