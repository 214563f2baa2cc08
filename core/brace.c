/*
 * brace: brace expansion. The pattern is scanned once to pair every `{`
 * with its `}`; expansion then walks a byte range left to right, keeping
 * the list of partial results and multiplying it by each group's
 * alternatives (a cartesian product in reading order).
 */
#include "core/brace.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/xalloc.h"

/* A growable list of heap strings (the partial results). */
struct strlist {
	char **v;
	size_t n, cap;
};

struct expander {
	const char *s;
	size_t *close;   /* close[i]: index of the `}` pairing the `{` at i */
	struct err **err;
};

static void strlist_push(struct strlist *l, char *s)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = s;
}

static void strlist_release(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* A backslash escapes only these; elsewhere it is an ordinary character. */
static bool escapable(char c)
{
	return c == '{' || c == '}' || c == ',' || c == '\\';
}

/* Pairs braces; reports the first unmatched one. */
static int pair_braces(struct expander *x, size_t len)
{
	_cleanup_free_ size_t *stack = xrealloc(NULL, (len + 1) * sizeof(*stack));
	size_t depth = 0;
	for (size_t i = 0; i < len; i++) {
		char c = x->s[i];
		if (c == '\\' && i + 1 < len && escapable(x->s[i + 1])) {
			i++;
		} else if (c == '{') {
			stack[depth++] = i;
		} else if (c == '}') {
			if (depth == 0)
				return err_set(x->err, 0,
					       "unmatched `}` at column %zu in `%s`: "
					       "add the opening `{` or escape it as `\\}`",
					       i + 1, x->s);
			x->close[stack[--depth]] = i;
		}
	}
	if (depth > 0)
		return err_set(x->err, 0,
			       "unmatched `{` at column %zu in `%s`: "
			       "add the closing `}` or escape it as `\\{`",
			       stack[depth - 1] + 1, x->s);
	return 0;
}

/* Replaces *acc by acc x alts (every element of acc followed by every
 * element of alts, acc's order outermost). */
static int product(struct expander *x, struct strlist *acc, const struct strlist *alts)
{
	if (alts->n && acc->n > BRACE_MAX_RESULTS / alts->n)
		return err_set(x->err, 0, "`%s` expands to more than %d strings: split it up",
			       x->s, BRACE_MAX_RESULTS);
	struct strlist out = { 0 };
	for (size_t i = 0; i < acc->n; i++) {
		size_t la = strlen(acc->v[i]);
		for (size_t j = 0; j < alts->n; j++) {
			size_t lb = strlen(alts->v[j]);
			char *s = xrealloc(NULL, la + lb + 1);
			memcpy(s, acc->v[i], la);
			memcpy(s + la, alts->v[j], lb + 1);
			strlist_push(&out, s);
		}
	}
	strlist_release(acc);
	*acc = out;
	return 0;
}

/* Appends the literal bytes lit[0..n) to every partial result. */
static void append_literal(struct strlist *acc, const char *lit, size_t n)
{
	if (n == 0)
		return;
	for (size_t i = 0; i < acc->n; i++) {
		size_t l = strlen(acc->v[i]);
		acc->v[i] = xrealloc(acc->v[i], l + n + 1);
		memcpy(acc->v[i] + l, lit, n);
		acc->v[i][l + n] = '\0';
	}
}

/* Parses a decimal integer filling exactly s[a..b). */
static bool parse_int(const char *s, size_t a, size_t b, long long *out, size_t *width, bool *padded)
{
	if (a >= b || b - a > 18)
		return false;
	size_t i = a;
	if (s[i] == '-' || s[i] == '+')
		i++;
	if (i == b)
		return false;
	for (size_t k = i; k < b; k++)
		if (s[k] < '0' || s[k] > '9')
			return false;
	char buf[24];
	memcpy(buf, s + a, b - a);
	buf[b - a] = '\0';
	*out = strtoll(buf, NULL, 10);
	*width = b - a;
	*padded = s[i] == '0' && b - i > 1;
	return true;
}

/* Tries the range form {A..B} on the inside s[a..b). Returns 1 when it is a
 * range (alts filled), 0 when it is not, -1 on error. */
static int expand_range(struct expander *x, size_t a, size_t b, struct strlist *alts)
{
	const char *dots = memmem(x->s + a, b - a, "..", 2);
	if (!dots)
		return 0;
	size_t mid = (size_t)(dots - x->s);
	long long lo, hi;
	size_t wlo, whi;
	bool plo, phi;
	if (!parse_int(x->s, a, mid, &lo, &wlo, &plo) ||
	    !parse_int(x->s, mid + 2, b, &hi, &whi, &phi))
		return 0;
	unsigned long long count = (lo <= hi ? (unsigned long long)(hi - lo)
					     : (unsigned long long)(lo - hi)) + 1;
	if (count > BRACE_MAX_RESULTS)
		return err_set(x->err, 0, "`%s` expands to more than %d strings: split it up",
			       x->s, BRACE_MAX_RESULTS);
	int width = (plo || phi) ? (int)(wlo > whi ? wlo : whi) : 0;
	long long step = lo <= hi ? 1 : -1;
	for (long long v = lo;; v += step) {
		char *s = NULL;
		if (asprintf(&s, "%0*lld", width, v) < 0)
			abort();
		strlist_push(alts, s);
		if (v == hi)
			break;
	}
	return 1;
}

static int expand(struct expander *x, size_t a, size_t b, struct strlist *out);

/* Expands the group whose `{` is at i into alts. */
static int expand_group(struct expander *x, size_t i, struct strlist *alts)
{
	size_t j = x->close[i];
	/* Split the inside at its top-level commas. */
	size_t start = i + 1;
	bool any_comma = false;
	for (size_t k = i + 1; k < j; k++) {
		char c = x->s[k];
		if (c == '\\' && k + 1 < j && escapable(x->s[k + 1])) {
			k++;
		} else if (c == '{') {
			k = x->close[k];
		} else if (c == ',') {
			any_comma = true;
			if (expand(x, start, k, alts) < 0)
				return -1;
			start = k + 1;
		}
	}
	if (any_comma)
		return expand(x, start, j, alts);

	int r = expand_range(x, i + 1, j, alts);
	if (r != 0)
		return r < 0 ? -1 : 0;

	/* Neither alternatives nor a range: the braces are literal text. */
	struct strlist inner = { 0 };
	if (expand(x, i + 1, j, &inner) < 0) {
		strlist_release(&inner);
		return -1;
	}
	for (size_t k = 0; k < inner.n; k++) {
		char *s = NULL;
		if (asprintf(&s, "{%s}", inner.v[k]) < 0)
			abort();
		strlist_push(alts, s);
	}
	strlist_release(&inner);
	return 0;
}

/* Appends the expansion of s[a..b) to out. */
static int expand(struct expander *x, size_t a, size_t b, struct strlist *out)
{
	struct strlist acc = { 0 };
	strlist_push(&acc, xstrndup("", 0));
	_cleanup_free_ char *lit = xrealloc(NULL, b - a + 1);
	size_t n_lit = 0;
	for (size_t i = a; i < b; i++) {
		char c = x->s[i];
		if (c == '\\' && i + 1 < b && escapable(x->s[i + 1])) {
			lit[n_lit++] = x->s[++i];
			continue;
		}
		if (c != '{') {
			lit[n_lit++] = c;
			continue;
		}
		append_literal(&acc, lit, n_lit);
		n_lit = 0;
		struct strlist alts = { 0 };
		int r = expand_group(x, i, &alts);
		if (r == 0)
			r = product(x, &acc, &alts);
		strlist_release(&alts);
		if (r < 0) {
			strlist_release(&acc);
			return -1;
		}
		i = x->close[i];
	}
	append_literal(&acc, lit, n_lit);
	if (out->n + acc.n > BRACE_MAX_RESULTS) {
		strlist_release(&acc);
		return err_set(x->err, 0, "`%s` expands to more than %d strings: split it up",
			       x->s, BRACE_MAX_RESULTS);
	}
	for (size_t i = 0; i < acc.n; i++)
		strlist_push(out, acc.v[i]);
	free(acc.v);
	return 0;
}

int brace_expand(const char *pattern, struct brace_list *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	struct strlist res = { 0 };
	if (!strchr(pattern, '{')) {
		strlist_push(&res, xstrndup(pattern, strlen(pattern)));
	} else {
		size_t len = strlen(pattern);
		_cleanup_free_ size_t *close = xrealloc(NULL, (len + 1) * sizeof(*close));
		struct expander x = { .s = pattern, .close = close, .err = err };
		if (pair_braces(&x, len) < 0 || expand(&x, 0, len, &res) < 0) {
			strlist_release(&res);
			return -1;
		}
	}
	strlist_push(&res, NULL);
	out->v = res.v;
	out->n = res.n - 1;
	return 0;
}

void brace_list_release(struct brace_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}
