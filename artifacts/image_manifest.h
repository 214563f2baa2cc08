/*
 * image_manifest: the JSON documents of an OCI or Docker image, read with
 * jansson (OCI image spec; Docker "Image Manifest V2, Schema 2").
 *
 *   index / manifest list   application/vnd.oci.image.index.v1+json,
 *                           application/vnd.docker.distribution.manifest.list.v2+json
 *   manifest                application/vnd.oci.image.manifest.v1+json,
 *                           application/vnd.docker.distribution.manifest.v2+json
 *   config                  Env, WorkingDir (under "config")
 *
 * Errors name the document ("manifest sha256:ab..: field `layers[2].digest`
 * is missing") and say what is wrong. Digests are "ALG:HEX"; only sha256 is
 * accepted (64 lowercase hex digits). Refused with a message saying why:
 * Docker schema 1 manifests, encrypted or non-tar layer media types, and
 * manifests whose config is not an image config (OCI artifacts such as
 * charts or signatures).
 */
#ifndef ARTIFACTS_IMAGE_MANIFEST_H
#define ARTIFACTS_IMAGE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* The Accept header value a registry client sends for manifests. */
#define IMAGE_MANIFEST_ACCEPT                                                  \
	"application/vnd.oci.image.index.v1+json, "                            \
	"application/vnd.docker.distribution.manifest.list.v2+json, "          \
	"application/vnd.oci.image.manifest.v1+json, "                         \
	"application/vnd.docker.distribution.manifest.v2+json"

enum manifest_kind {
	MANIFEST_INDEX,     /* an index or manifest list: pick one entry */
	MANIFEST_IMAGE,     /* an image manifest: config + layers */
};

struct manifest_layer {
	char *digest;       /* "sha256:HEX" */
	char *media_type;
	long long size;     /* -1 when absent */
};

struct manifest {
	enum manifest_kind kind;
	/* MANIFEST_IMAGE */
	char *config_digest;
	struct manifest_layer *layers;  /* bottom first */
	size_t n_layers;
	/* MANIFEST_INDEX: the entry chosen for this machine's platform
	 * (linux and the GOARCH name of uname's machine: amd64, arm64, ...,
	 * with variant ignored), or for `ref` when it names an entry by its
	 * org.opencontainers.image.ref.name annotation; see manifest_parse. */
	char *chosen_digest;
};

/* Parses a manifest or index. media_type is the Content-Type a registry
 * sent (NULL, or a type that says nothing such as application/json: read
 * "mediaType" from the document; without one, a document with "manifests"
 * is an index, one with "layers" a manifest).
 * ref: for an index, pick among the entries annotated
 * org.opencontainers.image.ref.name == ref; NULL: among all entries. Of
 * those, the first for linux/image_platform_arch() wins, else the only one
 * without a platform; otherwise the error lists the index's names or
 * platforms. what names the document in messages. On failure *out is
 * zeroed (nothing to release). */
int manifest_parse(const char *text, size_t len, const char *media_type, const char *ref,
		   const char *what, struct manifest *out, struct err **err);
void manifest_release(struct manifest *m);

/* The image config's Env (NULL-terminated, never NULL) and WorkingDir
 * (NULL when absent or empty). */
int image_config_parse(const char *text, size_t len, const char *what, char ***env,
		       char **working_dir, struct err **err);

/* The platform's architecture as OCI names it ("amd64", "arm64", "386",
 * "arm", "ppc64le", "s390x", "riscv64"), from uname. */
const char *image_platform_arch(void);

/* True for "sha256:" followed by 64 lowercase hex digits. */
bool image_digest_valid(const char *digest);

#endif
