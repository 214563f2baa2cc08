/*
 * spec_json_layers: layer objects (core/spec_json.h): the one kind key,
 * its value, and the prefix options of glob, paths and
 * shared-library-dependencies layers. Glob patterns are checked with
 * core/glob, stubs with core/brace.
 */
#include "core/spec_json.h"

#include "core/brace.h"
#include "core/cleanup.h"
#include "core/glob.h"
#include "core/spec_json_internal.h"
#include "core/suggest.h"

static const char *const prefix_keys[] = {
	"follow_symlinks", "canonicalize", "strip_prefix", "prepend_prefix",
};

static int read_prefix(struct spec_reader *r, const json_t *obj, struct prefix_options *p)
{
	/* prefix_keys order: two flags, then two strings. */
	bool *flags[] = { &p->follow_symlinks, &p->canonicalize };
	char **strings[] = { &p->strip_prefix, &p->prepend_prefix };
	for (size_t i = 0; i < ARRAY_SIZE(prefix_keys); i++) {
		json_t *v = spec_json_opt(obj, prefix_keys[i]);
		if (!v)
			continue;
		size_t old = spec_reader_push_key(r, prefix_keys[i]);
		int rc = i < 2 ? spec_reader_bool(r, v, flags[i])
			       : spec_reader_string(r, v, false, strings[i - 2]);
		if (rc < 0)
			return -1;
		spec_reader_pop(r, old);
	}
	return 0;
}

static int read_symlinks(struct spec_reader *r, const json_t *v, struct layer_spec *l)
{
	if (!json_is_array(v))
		return spec_reader_wrong_type(r, v, "a list of {\"link\", \"target\"} objects");
	l->symlinks = xcalloc(json_array_size(v), sizeof(*l->symlinks));
	static const char *const keys[] = { "link", "target" };
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		size_t old = spec_reader_push_index(r, i);
		if (!json_is_object(e))
			return spec_reader_wrong_type(r, e, "an object with `link` and `target`");
		if (spec_reader_check_keys(r, e, keys, ARRAY_SIZE(keys)) < 0)
			return -1;
		struct symlink_spec *s = &l->symlinks[l->n_symlinks++];
		json_t *link = spec_json_opt(e, "link"), *target = spec_json_opt(e, "target");
		if (!link)
			return spec_reader_missing(r, "link",
						   "give the path of the symlink to create");
		if (!target)
			return spec_reader_missing(r, "target",
						   "give the path the symlink points to");
		size_t o = spec_reader_push_key(r, "link");
		if (spec_reader_string(r, link, true, &s->link) < 0)
			return -1;
		spec_reader_pop(r, o);
		spec_reader_push_key(r, "target");
		if (spec_reader_string(r, target, true, &s->target) < 0)
			return -1;
		spec_reader_pop(r, old);
	}
	return 0;
}

static int check_glob(struct spec_reader *r, const char *pattern)
{
	struct glob *g = NULL;
	if (glob_compile(&g, pattern, r->err) < 0)
		return err_wrap(r->err, "field `%s`", r->path);
	glob_free(g);
	if (pattern[0] == '/')
		return spec_reader_bad(r, "`%s` is absolute: glob patterns match paths relative to "
					  "the project directory (use a `paths` layer for absolute "
					  "paths)",
				       pattern);
	return 0;
}

static int check_stubs(struct spec_reader *r, const struct layer_spec *l)
{
	for (size_t i = 0; i < l->n_paths; i++) {
		size_t old = spec_reader_push_index(r, i);
		struct brace_list list;
		if (brace_expand(l->paths[i], &list, r->err) < 0)
			return err_wrap(r->err, "field `%s`", r->path);
		brace_list_release(&list);
		spec_reader_pop(r, old);
	}
	return 0;
}

/* Finds the layer's one kind key. */
static int layer_kind(struct spec_reader *r, const json_t *obj, enum layer_kind *out)
{
	const char *const *kinds = spec_json_layer_kinds;
	size_t n_kinds = ARRAY_SIZE(spec_json_layer_kinds);
	const char *key, *found = NULL;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		ssize_t k = spec_json_index_of(key, kinds, n_kinds);
		if (k < 0)
			continue;
		if (found)
			return spec_reader_bad(r, "`%s` and `%s` cannot be combined: a layer "
						  "object has exactly one kind",
					       found, key);
		found = key;
		*out = (enum layer_kind)k;
	}
	if (found)
		return 0;
	json_object_foreach((json_t *)obj, key, v) {
		if (spec_json_index_of(key, prefix_keys, ARRAY_SIZE(prefix_keys)) < 0 &&
		    suggest_closest(key, kinds, n_kinds, SUGGEST_MAX_LEN))
			return spec_reader_unknown_field(r, key, kinds, n_kinds);
	}
	_cleanup_free_ char *list = spec_json_join_names(kinds, n_kinds);
	return spec_reader_bad(r, "a layer needs one of %s", list);
}

static int read_layer(struct spec_reader *r, const json_t *obj, struct layer_spec *l)
{
	if (!json_is_object(obj))
		return spec_reader_wrong_type(r, obj, "a layer object");
	if (layer_kind(r, obj, &l->kind) < 0)
		return -1;
	const char *kind = spec_json_layer_kinds[l->kind];
	bool prefixed = l->kind == LAYER_GLOB || l->kind == LAYER_PATHS ||
			l->kind == LAYER_SHARED_LIBS;
	const char *known[1 + ARRAY_SIZE(prefix_keys)] = { kind };
	memcpy(known + 1, prefix_keys, sizeof(prefix_keys));
	const char *key;
	json_t *v = NULL;
	json_object_foreach((json_t *)obj, key, v) {
		if (!prefixed &&
		    spec_json_index_of(key, prefix_keys, ARRAY_SIZE(prefix_keys)) >= 0) {
			spec_reader_push_key(r, key);
			return spec_reader_bad(r, "`%s` layers take no prefix options", kind);
		}
	}
	if (spec_reader_check_keys(r, obj, known, prefixed ? ARRAY_SIZE(known) : 1) < 0)
		return -1;
	if (prefixed && read_prefix(r, obj, &l->prefix) < 0)
		return -1;
	v = json_object_get(obj, kind);
	size_t old = spec_reader_push_key(r, kind);
	int rc = 0;
	switch (l->kind) {
	case LAYER_TAR:
		rc = spec_reader_string(r, v, true, &l->path);
		break;
	case LAYER_GLOB:
		rc = spec_reader_string(r, v, true, &l->glob);
		if (rc == 0)
			rc = check_glob(r, l->glob);
		break;
	case LAYER_PATHS:
	case LAYER_SHARED_LIBS:
		rc = spec_reader_strv(r, v, true, &l->paths, &l->n_paths);
		break;
	case LAYER_STUBS:
		rc = spec_reader_strv(r, v, true, &l->paths, &l->n_paths);
		if (rc == 0)
			rc = check_stubs(r, l);
		break;
	case LAYER_SYMLINKS:
		rc = read_symlinks(r, v, l);
		break;
	}
	if (rc == 0)
		spec_reader_pop(r, old);
	return rc;
}

int spec_reader_layers(struct spec_reader *r, const json_t *v, struct layer_spec **out,
		       size_t *n)
{
	if (!json_is_array(v))
		return spec_reader_wrong_type(r, v, "a list of layer objects");
	*out = xcalloc(json_array_size(v), sizeof(**out));
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		size_t old = spec_reader_push_index(r, i);
		int rc = read_layer(r, e, &(*out)[i]);
		(*n)++;
		if (rc < 0)
			return -1;
		spec_reader_pop(r, old);
	}
	return 0;
}

int layer_spec_from_json(const json_t *obj, const char *field, struct layer_spec *out,
			 struct err **err)
{
	memset(out, 0, sizeof(*out));
	struct spec_reader r = { .err = err };
	spec_reader_push_key(&r, field);
	if (read_layer(&r, obj, out) < 0) {
		layer_spec_release(out);
		return -1;
	}
	return 0;
}
