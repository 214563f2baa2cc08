/*
 * executor_job: one job of the executor as an explicit state machine.
 * Internal to the executor (container/executor.c); see container/executor.h
 * for the public contract.
 *
 *     QUEUED --job_start--> RUNNING --reaped--> REAPED_DRAINING --EOF x2--> DONE
 *        \--launch failure, cancel------------------------------------------/
 *
 * A job naming a fork server (container/forkserver.h) goes through the
 * zygote pool (container/forkserver_pool.h) instead of being launched:
 *
 *     QUEUED --job_start--> WARM_WAIT --pid from the zygote--> RUNNING ...
 *                              \--refused, zygote broken or lost--> (cold launch) RUNNING
 *
 * For such a job "reaped" means that the zygote reported how its process
 * ended (it is the zygote's child, not ours: its pidfd only serves to kill
 * it). A warm job whose zygote dies before that is launched again cold,
 * with fresh pipes, unless the executor had killed it (time-out, cancel).
 *
 * An interactive job (has_tty) runs cold with the terminal as stdin,
 * stdout and stderr: nothing is captured, both streams count as ended from
 * the start, so it completes once reaped.
 *
 * Event handlers (pidfd, pipes, timers, cancel) only record facts about the
 * job (reaped, stream ended, grace over, why it was stopped) and call
 * job_advance(), the one place where a job changes state. Entering DONE
 * frees every OS resource of the job (fds, timers, reactor registrations,
 * the reaped child) and asks the executor to deliver the result
 * (executor_kick), which happens later, outside any of the job's callbacks.
 *
 * The pidfd is watched with reactor_add_fd and reaped here (waitid P_PIDFD)
 * rather than with reactor_watch_child: executor_free must kill and reap
 * every container synchronously and leave no registration behind, and the
 * reactor has no way to stop watching a child.
 */
#ifndef CONTAINER_EXECUTOR_JOB_H
#define CONTAINER_EXECUTOR_JOB_H

#include <stdbool.h>
#include <stdint.h>

#include "container/capture.h"
#include "container/executor.h"
#include "container/executor_plans.h"
#include "container/forkserver_pool.h"
#include "container/netpool.h"
#include "core/arena.h"
#include "core/reactor.h"

enum job_state {
	JS_QUEUED,           /* in ex->queued, waiting for a slot */
	JS_WARM_WAIT,        /* holds a slot; attached to a zygote, which has not
				forked the job yet (see job->warm) */
	JS_RUNNING,          /* launched, PID 1 alive; holds a slot */
	JS_REAPED_DRAINING,  /* PID 1 reaped, a pipe still open; holds a slot */
	JS_DONE,             /* result fixed, in ex->done until delivered */
};

/* Why the executor killed a job. */
enum job_stop {
	STOP_NONE,
	STOP_TIMEOUT,
	STOP_CANCEL,
};

/* Where a job stands with its zygote; managed by the pool. */
enum warm_phase {
	WARM_NONE,           /* not attached to a zygote */
	WARM_WAIT_READY,     /* the zygote is starting */
	WARM_TO_SEND,        /* the request waits for room on the socket */
	WARM_SENT,           /* request sent, no pid nor refusal yet */
	WARM_RUNNING,        /* the zygote sent the pid */
	WARM_ENDED,          /* the zygote reported the exit */
};

struct zygote;

struct job {
	struct executor *ex;
	uint64_t id;
	enum job_state state;
	struct job *prev, *next;     /* in the list of its state */
	executor_done_cb *cb;
	void *cb_arg;
	struct arena mem;            /* holds spec's strings and arrays */
	struct exec_job spec;

	/* Facts recorded by the event handlers. */
	bool failed;                 /* no exit status: res.outcome and
					res.message say why */
	bool launched;
	bool reaped;
	bool grace_over;
	enum job_stop stop;
	struct child_status status;

	int pidfd;                   /* -1 before launch and once reaped */
	bool not_child;              /* pidfd came from a zygote: kill it, never
					wait for it */
	int tty_fd;                  /* has_tty: our dup of the terminal; else -1 */
	int wfd[2];                  /* write ends of the output pipes until
					they are handed to the job (or -1) */
	struct capture out, err;
	uint64_t timeout_timer, grace_timer;
	uint64_t started_ns, ended_ns;
	struct job_result res;       /* final once DONE */

	/* Warm launch (container/forkserver_pool.h). */
	struct zygote *zygote;       /* attached to it; NULL otherwise */
	enum warm_phase warm;
	bool warm_tried;             /* went to the pool once: reruns are cold */
	bool start_reported;         /* on_start ran */
	uint64_t warm_sent_ns;       /* when the request was sent */
};

struct job_list {
	struct job *head, *tail;
	unsigned n;
};

struct executor {
	struct reactor *r;
	unsigned slots;
	size_t inline_limit;
	char *scratch_dir;
	bool own_scratch;            /* made by us: removed at free */
	int devnull;                 /* every job's stdin */
	uint64_t next_id;
	struct job_list queued;      /* QUEUED, in submission order */
	struct job_list active;      /* WARM_WAIT, RUNNING and REAPED_DRAINING */
	struct job_list done;        /* DONE, in completion order */
	uint64_t kick_timer;
	bool delivering;             /* on_kick is running */
	bool freed;                  /* executor_free ran inside on_kick */
	struct plan_cache plans;
	struct netns_pool *netpool;  /* network namespaces made ahead, reused */
	struct forkserver_pool *zygotes; /* warm containers */
	executor_start_cb *on_start; /* optional launch report */
};

void job_list_push(struct job_list *l, struct job *j);
void job_list_remove(struct job_list *l, struct job *j);

/* Copies the job and queues it (QUEUED, at the end of ex->queued). A job
 * without a program goes straight to DONE with an execution error. */
struct job *job_new(struct executor *ex, const struct exec_job *spec, executor_done_cb *cb,
		    void *arg);

/* Launches a QUEUED job; the caller has checked that a slot is free. Ends
 * RUNNING, or DONE when compiling or launching failed. */
void job_start(struct job *j);

/* Cancels the job in whatever state it is (see executor_cancel). */
void job_cancel(struct job *j);

/* Sends SIGKILL to a job's container if it runs (for executor_free, which
 * kills every job before reaping any). */
void job_kill(struct job *j);

/* Leaves every registration and reaps the container, which must be dead or
 * dying (job_kill); blocks until it is gone. For executor_free. */
void job_abandon(struct job *j);

/* ---- for the zygote pool (container/forkserver_pool.c) ---- */

/* The pool sent j's request (with j->wfd, which this closes): its clock
 * and time-out start now. */
void job_warm_sent(struct job *j);

/* The zygote forked j: pidfd (now j's) lets the executor kill it. */
void job_warm_running(struct job *j, int pidfd);

/* The zygote reported how j's process ended. */
void job_warm_ended(struct job *j, struct child_status st);

/* The zygote refused j, or broke or died before reporting its end; j is
 * no longer attached. Runs j cold (fresh pipes, output so far dropped), or
 * completes it when the executor had stopped it (time-out, cancel). */
void job_warm_fallback(struct job *j);

/* Frees the job's memory; it must be in no list and hold no OS resource. */
void job_free(struct job *j);

/* A pipe for a job's output: the read end (fds[0], ours) non-blocking, both
 * close-on-exec (the launcher dup2s the write end into the job, which
 * clears the flag). */
int executor_output_pipe(int fds[2], struct err **err);

/* Copies a NULL-terminated vector and its strings into a (NULL gives an
 * empty vector). */
const char *const *executor_arena_strv(struct arena *a, const char *const *v);

/* Defined in executor.c: schedules delivery of DONE jobs (and refilling
 * slots) after the current dispatch round. */
void executor_kick(struct executor *ex);

#endif
