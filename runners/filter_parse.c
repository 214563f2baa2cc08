/*
 * filter_parse: recursive-descent parser for the filter language described
 * in filter.h. One function per grammar rule; names are resolved by
 * unambiguous prefix against the set allowed at that point (filter_lex.c);
 * every error names its column.
 */
#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/glob.h"
#include "runners/filter.h"
#include "runners/filter_internal.h"

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
		return fp_fail(p, "expression nested too deeply at column %zu (limit %d levels)",
			    fp_col(p, at), FILTER_MAX_DEPTH);
	}
	return f;
}

/* ---- grammar ------------------------------------------------------------ */

static struct filter *parse_or(struct parser *p);


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

	/* `_` is a word character: `name.equals_x_` would read as one word. */
	if (open == '\0' || open == '_' || !ispunct((unsigned char)open)) {
		fp_fail(p, "expected an argument in delimiters, such as `(foo)` or `/foo/`, at column "
			"%zu after `%s.%s` (column %zu), found %s",
		     fp_col(p, p->pos), sel, filter_matcher_names[f->matcher], fp_col(p, sel_at),
		     fp_describe(p, p->pos, buf, sizeof(buf)));
		return -1;
	}
	close = closing_partner(open);
	for (;; i++) {
		char c = p->text[i];

		if (c == '\0') {
			fp_fail(p, "unterminated argument: the `%c` at column %zu has no matching `%c`",
			     open, fp_col(p, open_at), close);
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
			fp_fail(p, "invalid regular expression `%s` at column %zu: %s", f->param,
			     fp_col(p, at), msg);
			return -1;
		}
		f->has_regex = true;
	} else if (f->matcher == FM_GLOBS) {
		struct err *gerr = NULL;

		if (glob_compile(&f->glob, f->param, &gerr) < 0) {
			fp_fail(p, "invalid glob `%s` at column %zu: %s", f->param, fp_col(p, at),
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
	struct names ns = fp_compound_names(p->fl);
	struct names ms = { { filter_matcher_names, NULL, NULL, NULL, NULL } };
	struct names simple = fp_simple_names(p->fl);
	const char *m[MAX_MATCHES], *sel;
	size_t n = fp_resolve(&ns, p->text + at, wl, m), m_at, ml, param_at = 0;
	struct filter *f;
	char buf[64];

	if (n == 0 && fp_resolve(&simple, p->text + at, wl, m) == 1)
		return fp_fail(p, "selector `%s` at column %zu takes no matcher; write `%s` alone",
			    m[0], fp_col(p, at), m[0]);
	if (n == 0)
		return fp_fail_unknown(p, "selector", at, wl, &ns, "selectors");
	if (n > 1)
		return fp_fail_ambiguous(p, "selector", at, wl, m, n);
	sel = m[0];

	p->pos++; /* the '.' */
	fp_skip_ws(p);
	m_at = p->pos;
	ml = fp_word_len(p, m_at);
	if (ml == 0) {
		struct buf b = BUF_INIT;

		fp_join_names(&b, &ms);
		fp_fail(p, "expected a matcher at column %zu after `%s.`, found %s; matchers: %s",
		     fp_col(p, m_at), sel, fp_describe(p, m_at, buf, sizeof(buf)), b.data);
		buf_release(&b);
		return NULL;
	}
	n = fp_resolve(&ms, p->text + m_at, ml, m);
	if (n == 0)
		return fp_fail_unknown(p, "matcher", m_at, ml, &ms, "matchers");
	if (n > 1)
		return fp_fail_ambiguous(p, "matcher", m_at, ml, m, n);
	p->pos += ml;

	f = node(fp_in_list(p->fl->list, sel) ? FK_MEMBER : FK_MATCH);
	f->name = sel;
	for (size_t i = 0; filter_matcher_names[i]; i++)
		if (filter_matcher_names[i] == m[0])
			f->matcher = (enum filter_matcher)i;
	f->also_simple = f->kind == FK_MATCH && fp_in_list(p->fl->simple, sel);
	if (f->kind == FK_MEMBER && f->matcher != FM_CONTAINS) {
		filter_free(f);
		return fp_fail(p, "matcher `%s` at column %zu does not apply to `%s`, a list: only "
			       "`contains` (membership) does",
			    m[0], fp_col(p, m_at), sel);
	}
	fp_skip_ws(p);
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
	struct names ns = fp_simple_names(p->fl), cs = fp_compound_names(p->fl);
	struct names every = fp_all_names(p->fl);
	const char *m[MAX_MATCHES];
	size_t n = fp_resolve(&ns, p->text + at, wl, m), save;
	struct filter *f;

	if (n > 1)
		return fp_fail_ambiguous(p, "selector", at, wl, m, n);
	if (n == 0 && fp_resolve(&cs, p->text + at, wl, m) >= 1)
		return fp_fail(p, "selector `%.*s` at column %zu needs a matcher, as in "
			       "`%.*s.equals(foo)`",
			    (int)wl, p->text + at, fp_col(p, at), (int)wl, p->text + at);
	if (n == 0)
		return fp_fail_unknown(p, "selector", at, wl, &every, "selectors");
	if (fp_in_list(p->fl->simple, m[0]) && !fp_in_list(fp_builtin_true, m[0]) &&
	    !fp_in_list(fp_builtin_false, m[0])) {
		f = node(FK_SIMPLE);
	} else {
		f = node(FK_CONST);
		f->value = fp_in_list(fp_builtin_true, m[0]);
	}
	f->name = m[0];

	/* Optional "()", whitespace allowed inside. */
	save = p->pos;
	fp_skip_ws(p);
	if (p->text[p->pos] == '(') {
		size_t open_at = p->pos;

		p->pos++;
		fp_skip_ws(p);
		if (p->text[p->pos] != ')') {
			char buf[64];

			filter_free(f);
			return fp_fail(p, "selector `%s` at column %zu takes no argument: expected `)` "
				       "at column %zu after the `(` at column %zu, found %s",
				    m[0], fp_col(p, at), fp_col(p, p->pos), fp_col(p, open_at),
				    fp_describe(p, p->pos, buf, sizeof(buf)));
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

	fp_skip_ws(p);
	at = p->pos;
	if (p->text[at] == '(') {
		struct filter *f;

		if (++p->nest > FILTER_MAX_DEPTH)
			return fp_fail(p, "expression nested too deeply at column %zu (limit %d levels)",
				    fp_col(p, at), FILTER_MAX_DEPTH);
		p->pos++;
		f = parse_or(p);
		if (!f)
			return NULL;
		fp_skip_ws(p);
		if (p->text[p->pos] != ')') {
			fp_fail(p, "expected `)` at column %zu to close the `(` at column %zu, found %s",
			     fp_col(p, p->pos), fp_col(p, at), fp_describe(p, p->pos, buf, sizeof(buf)));
			filter_free(f);
			return NULL;
		}
		p->pos++;
		p->nest--;
		return f;
	}
	wl = fp_word_len(p, at);
	if (wl == 0)
		return fp_fail(p, "expected a selector, `!` or `(` at column %zu, found %s",
			    fp_col(p, at), fp_describe(p, at, buf, sizeof(buf)));
	if (fp_word_then_dot(p, at)) {
		p->pos += wl;
		fp_skip_ws(p);
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

	fp_skip_ws(p);
	at = p->pos;
	if (p->text[at] == '!' || p->text[at] == '~')
		p->pos++;
	else if (fp_word_len(p, at) == 3 && memcmp(p->text + at, "not", 3) == 0 &&
		 !fp_word_then_dot(p, at))
		p->pos += 3;
	else
		return parse_primary(p);

	if (++p->nest > FILTER_MAX_DEPTH)
		return fp_fail(p, "expression nested too deeply at column %zu (limit %d levels)",
			    fp_col(p, at), FILTER_MAX_DEPTH);
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
	struct names ns = { { fp_binop_words, NULL, NULL, NULL, NULL } };
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
	wl = fp_word_len(p, p->pos);
	if (wl == 0)
		return OP_NONE;
	n = fp_resolve(&ns, s, wl, m);
	if (n != 1) {
		const char *sug = fp_suggest(&ns, s, wl);

		fp_fail(p, "expected an operator (`&&`, `||`, `-`, `and`, `or`, `minus`), `)` or the "
			"end of the filter at column %zu, found %s%s%s%s",
		     fp_col(p, p->pos), fp_describe(p, p->pos, buf, sizeof(buf)),
		     sug ? " (did you mean `" : "", sug ? sug : "", sug ? "`?)" : "");
		return OP_ERROR;
	}
	*len = wl;
	return m[0] == fp_binop_words[0] ? OP_AND : m[0] == fp_binop_words[1] ? OP_OR : OP_DIFF;
}

/* and := not { (and-op | diff-op) not } */
static struct filter *parse_and(struct parser *p)
{
	struct filter *left = parse_not(p), *right;

	while (left) {
		size_t len, at;
		enum binop op;

		fp_skip_ws(p);
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

		fp_skip_ws(p);
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
	fp_skip_ws(&p);
	if (text[p.pos] != '\0') {
		if (text[p.pos] == ')')
			fp_fail(&p, "unmatched `)` at column %zu", fp_col(&p, p.pos));
		else
			fp_fail(&p, "expected an operator (`&&`, `||`, `-`, `and`, `or`, `minus`) or "
				 "the end of the filter at column %zu, found %s",
			     fp_col(&p, p.pos), fp_describe(&p, p.pos, buf, sizeof(buf)));
		filter_free(f);
		return -1;
	}
	*out = f;
	return 0;
}
