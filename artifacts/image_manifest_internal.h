/*
 * image_manifest_internal: what the parts of the manifest reader share
 * (private to artifacts/image_manifest*.c; the public API is
 * artifacts/image_manifest.h).
 *
 *   image_manifest.c        media types, image manifests, the document's kind
 *   image_manifest_index.c  indexes: choosing an entry by ref name, platform
 *   image_manifest_json.c   the JSON helpers below, image configs
 *
 * Every helper names the document (`what`) and the field's path in its
 * messages: "manifest sha256:ab..: field `layers[2].digest` is missing".
 */
#ifndef ARTIFACTS_IMAGE_MANIFEST_INTERNAL_H
#define ARTIFACTS_IMAGE_MANIFEST_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "artifacts/image_manifest.h"
#include "core/err.h"

/* Longest field path in a message, e.g. "manifests[12].platform.architecture". */
#define FIELD_MAX 128
/* "manifests[N]", "layers[N]": the prefix of a field path. */
#define PREFIX_MAX 32

/* The document as a JSON object (json_decref it); NULL with *err set when
 * it is not JSON or not an object. */
json_t *mjson_load_object(const char *text, size_t len, const char *what, struct err **err);

/* An optional string member key of obj, named field in messages: *out is
 * NULL when it is absent or null; an error when it is not a string. */
int mjson_opt_string(const json_t *obj, const char *key, const char *field, const char *what,
		     const char **out, struct err **err);

/* An optional object (want_object) or array member; *out NULL when absent
 * or null. */
int mjson_opt_container(const json_t *obj, const char *key, bool want_object, const char *field,
			const char *what, json_t **out, struct err **err);

/* The same, required. */
int mjson_req_container(const json_t *obj, const char *key, bool want_object, const char *field,
			const char *what, json_t **out, struct err **err);

/* The "digest" of a descriptor (prefix names it: "config", "layers[2]"),
 * checked to be a sha256 digest; *out is a heap copy. */
int mjson_descriptor_digest(const json_t *desc, const char *prefix, const char *what, char **out,
			    struct err **err);

/* Fills out->chosen_digest from the index root (see manifest_parse). */
int manifest_parse_index(const json_t *root, const char *ref, const char *what,
			 struct manifest *out, struct err **err);

#endif
