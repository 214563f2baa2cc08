/*
 * pytest_collect: run the collection helper with each interpreter until one
 * has pytest, and turn its records into test cases. See pytest_collect.h.
 */
#include "runners/pytest/pytest_collect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/strv.h"
#include "core/subprocess.h"
#include "core/xalloc.h"

/* pytest's exit statuses that mean the collection went fine. */
#define PYTEST_EXIT_OK 0
#define PYTEST_EXIT_NO_TESTS 5

/* Most of pytest's report kept to show when collection fails. */
#define STDERR_LIMIT (1024 * 1024)

/* ---- test cases -------------------------------------------------------------- */

static void pytest_case_free(void *p)
{
	struct pytest_case *pc = p;
	if (!pc)
		return;
	free(pc->run_arg);
	free(pc->skip_reason);
	free(pc);
}

const struct pytest_case *pytest_case_of(const struct test_case *tc)
{
	if (!tc || tc->runner_data_free != pytest_case_free)
		return NULL;
	return tc->runner_data;
}

/* A string field: *out gets a heap copy, or of dflt when the field is
 * absent (dflt NULL: required). */
static int field_string(const json_t *rec, const char *field, const char *dflt, char **out,
			struct err **err)
{
	const json_t *v = json_object_get(rec, field);
	if (!v && dflt) {
		*out = xstrdup(dflt);
		return 0;
	}
	if (!json_is_string(v))
		return err_set(err, 0, "test record: `%s` %s", field,
			       v ? "is not a string" : "is missing");
	*out = xstrdup(json_string_value(v));
	return 0;
}

static int field_markers(const json_t *rec, char ***out, struct err **err)
{
	const json_t *v = json_object_get(rec, "markers");
	*out = strv_dup(NULL);
	if (!v)
		return 0;
	if (!json_is_array(v))
		return err_set(err, 0, "test record: `markers` is not a list");
	size_t i;
	const json_t *m;
	json_array_foreach(v, i, m) {
		const char *s = json_string_value(m);
		/* The filter's list lookup joins markers with '\n'. */
		if (!s || strchr(s, '\n'))
			return err_set(err, 0, "test record: `markers[%zu]` is not a marker name", i);
		*out = strv_push(*out, s);
	}
	return 0;
}

struct test_case *pytest_case_from_json(const json_t *rec, struct err **err)
{
	if (!json_is_object(rec)) {
		err_set(err, 0, "test record is not a JSON object");
		return NULL;
	}
	struct test_case *tc = xcalloc(1, sizeof(*tc));
	struct pytest_case *pc = xcalloc(1, sizeof(*pc));
	tc->runner_data = pc;
	tc->runner_data_free = pytest_case_free;
	tc->kind = TARGET_NONE;
	const json_t *skip = json_object_get(rec, "skip");
	if (field_string(rec, "node_id", NULL, &tc->node_id, err) < 0 ||
	    field_string(rec, "name", tc->node_id, &tc->name, err) < 0 ||
	    field_string(rec, "file", "", &tc->file, err) < 0 ||
	    field_string(rec, "package", "", &tc->package, err) < 0 ||
	    field_string(rec, "run_arg", tc->node_id, &pc->run_arg, err) < 0 ||
	    field_string(rec, "skip_reason", "", &pc->skip_reason, err) < 0 ||
	    field_markers(rec, &tc->markers, err) < 0)
		goto fail;
	if (skip && !json_is_boolean(skip)) {
		err_set(err, 0, "test record: `skip` is not true or false");
		goto fail;
	}
	if (tc->node_id[0] == '\0') {
		err_set(err, 0, "test record: `node_id` is empty");
		goto fail;
	}
	pc->skip = json_is_true(skip);
	tc->id = xstrdup(tc->node_id);
	tc->display = xstrdup(tc->node_id);
	return tc;
fail:
	if (tc->node_id)
		err_wrap(err, "%s", tc->node_id);
	test_case_free(tc);
	return NULL;
}

/* ---- records ------------------------------------------------------------------- */

void pytest_collection_release(struct pytest_collection *c)
{
	free(c->interpreter);
	pytest_python_release(&c->python);
	for (size_t i = 0; i < c->n_tests; i++)
		test_case_free(c->tests[i]);
	free(c->tests);
	free(c->message);
	memset(c, 0, sizeof(*c));
	c->exit_code = -1;
}

static void add_test(struct pytest_collection *c, struct test_case *tc)
{
	if (c->n_tests == c->cap_tests) {
		c->cap_tests = c->cap_tests ? 2 * c->cap_tests : 64;
		c->tests = xrealloc(c->tests, c->cap_tests * sizeof(*c->tests));
	}
	c->tests[c->n_tests++] = tc;
}

int pytest_collection_feed(struct pytest_collection *c, const char *line, size_t len,
			   char **no_pytest, struct err **err)
{
	size_t start = 0;
	while (start < len && (line[start] == ' ' || line[start] == '\t' || line[start] == '\r'))
		start++;
	if (start == len)
		return 0;
	json_error_t jerr;
	json_t *rec = json_loadb(line + start, len - start, 0, &jerr);
	if (!rec)
		return err_set(err, 0, "the collection helper wrote a line that is not JSON (%s): "
				       "%.*s", jerr.text, (int)(len > 200 ? 200 : len), line);
	int rc = 0;
	const char *type = json_string_value(json_object_get(rec, "type"));
	if (!json_is_object(rec) || !type) {
		rc = err_set(err, 0, "the collection helper wrote a record without a `type`: "
				     "%.*s", (int)(len > 200 ? 200 : len), line);
	} else if (strcmp(type, "test") == 0) {
		struct test_case *tc = pytest_case_from_json(rec, err);
		if (tc)
			add_test(c, tc);
		else
			rc = -1;
	} else if (strcmp(type, "python") == 0) {
		pytest_python_release(&c->python);
		rc = pytest_python_from_json(rec, &c->python, err);
		c->found = rc == 0;
	} else if (strcmp(type, "no-pytest") == 0) {
		const char *e = json_string_value(json_object_get(rec, "error"));
		if (no_pytest) {
			free(*no_pytest);
			*no_pytest = xstrdup(e ? e : "pytest cannot be imported");
		}
	} else if (strcmp(type, "done") == 0) {
		const json_t *code = json_object_get(rec, "exit");
		if (!json_is_integer(code))
			rc = err_set(err, 0, "done record: `exit` is not a number");
		else
			c->exit_code = (int)json_integer_value(code);
	} else {
		rc = err_set(err, 0, "the collection helper wrote a record of unknown type `%s`",
			     type);
	}
	json_decref(rec);
	return rc;
}

/* ---- running the helper --------------------------------------------------------- */

struct pytest_collect {
	struct reactor *r;
	char **candidates;
	size_t next;                  /* the candidate to try after the current one */
	char *helpers_dir;
	char *project_dir;
	char **args;
	pytest_collect_cb *cb;
	pytest_python_cb *on_python;
	void *arg;
	struct subprocess *sp;
	uint64_t timer;               /* reporting a failure that came at once */
	struct pytest_collection res;
	char *no_pytest;              /* the current candidate's "no-pytest" error */
	char *bad_record;             /* the first unreadable record */
	struct buf tried;             /* "  CANDIDATE: what happened\n" per failure */
};

static void finish(struct pytest_collect *c)
{
	struct pytest_collection res = c->res;
	memset(&c->res, 0, sizeof(c->res));
	c->res.exit_code = -1;
	c->cb(c->arg, &res);   /* last: the callee may free c */
}

/* The last few lines of text (what an interpreter said before dying). */
static void append_tail(struct buf *b, const char *text, size_t len)
{
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	size_t start = len, lines = 0;
	while (start > 0 && lines < 4) {
		start--;
		if (text[start] == '\n')
			lines++;
	}
	if (text[start] == '\n')
		start++;
	for (size_t i = start; i < len; i++) {
		buf_append(b, text + i, 1);
		if (text[i] == '\n')
			buf_appends(b, "      ");
	}
}

static void no_interpreter(struct pytest_collect *c)
{
	struct buf b = BUF_INIT;
	buf_appendf(&b, "no Python interpreter with pytest found; tried:\n%s",
		    c->tried.data ? c->tried.data : "");
	buf_appends(&b, "Install pytest for one of them (`python3 -m pip install pytest`, or on "
			"Debian `apt install python3-pytest`), or name an interpreter that has it "
			"with the `python` configuration value (--python PATH, or "
			"MAELSTROM_PYTEST_PYTHON=PATH).");
	c->res.failed = true;
	c->res.message = buf_detach(&b, NULL);
}

static void on_timer(struct reactor *r, void *arg)
{
	struct pytest_collect *c = arg;
	(void)r;
	c->timer = 0;
	finish(c);
}

static void try_next(struct pytest_collect *c);

static void on_line(struct subprocess *sp, int stream, const char *line, size_t len, void *arg)
{
	struct pytest_collect *c = arg;
	(void)sp;
	(void)stream;
	struct err *err = NULL;
	bool found = c->res.found;
	if (pytest_collection_feed(&c->res, line, len, &c->no_pytest, &err) < 0) {
		if (!c->bad_record)
			c->bad_record = xstrdup(err_msg(err));
		err_free(&err);
	}
	if (!found && c->res.found && c->on_python)
		c->on_python(c->arg, &c->res);
}

/* The collection with the interpreter that had pytest ended. */
static void collected(struct pytest_collect *c, const struct child_status *st)
{
	size_t len = 0;
	const char *report = subprocess_captured(c->sp, 2, &len, NULL);
	char status[96];
	subprocess_status_text(st, status, sizeof(status));
	int code = c->res.exit_code;
	bool ok = !st->signaled && (st->code == PYTEST_EXIT_OK || st->code == PYTEST_EXIT_NO_TESTS) &&
		  (code == PYTEST_EXIT_OK || code == PYTEST_EXIT_NO_TESTS) && !c->bad_record;
	if (ok)
		return;
	struct buf b = BUF_INIT;
	if (c->bad_record)
		buf_appendf(&b, "collecting the tests with %s: %s\n", c->res.interpreter,
			    c->bad_record);
	else
		buf_appendf(&b, "pytest could not collect the tests (%s %s, %s)%s\n",
			    c->res.interpreter, PYTEST_COLLECT_SCRIPT, status,
			    len ? "; its report:" : "");
	if (len)
		buf_append(&b, report, len);
	c->res.failed = true;
	c->res.message = buf_detach(&b, NULL);
}

static void on_done(struct subprocess *sp, const struct child_status *st, void *arg)
{
	struct pytest_collect *c = arg;
	(void)sp;
	if (c->res.found) {
		collected(c, st);
		subprocess_free(c->sp);
		c->sp = NULL;
		finish(c);
		return;
	}
	/* This interpreter did not work: say why, and try the next one. */
	const char *cand = c->candidates[c->next - 1];
	buf_appendf(&c->tried, "  %s: ", cand);
	if (c->no_pytest) {
		buf_appends(&c->tried, c->no_pytest);
	} else if (c->bad_record) {
		buf_appends(&c->tried, c->bad_record);
	} else {
		char status[96];
		size_t len = 0;
		const char *said = subprocess_captured(c->sp, 2, &len, NULL);
		buf_appendf(&c->tried, "%s", subprocess_status_text(st, status, sizeof(status)));
		if (len) {
			buf_appends(&c->tried, ":\n      ");
			append_tail(&c->tried, said, len);
		}
	}
	buf_appends(&c->tried, "\n");
	subprocess_free(c->sp);
	c->sp = NULL;
	try_next(c);
}

static void try_next(struct pytest_collect *c)
{
	while (c->candidates[c->next]) {
		const char *cand = c->candidates[c->next++];
		free(c->no_pytest);
		c->no_pytest = NULL;
		free(c->bad_record);
		c->bad_record = NULL;
		pytest_collection_release(&c->res);
		c->res.interpreter = xstrdup(cand);

		_cleanup_free_ char *script =
			xasprintf("%s/%s", c->helpers_dir, PYTEST_COLLECT_SCRIPT);
		char **argv = strv_dup((const char *const[]){cand, script, NULL});
		for (char **a = c->args; a && *a; a++)
			argv = strv_push(argv, *a);
		struct subprocess_options o = {
			.argv = (const char *const *)argv,
			.cwd = c->project_dir,
			.out = SUBPROCESS_LINES,
			.err = SUBPROCESS_CAPTURE,
			.capture_limit = STDERR_LIMIT,
			.new_process_group = true,
			.on_line = on_line,
			.on_done = on_done,
			.arg = c,
		};
		struct err *err = NULL;
		int rc = subprocess_spawn(&c->sp, c->r, &o, &err);
		strv_free(argv);
		if (rc == 0)
			return;
		buf_appendf(&c->tried, "  %s: %s\n", cand, err_msg(err));
		err_free(&err);
		c->sp = NULL;
	}
	pytest_collection_release(&c->res);
	no_interpreter(c);
	c->timer = reactor_timer_add(c->r, 0, on_timer, c);
}

struct pytest_collect *pytest_collect_start(struct reactor *r, const struct pytest_collect_opts *o,
					    pytest_collect_cb *cb, void *arg)
{
	struct pytest_collect *c = xcalloc(1, sizeof(*c));
	c->r = r;
	c->candidates = strv_dup(o->candidates);
	c->helpers_dir = xstrdup(o->helpers_dir);
	c->project_dir = xstrdup(o->project_dir);
	c->args = strv_dup(NULL);
	for (size_t i = 0; i < o->n_args; i++)
		c->args = strv_push(c->args, o->args[i]);
	c->cb = cb;
	c->on_python = o->on_python;
	c->arg = arg;
	c->res.exit_code = -1;
	try_next(c);
	return c;
}

void pytest_collect_free(struct pytest_collect *c)
{
	if (!c)
		return;
	subprocess_free(c->sp);
	reactor_timer_cancel(c->r, c->timer);
	pytest_collection_release(&c->res);
	strv_free(c->candidates);
	strv_free(c->args);
	free(c->helpers_dir);
	free(c->project_dir);
	free(c->no_pytest);
	free(c->bad_record);
	buf_release(&c->tried);
	free(c);
}
