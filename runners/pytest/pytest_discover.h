/*
 * pytest_discover: maelstrom-pytest's discovery, from a project directory
 * to test cases in the engine:
 *
 *   1. collect (runners/pytest/pytest_collect.h) with the candidate
 *      interpreters until one has pytest;
 *   2. adopt that interpreter for the jobs (its extension modules whose
 *      libraries are missing are left out, see pytest_python.h) as soon
 *      as it is known, before pytest collects; then, with the
 *      `fork-server` value true and a client (pytest_discover_set_client),
 *      start the run's zygote at once (pytest_job_prewarm, client_prewarm),
 *      so that its start-up (container, Python, pytest, the test modules)
 *      overlaps the host's collection instead of following it. Only when
 *      the zygote collects pytest's default (runners/pytest/pytest_job.h).
 *      Earlier still, with opts->python_cache: before the first collection
 *      starts, the interpreter the last run adopted (when this run may try
 *      it) is adopted and the zygote started with it; when the helper's
 *      record then says the same, nothing more happens, else the fresh
 *      record is adopted, kept for the next run, and its zygote started
 *      (the guessed one idles out);
 *   3. otherwise, with the `fork-server` value true, give the jobs the
 *      files of the tests the engine's filters select (pytest_job_files),
 *      the run's zygote's FILE..., and its first job starts it;
 *   4. hand every collected test to the engine in one batch (so the whole
 *      listing is ordered the book's way), report a failed collection with
 *      engine_discovery_failed (pytest's report, or the interpreters tried;
 *      whatever was collected still runs), then engine_discovery_done.
 *
 * With --watch, pytest_discover_rerun reloads maelstrom-pytest.toml and
 * collects again, trying the interpreter that worked last time first (and
 * starts the zygote ahead again: when nothing it depends on changed, the
 * executor still has it, and nothing is started).
 *
 * At log level debug, "collected N tests" marks the end of a collection.
 *
 * Ownership: the discovery borrows the reactor, engine and options, which
 * must outlive it; it owns the directives it was given or reloaded and the
 * interpreter's description, which the jobs borrow (valid until the next
 * rerun's collection ends, when no job of the previous run is left).
 */
#ifndef RUNNERS_PYTEST_DISCOVER_H
#define RUNNERS_PYTEST_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/reactor.h"
#include "runners/client.h"
#include "runners/directives.h"
#include "runners/engine.h"
#include "runners/pytest/pytest_job.h"

/* The spec file's name in the project directory. */
#define PYTEST_SPEC_FILE "maelstrom-pytest.toml"

/* What the command line and configuration say (borrowed). */
struct pytest_opts {
	const char *project_dir;          /* real path */
	const char *helpers_dir;          /* real path */
	const char *python;               /* the `python` value, or NULL */
	const char *const *collect_args;  /* --pyargs MODULE, extra-pytest-args,
					     extra-pytest-collect-args */
	size_t n_collect_args;
	const char *const *test_args;     /* extra-pytest-args, extra-pytest-test-args */
	size_t n_test_args;
	bool fork_server;                 /* the `fork-server` value */
	bool collect_extra;               /* collect_args hold more than the
					     extra-pytest-args (collect-from-module,
					     extra-pytest-collect-args) */
	const char *python_cache;         /* the last run's interpreter
					     (pytest_python_cache.h); NULL: none */
};

struct pytest_discover;

/* Loads <project>/maelstrom-pytest.toml, or the book's default when there
 * is none. */
int pytest_load_directives(const char *project_dir, struct directives **out, struct err **err);

/* Creates the discovery; takes the directives. The engine is attached
 * afterwards (it is made with the discovery as its callbacks' argument). */
struct pytest_discover *pytest_discover_new(struct reactor *r, const struct pytest_opts *opts,
					    struct directives *d);

/* Sets the engine the tests go to; before pytest_discover_start. Failure
 * messages go through the engine's UI, or to standard error when
 * text_to_stderr (--list: standard output holds only the list). */
void pytest_discover_attach(struct pytest_discover *d, struct engine *e, bool text_to_stderr);

/* The client through which the run's zygote is started while the tests
 * are collected (see above); borrowed, it must outlive the discovery.
 * Without one (--list), nothing is started ahead. */
void pytest_discover_set_client(struct pytest_discover *d, struct client *c);

/* The engine_job_fn to give the engine, with the discovery as its
 * argument: pytest_job_make with the current directives and interpreter.
 * At log level debug, each job is logged as "NODE_ID: job spec: {JSON}"
 * (maelstrom-run's format, runnable from the project directory). */
int pytest_discover_job(void *arg, const struct test_case *tc, struct job_spec *out,
			bool *ignored, struct err **err);

/* Starts collecting. */
void pytest_discover_start(struct pytest_discover *d);

/* --watch: reloads the spec file and collects again (an
 * engine_rediscover_fn; arg is the discovery). */
void pytest_discover_rerun(void *arg);

/* Kills the collection; no more tests reach the engine. */
void pytest_discover_stop(struct pytest_discover *d);

/* Stops and frees. Safe on NULL. */
void pytest_discover_free(struct pytest_discover *d);

#endif
