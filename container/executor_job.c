/*
 * executor_job.c: one job's state machine, launch and supervision. See
 * container/executor_job.h.
 */
#include "container/executor_job.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container/launch.h"
#include "core/list.h"
#include "core/log.h"

/* After PID 1 was reaped, how long a pipe may stay open before the job is
 * completed anyway. Only a writer outside the PID namespace can hold one. */
#define GRACE_NS (1000ull * 1000 * 1000)

static void job_advance(struct job *j);

/* ---- lists ------------------------------------------------------------ */

void job_list_push(struct job_list *l, struct job *j)
{
	DLIST_APPEND(l->head, l->tail, j);
	l->n++;
}

void job_list_remove(struct job_list *l, struct job *j)
{
	DLIST_UNLINK(l->head, l->tail, j);
	l->n--;
}

static struct job_list *state_list(struct executor *ex, enum job_state s)
{
	switch (s) {
	case JS_QUEUED: return &ex->queued;
	case JS_WARM_WAIT: return &ex->active;
	case JS_RUNNING: return &ex->active;
	case JS_REAPED_DRAINING: return &ex->active;
	case JS_DONE: return &ex->done;
	}
	return NULL;
}

/* ---- copies of the caller's data ------------------------------------- */

static char *arena_str(struct arena *a, const char *s)
{
	return s ? arena_strdup(a, s) : NULL;
}

const char *const *executor_arena_strv(struct arena *a, const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	const char **copy = arena_alloc(a, (n + 1) * sizeof(*copy), _Alignof(char *));
	for (size_t i = 0; i < n; i++)
		copy[i] = arena_strdup(a, v[i]);
	return copy;
}

/* ---- the state machine ------------------------------------------------- */

/* Moves j to state s (and to that state's list). */
static void job_enter(struct job *j, enum job_state s)
{
	struct executor *ex = j->ex;
	struct job_list *from = state_list(ex, j->state), *to = state_list(ex, s);
	if (from != to) {
		job_list_remove(from, j);
		job_list_push(to, j);
	}
	j->state = s;
	if (s == JS_DONE)
		executor_kick(ex);
}

/* Stops watching and closes one stream, keeping what it captured,
 * including what still sits in the pipe. */
static void job_close_stream(struct job *j, struct capture *c)
{
	if (c->fd >= 0) {
		if (!c->eof)
			capture_read(c);
		reactor_del_fd(j->ex->r, c->fd);
		capture_close(c);
	}
}

/* Stops watching a stream and forgets what it captured (a lost warm
 * attempt's output). */
static void job_drop_stream(struct job *j, struct capture *c)
{
	if (c->fd >= 0)
		reactor_del_fd(j->ex->r, c->fd);
	capture_release(c);
	capture_init(c, -1, j->ex->inline_limit);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void job_kill(struct job *j)
{
	if (j->pidfd < 0)
		return;
	int ret = container_kill(j->pidfd);
	if (ret < 0)
		log_warning("executor: cannot kill job %" PRIu64 ": %s", j->id, strerror(-ret));
}

/* Kills (if asked) and reaps PID 1 now, blocking until it is gone. A warm
 * job's process is its zygote's child: it is only killed, and its zygote
 * (or executor_free) reaps it. */
static void job_reap_now(struct job *j, bool kill_first)
{
	if (j->pidfd < 0)
		return;
	if (kill_first)
		job_kill(j);
	if (!j->not_child) {
		reactor_del_fd(j->ex->r, j->pidfd);
		siginfo_t info;
		while (waitid((idtype_t)P_PIDFD, (id_t)j->pidfd, &info, WEXITED) < 0 &&
		       errno == EINTR)
			;
	}
	close_fd(&j->pidfd);
}

static void job_cancel_timers(struct job *j)
{
	struct reactor *r = j->ex->r;
	reactor_timer_cancel(r, j->timeout_timer);
	reactor_timer_cancel(r, j->grace_timer);
	j->timeout_timer = j->grace_timer = 0;
}

/* Leaves every reactor registration and releases the job's OS resources;
 * a job still running is killed (unless already killed) and reaped. */
static void job_unwatch(struct job *j, bool kill_first)
{
	job_cancel_timers(j);
	job_close_stream(j, &j->out);
	job_close_stream(j, &j->err);
	close_fd(&j->wfd[0]);
	close_fd(&j->wfd[1]);
	close_fd(&j->tty_fd);
	job_reap_now(j, kill_first);
}

static void result_set_canceled(struct job_result *res)
{
	free(res->message);
	res->message = NULL;
	res->outcome = JOB_CANCELED;
	res->code = 0;
}

/* Fixes the result from the recorded facts. */
static void job_fill_result(struct job *j)
{
	struct job_result *res = &j->res;
	if (j->stop == STOP_CANCEL) {
		result_set_canceled(res);
	} else if (j->failed) {
		/* outcome and message were set by job_fail */
	} else if (j->stop == STOP_TIMEOUT) {
		res->outcome = JOB_TIMED_OUT;
		if (asprintf(&res->message, "timed out after %" PRIu32 " s", j->spec.timeout_s) < 0)
			abort(); /* out of memory */
	} else if (j->status.signaled) {
		res->outcome = JOB_SIGNALED;
		res->code = j->status.code;
	} else {
		res->outcome = JOB_EXITED;
		res->code = j->status.code;
	}
	capture_take(&j->out, &res->out);
	capture_take(&j->err, &res->err);
	if (j->launched)
		res->duration_ns = (j->reaped ? j->ended_ns : reactor_now_ns()) - j->started_ns;
}

static void job_complete(struct job *j)
{
	forkserver_pool_detach(j->ex->zygotes, j);
	job_unwatch(j, true);
	job_fill_result(j);
	job_enter(j, JS_DONE);
}

static void on_grace(struct reactor *r, void *arg)
{
	(void)r;
	struct job *j = arg;
	j->grace_timer = 0;
	j->grace_over = true;
	log_debug("executor: job %" PRIu64 ": output still open %llu ms after exit; "
		  "completing without it", j->id, GRACE_NS / 1000000);
	job_advance(j);
}

/* The job's one transition function. QUEUED -> RUNNING (or WARM_WAIT) also
 * needs a slot: the executor grants it by calling job_start. */
static void job_advance(struct job *j)
{
	switch (j->state) {
	case JS_QUEUED:
	case JS_WARM_WAIT:
		/* A canceled warm job waits here while its zygote may be forking
		 * it (still attached): the pid comes, and it is killed. */
		if (j->failed || (j->stop == STOP_CANCEL && !j->launched && !j->zygote))
			job_complete(j);
		else if (j->launched)
			job_enter(j, JS_RUNNING);
		return;
	case JS_RUNNING:
		if (!j->reaped)
			return;
		reactor_timer_cancel(j->ex->r, j->timeout_timer);
		j->timeout_timer = 0;
		job_enter(j, JS_REAPED_DRAINING);
		if (!(j->out.eof && j->err.eof))
			j->grace_timer = reactor_timer_add(j->ex->r, GRACE_NS, on_grace, j);
		/* fall through */
	case JS_REAPED_DRAINING:
		if ((j->out.eof && j->err.eof) || j->grace_over || j->stop == STOP_CANCEL)
			job_complete(j);
		return;
	case JS_DONE:
		return;
	}
}

/* ---- event handlers ---------------------------------------------------- */

static void on_pidfd(struct reactor *r, int fd, uint32_t events, void *arg)
{
	(void)events;
	struct job *j = arg;
	siginfo_t info;
	memset(&info, 0, sizeof(info));
	int ret;
	do
		ret = waitid((idtype_t)P_PIDFD, (id_t)fd, &info, WEXITED | WNOHANG);
	while (ret < 0 && errno == EINTR);
	if (ret == 0 && info.si_pid == 0)
		return; /* not exited yet */
	if (ret < 0) {
		/* E.g. ECHILD: the program set SIGCHLD to SIG_IGN, so the kernel
		 * reaped the job itself and threw its status away. */
		struct err *e = NULL;
		err_set(&e, errno, "cannot learn how the job ended");
		j->failed = true;
		j->res.outcome = JOB_SYSTEM_ERROR;
		j->res.message = strdup(err_msg(e));
		err_free(&e);
		if (!j->res.message)
			abort(); /* out of memory */
	} else {
		bool exited = info.si_code == CLD_EXITED;
		j->status = (struct child_status){ .signaled = !exited, .code = info.si_status };
	}
	j->ended_ns = reactor_now_ns();
	reactor_del_fd(r, fd);
	close(fd);
	j->pidfd = -1;
	j->reaped = true;
	job_advance(j);
}

static void on_output(struct reactor *r, int fd, uint32_t events, void *arg)
{
	(void)r;
	(void)events;
	struct job *j = arg;
	struct capture *c = fd == j->out.fd ? &j->out : &j->err;
	if (capture_read(c)) {
		job_close_stream(j, c);
		job_advance(j);
	}
}

static void on_timeout(struct reactor *r, void *arg)
{
	(void)r;
	struct job *j = arg;
	j->timeout_timer = 0;
	if (j->stop == STOP_NONE)
		j->stop = STOP_TIMEOUT;
	job_kill(j);
}

/* ---- starting a job -------------------------------------------------- */

/* Records a failure before or during launch; takes *e. */
static void job_fail(struct job *j, enum job_outcome outcome, struct err **e)
{
	j->failed = true;
	j->res.outcome = outcome;
	j->res.message = strdup(err_msg(*e));
	if (!j->res.message)
		abort(); /* out of memory */
	err_free(e);
	job_advance(j);
}

int executor_output_pipe(int fds[2], struct err **err)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return err_set(err, errno, "cannot create an output pipe");
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0) {
		int saved = errno;
		close(fds[0]);
		close(fds[1]);
		fds[0] = fds[1] = -1;
		return err_set(err, saved, "cannot make an output pipe non-blocking");
	}
	return 0;
}

/* Opens both output pipes: the read ends captured and watched, the write
 * ends in j->wfd until they are handed to the job. */
static int job_open_pipes(struct job *j, struct err **err)
{
	struct executor *ex = j->ex;
	int out[2], errp[2];
	if (executor_output_pipe(out, err) < 0)
		return -1;
	if (executor_output_pipe(errp, err) < 0) {
		close(out[0]);
		close(out[1]);
		return -1;
	}
	capture_init(&j->out, out[0], ex->inline_limit);
	capture_init(&j->err, errp[0], ex->inline_limit);
	j->wfd[0] = out[1];
	j->wfd[1] = errp[1];
	if (reactor_add_fd(ex->r, j->out.fd, EPOLLIN, on_output, j, err) < 0 ||
	    reactor_add_fd(ex->r, j->err.fd, EPOLLIN, on_output, j, err) < 0)
		return err_wrap(err, "cannot watch the job's output");
	return 0;
}

static enum job_outcome launch_outcome(enum launch_failure f)
{
	switch (f) {
	case LAUNCH_EXECUTION_ERROR: return JOB_EXECUTION_ERROR;
	case LAUNCH_SYSTEM_ERROR: return JOB_SYSTEM_ERROR;
	case LAUNCH_OK: return JOB_SYSTEM_ERROR; /* failed without saying why */
	}
	return JOB_SYSTEM_ERROR;
}

static void job_arm_timeout(struct job *j)
{
	if (j->spec.timeout_s)
		j->timeout_timer = reactor_timer_add(j->ex->r, j->spec.timeout_s * 1000000000ull,
						     on_timeout, j);
}

static void job_report_start(struct job *j)
{
	if (j->start_reported)
		return;
	j->start_reported = true;
	if (j->ex->on_start)
		j->ex->on_start(j->cb_arg, j->id);
}

/* Launches the job's own container (a cold start): stdin from /dev/null
 * and output on pipes, or everything on its terminal. Ends RUNNING, or
 * DONE on failure. */
static void job_launch_cold(struct job *j)
{
	struct executor *ex = j->ex;
	struct err *e = NULL;
	bool tty = j->spec.has_tty;
	if (j->spec.fork_server_argv && !tty)
		forkserver_pool_count_cold(ex->zygotes);
	const struct mount_plan *plan = plan_cache_get(&ex->plans, &j->spec.container, &e);
	if (!plan) {
		job_fail(j, JOB_EXECUTION_ERROR, &e);
		return;
	}
	if (!tty && j->out.fd < 0 && job_open_pipes(j, &e) < 0) {
		job_fail(j, JOB_SYSTEM_ERROR, &e);
		return;
	}
	struct launch_request req = {
		.plan = plan,
		.program = j->spec.program,
		.argv = j->spec.argv,
		.envp = j->spec.envp,
		.working_directory = j->spec.working_directory,
		.stdin_fd = tty ? j->tty_fd : ex->devnull,
		.stdout_fd = tty ? j->tty_fd : j->wfd[0],
		.stderr_fd = tty ? j->tty_fd : j->wfd[1],
		.netns_pool = ex->netpool,
		.controlling_tty = tty,
	};
	struct launch_result lr = { .pidfd = -1, .pid = 0 };
	enum launch_failure failure = LAUNCH_OK;
	j->started_ns = reactor_now_ns();
	int ret = container_launch(&req, &lr, &failure, &e);
	close_fd(&j->wfd[0]);
	close_fd(&j->wfd[1]);
	close_fd(&j->tty_fd);
	if (ret < 0) {
		job_fail(j, launch_outcome(failure), &e);
		return;
	}
	j->pidfd = lr.pidfd;
	j->not_child = false;
	if (reactor_add_fd(ex->r, j->pidfd, EPOLLIN, on_pidfd, j, &e) < 0) {
		err_wrap(&e, "cannot watch the job");
		job_unwatch(j, true);
		job_fail(j, JOB_SYSTEM_ERROR, &e);
		return;
	}
	job_arm_timeout(j);
	j->launched = true;
	job_advance(j);
	job_report_start(j);   /* RUNNING: a cancel from there kills it */
}

/* Hands the job to its zygote. Returns false when it must run cold (its
 * pipes stay open for that). */
static bool job_start_warm(struct job *j)
{
	struct err *e = NULL;
	if (job_open_pipes(j, &e) < 0) {
		job_fail(j, JOB_SYSTEM_ERROR, &e);
		return true;
	}
	job_enter(j, JS_WARM_WAIT);
	return forkserver_pool_attach(j->ex->zygotes, j);
}

void job_start(struct job *j)
{
	if (j->spec.fork_server_argv && !j->spec.has_tty && !j->warm_tried) {
		j->warm_tried = true;
		if (job_start_warm(j))
			return;
	}
	job_launch_cold(j);
}

/* ---- warm jobs (called by the zygote pool) ---------------------------- */

void job_warm_sent(struct job *j)
{
	close_fd(&j->wfd[0]);
	close_fd(&j->wfd[1]);
	j->started_ns = reactor_now_ns();
	job_arm_timeout(j);
}

void job_warm_running(struct job *j, int pidfd)
{
	j->pidfd = pidfd;
	j->not_child = true;
	j->launched = true;
	if (j->stop != STOP_NONE)
		job_kill(j);   /* timed out or canceled while the zygote forked it */
	job_advance(j);
	job_report_start(j);
}

void job_warm_ended(struct job *j, struct child_status st)
{
	j->status = st;
	j->reaped = true;
	j->ended_ns = reactor_now_ns();
	close_fd(&j->pidfd);
	job_advance(j);
}

void job_warm_fallback(struct job *j)
{
	j->warm = WARM_NONE;
	if (j->stop != STOP_NONE) {
		/* The executor killed it, or was about to: that is the result. */
		job_complete(j);
		return;
	}
	log_debug("executor: job %" PRIu64 ": launching it cold", j->id);
	job_enter(j, JS_WARM_WAIT);   /* not launched (any more) */
	job_cancel_timers(j);
	job_drop_stream(j, &j->out);
	job_drop_stream(j, &j->err);
	close_fd(&j->wfd[0]);
	close_fd(&j->wfd[1]);
	close_fd(&j->pidfd);
	j->not_child = false;
	j->launched = false;
	j->reaped = false;
	j->grace_over = false;
	j->status = (struct child_status){ 0 };
	job_launch_cold(j);
}

/* ---- life and death -------------------------------------------------- */

/* A terminal job's pty belongs to the host's devpts, which a new devpts
 * instance cannot show: the container's devpts mounts become binds of the
 * host's /dev/pts instead, so that ttyname() (`tty`, programs that reopen
 * their terminal by name) finds the terminal by its device number there.
 * Terminal jobs only run on the user's own machine (core/spec.h). */
static void job_tty_devpts(struct job *j)
{
	struct mount_spec *m = (struct mount_spec *)j->spec.container.mounts;
	for (size_t i = 0; i < j->spec.container.n_mounts; i++) {
		if (m[i].kind != MOUNT_DEVPTS)
			continue;
		m[i].kind = MOUNT_BIND;
		m[i].local_path = "/dev/pts";
		m[i].read_only = false;
	}
}

struct job *job_new(struct executor *ex, const struct exec_job *job, executor_done_cb *cb,
		    void *arg)
{
	struct job *j = calloc(1, sizeof(*j));
	if (!j)
		abort(); /* out of memory */
	j->ex = ex;
	j->id = ex->next_id++;
	j->cb = cb;
	j->cb_arg = arg;
	j->pidfd = -1;
	j->tty_fd = -1;
	j->wfd[0] = j->wfd[1] = -1;
	capture_init(&j->out, -1, ex->inline_limit);
	capture_init(&j->err, -1, ex->inline_limit);
	arena_init(&j->mem);
	plan_cache_copy_desc(&j->mem, &j->spec.container, &job->container);
	j->spec.program = arena_str(&j->mem, job->program);
	if (job->argv) {
		j->spec.argv = executor_arena_strv(&j->mem, job->argv);
	} else {
		const char *argv0[] = { job->program, NULL };
		j->spec.argv = executor_arena_strv(&j->mem, argv0);
	}
	j->spec.envp = executor_arena_strv(&j->mem, job->envp);
	j->spec.working_directory = arena_str(&j->mem, job->working_directory);
	j->spec.timeout_s = job->timeout_s;
	if (job->fork_server_argv)
		j->spec.fork_server_argv = executor_arena_strv(&j->mem, job->fork_server_argv);
	j->spec.has_tty = job->has_tty;
	j->spec.tty_fd = -1;
	if (job->has_tty)
		job_tty_devpts(j);
	j->state = JS_QUEUED;
	job_list_push(&ex->queued, j);
	struct err *e = NULL;
	if (!j->spec.program) {
		err_set(&e, 0, "the job has no program to run");
		job_fail(j, JOB_EXECUTION_ERROR, &e);
	} else if (job->has_tty) {
		/* The terminal has no output to capture: both streams are over
		 * before they begin. */
		j->out.eof = j->err.eof = true;
		j->tty_fd = fcntl(job->tty_fd, F_DUPFD_CLOEXEC, 3);
		if (j->tty_fd < 0) {
			err_set(&e, errno, "cannot use the job's terminal (fd %d)", job->tty_fd);
			job_fail(j, JOB_SYSTEM_ERROR, &e);
		}
	}
	return j;
}

void job_cancel(struct job *j)
{
	j->stop = STOP_CANCEL;
	switch (j->state) {
	case JS_RUNNING:
		/* Completes once PID 1 is reaped, so the slot really is free. */
		job_kill(j);
		break;
	case JS_DONE:
		/* Finished, callback pending: report the cancel all the same. */
		result_set_canceled(&j->res);
		break;
	case JS_WARM_WAIT:
		/* Unless the zygote may be forking it right now, it just goes. */
		if (forkserver_pool_cancel(j->ex->zygotes, j))
			job_advance(j);
		break;
	case JS_QUEUED:
	case JS_REAPED_DRAINING:
		job_advance(j);
		break;
	}
}

void job_abandon(struct job *j)
{
	job_unwatch(j, false);
}

void job_free(struct job *j)
{
	capture_release(&j->out);
	capture_release(&j->err);
	close_fd(&j->wfd[0]);
	close_fd(&j->wfd[1]);
	close_fd(&j->tty_fd);
	job_result_release(&j->res);
	arena_release(&j->mem);
	free(j);
}
