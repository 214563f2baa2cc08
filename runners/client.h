/*
 * client: turns job specs into running jobs.
 *
 * This is the client half every program shares (maelstrom-run now; the test
 * runners later). It resolves a job spec before anything runs:
 *   - the environment is computed ($env{}, $prev{}, extend) against the
 *     client's own environment;
 *   - every layer is built into an artifact (in an offloaded child, so the
 *     reactor never blocks), at most once per distinct layer spec per
 *     process, and across processes the layer cache makes an unchanged
 *     layer cost no file read at all;
 * then hands the resolved job to the local worker (standalone mode) or, when
 * a cluster session is given, to the broker, except local-only jobs (bind
 * mounts, network "local", tty), which always run on the local worker.
 *
 * Errors in a spec (an unset $env{} variable, a missing path in a layer, an
 * image, which is not supported yet) are reported through the job's callback
 * as JOB_EXECUTION_ERROR with a message naming the field: they never stop
 * other jobs.
 */
#ifndef RUNNERS_CLIENT_H
#define RUNNERS_CLIENT_H

#include <stdint.h>

#include "artifacts/layer_build.h"
#include "artifacts/store.h"
#include "container/local_worker.h"
#include "core/reactor.h"
#include "net/cluster_client.h"
#include "core/spec.h"

struct client;

/* project_dir: where relative layer paths and bind mounts are resolved.
 * cluster: the broker session, or NULL for standalone mode. The store,
 * builder, worker and cluster session must outlive the client. */
int client_new(struct client **out, struct reactor *r, struct store *store,
	       struct layer_builder *builder, struct local_worker *worker,
	       struct cluster_client *cluster, const char *project_dir, struct err **err);

/* Cancels every job (no callbacks follow) and frees the client. */
void client_free(struct client *c);

/* Takes ownership of *spec (it is zeroed). cb runs exactly once, from the
 * reactor, unless the client is freed first. Returns the job id. */
uint64_t client_submit(struct client *c, struct job_spec *spec, executor_done_cb *cb,
		       void *arg);

/* Cancels a job at any stage; its callback reports JOB_CANCELED. */
void client_cancel(struct client *c, uint64_t id);

/* Reports each job that starts running (locally or on the cluster) through
 * cb(its submit arg, its id). */
void client_on_start(struct client *c, executor_start_cb *cb);

/* Jobs submitted and not yet reported. */
unsigned client_outstanding(const struct client *c);

#endif
