/*
 * engine_filter: --include / --exclude, and how a test case answers the
 * filter language's selectors.
 *
 * A test is selected when it matches any include (every test, when there is
 * none) and no exclude. With three-valued logic that is
 *     (inc_1 || inc_2 || ...) && !(exc_1 || exc_2 || ...)
 * which is what engine_may_match reports before the tests are known.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "runners/engine_internal.h"

int engine_filters_parse(struct engine_filters *f, const struct engine_config *cfg,
			 struct err **err)
{
	memset(f, 0, sizeof(*f));
	const struct filter_flavor *fl = cfg->flavor ? cfg->flavor : &filter_flavor_cargo;
	f->inc = calloc(cfg->n_includes + 1, sizeof(*f->inc));
	f->exc = calloc(cfg->n_excludes + 1, sizeof(*f->exc));
	if (!f->inc || !f->exc)
		abort();
	for (size_t i = 0; i < cfg->n_includes; i++) {
		if (filter_parse(cfg->includes[i], fl, &f->inc[i], err) < 0) {
			engine_filters_release(f);
			return err_wrap(err, "--include");
		}
		f->n_inc++;
	}
	for (size_t i = 0; i < cfg->n_excludes; i++) {
		if (filter_parse(cfg->excludes[i], fl, &f->exc[i], err) < 0) {
			engine_filters_release(f);
			return err_wrap(err, "--exclude");
		}
		f->n_exc++;
	}
	return 0;
}

void engine_filters_release(struct engine_filters *f)
{
	for (size_t i = 0; i < f->n_inc; i++)
		filter_free(f->inc[i]);
	for (size_t i = 0; i < f->n_exc; i++)
		filter_free(f->exc[i]);
	free(f->inc);
	free(f->exc);
	memset(f, 0, sizeof(*f));
}

static enum filter_value any_of(struct filter *const *fs, size_t n, filter_lookup_fn *lookup,
				filter_simple_fn *simple, void *arg)
{
	enum filter_value v = FILTER_FALSE;
	for (size_t i = 0; i < n && v != FILTER_TRUE; i++) {
		enum filter_value one = filter_eval(fs[i], lookup, simple, arg);
		if (one == FILTER_TRUE || one == FILTER_UNKNOWN)
			v = one;
	}
	return v;
}

enum filter_value engine_filters_eval(const struct engine_filters *f, filter_lookup_fn *lookup,
				      filter_simple_fn *simple, void *arg)
{
	enum filter_value inc = f->n_inc ? any_of(f->inc, f->n_inc, lookup, simple, arg)
					 : FILTER_TRUE;
	if (inc == FILTER_FALSE)
		return FILTER_FALSE;
	enum filter_value exc = any_of(f->exc, f->n_exc, lookup, simple, arg);
	if (exc == FILTER_TRUE)
		return FILTER_FALSE;
	if (inc == FILTER_TRUE && exc == FILTER_FALSE)
		return FILTER_TRUE;
	return FILTER_UNKNOWN;
}

/* ---- a test case as the filter sees it ---------------------------------- */

void engine_case_view_init(struct engine_case_view *v, const struct test_case *tc)
{
	v->tc = tc;
	buf_init(&v->markers);
}

void engine_case_view_release(struct engine_case_view *v)
{
	buf_release(&v->markers);
}

/* Everything about a listed test is known: a missing field reads as "". */
static const char *or_empty(const char *s)
{
	return s ? s : "";
}

const char *engine_case_lookup(void *arg, const char *selector)
{
	struct engine_case_view *v = arg;
	const struct test_case *tc = v->tc;
	if (strcmp(selector, "name") == 0)
		return or_empty(tc->name);
	if (strcmp(selector, "package") == 0)
		return or_empty(tc->package);
	if (strcmp(selector, "file") == 0)
		return or_empty(tc->file);
	if (strcmp(selector, "node_id") == 0)
		return or_empty(tc->node_id);
	/* cargo: the target's name, asked only once the kind matched */
	if (strcmp(selector, "binary") == 0 || strcmp(selector, "benchmark") == 0 ||
	    strcmp(selector, "example") == 0 || strcmp(selector, "test") == 0)
		return or_empty(tc->binary);
	if (strcmp(selector, "markers") == 0) {
		buf_reset(&v->markers);
		buf_appends(&v->markers, "");
		for (char **m = tc->markers; m && *m; m++) {
			if (m != tc->markers)
				buf_append(&v->markers, "\n", 1);
			buf_appends(&v->markers, *m);
		}
		return v->markers.data ? v->markers.data : "";
	}
	return "";
}

bool engine_case_simple(void *arg, const char *selector, bool *known)
{
	const struct engine_case_view *v = arg;
	enum target_kind kind = v->tc->kind;
	*known = true;
	if (strcmp(selector, "library") == 0)
		return kind == TARGET_LIB;
	if (strcmp(selector, "binary") == 0)
		return kind == TARGET_BIN;
	if (strcmp(selector, "test") == 0)
		return kind == TARGET_TEST;
	if (strcmp(selector, "benchmark") == 0)
		return kind == TARGET_BENCH;
	if (strcmp(selector, "example") == 0)
		return kind == TARGET_EXAMPLE;
	return false;
}

bool engine_filters_select(const struct engine_filters *f, const struct test_case *tc)
{
	struct engine_case_view v;
	engine_case_view_init(&v, tc);
	enum filter_value val = engine_filters_eval(f, engine_case_lookup, engine_case_simple, &v);
	engine_case_view_release(&v);
	return val == FILTER_TRUE;
}
