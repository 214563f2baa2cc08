#include "container/local_worker.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/list.h"
#include "core/log.h"
#include "core/offload.h"
#include "core/strv.h"

/* One layer as this worker knows it. Entries live as long as the worker, so
 * `dir` pointers handed to the executor stay valid. */
enum layer_state {
	LAYER_EXTRACTING,
	LAYER_READY,
	LAYER_FAILED,
};

struct layer_entry {
	struct digest digest;
	enum layer_state state;
	char *dir;                 /* LAYER_READY */
	char *error;               /* LAYER_FAILED */
	struct offload *op;        /* LAYER_EXTRACTING */
	struct local_worker *w;
	struct layer_entry *next;
};

enum lw_job_state {
	LWJ_WAITING_LAYERS,   /* some layers are being extracted */
	LWJ_RUNNING,          /* handed to the executor */
	LWJ_FINISHING,        /* result decided, callback deferred */
};

/* A prewarm (local_worker_prewarm) is an lw_job with warm_only set and no
 * callback: it waits for its layers like a job, then hands its fork server
 * to executor_prewarm and is freed (job_prewarm_done); a layer that fails
 * just drops it. It never reaches LWJ_RUNNING nor LWJ_FINISHING. */

struct lw_job {
	uint64_t id;
	enum lw_job_state state;
	struct local_worker *w;
	executor_done_cb *cb;   /* NULL when warm_only */
	void *arg;
	bool warm_only;         /* a prewarm: no job, no callback */

	/* Owned copy of the job. */
	struct digest *layers;
	size_t n_layers;
	struct mount_spec *mounts;
	size_t n_mounts;
	enum network_mode network;
	bool writable_root;
	uint32_t user, group;
	char *working_directory;
	char **argv;          /* program first */
	char **envp;
	uint32_t timeout_s;
	char *bind_base_dir;
	char **fork_server_argv; /* NULL: none */
	bool has_tty;
	int tty_fd;           /* our dup of the caller's terminal; -1 when none */

	size_t pending_layers;
	uint64_t exec_id;
	struct job_result result; /* LWJ_FINISHING */
	struct lw_job *prev, *next; /* in w->jobs, submission order */
};

struct local_worker {
	struct reactor *r;
	struct store *store;
	struct executor *ex;
	struct layer_entry *layers;
	struct lw_job *jobs, *jobs_tail;
	uint64_t next_id;
	unsigned slots;
	executor_start_cb *on_start;
};

/* ---- jobs ---------------------------------------------------------------- */

static void job_free(struct lw_job *j)
{
	for (size_t i = 0; i < j->n_mounts; i++)
		mount_spec_release(&j->mounts[i]);
	free(j->mounts);
	free(j->layers);
	free(j->working_directory);
	strv_free(j->argv);
	strv_free(j->envp);
	free(j->bind_base_dir);
	strv_free(j->fork_server_argv);
	if (j->tty_fd >= 0)
		close(j->tty_fd);
	job_result_release(&j->result);
	free(j);
}

static void job_unlink(struct local_worker *w, struct lw_job *j)
{
	DLIST_UNLINK(w->jobs, w->jobs_tail, j);
}

static struct lw_job *job_find(struct local_worker *w, uint64_t id)
{
	for (struct lw_job *j = w->jobs; j; j = j->next)
		if (j->id == id && !j->warm_only)
			return j;
	return NULL;
}

static void job_unpin_layers(struct lw_job *j)
{
	for (size_t i = 0; i < j->n_layers; i++)
		store_unpin(j->w->store, &j->layers[i]);
}

/* Frees the job (already off the list), then hands res to its callback. */
static void job_complete(struct lw_job *j, struct job_result *res)
{
	executor_done_cb *cb = j->cb;
	void *cb_arg = j->arg;
	uint64_t id = j->id;
	job_free(j);
	cb(cb_arg, id, res);
}

/* Runs after the dispatch round: delivers the result, then frees the job. */
static void job_deliver(void *arg)
{
	struct lw_job *j = arg;
	struct job_result *res = malloc(sizeof(*res));
	if (!res)
		abort();
	*res = j->result;
	memset(&j->result, 0, sizeof(j->result));
	job_complete(j, res);
}

/* Decides a job's result without running it (cancel, layer failure). */
static void job_finish_early(struct lw_job *j, enum job_outcome outcome, const char *message)
{
	struct local_worker *w = j->w;
	job_unlink(w, j);
	job_unpin_layers(j);
	j->state = LWJ_FINISHING;
	memset(&j->result, 0, sizeof(j->result));
	j->result.outcome = outcome;
	j->result.message = message ? strdup(message) : NULL;
	reactor_defer(w->r, job_deliver, j);
}

static void on_exec_start(void *arg, uint64_t exec_id)
{
	struct lw_job *j = arg;
	(void)exec_id;
	if (j->w->on_start)
		j->w->on_start(j->arg, j->id);
}

static void on_exec_done(void *arg, uint64_t exec_id, struct job_result *res)
{
	struct lw_job *j = arg;
	(void)exec_id;
	job_unlink(j->w, j);
	job_unpin_layers(j);
	job_complete(j, res);
}

/* A prewarm is over (its zygote was asked for, or a layer failed). */
static void job_prewarm_done(struct lw_job *j)
{
	job_unlink(j->w, j);
	job_unpin_layers(j);
	job_free(j);
}

static void job_start(struct lw_job *j)
{
	struct local_worker *w = j->w;
	const char **dirs = calloc(j->n_layers ? j->n_layers : 1, sizeof(*dirs));
	if (!dirs)
		abort();
	for (size_t i = 0; i < j->n_layers; i++) {
		struct layer_entry *e = NULL;
		for (e = w->layers; e; e = e->next)
			if (digest_equal(&e->digest, &j->layers[i]))
				break;
		dirs[i] = e ? e->dir : NULL;
	}
	struct exec_job ej = {
		.container = {
			.layer_dirs = dirs,
			.n_layer_dirs = j->n_layers,
			.mounts = j->mounts,
			.n_mounts = j->n_mounts,
			.network = j->network,
			.writable_root = j->writable_root,
			.user = j->user,
			.group = j->group,
			.bind_base_dir = j->bind_base_dir,
		},
		.program = j->argv[0],
		.argv = (const char *const *)j->argv,
		.envp = (const char *const *)j->envp,
		.working_directory = j->working_directory,
		.timeout_s = j->timeout_s,
		.fork_server_argv = (const char *const *)j->fork_server_argv,
		.has_tty = j->has_tty,
		.tty_fd = j->tty_fd,
	};
	if (j->warm_only) {
		if (!executor_prewarm(w->ex, &ej))
			log_debug("local worker: no fork server started ahead for `%s` (it "
				  "failed before, or no room in the pool)",
				  j->fork_server_argv && j->fork_server_argv[0]
					  ? j->fork_server_argv[0] : "(none)");
		free(dirs);
		job_prewarm_done(j);
		return;
	}
	j->state = LWJ_RUNNING;
	j->exec_id = executor_submit(w->ex, &ej, on_exec_done, j);
	free(dirs);
	if (j->tty_fd >= 0) {
		close(j->tty_fd);   /* the executor has its own copy */
		j->tty_fd = -1;
	}
}

/* ---- layers ---------------------------------------------------------------- */

struct extract_arg {
	struct store *store;
	struct digest digest;
};

/* Runs in the offloaded child. */
static int extract_in_child(void *arg, struct buf *result, struct err **err)
{
	struct layer_entry *e = arg;
	char *dir = NULL;
	if (store_layer_dir(e->w->store, &e->digest, &dir, err) < 0)
		return -1;
	buf_append(result, dir, strlen(dir));
	free(dir);
	return 0;
}

static void layer_notify(struct local_worker *w, struct layer_entry *e)
{
	/* Walk a snapshot: finishing a job unlinks it from w->jobs. */
	struct lw_job *next;
	for (struct lw_job *j = w->jobs; j; j = next) {
		next = j->next;
		if (j->state != LWJ_WAITING_LAYERS)
			continue;
		size_t uses = 0;
		for (size_t i = 0; i < j->n_layers; i++)
			if (digest_equal(&j->layers[i], &e->digest))
				uses++;
		if (!uses)
			continue;
		if (e->state == LAYER_FAILED && j->warm_only) {
			log_debug("local worker: no fork server started ahead: %s", e->error);
			job_prewarm_done(j);
			continue;
		}
		if (e->state == LAYER_FAILED) {
			job_finish_early(j, JOB_EXECUTION_ERROR, e->error);
			continue;
		}
		j->pending_layers -= uses;
		if (j->pending_layers == 0)
			job_start(j);
	}
}

static void on_extracted(struct reactor *r, int status, const char *data, size_t len,
			 void *arg)
{
	struct layer_entry *e = arg;
	struct local_worker *w = e->w;
	(void)r;
	e->op = NULL;
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(&e->digest, hex);
	struct err *err = NULL;
	if (status == 0 && store_refresh(w->store, &e->digest, &err) < 0)
		status = -1;
	if (status == 0) {
		free(e->dir);
		e->dir = strndup(data, len);
		e->state = LAYER_READY;
		log_debug("layer %s extracted at %s", hex, e->dir);
	} else {
		free(e->error);
		if (err) {
			if (asprintf(&e->error, "layer %s: %s", hex, err_msg(err)) < 0)
				abort();
		} else if (asprintf(&e->error, "layer %s: %.*s", hex, (int)len, data) < 0) {
			abort();
		}
		e->state = LAYER_FAILED;
		log_debug("%s", e->error);
	}
	err_free(&err);
	layer_notify(w, e);
}

static struct layer_entry *layer_get(struct local_worker *w, const struct digest *d)
{
	for (struct layer_entry *e = w->layers; e; e = e->next)
		if (digest_equal(&e->digest, d))
			return e;
	struct layer_entry *e = calloc(1, sizeof(*e));
	if (!e)
		abort();
	e->digest = *d;
	e->w = w;
	e->state = LAYER_FAILED; /* not yet tried */
	e->next = w->layers;
	w->layers = e;
	return e;
}

/* Makes sure the layer is ready or being extracted. Returns true when ready. */
static bool layer_ensure(struct local_worker *w, struct layer_entry *e, struct err **err)
{
	/* A cache trim may have removed the directory since: extract again. */
	if (e->state == LAYER_READY && access(e->dir, F_OK) == 0)
		return true;
	if (e->state == LAYER_READY)
		e->state = LAYER_FAILED;
	if (e->state == LAYER_EXTRACTING)
		return false;
	/* Already extracted by an earlier run: no child needed, and
	 * store_layer_dir then only records the use (a stat and a utimensat). */
	char *dir = store_layer_dir_path(w->store, &e->digest);
	bool extracted = dir && access(dir, F_OK) == 0;
	free(dir);
	if (extracted && store_layer_dir(w->store, &e->digest, &dir, NULL) == 0) {
		free(e->dir);
		e->dir = dir;
		e->state = LAYER_READY;
		return true;
	}
	e->op = offload_start(w->r, extract_in_child, e, on_extracted, e, err);
	if (!e->op)
		return false;
	e->state = LAYER_EXTRACTING;
	return false;
}

/* ---- public ---------------------------------------------------------------- */

int local_worker_new(struct local_worker **out, struct reactor *r, struct store *store,
		     const struct executor_config *cfg, struct err **err)
{
	struct local_worker *w = calloc(1, sizeof(*w));
	if (!w)
		return err_set(err, ENOMEM, "local worker");
	w->r = r;
	w->store = store;
	w->next_id = 1;
	struct executor_config c = *cfg;
	if (c.slots == 0) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);
		c.slots = n > 0 ? (unsigned)n : 1;
	}
	w->slots = c.slots;
	if (executor_new(&w->ex, r, &c, err) < 0) {
		free(w);
		return err_wrap(err, "starting the local worker");
	}
	*out = w;
	return 0;
}

void local_worker_free(struct local_worker *w)
{
	if (!w)
		return;
	executor_free(w->ex);
	while (w->jobs) {
		struct lw_job *j = w->jobs;
		job_unlink(w, j);
		job_unpin_layers(j);
		job_free(j);
	}
	while (w->layers) {
		struct layer_entry *e = w->layers;
		w->layers = e->next;
		if (e->op)
			offload_cancel(e->op);
		free(e->dir);
		free(e->error);
		free(e);
	}
	free(w);
}

static struct mount_spec *mounts_dup(const struct mount_spec *m, size_t n)
{
	struct mount_spec *out = calloc(n ? n : 1, sizeof(*out));
	if (!out)
		abort();
	for (size_t i = 0; i < n; i++) {
		out[i] = m[i];
		out[i].mount_point = m[i].mount_point ? strdup(m[i].mount_point) : NULL;
		out[i].local_path = m[i].local_path ? strdup(m[i].local_path) : NULL;
	}
	return out;
}

/* A new lw_job holding a copy of job, appended to w->jobs (so that jobs
 * waiting on the same layer start in submission order), its layers
 * pinned. The caller sets up the terminal, then calls job_begin. */
static struct lw_job *job_new(struct local_worker *w, const struct worker_job *job,
			      executor_done_cb *cb, void *arg)
{
	struct lw_job *j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->id = cb ? w->next_id++ : 0;   /* a prewarm has no id */
	j->w = w;
	j->cb = cb;
	j->arg = arg;
	j->n_layers = job->n_layers;
	j->layers = calloc(job->n_layers ? job->n_layers : 1, sizeof(*j->layers));
	if (!j->layers)
		abort();
	memcpy(j->layers, job->layers, job->n_layers * sizeof(*j->layers));
	j->mounts = mounts_dup(job->mounts, job->n_mounts);
	j->n_mounts = job->n_mounts;
	j->network = job->network;
	j->writable_root = job->writable_root;
	j->user = job->user;
	j->group = job->group;
	j->working_directory = job->working_directory ? strdup(job->working_directory) : NULL;
	j->argv = strv_prepend(job->program ? job->program : "", job->arguments,
			       job->n_arguments);
	j->envp = strv_dup(job->envp);
	j->timeout_s = job->timeout_s;
	j->bind_base_dir = job->bind_base_dir ? strdup(job->bind_base_dir) : NULL;
	j->fork_server_argv = job->fork_server_argv ? strv_dup(job->fork_server_argv) : NULL;
	j->tty_fd = -1;
	j->state = LWJ_WAITING_LAYERS;
	DLIST_APPEND(w->jobs, w->jobs_tail, j);
	for (size_t i = 0; i < j->n_layers; i++)
		store_pin(w->store, &j->layers[i]);
	return j;
}

/* Has every layer of j extracted (or being extracted), and starts j when
 * all are there already. */
static void job_begin(struct lw_job *j)
{
	struct local_worker *w = j->w;
	struct err *err = NULL;
	for (size_t i = 0; i < j->n_layers; i++) {
		struct layer_entry *e = layer_get(w, &j->layers[i]);
		if (layer_ensure(w, e, &err))
			continue;
		if (err) {
			char hex[DIGEST_HEX_LEN + 1];
			digest_to_hex(&j->layers[i], hex);
			err_wrap(&err, "layer %s", hex);
			if (j->warm_only) {
				log_debug("local worker: no fork server started ahead: %s",
					  err_msg(err));
				job_prewarm_done(j);
			} else {
				job_finish_early(j, JOB_SYSTEM_ERROR, err_msg(err));
			}
			err_free(&err);
			return;
		}
		j->pending_layers++;
	}
	if (j->pending_layers == 0)
		job_start(j);
}

uint64_t local_worker_submit(struct local_worker *w, const struct worker_job *job,
			     executor_done_cb *cb, void *arg)
{
	struct lw_job *j = job_new(w, job, cb, arg);
	uint64_t id = j->id;
	j->has_tty = job->has_tty;
	/* The caller may close its terminal fd once this returns; the job
	 * starts later (after its layers), so keep a copy until then. */
	if (j->has_tty) {
		j->tty_fd = fcntl(job->tty_fd, F_DUPFD_CLOEXEC, 3);
		if (j->tty_fd < 0) {
			struct err *err = NULL;
			err_set(&err, errno, "cannot use the job's terminal (fd %d)", job->tty_fd);
			job_finish_early(j, JOB_SYSTEM_ERROR, err_msg(err));
			err_free(&err);
			return id;
		}
	}
	job_begin(j);
	return id;
}

void local_worker_prewarm(struct local_worker *w, const struct worker_job *job)
{
	if (!job->fork_server_argv || job->has_tty)
		return;
	struct lw_job *j = job_new(w, job, NULL, NULL);
	j->warm_only = true;
	job_begin(j);
}

void local_worker_cancel(struct local_worker *w, uint64_t id)
{
	struct lw_job *j = job_find(w, id);
	if (!j)
		return;
	switch (j->state) {
	case LWJ_WAITING_LAYERS:
		job_finish_early(j, JOB_CANCELED, "canceled");
		break;
	case LWJ_RUNNING:
		executor_cancel(w->ex, j->exec_id);
		break;
	case LWJ_FINISHING:
		break;
	}
}

unsigned local_worker_slots(const struct local_worker *w)
{
	return w->slots;
}

void local_worker_fork_server_stats(const struct local_worker *w, struct fork_server_stats *out)
{
	executor_fork_server_stats(w->ex, out);
}

void local_worker_on_start(struct local_worker *w, executor_start_cb *cb)
{
	w->on_start = cb;
	executor_on_start(w->ex, cb ? on_exec_start : NULL);
}
