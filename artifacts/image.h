/*
 * image: container images (book: container-images.md) turned into one
 * layer a job can stand on.
 *
 *     struct image_options o = { .depot_dir = ..., .lock_file = ... };
 *     struct image_info info;
 *     if (image_get("docker://localhost:5000/python:3.11-slim", &o, &info, err) < 0)
 *         ... report err ...
 *     ... info.layer_tar is one plain tar: the image's file system ...
 *     image_info_release(&info);
 *
 * Image names:
 *   docker://REFERENCE   pulled with the Docker Registry HTTP API v2
 *                        (artifacts/image_registry.h);
 *   oci:PATH[:REF]       an OCI image layout directory;
 *   oci-archive:PATH[:REF] a tar file holding an OCI image layout
 *                        (artifacts/image_oci.h).
 *
 * Tags are resolved once: the first resolution of a docker:// tag records
 * the digest the tag names (an index's digest for a multi-platform image,
 * so the pin holds on every machine) in the lock file
 * (maelstrom-container-tags.lock in the project directory, one line per
 * tag; deleting a line re-resolves that tag; artifacts/image_lock.h), and
 * later runs use that digest. A "NAME@sha256:..." reference is not pinned.
 *
 * The depot (artifacts/image_depot.h) keeps, under depot_dir, every blob
 * (manifests and indexes included) by its sha256 and every flattened
 * image by its manifest digest, so the second image_get of a pinned image
 * reads no network and flattens nothing. Several processes may call
 * image_get on the same depot at once: blobs and flattened tars are
 * written to temporary files and renamed into place; the lock file is
 * updated under an flock on its directory.
 *
 * Flattening (artifacts/image_flatten.h) applies the image's layers bottom
 * first into one tar: whiteouts (".wh.NAME") delete, opaque directories
 * (".wh..wh..opq") hide everything below them from lower layers, and no
 * whiteout entry is left in the result. So a job pays one layer directory
 * however many layers the image has.
 *
 * image_get blocks (network, disk): call it from an offloaded child
 * (core/offload.h). Errors name the image and say what to do, e.g.
 *   "docker://localhost:5000/nope:1: the registry answered 404 (manifest
 *    unknown): check the name and tag",
 *   "docker://localhost:5999/x: cannot connect to localhost:5999 (Connection
 *    refused): is the registry running?",
 *   "blob sha256:ab..: digest mismatch (got sha256:cd..): the registry sent
 *    a corrupt layer; try again".
 */
#ifndef ARTIFACTS_IMAGE_H
#define ARTIFACTS_IMAGE_H

#include <stdbool.h>

#include "core/err.h"

struct image_options {
	const char *depot_dir;   /* container-image-depot-root; required */
	const char *lock_file;   /* path of the tags lock file; NULL: no lock file */
	bool accept_invalid_tls; /* accept-invalid-remote-container-tls-certs */
	/* Registries spoken to in plain HTTP besides the loopback ones
	 * (localhost, 127.0.0.1, [::1], with any port, are always plain HTTP):
	 * comma-separated "host" or "host:port"; NULL: none
	 * (container-registry-plain-http). */
	const char *plain_http;
};

struct image_info {
	char *name;          /* as given to image_get */
	char *digest;        /* the manifest's "sha256:HEX" */
	char *layer_tar;     /* the flattened image: a plain tar in the depot */
	char **env;          /* the image config's Env ("K=V"), NULL-terminated, never NULL */
	char *working_dir;   /* the image config's WorkingDir; NULL when unset or empty */
};

/* Resolves, fetches (unless the depot has it) and flattens the image; see
 * above. On failure *out is zeroed. */
int image_get(const char *name, const struct image_options *o, struct image_info *out,
	      struct err **err);

/* Frees what info owns and zeroes it. Safe on a zeroed info. */
void image_info_release(struct image_info *info);

/* The info as one JSON object, to pass it from an offloaded child to its
 * parent; image_info_from_json reads it back (err on malformed text). */
char *image_info_to_json(const struct image_info *info);
int image_info_from_json(const char *text, struct image_info *out, struct err **err);

/* The default depot: $XDG_CACHE_HOME/maelstrom/containers, else
 * ~/.cache/maelstrom/containers. Heap string. */
char *image_default_depot(void);

/* The lock file's name, in the project directory. */
#define IMAGE_LOCK_FILE "maelstrom-container-tags.lock"

#endif
