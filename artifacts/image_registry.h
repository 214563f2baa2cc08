/*
 * image_registry: a client of the Docker Registry HTTP API v2, on libcurl,
 * for anonymous pulls.
 *
 *     struct registry *r;
 *     if (registry_open(&ref, &opts, &r, err) < 0) ...
 *     struct registry_manifest m;
 *     registry_get_manifest(r, "1", &m, err);          by tag or by digest
 *     registry_get_blob(r, "sha256:ab..", &depot, err); into the depot
 *     registry_manifest_release(&m);
 *     registry_free(r);
 *
 * Transport: HTTPS, except plain HTTP for loopback registries (localhost,
 * 127.0.0.1, [::1], any port) and for the registries listed in
 * opts.plain_http ("host" or "host:port", comma-separated).
 * accept_invalid_tls turns certificate and host name checks off. Connect
 * timeout 10 s; a transfer that moves no byte for 30 s is given up.
 * Redirects are followed (registries send blobs from elsewhere); the
 * Authorization header is never sent to another host.
 *
 * Authentication: a request answered 401 with
 *   WWW-Authenticate: Bearer realm="..",service="..",scope=".."
 * gets an anonymous token from the realm (GET realm?service=..&scope=..,
 * JSON "token" or "access_token"), and is sent again with
 * "Authorization: Bearer TOKEN"; the token is kept for later requests.
 * Registries that want a password are refused with a clear error.
 *
 * Verification: a manifest's digest is the sha256 of its bytes; it must
 * match the Docker-Content-Digest header when one is sent and the
 * requested digest when the reference was a digest. A blob is hashed as it
 * streams into the depot and installed only when it matches
 * (image_depot.h). A mismatch keeps nothing.
 *
 * Error messages say what went wrong and what to do, e.g.
 *   "cannot connect to localhost:5999 (Connection refused): is the
 *    registry running?"
 *   "the registry answered 404 (manifest unknown): check the name and tag"
 *   "the registry answered 500: UNKNOWN: unknown error".
 * Blocking: call from an offloaded child.
 */
#ifndef ARTIFACTS_IMAGE_REGISTRY_H
#define ARTIFACTS_IMAGE_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "artifacts/image_depot.h"
#include "artifacts/image_ref.h"
#include "core/err.h"

struct registry_options {
	bool accept_invalid_tls;
	const char *plain_http; /* comma-separated hosts; NULL: none */
};

struct registry;

/* Prepares requests to ref's registry and repository (no I/O yet). */
int registry_open(const struct image_ref *ref, const struct registry_options *o,
		  struct registry **out, struct err **err);
void registry_free(struct registry *r);

/* True when registry ("HOST[:PORT]") is spoken to in plain HTTP. */
bool registry_plain_http(const char *registry, const char *plain_http);

struct registry_manifest {
	char *body;       /* NUL-terminated */
	size_t len;
	char *media_type; /* the Content-Type, or NULL */
	char *digest;     /* "sha256:HEX" of body, checked as described above */
};

/* GET /v2/REPOSITORY/manifests/REFERENCE (a tag or "sha256:HEX"). */
int registry_get_manifest(struct registry *r, const char *reference, struct registry_manifest *out,
			  struct err **err);
void registry_manifest_release(struct registry_manifest *m);

/* GET /v2/REPOSITORY/blobs/DIGEST into the depot as blobs/sha256/HEX,
 * verified. */
int registry_get_blob(struct registry *r, const char *digest, const struct image_depot *d,
		      struct err **err);

#endif
