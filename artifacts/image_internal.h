/*
 * image_internal: what image.c (schemes, flattening, image_info) and
 * image_docker.c (docker:// references: lock file, depot, registry) share.
 */
#ifndef ARTIFACTS_IMAGE_INTERNAL_H
#define ARTIFACTS_IMAGE_INTERNAL_H

#include <stddef.h>

#include "artifacts/image.h"
#include "artifacts/image_depot.h"
#include "core/err.h"

/* An image's parts, as files on this machine. */
struct image_source {
	char *manifest_digest; /* "sha256:HEX" of the image manifest */
	char *config_path;
	char **layer_paths;    /* bottom first */
	size_t n_layers;
	/* Set when the depot already holds the flattened image: config and
	 * layers are then not needed (and may be NULL / empty). */
	bool flattened;
};

void image_source_release(struct image_source *s);

/* Resolves "docker://" + rest to local files: the lock file pins tags, the
 * depot answers what it holds, the registry the rest. */
int image_docker_source(const char *rest, const struct image_options *o,
			const struct image_depot *d, struct image_source *out, struct err **err);

#endif
