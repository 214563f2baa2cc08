/*
 * filter_lex: the filter parser's helpers: token scanning, columns, name
 * sets resolved by unambiguous prefix, typo suggestions, and error
 * messages. Declared in filter_internal.h; the grammar is in filter_parse.c.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/suggest.h"
#include "runners/filter.h"
#include "runners/filter_internal.h"

const char *const fp_builtin_true[] = { "all", "any", "true", NULL };
const char *const fp_builtin_false[] = { "none", "false", NULL };
const char *const fp_binop_words[] = { "and", "or", "minus", NULL };

struct names fp_simple_names(const struct filter_flavor *fl)
{
	return (struct names){ { fp_builtin_true, fp_builtin_false, fl->simple, NULL, NULL } };
}

struct names fp_compound_names(const struct filter_flavor *fl)
{
	return (struct names){ { fl->compound, fl->list, NULL, NULL, NULL } };
}

struct names fp_all_names(const struct filter_flavor *fl)
{
	return (struct names){ { fp_builtin_true, fp_builtin_false, fl->simple, fl->compound,
				 fl->list } };
}

bool fp_in_list(const char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

/* ---- errors ------------------------------------------------------------- */

void *fp_fail(struct parser *p, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vappendf(&b, fmt, ap);
	va_end(ap);
	err_set(p->err, 0, "filter `%s`: %s", p->text, b.data ? b.data : "");
	buf_release(&b);
	return NULL;
}

/* 1-based column of byte offset `at`, counting UTF-8 characters. */
size_t fp_col(const struct parser *p, size_t at)
{
	size_t c = 1;

	for (size_t i = 0; i < at; i++)
		if (((unsigned char)p->text[i] & 0xC0) != 0x80)
			c++;
	return c;
}

bool fp_is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

size_t fp_word_len(const struct parser *p, size_t at)
{
	size_t n = 0;

	while (fp_is_word_char(p->text[at + n]))
		n++;
	return n;
}

/* Describes the token at `at` for "found ..." (into out, of size n). */
const char *fp_describe(const struct parser *p, size_t at, char *out, size_t n)
{
	const unsigned char *s = (const unsigned char *)p->text + at;
	size_t len = 1;

	if (*s == '\0')
		return "the end of the filter";
	if (fp_is_word_char((char)*s))
		len = fp_word_len(p, at);
	else if (*s >= 0xC0)
		while ((s[len] & 0xC0) == 0x80)
			len++;
	snprintf(out, n, "`%.*s`", (int)(len > 40 ? 40 : len), (const char *)s);
	return out;
}

/* Appends "a, b, c" (each name once). */
void fp_join_names(struct buf *b, const struct names *ns)
{
	const char *s;
	bool first = true;

	NAMES_FOR_EACH(ns, i, j, s) {
		bool dup = false;
		const char *t;

		NAMES_FOR_EACH(ns, k, l, t) {
			if (k > i || (k == i && l >= j))
				break;
			if (strcmp(s, t) == 0)
				dup = true;
		}
		if (dup)
			continue;
		buf_appendf(b, "%s%s", first ? "" : ", ", s);
		first = false;
	}
}

/* ---- name resolution ---------------------------------------------------- */

/* The names that word w (length wl) may stand for: just the exact name if
 * there is one, else every distinct name it is a proper prefix of. */
size_t fp_resolve(const struct names *ns, const char *w, size_t wl, const char **m)
{
	const char *s;
	size_t n = 0;

	NAMES_FOR_EACH(ns, i, j, s)
		if (strlen(s) == wl && memcmp(s, w, wl) == 0) {
			m[0] = s;
			return 1;
		}
	NAMES_FOR_EACH(ns, i, j, s) {
		bool dup = false;

		if (strlen(s) <= wl || memcmp(s, w, wl) != 0)
			continue;
		for (size_t k = 0; k < n; k++)
			dup = dup || strcmp(m[k], s) == 0;
		if (!dup && n < MAX_MATCHES)
			m[n++] = s;
	}
	return n;
}

/* The name closest to w, if close enough to be a likely typo. */
const char *fp_suggest(const struct names *ns, const char *w, size_t wl)
{
	const char *s, *best = NULL;
	size_t best_d = wl <= 3 ? 2 : 3;   /* accept up to 1, or 2 for longer words */

	if (wl > 32)
		return NULL;
	NAMES_FOR_EACH(ns, i, j, s) {
		size_t sl = strlen(s), d;

		if (sl > 32)
			continue;
		d = suggest_distance(w, wl, s, sl);
		if (d < best_d) {
			best_d = d;
			best = s;
		}
	}
	return best;
}

/* Sets an "unknown KIND" error for the word at `at`. */
void *fp_fail_unknown(struct parser *p, const char *kind, size_t at, size_t wl,
			  const struct names *ns, const char *choices_label)
{
	struct buf b = BUF_INIT;
	const char *sug = fp_suggest(ns, p->text + at, wl);

	if (sug)
		buf_appendf(&b, " (did you mean `%s`?)", sug);
	buf_appendf(&b, "; %s: ", choices_label);
	fp_join_names(&b, ns);
	fp_fail(p, "unknown %s `%.*s` at column %zu%s", kind, (int)wl, p->text + at, fp_col(p, at),
	     b.data);
	buf_release(&b);
	return NULL;
}

void *fp_fail_ambiguous(struct parser *p, const char *kind, size_t at, size_t wl,
			    const char **m, size_t n)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < n; i++)
		buf_appendf(&b, "%s`%s`", i == 0 ? "" : i + 1 == n ? " or " : ", ", m[i]);
	fp_fail(p, "ambiguous %s `%.*s` at column %zu: could be %s", kind, (int)wl, p->text + at,
	     fp_col(p, at), b.data);
	buf_release(&b);
	return NULL;
}


void fp_skip_ws(struct parser *p)
{
	while (isspace((unsigned char)p->text[p->pos]))
		p->pos++;
}

/* Whether the word at `at` is followed (after whitespace) by `.`. */
bool fp_word_then_dot(const struct parser *p, size_t at)
{
	size_t i = at + fp_word_len(p, at);

	while (isspace((unsigned char)p->text[i]))
		i++;
	return p->text[i] == '.';
}
