/*
 * engine_report: outcomes, the records of a run, and what happens at its
 * end (summary, listing state, JUnit).
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "runners/engine_internal.h"

/* ---- outcomes ------------------------------------------------------------- */

enum ui_outcome engine_default_outcome(void *arg, const struct test_case *tc,
				       const struct job_result *res, char **detail)
{
	(void)arg;
	(void)tc;
	*detail = NULL;
	switch (res->outcome) {
	case JOB_EXITED:
		if (res->code == 0)
			return UI_OK;
		*detail = xasprintf("exited with code %d", res->code);
		return UI_FAIL;
	case JOB_SIGNALED: {
		const char *name = sigabbrev_np(res->code);
		*detail = name ? xasprintf("killed by signal %d (SIG%s)", res->code, name)
			       : xasprintf("killed by signal %d", res->code);
		return UI_FAIL;
	}
	case JOB_TIMED_OUT:
		*detail = xstrdup(res->message ? res->message : "timed out");
		return UI_TIMEOUT;
	case JOB_EXECUTION_ERROR:
	case JOB_SYSTEM_ERROR:
		*detail = xstrdup(res->message ? res->message : job_outcome_name(res->outcome));
		return UI_ERROR;
	case JOB_CANCELED:
		*detail = xstrdup("canceled");
		return UI_ERROR;
	}
	*detail = xasprintf("unknown job outcome %d", (int)res->outcome);
	return UI_ERROR;
}

bool engine_outcome_failed(enum ui_outcome o)
{
	switch (o) {
	case UI_FAIL:
	case UI_TIMEOUT:
	case UI_ERROR:
	case UI_XPASS:
		return true;
	case UI_OK:
	case UI_IGNORED:
	case UI_SKIPPED:
	case UI_XFAIL:
		break;
	}
	return false;
}

/* Listed with the ignored tests in the summary. */
static bool outcome_ignored(enum ui_outcome o)
{
	return o == UI_IGNORED || o == UI_SKIPPED || o == UI_XFAIL;
}

/* ---- records ------------------------------------------------------------------ */

void engine_report_done(struct engine *e, const struct test_case *tc, const char *display,
			unsigned iteration, enum ui_outcome o, char *detail, uint64_t duration_ns,
			struct job_result *res)
{
	char *disp = display ? xstrdup(display) : engine_display(e, tc, iteration);
	ui_test_done(e->ui, disp, o, duration_ns, res, detail);

	/* Output is kept only where the JUnit report shows it. */
	if (res && (!e->cfg.junit_path || o == UI_OK)) {
		job_result_free(res);
		res = NULL;
	}
	if (e->n_records == e->cap_records) {
		e->cap_records = e->cap_records ? 2 * e->cap_records : 64;
		e->records = realloc(e->records, e->cap_records * sizeof(*e->records));
		if (!e->records)
			abort();
	}
	e->records[e->n_records++] = (struct engine_record){
		.tc = tc,
		.display = disp,
		.iteration = iteration,
		.outcome = o,
		.detail = detail,
		.duration_ns = duration_ns,
		.res = res,
	};

	e->completed++;
	if (!engine_outcome_failed(o))
		return;
	e->failures++;
	if (e->cfg.stop_after && e->failures >= e->cfg.stop_after && !e->stopping) {
		e->stopping = true;
		ui_message(e->ui, "stopping after %zu failure%s (--stop-after %u)", e->failures,
			   e->failures == 1 ? "" : "s", e->cfg.stop_after);
		engine_run_cancel_outstanding(e);
	}
}

void engine_report_clear(struct engine *e)
{
	for (size_t i = 0; i < e->n_records; i++) {
		free(e->records[i].display);
		free(e->records[i].detail);
		job_result_free(e->records[i].res);
	}
	e->n_records = 0;
}

/* ---- the run's end ---------------------------------------------------------------- */

static enum junit_outcome junit_outcome_of(enum ui_outcome o)
{
	switch (o) {
	case UI_OK:
		return JUNIT_PASSED;
	case UI_FAIL:
	case UI_XPASS:
		return JUNIT_FAILED;
	case UI_TIMEOUT:
		return JUNIT_TIMED_OUT;
	case UI_ERROR:
		return JUNIT_ERROR;
	case UI_IGNORED:
	case UI_SKIPPED:
	case UI_XFAIL:
		break;
	}
	return JUNIT_SKIPPED;
}

/* Writes the JUnit report of the run. Returns false (after saying why) when
 * it could not be written. */
static bool write_junit(struct engine *e)
{
	size_t n = e->n_records;
	struct junit_case *cases = calloc(n + 1, sizeof(*cases));
	char **owned = calloc(2 * n + 1, sizeof(*owned));
	if (!cases || !owned)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct engine_record *rec = &e->records[i];
		const struct test_case *tc = rec->tc;
		const char *pkg = tc->package ? tc->package : "tests";
		char *suite = tc->binary ? xasprintf("%s::%s", pkg, tc->binary) : xstrdup(pkg);
		const char *base = tc->name ? tc->name : tc->id;
		char *name = e->cfg.repeat > 1 && rec->iteration > 0
				     ? xasprintf("%s [%u/%u]", base, rec->iteration, e->cfg.repeat)
				     : xstrdup(base);
		owned[2 * i] = suite;
		owned[2 * i + 1] = name;
		cases[i] = (struct junit_case){
			.suite = suite,
			.name = name,
			.outcome = junit_outcome_of(rec->outcome),
			.seconds = (double)rec->duration_ns / 1e9,
			.message = rec->detail,
		};
		if (rec->res) {
			cases[i].stdout_data = rec->res->out.data;
			cases[i].stdout_len = rec->res->out.len;
			cases[i].stderr_data = rec->res->err.data;
			cases[i].stderr_len = rec->res->err.len;
		}
	}
	struct err *err = NULL;
	bool ok = junit_write(e->cfg.junit_path, cases, n, &err) == 0;
	if (!ok)
		ui_message(e->ui, "error: cannot write the JUnit report: %s", err_msg(err));
	err_free(&err);
	for (size_t i = 0; i < 2 * n; i++)
		free(owned[i]);
	free(owned);
	free(cases);
	return ok;
}

static void save_state(struct engine *e)
{
	/* Tests no longer listed are forgotten only when the listing was
	 * complete: nothing filtered, nothing failed to build, no interrupt. */
	if (!e->canceled && !e->discovery_failed && e->filters.n_inc == 0 &&
	    e->filters.n_exc == 0)
		state_prune_unseen(e->state);
	struct err *err = NULL;
	if (state_save(e->state, &err) < 0)
		ui_message(e->ui, "warning: cannot save the listing state: %s", err_msg(err));
	err_free(&err);
}

static void print_summary(struct engine *e)
{
	size_t n = e->n_records;
	struct ui_summary_entry *failed = calloc(n + 1, sizeof(*failed));
	struct ui_summary_entry *ignored = calloc(n + 1, sizeof(*ignored));
	if (!failed || !ignored)
		abort();
	struct ui_summary s = { .failed = failed, .ignored = ignored };
	for (size_t i = 0; i < n; i++) {
		const struct engine_record *rec = &e->records[i];
		struct ui_summary_entry entry = { rec->display, rec->outcome };
		if (rec->outcome == UI_OK)
			s.passed++;
		else if (engine_outcome_failed(rec->outcome))
			failed[s.n_failed++] = entry;
		else if (outcome_ignored(rec->outcome))
			ignored[s.n_ignored++] = entry;
	}
	s.not_run = e->not_run;
	s.wall_ns = reactor_now_ns() - e->started_ns;
	ui_summary(e->ui, &s);
	free(failed);
	free(ignored);
}

void engine_report_run_end(struct engine *e)
{
	if (e->state)
		save_state(e);
	if (e->cfg.junit_path && !write_junit(e))
		e->report_failed = true;
	print_summary(e);
}
