/*
 * executor_job: one job of the executor as an explicit state machine.
 * Internal to the executor (container/executor.c); see container/executor.h
 * for the public contract.
 *
 *     QUEUED --job_start--> RUNNING --reaped--> REAPED_DRAINING --EOF x2--> DONE
 *        \--launch failure, cancel------------------------------------------/
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
#include "container/netpool.h"
#include "container/executor_plans.h"
#include "core/arena.h"
#include "core/reactor.h"

enum job_state {
	JS_QUEUED,           /* in ex->queued, waiting for a slot */
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
	struct capture out, err;
	uint64_t timeout_timer, grace_timer;
	uint64_t started_ns, ended_ns;
	struct job_result res;       /* final once DONE */
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
	struct job_list active;      /* RUNNING and REAPED_DRAINING */
	struct job_list done;        /* DONE, in completion order */
	uint64_t kick_timer;
	bool delivering;             /* on_kick is running */
	bool freed;                  /* executor_free ran inside on_kick */
	struct plan_cache plans;
	struct netns_pool *netpool;  /* network namespaces made ahead, reused */
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

/* Frees the job's memory; it must be in no list and hold no OS resource. */
void job_free(struct job *j);

/* Defined in executor.c: schedules delivery of DONE jobs (and refilling
 * slots) after the current dispatch round. */
void executor_kick(struct executor *ex);

#endif
