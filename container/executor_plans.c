/*
 * executor_plans.c: a small LRU cache of mount plans. See
 * container/executor_plans.h.
 */
#include "container/executor_plans.h"

#include <stdbool.h>
#include <string.h>

static char *arena_str(struct arena *a, const char *s)
{
	return s ? arena_strdup(a, s) : NULL;
}

void plan_cache_copy_desc(struct arena *a, struct container_desc *dst,
			  const struct container_desc *src)
{
	*dst = *src;
	const char **dirs = arena_alloc(a, (src->n_layer_dirs + 1) * sizeof(*dirs),
					_Alignof(char *));
	for (size_t i = 0; i < src->n_layer_dirs; i++)
		dirs[i] = arena_strdup(a, src->layer_dirs[i]);
	dst->layer_dirs = dirs;
	struct mount_spec *m = arena_alloc(a, src->n_mounts * sizeof(*m),
					   _Alignof(struct mount_spec));
	for (size_t i = 0; i < src->n_mounts; i++) {
		m[i] = src->mounts[i];
		m[i].mount_point = arena_str(a, src->mounts[i].mount_point);
		m[i].local_path = arena_str(a, src->mounts[i].local_path);
	}
	dst->mounts = m;
	dst->bind_base_dir = arena_str(a, src->bind_base_dir);
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

static bool mount_eq(const struct mount_spec *a, const struct mount_spec *b)
{
	return a->kind == b->kind && str_eq(a->mount_point, b->mount_point) &&
	       str_eq(a->local_path, b->local_path) && a->read_only == b->read_only &&
	       a->devices == b->devices;
}

bool plan_cache_desc_equal(const struct container_desc *a, const struct container_desc *b)
{
	if (a->n_layer_dirs != b->n_layer_dirs || a->n_mounts != b->n_mounts ||
	    a->network != b->network || a->writable_root != b->writable_root ||
	    a->user != b->user || a->group != b->group ||
	    !str_eq(a->bind_base_dir, b->bind_base_dir))
		return false;
	for (size_t i = 0; i < a->n_layer_dirs; i++)
		if (!str_eq(a->layer_dirs[i], b->layer_dirs[i]))
			return false;
	for (size_t i = 0; i < a->n_mounts; i++)
		if (!mount_eq(&a->mounts[i], &b->mounts[i]))
			return false;
	return true;
}

static void entry_release(struct plan_entry *e)
{
	if (!e->plan)
		return;
	mount_plan_free(e->plan);
	arena_release(&e->mem);
	memset(e, 0, sizeof(*e));
}

void plan_cache_init(struct plan_cache *c, const char *scratch_dir)
{
	memset(c, 0, sizeof(*c));
	c->scratch_dir = scratch_dir;
}

void plan_cache_release(struct plan_cache *c)
{
	for (size_t i = 0; i < PLAN_CACHE_SIZE; i++)
		entry_release(&c->entries[i]);
}

const struct mount_plan *plan_cache_get(struct plan_cache *c, const struct container_desc *d,
					struct err **err)
{
	uint64_t hash = container_desc_hash(d);
	struct plan_entry *victim = NULL;   /* a free entry, else the least recent */
	for (size_t i = 0; i < PLAN_CACHE_SIZE; i++) {
		struct plan_entry *e = &c->entries[i];
		if (e->plan && e->hash == hash && plan_cache_desc_equal(&e->desc, d)) {
			e->last_used = ++c->clock;
			return e->plan;
		}
		if (!victim || (victim->plan && (!e->plan || e->last_used < victim->last_used)))
			victim = e;
	}
	struct mount_plan *plan = NULL;
	if (mount_plan_compile(&plan, d, c->scratch_dir, err) < 0)
		return NULL;
	entry_release(victim);
	victim->plan = plan;
	victim->hash = hash;
	victim->last_used = ++c->clock;
	arena_init(&victim->mem);
	plan_cache_copy_desc(&victim->mem, &victim->desc, d);
	return plan;
}
