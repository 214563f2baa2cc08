/*
 * forkserver_zygote: one warm zygote of the executor's pool, as an explicit
 * state machine; the pool's internals, shared by forkserver_pool.c (the
 * pool: keys, limits, the public entry points) and forkserver_zygote.c
 * (a zygote: launch, socket, messages, supervision). See
 * container/forkserver_pool.h for the states and the rules.
 */
#ifndef CONTAINER_FORKSERVER_ZYGOTE_H
#define CONTAINER_FORKSERVER_ZYGOTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container/executor.h"
#include "container/executor_job.h"
#include "container/forkserver_pool.h"
#include "core/arena.h"
#include "core/reactor.h"

#define NS_PER_S UINT64_C(1000000000)

enum zygote_state {
	ZS_STARTING,   /* launched, not ready yet; jobs wait */
	ZS_READY,      /* serving requests */
	ZS_STOPPING,   /* killed (or dead), socket closed, not reaped yet */
	ZS_BROKEN,     /* failed before ready: a tombstone keeping the key */
	ZS_GONE,       /* reaped; freed by the pool's kick */
};

/* Why the pool stops a zygote that did nothing wrong. */
enum zygote_stop {
	ZSTOP_NONE,
	ZSTOP_IDLE,
	ZSTOP_EVICTED,
};

struct zygote {
	struct forkserver_pool *pool;
	enum zygote_state state;
	struct zygote *prev, *next;  /* in pool's list */

	/* The key, copied. */
	uint64_t hash;
	struct arena mem;
	struct container_desc container;
	const char *const *argv;
	const char *const *envp;
	const char *cwd;             /* NULL: "/" */
	const char *title;           /* "`argv...`" for messages */

	int pidfd, sock, out_fd, err_fd;  /* -1 once closed */
	bool want_write;             /* EPOLLOUT is registered */
	uint64_t ready_timer, idle_timer, reply_timer, hangup_timer;
	uint64_t last_used;          /* pool clock at the last attach */
	unsigned n_jobs;             /* jobs attached */
	unsigned lost_jobs;          /* jobs sent back to a cold start at failure */

	/* Facts recorded by the handlers. */
	bool ready;
	bool exited;
	struct child_status status;
	char *problem;               /* the first thing that went wrong */
	enum zygote_stop stop;
	bool broken;                 /* failed before it was ready */
	bool killed;                 /* by us, before it exited */
	bool exit_is_problem;        /* problem says how it ended */

	char tail[FORKSERVER_TAIL_BYTES]; /* ring: the last output bytes */
	size_t tail_start, tail_len;
};

struct forkserver_pool {
	struct executor *ex;
	unsigned max;
	uint64_t idle_ns, ready_ns;
	struct zygote *head, *tail;  /* every zygote, tombstones included */
	uint64_t clock;              /* bumped at each attach, for LRU */
	uint64_t kick_timer;         /* forkserver_pool_kick */
	char *rbuf;                  /* FORKSERVER_MAX_MSG bytes */
	struct fork_server_stats stats;
};

/* ---- in forkserver_zygote.c ---- */

/* Starts a zygote for the key of spec (a job's, or executor_prewarm's;
 * hash: its key hash), copying the key, and counts it as started. Returns
 * it STARTING; or NULL when it could not be launched: it then stays as a
 * BROKEN tombstone (logged), and the jobs naming it run cold. */
struct zygote *zygote_start(struct forkserver_pool *p, uint64_t hash, const struct exec_job *spec);

/* The zygote's one transition function: acts on the recorded facts. */
void zygote_advance(struct zygote *z);

/* Attaches j (which has a slot) to z, a STARTING or READY zygote. */
void zygote_attach(struct zygote *z, struct job *j);

/* Detaches j from z (no call into j). */
void zygote_detach(struct zygote *z, struct job *j);

/* Sends SIGKILL to the zygote unless it is reaped already. */
void zygote_kill(struct zygote *z);

/* For the pool's end: detaches its jobs, leaves every registration, reaps
 * the zygote (which must be killed: blocks until it is gone) and frees it. */
void zygote_destroy(struct zygote *z);

/* Unlinks a GONE or BROKEN zygote from the pool and frees it. */
void zygote_free(struct zygote *z);

/* ---- in forkserver_pool.c ---- */

/* Runs the pool's kick after the current dispatch round: GONE zygotes are
 * freed, and every zygote's state machine runs. */
void forkserver_pool_kick(struct forkserver_pool *p);

#endif
