/*
 * worker_internal: the state shared by the worker's files.
 *
 *   worker.c        the session: connect, hello, dispatch, loss, backoff
 *   worker_jobs.c   jobs: enqueue, fetch wait, submit, result, cancel, trim
 *   worker_fetch.c  missing layers from the broker, one fetch per digest
 *
 * Invariants:
 *  - w->conn is non-NULL exactly in CONNECTING, HELLO_SENT and READY.
 *  - A job is in w->jobs from EnqueueJob until its result was handled; it
 *    holds one store pin per layer entry for that whole time.
 *  - An orphan job belongs to a session that ended: it is being killed and
 *    its result is dropped. Only SUBMITTED jobs can be orphans (fetching
 *    ones are freed at once when the session ends).
 *  - w->fetches holds one entry per digest being fetched.
 */
#ifndef NET_WORKER_WORKER_INTERNAL_H
#define NET_WORKER_WORKER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "artifacts/digest.h"
#include "artifacts/store.h"
#include "container/local_worker.h"
#include "core/reactor.h"
#include "net/artifact_xfer.h"
#include "net/conn.h"
#include "net/msg.h"
#include "net/worker/worker.h"

enum worker_state {
	WORKER_IDLE,         /* not started yet */
	WORKER_CONNECTING,   /* conn_connect issued, waiting for on_open */
	WORKER_HELLO_SENT,   /* Hello sent, waiting for HelloReply */
	WORKER_READY,        /* accepted: jobs flow */
	WORKER_BACKOFF,      /* lost or never reached the broker; timer armed */
	WORKER_REFUSED,      /* the broker said no; on_fatal ran; inert */
};

enum wjob_state {
	WJOB_FETCHING,       /* waiting for layers from the broker */
	WJOB_SUBMITTED,      /* handed to the local worker */
};

struct wjob {
	struct worker *w;
	enum wjob_state state;
	bool orphan;              /* its session ended: kill, drop the result */
	bool cancel_requested;    /* CancelJob arrived */
	uint64_t broker_id;       /* the broker's id (EnqueueJob.job_id) */
	uint64_t lw_id;           /* local worker id, when SUBMITTED */
	size_t pending;           /* layers still being fetched */
	struct wire_job wj;
	struct wjob *next;
};

struct wfetch {
	struct worker *w;
	struct digest digest;
	struct artifact_fetch *op; /* our wait in the fetcher */
	struct wfetch *next;
};

struct worker {
	struct reactor *r;
	struct store *store;
	struct local_worker *lw;
	struct executor_config exec;
	char *broker;
	char *name;
	uint64_t connect_timeout_ns;
	uint64_t max_artifact_size;
	worker_fatal_cb *on_fatal;
	void *arg;

	enum worker_state state;
	struct conn *conn;
	uint64_t connect_timer;     /* bounds CONNECTING + HELLO_SENT */
	uint64_t retry_timer;       /* BACKOFF */
	uint64_t backoff_ns;        /* the next delay */
	uint64_t trim_timer;        /* a cache trim is due */
	uint64_t sessions;

	struct wjob *jobs;
	unsigned n_jobs;
	unsigned n_submitted;       /* jobs in the local worker (orphans too) */
	struct artifact_fetcher *fetcher; /* NULL until a fetch is needed */
	struct wfetch *fetches;
};

/* ---- worker.c ---------------------------------------------------------- */

/* Sends m to the broker when the session is READY; drops it otherwise. */
void worker_send(struct worker *w, const msg_t *m);

/* ---- worker_jobs.c --------------------------------------------------------- */

void worker_on_enqueue(struct worker *w, const Maelstrom__EnqueueJob *ej);
void worker_on_cancel(struct worker *w, uint64_t broker_id);

/* A fetch ended: error is NULL on success (the blob is in the store). */
void worker_on_fetched(struct worker *w, const struct digest *d, const char *error);

/* The session ended: frees fetching jobs, kills submitted ones (orphans). */
void worker_jobs_orphan_all(struct worker *w);

/* Schedules a cache trim after the current dispatch round (once). */
void worker_trim_soon(struct worker *w);

/* Frees every job without callbacks (after the local worker was freed). */
void worker_jobs_free_all(struct worker *w);

/* ---- worker_fetch.c -------------------------------------------------------- */

/* Makes sure d is being fetched (at most one fetch per digest). Returns 0,
 * or -1 with *err set when the fetch could not even start. */
int worker_fetch_start(struct worker *w, const struct digest *d, struct err **err);

/* True while d is being fetched. */
bool worker_fetch_pending(const struct worker *w, const struct digest *d);

/* Drops every fetch in flight; no worker_on_fetched follows for them. */
void worker_fetch_cancel_all(struct worker *w);

#endif
