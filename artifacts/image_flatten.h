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
 *     a path that is deleted or replaced is written as a regular file copy
 *     of what it linked to, and further links to it point at that copy); a
 *     hard link to a file of a layer beneath is kept as a link when that
 *     file is in the result, else it is an error;
 *   - entries keep mode, ownership, mtime, symlink targets; device nodes
 *     and FIFOs are dropped (containers get devices from mounts);
 *   - a directory in a later layer at the path of an earlier directory
 *     only replaces its metadata: the children of both stay.
 * Paths are compared normalized ("./a//b/" is "a/b"); names are written
 * normalized. Absolute names and `..` components are errors.
 * The output is a pax tar, deterministic: the surviving entries in layer
 * order, bottom layer first, each layer's in its own tar order, so the same
 * image always gives the same bytes and the same digest. (So a directory's
 * entry may follow its children when a later layer redefines it;
 * artifacts/extract applies directory metadata at the end.)
 *
 * The work is done in two passes: the layers are read top first to decide
 * which entry of which layer survives (paths only, in a hash table), then
 * read again bottom first copying the survivors. Content is streamed;
 * memory grows with the number of paths, not with file sizes. A copy made
 * for a hard link is kept aside in an unnamed temporary file in the output's
 * directory while its layer is read. Blocking work: run it off the reactor.
 */
#ifndef ARTIFACTS_IMAGE_FLATTEN_H
#define ARTIFACTS_IMAGE_FLATTEN_H

#include <stddef.h>

#include "core/err.h"

/* Writes the flattened tar to out_path (created, or truncated; on failure
 * it holds a partial tar the caller removes). layer_paths[0] is the bottom
 * layer. Errors name the layer, counting from 1 at the bottom
 * ("layer 3 (/depot/blobs/sha256/ab..): entry `x/../y` contains a `..`
 * component; ...") and the entry. */
int image_flatten(const char *const *layer_paths, size_t n_layers, const char *out_path,
		  struct err **err);

#endif
