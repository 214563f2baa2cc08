/*
 * spec_json: reading walks the JSON tree with a `struct reader` that keeps
 * the current field path ("layers[1].paths[0]") for error messages;
 * writing builds the canonical object field by field.
 */
#include "core/spec_json.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/brace.h"
#include "core/cleanup.h"
#include "core/glob.h"

struct reader {
	char path[512];   /* the field being read, e.g. "mounts[0].type" */
	size_t len;
	struct err **err;
};

static const char *const job_fields[] = {
	"image", "program", "arguments", "environment", "layers", "added_layers",
	"mounts", "network", "enable_writable_file_system", "working_directory",
	"user", "group", "timeout", "estimated_duration", "priority",
};
static const char *const layer_kinds[] = {
	[LAYER_TAR] = "tar", [LAYER_GLOB] = "glob", [LAYER_PATHS] = "paths",
	[LAYER_STUBS] = "stubs", [LAYER_SYMLINKS] = "symlinks",
	[LAYER_SHARED_LIBS] = "shared-library-dependencies",
};
static const char *const prefix_keys[] = {
	"follow_symlinks", "canonicalize", "strip_prefix", "prepend_prefix",
};
static const char *const mount_types[] = {
	[MOUNT_BIND] = "bind", [MOUNT_DEVICES] = "devices", [MOUNT_DEVPTS] = "devpts",
	[MOUNT_MQUEUE] = "mqueue", [MOUNT_PROC] = "proc", [MOUNT_SYS] = "sys",
	[MOUNT_TMP] = "tmp",
};
static const char *const network_names[] = {
	[NETWORK_DISABLED] = "disabled", [NETWORK_LOOPBACK] = "loopback",
	[NETWORK_LOCAL] = "local",
};
static const char *const image_uses[] = { "layers", "environment", "working_directory" };

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		abort(); /* out of memory */
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

/* ---- field paths and messages ------------------------------------------------- */

/* Appends text to the path (truncating when it is full); returns the old
 * length, for pop(). */
static size_t push_text(struct reader *r, const char *a, const char *b)
{
	size_t old = r->len;
	size_t room = sizeof(r->path) - 1 - r->len;
	size_t la = strlen(a), lb = strlen(b);
	la = la > room ? room : la;
	memcpy(r->path + r->len, a, la);
	r->len += la;
	room -= la;
	lb = lb > room ? room : lb;
	memcpy(r->path + r->len, b, lb);
	r->len += lb;
	r->path[r->len] = '\0';
	return old;
}

static size_t push_key(struct reader *r, const char *key)
{
	return push_text(r, r->len ? "." : "", key);
}

static size_t push_index(struct reader *r, size_t i)
{
	char num[32];
	snprintf(num, sizeof(num), "[%zu]", i);
	return push_text(r, num, "");
}

static void pop(struct reader *r, size_t old)
{
	r->len = old;
	r->path[old] = '\0';
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	}
	return "an unknown value";
}

/* "field `<path>`: <message>" */
__attribute__((format(printf, 2, 3)))
static int bad(struct reader *r, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	return err_set(r->err, 0, "field `%s`: %s", r->path, msg);
}

static int wrong_type(struct reader *r, const json_t *v, const char *want)
{
	return bad(r, "expected %s, got %s", want, type_name(v));
}

static int missing(struct reader *r, const char *key, const char *why)
{
	push_key(r, key);
	return err_set(r->err, 0, "missing field `%s`: %s", r->path, why);
}

/* Optimal-string-alignment distance (edits and swaps of neighbours). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 63 || lb > 63)
		return SIZE_MAX;
	size_t d[64][64];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			size_t best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

/* The name in names closest to word, when it is close enough to be a typo. */
static const char *closest(const char *word, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(word, names[i]);
		size_t len = strlen(names[i]);
		size_t limit = len >= 8 ? 3 : len >= 5 ? 2 : 1;
		if (d <= limit && d < best_d) {
			best = names[i];
			best_d = d;
		}
	}
	return best;
}

/* "`a`, `b` or `c`", heap-allocated. */
static char *join_names(const char *const *names, size_t n)
{
	size_t size = 1;
	for (size_t i = 0; i < n; i++)
		size += strlen(names[i]) + 6;
	char *s = xcalloc(size, 1);
	for (size_t i = 0; i < n; i++) {
		strcat(s, i == 0 ? "" : i + 1 == n ? " or " : ", ");
		strcat(s, "`");
		strcat(s, names[i]);
		strcat(s, "`");
	}
	return s;
}

static ssize_t index_of(const char *word, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(word, names[i]) == 0)
			return (ssize_t)i;
	return -1;
}

static int unknown_field(struct reader *r, const char *key, const char *const *known, size_t n)
{
	push_key(r, key);
	const char *guess = closest(key, known, n);
	if (guess)
		return err_set(r->err, 0, "unknown field `%s` (did you mean `%s`?)", r->path, guess);
	_cleanup_free_ char *list = join_names(known, n);
	return err_set(r->err, 0, "unknown field `%s`: expected %s", r->path, list);
}

static int check_keys(struct reader *r, const json_t *obj, const char *const *known, size_t n)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
		if (index_of(key, known, n) < 0)
			return unknown_field(r, key, known, n);
	return 0;
}

/* ---- scalar readers (r->path names the value) ------------------------------------ */

/* The value of key in obj; NULL when absent or null. */
static json_t *opt(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

static int read_string(struct reader *r, const json_t *v, bool nonempty, char **out)
{
	if (!json_is_string(v))
		return wrong_type(r, v, "a string");
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return bad(r, "contains a NUL character");
	if (nonempty && !*s)
		return bad(r, "must not be empty");
	*out = xstrdup(s);
	return 0;
}

static int read_bool(struct reader *r, const json_t *v, bool *out)
{
	if (!json_is_boolean(v))
		return wrong_type(r, v, "true or false");
	*out = json_is_true(v);
	return 0;
}

static int read_int(struct reader *r, const json_t *v, long long min, long long max,
		    long long *out)
{
	if (json_is_real(v))
		return bad(r, "expected an integer, got %g", json_real_value(v));
	if (!json_is_integer(v))
		return wrong_type(r, v, "an integer");
	long long x = json_integer_value(v);
	if (x < min && min == 0)
		return bad(r, "expected a non-negative integer, got %lld", x);
	if (x < min || x > max)
		return bad(r, "%lld is out of range (%lld to %lld)", x, min, max);
	*out = x;
	return 0;
}

static int read_choice(struct reader *r, const json_t *v, const char *what,
		       const char *const *names, size_t n, size_t *out)
{
	if (!json_is_string(v))
		return wrong_type(r, v, "a string");
	const char *s = json_string_value(v);
	ssize_t i = index_of(s, names, n);
	if (i >= 0) {
		*out = (size_t)i;
		return 0;
	}
	const char *guess = closest(s, names, n);
	if (guess)
		return bad(r, "unknown %s `%s` (did you mean `%s`?)", what, s, guess);
	_cleanup_free_ char *list = join_names(names, n);
	return bad(r, "unknown %s `%s`: expected %s", what, s, list);
}

static int read_strv(struct reader *r, const json_t *v, bool nonempty, char ***out, size_t *n)
{
	if (!json_is_array(v))
		return wrong_type(r, v, "a list of strings");
	*n = 0;
	*out = xcalloc(json_array_size(v) + 1, sizeof(**out));
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		size_t old = push_index(r, i);
		if (read_string(r, e, nonempty, &(*out)[i]) < 0)
			return -1;
		(*n)++;
		pop(r, old);
	}
	return 0;
}

/* ---- image and environment --------------------------------------------------- */

static int read_image(struct reader *r, const json_t *v, struct image_spec *img)
{
	if (json_is_string(v)) {
		img->use_layers = img->use_environment = true;
		return read_string(r, v, true, &img->name);
	}
	if (!json_is_object(v))
		return wrong_type(r, v, "a string or an object");
	static const char *const keys[] = { "name", "use" };
	if (check_keys(r, v, keys, ARRAY_SIZE(keys)) < 0)
		return -1;
	json_t *name = opt(v, "name"), *use = opt(v, "use");
	if (!name)
		return missing(r, "name", "say which image to use, e.g. \"docker://ubuntu\"");
	size_t old = push_key(r, "name");
	if (read_string(r, name, true, &img->name) < 0)
		return -1;
	pop(r, old);
	if (!use) {
		img->use_layers = img->use_environment = true;
		return 0;
	}
	old = push_key(r, "use");
	if (!json_is_array(use))
		return wrong_type(r, use, "a list of strings");
	if (json_array_size(use) == 0)
		return bad(r, "must list at least one of `layers`, `environment` or "
			      "`working_directory`");
	size_t i;
	json_t *e;
	json_array_foreach(use, i, e) {
		size_t o = push_index(r, i), which = 0;
		if (read_choice(r, e, "image part", image_uses, ARRAY_SIZE(image_uses), &which) < 0)
			return -1;
		bool *flags[] = { &img->use_layers, &img->use_environment,
				  &img->use_working_directory };
		*flags[which] = true;
		pop(r, o);
	}
	pop(r, old);
	return 0;
}

static int read_vars(struct reader *r, const json_t *obj, struct env_spec *e)
{
	if (!json_is_object(obj))
		return wrong_type(r, obj, "an object of NAME: value strings");
	e->vars = xcalloc(json_object_size(obj), sizeof(*e->vars));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		size_t old = push_key(r, key);
		if (!*key || strchr(key, '='))
			return bad(r, "variable names must be non-empty and cannot hold `=`");
		struct env_var *var = &e->vars[e->n_vars];
		if (read_string(r, v, false, &var->value) < 0)
			return -1;
		var->name = xstrdup(key);
		e->n_vars++;
		pop(r, old);
	}
	return 0;
}

static int read_environment(struct reader *r, const json_t *v, struct container_spec *c)
{
	if (json_is_object(v)) {
		if (c->image.use_environment)
			return bad(r, "must provide `extend` flags (a list of {\"vars\": {...}, "
				      "\"extend\": true|false}) when `image` has a `use` of "
				      "`environment`: say whether it extends the image's "
				      "environment or replaces it");
		c->environment = xcalloc(1, sizeof(*c->environment));
		c->n_environment = 1;
		return read_vars(r, v, &c->environment[0]);
	}
	if (!json_is_array(v))
		return wrong_type(r, v, "an object of NAME: value strings, or a list of "
					"{\"vars\", \"extend\"} objects");
	c->environment = xcalloc(json_array_size(v), sizeof(*c->environment));
	static const char *const keys[] = { "vars", "extend" };
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		size_t old = push_index(r, i);
		if (!json_is_object(e))
			return wrong_type(r, e, "an object with `vars` and `extend`");
		if (check_keys(r, e, keys, ARRAY_SIZE(keys)) < 0)
			return -1;
		struct env_spec *spec = &c->environment[c->n_environment++];
		json_t *vars = opt(e, "vars"), *extend = opt(e, "extend");
		if (!vars)
			return missing(r, "vars", "give the variables as an object of NAME: value");
		if (!extend)
			return missing(r, "extend", "say whether these variables extend (true) "
						    "or replace (false) the ones before");
		size_t o = push_key(r, "vars");
		if (read_vars(r, vars, spec) < 0)
			return -1;
		pop(r, o);
		o = push_key(r, "extend");
		if (read_bool(r, extend, &spec->extend) < 0)
			return -1;
		pop(r, old);
	}
	return 0;
}

/* ---- layers ---------------------------------------------------------------------- */

static int read_prefix(struct reader *r, const json_t *obj, struct prefix_options *p)
{
	/* prefix_keys order: two flags, then two strings. */
	bool *flags[] = { &p->follow_symlinks, &p->canonicalize };
	char **strings[] = { &p->strip_prefix, &p->prepend_prefix };
	for (size_t i = 0; i < ARRAY_SIZE(prefix_keys); i++) {
		json_t *v = opt(obj, prefix_keys[i]);
		if (!v)
			continue;
		size_t old = push_key(r, prefix_keys[i]);
		int rc = i < 2 ? read_bool(r, v, flags[i]) : read_string(r, v, false, strings[i - 2]);
		if (rc < 0)
			return -1;
		pop(r, old);
	}
	return 0;
}

static int read_symlinks(struct reader *r, const json_t *v, struct layer_spec *l)
{
	if (!json_is_array(v))
		return wrong_type(r, v, "a list of {\"link\", \"target\"} objects");
	l->symlinks = xcalloc(json_array_size(v), sizeof(*l->symlinks));
	static const char *const keys[] = { "link", "target" };
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		size_t old = push_index(r, i);
		if (!json_is_object(e))
			return wrong_type(r, e, "an object with `link` and `target`");
		if (check_keys(r, e, keys, ARRAY_SIZE(keys)) < 0)
			return -1;
		struct symlink_spec *s = &l->symlinks[l->n_symlinks++];
		json_t *link = opt(e, "link"), *target = opt(e, "target");
		if (!link)
			return missing(r, "link", "give the path of the symlink to create");
		if (!target)
			return missing(r, "target", "give the path the symlink points to");
		size_t o = push_key(r, "link");
		if (read_string(r, link, true, &s->link) < 0)
			return -1;
		pop(r, o);
		push_key(r, "target");
		if (read_string(r, target, true, &s->target) < 0)
			return -1;
		pop(r, old);
	}
	return 0;
}

static int check_glob(struct reader *r, const char *pattern)
{
	struct glob *g = NULL;
	if (glob_compile(&g, pattern, r->err) < 0)
		return err_wrap(r->err, "field `%s`", r->path);
	glob_free(g);
	if (pattern[0] == '/')
		return bad(r, "`%s` is absolute: glob patterns match paths relative to the "
			      "project directory (use a `paths` layer for absolute paths)",
			   pattern);
	return 0;
}

static int check_stubs(struct reader *r, const struct layer_spec *l)
{
	for (size_t i = 0; i < l->n_paths; i++) {
		size_t old = push_index(r, i);
		struct brace_list list;
		if (brace_expand(l->paths[i], &list, r->err) < 0)
			return err_wrap(r->err, "field `%s`", r->path);
		brace_list_release(&list);
		pop(r, old);
	}
	return 0;
}

/* Finds the layer's one kind key. */
static int layer_kind(struct reader *r, const json_t *obj, enum layer_kind *out)
{
	const char *key, *found = NULL;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		ssize_t k = index_of(key, layer_kinds, ARRAY_SIZE(layer_kinds));
		if (k < 0)
			continue;
		if (found)
			return bad(r, "`%s` and `%s` cannot be combined: a layer object has "
				      "exactly one kind",
				   found, key);
		found = key;
		*out = (enum layer_kind)k;
	}
	if (found)
		return 0;
	json_object_foreach((json_t *)obj, key, v) {
		if (index_of(key, prefix_keys, ARRAY_SIZE(prefix_keys)) < 0 &&
		    closest(key, layer_kinds, ARRAY_SIZE(layer_kinds)))
			return unknown_field(r, key, layer_kinds, ARRAY_SIZE(layer_kinds));
	}
	_cleanup_free_ char *list = join_names(layer_kinds, ARRAY_SIZE(layer_kinds));
	return bad(r, "a layer needs one of %s", list);
}

static int read_layer(struct reader *r, const json_t *obj, struct layer_spec *l)
{
	if (!json_is_object(obj))
		return wrong_type(r, obj, "a layer object");
	if (layer_kind(r, obj, &l->kind) < 0)
		return -1;
	const char *kind = layer_kinds[l->kind];
	bool prefixed = l->kind == LAYER_GLOB || l->kind == LAYER_PATHS ||
			l->kind == LAYER_SHARED_LIBS;
	const char *known[1 + ARRAY_SIZE(prefix_keys)] = { kind };
	memcpy(known + 1, prefix_keys, sizeof(prefix_keys));
	const char *key;
	json_t *v = NULL;
	json_object_foreach((json_t *)obj, key, v) {
		if (!prefixed && index_of(key, prefix_keys, ARRAY_SIZE(prefix_keys)) >= 0) {
			push_key(r, key);
			return bad(r, "`%s` layers take no prefix options", kind);
		}
	}
	if (check_keys(r, obj, known, prefixed ? ARRAY_SIZE(known) : 1) < 0)
		return -1;
	if (prefixed && read_prefix(r, obj, &l->prefix) < 0)
		return -1;
	v = json_object_get(obj, kind);
	size_t old = push_key(r, kind);
	int rc = 0;
	switch (l->kind) {
	case LAYER_TAR:
		rc = read_string(r, v, true, &l->path);
		break;
	case LAYER_GLOB:
		rc = read_string(r, v, true, &l->glob);
		if (rc == 0)
			rc = check_glob(r, l->glob);
		break;
	case LAYER_PATHS:
	case LAYER_SHARED_LIBS:
		rc = read_strv(r, v, true, &l->paths, &l->n_paths);
		break;
	case LAYER_STUBS:
		rc = read_strv(r, v, true, &l->paths, &l->n_paths);
		if (rc == 0)
			rc = check_stubs(r, l);
		break;
	case LAYER_SYMLINKS:
		rc = read_symlinks(r, v, l);
		break;
	}
	if (rc == 0)
		pop(r, old);
	return rc;
}

static int read_layers(struct reader *r, const json_t *v, struct layer_spec **out, size_t *n)
{
	if (!json_is_array(v))
		return wrong_type(r, v, "a list of layer objects");
	*out = xcalloc(json_array_size(v), sizeof(**out));
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		size_t old = push_index(r, i);
		int rc = read_layer(r, e, &(*out)[i]);
		(*n)++;
		if (rc < 0)
			return -1;
		pop(r, old);
	}
	return 0;
}

int layer_spec_from_json(const json_t *obj, const char *field, struct layer_spec *out,
			 struct err **err)
{
	memset(out, 0, sizeof(*out));
	struct reader r = { .err = err };
	push_key(&r, field);
	if (read_layer(&r, obj, out) < 0) {
		layer_spec_release(out);
		return -1;
	}
	return 0;
}

/* ---- mounts ---------------------------------------------------------------------- */

static int read_devices(struct reader *r, const json_t *v, unsigned *mask)
{
	if (!json_is_array(v))
		return wrong_type(r, v, "a list of device names");
	const char *names[DEVICE_COUNT];
	for (size_t i = 0; i < DEVICE_COUNT; i++)
		names[i] = job_device_name(1u << i);
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		size_t old = push_index(r, i), which = 0;
		if (read_choice(r, e, "device", names, DEVICE_COUNT, &which) < 0)
			return -1;
		*mask |= 1u << which;
		pop(r, old);
	}
	return 0;
}

static int read_mount_point(struct reader *r, const json_t *obj, struct mount_spec *m)
{
	json_t *v = opt(obj, "mount_point");
	if (!v)
		return missing(r, "mount_point", "give the absolute path inside the container "
						 "to mount on");
	size_t old = push_key(r, "mount_point");
	if (read_string(r, v, true, &m->mount_point) < 0)
		return -1;
	if (m->mount_point[0] != '/')
		return bad(r, "`%s` is not absolute: mount points are paths inside the "
			      "container and start with `/`",
			   m->mount_point);
	pop(r, old);
	return 0;
}

static int read_mount(struct reader *r, const json_t *obj, struct mount_spec *m)
{
	if (!json_is_object(obj))
		return wrong_type(r, obj, "a mount object");
	json_t *type = opt(obj, "type");
	if (!type) {
		_cleanup_free_ char *list = join_names(mount_types, ARRAY_SIZE(mount_types));
		_cleanup_free_ char *why = NULL;
		if (asprintf(&why, "say which kind of mount this is: %s", list) < 0)
			abort();
		return missing(r, "type", why);
	}
	size_t old = push_key(r, "type"), which = 0;
	if (read_choice(r, type, "mount type", mount_types, ARRAY_SIZE(mount_types), &which) < 0)
		return -1;
	pop(r, old);
	m->kind = (enum mount_kind)which;
	static const char *const bind_keys[] = { "type", "mount_point", "local_path", "read_only" };
	static const char *const device_keys[] = { "type", "devices" };
	static const char *const plain_keys[] = { "type", "mount_point" };
	json_t *v;
	switch (m->kind) {
	case MOUNT_BIND:
		if (check_keys(r, obj, bind_keys, ARRAY_SIZE(bind_keys)) < 0 ||
		    read_mount_point(r, obj, m) < 0)
			return -1;
		if (!(v = opt(obj, "local_path")))
			return missing(r, "local_path", "give the client's path to mount, "
							"relative to the project directory");
		old = push_key(r, "local_path");
		if (read_string(r, v, true, &m->local_path) < 0)
			return -1;
		pop(r, old);
		if ((v = opt(obj, "read_only"))) {
			old = push_key(r, "read_only");
			if (read_bool(r, v, &m->read_only) < 0)
				return -1;
			pop(r, old);
		}
		return 0;
	case MOUNT_DEVICES:
		if (check_keys(r, obj, device_keys, ARRAY_SIZE(device_keys)) < 0)
			return -1;
		if (!(v = opt(obj, "devices")))
			return missing(r, "devices", "list the devices to mount, e.g. [\"null\", "
						     "\"zero\"]");
		old = push_key(r, "devices");
		if (read_devices(r, v, &m->devices) < 0)
			return -1;
		pop(r, old);
		return 0;
	case MOUNT_DEVPTS:
	case MOUNT_MQUEUE:
	case MOUNT_PROC:
	case MOUNT_SYS:
	case MOUNT_TMP:
		if (check_keys(r, obj, plain_keys, ARRAY_SIZE(plain_keys)) < 0)
			return -1;
		return read_mount_point(r, obj, m);
	}
	return 0;
}

static int read_mounts(struct reader *r, const json_t *v, struct container_spec *c)
{
	if (!json_is_array(v))
		return wrong_type(r, v, "a list of mount objects");
	c->mounts = xcalloc(json_array_size(v), sizeof(*c->mounts));
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		size_t old = push_index(r, i);
		if (read_mount(r, e, &c->mounts[c->n_mounts++]) < 0)
			return -1;
		pop(r, old);
	}
	return 0;
}

/* ---- the job object ------------------------------------------------------------- */

static int read_duration(struct reader *r, const json_t *v, uint64_t *ms)
{
	long long x = 0;
	if (!json_is_object(v)) {
		if (json_is_number(v)) {
			if (read_int(r, v, 0, LLONG_MAX, &x) < 0)
				return -1;
			*ms = (uint64_t)x;
			return 0;
		}
		return wrong_type(r, v, "milliseconds or {\"secs\", \"nanos\"}");
	}
	static const char *const keys[] = { "secs", "nanos" };
	if (check_keys(r, v, keys, ARRAY_SIZE(keys)) < 0)
		return -1;
	json_t *secs = opt(v, "secs"), *nanos = opt(v, "nanos");
	if (!secs)
		return missing(r, "secs", "give the whole seconds of the duration");
	long long s = 0, ns = 0;
	size_t old = push_key(r, "secs");
	if (read_int(r, secs, 0, LLONG_MAX / 1000 - 1, &s) < 0)
		return -1;
	pop(r, old);
	if (nanos) {
		push_key(r, "nanos");
		if (read_int(r, nanos, 0, 999999999, &ns) < 0)
			return -1;
		pop(r, old);
	}
	*ms = (uint64_t)s * 1000 + (uint64_t)ns / 1000000;
	return 0;
}

/* Reads the scalar fields after the structured ones. */
static int read_scalars(struct reader *r, const json_t *obj, struct job_spec *spec)
{
	struct container_spec *c = &spec->container;
	long long x = 0;
	size_t which = 0;
	json_t *v;
	if ((v = opt(obj, "network"))) {
		push_key(r, "network");
		if (read_choice(r, v, "network", network_names, ARRAY_SIZE(network_names),
				&which) < 0)
			return -1;
		c->network = (enum network_mode)which;
		pop(r, 0);
	}
	if ((v = opt(obj, "enable_writable_file_system"))) {
		push_key(r, "enable_writable_file_system");
		if (read_bool(r, v, &c->enable_writable_file_system) < 0)
			return -1;
		pop(r, 0);
	}
	if ((v = opt(obj, "working_directory"))) {
		push_key(r, "working_directory");
		if (c->image.use_working_directory)
			return bad(r, "cannot be set when `image` has a `use` of "
				      "`working_directory`: drop one of them");
		if (read_string(r, v, true, &c->working_directory) < 0)
			return -1;
		pop(r, 0);
	}
	static const char *const u32_fields[] = { "user", "group", "timeout" };
	uint32_t *u32_out[] = { &c->user, &c->group, &spec->timeout_s };
	for (size_t i = 0; i < ARRAY_SIZE(u32_fields); i++) {
		if (!(v = opt(obj, u32_fields[i])))
			continue;
		push_key(r, u32_fields[i]);
		if (read_int(r, v, 0, UINT32_MAX, &x) < 0)
			return -1;
		*u32_out[i] = (uint32_t)x;
		pop(r, 0);
	}
	if ((v = opt(obj, "estimated_duration"))) {
		push_key(r, "estimated_duration");
		if (read_duration(r, v, &spec->estimated_duration_ms) < 0)
			return -1;
		pop(r, 0);
	}
	if ((v = opt(obj, "priority"))) {
		push_key(r, "priority");
		if (read_int(r, v, INT32_MIN, INT32_MAX, &x) < 0)
			return -1;
		spec->priority = (int32_t)x;
		pop(r, 0);
	}
	return 0;
}

/* Reads image, program, arguments, environment, layers and mounts. */
static int read_structured(struct reader *r, const json_t *obj, struct job_spec *spec)
{
	struct container_spec *c = &spec->container;
	json_t *v;
	if ((v = opt(obj, "image"))) {
		push_key(r, "image");
		if (read_image(r, v, &c->image) < 0)
			return -1;
		pop(r, 0);
	}
	if (!(v = opt(obj, "program")))
		return missing(r, "program", "every job needs the program to run");
	push_key(r, "program");
	if (read_string(r, v, true, &spec->program) < 0)
		return -1;
	pop(r, 0);
	if ((v = opt(obj, "arguments"))) {
		push_key(r, "arguments");
		if (read_strv(r, v, false, &spec->arguments, &spec->n_arguments) < 0)
			return -1;
		pop(r, 0);
	}
	if ((v = opt(obj, "environment"))) {
		push_key(r, "environment");
		if (read_environment(r, v, c) < 0)
			return -1;
		pop(r, 0);
	}
	if ((v = opt(obj, "layers"))) {
		push_key(r, "layers");
		if (c->image.use_layers)
			return bad(r, "cannot be used when `image` has a `use` of `layers`: put "
				      "the extra layers in `added_layers`");
		if (read_layers(r, v, &c->layers, &c->n_layers) < 0)
			return -1;
		pop(r, 0);
	} else if (!c->image.use_layers) {
		return missing(r, "layers", "give the job's layers, or an `image` with a `use` "
					    "of `layers`");
	}
	if ((v = opt(obj, "added_layers"))) {
		push_key(r, "added_layers");
		if (!c->image.use_layers)
			return bad(r, "only allowed with an `image` that has a `use` of `layers`: "
				      "use `layers` instead");
		if (read_layers(r, v, &c->added_layers, &c->n_added_layers) < 0)
			return -1;
		pop(r, 0);
	}
	if ((v = opt(obj, "mounts"))) {
		push_key(r, "mounts");
		if (read_mounts(r, v, c) < 0)
			return -1;
		pop(r, 0);
	}
	return 0;
}

int job_spec_from_json(const json_t *obj, struct job_spec *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	if (!json_is_object(obj))
		return err_set(err, 0, "a job spec must be a JSON object, got %s",
			       obj ? type_name(obj) : "nothing");
	struct reader r = { .err = err };
	if (check_keys(&r, obj, job_fields, ARRAY_SIZE(job_fields)) < 0 ||
	    read_structured(&r, obj, out) < 0 || read_scalars(&r, obj, out) < 0) {
		job_spec_release(out);
		return -1;
	}
	return 0;
}

/* ---- writing ----------------------------------------------------------------------- */

static json_t *checked(json_t *v)
{
	if (!v)
		abort(); /* out of memory */
	return v;
}

static json_t *jstr(const char *s)
{
	json_t *v = json_string(s ? s : "");
	/* Strings that are not UTF-8 only come from specs built in C; keep
	 * their bytes rather than lose the field. */
	return v ? v : checked(json_string_nocheck(s));
}

static void put(json_t *obj, const char *key, json_t *v)
{
	if (json_object_set_new(obj, key, checked(v)) < 0)
		abort();
}

static void append(json_t *arr, json_t *v)
{
	if (json_array_append_new(arr, checked(v)) < 0)
		abort();
}

static json_t *strv_json(char *const *v, size_t n)
{
	json_t *arr = checked(json_array());
	for (size_t i = 0; i < n; i++)
		append(arr, jstr(v[i]));
	return arr;
}

json_t *layer_spec_to_json(const struct layer_spec *l)
{
	json_t *o = checked(json_object());
	const char *kind = layer_kinds[l->kind];
	bool prefixed = false;
	switch (l->kind) {
	case LAYER_TAR:
		put(o, kind, jstr(l->path));
		break;
	case LAYER_GLOB:
		put(o, kind, jstr(l->glob));
		prefixed = true;
		break;
	case LAYER_PATHS:
	case LAYER_SHARED_LIBS:
		put(o, kind, strv_json(l->paths, l->n_paths));
		prefixed = true;
		break;
	case LAYER_STUBS:
		put(o, kind, strv_json(l->paths, l->n_paths));
		break;
	case LAYER_SYMLINKS: {
		json_t *arr = checked(json_array());
		for (size_t i = 0; i < l->n_symlinks; i++) {
			json_t *s = checked(json_object());
			put(s, "link", jstr(l->symlinks[i].link));
			put(s, "target", jstr(l->symlinks[i].target));
			append(arr, s);
		}
		put(o, kind, arr);
		break;
	}
	}
	if (!prefixed)
		return o;
	if (l->prefix.follow_symlinks)
		put(o, "follow_symlinks", json_true());
	if (l->prefix.canonicalize)
		put(o, "canonicalize", json_true());
	if (l->prefix.strip_prefix)
		put(o, "strip_prefix", jstr(l->prefix.strip_prefix));
	if (l->prefix.prepend_prefix)
		put(o, "prepend_prefix", jstr(l->prefix.prepend_prefix));
	return o;
}

static json_t *layers_json(const struct layer_spec *v, size_t n)
{
	json_t *arr = checked(json_array());
	for (size_t i = 0; i < n; i++)
		append(arr, layer_spec_to_json(&v[i]));
	return arr;
}

static json_t *mount_json(const struct mount_spec *m)
{
	json_t *o = checked(json_object());
	put(o, "type", jstr(mount_types[m->kind]));
	if (m->kind == MOUNT_DEVICES) {
		json_t *arr = checked(json_array());
		for (unsigned i = 0; i < DEVICE_COUNT; i++)
			if (m->devices & (1u << i))
				append(arr, jstr(job_device_name(1u << i)));
		put(o, "devices", arr);
		return o;
	}
	put(o, "mount_point", jstr(m->mount_point));
	if (m->kind == MOUNT_BIND) {
		put(o, "local_path", jstr(m->local_path));
		put(o, "read_only", json_boolean(m->read_only));
	}
	return o;
}

static int cmp_var(const void *a, const void *b)
{
	const struct env_var *const *x = a, *const *y = b;
	return strcmp((*x)->name, (*y)->name);
}

static json_t *environment_json(const struct container_spec *c)
{
	json_t *arr = checked(json_array());
	for (size_t i = 0; i < c->n_environment; i++) {
		const struct env_spec *e = &c->environment[i];
		_cleanup_free_ const struct env_var **sorted = xcalloc(e->n_vars, sizeof(*sorted));
		for (size_t j = 0; j < e->n_vars; j++)
			sorted[j] = &e->vars[j];
		qsort(sorted, e->n_vars, sizeof(*sorted), cmp_var);
		json_t *vars = checked(json_object());
		for (size_t j = 0; j < e->n_vars; j++)
			put(vars, sorted[j]->name, jstr(sorted[j]->value));
		json_t *o = checked(json_object());
		put(o, "vars", vars);
		put(o, "extend", json_boolean(e->extend));
		append(arr, o);
	}
	return arr;
}

static json_t *image_json(const struct image_spec *img)
{
	json_t *o = checked(json_object());
	put(o, "name", jstr(img->name));
	json_t *use = checked(json_array());
	bool flags[] = { img->use_layers, img->use_environment, img->use_working_directory };
	for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
		if (flags[i])
			append(use, jstr(image_uses[i]));
	put(o, "use", use);
	return o;
}

json_t *job_spec_to_json(const struct job_spec *spec)
{
	const struct container_spec *c = &spec->container;
	json_t *o = checked(json_object());
	if (c->image.name)
		put(o, "image", image_json(&c->image));
	if (spec->program)
		put(o, "program", jstr(spec->program));
	if (spec->n_arguments)
		put(o, "arguments", strv_json(spec->arguments, spec->n_arguments));
	if (c->n_environment)
		put(o, "environment", environment_json(c));
	if (c->n_layers || !c->image.use_layers)
		put(o, "layers", layers_json(c->layers, c->n_layers));
	if (c->n_added_layers)
		put(o, "added_layers", layers_json(c->added_layers, c->n_added_layers));
	if (c->n_mounts) {
		json_t *arr = checked(json_array());
		for (size_t i = 0; i < c->n_mounts; i++)
			append(arr, mount_json(&c->mounts[i]));
		put(o, "mounts", arr);
	}
	if (c->network != NETWORK_DISABLED)
		put(o, "network", jstr(network_names[c->network]));
	if (c->enable_writable_file_system)
		put(o, "enable_writable_file_system", json_true());
	if (c->working_directory)
		put(o, "working_directory", jstr(c->working_directory));
	if (c->user)
		put(o, "user", json_integer(c->user));
	if (c->group)
		put(o, "group", json_integer(c->group));
	if (spec->timeout_s)
		put(o, "timeout", json_integer(spec->timeout_s));
	if (spec->estimated_duration_ms)
		put(o, "estimated_duration",
		    json_integer(spec->estimated_duration_ms > LLONG_MAX
					 ? LLONG_MAX
					 : (json_int_t)spec->estimated_duration_ms));
	if (spec->priority)
		put(o, "priority", json_integer(spec->priority));
	return o;
}
