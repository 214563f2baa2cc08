/*
 * spec_json_internal: what the job-spec JSON reader's and writer's files
 * share (private to core/spec_json_*.c; the public API is core/spec_json.h).
 *
 * The files, one purpose each:
 *   spec_json_fields.c  field paths, messages, "did you mean" suggestions,
 *                       typed value readers, and the format's name tables
 *   spec_json_read.c    the job object: image, environment, scalar fields
 *   spec_json_layers.c  layer objects and their prefix options
 *   spec_json_mounts.c  mount objects and device lists
 *   spec_json_write.c   the canonical writer
 *
 * Reading walks the JSON tree with a `struct spec_reader` that keeps the
 * current field path ("layers[1].paths[0]") for error messages. A reader
 * function's contract: on entry r->path names the value it reads; on
 * success it returns 0 with the path as it found it; on failure it returns
 * -1 with *r->err set and the path left pointing at the culprit (callers
 * just return -1). Values read are heap copies owned by the spec being
 * filled, which the public entry points release on failure.
 */
#ifndef CORE_SPEC_JSON_INTERNAL_H
#define CORE_SPEC_JSON_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/spec.h"
#include "core/xalloc.h"

struct spec_reader {
	char path[512];   /* the field being read, e.g. "mounts[0].type" */
	size_t len;
	struct err **err;
};

/* ---- names of the format (indexed by the enums of core/spec.h) ---------- */

extern const char *const spec_json_layer_kinds[LAYER_SHARED_LIBS + 1];
extern const char *const spec_json_mount_types[MOUNT_TMP + 1];
extern const char *const spec_json_network_names[NETWORK_LOCAL + 1];
/* An image's `use` parts, in the order of struct image_spec's flags. */
extern const char *const spec_json_image_uses[3];

/* ---- field paths and messages ------------------------------------------ */

/* Append ".key" (or "key" at the top) or "[i]" to the path, truncating
 * when it is full; both return the old length, for spec_reader_pop(). */
size_t spec_reader_push_key(struct spec_reader *r, const char *key);
size_t spec_reader_push_index(struct spec_reader *r, size_t i);
/* Cuts the path back to length old. */
void spec_reader_pop(struct spec_reader *r, size_t old);

/* "an object", "a string", ... for "expected X, got Y" messages. */
const char *spec_json_type_name(const json_t *v);

/* Sets "field `<path>`: <message>" and returns -1. */
__attribute__((format(printf, 2, 3)))
int spec_reader_bad(struct spec_reader *r, const char *fmt, ...);
/* "field `<path>`: expected <want>, got <v's type>". */
int spec_reader_wrong_type(struct spec_reader *r, const json_t *v, const char *want);
/* "missing field `<path>.<key>`: <why>" (why says what to do). */
int spec_reader_missing(struct spec_reader *r, const char *key, const char *why);

/* ---- names (suggestions: core/suggest.h) ------------------------------------ */

/* "`a`, `b` or `c`", heap-allocated (caller frees). */
char *spec_json_join_names(const char *const *names, size_t n);
/* The index of word in names, or -1. */
ssize_t spec_json_index_of(const char *word, const char *const *names, size_t n);

/* "unknown field `<path>.<key>`", with a suggestion from known or the
 * list of them; returns -1. */
int spec_reader_unknown_field(struct spec_reader *r, const char *key, const char *const *known,
			      size_t n);
/* Fails on the first key of obj that is not in known. */
int spec_reader_check_keys(struct spec_reader *r, const json_t *obj, const char *const *known,
			   size_t n);

/* ---- typed values (r->path names the value) ------------------------------ */

/* The value of key in obj; NULL when absent or null. */
json_t *spec_json_opt(const json_t *obj, const char *key);

/* A string without NUL characters (and non-empty when asked), copied. */
int spec_reader_string(struct spec_reader *r, const json_t *v, bool nonempty, char **out);
int spec_reader_bool(struct spec_reader *r, const json_t *v, bool *out);
/* An integer in [min, max] (JSON reals are refused). */
int spec_reader_int(struct spec_reader *r, const json_t *v, long long min, long long max,
		    long long *out);
/* One of names, giving its index; what names the kind in messages
 * ("mount type"). */
int spec_reader_choice(struct spec_reader *r, const json_t *v, const char *what,
		       const char *const *names, size_t n, size_t *out);
/* A list of strings: *out is NULL-terminated, *n counts the strings read
 * (also on failure, for the release). */
int spec_reader_strv(struct spec_reader *r, const json_t *v, bool nonempty, char ***out,
		     size_t *n);

/* ---- structured values (spec_json_layers.c, spec_json_mounts.c) ---------- */

/* A list of layer objects into *out (n_out counts the entries to release,
 * also on failure). */
int spec_reader_layers(struct spec_reader *r, const json_t *v, struct layer_spec **out,
		       size_t *n);
/* The `mounts` list into c->mounts and c->n_mounts. */
int spec_reader_mounts(struct spec_reader *r, const json_t *v, struct container_spec *c);

#endif
