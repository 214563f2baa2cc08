/*
 * engine_run: from a selected test to submitted jobs, and from a job's
 * result to a reported outcome. --repeat, --timeout and --stop-after live
 * here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/list.h"
#include "runners/engine_internal.h"

char *engine_display(const struct engine *e, const struct test_case *tc, unsigned iteration)
{
	char *s;
	const char *base = tc->display ? tc->display : tc->id;
	int rc = e->cfg.repeat > 1 && iteration > 0
			 ? asprintf(&s, "%s [%u/%u]", base, iteration, e->cfg.repeat)
			 : asprintf(&s, "%s", base);
	if (rc < 0)
		abort();
	return s;
}

static void link_job(struct engine *e, struct engine_job *j)
{
	DLIST_PUSH(e->jobs, j);
	e->n_outstanding++;
}

static void unlink_job(struct engine *e, struct engine_job *j)
{
	DLIST_REMOVE(e->jobs, j);
	e->n_outstanding--;
}

void engine_job_started(void *arg, uint64_t id)
{
	struct engine_job *j = arg;
	(void)id;
	if (j->running)
		return;
	j->running = true;
	j->e->n_running++;
	ui_test_running(j->e->ui, j->display);
	engine_update_counts(j->e);
}

static void on_job_done(void *arg, uint64_t id, struct job_result *res)
{
	struct engine_job *j = arg;
	struct engine *e = j->e;
	(void)id;
	unlink_job(e, j);
	if (j->running) {
		e->n_running--;
		ui_test_not_running(e->ui, j->display);
	}
	if (res->outcome == JOB_CANCELED) {
		/* --stop-after or engine_cancel_all: not run, not reported. */
		e->not_run++;
		job_result_free(res);
	} else {
		char *detail = NULL;
		enum ui_outcome o = e->outcome(e->outcome_arg, j->tc, res, &detail);
		if (e->state)
			state_record(e->state, j->tc->id, !engine_outcome_failed(o),
				     res->duration_ns / 1000000);
		engine_report_done(e, j->tc, j->display, j->iteration, o, detail,
				   res->duration_ns, res);
	}
	free(j->display);
	free(j);
	engine_update_counts(e);
	engine_run_maybe_end(e);
}

/* The job's scheduling hints from the listing state (book: new and
 * previously failed tests first, then longest first), where the front-end
 * gave none. */
static void apply_hints(struct engine *e, const struct test_case *tc, struct job_spec *spec)
{
	if (e->cfg.timeout_override)
		spec->timeout_s = e->cfg.timeout_override;
	if (!e->state)
		return;
	if (spec->priority == 0 &&
	    (state_is_new(e->state, tc->id) || state_failed_last(e->state, tc->id)))
		spec->priority = 1;
	if (spec->estimated_duration_ms == 0)
		spec->estimated_duration_ms = state_expected_ms(e->state, tc->id);
}

/* Runs one iteration of a test. Returns false when the test turned out to
 * be ignored (then nothing was reported). */
static bool run_once(struct engine *e, const struct test_case *tc, unsigned iteration)
{
	struct job_spec spec = {0};
	struct err *err = NULL;
	bool ignored = false;
	int rc = e->job(e->arg, tc, &spec, &ignored, &err);
	if (rc < 0 || ignored) {
		job_spec_release(&spec);
		if (rc < 0) {
			char *detail = strdup(err_msg(err));
			if (!detail)
				abort();
			engine_report_done(e, tc, NULL, iteration, UI_ERROR, detail, 0, NULL);
		}
		err_free(&err);
		return rc < 0;
	}
	apply_hints(e, tc, &spec);

	struct engine_job *j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->e = e;
	j->tc = tc;
	j->iteration = iteration;
	j->display = engine_display(e, tc, iteration);
	link_job(e, j);
	j->id = e->submit(e->submit_arg, &spec, on_job_done, j);
	job_spec_release(&spec);   /* normally emptied by submit already */
	return true;
}

void engine_run_tests(struct engine *e, struct test_case *const *tests, size_t n)
{
	unsigned repeat = e->cfg.repeat;
	for (size_t i = 0; i < n; i++) {
		const struct test_case *tc = tests[i];
		if (tc->ignored) {
			/* Ignored at discovery: one unit, never run. */
			e->total++;
			if (e->stopping || e->canceled)
				e->not_run++;
			else
				engine_report_done(e, tc, NULL, 0, UI_IGNORED, NULL, 0, NULL);
			continue;
		}
		e->total += repeat;
		for (unsigned it = 1; it <= repeat; it++) {
			if (e->stopping || e->canceled) {
				e->not_run++;
				continue;
			}
			if (run_once(e, tc, it))
				continue;
			if (it == 1) {
				/* Ignored by a directive: one unit, reported once. */
				e->total -= repeat - 1;
				engine_report_done(e, tc, NULL, 0, UI_IGNORED, NULL, 0, NULL);
				break;
			}
			engine_report_done(e, tc, NULL, it, UI_IGNORED, NULL, 0, NULL);
		}
	}
}

void engine_run_cancel_outstanding(struct engine *e)
{
	/* Ids first: a canceled job's callback (which unlinks it) normally
	 * comes later from the reactor, but need not. */
	size_t n = e->n_outstanding, k = 0;
	if (n == 0)
		return;
	uint64_t *ids = calloc(n, sizeof(*ids));
	if (!ids)
		abort();
	for (struct engine_job *j = e->jobs; j && k < n; j = j->next)
		ids[k++] = j->id;
	for (size_t i = 0; i < k; i++)
		e->cancel(e->submit_arg, ids[i]);
	free(ids);
}
