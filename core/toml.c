/* The TOML reader's node tree and the public toml_doc API. */
#include "core/toml.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/err.h"
#include "core/toml_internal.h"

/* A spec file is a few kilobytes; refuse anything absurd before reading it. */
#define TOML_MAX_FILE (64u << 20)

struct toml_doc {
	struct tnode *tree;
	char *filename;
};

struct tnode *tnode_new(enum tnode_kind kind, json_t *json, unsigned line, unsigned col,
			unsigned depth)
{
	if (!json)
		abort();  /* jansson ran out of memory */
	struct tnode *n = calloc(1, sizeof(*n));
	if (!n)
		abort();
	n->kind = kind;
	n->json = json;
	n->line = line;
	n->col = col;
	n->depth = depth;
	return n;
}

void tnode_free(struct tnode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n; i++) {
		free(n->kids[i].key);
		tnode_free(n->kids[i].node);
	}
	free(n->kids);
	json_decref(n->json);
	free(n);
}

struct tnode *tnode_get(const struct tnode *table, const char *key, size_t keylen)
{
	/* jansson's hash answers the common case (a new key) at once. */
	if (!json_object_getn(table->json, key, keylen))
		return NULL;
	for (size_t i = 0; i < table->n; i++) {
		const struct tkid *k = &table->kids[i];
		if (k->keylen == keylen && memcmp(k->key, key, keylen) == 0)
			return k->node;
	}
	return NULL;
}

static struct tkid *add_kid(struct tnode *parent, struct tnode *child)
{
	if (parent->n == parent->cap) {
		parent->cap = parent->cap ? 2 * parent->cap : 4;
		parent->kids = realloc(parent->kids, parent->cap * sizeof(*parent->kids));
		if (!parent->kids)
			abort();
	}
	struct tkid *k = &parent->kids[parent->n++];
	memset(k, 0, sizeof(*k));
	k->node = child;
	return k;
}

void tnode_set(struct tnode *table, const char *key, size_t keylen, struct tnode *child)
{
	/* Keys and strings were checked as UTF-8, so this fails only for want
	 * of memory. */
	if (json_object_setn(table->json, key, keylen, child->json) < 0)
		abort();
	struct tkid *k = add_kid(table, child);
	k->key = malloc(keylen + 1);
	if (!k->key)
		abort();
	memcpy(k->key, key, keylen);
	k->key[keylen] = '\0';
	k->keylen = keylen;
}

void tnode_push(struct tnode *array, struct tnode *child)
{
	if (json_array_append(array->json, child->json) < 0)
		abort();
	add_kid(array, child);
}

int toml_parse(const char *text, size_t len, const char *filename, struct toml_doc **out,
	       struct err **err)
{
	*out = NULL;
	if (!filename)
		filename = "<input>";
	struct tnode *tree = NULL;
	if (toml_parse_text(text ? text : "", text ? len : 0, filename, &tree, err) < 0)
		return -1;
	struct toml_doc *d = calloc(1, sizeof(*d));
	if (!d || !(d->filename = strdup(filename)))
		abort();
	d->tree = tree;
	*out = d;
	return 0;
}

int toml_parse_file(const char *path, struct toml_doc **out, struct err **err)
{
	*out = NULL;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno, "cannot open %s", path);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return err_set(err, errno, "cannot stat %s", path);
	if (S_ISDIR(st.st_mode))
		return err_set(err, EISDIR, "cannot read %s", path);
	struct buf b = BUF_INIT;
	for (;;) {
		if (b.len > TOML_MAX_FILE) {
			buf_release(&b);
			return err_set(err, 0, "%s is larger than %u MiB; a spec file should be small",
				       path, TOML_MAX_FILE >> 20);
		}
		buf_reserve(&b, 65536);
		ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			buf_release(&b);
			return err_set(err, saved, "cannot read %s", path);
		}
		if (n == 0)
			break;
		b.len += (size_t)n;
		b.data[b.len] = '\0';
	}
	int rc = toml_parse(b.data, b.len, path, out, err);
	buf_release(&b);
	return rc;
}

json_t *toml_doc_root(const struct toml_doc *d)
{
	return d->tree->json;
}

const char *toml_doc_filename(const struct toml_doc *d)
{
	return d->filename;
}

/* Decodes one path segment (up to `/` or the end) with ~0 and ~1. */
static const char *segment(const char *p, struct buf *seg)
{
	buf_reset(seg);
	for (; *p && *p != '/'; p++) {
		if (p[0] == '~' && p[1] == '1') {
			buf_append(seg, "/", 1);
			p++;
		} else if (p[0] == '~' && p[1] == '0') {
			buf_append(seg, "~", 1);
			p++;
		} else {
			buf_append(seg, p, 1);
		}
	}
	return p;
}

/* An array index: decimal digits, no sign, no leading zero. */
static bool parse_index(const char *s, size_t len, size_t *out)
{
	if (len == 0 || (len > 1 && s[0] == '0'))
		return false;
	size_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (SIZE_MAX - 9) / 10)
			return false;
		v = v * 10 + (size_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

static const struct tnode *child_at(const struct tnode *n, const struct buf *seg)
{
	size_t idx;
	switch (n->kind) {
	case TN_TABLE:
		return tnode_get(n, seg->data ? seg->data : "", seg->len);
	case TN_ARRAY:
		if (parse_index(seg->data, seg->len, &idx) && idx < n->n)
			return n->kids[idx].node;
		return NULL;
	case TN_VALUE:
		return NULL;
	}
	return NULL;
}

bool toml_doc_position(const struct toml_doc *d, const char *path, unsigned *line, unsigned *col)
{
	if (!d)
		return false;
	const struct tnode *n = d->tree;
	const char *p = path ? path : "";
	if (*p == '/')
		p++;
	struct buf seg = BUF_INIT;
	while (*p) {
		p = segment(p, &seg);
		const struct tnode *c = child_at(n, &seg);
		if (!c)
			break;
		n = c;
		if (*p == '/')
			p++;
	}
	buf_release(&seg);
	*line = n->line;
	*col = n->col;
	return true;
}

void toml_doc_free(struct toml_doc *d)
{
	if (!d)
		return;
	tnode_free(d->tree);
	free(d->filename);
	free(d);
}
