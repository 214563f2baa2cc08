/* table: open addressing, linear probing, backward-shift deletion. */
#include "core/table.h"

#include <stdlib.h>
#include <string.h>

struct table_key table_key_u64(uint64_t id)
{
	return (struct table_key){id, 0};
}

struct table_key table_key_bytes16(const void *bytes)
{
	struct table_key k;
	memcpy(&k.a, bytes, 8);
	memcpy(&k.b, (const char *)bytes + 8, 8);
	return k;
}

/* A 64-bit finalizer (after splitmix64) over both words. */
static uint64_t hash_key(struct table_key k)
{
	uint64_t x = k.a ^ (k.b * 0x9e3779b97f4a7c15ull);
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

static bool key_equal(struct table_key x, struct table_key y)
{
	return x.a == y.a && x.b == y.b;
}

void table_init(struct table *t)
{
	t->slots = NULL;
	t->cap = 0;
	t->count = 0;
}

void table_release(struct table *t)
{
	free(t->slots);
	table_init(t);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t find_slot(const struct table *t, struct table_key key)
{
	size_t mask = t->cap - 1;
	size_t i = (size_t)hash_key(key) & mask;
	while (t->slots[i].value && !key_equal(t->slots[i].key, key))
		i = (i + 1) & mask;
	return i;
}

void *table_get(const struct table *t, struct table_key key)
{
	if (t->count == 0)
		return NULL;
	return t->slots[find_slot(t, key)].value;
}

static void grow(struct table *t)
{
	struct table_slot *old = t->slots;
	size_t old_cap = t->cap;
	t->cap = old_cap ? old_cap * 2 : 16;
	t->slots = calloc(t->cap, sizeof(*t->slots));
	if (!t->slots)
		abort();
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].value)
			t->slots[find_slot(t, old[i].key)] = old[i];
	free(old);
}

void *table_put(struct table *t, struct table_key key, void *value)
{
	if ((t->count + 1) * 4 > t->cap * 3)
		grow(t);
	struct table_slot *s = &t->slots[find_slot(t, key)];
	void *prev = s->value;
	if (!prev)
		t->count++;
	s->key = key;
	s->value = value;
	return prev;
}

void *table_del(struct table *t, struct table_key key)
{
	if (t->count == 0)
		return NULL;
	size_t mask = t->cap - 1;
	size_t hole = find_slot(t, key);
	void *value = t->slots[hole].value;
	if (!value)
		return NULL;
	t->slots[hole].value = NULL;
	t->count--;
	/* Move later entries of the probe run back into the hole when their
	 * home slot does not lie (cyclically) between the hole and them. */
	for (size_t i = (hole + 1) & mask; t->slots[i].value; i = (i + 1) & mask) {
		size_t home = (size_t)hash_key(t->slots[i].key) & mask;
		bool stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
		if (stays)
			continue;
		t->slots[hole] = t->slots[i];
		t->slots[i].value = NULL;
		hole = i;
	}
	return value;
}

void *table_next(const struct table *t, size_t *pos, struct table_key *key)
{
	for (; *pos < t->cap; (*pos)++) {
		const struct table_slot *s = &t->slots[*pos];
		if (s->value) {
			(*pos)++;
			if (key)
				*key = s->key;
			return s->value;
		}
	}
	return NULL;
}
