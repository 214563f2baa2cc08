/*
 * filter_parse: recursive-descent parser for the filter language described
 * in filter.h. One function per grammar rule; names are resolved by
 * unambiguous prefix against the set allowed at that point; every error
 * names its column.
 */
#include <ctype.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/glob.h"
#include "runners/filter.h"
#include "runners/filter_internal.h"

struct parser {
	const char *text;
	size_t pos;
	const struct filter_flavor *fl;
	struct err **err;
	unsigned nest;   /* open parentheses and `!`s being parsed */
};

static const char *const builtin_true[] = { "all", "any", "true", NULL };
static const char *const builtin_false[] = { "none", "false", NULL };
static const char *const binop_words[] = { "and", "or", "minus", NULL };

/* A set of names: up to five NULL-terminated arrays (NULL ones skipped). */
struct names {
	const char *const *v[5];
};

#define NAMES_FOR_EACH(ns, i, j, s)                                            \
	for (size_t i = 0; i < ARRAY_SIZE((ns)->v); i++)                       \
		for (size_t j = 0; (ns)->v[i] && ((s) = (ns)->v[i][j]); j++)

static struct names simple_names(const struct filter_flavor *fl)
{
	return (struct names){ { builtin_true, builtin_false, fl->simple, NULL, NULL } };
}

static struct names compound_names(const struct filter_flavor *fl)
{
	return (struct names){ { fl->compound, fl->list, NULL, NULL, NULL } };
}

static struct names all_names(const struct filter_flavor *fl)
{
	return (struct names){ { builtin_true, builtin_false, fl->simple, fl->compound,
				 fl->list } };
}

static bool in_list(const char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (strcmp(*v, s) == 0)
			return true;
	return false;
}

/* ---- errors ------------------------------------------------------------- */

static void *fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void *fail(struct parser *p, const char *fmt, ...)
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
static size_t col(const struct parser *p, size_t at)
{
	size_t c = 1;

	for (size_t i = 0; i < at; i++)
		if (((unsigned char)p->text[i] & 0xC0) != 0x80)
			c++;
	return c;
}

static bool is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static size_t word_len(const struct parser *p, size_t at)
{
	size_t n = 0;

	while (is_word_char(p->text[at + n]))
		n++;
	return n;
}

/* Describes the token at `at` for "found ..." (into out, of size n). */
static const char *describe(const struct parser *p, size_t at, char *out, size_t n)
{
	const unsigned char *s = (const unsigned char *)p->text + at;
	size_t len = 1;

	if (*s == '\0')
		return "the end of the filter";
	if (is_word_char((char)*s))
		len = word_len(p, at);
	else if (*s >= 0xC0)
		while ((s[len] & 0xC0) == 0x80)
			len++;
	snprintf(out, n, "`%.*s`", (int)(len > 40 ? 40 : len), (const char *)s);
	return out;
}

/* Appends "a, b, c" (each name once). */
static void join_names(struct buf *b, const struct names *ns)
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

#define MAX_MATCHES 16

/* The names that word w (length wl) may stand for: just the exact name if
 * there is one, else every distinct name it is a proper prefix of. */
static size_t resolve(const struct names *ns, const char *w, size_t wl, const char **m)
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

/* Optimal-string-alignment distance (edits plus adjacent swaps). */
static size_t distance(const char *a, size_t al, const char *b, size_t bl)
{
	size_t d[33][33];

	for (size_t i = 0; i <= al; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= bl; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= al; i++)
		for (size_t j = 1; j <= bl; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[al][bl];
}

/* The name closest to w, if close enough to be a likely typo. */
static const char *suggest(const struct names *ns, const char *w, size_t wl)
{
	const char *s, *best = NULL;
	size_t best_d = wl <= 3 ? 2 : 3;   /* accept up to 1, or 2 for longer words */

	if (wl > 32)
		return NULL;
	NAMES_FOR_EACH(ns, i, j, s) {
		size_t sl = strlen(s), d;

		if (sl > 32)
			continue;
		d = distance(w, wl, s, sl);
		if (d < best_d) {
			best_d = d;
			best = s;
		}
	}
	return best;
}

/* Sets an "unknown KIND" error for the word at `at`. */
static void *fail_unknown(struct parser *p, const char *kind, size_t at, size_t wl,
			  const struct names *ns, const char *choices_label)
{
	struct buf b = BUF_INIT;
	const char *sug = suggest(ns, p->text + at, wl);

	if (sug)
		buf_appendf(&b, " (did you mean `%s`?)", sug);
	buf_appendf(&b, "; %s: ", choices_label);
	join_names(&b, ns);
	fail(p, "unknown %s `%.*s` at column %zu%s", kind, (int)wl, p->text + at, col(p, at),
	     b.data);
	buf_release(&b);
	return NULL;
}

static void *fail_ambiguous(struct parser *p, const char *kind, size_t at, size_t wl,
			    const char **m, size_t n)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < n; i++)
		buf_appendf(&b, "%s`%s`", i == 0 ? "" : i + 1 == n ? " or " : ", ", m[i]);
	fail(p, "ambiguous %s `%.*s` at column %zu: could be %s", kind, (int)wl, p->text + at,
	     col(p, at), b.data);
	buf_release(&b);
	return NULL;
}

/* ---- tree building ------------------------------------------------------ */

static struct filter *node(enum filter_kind kind)
{
	struct filter *f = calloc(1, sizeof(*f));

	if (!f)
		abort(); /* out of memory */
	f->kind = kind;
	f->depth = 1;
	return f;
}

static struct filter *node2(struct parser *p, enum filter_kind kind, struct filter *l,
			    struct filter *r, size_t at)
{
	struct filter *f = node(kind);
	unsigned d = l->depth;

	if (r && r->depth > d)
		d = r->depth;
	f->left = l;
	f->right = r;
	f->depth = 1 + d;
	if (f->depth > FILTER_MAX_DEPTH) {
		filter_free(f);
		return fail(p, "expression nested too deeply at column %zu (limit %d levels)",
			    col(p, at), FILTER_MAX_DEPTH);
	}
	return f;
}

static void skip_ws(struct parser *p)
{
	while (isspace((unsigned char)p->text[p->pos]))
		p->pos++;
}

/* ---- grammar ------------------------------------------------------------ */

static struct filter *parse_or(struct parser *p);

/* Whether the word at `at` is followed (after whitespace) by `.`. */
static bool word_then_dot(const struct parser *p, size_t at)
{
	size_t i = at + word_len(p, at);

	while (isspace((unsigned char)p->text[i]))
		i++;
	return p->text[i] == '.';
}

static char closing_partner(char open)
{
	switch (open) {
	case '(':
		return ')';
	case '[':
		return ']';
	case '{':
		return '}';
	case '<':
		return '>';
	default:
		return open;
	}
}

/* Reads a delimited argument at p->pos into f->param/open/close, and sets
 * *param_at to the byte offset of its text. */
static int parse_argument(struct parser *p, struct filter *f, const char *sel, size_t sel_at,
			  size_t *param_at)
{
	char open = p->text[p->pos], close, buf[64];
	size_t open_at = p->pos, i = p->pos + 1;
	unsigned depth = 1;

	if (open == '\0' || !ispunct((unsigned char)open)) {
		fail(p, "expected an argument in delimiters, such as `(foo)` or `/foo/`, at column "
			"%zu after `%s.%s` (column %zu), found %s",
		     col(p, p->pos), sel, filter_matcher_names[f->matcher], col(p, sel_at),
		     describe(p, p->pos, buf, sizeof(buf)));
		return -1;
	}
	close = closing_partner(open);
	for (;; i++) {
		char c = p->text[i];

		if (c == '\0') {
			fail(p, "unterminated argument: the `%c` at column %zu has no matching `%c`",
			     open, col(p, open_at), close);
			return -1;
		}
		if (c == close && --depth == 0)
			break;
		if (c == open && open != close)
			depth++;
	}
	f->open = open;
	f->close = close;
	f->param = strndup(p->text + open_at + 1, i - open_at - 1);
	if (!f->param)
		abort(); /* out of memory */
	*param_at = open_at + 1;
	p->pos = i + 1;
	return 0;
}

/* Compiles a `matches` or `globs` argument (which starts at byte `at`). */
static int compile_argument(struct parser *p, struct filter *f, size_t at)
{
	if (f->matcher == FM_MATCHES) {
		int rc = regcomp(&f->regex, f->param, REG_EXTENDED | REG_NOSUB);
		char msg[128];

		if (rc != 0) {
			regerror(rc, &f->regex, msg, sizeof(msg));
			fail(p, "invalid regular expression `%s` at column %zu: %s", f->param,
			     col(p, at), msg);
			return -1;
		}
		f->has_regex = true;
	} else if (f->matcher == FM_GLOBS) {
		struct err *gerr = NULL;

		if (glob_compile(&f->glob, f->param, &gerr) < 0) {
			fail(p, "invalid glob `%s` at column %zu: %s", f->param, col(p, at),
			     err_msg(gerr));
			err_free(&gerr);
			return -1;
		}
	}
	return 0;
}

/* compound := NAME "." MATCHER ARGUMENT, with p->pos at the `.`. */
static struct filter *parse_compound(struct parser *p, size_t at, size_t wl)
{
	struct names ns = compound_names(p->fl);
	struct names ms = { { filter_matcher_names, NULL, NULL, NULL, NULL } };
	struct names simple = simple_names(p->fl);
	const char *m[MAX_MATCHES], *sel;
	size_t n = resolve(&ns, p->text + at, wl, m), m_at, ml, param_at = 0;
	struct filter *f;
	char buf[64];

	if (n == 0 && resolve(&simple, p->text + at, wl, m) == 1)
		return fail(p, "selector `%s` at column %zu takes no matcher; write `%s` alone",
			    m[0], col(p, at), m[0]);
	if (n == 0)
		return fail_unknown(p, "selector", at, wl, &ns, "selectors");
	if (n > 1)
		return fail_ambiguous(p, "selector", at, wl, m, n);
	sel = m[0];

	p->pos++; /* the '.' */
	skip_ws(p);
	m_at = p->pos;
	ml = word_len(p, m_at);
	if (ml == 0) {
		struct buf b = BUF_INIT;

		join_names(&b, &ms);
		fail(p, "expected a matcher at column %zu after `%s.`, found %s; matchers: %s",
		     col(p, m_at), sel, describe(p, m_at, buf, sizeof(buf)), b.data);
		buf_release(&b);
		return NULL;
	}
	n = resolve(&ms, p->text + m_at, ml, m);
	if (n == 0)
		return fail_unknown(p, "matcher", m_at, ml, &ms, "matchers");
	if (n > 1)
		return fail_ambiguous(p, "matcher", m_at, ml, m, n);
	p->pos += ml;

	f = node(in_list(p->fl->list, sel) ? FK_MEMBER : FK_MATCH);
	f->name = sel;
	for (size_t i = 0; filter_matcher_names[i]; i++)
		if (filter_matcher_names[i] == m[0])
			f->matcher = (enum filter_matcher)i;
	f->also_simple = f->kind == FK_MATCH && in_list(p->fl->simple, sel);
	if (f->kind == FK_MEMBER && f->matcher != FM_CONTAINS) {
		filter_free(f);
		return fail(p, "matcher `%s` at column %zu does not apply to `%s`, a list: only "
			       "`contains` (membership) does",
			    m[0], col(p, m_at), sel);
	}
	skip_ws(p);
	if (parse_argument(p, f, sel, at, &param_at) < 0 ||
	    compile_argument(p, f, param_at) < 0) {
		filter_free(f);
		return NULL;
	}
	return f;
}

/* SIMPLE [ "(" ")" ], with p->pos after the word. */
static struct filter *parse_simple_selector(struct parser *p, size_t at, size_t wl)
{
	struct names ns = simple_names(p->fl), cs = compound_names(p->fl);
	struct names every = all_names(p->fl);
	const char *m[MAX_MATCHES];
	size_t n = resolve(&ns, p->text + at, wl, m), save;
	struct filter *f;

	if (n > 1)
		return fail_ambiguous(p, "selector", at, wl, m, n);
	if (n == 0 && resolve(&cs, p->text + at, wl, m) >= 1)
		return fail(p, "selector `%.*s` at column %zu needs a matcher, as in "
			       "`%.*s.equals(foo)`",
			    (int)wl, p->text + at, col(p, at), (int)wl, p->text + at);
	if (n == 0)
		return fail_unknown(p, "selector", at, wl, &every, "selectors");
	if (in_list(p->fl->simple, m[0]) && !in_list(builtin_true, m[0]) &&
	    !in_list(builtin_false, m[0])) {
		f = node(FK_SIMPLE);
	} else {
		f = node(FK_CONST);
		f->value = in_list(builtin_true, m[0]);
	}
	f->name = m[0];

	/* Optional "()", whitespace allowed inside. */
	save = p->pos;
	skip_ws(p);
	if (p->text[p->pos] == '(') {
		size_t open_at = p->pos;

		p->pos++;
		skip_ws(p);
		if (p->text[p->pos] != ')') {
			char buf[64];

			filter_free(f);
			return fail(p, "selector `%s` at column %zu takes no argument: expected `)` "
				       "at column %zu after the `(` at column %zu, found %s",
				    m[0], col(p, at), col(p, p->pos), col(p, open_at),
				    describe(p, p->pos, buf, sizeof(buf)));
		}
		p->pos++;
	} else {
		p->pos = save;
	}
	return f;
}

/* simple := "(" or ")" | SIMPLE ["()"] | compound */
static struct filter *parse_primary(struct parser *p)
{
	size_t at, wl;
	char buf[64];

	skip_ws(p);
	at = p->pos;
	if (p->text[at] == '(') {
		struct filter *f;

		if (++p->nest > FILTER_MAX_DEPTH)
			return fail(p, "expression nested too deeply at column %zu (limit %d levels)",
				    col(p, at), FILTER_MAX_DEPTH);
		p->pos++;
		f = parse_or(p);
		if (!f)
			return NULL;
		skip_ws(p);
		if (p->text[p->pos] != ')') {
			fail(p, "expected `)` at column %zu to close the `(` at column %zu, found %s",
			     col(p, p->pos), col(p, at), describe(p, p->pos, buf, sizeof(buf)));
			filter_free(f);
			return NULL;
		}
		p->pos++;
		p->nest--;
		return f;
	}
	wl = word_len(p, at);
	if (wl == 0)
		return fail(p, "expected a selector, `!` or `(` at column %zu, found %s",
			    col(p, at), describe(p, at, buf, sizeof(buf)));
	if (word_then_dot(p, at)) {
		p->pos += wl;
		skip_ws(p);
		return parse_compound(p, at, wl);
	}
	p->pos += wl;
	return parse_simple_selector(p, at, wl);
}

/* not := ("!" | "~" | "not") not | simple */
static struct filter *parse_not(struct parser *p)
{
	size_t at;
	struct filter *inner;

	skip_ws(p);
	at = p->pos;
	if (p->text[at] == '!' || p->text[at] == '~')
		p->pos++;
	else if (word_len(p, at) == 3 && memcmp(p->text + at, "not", 3) == 0 &&
		 !word_then_dot(p, at))
		p->pos += 3;
	else
		return parse_primary(p);

	if (++p->nest > FILTER_MAX_DEPTH)
		return fail(p, "expression nested too deeply at column %zu (limit %d levels)",
			    col(p, at), FILTER_MAX_DEPTH);
	inner = parse_not(p);
	p->nest--;
	return inner ? node2(p, FK_NOT, inner, NULL, at) : NULL;
}

enum binop { OP_NONE, OP_ERROR, OP_OR, OP_AND, OP_DIFF };

/* Classifies the token at p->pos as a binary operator (setting *len), or
 * OP_NONE, or OP_ERROR for a word that is no operator (error set). */
static enum binop peek_binop(struct parser *p, size_t *len)
{
	const char *s = p->text + p->pos, *m[MAX_MATCHES];
	struct names ns = { { binop_words, NULL, NULL, NULL, NULL } };
	size_t wl, n;
	char buf[64];

	*len = 1;
	switch (*s) {
	case '|':
		*len = s[1] == '|' ? 2 : 1;
		return OP_OR;
	case '&':
		*len = s[1] == '&' ? 2 : 1;
		return OP_AND;
	case '+':
		return OP_AND;
	case '\\':
	case '-':
		return OP_DIFF;
	default:
		break;
	}
	wl = word_len(p, p->pos);
	if (wl == 0)
		return OP_NONE;
	n = resolve(&ns, s, wl, m);
	if (n != 1) {
		const char *sug = suggest(&ns, s, wl);

		fail(p, "expected an operator (`&&`, `||`, `-`, `and`, `or`, `minus`), `)` or the "
			"end of the filter at column %zu, found %s%s%s%s",
		     col(p, p->pos), describe(p, p->pos, buf, sizeof(buf)),
		     sug ? " (did you mean `" : "", sug ? sug : "", sug ? "`?)" : "");
		return OP_ERROR;
	}
	*len = wl;
	return m[0] == binop_words[0] ? OP_AND : m[0] == binop_words[1] ? OP_OR : OP_DIFF;
}

/* and := not { (and-op | diff-op) not } */
static struct filter *parse_and(struct parser *p)
{
	struct filter *left = parse_not(p), *right;

	while (left) {
		size_t len, at;
		enum binop op;

		skip_ws(p);
		at = p->pos;
		op = peek_binop(p, &len);
		if (op == OP_ERROR) {
			filter_free(left);
			return NULL;
		}
		if (op != OP_AND && op != OP_DIFF)
			break;
		p->pos += len;
		right = parse_not(p);
		if (!right) {
			filter_free(left);
			return NULL;
		}
		left = node2(p, op == OP_AND ? FK_AND : FK_DIFF, left, right, at);
	}
	return left;
}

/* or := and { or-op and } */
static struct filter *parse_or(struct parser *p)
{
	struct filter *left = parse_and(p), *right;

	while (left) {
		size_t len, at;

		skip_ws(p);
		at = p->pos;
		/* parse_and stopped here, so this is `|`, `or`, or no operator;
		 * a bad word was already reported by parse_and. */
		if (peek_binop(p, &len) != OP_OR)
			break;
		p->pos += len;
		right = parse_and(p);
		if (!right) {
			filter_free(left);
			return NULL;
		}
		left = node2(p, FK_OR, left, right, at);
	}
	return left;
}

int filter_parse(const char *text, const struct filter_flavor *fl, struct filter **out,
		 struct err **err)
{
	static const struct filter_flavor none;
	struct parser p = { .text = text, .fl = fl ? fl : &none, .err = err };
	struct filter *f;
	char buf[64];

	*out = NULL;
	f = parse_or(&p);
	if (!f)
		return -1;
	skip_ws(&p);
	if (text[p.pos] != '\0') {
		if (text[p.pos] == ')')
			fail(&p, "unmatched `)` at column %zu", col(&p, p.pos));
		else
			fail(&p, "expected an operator (`&&`, `||`, `-`, `and`, `or`, `minus`) or "
				 "the end of the filter at column %zu, found %s",
			     col(&p, p.pos), describe(&p, p.pos, buf, sizeof(buf)));
		filter_free(f);
		return -1;
	}
	*out = f;
	return 0;
}
