/*
 * image_depot: the container image cache (`container-image-depot-root`),
 * shared by every client of this user.
 *
 * Layout under the root:
 *     blobs/sha256/HEX      verified content: manifests, indexes, configs,
 *                           layers (0444; the name is the content's sha256)
 *     images/HEX.tar        an image flattened into one plain tar, by the
 *                           image manifest's digest
 *     images/HEX.json       its image_info (image_info_to_json), written
 *                           after the tar: the json is the "done" mark
 *     archives/KEY/layout/  an unpacked oci-archive (KEY: the sha256 of the
 *                           archive's path, device, inode, size, mtime)
 *     tmp/                  temporaries of writers in progress
 *
 * Writers never write in place: they write a temporary under tmp/ (same
 * file system), fsync it and rename it over the final name. Every final
 * name is determined by its content, so when two clients write the same
 * entry at once both succeed and either copy is right; readers see a
 * complete file or none. depot_open removes temporaries older than a day
 * (left by crashed writers). Nothing is evicted.
 *
 *     struct image_depot d;
 *     if (depot_open(root, &d, err) < 0) ...
 *     struct depot_blob w;
 *     depot_blob_begin(&d, &w, err);
 *     depot_blob_write(&w, bytes, n, err);        ... as they arrive
 *     depot_blob_commit(&w, "sha256:ab..", err);  verified, then renamed
 *     depot_release(&d);
 *
 * Blocking file system work: call from an offloaded child.
 */
#ifndef ARTIFACTS_IMAGE_DEPOT_H
#define ARTIFACTS_IMAGE_DEPOT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

/* "sha256:" + 64 hex digits + NUL */
#define IMAGE_DIGEST_SIZE 72

struct image_depot {
	char *root; /* absolute */
};

/* Creates the layout under root if needed (mode 0700 for what it makes)
 * and removes stale temporaries. On failure *d is zeroed. */
int depot_open(const char *root, struct image_depot *d, struct err **err);
void depot_release(struct image_depot *d);

/* Paths of entries (heap strings; the entry need not exist). digest is a
 * valid "sha256:HEX" (image_digest_valid); key a plain name. */
char *depot_blob_path(const struct image_depot *d, const char *digest);
char *depot_image_tar_path(const struct image_depot *d, const char *digest);
char *depot_image_json_path(const struct image_depot *d, const char *digest);
char *depot_archive_path(const struct image_depot *d, const char *key);

/* True when the file exists. */
bool depot_exists(const char *path);

/* A new empty temporary file (or, for depot_tmp_dir, directory) under
 * tmp/, named after what ("layer", "flatten", ...). Heap path. */
int depot_tmp_file(const struct image_depot *d, const char *what, char **path, struct err **err);
int depot_tmp_dir(const struct image_depot *d, const char *what, char **path, struct err **err);

/* Makes the finished temporary file tmp_path durable (fsync), read-only
 * (0444), and renames it to final_path, replacing any copy already there.
 * On failure tmp_path is deleted. */
int depot_install(const char *tmp_path, const char *final_path, struct err **err);

/* A blob being written: content is hashed as it is written. */
struct depot_blob {
	const struct image_depot *depot;
	char *tmp_path;
	int fd;
	void *md; /* the OpenSSL digest context */
};

int depot_blob_begin(const struct image_depot *d, struct depot_blob *w, struct err **err);
int depot_blob_write(struct depot_blob *w, const void *data, size_t len, struct err **err);
/* Finishes the blob. When its sha256 is expected, installs it as
 * blobs/sha256/HEX; otherwise deletes it and fails with
 *   "blob sha256:ab..: digest mismatch (got sha256:cd..): the data was
 *    corrupted on the way; try again".
 * Either way w is released. */
int depot_blob_commit(struct depot_blob *w, const char *expected, struct err **err);
/* Deletes the temporary and releases w. Safe on a zeroed or committed w. */
void depot_blob_abort(struct depot_blob *w);

/* Stores data of memory as a blob that must hash to expected. */
int depot_blob_put(const struct image_depot *d, const void *data, size_t len,
		   const char *expected, struct err **err);

/* The whole file at path (at most max bytes, else an error naming the
 * limit), NUL-terminated; *len excludes the NUL. */
int depot_read_file(const char *path, size_t max, char **text, size_t *len, struct err **err);

/* The "sha256:HEX" of data. */
void image_sha256_digest(const void *data, size_t len, char out[IMAGE_DIGEST_SIZE]);

#endif
