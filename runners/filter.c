/*
 * filter: evaluation, printing and freeing of parsed filters, and the
 * runners' flavors. Parsing lives in filter_parse.c.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/glob.h"
#include "runners/filter.h"
#include "runners/filter_internal.h"

const char *const filter_matcher_names[] = {
	[FM_EQUALS] = "equals",
	[FM_CONTAINS] = "contains",
	[FM_STARTS_WITH] = "starts_with",
	[FM_ENDS_WITH] = "ends_with",
	[FM_MATCHES] = "matches",
	[FM_GLOBS] = "globs",
	NULL,
};

static const char *const cargo_simple[] = {
	"library", "binary", "benchmark", "example", "test", NULL,
};
static const char *const cargo_compound[] = {
	"name", "binary", "benchmark", "example", "test", "package", NULL,
};
const struct filter_flavor filter_flavor_cargo = {
	.simple = cargo_simple,
	.compound = cargo_compound,
	.list = NULL,
};

static const char *const pytest_compound[] = {
	"name", "file", "package", "node_id", NULL,
};
static const char *const pytest_list[] = { "markers", NULL };
const struct filter_flavor filter_flavor_pytest = {
	.simple = NULL,
	.compound = pytest_compound,
	.list = pytest_list,
};

/* ---- evaluation --------------------------------------------------------- */

static enum filter_value v_not(enum filter_value a)
{
	switch (a) {
	case FILTER_TRUE:
		return FILTER_FALSE;
	case FILTER_FALSE:
		return FILTER_TRUE;
	case FILTER_UNKNOWN:
		break;
	}
	return FILTER_UNKNOWN;
}

static enum filter_value v_and(enum filter_value a, enum filter_value b)
{
	if (a == FILTER_FALSE || b == FILTER_FALSE)
		return FILTER_FALSE;
	if (a == FILTER_TRUE && b == FILTER_TRUE)
		return FILTER_TRUE;
	return FILTER_UNKNOWN;
}

static enum filter_value v_bool(bool b)
{
	return b ? FILTER_TRUE : FILTER_FALSE;
}

static bool match_string(const struct filter *f, const char *v)
{
	size_t vl, pl;

	switch (f->matcher) {
	case FM_EQUALS:
		return strcmp(v, f->param) == 0;
	case FM_CONTAINS:
		return strstr(v, f->param) != NULL;
	case FM_STARTS_WITH:
		return strncmp(v, f->param, strlen(f->param)) == 0;
	case FM_ENDS_WITH:
		vl = strlen(v);
		pl = strlen(f->param);
		return vl >= pl && memcmp(v + vl - pl, f->param, pl) == 0;
	case FM_MATCHES:
		return regexec(&f->regex, v, 0, NULL, 0) == 0;
	case FM_GLOBS:
		return glob_match(f->glob, v);
	}
	return false;
}

/* Whether param is one of the '\n'-separated elements of list. */
static bool list_has(const char *list, const char *param)
{
	size_t pl = strlen(param);

	if (*list == '\0')
		return false;   /* the empty list, not a list of one "" */
	for (const char *s = list;;) {
		const char *nl = strchr(s, '\n');
		size_t len = nl ? (size_t)(nl - s) : strlen(s);

		if (len == pl && memcmp(s, param, pl) == 0)
			return true;
		if (!nl)
			return false;
		s = nl + 1;
	}
}

static enum filter_value eval_simple(const char *name, filter_simple_fn *simple, void *arg)
{
	bool known = true, r;

	if (!simple)
		return FILTER_UNKNOWN;
	r = simple(arg, name, &known);
	return known ? v_bool(r) : FILTER_UNKNOWN;
}

enum filter_value filter_eval(const struct filter *f, filter_lookup_fn *lookup,
			      filter_simple_fn *simple, void *arg)
{
	enum filter_value a, b;
	const char *v;

	switch (f->kind) {
	case FK_OR:
		a = filter_eval(f->left, lookup, simple, arg);
		if (a == FILTER_TRUE)
			return FILTER_TRUE;
		b = filter_eval(f->right, lookup, simple, arg);
		return v_not(v_and(v_not(a), v_not(b)));
	case FK_AND:
	case FK_DIFF:
		a = filter_eval(f->left, lookup, simple, arg);
		if (a == FILTER_FALSE)
			return FILTER_FALSE;
		b = filter_eval(f->right, lookup, simple, arg);
		return v_and(a, f->kind == FK_DIFF ? v_not(b) : b);
	case FK_NOT:
		return v_not(filter_eval(f->left, lookup, simple, arg));
	case FK_CONST:
		return v_bool(f->value);
	case FK_SIMPLE:
		return eval_simple(f->name, simple, arg);
	case FK_MATCH:
		a = FILTER_TRUE;
		if (f->also_simple) {
			a = eval_simple(f->name, simple, arg);
			if (a == FILTER_FALSE)
				return FILTER_FALSE;
		}
		v = lookup ? lookup(arg, f->name) : NULL;
		return v_and(a, v ? v_bool(match_string(f, v)) : FILTER_UNKNOWN);
	case FK_MEMBER:
		v = lookup ? lookup(arg, f->name) : NULL;
		return v ? v_bool(list_has(v, f->param)) : FILTER_UNKNOWN;
	}
	return FILTER_UNKNOWN;
}

/* ---- freeing ------------------------------------------------------------ */

void filter_free(struct filter *f)
{
	if (!f)
		return;
	filter_free(f->left);
	filter_free(f->right);
	free(f->param);
	if (f->has_regex)
		regfree(&f->regex);
	glob_free(f->glob);
	free(f);
}

/* ---- printing ----------------------------------------------------------- */

static bool is_binary(const struct filter *f)
{
	return f->kind == FK_OR || f->kind == FK_AND || f->kind == FK_DIFF;
}

static void print(struct buf *b, const struct filter *f);

static void print_operand(struct buf *b, const struct filter *f)
{
	if (is_binary(f)) {
		buf_appends(b, "(");
		print(b, f);
		buf_appends(b, ")");
	} else {
		print(b, f);
	}
}

static void print(struct buf *b, const struct filter *f)
{
	switch (f->kind) {
	case FK_OR:
	case FK_AND:
	case FK_DIFF:
		print_operand(b, f->left);
		buf_appends(b, f->kind == FK_OR ? " || " : f->kind == FK_AND ? " && " : " - ");
		print_operand(b, f->right);
		return;
	case FK_NOT:
		buf_appends(b, "!");
		print_operand(b, f->left);
		return;
	case FK_CONST:
	case FK_SIMPLE:
		buf_appends(b, f->name);
		return;
	case FK_MATCH:
	case FK_MEMBER:
		buf_appendf(b, "%s.%s%c%s%c", f->name, filter_matcher_names[f->matcher],
			    f->open, f->param, f->close);
		return;
	}
}

char *filter_to_string(const struct filter *f)
{
	struct buf b = BUF_INIT;

	print(&b, f);
	return buf_detach(&b, NULL);
}
