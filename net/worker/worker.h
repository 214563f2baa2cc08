/*
 * worker: the cluster worker's session with the broker, on the reactor.
 *
 * The worker connects to the broker, says Hello{ROLE_WORKER, slots, name}
 * and waits for HelloReply. Then the broker sends EnqueueJob and CancelJob;
 * for each job the worker
 *   1. validates and converts it (msg_wire_job_from); a bad job is answered
 *      at once with JobResult{OUTCOME_EXECUTION_ERROR, the reason};
 *   2. pins its layers in the store and fetches every layer the store lacks
 *      from the broker (net/artifact_xfer.h): one fetch per digest however
 *      many jobs wait for it; a failed fetch fails the jobs waiting on it
 *      with OUTCOME_SYSTEM_ERROR and the reason (the next job retries);
 *   3. submits it to the local worker (container/local_worker.h), which
 *      extracts layers once and runs the container, and sends JobStarted;
 *   4. sends JobResult (with the worker's name) when it ends, unpins its
 *      layers and trims the cache to cache-size (see below).
 * CancelJob kills the job at whatever stage it is; its JobResult
 * (OUTCOME_CANCELED) is still sent.
 *
 * Session states (enum worker_state in worker_internal.h):
 *     IDLE -> CONNECTING -> HELLO_SENT -> READY
 *                 ^                          |
 *                 +---- BACKOFF <------------+  (connection lost)
 *     any -> REFUSED (the broker said no: on_fatal runs, no retry)
 * Connecting and the hello exchange together are bounded by a timeout.
 * When the connection ends for any reason, every job is killed (nothing of
 * it keeps running), in-flight fetches are dropped, the loss is logged, and
 * the worker retries after 0.5 s, doubling up to 30 s, forever, logging each
 * attempt: "broker X unreachable (reason); retrying in N s". The delay goes
 * back to 0.5 s once a broker accepts us. Results of jobs killed this way are
 * not sent anywhere: the broker requeues a lost worker's jobs.
 *
 * Cache trimming: the local worker remembers the directory of every layer it
 * has extracted, so a layer evicted behind its back would be used from a
 * directory that is gone. The worker therefore evicts only when no job is
 * in the local worker, and replaces the local worker after an eviction that
 * freed anything. Layers of jobs still fetching stay pinned throughout. Under
 * constant load the cache may thus exceed cache-size until the next quiet
 * moment.
 *
 * Ownership: the store is borrowed and must outlive the worker; the local
 * worker is created and owned by the worker. Callbacks run from the reactor.
 */
#ifndef NET_WORKER_WORKER_H
#define NET_WORKER_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include "artifacts/store.h"
#include "container/executor.h"
#include "core/err.h"
#include "core/reactor.h"

/* Called once when the broker refuses this worker (HelloReply with
 * accepted = false); message names the broker and its reason. Retrying
 * would not help (e.g. a protocol version mismatch): the program should
 * exit. The worker stays inert afterwards. */
typedef void worker_fatal_cb(void *arg, const char *message);

struct worker_config {
	const char *broker;            /* "host:port" (copied) */
	const char *name;              /* for the broker's logs; NULL: "<hostname>:<pid>" */
	struct executor_config exec;   /* slots (0: one per CPU), inline_limit, ...;
					  a scratch_dir must outlive the worker */
	uint64_t connect_timeout_ms;   /* bound on connect + hello; 0: 10 s */
	uint64_t max_artifact_size;    /* largest layer fetched (cache-size); 0: no bound */
	worker_fatal_cb *on_fatal;     /* NULL: log the message and stop the reactor */
	void *arg;
};

struct worker;

/* Creates the worker and its local worker (executor with cfg->exec). Does
 * not connect yet: call worker_start. */
int worker_new(struct worker **out, struct reactor *r, struct store *store,
	       const struct worker_config *cfg, struct err **err);

/* Starts connecting to the broker (in the background). */
void worker_start(struct worker *w);

/* Kills every job, drops fetches, closes the broker connection and frees.
 * No callback runs afterwards. Safe on NULL. */
void worker_free(struct worker *w);

/* The name sent in Hello and in every JobResult. */
const char *worker_name(const struct worker *w);

/* True while a broker has accepted us and the connection is up. */
bool worker_connected(const struct worker *w);

/* Jobs in hand: fetching, running, or killed and not yet reaped. */
unsigned worker_jobs(const struct worker *w);

/* Times a broker accepted us (1 after the first hello, 2 after one
 * reconnect, ...). */
uint64_t worker_sessions(const struct worker *w);

#endif
