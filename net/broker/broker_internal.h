/*
 * broker_internal: the broker's objects, shared by its files:
 *   broker.c        lifetime, listener, hello, per-role message dispatch,
 *                   disconnects, status; artifact connections are handed
 *                   to the artifact service (net/artifact_xfer.h) after
 *                   their Hello and are no peers of ours from then on
 *   broker_jobs.c   jobs: requests, wanted artifacts, dispatch, results,
 *                   cancels, a lost client or worker
 *
 * Invariants:
 *  - every peer is on b->peers from accept until its conn's on_close (or
 *    broker_free), and is freed right there;
 *  - a job is in b->jobs (by broker id) from its JobRequest until its
 *    result is forwarded or it is dropped; while job->client is set it is
 *    also in that client's jobs table (by the client's id);
 *  - job->state counts in exactly one of b->n_waiting / n_pending /
 *    n_running; a RUNNING job is on its worker's job list and holds one of
 *    the worker's sched slots;
 *  - a job with client == NULL is running on a worker and only waits for
 *    the worker's answer to a CancelJob; its result is dropped;
 *  - a want lists the broker ids of jobs waiting for one digest; ids of
 *    jobs since gone or no longer waiting are skipped and pruned lazily.
 */
#ifndef NET_BROKER_BROKER_INTERNAL_H
#define NET_BROKER_BROKER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifacts/digest.h"
#include "artifacts/store.h"
#include "core/reactor.h"
#include "net/broker/broker.h"
#include "net/broker/sched.h"
#include "core/table.h"
#include "net/artifact_xfer.h"
#include "net/conn.h"
#include "net/msg.h"

enum peer_role {
	PEER_HELLO,      /* accepted; waiting for Hello */
	PEER_CLIENT,
	PEER_WORKER,
	PEER_MONITOR,
};

struct bjob;

struct bclient {
	struct table jobs;            /* client's job id -> struct bjob */
};

struct bworker {
	struct sched_worker sw;
	char *name;
	struct bjob *jobs;            /* running here: list through wnext/wprev */
};

struct bpeer {
	struct conn_route route;      /* the conn's arg: {peer_ops, this} */
	struct broker *b;
	struct conn *conn;
	enum peer_role role;
	char *address;                /* the peer's address, for logs and status */
	struct bpeer *prev, *next;    /* b->peers */
	struct bclient client;        /* PEER_CLIENT */
	struct bworker worker;        /* PEER_WORKER */
};

enum bjob_state {
	BJOB_WAITING_FOR_ARTIFACTS,   /* some layers are not in the store yet */
	BJOB_PENDING,                 /* queued in b->sched */
	BJOB_RUNNING,                 /* sent to job->worker */
};

struct bjob {
	struct sched_job sj;          /* first: a sched_job pointer is a bjob */
	uint64_t id;                  /* the broker's id (EnqueueJob, JobResult) */
	uint64_t client_id;           /* the client's id */
	struct bpeer *client;         /* NULL once the client is gone */
	struct bpeer *worker;         /* RUNNING: where */
	struct bjob *wprev, *wnext;   /* on worker->worker.jobs */
	enum bjob_state state;
	bool cancel_sent;             /* CancelJob went to the worker */
	size_t missing;               /* WAITING: distinct layers not in the store */
	msg_t *request;               /* the JobRequest envelope (owns the job) */
	struct digest *layers;
	size_t n_layers;
	struct digest warm_key;       /* fork-server key (when has_warm_key) */
	bool has_warm_key;            /* the job names a fork server */
};

struct want {
	struct digest digest;
	uint64_t *jobs;               /* broker ids of jobs that waited for it */
	size_t n_jobs, cap_jobs;
	struct bpeer *asked;          /* client asked for it, or NULL */
};

struct broker {
	struct reactor *r;
	struct store *store;
	struct broker_config cfg;
	struct listener *listener;
	struct artifact_service *artifacts;   /* upload receiver, fetch server */
	struct bpeer *peers;          /* every connection */
	struct sched sched;
	struct table jobs;            /* broker id -> struct bjob */
	struct table wants;           /* digest -> struct want */
	uint64_t next_job_id;
	size_t n_clients, n_workers;
	uint64_t n_waiting, n_pending, n_running;
	uint64_t jobs_submitted, jobs_completed;
	uint64_t artifacts_received_bytes;
	uint64_t started_ns;
};

/* ---- broker.c ---------------------------------------------------------- */

/* Logs why and closes the peer's connection (its on_close cleans up). */
void peer_violation(struct bpeer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "client 10.0.0.1:4000", "worker w1 (10.0.0.2:4001)" for logs. */
const char *peer_label(const struct bpeer *p, char *buf, size_t size);
/* Sends one message if the peer is still connected. */
void peer_send(struct bpeer *p, const msg_t *m);

/* ---- broker_jobs.c ----------------------------------------------------- */

/* Client messages (m stays the caller's unless noted). */
void jobs_request(struct broker *b, struct bpeer *client, msg_t *m);   /* takes m */
void jobs_cancel(struct broker *b, struct bpeer *client, uint64_t client_job_id);
/* Worker messages. */
void jobs_started(struct broker *b, struct bpeer *worker, uint64_t job_id);
void jobs_result(struct broker *b, struct bpeer *worker, msg_t *m);     /* takes m */
/* A worker joined (sched already knows it): fill its slots. */
void jobs_dispatch(struct broker *b);
/* Loss of a peer: requeue or drop its jobs. */
void jobs_client_gone(struct broker *b, struct bpeer *client);
void jobs_worker_gone(struct broker *b, struct bpeer *worker);
/* broker_free: drops every job and want without messages. */
void jobs_free_all(struct broker *b);

#endif
