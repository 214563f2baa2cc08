/*
 * pytest_job: the job that runs one Python test (book: pytest/spec/).
 *
 * The directives of maelstrom-pytest.toml (or the book's default: stubs
 * for /proc, /sys, /tmp and a few devices, and their mounts) are folded
 * for the test (runners/directives.h), then, after the directives' layers:
 *
 *   1. the host's Python (unless include_shared_libraries is false, which
 *      here means "bring your own interpreter"; that is its default when
 *      the container comes from an image, book: pytest/spec/):
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
 *   3. the outcome plugin (maelstrom_pytest_report.py), at its host path,
 *      and, when the run uses a fork server (below), the zygote's two
 *      modules (maelstrom_fork_server.py, maelstrom_pytest_zygote.py) with
 *      it, for every test of the run alike, so that warm and cold tests
 *      share one container.
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
 * With an image whose `use` holds `layers`, these layers go on top of the
 * image's (the end of `added_layers`) instead of into `layers`.
 * The working directory is the directives' when one set it, else the
 * project directory. The program is the interpreter (sys.executable), or
 * with an image and without the host's Python "python3", found on the
 * job's PATH (the image's, when its `use` holds `environment`); its
 * arguments
 *     -m pytest --verbose -p no:cacheprovider -p maelstrom_pytest_report
 *     EXTRA-ARGS... FILE::TEST
 * where EXTRA-ARGS are the extra-pytest-args then the
 * extra-pytest-test-args. The timeout is the directives'. A directive's
 * `ignore` makes the test IGNORED instead.
 *
 * Warm containers (container/forkserver.h). Unless the `fork-server`
 * configuration value is false (ctx->fork_server) or a directive says
 * `fork_server = false` for the test (an extension, runners/directives.h),
 * the job also names a fork server, the same for every test of the run:
 * the same program, with the arguments
 *     -m pytest -p no:cacheprovider -p maelstrom_pytest_report
 *     -p maelstrom_pytest_zygote --verbose EXTRA-ARGS... [FILE...]
 * That zygote imports pytest, loads the conftests and collects once; each
 * test is then forked from it. What it collects:
 *   - when the host's collection is given nothing the tests are not
 *     (ctx->zygote_collects_default: no collect-from-module, no
 *     extra-pytest-collect-args), no FILE: pytest's own default (the
 *     `testpaths` of the project's configuration, else the working
 *     directory), which is what the host collects. The zygote's argv then
 *     does not depend on the collection's result, so it can be started
 *     while the host still collects (pytest_job_prewarm);
 *   - otherwise FILE... are the distinct files of the run's selected tests
 *     (ctx->files, from pytest_job_files, known once the host collected;
 *     none: every test runs cold). Giving the zygote the collection's own
 *     options instead would make its arguments differ from the tests'
 *     EXTRA-ARGS, and maelstrom_pytest_zygote refuses such tests.
 * The job keeps its cold program and arguments: an executor that cannot
 * fork it (the zygote does not know the test, or broke) runs it cold, with
 * the same result.
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
	bool fork_server;           /* the `fork-server` value: warm containers */
	bool zygote_collects_default; /* the zygote gets no FILE (see above) */
	const char *const *files;   /* otherwise, the zygote's FILE...
				       (pytest_job_files); none: every test
				       runs cold */
	size_t n_files;
};

/* The engine_job_fn of maelstrom-pytest (runners/engine.h); arg is a
 * struct pytest_job_ctx. */
int pytest_job_make(void *arg, const struct test_case *tc, struct job_spec *out, bool *ignored,
		    struct err **err);

/* The job that starts the run's zygote ahead of the tests (client_prewarm,
 * runners/client.h), while the host still collects: the job a test gets
 * that no directive's filter singles out, i.e. the directives applied to
 * a test whose every field (name, file, package, node_id, markers) is
 * empty, without a test to run. Tests whose directives give them another
 * container, environment or working directory name another zygote, which
 * their first job starts (the prewarmed one, unused, idles out). Returns
 * 1 with *out filled; 0, leaving *out alone, when there is nothing to
 * start ahead: fork servers are off, the zygote's FILE... are only known
 * after collection (!ctx->zygote_collects_default), no interpreter is
 * known yet, or that test would be ignored or run cold; -1 with *err when
 * the directives fail for it. */
int pytest_job_prewarm(const struct pytest_job_ctx *ctx, struct job_spec *out, struct err **err);

/* The test file part of a collected test's run argument (what comes
 * before the first "::"), heap-allocated; NULL for a test maelstrom-pytest
 * did not collect. */
char *pytest_job_file_of(const struct test_case *tc);

/* The zygote's FILE... for the tests[i] for which selected(arg, tests[i])
 * holds (every test when selected is NULL): each one's pytest_job_file_of,
 * distinct, sorted by strcmp. A NULL-terminated heap strv (core/strv.h). */
char **pytest_job_files(struct test_case *const *tests, size_t n,
			bool (*selected)(void *arg, const struct test_case *tc), void *arg);

/* A glob pattern, relative to project_dir, matching everything below the
 * absolute directory dir, and the strip_prefix that puts the matches back
 * at their absolute paths (NULL when project_dir is "/"). Metacharacters
 * in dir are escaped. Heap strings. */
void pytest_glob_below(const char *project_dir, const char *dir, char **glob, char **strip);

/* Drops the tmpfs mounts that would hide project_dir, making the root
 * file system writable instead (see above). */
void pytest_job_unshadow(struct container_spec *c, const char *project_dir);

/* Appends the layers of steps 1 to 3 above to c->layers (with the
 * zygote's modules when ctx->fork_server). */
void pytest_job_push_layers(struct container_spec *c, const struct pytest_job_ctx *ctx,
			    bool with_python);

#endif
