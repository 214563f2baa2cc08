/*
 * image_oci: images on this machine, in the OCI image layout
 * (https://specs.opencontainers.org/image-spec/image-layout/):
 *   oci:PATH[:REF]          a directory holding oci-layout, index.json and
 *                           blobs/sha256/HEX;
 *   oci-archive:PATH[:REF]  a tar file of such a directory.
 * REF matches the org.opencontainers.image.ref.name annotation of an entry
 * of the top-level index.json; without REF the layout must hold exactly one
 * image (a nested index is followed, choosing by platform).
 *
 * Errors name the path and the file inside it, e.g.
 *   "oci:/srv/img: index.json: no image is named `v2` (the index has:
 *    latest, v1)",
 *   "oci:/srv/img: the layer 2 of 3 blob sha256:ab.. is missing (no file
 *    blobs/sha256/ab..: No such file or directory): the layout is
 *    incomplete; copy the image into it again".
 */
#ifndef ARTIFACTS_IMAGE_OCI_H
#define ARTIFACTS_IMAGE_OCI_H

#include <stddef.h>

#include "artifacts/image_manifest.h"
#include "core/err.h"

/* An image found in a layout: every blob is a file in the layout. */
struct oci_image {
	char *manifest_digest;      /* "sha256:HEX" of the image manifest */
	char *config_path;          /* the config blob's path */
	char **layer_paths;         /* the layer blobs' paths, bottom first */
	size_t n_layers;
};

/* Finds the image ref (NULL: the only one) in the layout directory dir and
 * checks that its blobs exist (digests are not re-hashed here). */
int oci_layout_open(const char *dir, const char *ref, struct oci_image *out, struct err **err);
void oci_image_release(struct oci_image *img);

/* Unpacks the oci-archive tar at tar_path into dest_dir (which must not
 * exist; made here) with artifacts/extract: no `..`, no absolute paths, no
 * links out, no devices. The unpacked tree is read-only: remove it with
 * extract_remove_tree. On failure a tree this call made is removed again. */
int oci_archive_unpack(const char *tar_path, const char *dest_dir, struct err **err);

/* Splits "oci:PATH[:REF]" / "oci-archive:PATH[:REF]" (the scheme already
 * removed: rest = "PATH[:REF]"; the first ':' after the path starts REF).
 * Heap strings; *ref NULL when absent. */
int oci_split_name(const char *rest, char **path, char **ref, struct err **err);

#endif
