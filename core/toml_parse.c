/* The TOML reader's document level: key/value lines, [headers], [[headers]],
 * arrays and inline tables, and the rules on defining each thing once. */
#include "core/toml_internal.h"

#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/toml.h"

struct tparse {
	struct tlex lex;
	struct tnode *root;
	struct tnode *cur;   /* table receiving the key/value lines */
};

static int parse_value(struct tparse *P, unsigned depth, const char *key, struct tnode **out);

static int too_deep(struct tparse *P, unsigned line, unsigned col)
{
	return tlex_error_at(&P->lex, line, col, "nesting deeper than %d levels; flatten the "
			     "document", TOML_MAX_DEPTH);
}

static struct tnode *new_table(unsigned line, unsigned col, unsigned depth, unsigned flags)
{
	struct tnode *t = tnode_new(TN_TABLE, json_object(), line, col, depth);
	t->flags = flags;
	return t;
}

static int parse_array(struct tparse *P, unsigned depth, struct tnode **out)
{
	struct tlex *l = &P->lex;
	unsigned line = l->line, col = l->col;
	struct tnode *a = tnode_new(TN_ARRAY, json_array(), line, col, depth);
	a->flags = TF_FROZEN;
	tlex_adv(l, 1);
	for (;;) {
		tlex_skip_blank(l);
		if (tlex_peek(l) == ']')
			break;
		if (tlex_peek(l) < 0)
			goto unterminated;
		struct tnode *v;
		if (parse_value(P, depth + 1, NULL, &v) < 0)
			goto fail;
		tnode_push(a, v);
		tlex_skip_blank(l);
		int c = tlex_peek(l);
		if (c == ',') {
			tlex_adv(l, 1);
			continue;
		}
		if (c == ']')
			break;
		if (c < 0)
			goto unterminated;
		char what[16];
		tlex_error(l, "expected `,` or `]` in array, found %s; separate elements with commas",
			   tlex_describe(l, what));
		goto fail;
	}
	tlex_adv(l, 1);
	*out = a;
	return 0;
unterminated:
	tlex_error_at(l, line, col, "unterminated array; close it with `]`");
fail:
	tnode_free(a);
	return -1;
}

static int parse_keyval(struct tparse *P, struct tnode *table);

static int parse_inline_table(struct tparse *P, unsigned depth, struct tnode **out)
{
	struct tlex *l = &P->lex;
	unsigned line = l->line, col = l->col;
	struct tnode *t = new_table(line, col, depth, 0);
	tlex_adv(l, 1);
	/* TOML 1.1 (and the Maelstrom book) allow newlines, comments and a
	 * trailing comma here; TOML 1.0 does not. */
	for (;;) {
		tlex_skip_blank(l);
		int c = tlex_peek(l);
		if (c == '}')
			break;
		if (c < 0)
			goto unterminated;
		if (parse_keyval(P, t) < 0)
			goto fail;
		tlex_skip_blank(l);
		c = tlex_peek(l);
		if (c == ',') {
			tlex_adv(l, 1);
			continue;
		}
		if (c == '}')
			break;
		if (c < 0)
			goto unterminated;
		char what[16];
		tlex_error(l, "expected `,` or `}` in inline table, found %s; separate entries with "
			   "commas", tlex_describe(l, what));
		goto fail;
	}
	tlex_adv(l, 1);
	t->flags |= TF_FROZEN;
	*out = t;
	return 0;
unterminated:
	tlex_error_at(l, line, col, "unterminated inline table; close it with `}`");
fail:
	tnode_free(t);
	return -1;
}

/* A value at the cursor, for a key (rendered, for messages) or an array. */
static int parse_value(struct tparse *P, unsigned depth, const char *key, struct tnode **out)
{
	struct tlex *l = &P->lex;
	unsigned line = l->line, col = l->col;
	if (depth > TOML_MAX_DEPTH)
		return too_deep(P, line, col);
	int c = tlex_peek(l);
	if (c == '[')
		return parse_array(P, depth, out);
	if (c == '{')
		return parse_inline_table(P, depth, out);
	json_t *v = NULL;
	if (c == '"' || c == '\'') {
		struct buf b = BUF_INIT;
		if (tlex_string(l, &b, true) < 0) {
			buf_release(&b);
			return -1;
		}
		v = json_stringn(b.data ? b.data : "", b.len);
		buf_release(&b);
	} else {
		int r = tlex_scalar(l, &v);
		if (r < 0)
			return -1;
		if (r > 0) {
			char what[16];
			const char *found = tlex_describe(l, what);
			const char *hint = "; a value is a \"string\", a number, true, false, "
					   "an [array] or an { inline = \"table\" }";
			if (key)
				return tlex_error(l, "expected a value for key `%s`, found %s%s", key,
						  found, hint);
			return tlex_error(l, "expected a value, found %s%s", found, hint);
		}
	}
	*out = tnode_new(TN_VALUE, v, line, col, depth);
	return 0;
}

static int defined_twice(struct tparse *P, const struct tkey *k, size_t upto,
			 const struct tnode *first)
{
	_cleanup_free_ char *name = tkey_render(k, upto);
	return tlex_error_at(&P->lex, k->parts[0].line, k->parts[0].col, "key `%s` defined twice "
			     "(first at line %u); remove one of them", name, first->line);
}

static int not_a_table(struct tparse *P, unsigned line, unsigned col, const struct tkey *k,
		       size_t upto, const struct tnode *c)
{
	_cleanup_free_ char *name = tkey_render(k, upto);
	if (c->kind == TN_ARRAY && (c->flags & TF_AOT))
		return tlex_error_at(&P->lex, line, col, "`%s` is an array of tables (line %u), so "
				     "dotted keys cannot add to it; put the keys under a [[%s]] "
				     "header", name, c->line, name);
	if (c->kind == TN_ARRAY)
		return tlex_error_at(&P->lex, line, col, "`%s` is an array (line %u), not a table; "
				     "a static array cannot be extended", name, c->line);
	if (c->kind == TN_TABLE)  /* frozen */
		return tlex_error_at(&P->lex, line, col, "inline table `%s` (line %u) cannot be "
				     "extended; add the key inside its braces", name, c->line);
	return tlex_error_at(&P->lex, line, col, "key `%s` is already a value (line %u), not a "
			     "table; choose another key", name, c->line);
}

/* A key/value pair into table (the current section or an inline table). */
static int parse_keyval(struct tparse *P, struct tnode *table)
{
	struct tlex *l = &P->lex;
	struct tkey k = {0};
	_cleanup_free_ char *name = NULL;
	int rc = -1;
	if (tlex_key(l, &k) < 0)
		goto out;
	name = tkey_render(&k, k.n);
	unsigned line = k.parts[0].line, col = k.parts[0].col;
	if (tlex_peek(l) != '=') {
		tlex_error(l, "expected `=` after key `%s`; a key must be followed by `=` and a value",
			   name);
		goto out;
	}
	tlex_adv(l, 1);
	tlex_skip_ws(l);
	struct tnode *t = table;
	for (size_t i = 0; i + 1 < k.n; i++) {
		const struct tkey_part *part = &k.parts[i];
		struct tnode *c = tnode_get(t, part->text, part->len);
		if (!c) {
			if (t->depth + 1 > TOML_MAX_DEPTH) {
				too_deep(P, part->line, part->col);
				goto out;
			}
			c = new_table(part->line, part->col, t->depth + 1, TF_DOTTED);
			tnode_set(t, part->text, part->len, c);
		} else if (c->kind != TN_TABLE || (c->flags & TF_FROZEN)) {
			not_a_table(P, line, col, &k, i + 1, c);
			goto out;
		} else if (!(c->flags & TF_DOTTED)) {
			_cleanup_free_ char *tname = tkey_render(&k, i + 1);
			tlex_error_at(l, line, col, "cannot add to table `%s` with dotted keys: it was "
				      "made by a [table] header at line %u; put the key under that "
				      "header", tname, c->line);
			goto out;
		}
		t = c;
	}
	const struct tkey_part *last = &k.parts[k.n - 1];
	struct tnode *old = tnode_get(t, last->text, last->len);
	if (old) {
		defined_twice(P, &k, k.n, old);
		goto out;
	}
	struct tnode *v;
	if (parse_value(P, t->depth + 1, name, &v) < 0)
		goto out;
	tnode_set(t, last->text, last->len, v);
	rc = 0;
out:
	tkey_release(&k);
	return rc;
}

/* Steps through a header's key part i (not the last) from table t. */
static struct tnode *header_step(struct tparse *P, struct tnode *t, const struct tkey *k,
				 size_t i, unsigned line, unsigned col)
{
	const struct tkey_part *part = &k->parts[i];
	struct tnode *c = tnode_get(t, part->text, part->len);
	if (!c) {
		c = new_table(line, col, t->depth + 1, TF_IMPLICIT);
		tnode_set(t, part->text, part->len, c);
		return c;
	}
	if (c->kind == TN_TABLE && !(c->flags & TF_FROZEN))
		return c;
	if (c->kind == TN_ARRAY && (c->flags & TF_AOT))
		return c->kids[c->n - 1].node;  /* the latest [[element]] */
	_cleanup_free_ char *name = tkey_render(k, i + 1);
	if (c->kind == TN_ARRAY)
		tlex_error_at(&P->lex, line, col, "`%s` is a static array (line %u), not a table; "
			      "a [header] cannot reach inside it", name, c->line);
	else if (c->kind == TN_TABLE)
		tlex_error_at(&P->lex, line, col, "inline table `%s` (line %u) cannot be extended; "
			      "add the keys inside its braces", name, c->line);
	else
		tlex_error_at(&P->lex, line, col, "key `%s` is already a value (line %u), not a "
			      "table; choose another name", name, c->line);
	return NULL;
}

/* The last part of a [table] header. */
static struct tnode *header_table(struct tparse *P, struct tnode *t, const struct tkey *k,
				  unsigned line, unsigned col)
{
	const struct tkey_part *part = &k->parts[k->n - 1];
	struct tnode *c = tnode_get(t, part->text, part->len);
	if (!c) {
		c = new_table(line, col, t->depth + 1, TF_HEADER);
		tnode_set(t, part->text, part->len, c);
		return c;
	}
	_cleanup_free_ char *name = tkey_render(k, k->n);
	struct tlex *l = &P->lex;
	if (c->kind == TN_TABLE && (c->flags & TF_IMPLICIT)) {
		c->flags = TF_HEADER;
		c->line = line;
		c->col = col;
		return c;
	}
	if (c->kind == TN_TABLE && (c->flags & TF_FROZEN))
		tlex_error_at(l, line, col, "inline table `%s` (line %u) cannot be extended; add the "
			      "keys inside its braces", name, c->line);
	else if (c->kind == TN_TABLE && (c->flags & TF_DOTTED))
		tlex_error_at(l, line, col, "table `%s` was already made by dotted keys at line %u; "
			      "a [table] header cannot reopen it", name, c->line);
	else if (c->kind == TN_TABLE)
		tlex_error_at(l, line, col, "table `%s` defined twice (first at line %u); merge the "
			      "two sections", name, c->line);
	else if (c->flags & TF_AOT)
		tlex_error_at(l, line, col, "`%s` is an array of tables (line %u); use [[%s]] to add "
			      "an element", name, c->line, name);
	else
		tlex_error_at(l, line, col, "key `%s` defined twice (first at line %u); remove one "
			      "of them", name, c->line);
	return NULL;
}

/* The last part of an [[array.of.tables]] header: appends a table. */
static struct tnode *header_aot(struct tparse *P, struct tnode *t, const struct tkey *k,
				unsigned line, unsigned col)
{
	const struct tkey_part *part = &k->parts[k->n - 1];
	struct tnode *a = tnode_get(t, part->text, part->len);
	if (!a) {
		a = tnode_new(TN_ARRAY, json_array(), line, col, t->depth + 1);
		a->flags = TF_AOT;
		tnode_set(t, part->text, part->len, a);
	} else if (a->kind != TN_ARRAY || !(a->flags & TF_AOT)) {
		_cleanup_free_ char *name = tkey_render(k, k->n);
		struct tlex *l = &P->lex;
		if (a->kind == TN_ARRAY)
			tlex_error_at(l, line, col, "cannot append to static array `%s` (line %u) with "
				      "[[%s]]; write all its elements inside its [ ]", name, a->line,
				      name);
		else if (a->kind == TN_TABLE)
			tlex_error_at(l, line, col, "`%s` is already a table (line %u), not an array of "
				      "tables; use [%s] or rename one of them", name, a->line, name);
		else
			tlex_error_at(l, line, col, "key `%s` defined twice (first at line %u); remove "
				      "one of them", name, a->line);
		return NULL;
	}
	struct tnode *e = new_table(line, col, a->depth + 1, TF_HEADER);
	tnode_push(a, e);
	return e;
}

static int parse_header(struct tparse *P)
{
	struct tlex *l = &P->lex;
	unsigned line = l->line, col = l->col;
	bool aot = tlex_peek_at(l, 1) == '[';
	struct tkey k = {0};
	int rc = -1;
	tlex_adv(l, aot ? 2 : 1);
	tlex_skip_ws(l);
	if (tlex_key(l, &k) < 0)
		goto out;
	if (aot && tlex_peek(l) == ']' && tlex_peek_at(l, 1) != ']')
		tlex_adv(l, 1);  /* point at what stands where the second `]` should */
	if (tlex_peek(l) != ']' || (aot && tlex_peek_at(l, 1) != ']')) {
		_cleanup_free_ char *name = tkey_render(&k, k.n);
		char what[16];
		tlex_error(l, "expected `%s` to close %s%s%s, found %s; dotted names are written "
			   "a.b, quoted ones \"a b\"", aot ? "]]" : "]", aot ? "[[" : "[", name,
			   aot ? "]]" : "]", tlex_describe(l, what));
		goto out;
	}
	if (k.n > TOML_MAX_DEPTH) {
		too_deep(P, line, col);
		goto out;
	}
	tlex_adv(l, aot ? 2 : 1);
	struct tnode *t = P->root;
	for (size_t i = 0; t && i + 1 < k.n; i++)
		t = header_step(P, t, &k, i, line, col);
	if (t)
		t = aot ? header_aot(P, t, &k, line, col) : header_table(P, t, &k, line, col);
	if (!t)
		goto out;
	if (t->depth > TOML_MAX_DEPTH) {
		too_deep(P, line, col);
		goto out;
	}
	P->cur = t;
	rc = tlex_eol(l, "a table header");
out:
	tkey_release(&k);
	return rc;
}

int toml_parse_text(const char *text, size_t len, const char *filename, struct tnode **out,
		    struct err **err)
{
	struct tparse P;
	tlex_init(&P.lex, text, len, filename, err);
	P.root = new_table(1, 1, 0, TF_HEADER);
	P.cur = P.root;
	struct tlex *l = &P.lex;
	int rc = tlex_check_text(l);
	while (rc == 0) {
		tlex_skip_ws(l);
		int c = tlex_peek(l);
		if (c < 0)
			break;
		if (c == '[') {
			rc = parse_header(&P);
		} else if (c == '#' || tlex_at_newline(l)) {
			rc = tlex_eol(l, "a comment");
		} else {
			rc = parse_keyval(&P, P.cur);
			if (rc == 0)
				rc = tlex_eol(l, "a value");
		}
	}
	tlex_release(l);
	if (rc < 0) {
		tnode_free(P.root);
		return -1;
	}
	*out = P.root;
	return 0;
}
