/*
 * local_worker: runs resolved jobs on this machine.
 *
 * A resolved job names its layers only by digest (artifacts in the store).
 * The local worker makes sure each layer is extracted once into its
 * read-only directory (the extraction runs in an offloaded child, so the
 * reactor never blocks on a big tar), pins the layers while jobs use them,
 * and hands the job to the executor. The cluster worker drives the same
 * object after it has fetched missing artifacts; clients with no broker
 * use it directly (standalone mode).
 *
 * Jobs waiting for a layer that is being extracted wait on that one
 * extraction: a layer is extracted at most once however many jobs need it.
 * A failed extraction fails every job waiting on it with the reason, and is
 * retried by the next job that needs the layer.
 *
 * Ownership: local_worker_submit copies everything it keeps; results are
 * delivered through the executor's callback type (container/executor.h) and
 * belong to the callee.
 */
#ifndef CONTAINER_LOCAL_WORKER_H
#define CONTAINER_LOCAL_WORKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "artifacts/digest.h"
#include "artifacts/store.h"
#include "container/executor.h"
#include "core/err.h"
#include "core/reactor.h"
#include "core/spec.h"

/* A job whose container is resolved: every field is final. */
struct worker_job {
	const struct digest *layers;     /* bottom layer first */
	size_t n_layers;
	const struct mount_spec *mounts;
	size_t n_mounts;
	enum network_mode network;
	bool writable_root;
	uint32_t user, group;
	const char *working_directory;   /* NULL: "/" */
	const char *program;
	const char *const *arguments;    /* without argv[0]; n_arguments entries */
	size_t n_arguments;
	const char *const *envp;         /* NULL-terminated "K=V" */
	uint32_t timeout_s;
	const char *bind_base_dir;       /* for relative bind mounts; NULL: cwd */
	/* Optional, as in struct exec_job (container/executor.h): */
	const char *const *fork_server_argv; /* zygote argv, NULL-terminated; NULL: cold */
	bool has_tty;                    /* tty_fd: the slave of a pty (local only); the
					    caller keeps it, the worker holds a copy
					    from submit until the job launched */
	int tty_fd;
};

struct local_worker;

/* Creates a local worker running at most cfg->slots jobs at once. The store
 * must outlive the worker. */
int local_worker_new(struct local_worker **out, struct reactor *r, struct store *store,
		     const struct executor_config *cfg, struct err **err);

/* Kills every running job (no callbacks follow) and frees the worker. */
void local_worker_free(struct local_worker *w);

/* Queues a job; cb(arg, id, result) runs exactly once, later, from the
 * reactor, unless the worker is freed first. Returns the job id (never 0). */
uint64_t local_worker_submit(struct local_worker *w, const struct worker_job *job,
			     executor_done_cb *cb, void *arg);

/* Starts the fork server of job ahead of the jobs that will name it
 * (executor_prewarm, container/executor.h): its layers are extracted as
 * for a job, then the executor starts the zygote of job's key (container,
 * envp, working directory, fork_server_argv; program, arguments and
 * timeout are ignored, and program may be NULL). There is no job: no id,
 * no slot, no callback, nothing to cancel. Does nothing when job names no
 * fork server or has a terminal; a layer that cannot be extracted, or a
 * zygote that cannot start, is only logged (at debug level): the first
 * job naming the key then starts it, or runs cold, as it would have. */
void local_worker_prewarm(struct local_worker *w, const struct worker_job *job);

/* Cancels a job at any stage; its callback reports JOB_CANCELED. */
void local_worker_cancel(struct local_worker *w, uint64_t id);

/* Reports each job's launch through cb(its submit arg, its id). */
void local_worker_on_start(struct local_worker *w, executor_start_cb *cb);

/* Slots of the underlying executor. */
unsigned local_worker_slots(const struct local_worker *w);

/* What the executor's fork-server pool did (container/executor.h). */
void local_worker_fork_server_stats(const struct local_worker *w, struct fork_server_stats *out);

#endif
