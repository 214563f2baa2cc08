/*
 * spec_json_fields: the job-spec reader's toolkit (see
 * core/spec_json_internal.h): the format's name tables, field paths and
 * messages, "did you mean" suggestions and the typed value readers.
 */
#include "core/spec_json_internal.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "core/cleanup.h"
#include "core/suggest.h"

/* ---- names of the format ---------------------------------------------------- */

const char *const spec_json_layer_kinds[LAYER_SHARED_LIBS + 1] = {
	[LAYER_TAR] = "tar", [LAYER_GLOB] = "glob", [LAYER_PATHS] = "paths",
	[LAYER_STUBS] = "stubs", [LAYER_SYMLINKS] = "symlinks",
	[LAYER_SHARED_LIBS] = "shared-library-dependencies",
};
const char *const spec_json_mount_types[MOUNT_TMP + 1] = {
	[MOUNT_BIND] = "bind", [MOUNT_DEVICES] = "devices", [MOUNT_DEVPTS] = "devpts",
	[MOUNT_MQUEUE] = "mqueue", [MOUNT_PROC] = "proc", [MOUNT_SYS] = "sys",
	[MOUNT_TMP] = "tmp",
};
const char *const spec_json_network_names[NETWORK_LOCAL + 1] = {
	[NETWORK_DISABLED] = "disabled", [NETWORK_LOOPBACK] = "loopback",
	[NETWORK_LOCAL] = "local",
};
const char *const spec_json_image_uses[3] = { "layers", "environment", "working_directory" };

/* ---- field paths and messages ------------------------------------------------- */

/* Appends text to the path (truncating when it is full); returns the old
 * length, for spec_reader_pop(). */
static size_t push_text(struct spec_reader *r, const char *a, const char *b)
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

size_t spec_reader_push_key(struct spec_reader *r, const char *key)
{
	return push_text(r, r->len ? "." : "", key);
}

size_t spec_reader_push_index(struct spec_reader *r, size_t i)
{
	char num[32];
	snprintf(num, sizeof(num), "[%zu]", i);
	return push_text(r, num, "");
}

void spec_reader_pop(struct spec_reader *r, size_t old)
{
	r->len = old;
	r->path[old] = '\0';
}

const char *spec_json_type_name(const json_t *v)
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
int spec_reader_bad(struct spec_reader *r, const char *fmt, ...)
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

int spec_reader_wrong_type(struct spec_reader *r, const json_t *v, const char *want)
{
	return spec_reader_bad(r, "expected %s, got %s", want, spec_json_type_name(v));
}

int spec_reader_missing(struct spec_reader *r, const char *key, const char *why)
{
	spec_reader_push_key(r, key);
	return err_set(r->err, 0, "missing field `%s`: %s", r->path, why);
}

/* "`a`, `b` or `c`", heap-allocated. */
char *spec_json_join_names(const char *const *names, size_t n)
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

ssize_t spec_json_index_of(const char *word, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(word, names[i]) == 0)
			return (ssize_t)i;
	return -1;
}

int spec_reader_unknown_field(struct spec_reader *r, const char *key, const char *const *known,
			      size_t n)
{
	spec_reader_push_key(r, key);
	const char *guess = suggest_closest(key, known, n, SUGGEST_MAX_LEN);
	if (guess)
		return err_set(r->err, 0, "unknown field `%s` (did you mean `%s`?)", r->path, guess);
	_cleanup_free_ char *list = spec_json_join_names(known, n);
	return err_set(r->err, 0, "unknown field `%s`: expected %s", r->path, list);
}

int spec_reader_check_keys(struct spec_reader *r, const json_t *obj, const char *const *known,
			   size_t n)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
		if (spec_json_index_of(key, known, n) < 0)
			return spec_reader_unknown_field(r, key, known, n);
	return 0;
}

/* ---- scalar readers (r->path names the value) ------------------------------------ */

/* The value of key in obj; NULL when absent or null. */
json_t *spec_json_opt(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

int spec_reader_string(struct spec_reader *r, const json_t *v, bool nonempty, char **out)
{
	if (!json_is_string(v))
		return spec_reader_wrong_type(r, v, "a string");
	const char *s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return spec_reader_bad(r, "contains a NUL character");
	if (nonempty && !*s)
		return spec_reader_bad(r, "must not be empty");
	*out = xstrdup(s);
	return 0;
}

int spec_reader_bool(struct spec_reader *r, const json_t *v, bool *out)
{
	if (!json_is_boolean(v))
		return spec_reader_wrong_type(r, v, "true or false");
	*out = json_is_true(v);
	return 0;
}

int spec_reader_int(struct spec_reader *r, const json_t *v, long long min, long long max,
		    long long *out)
{
	if (json_is_real(v))
		return spec_reader_bad(r, "expected an integer, got %g", json_real_value(v));
	if (!json_is_integer(v))
		return spec_reader_wrong_type(r, v, "an integer");
	long long x = json_integer_value(v);
	if (x < min && min == 0)
		return spec_reader_bad(r, "expected a non-negative integer, got %lld", x);
	if (x < min || x > max)
		return spec_reader_bad(r, "%lld is out of range (%lld to %lld)", x, min, max);
	*out = x;
	return 0;
}

int spec_reader_choice(struct spec_reader *r, const json_t *v, const char *what,
		       const char *const *names, size_t n, size_t *out)
{
	if (!json_is_string(v))
		return spec_reader_wrong_type(r, v, "a string");
	const char *s = json_string_value(v);
	ssize_t i = spec_json_index_of(s, names, n);
	if (i >= 0) {
		*out = (size_t)i;
		return 0;
	}
	const char *guess = suggest_closest(s, names, n, SUGGEST_MAX_LEN);
	if (guess)
		return spec_reader_bad(r, "unknown %s `%s` (did you mean `%s`?)", what, s, guess);
	_cleanup_free_ char *list = spec_json_join_names(names, n);
	return spec_reader_bad(r, "unknown %s `%s`: expected %s", what, s, list);
}

int spec_reader_strv(struct spec_reader *r, const json_t *v, bool nonempty, char ***out,
		     size_t *n)
{
	if (!json_is_array(v))
		return spec_reader_wrong_type(r, v, "a list of strings");
	*n = 0;
	*out = xcalloc(json_array_size(v) + 1, sizeof(**out));
	size_t i;
	json_t *e;
	json_array_foreach(v, i, e) {
		size_t old = spec_reader_push_index(r, i);
		if (spec_reader_string(r, e, nonempty, &(*out)[i]) < 0)
			return -1;
		(*n)++;
		spec_reader_pop(r, old);
	}
	return 0;
}
