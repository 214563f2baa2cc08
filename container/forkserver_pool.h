/*
 * forkserver_pool: the executor's warm zygotes; the executor's side of
 * container/forkserver.h (read that first: the protocol and the policy).
 * Internal to the executor: it reads struct job and struct executor
 * (container/executor_job.h) and drives warm jobs through the job_warm_*
 * functions declared there.
 *
 * A zygote is keyed by (container description: container_desc_hash plus a
 * full comparison, envp, working directory, fork_server_argv). The first
 * job naming a key starts its zygote, or executor_prewarm does, ahead of
 * any job: such a zygote has no job until one naming its key comes (and
 * is stopped when idle like any other). Its states
 * (enum zygote_state):
 *
 *     STARTING --{"ready"}--> READY --idle, evicted------------\
 *        |                      \--died, error, bad message----> STOPPING --reaped--> GONE (freed)
 *        \--exit, error, fd 3 closed, not ready in time, bad message--> STOPPING --reaped--> BROKEN
 *
 * BROKEN is a tombstone: it keeps only the key, so that the zygote is never
 * started again, and jobs naming it run cold. Handlers (socket, pidfd,
 * output pipes, timers) record facts (ready, exited, socket closed, the
 * first problem, why we stop it) and call zygote_advance(), the one place
 * where a zygote changes state. GONE zygotes are freed by the pool's kick
 * timer, after the dispatch round, never inside their own callbacks.
 *
 * A job attached to a zygote (job->zygote, job->warm) goes through
 * WAIT_READY (zygote starting) -> TO_SEND -> SENT -> RUNNING (pid) -> ENDED
 * (exit reported). Requests are sent from the socket's writable event, in
 * the order the jobs got their slots; one that meets a full socket waits
 * for the next. The pool finds a zygote's jobs by walking the executor's
 * active list (at most one entry per slot). When a zygote stops, every job
 * attached to it is detached; those whose end it had not reported go to
 * job_warm_fallback.
 *
 * The zygote's stdout and stderr are drained; the last
 * FORKSERVER_TAIL_BYTES of them (interleaved) are quoted in the warning
 * logged when it fails.
 */
#ifndef CONTAINER_FORKSERVER_POOL_H
#define CONTAINER_FORKSERVER_POOL_H

#include <stdbool.h>
#include <stdint.h>

struct exec_job;
struct executor;
struct executor_config;
struct fork_server_stats;
struct job;

/* Output of a zygote kept for messages. */
#define FORKSERVER_TAIL_BYTES 2048

struct forkserver_pool;

/* An empty pool for ex, sized and timed by cfg. */
struct forkserver_pool *forkserver_pool_new(struct executor *ex, const struct executor_config *cfg);

/* Kills every zygote, then reaps each (blocking briefly, like
 * executor_free), and frees the pool. Jobs still attached are detached
 * without any call. Safe on NULL. */
void forkserver_pool_free(struct forkserver_pool *p);

/* Attaches j (which just got a slot and names a fork server, with its
 * output pipes open and j->wfd set) to its zygote, starting one when
 * needed. Returns false when j must run cold: its zygote is broken, or the
 * pool is full and no zygote is idle, or the zygote could not be launched.
 * Never calls back into j synchronously. */
bool forkserver_pool_attach(struct forkserver_pool *p, struct job *j);

/* executor_prewarm (container/executor.h): starts a zygote for spec's key
 * unless one is starting or ready, with no job attached. Returns true when
 * one of that key is starting or ready; false when the key is broken, the
 * pool is full and no zygote is idle, or the launch failed. */
bool forkserver_pool_prewarm(struct forkserver_pool *p, const struct exec_job *spec);

/* For a canceled job in JS_WARM_WAIT: detaches it and returns true when
 * its request was never sent (the job may complete now); returns false
 * when the zygote may be forking it (the job waits for the pid, kills it
 * and completes once the end is reported or the zygote is gone). */
bool forkserver_pool_cancel(struct forkserver_pool *p, struct job *j);

/* Detaches a job that is complete. A no-op when it is not attached. */
void forkserver_pool_detach(struct forkserver_pool *p, struct job *j);

/* See executor_fork_server_stats (container/executor.h). */
void forkserver_pool_stats(const struct forkserver_pool *p, struct fork_server_stats *out);

/* Counts a job naming a fork server that was launched cold. */
void forkserver_pool_count_cold(struct forkserver_pool *p);

#endif
