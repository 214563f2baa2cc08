/*
 * broker: the cluster's coordinator, on one reactor. It accepts
 * connections, keeps the job queue, asks clients for the artifacts it
 * lacks, hands jobs to workers and results back to clients.
 *
 * Connections (net/conn.h). Each starts with Hello; a wrong protocol
 * version, an unknown role or a worker with no slots is answered
 * HelloReply{accepted = false, message} and closed, with the reason logged.
 * Then each role may send only its own messages (net/proto/maelstrom.proto):
 *     client  JobRequest, CancelJob
 *     worker  JobStarted, JobResult
 *     monitor StatusRequest, StopRequest
 * and the artifact roles are handed to the transfer code (upload receiver,
 * fetch server; net/artifact_xfer.h). Garbage, oversized or truncated
 * frames, a second Hello, an unknown message or one not allowed for the
 * role, or a job id a client reuses while its job is alive: that one peer
 * is disconnected with a logged reason; everyone else keeps being served.
 *
 * A job's life in the broker (enum bjob_state, broker_internal.h):
 *
 *     JobRequest -> WAITING_FOR_ARTIFACTS --(all layers in the store)-->
 *        PENDING (queued, net/broker/sched.h) --(a worker slot)-->
 *        RUNNING --(JobResult from that worker)--> forwarded; forgotten.
 *
 * The client hears JobStatusUpdate at each change (WAITING_FOR_ARTIFACTS
 * only when something is missing; RUNNING when the job is sent to a worker)
 * and finally JobResult with its own job id. For each missing layer the
 * broker sends TransferArtifact once, to one client that needs it, however
 * many jobs wait for it; if that client disconnects before the artifact
 * arrives, another client that needs it is asked. Layers of waiting, queued
 * and running jobs are pinned in the store; after a job completes the store
 * is evicted down to its cache size.
 *
 * Jobs run exactly once: a worker that disconnects has its unfinished jobs
 * requeued (same broker ids, same place in line; the client hears PENDING
 * again), and results for jobs no longer assigned to the sender are
 * ignored. A client that disconnects has its jobs dropped, and the running
 * ones are canceled on their workers (their slots stay taken until the
 * workers answer). A client's CancelJob answers a job that is not running
 * yet with JobResult{OUTCOME_CANCELED} at once; a running one is canceled on
 * its worker and the worker's result is forwarded.
 *
 * A monitor's StopRequest (like SIGINT/SIGTERM in main) calls
 * reactor_stop(); the owner then frees the broker, which closes everything.
 *
 * Ownership: the broker borrows the reactor and the store, which must
 * outlive it, and owns its listener, connections and jobs.
 */
#ifndef NET_BROKER_BROKER_H
#define NET_BROKER_BROKER_H

#include <stdint.h>

#include "artifacts/digest.h"
#include "artifacts/store.h"
#include "core/err.h"
#include "core/reactor.h"

struct broker;
struct http_request;
struct http_response;

struct broker_config {
	uint16_t port;          /* 0: any free port (see broker_port) */
	uint64_t cache_size;    /* the store's bound, for the status document */
};

/* Listens on cfg->port and starts serving. Returns 0, or -1 with *err set
 * (the port cannot be bound). */
int broker_new(struct broker **out, struct reactor *r, struct store *store,
	       const struct broker_config *cfg, struct err **err);

/* Closes every connection and the listener and frees everything. Call it
 * outside the reactor's callbacks (after reactor_run returned). Safe on NULL. */
void broker_free(struct broker *b);

/* The port actually bound. */
uint16_t broker_port(const struct broker *b);

/* The status document (net/broker/status.h) as a heap string (free it). */
char *broker_status_json(struct broker *b);

/* An artifact is now in the store (called by the upload receiver, and by
 * tests): releases the jobs waiting for it. `size` counts towards the
 * received-bytes statistic. */
void broker_artifact_arrived(struct broker *b, const struct digest *d, uint64_t size);

/* The HTTP handler (net/http.h) for the status port, arg being the broker:
 * "/" is the HTML page, "/api/status" the JSON document, anything else 404
 * (net/status_page.h renders and routes). */
void broker_http_handle(void *arg, const struct http_request *req, struct http_response *res);

#endif
