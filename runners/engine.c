/*
 * engine: lifetime, discovery calls and the phases of a run (see
 * engine_internal.h for the state machine).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "runners/engine_internal.h"

/* ---- the default job sink: the client ------------------------------------ */

static uint64_t client_sink_submit(void *arg, struct job_spec *spec, executor_done_cb *cb,
				   void *cb_arg)
{
	return client_submit(arg, spec, cb, cb_arg);
}

static void client_sink_cancel(void *arg, uint64_t id)
{
	client_cancel(arg, id);
}

/* ---- lifetime -------------------------------------------------------------- */

static void on_watch_change(void *arg);

int engine_new(struct engine **out, struct reactor *r, struct client *client,
	       const struct engine_config *cfg, engine_job_fn *job,
	       engine_rediscover_fn *rediscover, void *arg, struct err **err)
{
	*out = NULL;
	struct engine *e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->r = r;
	e->cfg = *cfg;
	if (e->cfg.repeat == 0)
		e->cfg.repeat = 1;
	if (e->cfg.out_fd <= 0)
		e->cfg.out_fd = STDOUT_FILENO;
	e->job = job;
	e->rediscover = rediscover;
	e->arg = arg;
	e->submit = client_sink_submit;
	e->cancel = client_sink_cancel;
	e->submit_arg = client;
	e->client = client;
	if (client)
		client_on_start(client, engine_job_started);
	e->outcome = engine_default_outcome;
	e->phase = PHASE_RUNNING;
	e->started_ns = reactor_now_ns();

	if (engine_filters_parse(&e->filters, cfg, err) < 0)
		goto fail;
	/* The filters are parsed; the texts are not kept. */
	e->cfg.includes = e->cfg.excludes = NULL;

	enum ui_style style;
	if (ui_style_choose(cfg->ui, cfg->quiet, isatty(e->cfg.out_fd), &style, err) < 0)
		goto fail;
	if (cfg->watch_dir && !rediscover) {
		err_set(err, 0, "--watch: this runner cannot rediscover its tests");
		goto fail;
	}
	if (cfg->state_dir && state_load(&e->state, cfg->state_dir, err) < 0) {
		err_wrap(err, "listing state");
		goto fail;
	}
	if (cfg->watch_dir &&
	    engine_watch_new(&e->watch, r, cfg->watch_dir, cfg->watch_ignore,
			     ENGINE_WATCH_DEBOUNCE_NS, on_watch_change, e, err) < 0)
		goto fail;
	e->ui = ui_new(r, style, e->cfg.out_fd, ui_want_color(e->cfg.out_fd));
	*out = e;
	return 0;
fail:
	engine_free(e);
	return -1;
}

static void free_tests(struct engine *e)
{
	for (size_t i = 0; i < e->n_tests; i++)
		test_case_free(e->tests[i]);
	e->n_tests = 0;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	if (e->client)
		client_on_start(e->client, NULL);
	/* Jobs still outstanding belong to a client that was freed (or will
	 * never call back): drop them without calling anyone. */
	while (e->jobs) {
		struct engine_job *j = e->jobs;
		e->jobs = j->next;
		free(j->display);
		free(j);
	}
	engine_report_clear(e);
	free(e->records);
	free_tests(e);
	free(e->tests);
	engine_watch_free(e->watch);
	ui_free(e->ui);
	state_free(e->state);
	engine_filters_release(&e->filters);
	free(e);
}

void engine_set_submitter(struct engine *e, engine_submit_fn *submit, engine_cancel_fn *cancel,
			  void *arg)
{
	e->submit = submit;
	e->cancel = cancel;
	e->submit_arg = arg;
}

void engine_set_outcome_fn(struct engine *e, engine_outcome_fn *fn, void *arg)
{
	e->outcome = fn ? fn : engine_default_outcome;
	e->outcome_arg = fn ? arg : NULL;
}

void engine_set_finished_cb(struct engine *e, void (*cb)(void *arg), void *arg)
{
	e->finished_cb = cb;
	e->finished_arg = arg;
}

struct ui *engine_ui(struct engine *e)
{
	return e->ui;
}

bool engine_finished(const struct engine *e)
{
	return e->phase == PHASE_FINISHED;
}

int engine_exit_status(const struct engine *e)
{
	return e->exit_status;
}

enum filter_value engine_may_match(struct engine *e, filter_lookup_fn *lookup,
				   filter_simple_fn *simple, void *arg)
{
	return engine_filters_eval(&e->filters, lookup, simple, arg);
}

/* ---- discovery ---------------------------------------------------------------- */

static void keep_test(struct engine *e, struct test_case *tc)
{
	if (e->n_tests == e->cap_tests) {
		e->cap_tests = e->cap_tests ? 2 * e->cap_tests : 64;
		e->tests = realloc(e->tests, e->cap_tests * sizeof(*e->tests));
		if (!e->tests)
			abort();
	}
	e->tests[e->n_tests++] = tc;
}

void engine_add_tests(struct engine *e, struct test_case **tests, size_t n)
{
	/* Tests of a run that is over (or never to be) are of no use. */
	if (e->phase != PHASE_RUNNING || e->canceled || e->discovery_done) {
		if (e->phase == PHASE_RUNNING && e->discovery_done)
			log_warning("tests added after discovery ended were dropped");
		for (size_t i = 0; i < n; i++)
			test_case_free(tests[i]);
		return;
	}
	size_t first = e->n_tests;
	for (size_t i = 0; i < n; i++) {
		struct test_case *tc = tests[i];
		if (e->state)
			state_mark_seen(e->state, tc->id);
		if (engine_filters_select(&e->filters, tc))
			keep_test(e, tc);
		else
			test_case_free(tc);
	}
	struct test_case **batch = e->tests + first;
	size_t n_batch = e->n_tests - first;
	if (e->cfg.list_only) {
		for (size_t i = 0; i < n_batch; i++)
			ui_message(e->ui, "%s", batch[i]->display);
		return;
	}
	if (e->state)
		state_sort(e->state, batch, n_batch);
	engine_run_tests(e, batch, n_batch);
	engine_update_counts(e);
}

void engine_discovery_failed(struct engine *e, const char *message)
{
	if (e->phase != PHASE_RUNNING)
		return;
	e->discovery_failed = true;
	if (message && *message)
		ui_message(e->ui, "%s", message);
}

void engine_discovery_done(struct engine *e)
{
	if (e->phase != PHASE_RUNNING)
		return;
	e->discovery_done = true;
	engine_run_maybe_end(e);
}

/* ---- phases ------------------------------------------------------------------- */

void engine_update_counts(struct engine *e)
{
	if (e->cfg.list_only)
		return;
	struct ui_counts c = {
		.pending = e->n_outstanding - e->n_running,
		.running = e->n_running,
		.completed = e->completed,
		.failed = e->failures,
	};
	ui_set_total(e->ui, e->total);
	ui_set_counts(e->ui, &c);
}

static void finish(struct engine *e)
{
	e->phase = PHASE_FINISHED;
	if (e->watch)
		engine_watch_arm(e->watch, false);
	if (e->finished_cb)
		e->finished_cb(e->finished_arg);
}

void engine_run_maybe_end(struct engine *e)
{
	if (e->phase != PHASE_RUNNING || e->n_outstanding > 0)
		return;
	if (!e->discovery_done && !e->canceled)
		return;
	if (!e->cfg.list_only)
		engine_report_run_end(e);
	if (e->canceled)
		e->exit_status = 130;
	else if (e->discovery_failed || e->report_failed || e->failures > 0 || e->not_run > 0)
		e->exit_status = 1;
	else
		e->exit_status = 0;
	if (e->watch && !e->canceled) {
		e->phase = PHASE_WATCHING;
		ui_message(e->ui, "watching for changes (Ctrl-C to stop)");
		engine_watch_arm(e->watch, true);
		return;
	}
	finish(e);
}

/* Drops the finished run and starts the next one. */
static void on_watch_change(void *arg)
{
	struct engine *e = arg;
	if (e->phase != PHASE_WATCHING)
		return;
	engine_watch_arm(e->watch, false);
	engine_report_clear(e);
	free_tests(e);
	e->total = e->completed = e->failures = e->not_run = 0;
	e->stopping = e->discovery_done = e->discovery_failed = e->report_failed = false;
	if (e->state)
		state_begin_run(e->state);
	e->phase = PHASE_RUNNING;
	e->started_ns = reactor_now_ns();
	ui_message(e->ui, "change detected, rerunning");
	e->rediscover(e->arg);
}

void engine_cancel_all(struct engine *e)
{
	if (e->phase == PHASE_FINISHED || e->canceled)
		return;
	e->canceled = true;
	if (e->phase == PHASE_WATCHING) {
		e->exit_status = 130;
		finish(e);
		return;
	}
	if (e->watch)
		engine_watch_arm(e->watch, false);
	engine_run_cancel_outstanding(e);
	engine_run_maybe_end(e);
}
