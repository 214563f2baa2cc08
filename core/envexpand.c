/*
 * envexpand: the candidate map is an array of (name, value) pairs kept
 * sorted by name; each element's values are expanded into a fresh map that
 * is then merged into, or swapped for, the candidate map.
 */
#include "core/envexpand.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/xalloc.h"

struct kv {
	char *name;
	char *value;
};

struct envmap {
	struct kv *v;
	size_t n, cap;
};

/* A growable output string. */
struct buf {
	char *p;
	size_t n, cap;
};

/* What an expansion needs to know, and to name in its errors. */
struct expand_ctx {
	char *const *client_env;
	const struct envmap *prev;
	size_t element;
	const char *var;     /* the variable whose value is expanded */
	const char *value;   /* that value, for columns */
	struct err **err;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		b->cap = (b->n + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

/* ---- the sorted map -------------------------------------------------------- */

/* Compares the NUL-terminated a with the n bytes at b. */
static int name_cmp(const char *a, const char *b, size_t n)
{
	int c = strncmp(a, b, n);
	if (c != 0)
		return c;
	return a[n] == '\0' ? 0 : 1;
}

/* Index of name in m, or where it would go; *found says which. */
static size_t map_find(const struct envmap *m, const char *name, size_t len, bool *found)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(m->v[mid].name, name, len);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static const char *map_get(const struct envmap *m, const char *name, size_t len)
{
	bool found;
	size_t i = map_find(m, name, len, &found);
	return found ? m->v[i].value : NULL;
}

/* Sets name to value, taking ownership of both. */
static void map_set(struct envmap *m, char *name, char *value)
{
	bool found;
	size_t i = map_find(m, name, strlen(name), &found);
	if (found) {
		free(name);
		free(m->v[i].value);
		m->v[i].value = value;
		return;
	}
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 16;
		m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
	}
	memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
	m->v[i] = (struct kv){ name, value };
	m->n++;
}

static void map_release(struct envmap *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].name);
		free(m->v[i].value);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* ---- expansion ------------------------------------------------------------ */

static const char *lookup_n(char *const *envp, const char *name, size_t len)
{
	if (!envp)
		return NULL;
	for (; *envp; envp++)
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			return *envp + len + 1;
	return NULL;
}

const char *env_lookup(char *const *envp, const char *name)
{
	return lookup_n(envp, name, strlen(name));
}

static size_t column(const struct expand_ctx *c, const char *at)
{
	return (size_t)(at - c->value) + 1;
}

static int expand(const struct expand_ctx *c, const char *s, size_t len, struct buf *out);

/* Expands the form $kind{...} whose `$` is at s; kind_len is 3 (env) or 4
 * (prev); end bounds the text. Stores the length of the whole form in
 * *used. */
static int expand_form(const struct expand_ctx *c, const char *s, const char *end,
		       size_t kind_len, struct buf *out, size_t *used)
{
	bool is_env = kind_len == 3;
	const char *kind = is_env ? "env" : "prev";
	const char *name = s + 1 + kind_len + 1;
	const char *p = name;
	while (p < end && *p != '}' && !(p[0] == ':' && p + 1 < end && p[1] == '-'))
		p++;
	if (p == end)
		return err_set(c->err, 0,
			       "environment[%zu].%s: `$%s{` at column %zu has no closing `}`",
			       c->element, c->var, kind, column(c, s));
	size_t name_len = (size_t)(p - name);
	if (name_len == 0 || memchr(name, '=', name_len) || memchr(name, '{', name_len) ||
	    memchr(name, '$', name_len))
		return err_set(c->err, 0,
			       "environment[%zu].%s: `$%s{%.*s}` at column %zu does not name a "
			       "variable: write $%s{NAME}",
			       c->element, c->var, kind, (int)name_len, name, column(c, s), kind);
	const char *def = NULL, *def_end = NULL;
	if (*p == ':') {
		def = p + 2;
		int depth = 0;
		for (p = def; p < end; p++) {
			if (*p == '{')
				depth++;
			else if (*p == '}' && depth-- == 0)
				break;
		}
		if (p == end)
			return err_set(c->err, 0,
				       "environment[%zu].%s: `$%s{` at column %zu has no closing `}`",
				       c->element, c->var, kind, column(c, s));
		def_end = p;
	}
	*used = (size_t)(p + 1 - s);
	const char *val = is_env ? lookup_n(c->client_env, name, name_len)
				 : map_get(c->prev, name, name_len);
	if (val) {
		buf_add(out, val, strlen(val));
		return 0;
	}
	if (def)
		return expand(c, def, (size_t)(def_end - def), out);
	if (is_env)
		return err_set(c->err, 0,
			       "environment[%zu].%s: $env{%.*s} is not set in the client's "
			       "environment; set it or write $env{%.*s:-default}",
			       c->element, c->var, (int)name_len, name, (int)name_len, name);
	return err_set(c->err, 0,
		       "environment[%zu].%s: $prev{%.*s} is not set by the image or an earlier "
		       "environment element; set it there or write $prev{%.*s:-default}",
		       c->element, c->var, (int)name_len, name, (int)name_len, name);
}

static bool is_word_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_';
}

/* Appends the expansion of s[0..len) to out. */
static int expand(const struct expand_ctx *c, const char *s, size_t len, struct buf *out)
{
	const char *end = s + len;
	const char *p = s;
	while (p < end) {
		const char *dollar = memchr(p, '$', (size_t)(end - p));
		if (!dollar) {
			buf_add(out, p, (size_t)(end - p));
			break;
		}
		buf_add(out, p, (size_t)(dollar - p));
		if (dollar + 1 < end && dollar[1] == '$') {
			buf_add(out, "$$", 2);
			p = dollar + 2;
			continue;
		}
		const char *w = dollar + 1;
		while (w < end && is_word_char(*w))
			w++;
		if (w == end || *w != '{') {
			buf_add(out, "$", 1);
			p = dollar + 1;
			continue;
		}
		size_t word = (size_t)(w - dollar - 1);
		size_t used = 0;
		if ((word == 3 && memcmp(dollar + 1, "env", 3) == 0) ||
		    (word == 4 && memcmp(dollar + 1, "prev", 4) == 0)) {
			if (expand_form(c, dollar, end, word, out, &used) < 0)
				return -1;
			p = dollar + used;
			continue;
		}
		return err_set(c->err, 0,
			       "environment[%zu].%s: unknown expansion `$%.*s{` at column %zu: "
			       "write $env{NAME} for the client's variable or $prev{NAME} for "
			       "the value before this element",
			       c->element, c->var, (int)word, dollar + 1, column(c, dollar));
	}
	return 0;
}

/* ---- computing the environment ------------------------------------------ */

static int check_name(const char *name, size_t element, struct err **err)
{
	if (name[0] == '\0')
		return err_set(err, 0, "environment[%zu]: a variable has an empty name", element);
	if (strchr(name, '='))
		return err_set(err, 0,
			       "environment[%zu].%s: a variable name cannot hold `=`", element, name);
	return 0;
}

/* Expands element i of specs into a new map. */
static int expand_element(const struct env_spec *spec, size_t i, char *const *client_env,
			  const struct envmap *prev, struct envmap *out, struct err **err)
{
	for (size_t j = 0; j < spec->n_vars; j++) {
		const struct env_var *v = &spec->vars[j];
		if (check_name(v->name, i, err) < 0)
			return -1;
		const char *value = v->value ? v->value : "";
		struct expand_ctx c = {
			.client_env = client_env, .prev = prev, .element = i,
			.var = v->name, .value = value, .err = err,
		};
		struct buf b = { 0 };
		buf_add(&b, "", 0);
		if (expand(&c, value, strlen(value), &b) < 0) {
			free(b.p);
			return -1;
		}
		map_set(out, xstrndup(v->name, strlen(v->name)), b.p);
	}
	return 0;
}

int env_compute(const struct env_spec *specs, size_t n, char *const *initial,
		char *const *client_env, char ***out, struct err **err)
{
	*out = NULL;
	struct envmap cand = { 0 };
	for (char *const *e = initial; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (eq && eq != *e)
			map_set(&cand, xstrndup(*e, (size_t)(eq - *e)), xstrndup(eq + 1, strlen(eq + 1)));
	}
	for (size_t i = 0; i < n; i++) {
		struct envmap next = { 0 };
		if (expand_element(&specs[i], i, client_env, &cand, &next, err) < 0) {
			map_release(&next);
			map_release(&cand);
			return -1;
		}
		if (specs[i].extend) {
			for (size_t j = 0; j < next.n; j++)
				map_set(&cand, next.v[j].name, next.v[j].value);
			free(next.v);
		} else {
			map_release(&cand);
			cand = next;
		}
	}
	char **envp = xrealloc(NULL, (cand.n + 1) * sizeof(*envp));
	for (size_t i = 0; i < cand.n; i++)
		if (asprintf(&envp[i], "%s=%s", cand.v[i].name, cand.v[i].value) < 0)
			abort();
	envp[cand.n] = NULL;
	map_release(&cand);
	*out = envp;
	return 0;
}

void env_free(char **envp)
{
	if (!envp)
		return;
	for (char **e = envp; *e; e++)
		free(*e);
	free(envp);
}
