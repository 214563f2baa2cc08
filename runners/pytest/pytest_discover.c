/*
 * pytest_discover: collect, adopt the interpreter, hand tests to the
 * engine. See pytest_discover.h.
 */
#include "runners/pytest/pytest_discover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/spec_json.h"
#include "core/strv.h"
#include "core/xalloc.h"
#include "runners/pytest/pytest_collect.h"
#include "runners/pytest/pytest_python_cache.h"
#include "runners/spec_file.h"

struct pytest_discover {
	struct reactor *r;
	struct engine *e;
	const struct pytest_opts *opts;
	struct directives *directives;
	struct pytest_python python;   /* the interpreter the jobs use */
	bool have_python;
	char *interpreter;             /* the candidate that worked last */
	bool adopted;                  /* this collection's interpreter is */
	json_t *guess;                 /* the last run's record, adopted ahead
					  of this collection's (raw); or NULL */
	char *guess_interpreter;       /* the candidate it came from */
	struct client *client;         /* for the zygote started ahead; or NULL */
	struct pytest_job_ctx job;
	char **files;                  /* job.files: the zygote's FILE... */
	struct pytest_collect *collect;
	bool text_to_stderr;
	bool stopped;
};

int pytest_load_directives(const char *project_dir, struct directives **out, struct err **err)
{
	return spec_file_load(project_dir, PYTEST_SPEC_FILE, &filter_flavor_pytest, out, err);
}

struct pytest_discover *pytest_discover_new(struct reactor *r, const struct pytest_opts *opts,
					    struct directives *dirs)
{
	struct pytest_discover *d = xcalloc(1, sizeof(*d));
	d->r = r;
	d->opts = opts;
	d->directives = dirs;
	d->job.directives = dirs;
	d->job.project_dir = opts->project_dir;
	d->job.helpers_dir = opts->helpers_dir;
	d->job.args = opts->test_args;
	d->job.n_args = opts->n_test_args;
	d->job.fork_server = opts->fork_server;
	d->job.zygote_collects_default = !opts->collect_extra;
	return d;
}

void pytest_discover_set_client(struct pytest_discover *d, struct client *c)
{
	d->client = c;
}

void pytest_discover_attach(struct pytest_discover *d, struct engine *e, bool text_to_stderr)
{
	d->e = e;
	d->text_to_stderr = text_to_stderr;
}

int pytest_discover_job(void *arg, const struct test_case *tc, struct job_spec *out,
			bool *ignored, struct err **err)
{
	struct pytest_discover *d = arg;
	if (pytest_job_make(&d->job, tc, out, ignored, err) < 0)
		return -1;
	if (!*ignored && log_get_level() >= LOG_DEBUG) {
		/* The whole job, as maelstrom-run reads it (for reproducing one). */
		json_t *j = job_spec_to_json(out);
		char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
		/* Longer than log_msg's line: written whole, in its format. */
		if (text)
			fprintf(stderr, "maelstrom-pytest: debug: %s: job spec: %s\n", tc->display,
				text);
		free(text);
		json_decref(j);
	}
	return 0;
}

/* Discovery failed: say so where the user looks. */
static void failed(struct pytest_discover *d, const char *message)
{
	if (d->text_to_stderr) {
		size_t n = strlen(message);
		fprintf(stderr, "maelstrom-pytest: error: %s%s", message,
			n && message[n - 1] == '\n' ? "" : "\n");
		engine_discovery_failed(d->e, NULL);   /* the exit status only */
		return;
	}
	engine_discovery_failed(d->e, message);
}

/* Takes the interpreter that collects for the jobs. */
static void adopt_python(struct pytest_discover *d, struct pytest_python *py)
{
	pytest_python_release(&d->python);
	d->python = *py;
	memset(py, 0, sizeof(*py));
	d->have_python = true;
	d->job.python = &d->python;
	size_t dropped = pytest_python_check_extensions(&d->python);
	log_debug("tests run with %s (Python %s, pytest %s); %zu extension module%s left out",
		  d->python.executable, d->python.version, d->python.pytest_version, dropped,
		  dropped == 1 ? "" : "s");
}

static void adopt(struct pytest_discover *d, struct pytest_collection *res)
{
	adopt_python(d, &res->python);
	free(d->interpreter);
	d->interpreter = xstrdup(res->interpreter);
}

/* Whether the engine's filters select the test. */
static bool selected(void *arg, const struct test_case *tc)
{
	struct pytest_discover *d = arg;
	struct engine_case_view view;
	engine_case_view_init(&view, tc);
	enum filter_value v = engine_may_match(d->e, engine_case_lookup, engine_case_simple, &view);
	engine_case_view_release(&view);
	return v != FILTER_FALSE;
}

/* Unless it collects pytest's default, the run's zygote collects the
 * files of the selected tests (set before the engine makes any job of
 * this run). */
static void set_files(struct pytest_discover *d, const struct pytest_collection *res)
{
	strv_free(d->files);
	d->files = NULL;
	d->job.files = NULL;
	d->job.n_files = 0;
	if (!d->job.fork_server || d->job.zygote_collects_default)
		return;
	d->files = pytest_job_files(res->tests, res->n_tests, selected, d);
	d->job.files = (const char *const *)d->files;
	d->job.n_files = strv_len(d->job.files);
}

/* Starts the run's zygote while the host collects (see
 * pytest_discover.h). Anything in the way only costs the head start. */
static void prewarm(struct pytest_discover *d)
{
	if (!d->client || d->stopped)
		return;
	struct job_spec spec = { 0 };
	struct err *err = NULL;
	int rc = pytest_job_prewarm(&d->job, &spec, &err);
	if (rc < 0) {
		log_debug("no fork server started ahead: %s", err_msg(err));
		err_free(&err);
	} else if (rc > 0) {
		client_prewarm(d->client, &spec);
	}
}

static void forget_guess(struct pytest_discover *d)
{
	json_decref(d->guess);
	d->guess = NULL;
	free(d->guess_interpreter);
	d->guess_interpreter = NULL;
}

/* Before the first collection: adopts the interpreter of the last run
 * (pytest_python_cache.h) when this run may try it too, and starts the
 * zygote with it at once, without waiting for the helper's record. */
static void guess(struct pytest_discover *d)
{
	forget_guess(d);
	if (d->have_python || !d->opts->python_cache || !d->client || !d->job.fork_server ||
	    !d->job.zygote_collects_default)
		return;
	char *interp = NULL;
	struct pytest_python py;
	struct err *err = NULL;
	int rc = pytest_python_cache_load(d->opts->python_cache, &interp, &py, &err);
	if (rc < 0)
		log_debug("the last run's interpreter is unknown: %s", err_msg(err));
	err_free(&err);
	if (rc <= 0)
		return;
	char **cands = pytest_python_candidates(d->opts->python);
	bool tried = false;
	for (char **c = cands; *c && !tried; c++)
		tried = strcmp(*c, interp) == 0;
	strv_free(cands);
	if (!tried) {
		free(interp);
		pytest_python_release(&py);
		return;
	}
	d->guess = pytest_python_to_json(&py);
	d->guess_interpreter = interp;
	log_debug("guessing the interpreter of the last run, %s", interp);
	adopt_python(d, &py);
	prewarm(d);
}

/* The interpreter is known and pytest is about to collect. */
static void on_python(void *arg, struct pytest_collection *res)
{
	struct pytest_discover *d = arg;
	json_t *fresh = pytest_python_to_json(&res->python);
	bool guessed = d->guess && json_equal(fresh, d->guess) &&
		       strcmp(d->guess_interpreter, res->interpreter) == 0;
	json_decref(fresh);
	struct err *err = NULL;
	if (!guessed && d->opts->python_cache &&
	    pytest_python_cache_save(d->opts->python_cache, res->interpreter, &res->python,
				     &err) < 0) {
		log_debug("the interpreter is not kept for the next run: %s", err_msg(err));
		err_free(&err);
	}
	forget_guess(d);
	adopt(d, res);
	d->adopted = true;
	/* A right guess started this zygote already. */
	if (!guessed)
		prewarm(d);
}

static void on_collected(void *arg, struct pytest_collection *res)
{
	struct pytest_discover *d = arg;
	pytest_collect_free(d->collect);   /* from inside its callback: allowed */
	d->collect = NULL;
	log_debug("collected %zu test%s", res->n_tests, res->n_tests == 1 ? "" : "s");
	if (res->found && !d->adopted)
		adopt(d, res);
	if (res->n_tests && !d->stopped) {
		set_files(d, res);
		engine_add_tests(d->e, res->tests, res->n_tests);
		res->n_tests = 0;   /* the engine took them */
	}
	if (res->failed)
		failed(d, res->message ? res->message : "collecting the tests failed");
	pytest_collection_release(res);
	engine_discovery_done(d->e);
}

/* The interpreters to try: the one that worked last first. */
static char **candidates(const struct pytest_discover *d)
{
	char **all = pytest_python_candidates(d->opts->python);
	if (!d->interpreter)
		return all;
	char **v = strv_push(strv_dup(NULL), d->interpreter);
	for (char **c = all; *c; c++)
		if (strcmp(*c, d->interpreter) != 0)
			v = strv_push(v, *c);
	strv_free(all);
	return v;
}

void pytest_discover_start(struct pytest_discover *d)
{
	d->stopped = false;
	d->adopted = false;
	guess(d);
	char **cands = candidates(d);
	struct pytest_collect_opts o = {
		.candidates = (const char *const *)cands,
		.helpers_dir = d->opts->helpers_dir,
		.project_dir = d->opts->project_dir,
		.args = d->opts->collect_args,
		.n_args = d->opts->n_collect_args,
		.on_python = on_python,
	};
	d->collect = pytest_collect_start(d->r, &o, on_collected, d);
	strv_free(cands);
}

void pytest_discover_rerun(void *arg)
{
	struct pytest_discover *d = arg;
	struct directives *dirs = NULL;
	struct err *err = NULL;
	if (pytest_load_directives(d->opts->project_dir, &dirs, &err) < 0) {
		failed(d, err_msg(err));
		err_free(&err);
		engine_discovery_done(d->e);
		return;
	}
	directives_free(d->directives);
	d->directives = dirs;
	d->job.directives = dirs;
	pytest_discover_start(d);
}

void pytest_discover_stop(struct pytest_discover *d)
{
	if (!d)
		return;
	d->stopped = true;
	pytest_collect_free(d->collect);
	d->collect = NULL;
}

void pytest_discover_free(struct pytest_discover *d)
{
	if (!d)
		return;
	pytest_discover_stop(d);
	directives_free(d->directives);
	pytest_python_release(&d->python);
	free(d->interpreter);
	forget_guess(d);
	strv_free(d->files);
	free(d);
}
