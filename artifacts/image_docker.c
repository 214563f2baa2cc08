/*
 * image_docker: docker:// images: the tag is pinned by the lock file, the
 * depot answers whatever it already holds (a pinned image held whole needs
 * no network at all), the registry sends the rest.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/image_depot.h"
#include "artifacts/image_internal.h"
#include "artifacts/image_lock.h"
#include "artifacts/image_manifest.h"
#include "artifacts/image_ref.h"
#include "artifacts/image_registry.h"
#include "core/cleanup.h"
#include "core/xalloc.h"

#define MANIFEST_FILE_MAX (4u << 20)
/* An index may point at an index; more than this many is a loop. */
#define INDEX_DEPTH_MAX 4

static void manifest_what(const char *digest, char *what, size_t n)
{
	snprintf(what, n, "manifest %.19s..", digest);
}

/* Fills out from the image manifest m (digest named) with depot paths. */
static void source_from_manifest(const struct image_depot *d, const char *digest,
				 const struct manifest *m, struct image_source *out)
{
	out->manifest_digest = xstrdup(digest);
	out->config_path = depot_blob_path(d, m->config_digest);
	out->n_layers = m->n_layers;
	out->layer_paths = xcalloc(m->n_layers + 1, sizeof(*out->layer_paths));
	for (size_t i = 0; i < m->n_layers; i++)
		out->layer_paths[i] = depot_blob_path(d, m->layers[i].digest);
}

static bool depot_has_all(const struct image_source *s)
{
	if (!depot_exists(s->config_path))
		return false;
	for (size_t i = 0; i < s->n_layers; i++)
		if (!depot_exists(s->layer_paths[i]))
			return false;
	return true;
}

static bool depot_has_flattened(const struct image_depot *d, const char *digest)
{
	_cleanup_free_ char *tar = depot_image_tar_path(d, digest);
	_cleanup_free_ char *json = depot_image_json_path(d, digest);
	return depot_exists(json) && depot_exists(tar);
}

/* From the manifest (or index) digest top, with the depot alone: 1 when
 * the depot holds what image.c needs (out filled), 0 when something must be
 * fetched, -1 on error. */
static int local_source(const struct image_depot *d, const char *top, struct image_source *out,
			struct err **err)
{
	_cleanup_free_ char *digest = xstrdup(top);
	for (int depth = 0; depth < INDEX_DEPTH_MAX; depth++) {
		_cleanup_free_ char *path = depot_blob_path(d, digest);
		if (!depot_exists(path))
			return 0;
		_cleanup_free_ char *text = NULL;
		size_t len;
		char what[64];
		manifest_what(digest, what, sizeof(what));
		struct manifest m;
		if (depot_read_file(path, MANIFEST_FILE_MAX, &text, &len, err) < 0 ||
		    manifest_parse(text, len, NULL, NULL, what, &m, err) < 0)
			return -1;
		switch (m.kind) {
		case MANIFEST_INDEX:
			free(digest);
			digest = steal_pointer(&m.chosen_digest);
			manifest_release(&m);
			continue;
		case MANIFEST_IMAGE:
			source_from_manifest(d, digest, &m, out);
			manifest_release(&m);
			out->flattened = depot_has_flattened(d, digest);
			if (out->flattened || depot_has_all(out))
				return 1;
			image_source_release(out);
			return 0;
		}
	}
	return err_set(err, 0, "manifest %.19s..: indexes nested more than %d deep",
		       top, INDEX_DEPTH_MAX);
}

/* GETs a manifest, keeps it in the depot, parses it. */
static int fetch_manifest(struct registry *r, const struct image_depot *d, const char *reference,
			  struct manifest *m, char **digest, struct err **err)
{
	struct registry_manifest rm;
	if (registry_get_manifest(r, reference, &rm, err) < 0)
		return -1;
	char what[64];
	manifest_what(rm.digest, what, sizeof(what));
	_cleanup_free_ char *path = depot_blob_path(d, rm.digest);
	int rc = 0;
	if (!depot_exists(path))
		rc = depot_blob_put(d, rm.body, rm.len, rm.digest, err);
	if (rc == 0)
		rc = manifest_parse(rm.body, rm.len, rm.media_type, NULL, what, m, err);
	if (rc == 0)
		*digest = steal_pointer(&rm.digest);
	registry_manifest_release(&rm);
	return rc;
}

/* A manifest named by digest, from the depot when it has it, else
 * fetched. */
static int load_manifest(struct registry *r, const struct image_depot *d, const char *digest,
			 struct manifest *m, struct err **err)
{
	_cleanup_free_ char *path = depot_blob_path(d, digest);
	if (!depot_exists(path)) {
		_cleanup_free_ char *got = NULL;
		return fetch_manifest(r, d, digest, m, &got, err);
	}
	_cleanup_free_ char *text = NULL;
	size_t len;
	char what[64];
	manifest_what(digest, what, sizeof(what));
	if (depot_read_file(path, MANIFEST_FILE_MAX, &text, &len, err) < 0)
		return -1;
	return manifest_parse(text, len, NULL, NULL, what, m, err);
}

static int fetch_blobs(struct registry *r, const struct image_depot *d, const struct manifest *m,
		       struct err **err)
{
	_cleanup_free_ char *config = depot_blob_path(d, m->config_digest);
	if (!depot_exists(config) && registry_get_blob(r, m->config_digest, d, err) < 0)
		return err_wrap(err, "the image config");
	for (size_t i = 0; i < m->n_layers; i++) {
		_cleanup_free_ char *path = depot_blob_path(d, m->layers[i].digest);
		if (!depot_exists(path) && registry_get_blob(r, m->layers[i].digest, d, err) < 0)
			return err_wrap(err, "layer %zu of %zu", i + 1, m->n_layers);
	}
	return 0;
}

/* Fetches whatever the depot lacks of the image reference names (a tag or
 * a digest); *top gets the digest the reference resolved to. */
static int pull(struct registry *r, const struct image_depot *d, const char *reference,
		char **top, struct image_source *out, struct err **err)
{
	struct manifest m;
	_cleanup_free_ char *digest = NULL;
	if (fetch_manifest(r, d, reference, &m, &digest, err) < 0)
		return -1;
	*top = xstrdup(digest);
	for (int depth = 0; m.kind == MANIFEST_INDEX; depth++) {
		_cleanup_free_ char *chosen = steal_pointer(&m.chosen_digest);
		manifest_release(&m);
		if (depth == INDEX_DEPTH_MAX)
			return err_set(err, 0, "manifest %.19s..: indexes nested more than %d deep",
				       *top, INDEX_DEPTH_MAX);
		free(digest);
		digest = steal_pointer(&chosen);
		if (load_manifest(r, d, digest, &m, err) < 0)
			return -1;
	}
	int rc = fetch_blobs(r, d, &m, err);
	if (rc == 0)
		source_from_manifest(d, digest, &m, out);
	manifest_release(&m);
	return rc;
}

/* The digest the lock file pins key to (heap), or NULL. */
static int pinned_digest(const char *lock_file, const char *key, char **out, struct err **err)
{
	*out = NULL;
	if (!lock_file)
		return 0;
	struct image_lock l;
	if (image_lock_read(lock_file, &l, err) < 0)
		return -1;
	*out = xstrdup_or_null(image_lock_find(&l, key));
	image_lock_release(&l);
	return 0;
}

static int resolve(const struct image_ref *ref, const struct image_options *o,
		   const struct image_depot *d, struct image_source *out, struct err **err)
{
	_cleanup_free_ char *key = image_ref_canonical(ref);
	_cleanup_free_ char *pinned = NULL;
	if (!ref->digest && pinned_digest(o->lock_file, key, &pinned, err) < 0)
		return -1;
	const char *known = ref->digest ? ref->digest : pinned;
	if (known) {
		int have = local_source(d, known, out, err);
		if (have != 0)
			return have < 0 ? -1 : 0;
	}

	struct registry_options ro = { .accept_invalid_tls = o->accept_invalid_tls,
				       .plain_http = o->plain_http };
	struct registry *r;
	if (registry_open(ref, &ro, &r, err) < 0)
		return -1;
	_cleanup_free_ char *top = NULL;
	int rc = pull(r, d, known ? known : ref->tag, &top, out, err);
	registry_free(r);
	if (rc < 0 && pinned)
		return err_wrap(err,
				"the lock file %s pins this tag to %.19s.. (delete that line to "
				"resolve the tag again)",
				o->lock_file, pinned);
	if (rc < 0)
		return -1;
	if (!known && o->lock_file && image_lock_add(o->lock_file, key, top, err) < 0) {
		image_source_release(out);
		return -1;
	}
	return 0;
}

int image_docker_source(const char *rest, const struct image_options *o,
			const struct image_depot *d, struct image_source *out, struct err **err)
{
	memset(out, 0, sizeof(*out));
	struct image_ref ref;
	if (image_ref_parse(rest, &ref, err) < 0)
		return -1;
	int rc = resolve(&ref, o, d, out, err);
	image_ref_release(&ref);
	return rc;
}
