/*
 * layer_build: turns one layer specification (core/spec.h, the book's
 * spec-layers.md) into a tar artifact in the store and returns its digest.
 *
 * Kinds:
 *   tar     the file itself is the artifact (store_add_path); its digest is
 *           cached by stat (pathcache.h), so an unchanged tar is not read.
 *   glob    the regular files and symlinks under the project directory whose
 *           relative path matches; the walk starts at the pattern's literal
 *           prefix and skips directories glob_may_match_below rules out. The
 *           pattern must be relative. Symlinks are not descended into.
 *   paths   each path (relative to the project directory, or absolute): a
 *           file -> the file; a symlink -> the symlink, or with
 *           follow_symlinks the file (or empty directory) it points to; a
 *           directory -> an empty directory entry.
 *   stubs   brace-expanded; "x/" -> empty directory, "x" -> empty file.
 *   symlinks  link -> target.
 *   shared-library-dependencies  the libraries the given binaries load
 *           (ldd.h), including the dynamic loader, each stored with its
 *           content at the path it was found at (symlinks followed); not the
 *           binaries themselves.
 * Prefix options (glob, paths, shared-library-dependencies) apply in the
 * book's order: follow_symlinks, canonicalize (realpath; the container path
 * becomes absolute), strip_prefix (component-wise; a path that does not
 * start with it is an error), prepend_prefix.
 *
 * The tar (pax restricted, i.e. plain ustar unless a name is too long)
 * holds relative names without a leading '/', an entry for every parent
 * directory (mode 0755, mtime 0 unless the layer names the directory
 * itself), entries sorted by name, owner 0:0 without user/group names,
 * permission bits and mtime (seconds) kept. Stubs are 0644 files / 0755
 * directories, symlinks 0777, all with mtime 0. The same inputs therefore
 * always give the same bytes and the same digest. A container path with a
 * `..` component, or two different entries for one path, is an error.
 * Tars are streamed from the files into a store_tmpfile and committed.
 *
 * Layer cache: every layer but `tar` is keyed by a digest of the canonical
 * spec, the project directory and, for every entry, its container path
 * and the (dev, inode, size, mtime_ns, ctime_ns, mode, symlink target) of
 * its source. Computing the key costs stat(2) calls and directory reads,
 * never file content. When the key is cached and the store still has the
 * artifact, the layer is not built. The cache lives in
 * <store root>/layer-cache and the path cache in <store root>/path-cache
 * (digest_map.h format), saved by layer_builder_save and layer_builder_free;
 * keys with sources modified less than a second before they were examined
 * are kept in memory only (see pathcache.h on racy files).
 * For shared-library-dependencies the binaries' ELF headers are parsed once
 * per builder (the closure is memoised by the binaries' stat), since the
 * key needs the library list.
 *
 * Errors read "layer `paths`: /no/such: No such file or directory; fix the
 * path in the job spec". Not thread-safe: one builder per thread.
 */
#ifndef ARTIFACTS_LAYER_BUILD_H
#define ARTIFACTS_LAYER_BUILD_H

#include <stdint.h>

#include "artifacts/digest.h"
#include "core/spec.h"

struct err;
struct pathcache;
struct store;
struct layer_builder;

struct layer_build_stats {
	uint64_t built;        /* tars written (cache misses) */
	uint64_t cache_hits;   /* layers answered from the layer or path cache */
	uint64_t files_read;   /* files whose content was read (tar content, tar layers, digests) */
};

/* A builder over store (borrowed, must outlive it) for a project directory
 * (copied; relative paths in specs are relative to it). Loads the caches
 * from the store's root. */
int layer_builder_new(struct layer_builder **out, struct store *store, const char *project_dir,
		      struct err **err);

/* Saves the caches (a failure is logged as a warning) and frees. Safe on NULL. */
void layer_builder_free(struct layer_builder *b);

/* Writes the layer cache and path cache to the store root now. */
int layer_builder_save(struct layer_builder *b, struct err **err);

/* Builds (or finds in the cache) the artifact for spec; *out receives its
 * digest. The artifact is in the store on success. */
int layer_build(struct layer_builder *b, const struct layer_spec *spec, struct digest *out,
		struct err **err);

/* The builder's path -> digest cache, for anyone else who needs a file's
 * digest (borrowed; saved along with the builder's). */
struct pathcache *layer_builder_pathcache(struct layer_builder *b);

/* Counters since layer_builder_new. */
struct layer_build_stats layer_builder_stats(const struct layer_builder *b);

/* "tar", "glob", "paths", "stubs", "symlinks", "shared-library-dependencies". */
const char *layer_kind_name(enum layer_kind kind);

#endif
