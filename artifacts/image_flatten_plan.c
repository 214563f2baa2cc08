/*
 * image_flatten_plan: pass 1 of image_flatten (see image_flatten_internal.h).
 *
 * The layers are read top first. For each path the plan keeps a node:
 *   top         the highest layer with an entry at the path (later entries
 *               of the same tar replace earlier ones: ordinal is the last);
 *   hide_below  entries below the path from layers under this one are
 *               hidden: set by a whiteout of the path, an opaque marker in
 *               it, or a non-directory at it (which replaces a directory
 *               with everything in it);
 *   dir_above   the highest layer with an entry below the path, which makes
 *               the path a directory there: a non-directory of a layer under
 *               it is replaced.
 * An entry of layer i survives when no layer above i has an entry at its
 * path, no layer above i hides the subtree of one of its ancestors, and (for
 * a non-directory) no layer above i has something below it. Since layers
 * are read top first, an entry hidden by what is above it is known to be
 * hidden at once and takes no node.
 *
 * Hard links: a tar hard link names an earlier entry of the same tar. When
 * that entry does not survive (deleted or replaced above, or replaced later
 * in its own tar), the first surviving link to it becomes a copy of its
 * content (pass 2 keeps the content aside while reading the layer) and the
 * other links point at that copy.
 */
#include "artifacts/image_flatten_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/digest.h"
#include "core/cleanup.h"
#include "core/xalloc.h"

#define NO_LAYER (-1L)
#define NO_ORDINAL UINT64_MAX

/* A string key in a struct table: the 128-bit hash of the path is the table
 * key, and entries with the same hash (never seen in practice) are chained,
 * so lookups stay exact. Embedded first in the structs below. */
struct chain {
	struct chain *next;
	char *path;
	size_t len;
};

static struct table_key path_key(const char *path, size_t len)
{
	struct digest d;
	digest_bytes(path, len, &d);
	return table_key_bytes16(d.bytes);
}

static struct chain *chain_find(const struct table *t, const char *path, size_t len)
{
	for (struct chain *c = table_get(t, path_key(path, len)); c; c = c->next)
		if (c->len == len && memcmp(c->path, path, len) == 0)
			return c;
	return NULL;
}

/* Finds path, or adds the zeroed object of `size` bytes that embeds c. */
static struct chain *chain_get(struct table *t, const char *path, size_t len, size_t size,
			       bool *added)
{
	struct table_key key = path_key(path, len);
	struct chain *head = table_get(t, key);
	for (struct chain *c = head; c; c = c->next)
		if (c->len == len && memcmp(c->path, path, len) == 0) {
			*added = false;
			return c;
		}
	struct chain *c = xcalloc(1, size);
	c->path = xstrndup(path, len);
	c->len = len;
	c->next = head;
	table_put(t, key, c);
	*added = true;
	return c;
}

/* Frees every chained object (each starts with its struct chain) and the
 * table; extra, when not NULL, frees what each object owns besides. */
static void chain_free_all(struct table *t, void (*extra)(struct chain *))
{
	size_t pos = 0;
	struct chain *c;
	while ((c = table_next(t, &pos, NULL)))
		while (c) {
			struct chain *next = c->next;
			if (extra)
				extra(c);
			free(c->path);
			free(c);
			c = next;
		}
	table_release(t);
}

/* ---- nodes ------------------------------------------------------------- */

enum node_kind { NODE_NONE, NODE_DIR, NODE_OTHER, NODE_GONE };

struct node {
	struct chain c;
	long top;
	uint64_t ordinal;
	enum node_kind kind;
	long hide_below;
	long dir_above;
};

static const struct node *node_find(const struct table *t, const char *path, size_t len)
{
	return (const struct node *)chain_find(t, path, len);
}

static struct node *node_get(struct table *t, const char *path, size_t len)
{
	bool added;
	struct node *n = (struct node *)chain_get(t, path, len, sizeof(*n), &added);
	if (added)
		n->top = n->hide_below = n->dir_above = NO_LAYER;
	return n;
}

static void raise_to(long *v, long layer)
{
	if (*v < layer)
		*v = layer;
}

/* Whether a layer above `layer` hides the subtree of an ancestor of path
 * (the root "" included; path itself excluded). */
static bool hidden_above(const struct table *t, const char *path, long layer)
{
	if (!*path)
		return false;
	const struct node *n = node_find(t, "", 0);
	if (n && n->hide_below > layer)
		return true;
	for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/')) {
		n = node_find(t, path, (size_t)(s - path));
		if (n && n->hide_below > layer)
			return true;
	}
	return false;
}

/* Records that layer has entries below each ancestor of path (and below
 * path itself when self), which are therefore directories there. */
static void mark_dirs(struct table *t, const char *path, long layer, bool self)
{
	for (const char *s = strchr(path, '/'); s; s = strchr(s + 1, '/'))
		raise_to(&node_get(t, path, (size_t)(s - path))->dir_above, layer);
	if (self && *path)
		raise_to(&node_get(t, path, strlen(path))->dir_above, layer);
}

bool flat_plan_survives(const struct flat_plan *plan, const char *path, size_t layer,
			uint64_t ordinal)
{
	const struct node *n = node_find(&plan->nodes, path, strlen(path));
	return n && n->top == (long)layer && n->ordinal == ordinal &&
	       (n->kind == NODE_DIR || n->kind == NODE_OTHER);
}

bool flat_plan_lower_file(const struct flat_plan *plan, const char *path, size_t layer)
{
	const struct node *n = node_find(&plan->nodes, path, strlen(path));
	return n && n->top != NO_LAYER && n->top < (long)layer && n->kind == NODE_OTHER;
}

/* ---- one layer's hard link bookkeeping -------------------------------- */

/* The latest non-directory entry at a path of the layer being read. */
struct source {
	struct chain c;
	uint64_t data;   /* the entry holding its content; NO_ORDINAL: a layer beneath */
	char *data_path; /* that entry's path (or the path in the layer beneath);
	                    NULL: c.path itself, the common case */
	bool dropped;    /* a device or FIFO, or a link to one */
};

struct pending_link {
	uint64_t ordinal;
	char *path;
	uint64_t data;
	char *data_path;
};

struct layer_state {
	struct table sources;
	struct pending_link *links;
	size_t n_links, cap_links;
};

static void source_extra(struct chain *c)
{
	free(((struct source *)c)->data_path);
}

static void layer_state_release(struct layer_state *ls)
{
	chain_free_all(&ls->sources, source_extra);
	for (size_t j = 0; j < ls->n_links; j++) {
		free(ls->links[j].path);
		free(ls->links[j].data_path);
	}
	free(ls->links);
}

/* Remembers the non-directory fe (entry k) as a possible link target and
 * returns where its content is. */
static struct source *note_source(struct layer_state *ls, const struct flat_entry *fe,
				  uint64_t k)
{
	uint64_t data = k;
	char *copy = NULL;
	bool dropped = fe->type == FLAT_DROPPED;
	if (fe->type == FLAT_HARDLINK) {
		const struct source *t =
			(const struct source *)chain_find(&ls->sources, fe->link, strlen(fe->link));
		data = t ? t->data : NO_ORDINAL;
		/* copied first: it may be the string replaced below */
		copy = xstrdup(!t ? fe->link : t->data_path ? t->data_path : t->c.path);
		dropped = t && t->dropped;
	}
	bool added;
	struct source *s = (struct source *)chain_get(&ls->sources, fe->path, strlen(fe->path),
						      sizeof(*s), &added);
	free(s->data_path);
	s->data = data;
	s->data_path = copy;
	s->dropped = dropped;
	return s;
}

static void add_pending(struct layer_state *ls, uint64_t k, const char *path,
			const struct source *s)
{
	if (ls->n_links == ls->cap_links) {
		ls->cap_links = ls->cap_links ? 2 * ls->cap_links : 16;
		ls->links = xrealloc(ls->links, ls->cap_links * sizeof(*ls->links));
	}
	ls->links[ls->n_links++] = (struct pending_link){
		k, xstrdup(path), s->data, xstrdup(s->data_path ? s->data_path : s->c.path)
	};
}

/* ---- actions ------------------------------------------------------------ */

static void add_action(struct flat_actions *acts, uint64_t k, enum flat_action_kind kind,
		       uint64_t source, const char *target)
{
	if (acts->n == acts->cap) {
		acts->cap = acts->cap ? 2 * acts->cap : 8;
		acts->v = xrealloc(acts->v, acts->cap * sizeof(*acts->v));
	}
	acts->v[acts->n++] = (struct flat_action){ k, kind, source, xstrdup_or_null(target) };
}

static int by_ordinal(const void *a, const void *b)
{
	const struct flat_action *x = a, *y = b;
	return x->ordinal < y->ordinal ? -1 : x->ordinal > y->ordinal;
}

/* Decides, once layer i is read, how each of its surviving hard links is
 * written. */
static void resolve_links(struct flat_plan *plan, struct layer_state *ls, size_t i)
{
	struct flat_actions *acts = &plan->layers[i];
	struct table copies; /* content entry -> path of the copy made of it */
	table_init(&copies);
	for (size_t j = 0; j < ls->n_links; j++) {
		const struct pending_link *l = &ls->links[j];
		if (!flat_plan_survives(plan, l->path, i, l->ordinal))
			continue;
		const char *copy;
		if (l->data == NO_ORDINAL) {
			add_action(acts, l->ordinal, FLAT_LINK_LOWER, 0, l->data_path);
		} else if (flat_plan_survives(plan, l->data_path, i, l->data)) {
			add_action(acts, l->ordinal, FLAT_LINK, 0, l->data_path);
		} else if ((copy = table_get(&copies, table_key_u64(l->data)))) {
			add_action(acts, l->ordinal, FLAT_LINK, 0, copy);
		} else {
			add_action(acts, l->ordinal, FLAT_COPY, l->data, NULL);
			add_action(acts, l->data, FLAT_SPOOL, 0, NULL);
			table_put(&copies, table_key_u64(l->data), l->path);
		}
	}
	table_release(&copies);
	if (acts->n > 1)
		qsort(acts->v, acts->n, sizeof(*acts->v), by_ordinal);
}

/* ---- pass 1 --------------------------------------------------------------- */

static void plan_whiteout(struct table *t, const struct flat_entry *fe, long i, uint64_t k)
{
	bool opaque = fe->type == FLAT_OPAQUE;
	mark_dirs(t, fe->path, i, opaque);
	if (hidden_above(t, fe->path, i))
		return;
	struct node *n = node_get(t, fe->path, strlen(fe->path));
	raise_to(&n->hide_below, i);
	if (!opaque && n->top == NO_LAYER) {
		n->top = i;
		n->ordinal = k;
		n->kind = NODE_GONE;
	}
}

static void plan_entry(struct flat_plan *plan, struct layer_state *ls, long i, uint64_t k,
		       const struct flat_entry *fe)
{
	struct table *t = &plan->nodes;
	switch (fe->type) {
	case FLAT_IGNORED:
		return;
	case FLAT_WHITEOUT:
	case FLAT_OPAQUE:
		plan_whiteout(t, fe, i, k);
		return;
	case FLAT_DIR:
	case FLAT_FILE:
	case FLAT_SYMLINK:
	case FLAT_HARDLINK:
	case FLAT_DROPPED:
		break;
	}
	bool dir = fe->type == FLAT_DIR;
	const struct source *src = dir ? NULL : note_source(ls, fe, k);
	mark_dirs(t, fe->path, i, false);
	if (hidden_above(t, fe->path, i))
		return;
	struct node *n = node_get(t, fe->path, strlen(fe->path));
	if (!dir)
		raise_to(&n->hide_below, i);
	if ((n->top != NO_LAYER && n->top != i) || (!dir && n->dir_above > i))
		return; /* replaced by a layer above */
	n->top = i;
	n->ordinal = k;
	n->kind = dir ? NODE_DIR : src->dropped ? NODE_GONE : NODE_OTHER;
	if (fe->type == FLAT_HARDLINK && n->kind == NODE_OTHER)
		add_pending(ls, k, fe->path, src);
}

static int plan_layer(struct flat_plan *plan, size_t i, const char *path, const char *name,
		      struct err **err)
{
	struct archive *a = flat_layer_open(path, name, err);
	if (!a)
		return -1;
	struct layer_state ls = { .links = NULL };
	table_init(&ls.sources);
	int r = 0;
	struct archive_entry *e;
	for (uint64_t k = 0; (r = flat_next_entry(a, name, k, &e, err)) > 0; k++) {
		struct flat_entry fe;
		if (flat_entry_read(e, name, &fe, err) < 0) {
			r = -1;
			break;
		}
		plan_entry(plan, &ls, (long)i, k, &fe);
		flat_entry_release(&fe);
	}
	archive_read_free(a);
	if (r == 0)
		resolve_links(plan, &ls, i);
	layer_state_release(&ls);
	return r;
}

int flat_plan_build(struct flat_plan *plan, const char *const *layer_paths,
		    char *const *names, size_t n_layers, struct err **err)
{
	memset(plan, 0, sizeof(*plan));
	table_init(&plan->nodes);
	if (n_layers > (size_t)LONG_MAX)
		return err_set(err, 0, "an image of %zu layers is too many to flatten", n_layers);
	plan->layers = xcalloc(n_layers, sizeof(*plan->layers));
	plan->n_layers = n_layers;
	for (size_t i = n_layers; i-- > 0;)
		if (plan_layer(plan, i, layer_paths[i], names[i], err) < 0) {
			flat_plan_release(plan);
			return -1;
		}
	return 0;
}

void flat_plan_release(struct flat_plan *plan)
{
	chain_free_all(&plan->nodes, NULL);
	for (size_t i = 0; i < plan->n_layers; i++) {
		for (size_t j = 0; j < plan->layers[i].n; j++)
			free(plan->layers[i].v[j].target);
		free(plan->layers[i].v);
	}
	free(plan->layers);
	memset(plan, 0, sizeof(*plan));
}
