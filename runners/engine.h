/*
 * engine: the test-running core shared by cargo-maelstrom and
 * maelstrom-pytest.
 *
 * The front-end discovers tests (builds, lists) and hands them over in
 * batches as they become known; the engine does the rest:
 *
 *   1. select: a test runs when it matches any --include (every test when
 *      none is given) and no --exclude (runners/filter.h language);
 *   2. --list: print each selected test's display line and run nothing;
 *   3. turn each selected test into a job through the front-end's
 *      engine_job_fn (directives applied, program and arguments set); a
 *      test that is ignored (at discovery, or by a directive) is reported
 *      IGNORED and not run; one whose job cannot be made is reported ERROR
 *      and the run goes on;
 *   4. order each batch the book's way (runners/state.h: new and previously
 *      failed tests first, then longest expected duration first) and submit
 *      it in that order, --repeat N times per test (consecutively, displays
 *      suffixed " [i/N]"), with --timeout replacing each job's timeout; a
 *      job the front-end left at priority 0 gets 1 when the test is new or
 *      failed last time, and its expected duration from the state;
 *   5. map each job's result to an outcome (default: exited 0 -> OK, other
 *      exit or a signal -> FAIL, timed out -> TIMEOUT, execution or system
 *      error -> ERROR; the front-end may override with engine_outcome_fn),
 *      show it in the UI, record it in the listing state, keep it for the
 *      JUnit report;
 *   6. after --stop-after N failures (FAIL, TIMEOUT, ERROR, XPASS), cancel every
 *      outstanding job and submit nothing more: what did not run is counted
 *      as "not run" in the summary;
 *   7. once discovery is done and no job is outstanding: the state saved
 *      (forgetting tests no longer listed, but only when no filter was given
 *      and discovery neither failed nor was interrupted, so the listing was
 *      complete), the JUnit file written (every test that ran or was
 *      ignored; canceled and not-run ones are left out), the summary
 *      printed; then, without --watch, the engine is finished
 *      (engine_finished, the finished callback). With --watch the
 *      engine watches the project directory (inotify, recursive, skipping
 *      hidden and ignored directories), and on a change, after 300 ms of
 *      quiet, prints "change detected, rerunning", drops the old tests and
 *      calls the front-end's engine_rediscover_fn, which feeds a new run
 *      through engine_add_tests / engine_discovery_done. It keeps doing so
 *      until engine_cancel_all.
 *
 * Exit status (engine_exit_status): 0 when every selected test passed (or
 * was ignored or skipped), discovery did not fail and the JUnit report (if
 * asked for) was written; 1 otherwise, including tests not run because of
 * --stop-after; 130 after engine_cancel_all (SIGINT: the front-end owns the
 * signal handlers and calls engine_cancel_all from its handler). Failures
 * are FAIL, TIMEOUT, ERROR and XPASS; OK and XFAIL pass.
 *
 * Output: the UI (runners/ui.h) on cfg.out_fd shows each finished test,
 * the progress bar on a terminal, messages and the summary; --list prints
 * one display line per selected test through it. The client reports no
 * per-job progress, so every outstanding job is counted "pending".
 *
 * Ownership and lifetime: the engine takes the test cases given to
 * engine_add_tests (not the array) and frees them when the next run starts
 * (--watch) or at engine_free; test_case pointers handed to the job and
 * outcome callbacks stay valid until then. The reactor and the client must outlive the engine. Every
 * callback to the front-end runs from the reactor or from inside the
 * engine call that caused it; none may free the engine. Free the engine
 * after its finished callback ran (then no job is outstanding), or after the
 * client was freed (client_free drops pending callbacks).
 */
#ifndef RUNNERS_ENGINE_H
#define RUNNERS_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container/executor.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/reactor.h"
#include "core/spec.h"
#include "runners/client.h"
#include "runners/filter.h"
#include "runners/testcase.h"
#include "runners/ui.h"

struct engine;

struct engine_config {
	const char *const *includes;      /* --include filter texts */
	size_t n_includes;
	const char *const *excludes;      /* --exclude filter texts */
	size_t n_excludes;
	const struct filter_flavor *flavor; /* NULL: cargo's */
	unsigned repeat;                  /* --repeat/--loop: runs per test; 0 means 1 */
	unsigned stop_after;              /* --stop-after: failures before stopping; 0 = never */
	uint32_t timeout_override;        /* --timeout in seconds, replaces every job's; 0 = none */
	bool list_only;                   /* --list: print selected tests, run nothing */
	enum ui_style ui;                 /* runners/ui.h */
	bool quiet;
	const char *junit_path;           /* JUnit XML written after each run; NULL: none */
	const char *state_dir;            /* listing state directory; NULL: no state */
	const char *watch_dir;            /* --watch: directory to watch; NULL: no watching */
	const char *const *watch_ignore;  /* NULL-terminated, or NULL: directories not
					     watched. An entry with a '/' is a path
					     relative to watch_dir; one without is a
					     directory name at any depth ("target",
					     "__pycache__"). Hidden directories are
					     never watched. */
	int out_fd;                       /* where the UI and --list write; 0 means
					     standard output (1) */
};

/* Turns a test into its job: directives applied, program and arguments set.
 * Fills *out (zeroed on entry; the engine takes what it holds, even on
 * failure). Sets *ignored when a directive says to ignore the test (out is
 * then not used). Returns -1 with *err for a test that cannot run: it is
 * reported ERROR with that message, and the run goes on. Called once per
 * run of a test (so --repeat N calls it N times). */
typedef int engine_job_fn(void *arg, const struct test_case *tc, struct job_spec *out,
			  bool *ignored, struct err **err);

/* --watch: rebuild and relist, then call engine_add_tests (any number of
 * times) and engine_discovery_done, now or later from the reactor. */
typedef void engine_rediscover_fn(void *arg);

/* Maps a job's result to the outcome shown, recorded and reported. May set
 * *detail to a heap string (the engine frees it) shown after the outcome,
 * e.g. pytest's "skipped: reason". res->outcome is never JOB_CANCELED. */
typedef enum ui_outcome engine_outcome_fn(void *arg, const struct test_case *tc,
					  const struct job_result *res, char **detail);

/* The default mapping (see the header comment); *detail is set to the
 * result's message for TIMEOUT and ERROR, or "killed by signal N". */
enum ui_outcome engine_default_outcome(void *arg, const struct test_case *tc,
				       const struct job_result *res, char **detail);

/* Where jobs go. By default, the client given to engine_new; unit tests
 * and special front-ends replace it with engine_set_submitter. The
 * contract is client_submit's and client_cancel's: submit takes *spec
 * (zeroing it), returns a job id and calls cb exactly once, later;
 * cancel makes that call report JOB_CANCELED. */
typedef uint64_t engine_submit_fn(void *arg, struct job_spec *spec, executor_done_cb *cb,
				  void *cb_arg);
typedef void engine_cancel_fn(void *arg, uint64_t id);

/* Creates an engine. cfg is copied (its strings and arrays must outlive the
 * engine, except the filter texts, parsed here). Fails on a bad filter (the
 * message names --include/--exclude, the filter and the column), an
 * unreadable state file, a UI that cannot start, or a --watch directory
 * that cannot be watched. client may be NULL only when a submitter is set
 * with engine_set_submitter before tests are added. rediscover may be NULL
 * without --watch. arg is passed to job and rediscover. */
int engine_new(struct engine **out, struct reactor *r, struct client *client,
	       const struct engine_config *cfg, engine_job_fn *job,
	       engine_rediscover_fn *rediscover, void *arg, struct err **err);

/* Frees the engine, its tests, UI and state (not saved here: runs save it
 * as they end). Does not touch the client. Safe on NULL. */
void engine_free(struct engine *e);

/* Replaces the job sink (see engine_submit_fn). */
void engine_set_submitter(struct engine *e, engine_submit_fn *submit, engine_cancel_fn *cancel,
			  void *arg);

/* Replaces the outcome mapping; fn NULL restores engine_default_outcome. */
void engine_set_outcome_fn(struct engine *e, engine_outcome_fn *fn, void *arg);

/* Calls cb(arg) once the engine is finished (see engine_finished). The
 * callback may stop the reactor; it must not free the engine. */
void engine_set_finished_cb(struct engine *e, void (*cb)(void *arg), void *arg);

/* The engine's UI, for the front-end's own lines (build output, warnings:
 * ui_message), so they do not tear the progress bar. Owned by the engine. */
struct ui *engine_ui(struct engine *e);

/* Whether a group of tests could hold a selected test, before the tests
 * are known: the filters evaluated with the caller's callbacks (unknown
 * values propagate). cargo uses it to build only packages that can match:
 * FILTER_FALSE means no test of it can be selected. */
enum filter_value engine_may_match(struct engine *e, filter_lookup_fn *lookup,
				   filter_simple_fn *simple, void *arg);

/* ---- a test case as filters see it -------------------------------------- */

/* Filter callbacks (runners/filter.h) answering for one test case, for
 * front-ends that evaluate filters themselves, e.g. the directives:
 *
 *     struct engine_case_view v;
 *     engine_case_view_init(&v, tc);
 *     rc = directives_apply(d, engine_case_lookup, engine_case_simple, &v, &res, err);
 *     engine_case_view_release(&v);
 *
 * Cargo's kind selectors (library, binary, test, benchmark, example) come
 * from tc->kind; binary/test/benchmark/example's values are tc->binary;
 * name, package, file, node_id are the fields of those names; markers is
 * tc->markers joined by '\n'. Every selector is known: a missing field reads
 * as "". The view borrows tc. */
struct engine_case_view {
	const struct test_case *tc;
	struct buf markers;   /* scratch for the markers selector */
};

void engine_case_view_init(struct engine_case_view *v, const struct test_case *tc);
void engine_case_view_release(struct engine_case_view *v);
/* arg is a struct engine_case_view *. */
const char *engine_case_lookup(void *arg, const char *selector);
bool engine_case_simple(void *arg, const char *selector, bool *known);

/* ---- discovery --------------------------------------------------------------- */

/* Hands over a batch of discovered tests: takes ownership of every
 * tests[i] (the array stays the caller's). Selected tests are submitted at
 * once (or printed with --list); the others are dropped. Tests added after
 * engine_cancel_all or after stop-after triggered are counted as not run. */
void engine_add_tests(struct engine *e, struct test_case **tests, size_t n);

/* Reports that discovery failed (a build error, a listing that could not be
 * read): the message is shown and the exit status becomes non-zero. Does
 * not end discovery: call engine_discovery_done when it is over (both, in
 * that order, for a build that failed as a whole). */
void engine_discovery_failed(struct engine *e, const char *message);

/* No more tests in this run. The run ends once its jobs are done. */
void engine_discovery_done(struct engine *e);

/* SIGINT: cancels every outstanding job, stops watching, drops tests still
 * to come; once the canceled jobs reported, prints the summary and
 * finishes with exit status 130. */
void engine_cancel_all(struct engine *e);

/* True once the engine is done for good: without --watch, the run ended;
 * with it, engine_cancel_all was called and the jobs reported. */
bool engine_finished(const struct engine *e);

/* 0, 1 or 130: see the header comment. Meaningful once finished. */
int engine_exit_status(const struct engine *e);

#endif
