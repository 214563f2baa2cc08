/*
 * image_flatten: an image's layers, applied bottom first, as one plain tar.
 *
 * Each layer is a tar, plain or compressed (gzip, zstd: libarchive finds
 * out). The result holds exactly what a union of the layers would show:
 *   - a later layer's entry replaces an earlier one at the same path (a
 *     directory replaced by a non-directory loses everything below it);
 *   - ".wh.NAME" in a directory deletes NAME (and everything below it) of
 *     the layers beneath; the whiteout itself is not in the result;
 *   - ".wh..wh..opq" in a directory hides everything the layers beneath
 *     had in it (the directory itself stays);
 *   - hard links point at the final entry of their target (a hard link to
 *     a path that is deleted is written as a regular file copy);
 *   - entries keep mode, ownership, mtime, symlink targets; device nodes
 *     and FIFOs are dropped (containers get devices from mounts);
 *   - a directory in a later layer at the path of an earlier directory
 *     only replaces its metadata: the children of both stay.
 * The output is deterministic: the surviving entries in layer order,
 * bottom layer first, each layer's in its own tar order, so the same image
 * always gives the same bytes and the same digest.
 *
 * The work is done in two passes: the layers are read top first to decide
 * which entry of which layer survives (paths only, in a hash table), then
 * read again bottom first copying the survivors.
 */
#ifndef ARTIFACTS_IMAGE_FLATTEN_H
#define ARTIFACTS_IMAGE_FLATTEN_H

#include <stddef.h>

#include "core/err.h"

/* Writes the flattened tar to out_path (created, or truncated). Errors name
 * the layer ("layer 3 (/depot/blobs/sha256/ab..): ...") and the entry. */
int image_flatten(const char *const *layer_paths, size_t n_layers, const char *out_path,
		  struct err **err);

#endif
