/*
 * image_lock: the container tags lock file (IMAGE_LOCK_FILE,
 * maelstrom-container-tags.lock, in the project directory), which pins
 * each docker:// tag to the manifest digest it first resolved to.
 *
 * The file is text, TOML-compatible, meant to be committed to revision
 * control: comment lines (#), blank lines, and one line per tag
 *
 *     "docker://localhost:5000/busybox:1" = "sha256:4b1f...e0"
 *
 * keyed by image_ref_canonical. Deleting a line makes the next run
 * resolve that tag again and add a fresh line.
 *
 *     struct image_lock l;
 *     if (image_lock_read(path, &l, err) < 0) ...   a missing file is empty
 *     const char *d = image_lock_find(&l, key);      NULL: not pinned yet
 *     image_lock_release(&l);
 *     image_lock_add(path, key, digest, err);        after a resolution
 *
 * image_lock_add is safe between processes: it takes an flock on the
 * directory holding the file, reads the file again, adds the line unless
 * another process pinned the key meanwhile (the first pin wins), writes a
 * temporary next to the file, fsyncs it and renames it over the file.
 * Everything else in the file (comments, order) is kept.
 */
#ifndef ARTIFACTS_IMAGE_LOCK_H
#define ARTIFACTS_IMAGE_LOCK_H

#include <stddef.h>

#include "core/err.h"

struct image_lock_entry {
	char *key;    /* "docker://REGISTRY/REPOSITORY:TAG" */
	char *digest; /* "sha256:HEX" */
};

struct image_lock {
	struct image_lock_entry *entries;
	size_t n;
};

/* Reads the lock file at path; a missing file reads as empty. A malformed
 * line is an error naming path:line and saying to delete the line. */
int image_lock_read(const char *path, struct image_lock *out, struct err **err);

/* The digest pinned for key, or NULL. The last line for a key wins. */
const char *image_lock_find(const struct image_lock *l, const char *key);

void image_lock_release(struct image_lock *l);

/* Pins key to digest in the file at path (created with a header comment
 * when missing); see above. */
int image_lock_add(const char *path, const char *key, const char *digest, struct err **err);

#endif
