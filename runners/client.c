#include "runners/client.h"

#include <errno.h>
#include <stdio.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "artifacts/image.h"
#include "core/buf.h"
#include "core/envexpand.h"
#include "core/list.h"
#include "core/log.h"
#include "core/offload.h"
#include "core/spec_json.h"
#include "core/strv.h"

extern char **environ;

/* A distinct layer spec, keyed by its canonical JSON, or a distinct image
 * name (key "image NAME"), resolved into one flattened layer. */
enum build_state {
	BUILD_RUNNING,
	BUILD_READY,
	BUILD_FAILED,
};

struct build {
	char *key;
	struct layer_spec *spec;   /* borrowed from the first job that asked */
	const char *image;         /* an image's name (points into key); NULL: a layer */
	enum build_state state;
	struct digest digest;      /* BUILD_READY */
	struct image_info info;    /* BUILD_READY image: its Env, WorkingDir, ... */
	char *error;               /* BUILD_FAILED */
	struct offload *op;        /* BUILD_RUNNING */
	struct client *c;
	struct build *next;
};

enum cjob_state {
	CJOB_BUILDING,    /* waiting for layer builds and the image */
	CJOB_RUNNING,     /* with the local worker */
	CJOB_FINISHING,   /* result decided, callback deferred */
};

struct cjob {
	uint64_t id;
	enum cjob_state state;
	struct client *c;
	struct job_spec spec;
	char **envp;
	struct build *image;       /* the image's resolution, or NULL */
	struct build **builds;     /* one per layer, then one per added layer */
	size_t n_builds;
	size_t pending;
	uint64_t worker_id;       /* id at the local worker or the cluster */
	bool on_cluster;
	/* A prewarm (client_prewarm): no id, no callback, not outstanding;
	 * once resolved it goes to local_worker_prewarm (or nowhere) and is
	 * freed, and a failure only logs. It is never CJOB_RUNNING. */
	bool warm_only;
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
	char *image_depot;         /* see client_set_image_options */
	char *image_lock_file;
	char *image_plain_http;
	bool image_insecure_tls;
	int tty_fd;                /* see client_set_tty; -1: none */
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
	if (j->warm_only) {
		log_debug("no fork server started ahead: %s", message ? message : "");
		cjob_free(j);
		return;
	}
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

/* The zygote's argv (program, then arguments; NULL-terminated, heap) of a
 * job naming a fork server, or NULL: the executor then launches it cold. */
static char **fork_server_argv(const struct job_spec *spec)
{
	const struct fork_server_spec *fs = &spec->fork_server;
	if (!fs->program)
		return NULL;
	char **argv = strv_push(strv_dup(NULL), fs->program);
	for (size_t i = 0; i < fs->n_arguments; i++)
		argv = strv_push(argv, fs->arguments[i]);
	return argv;
}

static void cjob_run(struct cjob *j)
{
	struct client *c = j->c;
	struct container_spec *cs = &j->spec.container;
	/* With a `use` of `layers`, the image's flattened layer is the bottom
	 * one and the added layers go on top of it. */
	size_t base = j->image && cs->image.use_layers ? 1 : 0;
	struct digest *layers = calloc(base + j->n_builds + 1, sizeof(*layers));
	if (!layers)
		abort();
	if (base)
		layers[0] = j->image->digest;
	for (size_t i = 0; i < j->n_builds; i++)
		layers[base + i] = j->builds[i]->digest;
	struct worker_job wj = {
		.layers = layers,
		.n_layers = base + j->n_builds,
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
	char **fs_argv = fork_server_argv(&j->spec);
	wj.fork_server_argv = (const char *const *)fs_argv;
	wj.has_tty = j->spec.allocate_tty;
	wj.tty_fd = wj.has_tty ? c->tty_fd : -1;
	j->on_cluster = c->cluster && !job_spec_is_local_only(&j->spec);
	if (j->warm_only) {
		/* Its zygote is started here only if jobs like it run here. */
		if (!j->on_cluster)
			local_worker_prewarm(c->worker, &wj);
		strv_free(fs_argv);
		free(layers);
		cjob_unlink(c, j);
		cjob_free(j);
		return;
	}
	j->state = CJOB_RUNNING;
	if (j->on_cluster)
		j->worker_id = cluster_client_submit(c->cluster, &wj, on_worker_done, j);
	else
		j->worker_id = local_worker_submit(c->worker, &wj, on_worker_done, j);
	strv_free(fs_argv);
	free(layers);
}

/* Everything the job waited for is there: takes what its `use` asks of the
 * image (environment, working directory; layers are cjob_run's), then runs
 * the job. */
static void cjob_ready(struct cjob *j)
{
	struct container_spec *cs = &j->spec.container;
	const struct image_info *img = j->image ? &j->image->info : NULL;
	if (img && cs->image.use_environment) {
		struct err *err = NULL;
		if (env_compute(cs->environment, cs->n_environment, img->env, environ, &j->envp,
				&err) < 0) {
			cjob_fail(j, JOB_EXECUTION_ERROR, err_msg(err));
			err_free(&err);
			return;
		}
	}
	if (img && cs->image.use_working_directory) {
		free(cs->working_directory);
		cs->working_directory = strdup(img->working_dir ? img->working_dir : "/");
		if (!cs->working_directory)
			abort();
	}
	cjob_run(j);
}

/* ---- layer builds and image resolutions --------------------------------------- */

/* Runs in the offloaded child: resolves, fetches and flattens one image
 * (artifacts/image.h), then adds the flattened tar to the store as a `tar`
 * layer, whose digest the path cache keeps, so a warm image reads no file.
 * Answers "HEX\nINFO-JSON". */
static int image_in_child(struct build *b, struct buf *result, struct err **err)
{
	struct client *c = b->c;
	struct image_options o = {
		.depot_dir = c->image_depot,
		.lock_file = c->image_lock_file,
		.accept_invalid_tls = c->image_insecure_tls,
		.plain_http = c->image_plain_http,
	};
	struct image_info info;
	if (image_get(b->image, &o, &info, err) < 0)
		return -1;
	struct layer_spec tar = { .kind = LAYER_TAR, .path = info.layer_tar };
	struct digest d;
	int rc = layer_build(c->builder, &tar, &d, err);
	if (rc < 0)
		err_wrap(err, "the flattened image %s", info.layer_tar);
	else
		rc = layer_builder_save(c->builder, err);
	if (rc == 0) {
		char hex[DIGEST_HEX_LEN + 1];
		digest_to_hex(&d, hex);
		char *json = image_info_to_json(&info);
		buf_appendf(result, "%s\n%s", hex, json);
		free(json);
	}
	image_info_release(&info);
	return rc;
}

/* Runs in the offloaded child: builds one layer (or resolves one image),
 * answers with its digest. */
static int build_in_child(void *arg, struct buf *result, struct err **err)
{
	struct build *b = arg;
	if (b->image)
		return image_in_child(b, result, err);
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

/* The message for a job whose build b failed; first: b's index in the
 * job's builds (unless b is the job's image). Heap string. */
static char *build_failure(const struct cjob *j, const struct build *b, size_t first)
{
	size_t n_layers = j->spec.container.n_layers;
	char *msg = NULL;
	int rc;
	if (b == j->image && strncmp(b->error, b->image, strlen(b->image)) == 0)
		rc = asprintf(&msg, "field `image`: %s", b->error);
	else if (b == j->image)
		rc = asprintf(&msg, "field `image`: %s: %s", b->image, b->error);
	else if (first < n_layers)
		rc = asprintf(&msg, "field `layers[%zu]`: %s", first, b->error);
	else
		rc = asprintf(&msg, "field `added_layers[%zu]`: %s", first - n_layers, b->error);
	if (rc < 0)
		abort();
	return msg;
}

static void builds_notify(struct client *c, struct build *b)
{
	struct cjob *next;
	for (struct cjob *j = c->jobs; j; j = next) {
		next = j->next;
		if (j->state != CJOB_BUILDING)
			continue;
		size_t uses = j->image == b, first = 0;
		for (size_t i = 0; i < j->n_builds; i++)
			if (j->builds[i] == b && uses++ == 0)
				first = i;
		if (!uses)
			continue;
		if (b->state == BUILD_FAILED) {
			char *msg = build_failure(j, b, first);
			cjob_fail(j, JOB_EXECUTION_ERROR, msg);
			free(msg);
			continue;
		}
		j->pending -= uses;
		if (j->pending == 0)
			cjob_ready(j);
	}
	b->spec = NULL; /* the job that lent it may be gone now */
}

/* Reads the image info an image_in_child answer carries after its digest. */
static int build_read_image(struct build *b, const char *data, struct err **err)
{
	const char *nl = strchr(data, '\n');
	image_info_release(&b->info);
	if (!nl)
		return err_set(err, 0, "the image resolver answered `%s`, without the image's "
			       "configuration", data);
	if (image_info_from_json(nl + 1, &b->info, err) < 0)
		return err_wrap(err, "the image resolver's answer");
	return 0;
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
		else if (b->image)
			build_read_image(b, data, &err);
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

#define IMAGE_KEY_PREFIX "image "

/* Finds or starts the build keyed by key (taken): of the layer l, or, when
 * l is NULL, the resolution of the image the key names. */
static struct build *build_get(struct client *c, char *key, struct layer_spec *l,
			       struct err **err)
{
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
		if (!l)
			b->image = key + strlen(IMAGE_KEY_PREFIX);
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
	if (j->spec.allocate_tty && c->tty_fd < 0)
		return err_set(err, 0, "field `allocate_tty`: this program has no terminal to "
			       "give the job; run interactive jobs with maelstrom-run --tty");
	if (cs->image.name) {
		char *key = NULL;
		if (asprintf(&key, IMAGE_KEY_PREFIX "%s", cs->image.name) < 0)
			abort();
		j->image = build_get(c, key, NULL, err);
		if (!j->image)
			return err_wrap(err, "field `image`: %s", cs->image.name);
		if (j->image->state == BUILD_RUNNING)
			j->pending++;
	}
	/* The image's environment is known once it is resolved (cjob_ready). */
	if (!(cs->image.name && cs->image.use_environment) &&
	    env_compute(cs->environment, cs->n_environment, NULL, environ, &j->envp, err) < 0)
		return -1;
	j->n_builds = cs->n_layers + cs->n_added_layers;
	j->builds = calloc(j->n_builds ? j->n_builds : 1, sizeof(*j->builds));
	if (!j->builds)
		abort();
	for (size_t i = 0; i < j->n_builds; i++) {
		bool added = i >= cs->n_layers;
		struct layer_spec *l = added ? &cs->added_layers[i - cs->n_layers] : &cs->layers[i];
		struct build *b = build_get(c, layer_key(l), l, err);
		if (!b)
			return err_wrap(err, "field `%s[%zu]`", added ? "added_layers" : "layers",
					added ? i - cs->n_layers : i);
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
	c->tty_fd = -1;
	c->image_depot = image_default_depot();
	if (asprintf(&c->image_lock_file, "%s/%s", project_dir, IMAGE_LOCK_FILE) < 0)
		abort();
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
		image_info_release(&b->info);
		free(b);
	}
	free(c->project_dir);
	free(c->image_depot);
	free(c->image_lock_file);
	free(c->image_plain_http);
	free(c);
}

void client_set_image_options(struct client *c, const char *depot_dir, bool accept_invalid_tls,
			      const char *plain_http)
{
	if (depot_dir && *depot_dir) {
		free(c->image_depot);
		c->image_depot = strdup(depot_dir);
		if (!c->image_depot)
			abort();
	}
	c->image_insecure_tls = accept_invalid_tls;
	free(c->image_plain_http);
	c->image_plain_http = NULL;
	if (plain_http && *plain_http && !(c->image_plain_http = strdup(plain_http)))
		abort();
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
		cjob_ready(j);
	}
	return j->id;
}

void client_prewarm(struct client *c, struct job_spec *spec)
{
	if (!spec->fork_server.program || spec->allocate_tty) {
		job_spec_release(spec);
		return;
	}
	struct cjob *j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->c = c;
	j->spec = *spec;
	memset(spec, 0, sizeof(*spec));
	j->warm_only = true;
	j->state = CJOB_BUILDING;
	/* First in line for the builds it shares with the jobs that follow. */
	DLIST_APPEND(c->jobs, c->jobs_tail, j);
	log_debug("starting the fork server `%s` ahead of its jobs", j->spec.fork_server.program);
	struct err *err = NULL;
	if (cjob_resolve(j, &err) < 0) {
		cjob_fail(j, JOB_EXECUTION_ERROR, err_msg(err));
		err_free(&err);
	} else if (j->pending == 0) {
		cjob_ready(j);
	}
}

void client_cancel(struct client *c, uint64_t id)
{
	for (struct cjob *j = c->jobs; j; j = j->next) {
		if (j->id != id || j->warm_only)
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

void client_set_tty(struct client *c, int slave_fd)
{
	c->tty_fd = slave_fd;
}
