/*
 * executor_plans: the executor's cache of compiled mount plans, per container
 * shape (container/plan.h). Internal to the executor.
 *
 * Jobs of one test suite share a handful of shapes, so the cache is a small
 * fixed array: looked up by container_desc_hash and confirmed with a full
 * comparison (a hash collision never hands out the wrong plan); when full,
 * the least recently used entry is replaced. Each entry keeps its own deep
 * copy of the description, so callers' descriptions may go away.
 *
 * Plans are only used during container_launch (which returns once the job
 * has exec'd), so replacing an entry never pulls a plan from under a job.
 */
#ifndef CONTAINER_EXECUTOR_PLANS_H
#define CONTAINER_EXECUTOR_PLANS_H

#include <stdbool.h>
#include <stdint.h>

#include "container/plan.h"
#include "core/arena.h"
#include "core/err.h"

#define PLAN_CACHE_SIZE 8

struct plan_entry {
	struct mount_plan *plan;     /* NULL: free entry */
	uint64_t hash;
	uint64_t last_used;
	struct arena mem;            /* holds desc's strings and arrays */
	struct container_desc desc;
};

struct plan_cache {
	struct plan_entry entries[PLAN_CACHE_SIZE];
	uint64_t clock;              /* bumped on every hit and insertion */
	const char *scratch_dir;     /* not owned */
};

/* An empty cache compiling plans for scratch_dir (which must outlive it). */
void plan_cache_init(struct plan_cache *c, const char *scratch_dir);

/* Frees every plan. */
void plan_cache_release(struct plan_cache *c);

/* The plan for d: cached, or compiled now. The plan belongs to the cache and
 * stays valid until the next plan_cache_get or plan_cache_release. On a
 * compile error (the description's fault) returns NULL with *err set. */
const struct mount_plan *plan_cache_get(struct plan_cache *c, const struct container_desc *d,
					struct err **err);

/* True when a and b describe the same container (every field, strings by
 * content): what container_desc_hash promises to hash equal. */
bool plan_cache_desc_equal(const struct container_desc *a, const struct container_desc *b);

/* Deep-copies src into dst, every string and array in arena a. */
void plan_cache_copy_desc(struct arena *a, struct container_desc *dst,
			  const struct container_desc *src);

#endif
