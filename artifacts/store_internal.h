/*
 * store_internal: the parts of struct store shared by store.c (open, blobs,
 * pins), store_index.c (the in-memory index and its view of the disk) and
 * store_layer.c (layer dirs and eviction). Not for other modules.
 *
 * The index is a chained hash table of entries keyed by digest. An entry
 * exists while its blob is present or it is pinned. bytes_used is the sum of
 * entry_bytes() over all entries and is kept up to date by bracketing every
 * change of an entry's sizes with index_uncount / index_count.
 *
 * Recency is a logical clock in nanoseconds since the epoch: each use takes
 * max(now, last + 1), so uses are strictly ordered even within one clock
 * tick, and is written to the blob's mtime so it survives restarts.
 */
#ifndef ARTIFACTS_STORE_INTERNAL_H
#define ARTIFACTS_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "artifacts/digest.h"
#include "artifacts/store.h"
#include "core/err.h"

struct store_entry {
	struct store_entry *next; /* hash chain */
	struct digest digest;
	char hex[DIGEST_HEX_LEN + 1];
	bool present;       /* blobs/<hex> exists */
	bool layer_present; /* layers/<hex>/ exists */
	uint64_t blob_bytes;
	uint64_t layer_bytes; /* estimate; meaningful when layer_present */
	int64_t last_use;     /* logical clock value of the last use */
	unsigned pins;
	int lock_fd; /* blob opened with a shared flock while pinned, or -1 */
};

struct store {
	char *root;      /* absolute */
	char *own_dir;   /* absolute path of this store's temp dir */
	char *own_name;  /* its name under <root>/tmp */
	uint64_t cache_size;
	uint64_t bytes_used;
	int root_fd, blobs_fd, layers_fd, tmp_fd;
	int own_fd;      /* this store's temp dir, flock-ed exclusively */
	pid_t owner_pid; /* only this process removes own_dir */
	int64_t clock;   /* logical clock, see above */
	struct store_entry **buckets;
	size_t nbuckets, count;
};

/* ---- store_index.c ---- */

void index_init(struct store *s);
/* Frees every entry (closing lock descriptors). */
void index_release(struct store *s);
struct store_entry *index_find(const struct store *s, const struct digest *d);
/* Finds or adds an absent, unpinned entry. */
struct store_entry *index_get(struct store *s, const struct digest *d);
/* Removes and frees the entry. */
void index_drop(struct store *s, struct store_entry *e);
/* Removes the entry if it is neither present nor pinned. */
void index_drop_if_unused(struct store *s, struct store_entry *e);
/* All entries, in no particular order (caller frees the array). */
struct store_entry **index_list(const struct store *s, size_t *n);

uint64_t entry_bytes(const struct store_entry *e);
void index_uncount(struct store *s, const struct store_entry *e);
void index_count(struct store *s, const struct store_entry *e);

/* The next value of the logical clock; store_seen moves it past a value. */
int64_t store_tick(struct store *s);
void store_seen(struct store *s, int64_t t);

/* Marks the entry used now, in memory and in the blob's mtime. Returns 0, or
 * -1 if the blob has vanished (another store evicted it). */
int entry_touch(struct store *s, struct store_entry *e);

/* Forgets a blob another store removed: marks it absent and drops the entry
 * unless pinned. The entry may be freed. */
void entry_vanished(struct store *s, struct store_entry *e);

/* Takes the shared flock of a pinned, present entry. Marks the entry absent
 * if the blob turns out to be gone. */
void entry_lock(struct store *s, struct store_entry *e);
void entry_unlock(struct store_entry *e);

/* Re-reads the entry's blob and layer dir from disk. The entry may end up
 * absent (the caller then uses index_drop_if_unused). */
int entry_reload(struct store *s, struct store_entry *e, struct err **err);

/* Indexes blobs/ and layers/ at open; removes layer dirs without a blob. */
int index_load(struct store *s, struct err **err);

/* ---- store_layer.c ---- */

/* The layer size recorded in layers/<hex>.size, or fallback if unreadable. */
uint64_t layer_size_read(struct store *s, const char *hex, uint64_t fallback);

/* Moves layers/<name> out of sight into this store's temp dir and deletes it
 * there. */
int layer_dir_remove(struct store *s, const char *name, struct err **err);

#endif
