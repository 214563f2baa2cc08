/*
 * forkserver_pool.c: the executor's pool of warm zygotes: keys, the size
 * limit and LRU eviction, and the entry points the executor's jobs use. A
 * zygote itself is in forkserver_zygote.c. See container/forkserver_pool.h
 * and container/forkserver.h.
 */
#include "container/forkserver_pool.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "container/forkserver.h"
#include "container/forkserver_zygote.h"

#define DEFAULT_MAX 4
#define DEFAULT_IDLE_S 60

/* ---- the key ------------------------------------------------------------ */

static uint64_t hash_str(uint64_t h, const char *s)
{
	/* The NUL separates strings; NULL hashes unlike any string. */
	return s ? XXH3_64bits_withSeed(s, strlen(s) + 1, h) : XXH3_64bits_withSeed("", 0, ~h);
}

static uint64_t hash_strv(uint64_t h, const char *const *v)
{
	uint64_t n = 0;
	for (; v && v[n]; n++)
		h = hash_str(h, v[n]);
	return XXH3_64bits_withSeed(&n, sizeof(n), h);
}

static const char *cwd_of(const char *wd)
{
	return wd ? wd : "/";
}

static uint64_t key_hash(const struct exec_job *s)
{
	uint64_t h = container_desc_hash(&s->container);
	h = hash_strv(h, s->fork_server_argv);
	h = hash_strv(h, s->envp);
	return hash_str(h, cwd_of(s->working_directory));
}

static bool strv_equal(const char *const *a, const char *const *b)
{
	size_t i = 0;
	for (; a[i] && b[i]; i++)
		if (strcmp(a[i], b[i]) != 0)
			return false;
	return !a[i] && !b[i];
}

static bool key_equal(const struct zygote *z, uint64_t hash, const struct exec_job *s)
{
	return z->hash == hash && strcmp(cwd_of(z->cwd), cwd_of(s->working_directory)) == 0 &&
	       strv_equal(z->argv, s->fork_server_argv) && strv_equal(z->envp, s->envp) &&
	       plan_cache_desc_equal(&z->container, &s->container);
}

/* ---- the pool ---------------------------------------------------------------- */

static unsigned live_count(const struct forkserver_pool *p)
{
	unsigned n = 0;
	for (const struct zygote *z = p->head; z; z = z->next)
		n += z->state == ZS_STARTING || z->state == ZS_READY;
	return n;
}

/* The least recently used zygote with nothing to do, or NULL. */
static struct zygote *lru_idle(struct forkserver_pool *p)
{
	struct zygote *best = NULL;
	for (struct zygote *z = p->head; z; z = z->next)
		if (z->state == ZS_READY && z->n_jobs == 0 &&
		    (!best || z->last_used < best->last_used))
			best = z;
	return best;
}

/* Frees the zygotes that are gone, and acts on problems recorded where
 * the state machine could not run. */
static void on_kick(struct reactor *r, void *arg)
{
	(void)r;
	struct forkserver_pool *p = arg;
	p->kick_timer = 0;
	for (struct zygote *z = p->head; z; z = z->next)
		zygote_advance(z);
	struct zygote *next;
	for (struct zygote *z = p->head; z; z = next) {
		next = z->next;
		if (z->state == ZS_GONE)
			zygote_free(z);
	}
}

void forkserver_pool_kick(struct forkserver_pool *p)
{
	if (!p->kick_timer)
		p->kick_timer = reactor_timer_add(p->ex->r, 0, on_kick, p);
}

struct forkserver_pool *forkserver_pool_new(struct executor *ex, const struct executor_config *cfg)
{
	struct forkserver_pool *p = calloc(1, sizeof(*p));
	if (!p)
		abort(); /* out of memory */
	p->ex = ex;
	p->max = cfg->fork_servers_max ? cfg->fork_servers_max : DEFAULT_MAX;
	p->idle_ns = (cfg->fork_server_idle_s ? cfg->fork_server_idle_s : DEFAULT_IDLE_S) * NS_PER_S;
	p->ready_ns = (cfg->fork_server_ready_s ? cfg->fork_server_ready_s
						: FORKSERVER_READY_TIMEOUT_S) * NS_PER_S;
	p->rbuf = malloc(FORKSERVER_MAX_MSG);
	if (!p->rbuf)
		abort(); /* out of memory */
	return p;
}

void forkserver_pool_free(struct forkserver_pool *p)
{
	if (!p)
		return;
	reactor_timer_cancel(p->ex->r, p->kick_timer);
	/* Kill them all first, so they die in parallel, then reap each: a
	 * zygote is PID 1 of its container, its children go with it. */
	for (struct zygote *z = p->head; z; z = z->next)
		zygote_kill(z);
	while (p->head)
		zygote_destroy(p->head);
	free(p->rbuf);
	free(p);
}

/* The zygote serving spec's key: starting, or ready with its socket open,
 * or the key's BROKEN tombstone; NULL when there is none. */
static struct zygote *find(struct forkserver_pool *p, uint64_t hash, const struct exec_job *spec)
{
	struct zygote *z = NULL;
	for (struct zygote *c = p->head; c; c = c->next)
		if ((c->state == ZS_BROKEN ||
		     ((c->state == ZS_STARTING || c->state == ZS_READY) && c->sock >= 0)) &&
		    key_equal(c, hash, spec))
			z = c;
	return z;
}

/* Makes room for one more zygote when the pool is full, by stopping the
 * least recently used idle one. False when there is none to stop. */
static bool make_room(struct forkserver_pool *p)
{
	if (live_count(p) < p->max)
		return true;
	struct zygote *victim = lru_idle(p);
	if (!victim)
		return false;
	victim->stop = ZSTOP_EVICTED;
	zygote_advance(victim);
	return true;
}

bool forkserver_pool_attach(struct forkserver_pool *p, struct job *j)
{
	uint64_t hash = key_hash(&j->spec);
	struct zygote *z = find(p, hash, &j->spec);
	if (z && z->state == ZS_BROKEN)
		return false;
	if (!z && make_room(p))
		z = zygote_start(p, hash, &j->spec);
	if (!z)
		return false;
	zygote_attach(z, j);
	return true;
}

bool forkserver_pool_prewarm(struct forkserver_pool *p, const struct exec_job *spec)
{
	uint64_t hash = key_hash(spec);
	struct zygote *z = find(p, hash, spec);
	if (z)
		return z->state != ZS_BROKEN;
	if (!make_room(p))
		return false;
	p->stats.prewarmed++;
	z = zygote_start(p, hash, spec);
	if (!z)
		return false;
	/* No job: it counts as used now, so that the LRU eviction takes
	 * older idle zygotes before it. The idle timer starts once it is
	 * ready (zygote_advance). */
	z->last_used = ++p->clock;
	return true;
}

bool forkserver_pool_cancel(struct forkserver_pool *p, struct job *j)
{
	(void)p;
	struct zygote *z = j->zygote;
	if (!z)
		return true;
	switch (j->warm) {
	case WARM_NONE:
	case WARM_WAIT_READY:
	case WARM_TO_SEND:
		zygote_detach(z, j);
		return true;
	case WARM_SENT:
	case WARM_RUNNING:
	case WARM_ENDED:
		return false;
	}
	return false;
}

void forkserver_pool_detach(struct forkserver_pool *p, struct job *j)
{
	(void)p;
	if (j->zygote)
		zygote_detach(j->zygote, j);
}

void forkserver_pool_stats(const struct forkserver_pool *p, struct fork_server_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!p)
		return;
	*out = p->stats;
	out->live = live_count(p);
}

void forkserver_pool_count_cold(struct forkserver_pool *p)
{
	if (p)
		p->stats.cold_jobs++;
}
