/*
 * engine_internal: what the engine's files share (runners/engine*.c).
 *
 *   engine.c         lifetime, configuration, discovery calls, run ends
 *   engine_run.c     submission, results, stop-after, cancel
 *   engine_report.c  summary, JUnit, state saving, outcome mapping
 *   engine_filter.c  --include/--exclude and test-case selectors
 *   engine_watch.c   --watch's inotify tree and debounce
 *
 * A run's life (enum engine_phase):
 *     RUNNING -> (discovery done or canceled, no job outstanding) -> run end
 *     run end -> WATCHING    with --watch and not canceled
 *             -> FINISHED    otherwise
 *     WATCHING -> (change, debounced) -> RUNNING      (a new run)
 *     WATCHING -> (engine_cancel_all) -> FINISHED
 */
#ifndef RUNNERS_ENGINE_INTERNAL_H
#define RUNNERS_ENGINE_INTERNAL_H

#include "core/buf.h"
#include "runners/engine.h"
#include "runners/junit.h"
#include "runners/state.h"
#include "runners/ui.h"

/* ---- filters (engine_filter.c) ------------------------------------------- */

struct engine_filters {
	struct filter **inc;
	size_t n_inc;
	struct filter **exc;
	size_t n_exc;
};

int engine_filters_parse(struct engine_filters *f, const struct engine_config *cfg,
			 struct err **err);
void engine_filters_release(struct engine_filters *f);
enum filter_value engine_filters_eval(const struct engine_filters *f, filter_lookup_fn *lookup,
				      filter_simple_fn *simple, void *arg);
/* Whether a fully known test is selected. */
bool engine_filters_select(const struct engine_filters *f, const struct test_case *tc);

/* ---- watching (engine_watch.c) ------------------------------------------- */

struct engine_watch;

#define ENGINE_WATCH_DEBOUNCE_NS (300ull * 1000 * 1000)

/* Watches root's tree (see engine_config.watch_ignore). Starts disarmed. */
int engine_watch_new(struct engine_watch **out, struct reactor *r, const char *root,
		     const char *const *ignore, uint64_t debounce_ns,
		     void (*on_change)(void *arg), void *arg, struct err **err);
/* Armed: a relevant event (re)starts the debounce timer, whose end calls
 * on_change once. Disarmed: events are dropped, a pending timer canceled. */
void engine_watch_arm(struct engine_watch *w, bool armed);
/* Directories currently watched. */
size_t engine_watch_dirs(const struct engine_watch *w);
void engine_watch_free(struct engine_watch *w);

/* ---- the engine ------------------------------------------------------------ */

enum engine_phase {
	PHASE_RUNNING,
	PHASE_WATCHING,
	PHASE_FINISHED,
};

/* One submitted run of a test, from client_submit to its callback. */
struct engine_job {
	struct engine *e;
	const struct test_case *tc;   /* owned by e->tests */
	char *display;                /* with " [i/N]" under --repeat */
	unsigned iteration;           /* 1-based */
	uint64_t id;                  /* the submitter's job id */
	bool running;                 /* its container launched */
	struct engine_job *prev, *next;   /* e->jobs, the outstanding list */
};

/* One finished (or ignored) run of a test, kept for the summary and JUnit. */
struct engine_record {
	const struct test_case *tc;   /* owned by e->tests */
	char *display;
	unsigned iteration;
	enum ui_outcome outcome;
	char *detail;                 /* NULL when none */
	uint64_t duration_ns;
	struct job_result *res;       /* NULL when the test never ran */
};

/* The submitter reports a job's launch (client_on_start). */
void engine_job_started(void *arg, uint64_t id);

struct engine {
	struct reactor *r;
	struct engine_config cfg;     /* strings borrowed; repeat >= 1 */
	struct engine_filters filters;
	engine_job_fn *job;
	engine_rediscover_fn *rediscover;
	void *arg;
	engine_submit_fn *submit;
	engine_cancel_fn *cancel;
	void *submit_arg;
	engine_outcome_fn *outcome;
	void *outcome_arg;
	void (*finished_cb)(void *arg);
	void *finished_arg;

	struct state *state;          /* NULL without a state directory */
	struct ui *ui;
	struct engine_watch *watch;   /* made at the first run end */
	enum engine_phase phase;
	bool canceled;                /* engine_cancel_all */
	int exit_status;

	/* The current run. */
	struct test_case **tests;     /* selected, owned */
	size_t n_tests, cap_tests;
	struct engine_record *records;
	size_t n_records, cap_records;
	struct engine_job *jobs;      /* outstanding */
	size_t n_outstanding;
	size_t n_running;             /* outstanding and launched */
	struct client *client;        /* reports launches to us; NULL in tests */
	size_t total;                 /* units: runs of selected tests */
	size_t completed;             /* units done (ignored ones included) */
	size_t failures;
	size_t not_run;
	bool stopping;                /* --stop-after reached */
	bool discovery_done;
	bool discovery_failed;
	bool report_failed;           /* the JUnit file could not be written */
	uint64_t started_ns;
};

/* engine.c */
void engine_run_maybe_end(struct engine *e);
void engine_update_counts(struct engine *e);

/* engine_run.c */
/* The test's display, with " [i/N]" under --repeat (iteration 0: none).
 * Heap string. */
char *engine_display(const struct engine *e, const struct test_case *tc, unsigned iteration);
/* Runs each selected test of a sorted batch. */
void engine_run_tests(struct engine *e, struct test_case *const *tests, size_t n);
/* Cancels every outstanding job (their callbacks count them not run). */
void engine_run_cancel_outstanding(struct engine *e);

/* engine_report.c */
/* Adds a record (taking detail and res) and shows the outcome. display
 * NULL: made from the test and iteration (0: no repeat suffix). */
void engine_report_done(struct engine *e, const struct test_case *tc, const char *display,
			unsigned iteration, enum ui_outcome o, char *detail, uint64_t duration_ns,
			struct job_result *res);
/* Whether an outcome counts as a failure (exit status, --stop-after). */
bool engine_outcome_failed(enum ui_outcome o);
/* The run's end: summary, state saved, JUnit written. */
void engine_report_run_end(struct engine *e);
/* Frees the records of the run. */
void engine_report_clear(struct engine *e);

#endif
