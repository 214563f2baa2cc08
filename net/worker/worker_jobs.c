/*
 * worker_jobs.c: the jobs the broker gave this worker, from EnqueueJob to
 * JobResult (see worker.h for the steps), and the cache trim after them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "net/worker/worker_internal.h"

/* ---- bookkeeping ------------------------------------------------------------ */

static struct wjob *job_find(struct worker *w, uint64_t broker_id)
{
	for (struct wjob *j = w->jobs; j; j = j->next)
		if (!j->orphan && j->broker_id == broker_id)
			return j;
	return NULL;
}

static void job_unlink(struct worker *w, struct wjob *j)
{
	for (struct wjob **p = &w->jobs; *p; p = &(*p)->next) {
		if (*p == j) {
			*p = j->next;
			w->n_jobs--;
			return;
		}
	}
}

static void job_pin(struct wjob *j)
{
	for (size_t i = 0; i < j->wj.job.n_layers; i++)
		store_pin(j->w->store, &j->wj.job.layers[i]);
}

/* Unlinks, unpins and frees. */
static void job_free(struct wjob *j)
{
	struct worker *w = j->w;
	job_unlink(w, j);
	if (w->store)
		for (size_t i = 0; i < j->wj.job.n_layers; i++)
			store_unpin(w->store, &j->wj.job.layers[i]);
	msg_wire_job_release(&j->wj);
	free(j);
}

/* ---- messages to the broker ---------------------------------------------------- */

static void send_result(struct worker *w, uint64_t broker_id, const struct job_result *res)
{
	Maelstrom__JobResult *jr = msg_job_result_new(broker_id, res, w->name);
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_RESULT;
	m.job_result = jr;
	worker_send(w, &m);
	msg_job_result_free(jr);
}

static void send_started(struct worker *w, uint64_t broker_id)
{
	Maelstrom__JobStarted js = MAELSTROM__JOB_STARTED__INIT;
	js.job_id = broker_id;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_STARTED;
	m.job_started = &js;
	worker_send(w, &m);
}

/* Answers a job that never reached the local worker. */
static void send_early_result(struct worker *w, uint64_t broker_id, enum job_outcome outcome,
			      const char *message)
{
	struct job_result res = {
		.outcome = outcome,
		.message = (char *)message,
	};
	log_debug("job %" PRIu64 ": %s: %s", broker_id, job_outcome_name(outcome),
		  message ? message : "");
	send_result(w, broker_id, &res);
}

static void job_finish_early(struct wjob *j, enum job_outcome outcome, const char *message)
{
	struct worker *w = j->w;
	if (!j->orphan)
		send_early_result(w, j->broker_id, outcome, message);
	job_free(j);
	worker_trim_soon(w);
}

/* ---- running --------------------------------------------------------------------- */

static void on_lw_done(void *arg, uint64_t lw_id, struct job_result *res)
{
	struct wjob *j = arg;
	struct worker *w = j->w;
	(void)lw_id;
	w->n_submitted--;
	if (!j->orphan) {
		log_debug("job %" PRIu64 ": %s (code %d)", j->broker_id,
			  job_outcome_name(res->outcome), res->code);
		send_result(w, j->broker_id, res);
	}
	job_result_free(res);
	job_free(j);
	worker_trim_soon(w);
}

static void job_submit(struct wjob *j)
{
	struct worker *w = j->w;
	j->state = WJOB_SUBMITTED;
	w->n_submitted++;
	j->lw_id = local_worker_submit(w->lw, &j->wj.job, on_lw_done, j);
	send_started(w, j->broker_id);
}

/* ---- validation ------------------------------------------------------------------- */

/* What a cluster worker refuses even when the message is well formed:
 * local-only features (book: local-worker.md) would reach into this machine. */
static int check_cluster_job(const struct worker_job *job, struct err **err)
{
	for (size_t i = 0; i < job->n_mounts; i++)
		if (job->mounts[i].kind == MOUNT_BIND)
			return err_set(err, 0, "mount %zu: bind mounts run only on the client's "
				       "own machine, not on a cluster worker", i);
	if (job->network == NETWORK_LOCAL)
		return err_set(err, 0, "network \"local\" runs only on the client's own "
			       "machine, not on a cluster worker");
	if (!job->program || !*job->program)
		return err_set(err, 0, "the job has no program");
	return 0;
}

/* ---- layers --------------------------------------------------------------------- */

static bool store_has_fresh(struct worker *w, const struct digest *d)
{
	if (store_has(w->store, d))
		return true;
	/* Another process on the same root may have added it. */
	struct err *err = NULL;
	if (store_refresh(w->store, d, &err) < 0) {
		log_debug("refreshing a store entry: %s", err_msg(err));
		err_free(&err);
		return false;
	}
	return store_has(w->store, d);
}

/* Starts the fetches the job needs; returns the number of layers it waits
 * for, or -1 with *err when a fetch could not start. */
static ssize_t job_start_fetches(struct wjob *j, struct err **err)
{
	struct worker *w = j->w;
	ssize_t pending = 0;
	for (size_t i = 0; i < j->wj.job.n_layers; i++) {
		const struct digest *d = &j->wj.job.layers[i];
		if (!worker_fetch_pending(w, d) && store_has_fresh(w, d))
			continue;
		if (worker_fetch_start(w, d, err) < 0) {
			char hex[DIGEST_HEX_LEN + 1];
			digest_to_hex(d, hex);
			return err_wrap(err, "fetching layer %s from the broker", hex);
		}
		pending++;
	}
	return pending;
}

/* ---- from the broker ------------------------------------------------------------- */

void worker_on_enqueue(struct worker *w, const Maelstrom__EnqueueJob *ej)
{
	uint64_t id = ej->job_id;
	if (job_find(w, id)) {
		log_warning("broker %s sent job %" PRIu64 " again while it is still here; "
			    "ignored", w->broker, id);
		return;
	}
	struct err *err = NULL;
	if (!ej->job) {
		send_early_result(w, id, JOB_EXECUTION_ERROR, "the broker sent no job description");
		return;
	}
	struct wjob *j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->w = w;
	j->broker_id = id;
	j->state = WJOB_FETCHING;
	if (msg_wire_job_from(ej->job, &j->wj, &err) < 0 ||
	    check_cluster_job(&j->wj.job, &err) < 0) {
		err_wrap(&err, "invalid job");
		send_early_result(w, id, JOB_EXECUTION_ERROR, err_msg(err));
		err_free(&err);
		msg_wire_job_release(&j->wj);
		free(j);
		return;
	}
	j->next = w->jobs;
	w->jobs = j;
	w->n_jobs++;
	/* Pinned from now on, so a trim cannot evict a layer between its
	 * fetch and the job's start. */
	job_pin(j);
	ssize_t pending = job_start_fetches(j, &err);
	if (pending < 0) {
		job_finish_early(j, JOB_SYSTEM_ERROR, err_msg(err));
		err_free(&err);
		return;
	}
	j->pending = (size_t)pending;
	log_debug("job %" PRIu64 ": %zu layer%s, %zu to fetch", id, j->wj.job.n_layers,
		  j->wj.job.n_layers == 1 ? "" : "s", j->pending);
	if (j->pending == 0)
		job_submit(j);
}

void worker_on_cancel(struct worker *w, uint64_t broker_id)
{
	struct wjob *j = job_find(w, broker_id);
	if (!j) {
		log_debug("cancel of job %" PRIu64 ", which is not here (already done?)",
			  broker_id);
		return;
	}
	switch (j->state) {
	case WJOB_FETCHING:
		job_finish_early(j, JOB_CANCELED, "canceled");
		break;
	case WJOB_SUBMITTED:
		if (!j->cancel_requested) {
			j->cancel_requested = true;
			local_worker_cancel(w->lw, j->lw_id);
		}
		break;
	}
}

void worker_on_fetched(struct worker *w, const struct digest *d, const char *error)
{
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(d, hex);
	if (error)
		log_warning("fetching layer %s from broker %s: %s", hex, w->broker, error);
	else
		log_debug("layer %s fetched", hex);
	struct wjob *next;
	for (struct wjob *j = w->jobs; j; j = next) {
		next = j->next;
		if (j->state != WJOB_FETCHING)
			continue;
		size_t uses = 0;
		for (size_t i = 0; i < j->wj.job.n_layers; i++)
			if (digest_equal(&j->wj.job.layers[i], d))
				uses++;
		if (!uses)
			continue;
		if (error) {
			char *msg = NULL;
			if (asprintf(&msg, "fetching layer %s from the broker: %s", hex, error) < 0)
				abort();
			job_finish_early(j, JOB_SYSTEM_ERROR, msg);
			free(msg);
			continue;
		}
		j->pending -= uses < j->pending ? uses : j->pending;
		if (j->pending == 0)
			job_submit(j);
	}
}

/* ---- session end and shutdown ------------------------------------------------------- */

void worker_jobs_orphan_all(struct worker *w)
{
	struct wjob *next;
	for (struct wjob *j = w->jobs; j; j = next) {
		next = j->next;
		if (j->orphan)
			continue;
		switch (j->state) {
		case WJOB_FETCHING:
			job_free(j);
			break;
		case WJOB_SUBMITTED:
			/* Killed now; the local worker's callback frees it. */
			j->orphan = true;
			local_worker_cancel(w->lw, j->lw_id);
			break;
		}
	}
}

void worker_jobs_free_all(struct worker *w)
{
	while (w->jobs)
		job_free(w->jobs);
	w->n_submitted = 0;
	reactor_timer_cancel(w->r, w->trim_timer);
	w->trim_timer = 0;
}

/* ---- cache trim ------------------------------------------------------------------- */

/* Evicts down to cache-size when the local worker is empty, and replaces
 * the local worker if anything went (see worker.h on why). */
static void trim_now(struct reactor *r, void *arg)
{
	struct worker *w = arg;
	(void)r;
	w->trim_timer = 0;
	if (w->n_submitted > 0)
		return; /* the last job to finish schedules another trim */
	uint64_t before = store_bytes_used(w->store);
	struct err *err = NULL;
	if (store_evict(w->store, &err) < 0) {
		log_warning("trimming the cache to cache-size: %s", err_msg(err));
		err_free(&err);
	}
	uint64_t after = store_bytes_used(w->store);
	if (after >= before)
		return;
	log_debug("cache trimmed from %" PRIu64 " to %" PRIu64 " bytes", before, after);
	struct local_worker *fresh = NULL;
	if (local_worker_new(&fresh, w->r, w->store, &w->exec, &err) < 0) {
		/* Keep the old one: a job on an evicted layer then fails with the
		 * reason, which beats having no local worker at all. */
		log_warning("renewing the local worker after a cache trim: %s", err_msg(err));
		err_free(&err);
		return;
	}
	local_worker_free(w->lw);
	w->lw = fresh;
}

void worker_trim_soon(struct worker *w)
{
	if (w->trim_timer || w->n_submitted > 0)
		return;
	w->trim_timer = reactor_timer_add(w->r, 0, trim_now, w);
}
