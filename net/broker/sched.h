/*
 * sched: the broker's queue of pending jobs and the choice of worker for
 * each. Pure logic: no I/O, no clock, no logging; the broker decides what a
 * dispatch means on the wire.
 *
 * Order of the queue (the next job to run comes first):
 *   1. higher priority first;
 *   2. then longest estimated duration first, with unknown durations (0)
 *      before every known one (so unknown jobs are not left for last);
 *   3. then first come, first served. A job keeps its place in line (its
 *      sequence number) when it is requeued after losing its worker.
 * The queue is a 4-ary heap keyed by (priority, duration, sequence), with
 * the key packed into two 64-bit words stored in the heap array itself, so
 * sifting reads contiguous memory instead of chasing job pointers (this
 * matters with 50,000 queued jobs). Every operation is O(log n); each job
 * remembers its heap index, so removing one from the middle (a client went
 * away) is O(log n) too. Durations are compared in milliseconds up to
 * 2^32 - 2 (49 days); longer ones rank as equal.
 *
 * Placement: a worker holds at most `slots` jobs at once. The next job goes
 * to the worker with a free slot that
 *   1. has the job's fork server warm (see below), when the job names one;
 *   2. then already holds the most of the job's layers (each worker
 *      remembers the layer digests of every job it was sent, since its
 *      cache most likely still has them; the set is forgotten when it
 *      reaches SCHED_LAYER_SET_MAX digests, as the worker's bounded cache
 *      will have dropped many by then);
 *   3. then is the least loaded (smallest running / slots), then has more
 *      free slots, then registered first.
 * Only workers with a free slot are looked at, so with a busy cluster
 * placement costs O(layers + SCHED_WARM_KEYS).
 *
 * Warm fork servers (container/forkserver.h) are an approximation: the
 * broker cannot see a worker's zygote pool, so each worker remembers the
 * fork-server keys (net/msg.h, msg_fork_server_key: a hash of the zygote's
 * argv and the job's container and environment, roughly what the executor
 * keys zygotes by) of the last SCHED_WARM_KEYS distinct keys among the jobs
 * it was sent, least recently sent forgotten first, like the executor's
 * LRU pool (4 zygotes by default). A remembered key may be cold in fact
 * (the zygote timed out idle, broke, or the worker's pool had less room)
 * and a key the broker forgot may still be warm; either way only the
 * placement suffers, never a job: a worker runs a job whose zygote is
 * cold by starting it, or cold.
 *
 * Ownership: struct sched_job and struct sched_worker are embedded in the
 * caller's job and worker objects (find the outer object with
 * container_of-style arithmetic); sched keeps pointers to them while they
 * are queued or registered, and the caller keeps them alive until then.
 * A job's layer array is borrowed likewise.
 *
 * Job life cycle as sched sees it:
 *     sched_job_init -> sched_enqueue -> (sched_next: assigned to a worker)
 *         -> sched_job_release (finished, canceled or worker lost)
 *         -> sched_enqueue again to requeue, or forget it.
 *     A queued job may leave the queue with sched_remove.
 */
#ifndef NET_BROKER_SCHED_H
#define NET_BROKER_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifacts/digest.h"
#include "core/table.h"

#define SCHED_NOT_QUEUED UINT32_MAX
#define SCHED_LAYER_SET_MAX 65536
#define SCHED_WARM_KEYS 8

struct sched_worker;

struct sched_job {
	/* Set by the caller (sched_job_init) and constant afterwards. */
	int32_t priority;
	uint64_t duration_ms;            /* estimated; 0: unknown */
	const struct digest *layers;     /* borrowed */
	size_t n_layers;
	const struct digest *warm_key;   /* fork-server key (borrowed), NULL:
					    none; see sched_job_set_warm_key */
	/* Private. */
	uint64_t rank;                   /* priority and duration, packed */
	uint64_t seq;                    /* 0 until first enqueued */
	uint32_t heap_pos;               /* SCHED_NOT_QUEUED when not queued */
	struct sched_worker *worker;     /* assigned worker, or NULL */
};

struct sched_worker {
	/* Read-only for the caller. */
	unsigned slots;
	unsigned running;                /* jobs assigned and not released */
	/* Private. */
	bool active;                     /* registered and not removed */
	uint64_t order;                  /* registration order */
	uint32_t free_pos;               /* index in sched.free, or SCHED_NOT_QUEUED */
	struct table layers;             /* digests of jobs sent here (a set) */
	struct digest warm[SCHED_WARM_KEYS]; /* fork-server keys sent here */
	uint64_t warm_used[SCHED_WARM_KEYS]; /* when each was last sent; 0: empty */
	uint64_t warm_clock;
};

struct sched_entry {
	uint64_t rank;                   /* higher first */
	uint64_t seq;                    /* then lower first */
	struct sched_job *job;
};

struct sched {
	struct sched_entry *heap;
	uint32_t n_heap, cap_heap;
	struct sched_worker **free;      /* active workers with running < slots */
	uint32_t n_free, cap_free;
	uint64_t next_seq;
	uint64_t next_order;
};

/* An empty scheduler (no allocation until used). */
void sched_init(struct sched *s);

/* Frees the scheduler's arrays. Jobs and workers are the caller's; queued
 * jobs are simply forgotten. */
void sched_release(struct sched *s);

/* Prepares a job: not queued, not assigned, no sequence yet. */
void sched_job_init(struct sched_job *j, int32_t priority, uint64_t duration_ms,
		    const struct digest *layers, size_t n_layers);

/* Names the job's fork-server key (borrowed like the layers; NULL: the job
 * names no fork server). Call it after sched_job_init. */
void sched_job_set_warm_key(struct sched_job *j, const struct digest *key);

/* Queues a job that is neither queued nor assigned. Its first enqueue gives
 * it its place in line; a requeue keeps that place. */
void sched_enqueue(struct sched *s, struct sched_job *j);

/* Takes a queued job out of the queue (no-op when it is not queued). */
void sched_remove(struct sched *s, struct sched_job *j);

/* True while the job waits in the queue. */
static inline bool sched_job_queued(const struct sched_job *j)
{
	return j->heap_pos != SCHED_NOT_QUEUED;
}

/* Number of queued jobs. */
static inline size_t sched_queued(const struct sched *s)
{
	return s->n_heap;
}

/* The job sched_next would take, without taking it (NULL when empty). */
struct sched_job *sched_peek(const struct sched *s);

/* Registers a worker with `slots` slots (at least 1). */
void sched_worker_add(struct sched *s, struct sched_worker *w, unsigned slots);

/* Unregisters a worker: no job is placed on it any more and its layer set is
 * freed. Jobs still assigned to it stay so until the caller passes each to
 * sched_job_release (then requeues or drops it); keep w alive until then. */
void sched_worker_remove(struct sched *s, struct sched_worker *w);

/* True when the worker holds the layer in its set (for tests and logs). */
bool sched_worker_has_layer(const struct sched_worker *w, const struct digest *d);

/* True when the worker is believed to have the fork server of key warm
 * (see above; for tests and logs). */
bool sched_worker_has_warm(const struct sched_worker *w, const struct digest *key);

/* Dispatch: when the queue is not empty and some worker has a free slot,
 * takes the first job in line, assigns it to the best worker (see above),
 * counts it as running there, adds its layers and its fork-server key to
 * the worker's sets, and returns it with *worker set. Returns NULL otherwise. Call it in a loop
 * after anything that queues a job or frees a slot. */
struct sched_job *sched_next(struct sched *s, struct sched_worker **worker);

/* Frees the slot an assigned job held (the job finished, was canceled, or
 * its worker is gone). A no-op for a job with no worker. */
void sched_job_release(struct sched *s, struct sched_job *j);

/* True when a before b in the queue's order (exposed for tests). */
bool sched_job_before(const struct sched_job *a, const struct sched_job *b);

#endif
