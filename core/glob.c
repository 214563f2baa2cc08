/*
 * glob: patterns are parsed into a small tree (sequences of nodes, groups
 * holding alternative sequences), then compiled back to front into a
 * Thompson automaton: every node becomes one to three states that point at
 * the states of what follows it. Matching keeps the set of live states and
 * advances it one code point at a time, so no input can make it backtrack.
 */
#include "core/glob.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/xalloc.h"

#define MAX_GROUP_DEPTH 32
#define INVALID_BASE 0x110000u /* invalid byte b reads as INVALID_BASE + b */

/* ---- tree ---------------------------------------------------------------- */

enum node_kind {
	N_CHAR,      /* arg: code point */
	N_ANY,       /* ? */
	N_STAR,      /* * */
	N_DSTAR,     /* ** */
	N_DSTAR_DIR, /* ** followed by / at a component start: (.* /)? */
	N_CLASS,     /* arg: index into glob->classes */
	N_GROUP,     /* alts */
};

struct seq;

struct node {
	enum node_kind kind;
	uint32_t arg;
	struct seq *alts;
	size_t n_alts;
};

struct seq {
	struct node *v;
	size_t n, cap;
};

/* ---- automaton --------------------------------------------------------------- */

enum state_op {
	S_CHAR,   /* consumes code point arg */
	S_ANYNS,  /* consumes any code point but '/' */
	S_ANY,    /* consumes any code point */
	S_CLASS,  /* consumes a member of class arg */
	S_SPLIT,  /* no input: goes on to out and out1 */
	S_MATCH,
};

struct state {
	enum state_op op;
	uint32_t arg;
	uint32_t out, out1;
};

struct range {
	uint32_t lo, hi;
};

struct class {
	bool negated;
	struct range *r;
	size_t n;
};

struct glob {
	char *pattern;
	char *prefix;
	struct class *classes;
	size_t n_classes;
	struct state *states;
	size_t n_states, cap_states;
	uint32_t start;
};

/* Reads one code point at *p and advances past it. */
static uint32_t next_cp(const char **p)
{
	const unsigned char *s = (const unsigned char *)*p;
	uint32_t c = s[0];
	size_t len = 1;
	uint32_t min = 0;
	if (c >= 0xf0 && c < 0xf5) {
		len = 4, c &= 0x07, min = 0x10000;
	} else if (c >= 0xe0) {
		len = c < 0xf0 ? 3 : 0, c &= 0x0f, min = 0x800;
	} else if (c >= 0xc2) {
		len = 2, c &= 0x1f, min = 0x80;
	} else if (c >= 0x80) {
		len = 0;
	}
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			len = 0;
			break;
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (len == 0 || c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
		*p += 1;
		return INVALID_BASE + s[0];
	}
	*p += len;
	return c;
}

/* ---- parsing ------------------------------------------------------------------- */

struct parser {
	struct glob *g;
	const char *p;      /* cursor in the pattern */
	struct err **err;
};

static size_t column(const struct parser *ps, const char *at)
{
	return (size_t)(at - ps->g->pattern) + 1;
}

static struct node *seq_push(struct seq *s, enum node_kind kind, uint32_t arg)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 8;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	struct node *n = &s->v[s->n++];
	*n = (struct node){ .kind = kind, .arg = arg };
	return n;
}

static void seq_release(struct seq *s)
{
	for (size_t i = 0; i < s->n; i++) {
		for (size_t j = 0; j < s->v[i].n_alts; j++)
			seq_release(&s->v[i].alts[j]);
		free(s->v[i].alts);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* Parses a class; ps->p is just past the `[` at open. */
static int parse_class(struct parser *ps, const char *open, uint32_t *index)
{
	struct class cl = { 0 };
	size_t cap = 0;
	if (*ps->p == '!' || *ps->p == '^') {
		cl.negated = true;
		ps->p++;
	}
	bool first = true;
	while (*ps->p && (*ps->p != ']' || first)) {
		const char *item = ps->p;
		if (*ps->p == '\\' && ps->p[1])
			ps->p++;
		uint32_t lo = next_cp(&ps->p), hi = lo;
		if (ps->p[0] == '-' && ps->p[1] && ps->p[1] != ']') {
			ps->p++;
			if (*ps->p == '\\' && ps->p[1])
				ps->p++;
			hi = next_cp(&ps->p);
			if (hi < lo) {
				free(cl.r);
				return err_set(ps->err, 0,
					       "reversed range at column %zu in glob `%s`: "
					       "write the lower end first",
					       column(ps, item), ps->g->pattern);
			}
		}
		if (cl.n == cap) {
			cap = cap ? 2 * cap : 4;
			cl.r = xrealloc(cl.r, cap * sizeof(*cl.r));
		}
		cl.r[cl.n++] = (struct range){ lo, hi };
		first = false;
	}
	if (*ps->p != ']') {
		free(cl.r);
		return err_set(ps->err, 0,
			       "unclosed `[` at column %zu in glob `%s`: "
			       "add the closing `]` or escape it as `\\[`",
			       column(ps, open), ps->g->pattern);
	}
	ps->p++;
	struct glob *g = ps->g;
	g->classes = xrealloc(g->classes, (g->n_classes + 1) * sizeof(*g->classes));
	g->classes[g->n_classes] = cl;
	*index = (uint32_t)g->n_classes++;
	return 0;
}

static int parse_seq(struct parser *ps, struct seq *out, int depth, bool comp_start);

/* Parses a group; ps->p is just past the `{` at open. */
static int parse_group(struct parser *ps, struct node *n, const char *open, int depth,
		       bool comp_start)
{
	if (depth >= MAX_GROUP_DEPTH)
		return err_set(ps->err, 0,
			       "groups nested more than %d deep at column %zu in glob `%s`",
			       MAX_GROUP_DEPTH, column(ps, open), ps->g->pattern);
	for (;;) {
		n->alts = xrealloc(n->alts, (n->n_alts + 1) * sizeof(*n->alts));
		struct seq *alt = &n->alts[n->n_alts++];
		memset(alt, 0, sizeof(*alt));
		if (parse_seq(ps, alt, depth + 1, comp_start) < 0)
			return -1;
		if (*ps->p == ',') {
			ps->p++;
		} else if (*ps->p == '}') {
			ps->p++;
			return 0;
		} else {
			return err_set(ps->err, 0,
				       "unclosed `{` at column %zu in glob `%s`: "
				       "add the closing `}` or escape it as `\\{`",
				       column(ps, open), ps->g->pattern);
		}
	}
}

/* Parses up to the end of the pattern, or, inside a group (depth > 0), up
 * to the `,` or `}` that ends the alternative. comp_start: the sequence
 * begins a path component. */
static int parse_seq(struct parser *ps, struct seq *out, int depth, bool comp_start)
{
	while (*ps->p) {
		const char *at = ps->p;
		char c = *at;
		if (depth > 0 && (c == ',' || c == '}'))
			return 0;
		bool next_comp_start = false;
		switch (c) {
		case '}':
			return err_set(ps->err, 0,
				       "unmatched `}` at column %zu in glob `%s`: "
				       "escape it as `\\}`",
				       column(ps, at), ps->g->pattern);
		case '\\':
			if (!at[1])
				return err_set(ps->err, 0,
					       "trailing `\\` at column %zu in glob `%s`: "
					       "write `\\\\` for a literal backslash",
					       column(ps, at), ps->g->pattern);
			ps->p++;
			seq_push(out, N_CHAR, next_cp(&ps->p));
			break;
		case '?':
			ps->p++;
			seq_push(out, N_ANY, 0);
			break;
		case '*':
			if (at[1] != '*') {
				ps->p++;
				seq_push(out, N_STAR, 0);
			} else if (comp_start && at[2] == '/') {
				ps->p += 3;
				seq_push(out, N_DSTAR_DIR, 0);
				next_comp_start = true;
			} else {
				ps->p += 2;
				seq_push(out, N_DSTAR, 0);
			}
			break;
		case '[': {
			ps->p++;
			uint32_t cls = 0;
			if (parse_class(ps, at, &cls) < 0)
				return -1;
			seq_push(out, N_CLASS, cls);
			break;
		}
		case '{': {
			ps->p++;
			struct node *n = seq_push(out, N_GROUP, 0);
			/* n may move when out grows, but out does not grow
			 * until the group is parsed. */
			if (parse_group(ps, n, at, depth, comp_start) < 0)
				return -1;
			break;
		}
		default:
			next_comp_start = c == '/';
			seq_push(out, N_CHAR, next_cp(&ps->p));
			break;
		}
		comp_start = next_comp_start;
	}
	return 0;
}

/* ---- compiling ----------------------------------------------------------------- */

static uint32_t add_state(struct glob *g, enum state_op op, uint32_t arg, uint32_t out,
			  uint32_t out1)
{
	if (g->n_states == g->cap_states) {
		g->cap_states = g->cap_states ? 2 * g->cap_states : 16;
		g->states = xrealloc(g->states, g->cap_states * sizeof(*g->states));
	}
	g->states[g->n_states] = (struct state){ op, arg, out, out1 };
	return (uint32_t)g->n_states++;
}

/* A loop over one consuming state: (op)* then next. */
static uint32_t add_loop(struct glob *g, enum state_op op, uint32_t next)
{
	uint32_t split = add_state(g, S_SPLIT, 0, 0, next);
	uint32_t eat = add_state(g, op, 0, split, 0);
	g->states[split].out = eat;
	return split;
}

static uint32_t compile_seq(struct glob *g, const struct seq *s, uint32_t next);

static uint32_t compile_node(struct glob *g, const struct node *n, uint32_t next)
{
	switch (n->kind) {
	case N_CHAR:
		return add_state(g, S_CHAR, n->arg, next, 0);
	case N_ANY:
		return add_state(g, S_ANYNS, 0, next, 0);
	case N_CLASS:
		return add_state(g, S_CLASS, n->arg, next, 0);
	case N_STAR:
		return add_loop(g, S_ANYNS, next);
	case N_DSTAR:
		return add_loop(g, S_ANY, next);
	case N_DSTAR_DIR: {
		uint32_t slash = add_state(g, S_CHAR, '/', next, 0);
		uint32_t any = add_loop(g, S_ANY, slash);
		return add_state(g, S_SPLIT, 0, any, next);
	}
	case N_GROUP: {
		uint32_t entry = compile_seq(g, &n->alts[n->n_alts - 1], next);
		for (size_t i = n->n_alts - 1; i-- > 0;) {
			uint32_t alt = compile_seq(g, &n->alts[i], next);
			entry = add_state(g, S_SPLIT, 0, alt, entry);
		}
		return entry;
	}
	}
	abort(); /* unreachable: every kind is handled above */
}

static uint32_t compile_seq(struct glob *g, const struct seq *s, uint32_t next)
{
	for (size_t i = s->n; i-- > 0;)
		next = compile_node(g, &s->v[i], next);
	return next;
}

/* The directories before the first metacharacter, escapes resolved. */
static char *literal_prefix(const char *pattern)
{
	size_t len = strlen(pattern);
	char *buf = xrealloc(NULL, len + 2);
	size_t n = 0;
	ssize_t last_slash = -1;
	for (const char *p = pattern; *p; p++) {
		if (strchr("*?[{", *p))
			break;
		if (*p == '\\' && p[1])
			p++;
		if (*p == '/')
			last_slash = (ssize_t)n;
		buf[n++] = *p;
	}
	if (last_slash < 0)
		n = 0;
	else
		n = last_slash == 0 ? 1 : (size_t)last_slash;
	buf[n] = '\0';
	return buf;
}

int glob_compile(struct glob **out, const char *pattern, struct err **err)
{
	*out = NULL;
	struct glob *g = xrealloc(NULL, sizeof(*g));
	memset(g, 0, sizeof(*g));
	g->pattern = strdup(pattern);
	if (!g->pattern)
		abort();
	struct parser ps = { .g = g, .p = g->pattern, .err = err };
	struct seq top = { 0 };
	if (parse_seq(&ps, &top, 0, true) < 0) {
		seq_release(&top);
		glob_free(g);
		return -1;
	}
	uint32_t match = add_state(g, S_MATCH, 0, 0, 0);
	g->start = compile_seq(g, &top, match);
	seq_release(&top);
	g->prefix = literal_prefix(pattern);
	*out = g;
	return 0;
}

void glob_free(struct glob *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n_classes; i++)
		free(g->classes[i].r);
	free(g->classes);
	free(g->states);
	free(g->pattern);
	free(g->prefix);
	free(g);
}

const char *glob_pattern(const struct glob *g)
{
	return g->pattern;
}

const char *glob_literal_prefix(const struct glob *g)
{
	return g->prefix;
}

/* ---- matching ------------------------------------------------------------------ */

/* The live state set: list[0..n) holds consuming and match states;
 * mark[s] == gen when s was added in this generation. */
struct runner {
	const struct glob *g;
	uint32_t *cur, *nxt, *mark, *stack;
	size_t n_cur, n_nxt;
	uint32_t gen;
	uint32_t small[4 * 128];
	uint32_t *heap;
};

static void runner_init(struct runner *r, const struct glob *g)
{
	size_t n = g->n_states;
	uint32_t *mem = r->small;
	r->heap = NULL;
	if (n > 128) {
		r->heap = xrealloc(NULL, 4 * n * sizeof(*mem));
		mem = r->heap;
	}
	r->g = g;
	r->cur = mem;
	r->nxt = mem + n;
	r->mark = mem + 2 * n;
	r->stack = mem + 3 * n;
	memset(r->mark, 0, n * sizeof(*r->mark));
	r->n_cur = r->n_nxt = 0;
	r->gen = 1;
}

/* Adds s and everything reachable from it without input to nxt. */
static void runner_add(struct runner *r, uint32_t s)
{
	size_t depth = 0;
	if (r->mark[s] == r->gen)
		return;
	r->mark[s] = r->gen;
	r->stack[depth++] = s;
	while (depth > 0) {
		const struct state *st = &r->g->states[r->stack[--depth]];
		if (st->op != S_SPLIT) {
			r->nxt[r->n_nxt++] = (uint32_t)(st - r->g->states);
			continue;
		}
		uint32_t succ[2] = { st->out1, st->out };
		for (size_t i = 0; i < 2; i++) {
			if (r->mark[succ[i]] != r->gen) {
				r->mark[succ[i]] = r->gen;
				r->stack[depth++] = succ[i];
			}
		}
	}
}

/* Makes nxt the current set and opens a new generation. */
static void runner_swap(struct runner *r)
{
	uint32_t *t = r->cur;
	r->cur = r->nxt;
	r->nxt = t;
	r->n_cur = r->n_nxt;
	r->n_nxt = 0;
	r->gen++;
}

static bool class_has(const struct class *cl, uint32_t c)
{
	if (c == '/')
		return false;
	bool in = false;
	for (size_t i = 0; i < cl->n && !in; i++)
		in = cl->r[i].lo <= c && c <= cl->r[i].hi;
	return in != cl->negated;
}

static bool consumes(const struct glob *g, const struct state *st, uint32_t c)
{
	switch (st->op) {
	case S_CHAR:
		return st->arg == c;
	case S_ANYNS:
		return c != '/';
	case S_ANY:
		return true;
	case S_CLASS:
		return class_has(&g->classes[st->arg], c);
	case S_SPLIT:
	case S_MATCH:
		return false;
	}
	return false;
}

/* Feeds path to the runner. Returns false once no state is left alive. */
static bool runner_feed(struct runner *r, const char *path)
{
	while (*path) {
		uint32_t c = next_cp(&path);
		for (size_t i = 0; i < r->n_cur; i++) {
			const struct state *st = &r->g->states[r->cur[i]];
			if (consumes(r->g, st, c))
				runner_add(r, st->out);
		}
		runner_swap(r);
		if (r->n_cur == 0)
			return false;
	}
	return true;
}

static void runner_start(struct runner *r, const struct glob *g)
{
	runner_init(r, g);
	runner_add(r, g->start);
	runner_swap(r);
}

bool glob_match(const struct glob *g, const char *path)
{
	struct runner r;
	runner_start(&r, g);
	bool matched = false;
	if (runner_feed(&r, path))
		for (size_t i = 0; i < r.n_cur && !matched; i++)
			matched = g->states[r.cur[i]].op == S_MATCH;
	free(r.heap);
	return matched;
}

bool glob_may_match_below(const struct glob *g, const char *dir)
{
	struct runner r;
	runner_start(&r, g);
	bool alive = runner_feed(&r, dir);
	size_t len = strlen(dir);
	if (alive && len > 0 && dir[len - 1] != '/')
		alive = runner_feed(&r, "/");
	bool may = false;
	if (alive)
		for (size_t i = 0; i < r.n_cur && !may; i++)
			may = g->states[r.cur[i]].op != S_MATCH;
	free(r.heap);
	return may;
}
