#include "runners/client.h"

#include <errno.h>
#include <stdio.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/envexpand.h"
#include "core/list.h"
#include "core/log.h"
#include "core/offload.h"
#include "core/spec_json.h"
#include "core/strv.h"

extern char **environ;

/* A distinct layer spec, keyed by its canonical JSON. */
enum build_state {
	BUILD_RUNNING,
	BUILD_READY,
	BUILD_FAILED,
};

struct build {
	char *key;
	struct layer_spec *spec;   /* borrowed from the first job that asked */
	enum build_state state;
	struct digest digest;      /* BUILD_READY */
	char *error;               /* BUILD_FAILED */
	struct offload *op;        /* BUILD_RUNNING */
	struct client *c;
	struct build *next;
};

enum cjob_state {
	CJOB_BUILDING,    /* waiting for layer builds */
	CJOB_RUNNING,     /* with the local worker */
	CJOB_FINISHING,   /* result decided, callback deferred */
};

struct cjob {
	uint64_t id;
	enum cjob_state state;
	struct client *c;
	struct job_spec spec;
	char **envp;
	struct build **builds;     /* one per layer */
	size_t n_builds;
	size_t pending;
	uint64_t worker_id;       /* id at the local worker or the cluster */
	bool on_cluster;
	executor_done_cb *cb;
	void *arg;
	struct job_result result;  /* CJOB_FINISHING */
	struct cjob *prev, *next;  /* in c->jobs, submission order */
};

struct client {
	struct reactor *r;
	struct store *store;
	struct layer_builder *builder;
	struct local_worker *worker;
	struct cluster_client *cluster;
	executor_start_cb *on_start;
	char *project_dir;
	struct build *builds;
	struct cjob *jobs, *jobs_tail;
	uint64_t next_id;
	unsigned outstanding;
};

/* ---- jobs ------------------------------------------------------------------ */

static void cjob_free(struct cjob *j)
{
	job_spec_release(&j->spec);
	env_free(j->envp);
	free(j->builds);
	job_result_release(&j->result);
	free(j);
}

static void cjob_unlink(struct client *c, struct cjob *j)
{
	DLIST_UNLINK(c->jobs, c->jobs_tail, j);
}

/* Frees the job (already off the list), then hands res to its callback. */
static void cjob_complete(struct cjob *j, struct job_result *res)
{
	struct client *c = j->c;
	executor_done_cb *cb = j->cb;
	void *cb_arg = j->arg;
	uint64_t id = j->id;
	cjob_free(j);
	c->outstanding--;
	cb(cb_arg, id, res);
}

static void cjob_deliver(void *arg)
{
	struct cjob *j = arg;
	struct job_result *res = malloc(sizeof(*res));
	if (!res)
		abort();
	*res = j->result;
	memset(&j->result, 0, sizeof(j->result));
	cjob_complete(j, res);
}

static void cjob_fail(struct cjob *j, enum job_outcome outcome, const char *message)
{
	cjob_unlink(j->c, j);
	j->state = CJOB_FINISHING;
	memset(&j->result, 0, sizeof(j->result));
	j->result.outcome = outcome;
	j->result.message = strdup(message ? message : "");
	reactor_defer(j->c->r, cjob_deliver, j);
}

static void on_worker_done(void *arg, uint64_t worker_id, struct job_result *res)
{
	struct cjob *j = arg;
	(void)worker_id;
	cjob_unlink(j->c, j);
	cjob_complete(j, res);
}

static void cjob_run(struct cjob *j)
{
	struct client *c = j->c;
	struct container_spec *cs = &j->spec.container;
	struct digest *layers = calloc(j->n_builds ? j->n_builds : 1, sizeof(*layers));
	if (!layers)
		abort();
	for (size_t i = 0; i < j->n_builds; i++)
		layers[i] = j->builds[i]->digest;
	struct worker_job wj = {
		.layers = layers,
		.n_layers = j->n_builds,
		.mounts = cs->mounts,
		.n_mounts = cs->n_mounts,
		.network = cs->network,
		.writable_root = cs->enable_writable_file_system,
		.user = cs->user,
		.group = cs->group,
		.working_directory = cs->working_directory,
		.program = j->spec.program,
		.arguments = (const char *const *)j->spec.arguments,
		.n_arguments = j->spec.n_arguments,
		.envp = (const char *const *)j->envp,
		.timeout_s = j->spec.timeout_s,
		.bind_base_dir = c->project_dir,
	};
	j->state = CJOB_RUNNING;
	j->on_cluster = c->cluster && !job_spec_is_local_only(&j->spec);
	if (j->on_cluster)
		j->worker_id = cluster_client_submit(c->cluster, &wj, on_worker_done, j);
	else
		j->worker_id = local_worker_submit(c->worker, &wj, on_worker_done, j);
	free(layers);
}

/* ---- layer builds ----------------------------------------------------------- */

/* Runs in the offloaded child: builds one layer, answers with its digest. */
static int build_in_child(void *arg, struct buf *result, struct err **err)
{
	struct build *b = arg;
	struct digest d;
	if (layer_build(b->c->builder, b->spec, &d, err) < 0)
		return -1;
	if (layer_builder_save(b->c->builder, err) < 0)
		return -1;
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(&d, hex);
	struct layer_build_stats st = layer_builder_stats(b->c->builder);
	if (st.files_read)
		log_debug("layer %s: %llu files read", b->key, (unsigned long long)st.files_read);
	buf_append(result, hex, DIGEST_HEX_LEN);
	return 0;
}

static void builds_notify(struct client *c, struct build *b)
{
	struct cjob *next;
	for (struct cjob *j = c->jobs; j; j = next) {
		next = j->next;
		if (j->state != CJOB_BUILDING)
			continue;
		size_t uses = 0, first = 0;
		for (size_t i = 0; i < j->n_builds; i++)
			if (j->builds[i] == b && uses++ == 0)
				first = i;
		if (!uses)
			continue;
		if (b->state == BUILD_FAILED) {
			char *msg = NULL;
			if (asprintf(&msg, "field `layers[%zu]`: %s", first, b->error) < 0)
				abort();
			cjob_fail(j, JOB_EXECUTION_ERROR, msg);
			free(msg);
			continue;
		}
		j->pending -= uses;
		if (j->pending == 0)
			cjob_run(j);
	}
	b->spec = NULL; /* the job that lent it may be gone now */
}

static void on_built(struct reactor *r, int status, const char *data, size_t len, void *arg)
{
	struct build *b = arg;
	struct client *c = b->c;
	(void)r;
	b->op = NULL;
	struct err *err = NULL;
	if (status == 0) {
		char hex[DIGEST_HEX_LEN + 1];
		size_t n = len < DIGEST_HEX_LEN ? len : DIGEST_HEX_LEN;
		memcpy(hex, data, n);
		hex[n] = '\0';
		if (digest_from_hex(hex, &b->digest) < 0)
			err_set(&err, 0, "layer builder answered `%s`, not a digest", hex);
		else if (store_refresh(c->store, &b->digest, &err) < 0)
			err_wrap(&err, "layer %s", hex);
		if (!err) {
			b->state = BUILD_READY;
			log_debug("layer %s built as %s", b->key, hex);
		}
	} else {
		err_set(&err, 0, "%.*s", (int)len, data);
	}
	if (err) {
		free(b->error);
		b->error = strdup(err_msg(err));
		b->state = BUILD_FAILED;
		err_free(&err);
	}
	builds_notify(c, b);
}

static char *layer_key(const struct layer_spec *l)
{
	json_t *j = layer_spec_to_json(l);
	char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(j);
	if (!s)
		abort();
	return s;
}

/* Finds or starts the build of one layer. */
static struct build *build_get(struct client *c, struct layer_spec *l, struct err **err)
{
	char *key = layer_key(l);
	struct build *b;
	for (b = c->builds; b; b = b->next)
		if (strcmp(b->key, key) == 0)
			break;
	if (b) {
		free(key);
		if (b->state != BUILD_FAILED)
			return b;
	} else {
		b = calloc(1, sizeof(*b));
		if (!b)
			abort();
		b->key = key;
		b->c = c;
		b->next = c->builds;
		c->builds = b;
	}
	/* New, or failed before: (re)try. */
	b->spec = l;
	free(b->error);
	b->error = NULL;
	b->op = offload_start(c->r, build_in_child, b, on_built, b, err);
	if (!b->op) {
		b->state = BUILD_FAILED;
		b->error = strdup(err && *err ? err_msg(*err) : "cannot start the layer builder");
		return NULL;
	}
	b->state = BUILD_RUNNING;
	return b;
}

static int cjob_resolve(struct cjob *j, struct err **err)
{
	struct client *c = j->c;
	struct container_spec *cs = &j->spec.container;
	if (cs->image.name)
		return err_set(err, 0, "field `image`: container images are not supported yet; "
			       "describe the container with `layers` instead");
	if (env_compute(cs->environment, cs->n_environment, NULL, environ, &j->envp, err) < 0)
		return -1;
	j->n_builds = cs->n_layers;
	j->builds = calloc(j->n_builds ? j->n_builds : 1, sizeof(*j->builds));
	if (!j->builds)
		abort();
	for (size_t i = 0; i < cs->n_layers; i++) {
		struct build *b = build_get(c, &cs->layers[i], err);
		if (!b)
			return err_wrap(err, "field `layers[%zu]`", i);
		j->builds[i] = b;
		if (b->state == BUILD_RUNNING)
			j->pending++;
	}
	return 0;
}

/* ---- public --------------------------------------------------------------------- */

int client_new(struct client **out, struct reactor *r, struct store *store,
	       struct layer_builder *builder, struct local_worker *worker,
	       struct cluster_client *cluster, const char *project_dir, struct err **err)
{
	struct client *c = calloc(1, sizeof(*c));
	if (!c)
		return err_set(err, ENOMEM, "client");
	c->r = r;
	c->store = store;
	c->builder = builder;
	c->worker = worker;
	c->cluster = cluster;
	c->project_dir = strdup(project_dir);
	c->next_id = 1;
	*out = c;
	return 0;
}

void client_free(struct client *c)
{
	if (!c)
		return;
	while (c->jobs) {
		struct cjob *j = c->jobs;
		cjob_unlink(c, j);
		if (j->state == CJOB_RUNNING && !j->on_cluster)
			local_worker_cancel(c->worker, j->worker_id);
		cjob_free(j);
	}
	while (c->builds) {
		struct build *b = c->builds;
		c->builds = b->next;
		if (b->op)
			offload_cancel(b->op);
		free(b->key);
		free(b->error);
		free(b);
	}
	free(c->project_dir);
	free(c);
}

uint64_t client_submit(struct client *c, struct job_spec *spec, executor_done_cb *cb,
		       void *arg)
{
	struct cjob *j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->id = c->next_id++;
	j->c = c;
	j->spec = *spec;
	memset(spec, 0, sizeof(*spec));
	j->cb = cb;
	j->arg = arg;
	j->state = CJOB_BUILDING;
	/* Appended, so jobs waiting on the same layer start in the order they
	 * were submitted. */
	DLIST_APPEND(c->jobs, c->jobs_tail, j);
	c->outstanding++;

	struct err *err = NULL;
	if (cjob_resolve(j, &err) < 0) {
		cjob_fail(j, JOB_EXECUTION_ERROR, err_msg(err));
		err_free(&err);
	} else if (j->pending == 0) {
		cjob_run(j);
	}
	return j->id;
}

void client_cancel(struct client *c, uint64_t id)
{
	for (struct cjob *j = c->jobs; j; j = j->next) {
		if (j->id != id)
			continue;
		switch (j->state) {
		case CJOB_BUILDING:
			cjob_fail(j, JOB_CANCELED, "canceled");
			break;
		case CJOB_RUNNING:
			if (j->on_cluster)
				cluster_client_cancel(c->cluster, j->worker_id);
			else
				local_worker_cancel(c->worker, j->worker_id);
			break;
		case CJOB_FINISHING:
			break;
		}
		return;
	}
}

unsigned client_outstanding(const struct client *c)
{
	return c->outstanding;
}

static void on_job_start(void *arg, uint64_t worker_id)
{
	struct cjob *j = arg;
	(void)worker_id;
	if (j->c->on_start)
		j->c->on_start(j->arg, j->id);
}

void client_on_start(struct client *c, executor_start_cb *cb)
{
	c->on_start = cb;
	local_worker_on_start(c->worker, cb ? on_job_start : NULL);
	if (c->cluster)
		cluster_client_on_start(c->cluster, cb ? on_job_start : NULL);
}
