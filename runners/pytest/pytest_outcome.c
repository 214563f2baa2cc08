/*
 * pytest_outcome: the outcome line of the report plugin, and the outcome
 * shown for it. See pytest_outcome.h.
 */
#include "runners/pytest/pytest_outcome.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"
#include "runners/engine.h"

static const struct {
	const char *word;
	enum pytest_result result;
} results[] = {
	{"passed", PYTEST_PASSED},   {"failed", PYTEST_FAILED},
	{"error", PYTEST_ERROR},     {"skipped", PYTEST_SKIPPED},
	{"xfailed", PYTEST_XFAILED}, {"xpassed", PYTEST_XPASSED},
	{"xpassed-strict", PYTEST_XPASSED_STRICT}, {"none", PYTEST_NONE},
};

/* Where the last line starting with the mark begins in data[0..len), or
 * -1. A line starts at 0 or after '\n'. */
static long find_last_mark(const char *data, size_t len)
{
	static const char mark[] = PYTEST_OUTCOME_MARK " ";
	const size_t n = sizeof(mark) - 1;
	long found = -1;
	const char *p = data, *end = data + len;
	while (p && (size_t)(end - p) >= n) {
		const char *hit = memmem(p, (size_t)(end - p), mark, n);
		if (!hit)
			break;
		if (hit == data || hit[-1] == '\n')
			found = hit - data;
		p = hit + 1;
	}
	return found;
}

static int parse_record(const char *text, size_t len, struct pytest_outcome *out,
			struct err **err)
{
	json_error_t jerr;
	json_t *rec = json_loadb(text, len, 0, &jerr);
	if (!json_is_object(rec)) {
		json_decref(rec);
		return err_set(err, 0, "the outcome line of the report plugin is not a JSON "
				       "object: %.*s", (int)(len > 200 ? 200 : len), text);
	}
	const char *word = json_string_value(json_object_get(rec, "outcome"));
	const char *reason = json_string_value(json_object_get(rec, "reason"));
	const char *when = json_string_value(json_object_get(rec, "when"));
	int rc = err_set(err, 0, "the report plugin gave an unknown outcome `%s`",
			 word ? word : "(none)");
	for (size_t i = 0; word && i < sizeof(results) / sizeof(results[0]); i++) {
		if (strcmp(word, results[i].word) == 0) {
			err_free(err);
			out->result = results[i].result;
			out->reason = xstrdup(reason ? reason : "");
			out->when = xstrdup(when ? when : "");
			rc = 0;
			break;
		}
	}
	json_decref(rec);
	return rc;
}

int pytest_outcome_take(struct captured *c, struct pytest_outcome *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	if (!c->data || c->len == 0)
		return 0;
	long at = find_last_mark(c->data, c->len);
	if (at < 0)
		return 0;
	size_t start = (size_t)at, json = start + strlen(PYTEST_OUTCOME_MARK " ");
	const char *nl = memchr(c->data + json, '\n', c->len - json);
	size_t line_end = nl ? (size_t)(nl - c->data) : c->len;
	if (parse_record(c->data + json, line_end - json, out, err) < 0)
		return -1;
	/* Cut the line, its newline and the newline the plugin wrote before it. */
	size_t cut_from = start > 0 ? start - 1 : 0;
	size_t cut_to = nl ? line_end + 1 : line_end;
	memmove(c->data + cut_from, c->data + cut_to, c->len - cut_to);
	c->len -= cut_to - cut_from;
	c->data[c->len] = '\0';
	return 1;
}

void pytest_outcome_release(struct pytest_outcome *o)
{
	free(o->reason);
	free(o->when);
	o->reason = o->when = NULL;
}

/* "PREFIX: REASON", or PREFIX alone when there is no reason; NULL prefix
 * and no reason give NULL. */
static char *with_reason(const char *prefix, const char *reason)
{
	if (reason && *reason)
		return xasprintf("%s: %s", prefix, reason);
	return prefix ? xstrdup(prefix) : NULL;
}

static enum ui_outcome from_record(const struct pytest_outcome *o, const struct job_result *res,
				   char **detail)
{
	enum ui_outcome shown = UI_OK;
	switch (o->result) {
	case PYTEST_PASSED:
		shown = UI_OK;
		break;
	case PYTEST_FAILED:
		return UI_FAIL;   /* the UI describes the exit status */
	case PYTEST_ERROR:
		*detail = xasprintf("error in %s", *o->when ? o->when : "pytest");
		return UI_ERROR;
	case PYTEST_SKIPPED:
		*detail = with_reason("skipped", o->reason);
		shown = UI_SKIPPED;
		break;
	case PYTEST_XFAILED:
		*detail = with_reason("xfail", o->reason);
		shown = UI_XFAIL;
		break;
	case PYTEST_XPASSED:
		*detail = with_reason("XPASS (not strict)", o->reason);
		shown = UI_OK;
		break;
	case PYTEST_XPASSED_STRICT:
		*detail = with_reason("XPASS(strict)", o->reason);
		return UI_XPASS;
	case PYTEST_NONE:
		*detail = xasprintf("pytest ran no test (exit code %d); was the test renamed or "
				    "removed since it was collected?",
				    res->code);
		return UI_ERROR;
	}
	if (res->code != 0) {
		char *was = *detail;
		*detail = xasprintf("pytest exited with code %d although the test %s%s%s", res->code,
				    shown == UI_OK ? "passed" : "did not fail", was ? " -- " : "",
				    was ? was : "");
		free(was);
		return UI_FAIL;
	}
	return shown;
}

enum ui_outcome pytest_outcome_map(void *arg, const struct test_case *tc,
				   const struct job_result *res, char **detail)
{
	*detail = NULL;
	struct pytest_outcome o;
	struct err *err = NULL;
	/* The result is the engine's heap object; the line is ours to remove. */
	struct job_result *mut = (struct job_result *)res;
	int found = pytest_outcome_take(&mut->err, &o, &err);
	if (found < 0) {
		err_free(&err);
		found = 0;
	}
	if (found == 0 || res->outcome != JOB_EXITED) {
		if (found)
			pytest_outcome_release(&o);
		return engine_default_outcome(arg, tc, res, detail);
	}
	enum ui_outcome shown = from_record(&o, res, detail);
	pytest_outcome_release(&o);
	return shown;
}
