/*
 * image_ref: the REFERENCE of a "docker://REFERENCE" image name, as the
 * book's container-images.md describes it:
 *
 *     NAME[:TAG | @DIGEST]      (NAME:TAG@DIGEST is also accepted: the
 *                                digest wins, the tag is kept for messages)
 *
 *   - NAME without a slash means docker.io/library/NAME;
 *   - otherwise the part before the first slash is a registry
 *     HOST[:PORT] when it contains a '.' or a ':' or is exactly
 *     "localhost" (an IPv6 address is written in brackets: "[::1]:5000");
 *     else NAME means docker.io/NAME;
 *   - on docker.io a one-component repository gets "library/" in front;
 *     "index.docker.io" is docker.io;
 *   - without TAG and DIGEST the tag is "latest".
 *
 * Checks (after the Docker reference grammar): each repository component
 * is lowercase letters and digits, separated inside by '.', '_', "__" or
 * runs of '-'; a tag is 1 to 128 of [A-Za-z0-9_.-] not starting with '.'
 * or '-'; a digest is "sha256:" and 64 lowercase hex digits; the whole
 * name is at most 255 characters.
 *
 *     struct image_ref r;
 *     if (image_ref_parse("localhost:5000/busybox:1", &r, err) < 0) ...
 *     r.registry == "localhost:5000", r.repository == "busybox",
 *     r.tag == "1", r.digest == NULL, r.api_host == "localhost:5000"
 *     char *key = image_ref_canonical(&r);   "docker://localhost:5000/busybox:1"
 *     image_ref_release(&r);
 */
#ifndef ARTIFACTS_IMAGE_REF_H
#define ARTIFACTS_IMAGE_REF_H

#include <stdbool.h>

#include "core/err.h"

struct image_ref {
	char *registry;   /* "docker.io", "localhost:5000", "[::1]:5000", "quay.io" */
	char *api_host;   /* where the API is: registry, but "registry-1.docker.io" for docker.io */
	char *repository; /* "library/python", "busybox", "org/tools/cc" */
	char *tag;        /* "latest" when neither tag nor digest is given; NULL for a digest alone */
	char *digest;     /* "sha256:HEX", or NULL */
};

/* Parses REFERENCE (without "docker://"). On failure *out is zeroed and the
 * error quotes the reference and says what is wrong, e.g.
 *   "repository name `Busybox` must be lowercase: write `busybox`". */
int image_ref_parse(const char *text, struct image_ref *out, struct err **err);

/* Frees what r owns and zeroes it. Safe on a zeroed ref. */
void image_ref_release(struct image_ref *r);

/* The fully spelled-out name, the lock file's key for a tag:
 * "docker://REGISTRY/REPOSITORY" then ":TAG" (if any) then "@DIGEST" (if
 * any). So "python" and "docker.io/library/python:latest" give the same
 * string. Heap string. */
char *image_ref_canonical(const struct image_ref *r);

/* The host of a "HOST[:PORT]" registry, without the port and without IPv6
 * brackets ("[::1]:5000" -> "::1"). Heap string. */
char *image_ref_host(const char *registry);

/* The port of a "HOST[:PORT]" registry, or default_port when none is
 * written. */
int image_ref_port(const char *registry, int default_port);

#endif
