/*
 * pytest_job: the job that runs one Python test (book: pytest/spec/).
 *
 * The directives of maelstrom-pytest.toml (or the book's default: stubs
 * for /proc, /sys, /tmp and a few devices, and their mounts) are folded
 * for the test (runners/directives.h), then, after the directives' layers:
 *
 *   1. the host's Python (unless a directive set include_shared_libraries
 *      to false, which here means "bring your own interpreter"):
 *        - a `paths` layer: the interpreter (sys.executable, every symlink
 *          on the way to the real file, and that file) and the single
 *          files of the "python" record;
 *        - a `shared-library-dependencies` layer: the libraries the
 *          interpreter and its extension modules load;
 *        - one `glob` layer per directory of the record (standard library,
 *          site-packages, ...), copying it whole to the same path. Glob
 *          layers are relative to the project directory, so each pattern
 *          climbs out of it (for /usr/lib/python3.11 from /tmp/proj:
 *          "../../usr/lib/python3.11/" followed by "**") and the climb is
 *          stripped again (strip_prefix "../..");
 *   2. the project: a `glob` layer of its Python files and pytest
 *      configuration, `{[!.]**.{py,pyc,pyi},pyproject.toml,pytest.ini,
 *      setup.cfg,tox.ini}` (top-level hidden directories such as .git,
 *      .venv and .maelstrom-pytest are left out), placed at the project's
 *      own absolute path, and a `stubs` layer making that directory;
 *   3. the outcome plugin (maelstrom_pytest_report.py), at its host path.
 *
 * A tmpfs mount at or above the project directory (the default's /tmp,
 * for a project under /tmp) would hide it: such a mount is dropped and the
 * root file system made writable instead (enable_writable_file_system), so
 * the directory stays writable for the test while the project shows.
 *
 * The environment gets one more element (extend = true), applied last:
 *     PYTHONPATH  the helpers directory, then the directives' PYTHONPATH,
 *                 or else the client's:  DIR:$prev{PYTHONPATH:-$env{PYTHONPATH:-}}
 *     PYTEST_XDIST_AUTO_NUM_WORKERS=1, PYTHONDONTWRITEBYTECODE=1
 *     PATH        the directives' PATH, or else the interpreter's directory
 *                 and /usr/local/bin:/usr/bin:/bin
 * The working directory is the directives' when one set it, else the
 * project directory. The program is the interpreter (sys.executable), its
 * arguments
 *     -m pytest --verbose -p no:cacheprovider -p maelstrom_pytest_report
 *     EXTRA-ARGS... FILE::TEST
 * where EXTRA-ARGS are the extra-pytest-args then the
 * extra-pytest-test-args. The timeout is the directives'. A directive's
 * `ignore` makes the test IGNORED instead; a container still drawing on
 * an image is refused (images are not supported yet).
 *
 * These layer specs are the same for every test, so the client builds
 * each once per run, and the layer cache keeps them across runs until a
 * file in them changes.
 */
#ifndef RUNNERS_PYTEST_PYTEST_JOB_H
#define RUNNERS_PYTEST_PYTEST_JOB_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/spec.h"
#include "runners/directives.h"
#include "runners/pytest/pytest_python.h"
#include "runners/testcase.h"

/* The glob that selects the project's files (see above). */
#define PYTEST_PROJECT_GLOB "{[!.]**.{py,pyc,pyi},pyproject.toml,pytest.ini,setup.cfg,tox.ini}"

/* What every job of one run shares (borrowed). */
struct pytest_job_ctx {
	const struct directives *directives;
	const struct pytest_python *python;  /* the interpreter that collected */
	const char *project_dir;    /* real path; also the layer builder's */
	const char *helpers_dir;    /* real path */
	const char *const *args;    /* EXTRA-ARGS (see above) */
	size_t n_args;
};

/* The engine_job_fn of maelstrom-pytest (runners/engine.h); arg is a
 * struct pytest_job_ctx. */
int pytest_job_make(void *arg, const struct test_case *tc, struct job_spec *out, bool *ignored,
		    struct err **err);

/* A glob pattern, relative to project_dir, matching everything below the
 * absolute directory dir, and the strip_prefix that puts the matches back
 * at their absolute paths (NULL when project_dir is "/"). Metacharacters
 * in dir are escaped. Heap strings. */
void pytest_glob_below(const char *project_dir, const char *dir, char **glob, char **strip);

/* Drops the tmpfs mounts that would hide project_dir, making the root
 * file system writable instead (see above). */
void pytest_job_unshadow(struct container_spec *c, const char *project_dir);

/* Appends the layers of steps 1 to 3 above to c->layers. */
void pytest_job_push_layers(struct container_spec *c, const struct pytest_job_ctx *ctx,
			    bool with_python);

#endif
