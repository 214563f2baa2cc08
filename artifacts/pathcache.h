/*
 * pathcache: file -> content digest, keyed by what stat(2) says about the
 * file, so that an unchanged file is never read twice, in this process or
 * the next (DESIGN.md: "Clients cache path -> digest by (device, inode,
 * size, mtime)").
 *
 * The key is (st_dev, st_ino, st_size, st_mtim, st_ctim) in nanoseconds;
 * the path itself is not part of it (a renamed file keeps its digest).
 * Any write to a file moves its mtime, and chmod/chown/utimensat move its
 * ctime, so a changed file misses.
 *
 * Racy files: file system timestamps advance in coarse steps (a jiffy), so
 * a file written again within the same step as our read keeps its key. A
 * record whose mtime is less than PATHCACHE_RACY_NS before the moment we
 * looked is therefore kept in memory only and not persisted; the next
 * process reads such a file once more. (Git's "racily clean" rule.)
 *
 * Persisted in one file (normally <cache-root>/path-cache) with
 * digest_map.h, saved by pathcache_save. Not thread-safe.
 */
#ifndef ARTIFACTS_PATHCACHE_H
#define ARTIFACTS_PATHCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "artifacts/digest.h"

struct err;
struct pathcache;

/* A file whose mtime is younger than this (relative to when it was
 * stat'ed) is not trusted across processes. */
#define PATHCACHE_RACY_NS 1000000000ll

/* Opens the cache persisted at file (created on first save; NULL: memory
 * only). A missing or corrupt file gives an empty cache. */
int pathcache_open(struct pathcache **out, const char *file, struct err **err);

/* Frees the cache without saving. Safe on NULL. */
void pathcache_free(struct pathcache *pc);

/* Writes new records to the file atomically, merged with what other
 * processes saved. A no-op when nothing changed. */
int pathcache_save(struct pathcache *pc, struct err **err);

/* The digest cached for a file with this stat, if any. */
bool pathcache_lookup(struct pathcache *pc, const struct stat *st, struct digest *out);

/* Records the digest of a file with this stat (as seen when it was read). */
void pathcache_insert(struct pathcache *pc, const struct stat *st, const struct digest *d);

/* Digest of the file at path (symlinks followed): from the cache when its
 * stat matches, else by reading it (and then recorded, unless the file
 * changed while it was being read). If st_out is not NULL it receives the
 * file's stat. */
int pathcache_digest(struct pathcache *pc, const char *path, struct digest *out,
		     struct stat *st_out, struct err **err);

/* How many files pathcache_digest had to read (for tests and statistics). */
uint64_t pathcache_reads(const struct pathcache *pc);

/* True when st's mtime is within PATHCACHE_RACY_NS of (or after) now, so
 * a record derived from it must not be persisted. */
bool pathcache_stat_is_racy(const struct stat *st);

/* True when a and b describe the same unchanged file (the key fields). */
bool pathcache_stat_same(const struct stat *a, const struct stat *b);

#endif
