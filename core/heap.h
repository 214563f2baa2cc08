/*
 * heap: the reactor's timers, a binary min-heap keyed by deadline.
 *
 * Timers live in a slot table; the heap is an array of slot numbers ordered by
 * (deadline, sequence), so timers with the same deadline fire in the order
 * they were added. Each slot remembers its place in the heap, which makes
 * cancellation a real O(log n) removal rather than a tombstone.
 *
 * A timer id packs (generation << 32 | slot + 1): it is never 0, and an id
 * whose slot has been reused since (the timer fired or was cancelled) no
 * longer matches the slot's generation, so cancelling a stale id is a no-op.
 *
 * The heap knows nothing about clocks or file descriptors; core/reactor.c
 * asks it for the earliest deadline and pops the timers that are due.
 * Allocation failure aborts (out of memory).
 */
#ifndef CORE_HEAP_H
#define CORE_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/reactor.h"

struct timer_slot {
	uint64_t deadline;       /* CLOCK_MONOTONIC nanoseconds */
	uint64_t seq;            /* order of addition, breaks deadline ties */
	reactor_timer_cb *cb;
	void *arg;
	uint32_t gen;            /* bumped whenever the slot is freed */
	uint32_t pos;            /* index in heap[], or next free slot when free */
	bool used;
};

struct timer_heap {
	struct timer_slot *slots;
	uint32_t nslots, slots_cap;
	uint32_t free_head;      /* first free slot, UINT32_MAX when none */
	uint32_t *heap;          /* slot numbers, heap-ordered */
	uint32_t count;          /* live timers (== entries in heap[]) */
	uint64_t next_seq;
};

/* A timer taken off the heap, ready to be called. */
struct timer_due {
	reactor_timer_cb *cb;
	void *arg;
};

/* Starts an empty heap; no allocation until the first timer. */
void timer_heap_init(struct timer_heap *h);

/* Frees the heap's memory. Pending timers are dropped without being called. */
void timer_heap_release(struct timer_heap *h);

/* Adds a timer firing at `deadline`. Returns its id (never 0). */
uint64_t timer_heap_add(struct timer_heap *h, uint64_t deadline,
			reactor_timer_cb *cb, void *arg);

/* Removes a pending timer. Returns false for 0, fired, cancelled or unknown ids. */
bool timer_heap_cancel(struct timer_heap *h, uint64_t id);

/* The earliest deadline in *deadline. Returns false when the heap is empty. */
bool timer_heap_peek(const struct timer_heap *h, uint64_t *deadline);

/* The sequence number the next added timer will get. Timers added from now on
 * compare >= this value; see timer_heap_pop_due. */
uint64_t timer_heap_next_seq(const struct timer_heap *h);

/* Pops the earliest timer if its deadline is <= now and it was added before
 * sequence `seq_limit` (so timers added by callbacks during one round wait for
 * the next). Returns false when no such timer is due. */
bool timer_heap_pop_due(struct timer_heap *h, uint64_t now, uint64_t seq_limit,
			struct timer_due *out);

/* Number of pending timers. */
size_t timer_heap_count(const struct timer_heap *h);

#endif
