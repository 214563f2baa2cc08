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
 *   - a container image (`image`, book: container-images.md) is resolved at
 *     most once per distinct name per client, in an offloaded child:
 *     image_get (artifacts/image.h) pulls and flattens it into the depot,
 *     and its one flattened tar becomes an ordinary `tar` layer artifact, so
 *     images work the same in cluster mode. The image's `use` then says
 *     what the job takes from it: `layers`: the image's layer at the
 *     bottom, the spec's `added_layers` on top (without it, the spec's
 *     `layers` alone); `environment`: the image's Env is the environment
 *     the spec's `environment` elements extend or replace;
 *     `working_directory`: the image's WorkingDir (or "/");
 * then hands the resolved job to the local worker (standalone mode) or, when
 * a cluster session is given, to the broker, except local-only jobs (bind
 * mounts, network "local", tty), which always run on the local worker.
 * A job's fork server (core/spec.h) goes along as the worker job's
 * fork_server_argv (its program, then its arguments), locally or to the
 * cluster; the job's own program and arguments are unchanged.
 *
 * Errors in a spec (an unset $env{} variable, a missing path in a layer, an
 * image that cannot be pulled) are reported through the job's callback as
 * JOB_EXECUTION_ERROR with a message naming the field, e.g.
 *     field `image`: docker://localhost:5999/x: cannot connect to ...
 * They never stop other jobs.
 */
#ifndef RUNNERS_CLIENT_H
#define RUNNERS_CLIENT_H

#include <stdbool.h>
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

/* How images are fetched (artifacts/image.h): depot_dir is
 * container-image-depot-root (NULL or "": the default,
 * image_default_depot()), accept_invalid_tls is
 * accept-invalid-remote-container-tls-certs, plain_http is
 * container-registry-plain-http (NULL or "": loopback registries only).
 * Copied. The tags lock file is always <project_dir>/IMAGE_LOCK_FILE. */
void client_set_image_options(struct client *c, const char *depot_dir, bool accept_invalid_tls,
			      const char *plain_http);

/* Interactive jobs (maelstrom-run --tty): a job whose spec has
 * allocate_tty gets slave_fd, the slave side of a pseudo-terminal, as its
 * stdin, stdout, stderr and controlling terminal (struct worker_job's
 * has_tty and tty_fd), and always runs on the local worker. The fd stays
 * the caller's and must stay open until those jobs are reported; -1 (the
 * default) means no terminal, and such jobs then fail with an execution
 * error naming `allocate_tty`. */
void client_set_tty(struct client *c, int slave_fd);

/* Cancels every job (no callbacks follow) and frees the client. */
void client_free(struct client *c);

/* Takes ownership of *spec (it is zeroed). cb runs exactly once, from the
 * reactor, unless the client is freed first. Returns the job id. */
uint64_t client_submit(struct client *c, struct job_spec *spec, executor_done_cb *cb,
		       void *arg);

/* Starts, ahead of the jobs, the fork server that jobs like *spec will
 * name (its fork_server), so that the first of them finds it warm: e.g. a
 * test runner calls it while it still lists its tests. Takes ownership of
 * *spec (it is zeroed); its program, arguments and timeout do not matter.
 * The spec is resolved like a job's (environment, image, every layer
 * built, so those builds also start early and the jobs then share them),
 * then handed to local_worker_prewarm (container/local_worker.h), which
 * extracts the layers and has the executor start the zygote with no job.
 * The zygote is the one the jobs use only when their container, computed
 * environment, working directory and fork server are all the same.
 * With a cluster session, jobs like it run on the cluster (unless local-
 * only): the layers are built all the same, but no zygote is started
 * here (the workers start theirs with their first job). Nothing is
 * reported back: no id, no callback, not counted by client_outstanding; a
 * spec with no fork server or with allocate_tty is dropped, and an error
 * (a bad spec, a failed build) is only logged at debug level, the jobs
 * then meeting it themselves. */
void client_prewarm(struct client *c, struct job_spec *spec);

/* Cancels a job at any stage; its callback reports JOB_CANCELED. */
void client_cancel(struct client *c, uint64_t id);

/* Reports each job that starts running (locally or on the cluster) through
 * cb(its submit arg, its id). */
void client_on_start(struct client *c, executor_start_cb *cb);

/* Jobs submitted and not yet reported. */
unsigned client_outstanding(const struct client *c);

#endif
