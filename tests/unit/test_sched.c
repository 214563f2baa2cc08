/* Unit tests for net/broker/sched (queue order and placement) and
 * net/broker/table (the hash map under both). Pure logic: no I/O. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "net/broker/sched.h"
#include "core/table.h"

/* A small deterministic generator (xorshift64*), so failures reproduce. */
static uint64_t rng_state = 0x1234567890abcdefull;
static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static struct digest dg(unsigned n)
{
	struct digest d;
	memset(&d, 0, sizeof(d));
	memcpy(d.bytes, &n, sizeof(n));
	d.bytes[15] = 0x5a;
	return d;
}

/* ---- table ---------------------------------------------------------------- */

static void test_table_basic(void **state)
{
	(void)state;
	struct table t;
	table_init(&t);
	assert_null(table_get(&t, table_key_u64(1)));
	assert_null(table_del(&t, table_key_u64(1)));
	int a, b;
	assert_null(table_put(&t, table_key_u64(1), &a));
	assert_ptr_equal(table_put(&t, table_key_u64(1), &b), &a);
	assert_int_equal(table_count(&t), 1);
	assert_ptr_equal(table_get(&t, table_key_u64(1)), &b);
	struct digest d = dg(7);
	table_put(&t, table_key_bytes16(d.bytes), TABLE_PRESENT);
	struct digest e = dg(8);
	assert_null(table_get(&t, table_key_bytes16(e.bytes)));
	assert_ptr_equal(table_get(&t, table_key_bytes16(d.bytes)), TABLE_PRESENT);
	assert_ptr_equal(table_del(&t, table_key_u64(1)), &b);
	assert_int_equal(table_count(&t), 1);
	table_release(&t);
	assert_int_equal(table_count(&t), 0);
}

/* Random puts and deletes against a plain array of what should be there. */
static void test_table_random(void **state)
{
	(void)state;
	enum { N = 5000 };
	static char marks[N];
	static uintptr_t present[N];
	memset(present, 0, sizeof(present));
	struct table t;
	table_init(&t);
	size_t expect = 0;
	for (int round = 0; round < 200000; round++) {
		unsigned k = (unsigned)(rng() % N);
		if (rng() % 3) {
			void *prev = table_put(&t, table_key_u64(k), &marks[k]);
			assert_true((prev != NULL) == (present[k] != 0));
			if (!present[k])
				expect++;
			present[k] = 1;
		} else {
			void *v = table_del(&t, table_key_u64(k));
			assert_true((v != NULL) == (present[k] != 0));
			if (v) {
				assert_ptr_equal(v, &marks[k]);
				expect--;
			}
			present[k] = 0;
		}
		assert_int_equal(table_count(&t), expect);
	}
	for (unsigned k = 0; k < N; k++)
		assert_true((table_get(&t, table_key_u64(k)) != NULL) == (present[k] != 0));
	/* Iteration sees each entry once. */
	size_t pos = 0, seen = 0;
	struct table_key key;
	void *v;
	while ((v = table_next(&t, &pos, &key))) {
		assert_true(present[key.a]);
		assert_ptr_equal(v, &marks[key.a]);
		present[key.a] = 2;
		seen++;
	}
	assert_int_equal(seen, expect);
	table_release(&t);
}

/* ---- queue order ------------------------------------------------------------ */

/* The order spelled out independently of sched_job_before. */
static int rank_duration(uint64_t ms)
{
	/* Unknown first, then 30, 20, 10 ms. */
	switch (ms) {
	case 0: return 0;
	case 30: return 1;
	case 20: return 2;
	case 10: return 3;
	default: return 99;
	}
}

struct tjob {
	struct sched_job sj;
	unsigned index;   /* submission order */
};

static int reference_cmp(const void *pa, const void *pb)
{
	const struct tjob *a = *(struct tjob *const *)pa, *b = *(struct tjob *const *)pb;
	if (a->sj.priority != b->sj.priority)
		return a->sj.priority > b->sj.priority ? -1 : 1;
	int ra = rank_duration(a->sj.duration_ms), rb = rank_duration(b->sj.duration_ms);
	if (ra != rb)
		return ra < rb ? -1 : 1;
	return a->index < b->index ? -1 : a->index > b->index;
}

static const int32_t prios[] = {-5, 0, 3};
static const uint64_t durs[] = {0, 10, 20, 30};

/* One worker with a slot per job drains the queue in order. */
static void drain_check(struct sched *s, struct tjob **ref, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct sched_worker *w;
		struct sched_job *j = sched_next(s, &w);
		assert_non_null(j);
		struct tjob *tj = (struct tjob *)j;
		if (tj != ref[i])
			fail_msg("position %zu: got job %u (prio %d dur %llu), want job %u (prio %d "
				 "dur %llu)",
				 i, tj->index, tj->sj.priority, (unsigned long long)tj->sj.duration_ms,
				 ref[i]->index, ref[i]->sj.priority,
				 (unsigned long long)ref[i]->sj.duration_ms);
	}
	struct sched_worker *w;
	assert_null(sched_next(s, &w));
}

/* Every (priority, duration) combination, several of each, in many
 * submission orders. */
static void test_order_exhaustive(void **state)
{
	(void)state;
	enum { COPIES = 3, N = 3 * 4 * COPIES };
	struct tjob jobs[N];
	struct tjob *ref[N];
	for (int round = 0; round < 200; round++) {
		size_t n = 0;
		for (size_t p = 0; p < ARRAY_SIZE(prios); p++)
			for (size_t d = 0; d < ARRAY_SIZE(durs); d++)
				for (int c = 0; c < COPIES; c++) {
					sched_job_init(&jobs[n].sj, prios[p], durs[d], NULL, 0);
					n++;
				}
		/* Shuffle, then submit in array order. */
		for (size_t i = n - 1; i > 0; i--) {
			size_t k = (size_t)(rng() % (i + 1));
			struct tjob tmp = jobs[i];
			jobs[i] = jobs[k];
			jobs[k] = tmp;
		}
		struct sched s;
		sched_init(&s);
		for (size_t i = 0; i < n; i++) {
			jobs[i].index = (unsigned)i;
			jobs[i].sj.heap_pos = SCHED_NOT_QUEUED;
			sched_enqueue(&s, &jobs[i].sj);
			ref[i] = &jobs[i];
		}
		assert_int_equal(sched_queued(&s), n);
		qsort(ref, n, sizeof(ref[0]), reference_cmp);
		assert_ptr_equal(sched_peek(&s), &ref[0]->sj);
		struct sched_worker w;
		sched_worker_add(&s, &w, N);
		drain_check(&s, ref, n);
		assert_int_equal(w.running, n);
		sched_worker_remove(&s, &w);
		sched_release(&s);
	}
}

static void test_order_rules(void **state)
{
	(void)state;
	struct sched_job a, b;
	/* Priority beats duration. */
	sched_job_init(&a, 1, 10, NULL, 0);
	sched_job_init(&b, 0, 0, NULL, 0);
	a.seq = 2, b.seq = 1;
	assert_true(sched_job_before(&a, &b));
	assert_false(sched_job_before(&b, &a));
	/* Unknown duration before a known one, even a long one. */
	sched_job_init(&a, 0, 0, NULL, 0);
	sched_job_init(&b, 0, UINT64_MAX - 1, NULL, 0);
	a.seq = 2, b.seq = 1;
	assert_true(sched_job_before(&a, &b));
	/* Longest first. */
	sched_job_init(&a, 0, 500, NULL, 0);
	sched_job_init(&b, 0, 499, NULL, 0);
	a.seq = 2, b.seq = 1;
	assert_true(sched_job_before(&a, &b));
	/* FIFO for equals; never before itself. */
	sched_job_init(&a, 0, 7, NULL, 0);
	sched_job_init(&b, 0, 7, NULL, 0);
	a.seq = 1, b.seq = 2;
	assert_true(sched_job_before(&a, &b));
	assert_false(sched_job_before(&b, &a));
	assert_false(sched_job_before(&a, &a));
	/* Negative priorities are lower. */
	sched_job_init(&a, -1, 0, NULL, 0);
	sched_job_init(&b, -2, 0, NULL, 0);
	a.seq = 2, b.seq = 1;
	assert_true(sched_job_before(&a, &b));
}

/* Removing jobs from anywhere in the heap keeps the order of the rest. */
static void test_remove_middle(void **state)
{
	(void)state;
	enum { N = 2000 };
	struct tjob *jobs = calloc(N, sizeof(*jobs));
	struct tjob **ref = calloc(N, sizeof(*ref));
	struct sched s;
	sched_init(&s);
	for (unsigned i = 0; i < N; i++) {
		sched_job_init(&jobs[i].sj, (int32_t)(rng() % 5) - 2, durs[rng() % 4], NULL, 0);
		jobs[i].index = i;
		sched_enqueue(&s, &jobs[i].sj);
		assert_true(sched_job_queued(&jobs[i].sj));
	}
	size_t n = 0;
	for (unsigned i = 0; i < N; i++) {
		if (rng() % 3 == 0) {
			sched_remove(&s, &jobs[i].sj);
			assert_false(sched_job_queued(&jobs[i].sj));
			sched_remove(&s, &jobs[i].sj);   /* twice: no-op */
		} else {
			ref[n++] = &jobs[i];
		}
	}
	assert_int_equal(sched_queued(&s), n);
	qsort(ref, n, sizeof(ref[0]), reference_cmp);
	struct sched_worker w;
	sched_worker_add(&s, &w, N);
	drain_check(&s, ref, n);
	sched_worker_remove(&s, &w);
	sched_release(&s);
	free(jobs);
	free(ref);
}

/* A requeued job keeps its place in line ahead of later equals. */
static void test_requeue_keeps_place(void **state)
{
	(void)state;
	struct sched s;
	sched_init(&s);
	struct sched_worker w;
	sched_worker_add(&s, &w, 1);
	struct sched_job a, b, c;
	sched_job_init(&a, 0, 0, NULL, 0);
	sched_job_init(&b, 0, 0, NULL, 0);
	sched_job_init(&c, 0, 0, NULL, 0);
	sched_enqueue(&s, &a);
	struct sched_worker *got;
	assert_ptr_equal(sched_next(&s, &got), &a);
	assert_ptr_equal(got, &w);
	assert_ptr_equal(a.worker, &w);
	sched_enqueue(&s, &b);
	sched_enqueue(&s, &c);
	/* No free slot: nothing dispatched. */
	assert_null(sched_next(&s, &got));
	/* Enqueueing an assigned job is refused. */
	sched_enqueue(&s, &a);
	assert_false(sched_job_queued(&a));
	/* The worker is lost: a goes back, ahead of b and c. */
	sched_worker_remove(&s, &w);
	sched_job_release(&s, &a);
	assert_null(a.worker);
	assert_int_equal(w.running, 0);
	sched_enqueue(&s, &a);
	assert_null(sched_next(&s, &got));   /* the removed worker gets nothing */
	struct sched_worker w2;
	sched_worker_add(&s, &w2, 3);
	assert_ptr_equal(sched_next(&s, &got), &a);
	assert_ptr_equal(sched_next(&s, &got), &b);
	assert_ptr_equal(sched_next(&s, &got), &c);
	assert_ptr_equal(got, &w2);
	assert_null(sched_next(&s, &got));
	sched_worker_remove(&s, &w2);
	sched_release(&s);
}

/* ---- placement ------------------------------------------------------------ */

static void test_slots_bound(void **state)
{
	(void)state;
	struct sched s;
	sched_init(&s);
	struct sched_worker w1, w2;
	sched_worker_add(&s, &w1, 2);
	sched_worker_add(&s, &w2, 1);
	struct sched_job j[6];
	for (int i = 0; i < 6; i++) {
		sched_job_init(&j[i], 0, 0, NULL, 0);
		sched_enqueue(&s, &j[i]);
	}
	struct sched_worker *got;
	int on1 = 0, on2 = 0;
	for (int i = 0; i < 3; i++) {
		struct sched_job *x = sched_next(&s, &got);
		assert_ptr_equal(x, &j[i]);
		on1 += got == &w1;
		on2 += got == &w2;
	}
	assert_int_equal(on1, 2);
	assert_int_equal(on2, 1);
	assert_int_equal(w1.running, 2);
	assert_int_equal(w2.running, 1);
	assert_null(sched_next(&s, &got));
	assert_int_equal(sched_queued(&s), 3);
	/* Freeing one slot lets exactly one more job go, to that worker. */
	struct sched_job *on_w2 = j[0].worker == &w2 ? &j[0] : j[1].worker == &w2 ? &j[1] : &j[2];
	sched_job_release(&s, on_w2);
	sched_job_release(&s, on_w2);   /* twice: no-op */
	assert_int_equal(w2.running, 0);
	assert_ptr_equal(sched_next(&s, &got), &j[3]);
	assert_ptr_equal(got, &w2);
	assert_null(sched_next(&s, &got));
	sched_worker_remove(&s, &w1);
	sched_worker_remove(&s, &w2);
	sched_release(&s);
}

/* With no layers in common: least loaded (running/slots), then more free
 * slots, then registration order. */
static void test_least_loaded(void **state)
{
	(void)state;
	struct sched s;
	sched_init(&s);
	struct sched_worker a, b, c;
	sched_worker_add(&s, &a, 4);
	sched_worker_add(&s, &b, 2);
	sched_worker_add(&s, &c, 4);
	struct sched_job j[10];
	struct sched_worker *got;
	const struct sched_worker *want[] = {
		&a, /* all idle: a and c have most free slots, a came first */
		&c, /* a 1/4, b 0/2, c 0/4: b and c idle; c has more free slots */
		&b, /* a 1/4, b 0/2, c 1/4 */
		&a, /* a 1/4, b 1/2, c 1/4 */
		&c, /* a 2/4, b 1/2, c 1/4 */
		&a, /* all 1/2: a has 2 free, b 1, c 2: a first */
		&c, /* a 3/4 */
		&b, /* a 3/4, b 1/2, c 3/4 */
		&a, /* all full except a(3/4) and c(3/4) */
		&c,
	};
	for (int i = 0; i < 10; i++) {
		sched_job_init(&j[i], 0, 0, NULL, 0);
		sched_enqueue(&s, &j[i]);
		assert_ptr_equal(sched_next(&s, &got), &j[i]);
		if (got != want[i])
			fail_msg("job %d went to worker %c, want %c", i,
				 got == &a ? 'a' : got == &b ? 'b' : 'c',
				 want[i] == &a ? 'a' : want[i] == &b ? 'b' : 'c');
	}
	sched_job_init(&j[0], 0, 0, NULL, 0);
	sched_enqueue(&s, &j[0]);
	assert_null(sched_next(&s, &got));   /* 10 slots, 10 jobs */
	sched_remove(&s, &j[0]);
	sched_worker_remove(&s, &a);
	sched_worker_remove(&s, &b);
	sched_worker_remove(&s, &c);
	sched_release(&s);
}

/* A worker that was sent a job's layers is preferred over a less loaded one;
 * more layers held beats fewer; with no free slot there it goes elsewhere. */
static void test_prefers_layers(void **state)
{
	(void)state;
	struct sched s;
	sched_init(&s);
	struct sched_worker w1, w2;
	sched_worker_add(&s, &w1, 3);
	sched_worker_add(&s, &w2, 3);
	struct digest l_x[] = {dg(1)};
	struct digest l_y[] = {dg(2), dg(3)};
	struct digest l_xy[] = {dg(1), dg(2), dg(3)};
	struct digest l_y1[] = {dg(2), dg(9)};
	struct sched_job a, b, c, d, e, f;
	struct sched_worker *got;

	sched_job_init(&a, 0, 0, l_x, 1);
	sched_enqueue(&s, &a);
	assert_ptr_equal(sched_next(&s, &got), &a);
	assert_ptr_equal(got, &w1);
	assert_true(sched_worker_has_layer(&w1, &l_x[0]));
	assert_false(sched_worker_has_layer(&w2, &l_x[0]));

	/* Same layer: w1 again although w2 is idle. */
	sched_job_init(&b, 0, 0, l_x, 1);
	sched_enqueue(&s, &b);
	assert_ptr_equal(sched_next(&s, &got), &b);
	assert_ptr_equal(got, &w1);

	/* Other layers: the idle w2. */
	sched_job_init(&c, 0, 0, l_y, 2);
	sched_enqueue(&s, &c);
	assert_ptr_equal(sched_next(&s, &got), &c);
	assert_ptr_equal(got, &w2);

	/* w1 holds 1 of these, w2 holds 2: w2. */
	sched_job_init(&d, 0, 0, l_xy, 3);
	sched_enqueue(&s, &d);
	assert_ptr_equal(sched_next(&s, &got), &d);
	assert_ptr_equal(got, &w2);
	assert_true(sched_worker_has_layer(&w2, &l_x[0]));

	/* Both hold dg(2)'s job partly: w2 holds dg(2), w1 does not -> w2, now full. */
	sched_job_init(&e, 0, 0, l_y1, 2);
	sched_enqueue(&s, &e);
	assert_ptr_equal(sched_next(&s, &got), &e);
	assert_ptr_equal(got, &w2);
	assert_int_equal(w2.running, 3);

	/* w2 is full: the next y job goes to w1 anyway. */
	sched_job_init(&f, 0, 0, l_y, 2);
	sched_enqueue(&s, &f);
	assert_ptr_equal(sched_next(&s, &got), &f);
	assert_ptr_equal(got, &w1);
	assert_int_equal(w1.running, 3);

	sched_worker_remove(&s, &w1);
	sched_worker_remove(&s, &w2);
	sched_release(&s);
}

/* The layer set is bounded: past the limit it starts over. */
static void test_layer_set_bound(void **state)
{
	(void)state;
	struct sched s;
	sched_init(&s);
	struct sched_worker w;
	sched_worker_add(&s, &w, 1);
	enum { PER = 1000 };
	struct digest *l = calloc(PER, sizeof(*l));
	unsigned next = 0;
	struct sched_job j;
	struct sched_worker *got;
	for (int round = 0; round * PER <= SCHED_LAYER_SET_MAX + PER; round++) {
		for (int i = 0; i < PER; i++)
			l[i] = dg(next++);
		sched_job_init(&j, 0, 0, l, PER);
		sched_enqueue(&s, &j);
		assert_ptr_equal(sched_next(&s, &got), &j);
		sched_job_release(&s, &j);
		assert_true(table_count(&w.layers) <= SCHED_LAYER_SET_MAX);
	}
	struct digest first = dg(0);
	assert_false(sched_worker_has_layer(&w, &first));
	assert_true(sched_worker_has_layer(&w, &l[PER - 1]));
	free(l);
	sched_worker_remove(&s, &w);
	sched_release(&s);
}

/* A removed worker is never chosen; releasing its jobs does not bring it back. */
static void test_worker_removed(void **state)
{
	(void)state;
	struct sched s;
	sched_init(&s);
	struct sched_worker w1, w2;
	sched_worker_add(&s, &w1, 2);
	sched_worker_add(&s, &w2, 1);
	struct sched_job j[4];
	struct sched_worker *got;
	for (int i = 0; i < 3; i++) {
		sched_job_init(&j[i], 0, 0, NULL, 0);
		sched_enqueue(&s, &j[i]);
		assert_non_null(sched_next(&s, &got));
	}
	sched_worker_remove(&s, &w1);
	sched_worker_remove(&s, &w1);   /* twice: no-op */
	for (int i = 0; i < 3; i++) {
		if (j[i].worker == &w1) {
			sched_job_release(&s, &j[i]);
			sched_enqueue(&s, &j[i]);
		}
	}
	assert_int_equal(w1.running, 0);
	assert_int_equal(sched_queued(&s), 2);
	assert_null(sched_next(&s, &got));   /* w2 is full, w1 gone */
	struct sched_job *on_w2 = j[0].worker == &w2 ? &j[0] : j[1].worker == &w2 ? &j[1] : &j[2];
	sched_job_release(&s, on_w2);
	assert_non_null(sched_next(&s, &got));
	assert_ptr_equal(got, &w2);
	assert_null(sched_next(&s, &got));
	sched_worker_remove(&s, &w2);
	sched_release(&s);
}

/* 50,000 queued jobs (the broker's target) come out in order; each
 * completion lets exactly the next one go. */
static void test_large_queue(void **state)
{
	(void)state;
	enum { N = 50000 };
	struct tjob *jobs = calloc(N, sizeof(*jobs));
	struct tjob **ref = calloc(N, sizeof(*ref));
	struct sched s;
	sched_init(&s);
	for (unsigned i = 0; i < N; i++) {
		sched_job_init(&jobs[i].sj, (int32_t)(rng() % 3), durs[rng() % 4], NULL, 0);
		jobs[i].index = i;
		sched_enqueue(&s, &jobs[i].sj);
		ref[i] = &jobs[i];
	}
	qsort(ref, N, sizeof(ref[0]), reference_cmp);
	struct sched_worker w;
	sched_worker_add(&s, &w, 4);
	struct sched_worker *got;
	size_t k = 0;
	struct sched_job *running[4];
	for (int i = 0; i < 4; i++) {
		running[i] = sched_next(&s, &got);
		assert_ptr_equal(running[i], &ref[k++]->sj);
	}
	assert_null(sched_next(&s, &got));
	while (k < N) {
		int slot = (int)(rng() % 4);
		sched_job_release(&s, running[slot]);
		running[slot] = sched_next(&s, &got);
		assert_ptr_equal(running[slot], &ref[k++]->sj);
		assert_null(sched_next(&s, &got));
	}
	sched_worker_remove(&s, &w);
	sched_release(&s);
	free(jobs);
	free(ref);
}

/* A worker that was sent a job's fork server is preferred, before layers
 * and load; without a free slot there the job goes elsewhere, which then
 * has it warm too. */
static void test_prefers_warm(void **state)
{
	(void)state;
	struct sched s;
	sched_init(&s);
	struct sched_worker w1, w2;
	sched_worker_add(&s, &w1, 2);
	sched_worker_add(&s, &w2, 2);
	struct digest key = dg(100), other = dg(101);
	struct digest layers[] = {dg(1)};
	struct sched_job a, b, c, d, e;
	struct sched_worker *got;

	/* b holds the layer of a job on w2 with no fork server. */
	sched_job_init(&b, 0, 0, layers, 1);
	sched_job_init(&a, 0, 0, NULL, 0);
	sched_job_set_warm_key(&a, &key);
	sched_enqueue(&s, &a);
	assert_ptr_equal(sched_next(&s, &got), &a);
	assert_ptr_equal(got, &w1);
	assert_true(sched_worker_has_warm(&w1, &key));
	assert_false(sched_worker_has_warm(&w2, &key));
	assert_false(sched_worker_has_warm(&w1, &other));
	assert_false(sched_worker_has_warm(&w1, NULL));
	sched_enqueue(&s, &b);
	assert_ptr_equal(sched_next(&s, &got), &b);
	assert_ptr_equal(got, &w2);   /* least loaded */

	/* c has the key and the layer: w1 (warm) beats w2 (layer, equal load). */
	sched_job_init(&c, 0, 0, layers, 1);
	sched_job_set_warm_key(&c, &key);
	sched_enqueue(&s, &c);
	assert_ptr_equal(sched_next(&s, &got), &c);
	assert_ptr_equal(got, &w1);
	/* w1 is full: d goes to w2, which has it warm from then on. */
	sched_job_init(&d, 0, 0, NULL, 0);
	sched_job_set_warm_key(&d, &key);
	sched_enqueue(&s, &d);
	assert_ptr_equal(sched_next(&s, &got), &d);
	assert_ptr_equal(got, &w2);
	assert_true(sched_worker_has_warm(&w2, &key));

	/* Both warm: load decides again. */
	sched_job_release(&s, &a);
	sched_job_release(&s, &c);
	sched_job_init(&e, 0, 0, NULL, 0);
	sched_job_set_warm_key(&e, &key);
	sched_enqueue(&s, &e);
	assert_ptr_equal(sched_next(&s, &got), &e);
	assert_ptr_equal(got, &w1);
	sched_worker_remove(&s, &w1);
	sched_worker_remove(&s, &w2);
	sched_release(&s);
}

/* A worker remembers the last SCHED_WARM_KEYS distinct keys it was sent,
 * least recently sent forgotten first. */
static void test_warm_bound(void **state)
{
	(void)state;
	struct sched s;
	sched_init(&s);
	struct sched_worker w;
	sched_worker_add(&s, &w, 1);
	struct digest keys[SCHED_WARM_KEYS + 2];
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++)
		keys[i] = dg(200 + i);
	struct sched_job j;
	struct sched_worker *got;
	/* Send keys 0..N-1, then key 0 again (refreshing it), then key N:
	 * key 1, the least recently sent, is forgotten. */
	unsigned order[SCHED_WARM_KEYS + 2];
	for (unsigned i = 0; i < SCHED_WARM_KEYS; i++)
		order[i] = i;
	order[SCHED_WARM_KEYS] = 0;
	order[SCHED_WARM_KEYS + 1] = SCHED_WARM_KEYS;
	for (unsigned i = 0; i < ARRAY_SIZE(order); i++) {
		sched_job_init(&j, 0, 0, NULL, 0);
		sched_job_set_warm_key(&j, &keys[order[i]]);
		sched_enqueue(&s, &j);
		assert_ptr_equal(sched_next(&s, &got), &j);
		sched_job_release(&s, &j);
	}
	assert_true(sched_worker_has_warm(&w, &keys[0]));
	assert_false(sched_worker_has_warm(&w, &keys[1]));
	for (unsigned i = 2; i <= SCHED_WARM_KEYS; i++)
		assert_true(sched_worker_has_warm(&w, &keys[i]));
	assert_false(sched_worker_has_warm(&w, &keys[SCHED_WARM_KEYS + 1]));
	sched_worker_remove(&s, &w);
	sched_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table_basic),
		cmocka_unit_test(test_table_random),
		cmocka_unit_test(test_order_rules),
		cmocka_unit_test(test_order_exhaustive),
		cmocka_unit_test(test_remove_middle),
		cmocka_unit_test(test_requeue_keeps_place),
		cmocka_unit_test(test_slots_bound),
		cmocka_unit_test(test_least_loaded),
		cmocka_unit_test(test_prefers_layers),
		cmocka_unit_test(test_layer_set_bound),
		cmocka_unit_test(test_prefers_warm),
		cmocka_unit_test(test_warm_bound),
		cmocka_unit_test(test_worker_removed),
		cmocka_unit_test(test_large_queue),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
