/*
 * executor.c: slots, the FIFO queue, delivery of results, the public entry
 * points. Jobs themselves are in container/executor_job.c.
 *
 * Finished jobs wait in the `done` list; a zero-delay "kick" timer delivers
 * their callbacks and then starts queued jobs while slots are free. User
 * callbacks therefore only ever run from on_kick: never from inside an
 * executor call, nor from one of a job's own reactor callbacks, and jobs are
 * freed there, after they left every reactor registration.
 */
#include "container/executor.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "container/executor_job.h"
#include "core/cleanup.h"
#include "core/log.h"

const char *job_outcome_name(enum job_outcome outcome)
{
	switch (outcome) {
	case JOB_EXITED: return "exited";
	case JOB_SIGNALED: return "signaled";
	case JOB_TIMED_OUT: return "timed out";
	case JOB_EXECUTION_ERROR: return "execution error";
	case JOB_SYSTEM_ERROR: return "system error";
	case JOB_CANCELED: return "canceled";
	}
	return "unknown";
}

void job_result_release(struct job_result *r)
{
	free(r->message);
	free(r->worker);
	captured_release(&r->out);
	captured_release(&r->err);
	memset(r, 0, sizeof(*r));
}

void job_result_free(struct job_result *r)
{
	if (!r)
		return;
	job_result_release(r);
	free(r);
}

/* ---- delivery and slots ------------------------------------------------ */

/* Hands j's result to its callback; j is no longer in any list. */
static void job_deliver(struct job *j)
{
	struct job_result *res = malloc(sizeof(*res));
	if (!res)
		abort(); /* out of memory */
	*res = j->res;
	memset(&j->res, 0, sizeof(j->res));
	executor_done_cb *cb = j->cb;
	void *arg = j->cb_arg;
	uint64_t id = j->id;
	job_free(j);
	cb(arg, id, res);
}

/* Delivers finished jobs, then fills free slots from the queue, until
 * neither is possible (callbacks may finish, cancel or submit jobs). */
static void on_kick(struct reactor *r, void *arg)
{
	(void)r;
	struct executor *ex = arg;
	ex->kick_timer = 0;
	ex->delivering = true;
	for (;;) {
		struct job *j = ex->done.head;
		if (j) {
			job_list_remove(&ex->done, j);
			job_deliver(j);
			if (ex->freed) {
				free(ex);
				return;
			}
		} else if (ex->queued.head && ex->active.n < ex->slots) {
			job_start(ex->queued.head);
		} else {
			break;
		}
	}
	ex->delivering = false;
}

void executor_kick(struct executor *ex)
{
	if (!ex->kick_timer && !ex->delivering)
		ex->kick_timer = reactor_timer_add(ex->r, 0, on_kick, ex);
}

/* ---- public ------------------------------------------------------------ */

static void list_free(struct job_list *l)
{
	while (l->head) {
		struct job *j = l->head;
		job_list_remove(l, j);
		job_free(j);
	}
}

/* Kills and reaps every container and frees everything but ex itself. */
static void executor_teardown(struct executor *ex)
{
	reactor_timer_cancel(ex->r, ex->kick_timer);
	ex->kick_timer = 0;
	/* Kill them all first, so they die in parallel, then reap each. The
	 * pool kills and reaps the zygotes, and with them their jobs. */
	for (struct job *j = ex->active.head; j; j = j->next)
		job_kill(j);
	forkserver_pool_free(ex->zygotes);
	ex->zygotes = NULL;
	for (struct job *j = ex->active.head; j; j = j->next)
		job_abandon(j);
	list_free(&ex->active);
	list_free(&ex->queued);
	list_free(&ex->done);
	plan_cache_release(&ex->plans);
	netns_pool_free(ex->netpool);
	ex->netpool = NULL;
	if (ex->devnull >= 0)
		close(ex->devnull);
	ex->devnull = -1;
	if (ex->own_scratch && ex->scratch_dir && rmdir(ex->scratch_dir) < 0)
		log_warning("executor: cannot remove scratch directory %s: %s", ex->scratch_dir,
			    strerror(errno));
	free(ex->scratch_dir);
	ex->scratch_dir = NULL;
}

static unsigned cpu_count(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

static int scratch_make(struct executor *ex, const char *dir, struct err **err)
{
	if (dir) {
		ex->scratch_dir = strdup(dir);
	} else {
		const char *tmp = getenv("TMPDIR");
		if (asprintf(&ex->scratch_dir, "%s/maelstrom-root-XXXXXX",
			     tmp && *tmp ? tmp : "/tmp") < 0)
			ex->scratch_dir = NULL;
		if (ex->scratch_dir && !mkdtemp(ex->scratch_dir))
			return err_set(err, errno, "cannot create a scratch directory %s",
				       ex->scratch_dir);
		ex->own_scratch = true;
	}
	if (!ex->scratch_dir)
		abort(); /* out of memory */
	return 0;
}

int executor_new(struct executor **out, struct reactor *r, const struct executor_config *cfg,
		 struct err **err)
{
	struct executor *ex = calloc(1, sizeof(*ex));
	if (!ex)
		abort(); /* out of memory */
	ex->r = r;
	ex->slots = cfg->slots ? cfg->slots : cpu_count();
	ex->inline_limit = cfg->inline_limit;
	ex->next_id = 1;
	ex->devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (ex->devnull < 0) {
		err_set(err, errno, "cannot open /dev/null for the jobs' standard input");
		goto fail;
	}
	if (scratch_make(ex, cfg->scratch_dir, err) < 0)
		goto fail;
	plan_cache_init(&ex->plans, ex->scratch_dir);
	/* One reusable network namespace per slot and mode keeps their
	 * creation and teardown off the launch path (container/netpool.h). */
	if (!cfg->no_netns_pool)
		ex->netpool = netns_pool_new(ex->slots);
	ex->zygotes = forkserver_pool_new(ex, cfg);
	*out = ex;
	return 0;
fail:
	executor_teardown(ex);
	free(ex);
	return err_wrap(err, "cannot start the executor");
}

uint64_t executor_submit(struct executor *ex, const struct exec_job *job, executor_done_cb *cb,
			 void *arg)
{
	struct job *j = job_new(ex, job, cb, arg);
	executor_kick(ex);
	return j->id;
}

static struct job *job_find(struct executor *ex, uint64_t id)
{
	struct job_list *lists[] = { &ex->active, &ex->queued, &ex->done };
	for (size_t i = 0; i < ARRAY_SIZE(lists); i++)
		for (struct job *j = lists[i]->head; j; j = j->next)
			if (j->id == id)
				return j;
	return NULL;
}

void executor_cancel(struct executor *ex, uint64_t job_id)
{
	struct job *j = job_find(ex, job_id);
	if (j)
		job_cancel(j);
}

unsigned executor_running(const struct executor *ex)
{
	return ex->active.n;
}

unsigned executor_queued(const struct executor *ex)
{
	return ex->queued.n;
}

unsigned executor_slots(const struct executor *ex)
{
	return ex->slots;
}

void executor_free(struct executor *ex)
{
	if (!ex)
		return;
	executor_teardown(ex);
	if (ex->delivering)
		ex->freed = true; /* on_kick frees ex once the callback returns */
	else
		free(ex);
}

bool executor_prewarm(struct executor *ex, const struct exec_job *job)
{
	if (!job->fork_server_argv || !job->fork_server_argv[0] || job->has_tty)
		return false;
	/* The key as a submitted job's copy has it (job_new): envp NULL is
	 * the empty environment. */
	static const char *const no_env[] = { NULL };
	struct exec_job spec = *job;
	if (!spec.envp)
		spec.envp = no_env;
	return forkserver_pool_prewarm(ex->zygotes, &spec);
}

void executor_fork_server_stats(const struct executor *ex, struct fork_server_stats *out)
{
	forkserver_pool_stats(ex->zygotes, out);
}

void executor_on_start(struct executor *ex, executor_start_cb *cb)
{
	ex->on_start = cb;
}
