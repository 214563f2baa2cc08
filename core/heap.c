#include "core/heap.h"

#include <stdlib.h>
#include <string.h>

#define NO_SLOT UINT32_MAX

static void *xreallocarray(void *p, size_t n, size_t size)
{
	void *q = reallocarray(p, n, size);
	if (!q)
		abort(); /* out of memory */
	return q;
}

void timer_heap_init(struct timer_heap *h)
{
	memset(h, 0, sizeof(*h));
	h->free_head = NO_SLOT;
	h->next_seq = 1;
}

void timer_heap_release(struct timer_heap *h)
{
	free(h->slots);
	free(h->heap);
	timer_heap_init(h);
}

/* True when slot a must fire before slot b. */
static bool before(const struct timer_heap *h, uint32_t a, uint32_t b)
{
	const struct timer_slot *x = &h->slots[a], *y = &h->slots[b];
	if (x->deadline != y->deadline)
		return x->deadline < y->deadline;
	return x->seq < y->seq;
}

static void place(struct timer_heap *h, uint32_t pos, uint32_t slot)
{
	h->heap[pos] = slot;
	h->slots[slot].pos = pos;
}

static void sift_up(struct timer_heap *h, uint32_t pos)
{
	uint32_t slot = h->heap[pos];
	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;
		if (!before(h, slot, h->heap[parent]))
			break;
		place(h, pos, h->heap[parent]);
		pos = parent;
	}
	place(h, pos, slot);
}

static void sift_down(struct timer_heap *h, uint32_t pos)
{
	uint32_t slot = h->heap[pos];
	for (;;) {
		uint32_t child = 2 * pos + 1;
		if (child >= h->count)
			break;
		if (child + 1 < h->count && before(h, h->heap[child + 1], h->heap[child]))
			child++;
		if (!before(h, h->heap[child], slot))
			break;
		place(h, pos, h->heap[child]);
		pos = child;
	}
	place(h, pos, slot);
}

static uint32_t slot_alloc(struct timer_heap *h)
{
	if (h->free_head != NO_SLOT) {
		uint32_t s = h->free_head;
		h->free_head = h->slots[s].pos;
		return s;
	}
	if (h->nslots == h->slots_cap) {
		uint32_t cap = h->slots_cap ? h->slots_cap * 2 : 16;
		if (cap <= h->slots_cap || cap == NO_SLOT)
			abort(); /* four billion timers: treat as out of memory */
		h->slots = xreallocarray(h->slots, cap, sizeof(*h->slots));
		h->heap = xreallocarray(h->heap, cap, sizeof(*h->heap));
		h->slots_cap = cap;
	}
	h->slots[h->nslots].gen = 1;
	return h->nslots++;
}

static void slot_free(struct timer_heap *h, uint32_t s)
{
	struct timer_slot *t = &h->slots[s];
	t->used = false;
	t->gen++;
	if (t->gen == 0)
		t->gen = 1;
	t->pos = h->free_head;
	h->free_head = s;
}

/* Takes the entry at heap position pos out of the heap, keeping its order. */
static void heap_remove_at(struct timer_heap *h, uint32_t pos)
{
	uint32_t last = h->heap[--h->count];
	if (pos == h->count)
		return;
	place(h, pos, last);
	if (pos > 0 && before(h, last, h->heap[(pos - 1) / 2]))
		sift_up(h, pos);
	else
		sift_down(h, pos);
}

uint64_t timer_heap_add(struct timer_heap *h, uint64_t deadline,
			reactor_timer_cb *cb, void *arg)
{
	uint32_t s = slot_alloc(h);
	struct timer_slot *t = &h->slots[s];
	t->deadline = deadline;
	t->seq = h->next_seq++;
	t->cb = cb;
	t->arg = arg;
	t->used = true;
	h->heap[h->count] = s;
	sift_up(h, h->count++);
	return (uint64_t)t->gen << 32 | ((uint64_t)s + 1);
}

bool timer_heap_cancel(struct timer_heap *h, uint64_t id)
{
	uint64_t s64 = (id & 0xffffffffu);
	if (s64 == 0 || s64 > h->nslots)
		return false;
	uint32_t s = (uint32_t)(s64 - 1);
	struct timer_slot *t = &h->slots[s];
	if (!t->used || t->gen != (uint32_t)(id >> 32))
		return false;
	heap_remove_at(h, t->pos);
	slot_free(h, s);
	return true;
}

bool timer_heap_peek(const struct timer_heap *h, uint64_t *deadline)
{
	if (h->count == 0)
		return false;
	*deadline = h->slots[h->heap[0]].deadline;
	return true;
}

uint64_t timer_heap_next_seq(const struct timer_heap *h)
{
	return h->next_seq;
}

bool timer_heap_pop_due(struct timer_heap *h, uint64_t now, uint64_t seq_limit,
			struct timer_due *out)
{
	if (h->count == 0)
		return false;
	uint32_t s = h->heap[0];
	struct timer_slot *t = &h->slots[s];
	if (t->deadline > now || t->seq >= seq_limit)
		return false;
	out->cb = t->cb;
	out->arg = t->arg;
	heap_remove_at(h, 0);
	slot_free(h, s);
	return true;
}

size_t timer_heap_count(const struct timer_heap *h)
{
	return h->count;
}
