/*
 * directives_paths: the spec-file loader's field paths and positioned
 * messages (see runners/directives_internal.h): every message starts with
 * "FILE:LINE:COL: " from core/toml's positions, names the field path as
 * the job-spec reader does, and suggests close names for typos.
 */
#include "runners/directives_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/cleanup.h"
#include "core/suggest.h"

/* ---- paths ----------------------------------------------------------------- */

static void append(char *buf, size_t size, size_t *len, const char *text)
{
	size_t room = size - 1 - *len, n = strlen(text);
	if (n > room)
		n = room;
	memcpy(buf + *len, text, n);
	*len += n;
	buf[*len] = '\0';
}

struct dmark dload_push_key(struct dload *l, const char *key)
{
	struct dpath *p = &l->path;
	struct dmark m = { p->dlen, p->plen };
	if (p->dlen)
		append(p->disp, sizeof(p->disp), &p->dlen, ".");
	append(p->disp, sizeof(p->disp), &p->dlen, key);
	append(p->ptr, sizeof(p->ptr), &p->plen, "/");
	/* toml_doc_position's escapes: "~0" for `~`, "~1" for `/`. */
	for (const char *k = key; *k; k++) {
		char one[2] = { *k, '\0' };
		append(p->ptr, sizeof(p->ptr), &p->plen,
		       *k == '~' ? "~0" : *k == '/' ? "~1" : one);
	}
	return m;
}

struct dmark dload_push_index(struct dload *l, size_t i)
{
	struct dpath *p = &l->path;
	struct dmark m = { p->dlen, p->plen };
	char num[32];
	snprintf(num, sizeof(num), "[%zu]", i);
	append(p->disp, sizeof(p->disp), &p->dlen, num);
	snprintf(num, sizeof(num), "/%zu", i);
	append(p->ptr, sizeof(p->ptr), &p->plen, num);
	return m;
}

void dload_pop(struct dload *l, struct dmark m)
{
	l->path.dlen = m.dlen;
	l->path.disp[m.dlen] = '\0';
	l->path.plen = m.plen;
	l->path.ptr[m.plen] = '\0';
}

/* ---- messages -------------------------------------------------------------- */

/* Sets "FILE:L:C: <msg>" with the position of the current path. */
static int positioned(struct dload *l, const char *msg)
{
	unsigned line = 1, col = 1;
	toml_doc_position(l->doc, l->path.ptr, &line, &col);
	return err_set(l->err, 0, "%s:%u:%u: %s", toml_doc_filename(l->doc), line, col, msg);
}

int dload_bad(struct dload *l, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL, *full = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0 || asprintf(&full, "field `%s`: %s", l->path.disp, msg) < 0)
		abort(); /* out of memory */
	return positioned(l, full);
}

const char *dload_closest(const char *word, const char *const *names, size_t n)
{
	return suggest_closest(word, names, n, DLOAD_SUGGEST_MAX_LEN);
}

int dload_unknown_field(struct dload *l, const char *key, const char *const *known, size_t n)
{
	struct dmark m = dload_push_key(l, key);
	const char *guess = dload_closest(key, known, n);
	_cleanup_free_ char *msg = NULL;
	int rc;
	if (guess) {
		rc = asprintf(&msg, "unknown field `%s` (did you mean `%s`?)", l->path.disp, guess);
	} else {
		size_t size = 64 + strlen(l->path.disp);
		for (size_t i = 0; i < n; i++)
			size += strlen(known[i]) + 6;
		msg = malloc(size);
		if (!msg)
			abort();
		rc = snprintf(msg, size, "unknown field `%s`: expected one of ", l->path.disp);
		for (size_t i = 0; i < n; i++)
			rc += snprintf(msg + rc, size - (size_t)rc, "%s`%s`",
				       i == 0 ? "" : i + 1 == n ? " or " : ", ", known[i]);
	}
	if (rc < 0)
		abort();
	positioned(l, msg);
	dload_pop(l, m);
	return -1;
}

/* Follows a ".key[3].other" suffix of a job-spec field path, pushing each
 * part; stops at the closing backtick. */
static void push_suffix(struct dload *l, const char *s, const char *end)
{
	while (s < end) {
		if (*s == '.') {
			const char *k = ++s;
			while (s < end && *s != '.' && *s != '[')
				s++;
			char key[256];
			size_t n = (size_t)(s - k) < sizeof(key) - 1 ? (size_t)(s - k) : sizeof(key) - 1;
			memcpy(key, k, n);
			key[n] = '\0';
			dload_push_key(l, key);
		} else if (*s == '[') {
			char *stop = NULL;
			unsigned long long i = strtoull(s + 1, &stop, 10);
			if (!stop || *stop != ']')
				return;
			dload_push_index(l, (size_t)i);
			s = stop + 1;
		} else {
			return;
		}
	}
}

int dload_rewrap(struct dload *l, const char *inner, struct err **inner_err)
{
	const char *msg = err_msg(*inner_err);
	size_t n = strlen(inner);
	const char *at = msg;
	while ((at = strchr(at, '`'))) {
		char next = at[1 + n];
		if (strncmp(at + 1, inner, n) == 0 && (next == '`' || next == '.' || next == '['))
			break;
		at++;
	}
	if (!at) {
		int rc = dload_bad(l, "%s", msg);
		err_free(inner_err);
		return rc;
	}
	const char *rest = at + 1 + n;
	const char *close = strchr(rest, '`');
	struct dmark m = { l->path.dlen, l->path.plen };
	_cleanup_free_ char *full = NULL;
	if (asprintf(&full, "%.*s%s%s", (int)(at + 1 - msg), msg, l->path.disp, rest) < 0)
		abort();
	push_suffix(l, rest, close ? close : rest + strlen(rest));
	positioned(l, full);
	dload_pop(l, m);
	err_free(inner_err);
	return -1;
}
