/* Unit tests for runners/engine: selection, order, repeat, stop-after,
 * timeout override, outcomes, exit status, --list, JUnit, listing state,
 * cancel, and --watch. Jobs go to a fake submitter the tests complete by
 * hand; the UI writes into a file the tests read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/strv.h"
#include "runners/engine.h"
#include "runners/engine_internal.h"
#include "runners/state.h"

/* ---- scaffolding ------------------------------------------------------------ */

struct fake_job {
	uint64_t id;
	struct job_spec spec;
	executor_done_cb *cb;
	void *arg;
	bool canceled;
	bool done;
};

struct fx {
	char dir[256];
	char out_path[300];
	int out_fd;
	struct reactor *r;
	struct engine *e;
	struct engine_config cfg;
	struct fake_job jobs[64];
	size_t n_jobs;
	unsigned finished_calls;
	unsigned rediscovers;
	unsigned job_calls;
	const char *const *rediscover_names;   /* what a rediscovery lists */
};

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	const char *tmp = getenv("TMPDIR");
	snprintf(f->dir, sizeof(f->dir), "%s/engine.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->out_path, sizeof(f->out_path), "%s/out.txt", f->dir);
	f->out_fd = open(f->out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(f->out_fd >= 0);
	assert_int_equal(reactor_new(&f->r, 0, NULL), 0);
	f->cfg.out_fd = f->out_fd;
	f->cfg.ui = UI_SIMPLE;
	f->cfg.flavor = &filter_flavor_cargo;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	engine_free(f->e);
	for (size_t i = 0; i < f->n_jobs; i++)
		job_spec_release(&f->jobs[i].spec);
	reactor_free(f->r);
	close(f->out_fd);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static uint64_t fake_submit(void *arg, struct job_spec *spec, executor_done_cb *cb, void *cb_arg)
{
	struct fx *f = arg;
	assert_true(f->n_jobs < ARRAY_SIZE(f->jobs));
	struct fake_job *j = &f->jobs[f->n_jobs++];
	j->id = 1000 + f->n_jobs;
	j->spec = *spec;
	memset(spec, 0, sizeof(*spec));
	j->cb = cb;
	j->arg = cb_arg;
	return j->id;
}

static void fake_cancel(void *arg, uint64_t id)
{
	struct fx *f = arg;
	for (size_t i = 0; i < f->n_jobs; i++)
		if (f->jobs[i].id == id)
			f->jobs[i].canceled = true;
}

/* Completes job i the way the client would. */
static void finish_job(struct fx *f, size_t i, enum job_outcome o, int code, const char *out)
{
	assert_true(i < f->n_jobs);
	struct fake_job *j = &f->jobs[i];
	assert_false(j->done);
	j->done = true;
	struct job_result *res = calloc(1, sizeof(*res));
	assert_non_null(res);
	res->outcome = o;
	res->code = code;
	res->duration_ns = 5000000 * (i + 1);
	if (o == JOB_TIMED_OUT || o == JOB_EXECUTION_ERROR)
		res->message = strdup(o == JOB_TIMED_OUT ? "timed out after 7 s" : "no such program");
	if (out) {
		res->out.data = strdup(out);
		res->out.len = strlen(out);
	}
	j->cb(j->arg, j->id, res);
}

/* Delivers JOB_CANCELED to every canceled job not done yet. */
static void flush_canceled(struct fx *f)
{
	for (size_t i = 0; i < f->n_jobs; i++)
		if (f->jobs[i].canceled && !f->jobs[i].done)
			finish_job(f, i, JOB_CANCELED, 0, NULL);
}

/* The program is the test's name, so tests can see what was submitted.
 * Names starting "ign" are ignored by a "directive", "broken" cannot run. */
static int job_fn(void *arg, const struct test_case *tc, struct job_spec *out, bool *ignored,
		  struct err **err)
{
	struct fx *f = arg;
	f->job_calls++;
	if (strncmp(tc->name, "ign", 3) == 0) {
		*ignored = true;
		return 0;
	}
	if (strcmp(tc->name, "broken") == 0)
		return err_set(err, 0, "directive 2: layer path missing");
	out->program = strdup(tc->name);
	out->timeout_s = 30;
	return 0;
}

static void on_finished(void *arg)
{
	struct fx *f = arg;
	f->finished_calls++;
	reactor_stop(f->r);
}

static struct test_case *mk(const char *pkg, const char *bin, enum target_kind kind,
			    const char *name)
{
	struct test_case *tc = calloc(1, sizeof(*tc));
	assert_non_null(tc);
	tc->package = strdup(pkg);
	tc->binary = bin ? strdup(bin) : NULL;
	tc->kind = kind;
	tc->name = strdup(name);
	assert_true(asprintf(&tc->id, "%s::%s::%s", pkg, bin ? bin : "-", name) > 0);
	assert_true(asprintf(&tc->display, "%s %s", pkg, name) > 0);
	return tc;
}

static void add(struct fx *f, struct test_case *tc)
{
	engine_add_tests(f->e, &tc, 1);
}

static void add_names(struct fx *f, const char *const *names)
{
	struct test_case *batch[32];
	size_t n = 0;
	for (; names[n]; n++)
		batch[n] = mk("pkg", "pkg", TARGET_LIB, names[n]);
	engine_add_tests(f->e, batch, n);
}

static void start(struct fx *f)
{
	struct err *err = NULL;
	int rc = engine_new(&f->e, f->r, NULL, &f->cfg, job_fn, NULL, f, &err);
	if (rc < 0)
		fail_msg("engine_new: %s", err_msg(err));
	engine_set_submitter(f->e, fake_submit, fake_cancel, f);
	engine_set_finished_cb(f->e, on_finished, f);
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	assert_non_null(fp);
	char *data = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&data, &len);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		fwrite(chunk, 1, n, mem);
	fclose(mem);
	fclose(fp);
	return data;
}

static char *output(struct fx *f)
{
	return slurp(f->out_path);
}

static const char *prog(struct fx *f, size_t i)
{
	assert_true(i < f->n_jobs);
	return f->jobs[i].spec.program;
}

/* ---- selection ------------------------------------------------------------------ */

static void test_include_exclude(void **state)
{
	struct fx *f = *state;
	const char *inc[] = { "name.starts_with(a)", "package.equals(other)" };
	const char *exc[] = { "name.contains(skip)" };
	f->cfg.includes = inc;
	f->cfg.n_includes = 2;
	f->cfg.excludes = exc;
	f->cfg.n_excludes = 1;
	start(f);
	struct test_case *batch[] = {
		mk("pkg", "pkg", TARGET_LIB, "alpha"),
		mk("pkg", "pkg", TARGET_LIB, "beta"),
		mk("pkg", "pkg", TARGET_LIB, "a_skip"),
		mk("other", "other", TARGET_LIB, "zeta"),
	};
	engine_add_tests(f->e, batch, 4);
	engine_discovery_done(f->e);
	assert_int_equal(f->n_jobs, 2);
	const char *p0 = prog(f, 0), *p1 = prog(f, 1);
	assert_true((!strcmp(p0, "alpha") && !strcmp(p1, "zeta")) ||
		    (!strcmp(p0, "zeta") && !strcmp(p1, "alpha")));
	assert_false(engine_finished(f->e));
	finish_job(f, 0, JOB_EXITED, 0, NULL);
	finish_job(f, 1, JOB_EXITED, 0, NULL);
	assert_true(engine_finished(f->e));
	assert_int_equal(f->finished_calls, 1);
	assert_int_equal(engine_exit_status(f->e), 0);
}

static void test_kind_selectors(void **state)
{
	struct fx *f = *state;
	const char *inc[] = { "test.equals(integ) | library" };
	f->cfg.includes = inc;
	f->cfg.n_includes = 1;
	start(f);
	struct test_case *batch[] = {
		mk("p", "integ", TARGET_TEST, "in_integ"),
		mk("p", "integ", TARGET_BIN, "bin_named_integ"),
		mk("p", "p", TARGET_LIB, "in_lib"),
		mk("p", "other", TARGET_TEST, "in_other"),
	};
	engine_add_tests(f->e, batch, 4);
	assert_int_equal(f->n_jobs, 2);
	bool saw_integ = false, saw_lib = false;
	for (size_t i = 0; i < 2; i++) {
		saw_integ |= strcmp(prog(f, i), "in_integ") == 0;
		saw_lib |= strcmp(prog(f, i), "in_lib") == 0;
	}
	assert_true(saw_integ && saw_lib);
}

static void test_pytest_markers(void **state)
{
	struct fx *f = *state;
	const char *inc[] = { "markers.contains(slow) && file.ends_with(_a.py)" };
	f->cfg.includes = inc;
	f->cfg.n_includes = 1;
	f->cfg.flavor = &filter_flavor_pytest;
	start(f);
	struct test_case *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	a->id = strdup("t/test_a.py::x");
	a->name = strdup("x");
	a->file = strdup("t/test_a.py");
	const char *ma[] = { "fast", "slow", NULL };
	a->markers = strv_dup(ma);
	b->id = strdup("t/test_b.py::y");
	b->name = strdup("y");
	b->file = strdup("t/test_b.py");
	b->markers = strv_dup(ma);
	struct test_case *batch[] = { a, b };
	engine_add_tests(f->e, batch, 2);
	assert_int_equal(f->n_jobs, 1);
	assert_string_equal(prog(f, 0), "x");
}

static void test_bad_filter(void **state)
{
	struct fx *f = *state;
	const char *exc[] = { "name.equals(a) &&" };
	f->cfg.excludes = exc;
	f->cfg.n_excludes = 1;
	struct err *err = NULL;
	assert_int_equal(engine_new(&f->e, f->r, NULL, &f->cfg, job_fn, NULL, f, &err), -1);
	assert_null(f->e);
	assert_non_null(strstr(err_msg(err), "--exclude"));
	assert_non_null(strstr(err_msg(err), "name.equals(a) &&"));
	err_free(&err);
}

static const char *pkg_only_lookup(void *arg, const char *sel)
{
	return strcmp(sel, "package") == 0 ? arg : NULL;
}

static void test_may_match(void **state)
{
	struct fx *f = *state;
	const char *inc[] = { "package.equals(foo) && name.equals(x)" };
	const char *exc[] = { "package.equals(bar)" };
	f->cfg.includes = inc;
	f->cfg.n_includes = 1;
	f->cfg.excludes = exc;
	f->cfg.n_excludes = 1;
	start(f);
	assert_int_equal(engine_may_match(f->e, pkg_only_lookup, NULL, "foo"), FILTER_UNKNOWN);
	assert_int_equal(engine_may_match(f->e, pkg_only_lookup, NULL, "baz"), FILTER_FALSE);
	assert_int_equal(engine_may_match(f->e, pkg_only_lookup, NULL, "bar"), FILTER_FALSE);
}

/* ---- running ------------------------------------------------------------------ */

static void test_outcomes_and_exit_status(void **state)
{
	struct fx *f = *state;
	start(f);
	const char *names[] = { "ok", "bad", "sig", "slow", "err", "broken", "ignore_me", NULL };
	add_names(f, names);
	struct test_case *pre = mk("pkg", "pkg", TARGET_LIB, "pre_ignored");
	pre->ignored = true;
	add(f, pre);
	engine_discovery_done(f->e);
	/* "broken" is an ERROR at once; the two ignored ones never run. */
	assert_int_equal(f->n_jobs, 5);
	for (size_t i = 0; i < f->n_jobs; i++) {
		const char *p = prog(f, i);
		if (!strcmp(p, "ok"))
			finish_job(f, i, JOB_EXITED, 0, NULL);
		else if (!strcmp(p, "bad"))
			finish_job(f, i, JOB_EXITED, 101, "assertion failed: 1 == 2");
		else if (!strcmp(p, "sig"))
			finish_job(f, i, JOB_SIGNALED, 11, NULL);
		else if (!strcmp(p, "slow"))
			finish_job(f, i, JOB_TIMED_OUT, 0, NULL);
		else
			finish_job(f, i, JOB_EXECUTION_ERROR, 0, NULL);
	}
	assert_true(engine_finished(f->e));
	assert_int_equal(engine_exit_status(f->e), 1);
	char *out = output(f);
	assert_non_null(strstr(out, "pkg bad"));
	assert_non_null(strstr(out, "FAIL"));
	assert_non_null(strstr(out, "TIMEOUT"));
	assert_non_null(strstr(out, "IGNORED"));
	assert_non_null(strstr(out, "assertion failed: 1 == 2"));
	assert_non_null(strstr(out, "directive 2: layer path missing"));
	assert_non_null(strstr(out, "pkg pre_ignored"));
	free(out);
	/* 2 ignored + 1 OK; 5 failures; nothing not run. */
	assert_int_equal(f->e->failures, 5);
	assert_int_equal(f->e->not_run, 0);
	assert_int_equal(f->e->completed, 8);
	assert_int_equal(f->e->total, 8);
}

static void test_ignored_only_passes(void **state)
{
	struct fx *f = *state;
	start(f);
	const char *names[] = { "ok", "ignore_me", NULL };
	add_names(f, names);
	engine_discovery_done(f->e);
	assert_int_equal(f->n_jobs, 1);
	finish_job(f, 0, JOB_EXITED, 0, NULL);
	assert_true(engine_finished(f->e));
	assert_int_equal(engine_exit_status(f->e), 0);
}

static void test_no_tests(void **state)
{
	struct fx *f = *state;
	start(f);
	engine_discovery_done(f->e);
	assert_true(engine_finished(f->e));
	assert_int_equal(f->finished_calls, 1);
	assert_int_equal(engine_exit_status(f->e), 0);
}

static void test_discovery_failed(void **state)
{
	struct fx *f = *state;
	start(f);
	const char *names[] = { "ok", NULL };
	add_names(f, names);
	engine_discovery_failed(f->e, "error: could not compile `pkg`");
	ui_message(engine_ui(f->e), "cargo: a line of build output");
	engine_discovery_done(f->e);
	assert_false(engine_finished(f->e));
	finish_job(f, 0, JOB_EXITED, 0, NULL);
	assert_true(engine_finished(f->e));
	assert_int_equal(engine_exit_status(f->e), 1);
	char *out = output(f);
	assert_non_null(strstr(out, "could not compile"));
	assert_non_null(strstr(out, "a line of build output"));
	free(out);
}

static uint32_t custom_calls;
static enum ui_outcome custom_outcome(void *arg, const struct test_case *tc,
				      const struct job_result *res, char **detail)
{
	(void)arg;
	(void)tc;
	custom_calls++;
	if (res->outcome == JOB_EXITED && res->code == 5) {
		*detail = strdup("skipped: needs network");
		return UI_SKIPPED;
	}
	return engine_default_outcome(NULL, tc, res, detail);
}

static void test_outcome_hook(void **state)
{
	struct fx *f = *state;
	start(f);
	engine_set_outcome_fn(f->e, custom_outcome, NULL);
	custom_calls = 0;
	const char *names[] = { "skipper", NULL };
	add_names(f, names);
	engine_discovery_done(f->e);
	finish_job(f, 0, JOB_EXITED, 5, NULL);
	assert_int_equal(custom_calls, 1);
	assert_true(engine_finished(f->e));
	assert_int_equal(engine_exit_status(f->e), 0);
	char *out = output(f);
	assert_non_null(strstr(out, "SKIPPED"));
	assert_non_null(strstr(out, "needs network"));
	free(out);
}

static void test_default_outcome(void **state)
{
	(void)state;
	struct job_result res = { .outcome = JOB_EXITED };
	char *detail = NULL;
	assert_int_equal(engine_default_outcome(NULL, NULL, &res, &detail), UI_OK);
	assert_null(detail);
	res.code = 3;
	assert_int_equal(engine_default_outcome(NULL, NULL, &res, &detail), UI_FAIL);
	assert_string_equal(detail, "exited with code 3");
	free(detail);
	res = (struct job_result){ .outcome = JOB_SIGNALED, .code = 9 };
	assert_int_equal(engine_default_outcome(NULL, NULL, &res, &detail), UI_FAIL);
	assert_string_equal(detail, "killed by signal 9 (SIGKILL)");
	free(detail);
	res = (struct job_result){ .outcome = JOB_TIMED_OUT, .message = "timed out after 2 s" };
	assert_int_equal(engine_default_outcome(NULL, NULL, &res, &detail), UI_TIMEOUT);
	assert_string_equal(detail, "timed out after 2 s");
	free(detail);
	res = (struct job_result){ .outcome = JOB_SYSTEM_ERROR, .message = "no slots" };
	assert_int_equal(engine_default_outcome(NULL, NULL, &res, &detail), UI_ERROR);
	assert_string_equal(detail, "no slots");
	free(detail);
	res = (struct job_result){ .outcome = JOB_EXECUTION_ERROR };
	assert_int_equal(engine_default_outcome(NULL, NULL, &res, &detail), UI_ERROR);
	assert_non_null(detail);
	free(detail);
}

static void test_timeout_override(void **state)
{
	struct fx *f = *state;
	f->cfg.timeout_override = 7;
	start(f);
	const char *names[] = { "a", NULL };
	add_names(f, names);
	assert_int_equal(f->n_jobs, 1);
	assert_int_equal(f->jobs[0].spec.timeout_s, 7);
}

static void test_no_timeout_override(void **state)
{
	struct fx *f = *state;
	start(f);
	const char *names[] = { "a", NULL };
	add_names(f, names);
	assert_int_equal(f->jobs[0].spec.timeout_s, 30);
}

static void test_repeat(void **state)
{
	struct fx *f = *state;
	f->cfg.repeat = 3;
	start(f);
	const char *names[] = { "a", "b", "ignore_me", NULL };
	add_names(f, names);
	engine_discovery_done(f->e);
	assert_int_equal(f->n_jobs, 6);
	unsigned a = 0;
	for (size_t i = 0; i < f->n_jobs; i++)
		a += strcmp(prog(f, i), "a") == 0;
	assert_int_equal(a, 3);
	for (size_t i = 0; i < f->n_jobs; i++)
		finish_job(f, i, JOB_EXITED, i == 4 ? 1 : 0, NULL);
	assert_true(engine_finished(f->e));
	assert_int_equal(engine_exit_status(f->e), 1);
	assert_int_equal(f->e->total, 7);   /* 3 + 3 runs, 1 ignored */
	assert_int_equal(f->e->completed, 7);
	char *out = output(f);
	assert_non_null(strstr(out, "pkg a [1/3]"));
	assert_non_null(strstr(out, "pkg a [3/3]"));
	assert_non_null(strstr(out, "pkg b [2/3]"));
	assert_null(strstr(out, "ignore_me ["));
	free(out);
}

static void test_stop_after(void **state)
{
	struct fx *f = *state;
	f->cfg.stop_after = 2;
	start(f);
	const char *names[] = { "a", "b", "c", "d", NULL };
	add_names(f, names);
	assert_int_equal(f->n_jobs, 4);
	finish_job(f, 0, JOB_EXITED, 1, NULL);
	for (size_t i = 0; i < 4; i++)
		assert_false(f->jobs[i].canceled);
	finish_job(f, 1, JOB_SIGNALED, 6, NULL);
	/* Second failure: the rest is canceled... */
	assert_true(f->jobs[2].canceled);
	assert_true(f->jobs[3].canceled);
	/* ...and tests discovered later are not even submitted. */
	const char *later[] = { "e", "f", NULL };
	add_names(f, later);
	assert_int_equal(f->n_jobs, 4);
	engine_discovery_done(f->e);
	assert_false(engine_finished(f->e));
	flush_canceled(f);
	assert_true(engine_finished(f->e));
	assert_int_equal(engine_exit_status(f->e), 1);
	assert_int_equal(f->e->not_run, 4);
	char *out = output(f);
	assert_non_null(strstr(out, "stopping after 2 failures"));
	free(out);
}

static void test_cancel_all(void **state)
{
	struct fx *f = *state;
	start(f);
	const char *names[] = { "a", "b", NULL };
	add_names(f, names);
	finish_job(f, 0, JOB_EXITED, 0, NULL);
	/* SIGINT while discovery still runs. */
	engine_cancel_all(f->e);
	assert_true(f->jobs[1].canceled);
	assert_false(engine_finished(f->e));
	flush_canceled(f);
	assert_true(engine_finished(f->e));
	assert_int_equal(f->finished_calls, 1);
	assert_int_equal(engine_exit_status(f->e), 130);
	/* Late arrivals are dropped. */
	const char *later[] = { "c", NULL };
	add_names(f, later);
	engine_discovery_done(f->e);
	assert_int_equal(f->n_jobs, 2);
	assert_int_equal(f->finished_calls, 1);
}

/* ---- order and state --------------------------------------------------------- */

static void test_order_from_state(void **state)
{
	struct fx *f = *state;
	char sdir[300];
	snprintf(sdir, sizeof(sdir), "%s/state", f->dir);
	struct state *s = NULL;
	assert_int_equal(state_load(&s, sdir, NULL), 0);
	state_record(s, "pkg::pkg::short", true, 10);
	state_record(s, "pkg::pkg::long", true, 900);
	state_record(s, "pkg::pkg::middle", true, 300);
	state_record(s, "pkg::pkg::flaky", false, 1);
	assert_int_equal(state_save(s, NULL), 0);
	state_free(s);

	f->cfg.state_dir = sdir;
	start(f);
	const char *names[] = { "short", "long", "flaky", "middle", "brand_new", NULL };
	add_names(f, names);
	assert_int_equal(f->n_jobs, 5);
	/* new and failed first, then longest expected first (new: 0 ms) */
	assert_string_equal(prog(f, 0), "flaky");
	assert_string_equal(prog(f, 1), "brand_new");
	assert_string_equal(prog(f, 2), "long");
	assert_string_equal(prog(f, 3), "middle");
	assert_string_equal(prog(f, 4), "short");
	assert_int_equal(f->jobs[0].spec.priority, 1);
	assert_int_equal(f->jobs[1].spec.priority, 1);
	assert_int_equal(f->jobs[2].spec.priority, 0);
	assert_int_equal(f->jobs[2].spec.estimated_duration_ms, 900);
}

static void test_state_recorded(void **state)
{
	struct fx *f = *state;
	char sdir[300];
	snprintf(sdir, sizeof(sdir), "%s/st", f->dir);
	f->cfg.state_dir = sdir;
	start(f);
	const char *names[] = { "good", "bad", NULL };
	add_names(f, names);
	engine_discovery_done(f->e);
	for (size_t i = 0; i < 2; i++)
		finish_job(f, i, JOB_EXITED, strcmp(prog(f, i), "bad") == 0, NULL);
	assert_true(engine_finished(f->e));

	struct state *s = NULL;
	assert_int_equal(state_load(&s, sdir, NULL), 0);
	assert_false(state_is_new(s, "pkg::pkg::good"));
	assert_false(state_failed_last(s, "pkg::pkg::good"));
	assert_true(state_failed_last(s, "pkg::pkg::bad"));
	assert_true(state_is_new(s, "pkg::pkg::other"));
	state_free(s);
}

static void test_junit_written(void **state)
{
	struct fx *f = *state;
	char jpath[300];
	snprintf(jpath, sizeof(jpath), "%s/junit.xml", f->dir);
	f->cfg.junit_path = jpath;
	start(f);
	struct test_case *batch[] = {
		mk("pkg", "bin1", TARGET_BIN, "mod::good"),
		mk("pkg", "bin1", TARGET_BIN, "mod::bad"),
		mk("pkg", "bin1", TARGET_BIN, "ign_x"),
	};
	engine_add_tests(f->e, batch, 3);
	engine_discovery_done(f->e);
	assert_int_equal(f->n_jobs, 2);
	for (size_t i = 0; i < 2; i++) {
		bool bad = strcmp(prog(f, i), "mod::bad") == 0;
		finish_job(f, i, JOB_EXITED, bad ? 101 : 0, bad ? "left: 1 right: 2" : NULL);
	}
	assert_true(engine_finished(f->e));
	char *xml = slurp(jpath);
	assert_non_null(strstr(xml, "<testsuite name=\"pkg::bin1\""));
	assert_non_null(strstr(xml, "name=\"mod::good\""));
	assert_non_null(strstr(xml, "name=\"mod::bad\""));
	assert_non_null(strstr(xml, "exited with code 101"));
	assert_non_null(strstr(xml, "left: 1 right: 2"));
	assert_non_null(strstr(xml, "<skipped"));
	free(xml);
}

static void test_junit_unwritable(void **state)
{
	struct fx *f = *state;
	char jpath[300];
	snprintf(jpath, sizeof(jpath), "%s/no/such/dir/junit.xml", f->dir);
	f->cfg.junit_path = jpath;
	start(f);
	const char *names[] = { "a", NULL };
	add_names(f, names);
	engine_discovery_done(f->e);
	finish_job(f, 0, JOB_EXITED, 0, NULL);
	assert_true(engine_finished(f->e));
	assert_int_equal(engine_exit_status(f->e), 1);
	char *out = output(f);
	assert_non_null(strstr(out, "JUnit"));
	free(out);
}

/* ---- --list ----------------------------------------------------------------- */

static void test_list_only(void **state)
{
	struct fx *f = *state;
	const char *exc[] = { "name.equals(hidden)" };
	f->cfg.excludes = exc;
	f->cfg.n_excludes = 1;
	f->cfg.list_only = true;
	start(f);
	const char *names[] = { "shown_one", "hidden", "shown_two", NULL };
	add_names(f, names);
	engine_discovery_done(f->e);
	assert_int_equal(f->n_jobs, 0);
	assert_int_equal(f->job_calls, 0);
	assert_true(engine_finished(f->e));
	assert_int_equal(engine_exit_status(f->e), 0);
	char *out = output(f);
	assert_non_null(strstr(out, "pkg shown_one\n"));
	assert_non_null(strstr(out, "pkg shown_two\n"));
	assert_null(strstr(out, "hidden"));
	free(out);
}

/* ---- --watch ----------------------------------------------------------------- */

static void write_file(const char *dir, const char *name)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	FILE *fp = fopen(p, "w");
	assert_non_null(fp);
	fputs("x\n", fp);
	fclose(fp);
}

static void make_dir(const char *dir, const char *name)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	assert_int_equal(mkdir(p, 0755), 0);
}

static void on_timeout(struct reactor *r, void *arg)
{
	bool *timed_out = arg;
	*timed_out = true;
	reactor_stop(r);
}

/* Runs the reactor until something stops it, or `ms` pass. Returns true
 * when the time ran out. */
static bool run_for(struct reactor *r, unsigned ms)
{
	bool timed_out = false;
	uint64_t t = reactor_timer_add(r, (uint64_t)ms * 1000000, on_timeout, &timed_out);
	assert_int_equal(reactor_run(r, NULL), 0);
	reactor_timer_cancel(r, t);
	return timed_out;
}

struct watch_probe {
	struct reactor *r;
	unsigned changes;
};

static void probe_changed(void *arg)
{
	struct watch_probe *p = arg;
	p->changes++;
	reactor_stop(p->r);
}

static void test_watch_tree(void **state)
{
	struct fx *f = *state;
	char root[300];
	snprintf(root, sizeof(root), "%s/proj", f->dir);
	assert_int_equal(mkdir(root, 0755), 0);
	make_dir(root, "src");
	make_dir(root, "target");
	make_dir(root, ".git");
	make_dir(root, "src/__pycache__");
	const char *ignore[] = { "target", "__pycache__", NULL };
	struct watch_probe probe = { .r = f->r };
	struct engine_watch *w = NULL;
	assert_int_equal(engine_watch_new(&w, f->r, root, ignore, 10 * 1000000, probe_changed,
					  &probe, NULL), 0);
	assert_int_equal(engine_watch_dirs(w), 2);   /* root, src */

	/* Disarmed: changes are dropped. */
	write_file(root, "src/lib.rs");
	assert_true(run_for(f->r, 150));
	assert_int_equal(probe.changes, 0);

	engine_watch_arm(w, true);
	/* Ignored places stay quiet: an ignored dir's inside is not watched,
	 * and events naming ignored or hidden entries are dropped. */
	write_file(root, "target/out.bin");
	write_file(root, "src/__pycache__/m.pyc");
	write_file(root, ".hidden");
	make_dir(root, "target/debug");
	assert_true(run_for(f->r, 150));
	assert_int_equal(probe.changes, 0);

	/* A new directory is followed, and a file written in it counts. */
	make_dir(root, "src/sub");
	assert_false(run_for(f->r, 10000));
	assert_int_equal(probe.changes, 1);
	assert_int_equal(engine_watch_dirs(w), 3);
	write_file(root, "src/sub/new.rs");
	assert_false(run_for(f->r, 10000));
	assert_int_equal(probe.changes, 2);
	engine_watch_free(w);
}

static void rediscover(void *arg)
{
	struct fx *f = arg;
	f->rediscovers++;
	add_names(f, f->rediscover_names);
	engine_discovery_done(f->e);
	reactor_stop(f->r);
}

static void test_watch_reruns(void **state)
{
	struct fx *f = *state;
	char root[300];
	snprintf(root, sizeof(root), "%s/proj", f->dir);
	assert_int_equal(mkdir(root, 0755), 0);
	make_dir(root, "target");
	const char *ignore[] = { "target", NULL };
	f->cfg.watch_dir = root;
	f->cfg.watch_ignore = ignore;
	struct err *err = NULL;
	assert_int_equal(engine_new(&f->e, f->r, NULL, &f->cfg, job_fn, rediscover, f, &err), 0);
	engine_set_submitter(f->e, fake_submit, fake_cancel, f);
	engine_set_finished_cb(f->e, on_finished, f);

	const char *first[] = { "a", NULL };
	add_names(f, first);
	engine_discovery_done(f->e);
	/* Written during the run: not a reason to rerun. */
	write_file(root, "early.rs");
	finish_job(f, 0, JOB_EXITED, 1, NULL);
	assert_false(engine_finished(f->e));
	assert_int_equal(engine_exit_status(f->e), 1);
	assert_true(run_for(f->r, 600));   /* the early event was dropped */
	assert_int_equal(f->rediscovers, 0);

	const char *second[] = { "a", "b", NULL };
	f->rediscover_names = second;
	write_file(root, "target/ignored");
	write_file(root, "lib.rs");
	assert_false(run_for(f->r, 10000));
	assert_int_equal(f->rediscovers, 1);
	assert_int_equal(f->n_jobs, 3);
	finish_job(f, 1, JOB_EXITED, 0, NULL);
	finish_job(f, 2, JOB_EXITED, 0, NULL);
	assert_false(engine_finished(f->e));
	assert_int_equal(engine_exit_status(f->e), 0);
	char *out = output(f);
	assert_non_null(strstr(out, "change detected, rerunning"));
	free(out);

	/* SIGINT while watching. */
	engine_cancel_all(f->e);
	assert_true(engine_finished(f->e));
	assert_int_equal(f->finished_calls, 1);
	assert_int_equal(engine_exit_status(f->e), 130);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_include_exclude, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kind_selectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pytest_markers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_may_match, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outcomes_and_exit_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ignored_only_passes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_tests, setup, teardown),
		cmocka_unit_test_setup_teardown(test_discovery_failed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outcome_hook, setup, teardown),
		cmocka_unit_test(test_default_outcome),
		cmocka_unit_test_setup_teardown(test_timeout_override, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_timeout_override, setup, teardown),
		cmocka_unit_test_setup_teardown(test_repeat, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_from_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_recorded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_junit_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_junit_unwritable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_reruns, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
