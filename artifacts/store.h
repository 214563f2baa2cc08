/*
 * store: the content-addressed artifact store under one root directory (the
 * program's `cache-root`).
 *
 * Layout:
 *     <root>/blobs/<hex>        artifact files, read-only (0444)
 *     <root>/layers/<hex>/      a layer tar extracted once, read-only tree
 *     <root>/layers/<hex>.size  its estimated disk usage (decimal bytes)
 *     <root>/tmp/<owner>/       temp files of one open store (flock-ed)
 *     <root>/lock               serializes the start-up clean-up
 *
 * Entries are named by digest (digest.h). Each entry's size counts its blob
 * plus its extracted layer directory (if any); store_bytes_used is the total.
 * Nothing is evicted behind the caller's back: store_evict removes the least
 * recently used unpinned entries (blob and layer dir together) until the
 * total is at most cache_size. Call it at a quiet point, e.g. after pinning
 * what the next job needs.
 *
 * Crash safety: content is written to a temp file under <root>/tmp, fsync-ed,
 * then renamed into blobs/; a layer is extracted into a temp dir and renamed
 * into layers/. A crash therefore leaves at worst temp files, which the next
 * store_open deletes. Eviction first renames a layer dir out of layers/, so
 * other readers never see half-removed trees.
 *
 * Restarts: store_open rebuilds the index from blobs/ and layers/. Recency is
 * kept in each blob's mtime (set on every use), so LRU order survives.
 *
 * Sharing: several stores (in one process or many) may use one root. Each
 * has its own temp dir, locked with flock while the store is open; start-up
 * clean-up deletes only temp dirs whose owner is gone. Renames are atomic and
 * never replace an existing entry. An entry another store added is seen after
 * store_refresh. A pin also takes a shared flock on the blob, and eviction
 * skips blobs another store holds that way, so a pin protects an entry from
 * every store on the root, not just this one.
 *
 * A forked child (core/offload.h) may use the parent's store to add blobs or
 * extract layers, then exit; the parent calls store_refresh. Only the process
 * that opened the store removes its temp dir in store_free.
 *
 * Paths returned are absolute and freshly allocated (caller frees). Not
 * thread-safe. Every function except store_layer_dir and store_evict does a
 * few small file system calls at most; store_commit and store_add_path hash
 * the whole content (run big ones off the reactor).
 */
#ifndef ARTIFACTS_STORE_H
#define ARTIFACTS_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "artifacts/digest.h"
#include "core/err.h"

struct store;

/* Opens (creating if needed) the store at root, deletes leftovers of crashed
 * stores, and indexes what is there. Returns 0, or -1 with *err set. */
int store_open(struct store **out, const char *root, uint64_t cache_size, struct err **err);

/* Closes the store and releases its pins. Entries stay on disk. Safe on NULL. */
void store_free(struct store *s);

/* Write side: creates a temp file inside the store (same file system).
 * *tmp_path (caller frees) and *fd (open for writing, caller closes, before or
 * after store_commit) are set. Hand the path to store_commit, or unlink it. */
int store_tmpfile(struct store *s, char **tmp_path, int *fd, struct err **err);

/* Moves a finished temp file in. If expected != NULL, the content must hash
 * to it (a mismatch deletes the file and is an error); out (may be NULL)
 * receives the digest. Idempotent when the blob already exists (the temp file
 * is then deleted). The entry counts as just used. The temp file is gone
 * afterwards, on success and on failure (unless it could not be opened). */
int store_commit(struct store *s, const char *tmp_path, const struct digest *expected,
		 struct digest *out, struct err **err);

/* Copies the file at path in (hashing it on the way). The source is never
 * linked or modified. */
int store_add_path(struct store *s, const char *path, struct digest *out, struct err **err);

/* True if this store knows the blob is present (see store_refresh). */
bool store_has(struct store *s, const struct digest *d);

/* Path of the blob (caller frees); NULL if absent. Marks it recently used. */
char *store_blob_path(struct store *s, const struct digest *d);

/* Re-reads one entry (blob and layer dir) from disk, after another process
 * or a forked child added, used or removed it. Returns 0, or -1 with *err
 * set if the file system could not be read. */
int store_refresh(struct store *s, const struct digest *d, struct err **err);

/* Pins count: an entry with pins > 0 is never evicted (by any store on the
 * root, see above). A digest may be pinned before it is present. */
void store_pin(struct store *s, const struct digest *d);
void store_unpin(struct store *s, const struct digest *d);

/* Evicts least recently used unpinned entries (blobs and their extracted
 * dirs) until store_bytes_used <= cache_size, or nothing evictable is left.
 * Entries that fail to go are skipped; the first failure is returned as an
 * error after the others were tried. */
int store_evict(struct store *s, struct err **err);

/* Bytes of the entries this store knows: blob sizes plus layer estimates. */
uint64_t store_bytes_used(const struct store *s);

/* The absolute root directory. */
const char *store_root(const struct store *s);

/* Extracted layer directory for a tar blob: extracts it once (safely, see
 * extract.h) into <root>/layers/<hex>/ via a temp dir + rename, then returns
 * that path (caller frees). If another store extracted it meanwhile, that
 * tree is used. Marks the entry recently used. Blocking: callers on the
 * reactor run it through core/offload.h and then call store_refresh. */
int store_layer_dir(struct store *s, const struct digest *d, char **dir, struct err **err);

/* Path where the layer dir would be, without extracting (caller frees). */
char *store_layer_dir_path(struct store *s, const struct digest *d);

#endif
