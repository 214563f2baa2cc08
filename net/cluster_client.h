/*
 * cluster_client: a client's session with a broker.
 *
 * It takes resolved jobs (the same struct worker_job the local worker runs)
 * and sends them to the broker as JobRequest messages; when the broker asks
 * for an artifact it lacks (TransferArtifact), the session uploads it from
 * the client's store on a separate upload connection, so job traffic is
 * never stuck behind a large upload. Results come back as JobResult and are
 * delivered through the executor's callback type, exactly like the local
 * worker's, so callers treat both the same way. Status changes (waiting for
 * artifacts, pending, running) are reported through an optional callback.
 *
 * If the connection to the broker is lost, every outstanding job fails with
 * JOB_SYSTEM_ERROR naming the reason; the session does not reconnect (a
 * client run is short; the user reruns it).
 *
 * Callbacks run from the reactor, never from inside submit or cancel.
 */
#ifndef NET_CLUSTER_CLIENT_H
#define NET_CLUSTER_CLIENT_H

#include <stdint.h>

#include "artifacts/store.h"
#include "container/executor.h"
#include "container/local_worker.h"
#include "core/err.h"
#include "core/reactor.h"

struct cluster_client;

enum cluster_job_state {
	CLUSTER_JOB_WAITING_FOR_ARTIFACTS,
	CLUSTER_JOB_PENDING,
	CLUSTER_JOB_RUNNING,
};

typedef void cluster_status_cb(void *arg, uint64_t job_id, enum cluster_job_state state);

/* Connects to the broker at `address` ("host:port"). The hello exchange
 * happens in the background; a refusal or failure fails the jobs. The
 * store must outlive the session. */
int cluster_client_new(struct cluster_client **out, struct reactor *r, const char *address,
		       struct store *store, struct err **err);

/* Cancels nothing remotely (the broker cancels a gone client's jobs), closes
 * the connections and frees; no callbacks follow. */
void cluster_client_free(struct cluster_client *cc);

void cluster_client_on_status(struct cluster_client *cc, cluster_status_cb *cb, void *arg);

/* Reports each job that starts running through cb(its submit arg, its id). */
void cluster_client_on_start(struct cluster_client *cc, executor_start_cb *cb);

/* Sends a job; cb(arg, id, result) runs exactly once, later. Returns the
 * job id (never 0). The job is copied. */
uint64_t cluster_client_submit(struct cluster_client *cc, const struct worker_job *job,
			       executor_done_cb *cb, void *arg);

/* Asks the broker to cancel; the result (JOB_CANCELED) arrives through cb. */
void cluster_client_cancel(struct cluster_client *cc, uint64_t id);

#endif
