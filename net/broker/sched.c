/* sched: a binary heap of pending jobs and a set of workers with free slots. */
#include "net/broker/sched.h"

#include <stdlib.h>

static void *grow_array(void *p, uint32_t *cap, size_t elem)
{
	uint32_t n = *cap ? *cap * 2 : 64;
	void *q = realloc(p, (size_t)n * elem);
	if (!q)
		abort();
	*cap = n;
	return q;
}

void sched_init(struct sched *s)
{
	*s = (struct sched){.next_seq = 1, .next_order = 1};
}

void sched_release(struct sched *s)
{
	for (uint32_t i = 0; i < s->n_heap; i++)
		s->heap[i].job->heap_pos = SCHED_NOT_QUEUED;
	free(s->heap);
	free(s->free);
	sched_init(s);
}

/* Priority in the high half (sign flipped so that unsigned order is
 * numeric order), duration rank in the low half: unknown (0) ranks above
 * every known duration. */
static uint64_t job_rank(int32_t priority, uint64_t duration_ms)
{
	uint32_t dur = duration_ms == 0 ? UINT32_MAX
		     : duration_ms >= UINT32_MAX ? UINT32_MAX - 1 : (uint32_t)duration_ms;
	return (uint64_t)((uint32_t)priority ^ 0x80000000u) << 32 | dur;
}

void sched_job_init(struct sched_job *j, int32_t priority, uint64_t duration_ms,
		    const struct digest *layers, size_t n_layers)
{
	*j = (struct sched_job){
		.priority = priority,
		.duration_ms = duration_ms,
		.layers = layers,
		.n_layers = n_layers,
		.rank = job_rank(priority, duration_ms),
		.heap_pos = SCHED_NOT_QUEUED,
	};
}

void sched_job_set_warm_key(struct sched_job *j, const struct digest *key)
{
	j->warm_key = key;
}

/* ---- the queue -------------------------------------------------------- */

#define ARITY 4

static inline bool entry_before(const struct sched_entry *a, const struct sched_entry *b)
{
	return a->rank != b->rank ? a->rank > b->rank : a->seq < b->seq;
}

bool sched_job_before(const struct sched_job *a, const struct sched_job *b)
{
	struct sched_entry ea = {job_rank(a->priority, a->duration_ms), a->seq, NULL};
	struct sched_entry eb = {job_rank(b->priority, b->duration_ms), b->seq, NULL};
	return entry_before(&ea, &eb);
}

static inline void heap_set(struct sched *s, uint32_t i, struct sched_entry e)
{
	s->heap[i] = e;
	e.job->heap_pos = i;
}

static void sift_up(struct sched *s, uint32_t i)
{
	struct sched_entry e = s->heap[i];
	while (i > 0) {
		uint32_t parent = (i - 1) / ARITY;
		if (!entry_before(&e, &s->heap[parent]))
			break;
		heap_set(s, i, s->heap[parent]);
		i = parent;
	}
	heap_set(s, i, e);
}

static void sift_down(struct sched *s, uint32_t i)
{
	struct sched_entry e = s->heap[i];
	for (;;) {
		uint32_t first = ARITY * i + 1;
		if (first >= s->n_heap)
			break;
		uint32_t end = first + ARITY < s->n_heap ? first + ARITY : s->n_heap;
		uint32_t best = first;
		for (uint32_t c = first + 1; c < end; c++)
			if (entry_before(&s->heap[c], &s->heap[best]))
				best = c;
		if (!entry_before(&s->heap[best], &e))
			break;
		heap_set(s, i, s->heap[best]);
		i = best;
	}
	heap_set(s, i, e);
}

void sched_enqueue(struct sched *s, struct sched_job *j)
{
	if (sched_job_queued(j) || j->worker)
		return;
	if (j->seq == 0)
		j->seq = s->next_seq++;
	if (s->n_heap == s->cap_heap)
		s->heap = grow_array(s->heap, &s->cap_heap, sizeof(*s->heap));
	uint32_t i = s->n_heap++;
	heap_set(s, i, (struct sched_entry){j->rank, j->seq, j});
	sift_up(s, i);
}

void sched_remove(struct sched *s, struct sched_job *j)
{
	if (!sched_job_queued(j))
		return;
	uint32_t i = j->heap_pos;
	j->heap_pos = SCHED_NOT_QUEUED;
	struct sched_entry last = s->heap[--s->n_heap];
	if (i == s->n_heap)
		return;
	heap_set(s, i, last);
	if (i > 0 && entry_before(&last, &s->heap[(i - 1) / ARITY]))
		sift_up(s, i);
	else
		sift_down(s, i);
}

struct sched_job *sched_peek(const struct sched *s)
{
	return s->n_heap ? s->heap[0].job : NULL;
}

/* ---- workers ---------------------------------------------------------- */

static void free_add(struct sched *s, struct sched_worker *w)
{
	if (w->free_pos != SCHED_NOT_QUEUED)
		return;
	if (s->n_free == s->cap_free)
		s->free = grow_array(s->free, &s->cap_free, sizeof(*s->free));
	w->free_pos = s->n_free;
	s->free[s->n_free++] = w;
}

static void free_del(struct sched *s, struct sched_worker *w)
{
	uint32_t i = w->free_pos;
	if (i == SCHED_NOT_QUEUED)
		return;
	w->free_pos = SCHED_NOT_QUEUED;
	struct sched_worker *last = s->free[--s->n_free];
	if (i < s->n_free) {
		s->free[i] = last;
		last->free_pos = i;
	}
}

void sched_worker_add(struct sched *s, struct sched_worker *w, unsigned slots)
{
	*w = (struct sched_worker){
		.slots = slots ? slots : 1,
		.active = true,
		.order = s->next_order++,
		.free_pos = SCHED_NOT_QUEUED,
	};
	table_init(&w->layers);
	free_add(s, w);
}

void sched_worker_remove(struct sched *s, struct sched_worker *w)
{
	if (!w->active)
		return;
	free_del(s, w);
	w->active = false;
	table_release(&w->layers);
}

bool sched_worker_has_layer(const struct sched_worker *w, const struct digest *d)
{
	return table_get(&w->layers, table_key_bytes16(d->bytes)) != NULL;
}

/* The slot of key in w's warm keys, or -1. */
static int warm_find(const struct sched_worker *w, const struct digest *key)
{
	for (int i = 0; i < SCHED_WARM_KEYS; i++)
		if (w->warm_used[i] && digest_equal(&w->warm[i], key))
			return i;
	return -1;
}

bool sched_worker_has_warm(const struct sched_worker *w, const struct digest *key)
{
	return key && warm_find(w, key) >= 0;
}

/* Remembers that the job's fork server was sent to w: refreshes its key,
 * or replaces the least recently sent one (an empty slot first). */
static void remember_warm(struct sched_worker *w, const struct sched_job *j)
{
	if (!j->warm_key)
		return;
	int i = warm_find(w, j->warm_key);
	if (i < 0) {
		i = 0;
		for (int k = 1; k < SCHED_WARM_KEYS; k++)
			if (w->warm_used[k] < w->warm_used[i])
				i = k;
		w->warm[i] = *j->warm_key;
	}
	w->warm_used[i] = ++w->warm_clock;
}

static unsigned layers_held(const struct sched_worker *w, const struct sched_job *j)
{
	unsigned n = 0;
	if (table_count(&w->layers) == 0)
		return 0;
	for (size_t i = 0; i < j->n_layers; i++)
		n += sched_worker_has_layer(w, &j->layers[i]);
	return n;
}

/* How well a worker suits a job before load is looked at: whether it has
 * the job's fork server warm, then how many of its layers it holds. */
struct affinity {
	bool warm;
	unsigned held;
};

static struct affinity affinity_of(const struct sched_worker *w, const struct sched_job *j)
{
	return (struct affinity){
		.warm = sched_worker_has_warm(w, j->warm_key),
		.held = layers_held(w, j),
	};
}

/* True when worker a (with affinity xa for the job) beats b (with xb). */
static bool worker_better(const struct sched_worker *a, struct affinity xa,
			  const struct sched_worker *b, struct affinity xb)
{
	if (xa.warm != xb.warm)
		return xa.warm;
	if (xa.held != xb.held)
		return xa.held > xb.held;
	/* running/slots compared without division. */
	uint64_t la = (uint64_t)a->running * b->slots, lb = (uint64_t)b->running * a->slots;
	if (la != lb)
		return la < lb;
	unsigned fa = a->slots - a->running, fb = b->slots - b->running;
	if (fa != fb)
		return fa > fb;
	return a->order < b->order;
}

static void remember_layers(struct sched_worker *w, const struct sched_job *j)
{
	if (table_count(&w->layers) + j->n_layers > SCHED_LAYER_SET_MAX)
		table_release(&w->layers);
	for (size_t i = 0; i < j->n_layers; i++)
		table_put(&w->layers, table_key_bytes16(j->layers[i].bytes), TABLE_PRESENT);
}

struct sched_job *sched_next(struct sched *s, struct sched_worker **worker)
{
	if (s->n_heap == 0 || s->n_free == 0)
		return NULL;
	struct sched_job *j = s->heap[0].job;
	struct sched_worker *best = s->free[0];
	struct affinity best_aff = {0};
	if (s->n_free > 1)
		best_aff = affinity_of(best, j);
	for (uint32_t i = 1; i < s->n_free; i++) {
		struct sched_worker *w = s->free[i];
		struct affinity aff = affinity_of(w, j);
		if (worker_better(w, aff, best, best_aff)) {
			best = w;
			best_aff = aff;
		}
	}
	sched_remove(s, j);
	j->worker = best;
	if (++best->running >= best->slots)
		free_del(s, best);
	remember_layers(best, j);
	remember_warm(best, j);
	*worker = best;
	return j;
}

void sched_job_release(struct sched *s, struct sched_job *j)
{
	struct sched_worker *w = j->worker;
	if (!w)
		return;
	j->worker = NULL;
	if (w->running > 0)
		w->running--;
	if (w->active && w->running < w->slots)
		free_add(s, w);
}
