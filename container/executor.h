/*
 * executor: runs jobs in containers on the reactor, with a fixed number of
 * slots. Shared by the cluster worker and the clients' local worker.
 *
 * A submitted job waits in a FIFO queue until a slot is free. Then the
 * executor compiles its mount plan (or reuses one from a small cache keyed
 * by container_desc_hash plus an equality check), launches the container
 * with stdin from /dev/null and stdout/stderr on two pipes, and watches
 * three things through the reactor: the job's pidfd, and both pipes. Each
 * stream keeps its first `inline_limit` bytes and counts the rest as
 * truncated; the pipes are always drained, so a job never blocks on output.
 *
 * A job is complete once its PID 1 was reaped AND both pipes reached EOF.
 * Since the job is PID 1 of its own PID namespace, everything it started dies
 * with it and the pipes close; a short grace timer after the reap guards
 * against a writer outside the namespace keeping a pipe open.
 *
 * A job's state (see container/executor_job.h, enum job_state):
 *     QUEUED -> RUNNING -> REAPED_DRAINING -> DONE -> (callback, freed)
 *     QUEUED -> DONE          (launch failure, cancel while queued)
 *     QUEUED -> WARM_WAIT -> RUNNING ...   (a job naming a fork server)
 * A job holds a slot while WARM_WAIT, RUNNING or REAPED_DRAINING.
 *
 * Warm jobs (fork_server_argv): the job is forked by a warm zygote of its
 * container instead of launched cold; container/forkserver.h has the
 * protocol and the policy (pool size, idle time-out, falling back to a
 * cold launch whenever the zygote refuses, breaks or dies). A warm job's
 * result has the same form as a cold one's; its duration runs from the
 * request to the zygote's report of its end. executor_prewarm starts a
 * job's zygote ahead of the job (e.g. while a test runner still lists its
 * tests), so that the first job naming it does not wait for its start-up.
 *
 * Interactive jobs (has_tty): stdin, stdout and stderr are the caller's
 * terminal, which becomes the job's controlling terminal (the job leads
 * its session and is the foreground process group: ^C reaches it). Nothing
 * is captured, and the job completes once reaped. isatty(), the window
 * size (stty size) and job control work in the job. The slave belongs to
 * the host's devpts, which a new devpts instance cannot show: so in a
 * terminal job every devpts mount of the container is a bind of the host's
 * /dev/pts instead, where `tty` (ttyname) finds the terminal by its device
 * number. A container without a devpts mount has a terminal `tty` cannot
 * name ("not a tty", status 1).
 *
 * Callbacks: every submitted job gets exactly one callback, always from the
 * reactor (never from inside executor_submit or executor_cancel), unless the
 * executor is freed first. A callback may call executor_submit,
 * executor_cancel and even executor_free re-entrantly.
 *
 * Time-outs and cancellation kill the whole container (container_kill) and
 * report the output captured so far.
 */
#ifndef CONTAINER_EXECUTOR_H
#define CONTAINER_EXECUTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container/capture.h"
#include "container/plan.h"
#include "core/err.h"
#include "core/reactor.h"

struct executor_config {
	unsigned slots;            /* jobs running at once; 0 = number of CPUs */
	size_t inline_limit;       /* bytes kept per stream (stdout, stderr) */
	bool no_netns_pool;        /* make a fresh network namespace per job
				      instead of reusing pooled ones */
	const char *scratch_dir;   /* existing directory the launcher may use as
				      the new root's mount point; NULL = the
				      executor makes (and removes) its own */
	unsigned fork_servers_max; /* warm zygotes kept at once; 0 = 4 */
	uint32_t fork_server_idle_s; /* an idle zygote is stopped after this
					long; 0 = 60 s */
	uint32_t fork_server_ready_s; /* a zygote not ready (or not answering a
					 request) this long is broken; 0 =
					 FORKSERVER_READY_TIMEOUT_S */
};

/* One job. executor_submit copies everything, so the caller may free its
 * own copy (strings, arrays, the container description) right after. */
struct exec_job {
	struct container_desc container;    /* container/plan.h */
	const char *program;                /* bare name: searched in envp's PATH */
	const char *const *argv;            /* argv[0] included; NULL = { program } */
	const char *const *envp;            /* "K=V"; NULL = empty environment */
	const char *working_directory;      /* NULL = "/" */
	uint32_t timeout_s;                 /* 0 = none */
	/* Optional fork server (container/forkserver.h): the zygote's argv
	 * (argv[0] is its program, searched like `program`), NULL-terminated.
	 * NULL: launch cold. The zygote runs in this job's container, with this
	 * job's envp and working directory; jobs whose container, envp, working
	 * directory and fork_server_argv are all equal share one zygote. */
	const char *const *fork_server_argv;
	/* Optional interactive job (maelstrom-run --tty): when has_tty, tty_fd is
	 * the slave side of a pseudo-terminal the caller opened; it becomes the
	 * job's stdin, stdout, stderr and controlling terminal, nothing is
	 * captured (res.out and res.err stay empty), and the caller keeps
	 * owning the fd (the executor dups it). Never combined with a fork
	 * server (the fork server is ignored). */
	bool has_tty;
	int tty_fd;
};

enum job_outcome {
	JOB_EXITED,            /* code = exit status */
	JOB_SIGNALED,          /* code = signal number */
	JOB_TIMED_OUT,         /* message = "timed out after N s" */
	JOB_EXECUTION_ERROR,   /* the spec's fault (missing program, bad mount...) */
	JOB_SYSTEM_ERROR,      /* the machine's fault */
	JOB_CANCELED,          /* executor_cancel */
};

struct job_result {
	enum job_outcome outcome;
	int code;                 /* exit code or signal number; 0 otherwise */
	char *message;            /* for errors and time-outs, else NULL */
	struct captured out, err; /* what was captured (also after time-out and
				     cancel: the output so far) */
	uint64_t duration_ns;     /* launch to reap; 0 if never launched */
	char *worker;             /* the cluster worker that ran it; NULL when local */
};

/* "exited", "signaled", "timed out", "execution error", "system error",
 * "canceled". */
const char *job_outcome_name(enum job_outcome outcome);

/* Frees what the result owns (message, output) and zeroes it; the struct
 * itself is not freed. Safe on a zeroed result. */
void job_result_release(struct job_result *r);

/* job_result_release, then free(r). Safe on NULL. */
void job_result_free(struct job_result *r);

/* Called once per job. res is heap-allocated and owned by the callee from
 * then on (free it with job_result_free). */
typedef void executor_done_cb(void *arg, uint64_t job_id, struct job_result *res);

/* Called with a job's submit arg once its container has launched (the job
 * is running). Optional; see executor_on_start. */
typedef void executor_start_cb(void *arg, uint64_t job_id);

struct executor;

/* Creates an executor running jobs on reactor r, which must outlive it.
 * Fails only if the machine is unusable (no /dev/null, no scratch dir). */
int executor_new(struct executor **out, struct reactor *r, const struct executor_config *cfg,
		 struct err **err);

/* Queues a job and returns its id (never 0). Never fails synchronously:
 * every error (bad container, missing program, no pipes...) arrives through
 * cb, which runs later from the reactor. */
uint64_t executor_submit(struct executor *ex, const struct exec_job *job, executor_done_cb *cb,
			 void *arg);

/* Cancels a job: a queued one is dropped, a running one is killed. Its
 * callback then reports JOB_CANCELED, with any output captured so far; this
 * also holds when the job had finished but its callback had not run yet.
 * A no-op for unknown ids and jobs whose callback already ran. */
void executor_cancel(struct executor *ex, uint64_t job_id);

/* Starts the fork server that jobs like `job` name, before any of them is
 * submitted, so that the first one finds it warm (or nearly). Only the
 * zygote's key counts (container/forkserver.h: the container, envp,
 * working directory and fork_server_argv); the program, argv and timeout
 * are ignored. Nothing is queued: no slot is held, no id or callback
 * exists, and the call returns at once (the launch itself is synchronous,
 * as for a job). Returns true when a zygote of that key is starting or
 * ready, started now or before. Returns false and does nothing when job
 * names no fork server or has a terminal, when the key is broken (its
 * zygote failed before it was ready: jobs naming it run cold), or when
 * fork_servers_max zygotes live and none is idle; false too when the
 * launch fails, which breaks the key as a job's failed launch would
 * (logged). Once ready, a zygote no job uses is stopped after
 * fork_server_idle_s, like any idle one. */
bool executor_prewarm(struct executor *ex, const struct exec_job *job);

/* Reports every launch through cb(job's submit arg, job id), from the
 * reactor; NULL turns it off. */
void executor_on_start(struct executor *ex, executor_start_cb *cb);

/* Jobs holding a slot (running, or reaped and draining output). */
unsigned executor_running(const struct executor *ex);

/* Jobs waiting for a slot. */
unsigned executor_queued(const struct executor *ex);

/* The number of slots (cfg->slots, or the CPU count it resolved to). */
unsigned executor_slots(const struct executor *ex);

/* What the fork-server pool did so far (container/forkserver.h). */
struct fork_server_stats {
	unsigned live;          /* zygotes starting or ready now */
	uint64_t started;       /* zygotes launched */
	uint64_t prewarmed;     /* of those, launched by executor_prewarm */
	uint64_t became_ready;  /* zygotes that said they were ready */
	uint64_t failed;        /* zygotes broken before ready (never restarted) */
	uint64_t lost;          /* zygotes that died, or misbehaved, after ready */
	uint64_t warm_jobs;     /* jobs whose process a zygote forked */
	uint64_t cold_jobs;     /* jobs naming a fork server that were launched
				   cold (refused, pool full, zygote broken or lost;
				   a job lost with its zygote counts in both) */
};

void executor_fork_server_stats(const struct executor *ex, struct fork_server_stats *out);

/* Kills every running container and reaps it (blocking briefly: a killed
 * PID namespace goes away in milliseconds), drops queued jobs, frees
 * everything. No callback runs after this, not even pending ones. May be
 * called from inside an executor callback. Safe on NULL. */
void executor_free(struct executor *ex);

#endif
