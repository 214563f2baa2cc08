/*
 * table: an open-addressing hash map from a 16-byte key to a pointer, the
 * broker's index for jobs (by id), clients' jobs (by the client's id),
 * wanted artifacts and each worker's layers (by digest).
 *
 * Keys are two 64-bit words: a digest's bytes, or (id, 0). They are mixed
 * before use, so sequential ids spread as well as random digests. Linear
 * probing with backward-shift deletion keeps lookups short without
 * tombstones; the table doubles when it is 3/4 full and never shrinks.
 * Every operation is O(1) expected.
 *
 * Values must not be NULL (NULL marks an empty slot); a set stores any
 * non-NULL marker such as TABLE_PRESENT. The table owns only its slot array,
 * never the values. Allocation failure aborts (out of memory).
 */
#ifndef CORE_TABLE_H
#define CORE_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


struct table_key {
	uint64_t a, b;
};

struct table_slot {
	struct table_key key;
	void *value;          /* NULL: empty */
};

struct table {
	struct table_slot *slots;
	size_t cap;           /* 0 or a power of two */
	size_t count;
};

/* A non-NULL value for tables used as sets. */
#define TABLE_PRESENT ((void *)1)

/* Keys from an id and from a digest. */
struct table_key table_key_u64(uint64_t id);
/* A key from 16 bytes, e.g. an artifact digest. */
struct table_key table_key_bytes16(const void *bytes);

/* An empty table (no allocation until the first put). */
void table_init(struct table *t);

/* Frees the slot array (not the values) and leaves an empty table. */
void table_release(struct table *t);

/* The value stored under key, or NULL. */
void *table_get(const struct table *t, struct table_key key);

/* Stores value (not NULL) under key, replacing any previous value, which is
 * returned (NULL when the key was new). */
void *table_put(struct table *t, struct table_key key, void *value);

/* Removes key; returns its value, or NULL when it was absent. */
void *table_del(struct table *t, struct table_key key);

static inline size_t table_count(const struct table *t)
{
	return t->count;
}

/* Iteration: start with *pos = 0; each call returns the next value (and its
 * key when key != NULL), or NULL at the end. The table must not change
 * during an iteration: to drain one, iterate, then table_release it. */
void *table_next(const struct table *t, size_t *pos, struct table_key *key);

#endif
