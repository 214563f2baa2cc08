/* broker_jobs: the broker's jobs from request to result (see broker.h and
 * broker_internal.h for the states and invariants). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "net/broker/broker_internal.h"

/* ---- messages to peers ---------------------------------------------------- */

static void send_status(struct bjob *j, Maelstrom__JobState state)
{
	if (!j->client)
		return;
	Maelstrom__JobStatusUpdate u = MAELSTROM__JOB_STATUS_UPDATE__INIT;
	u.job_id = j->client_id;
	u.state = state;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_STATUS_UPDATE;
	m.job_status_update = &u;
	peer_send(j->client, &m);
}

/* A result the broker makes itself (canceled, refused). */
static void send_own_result(struct bpeer *client, uint64_t client_job_id, Maelstrom__Outcome outcome,
			    const char *message)
{
	Maelstrom__JobResult jr = MAELSTROM__JOB_RESULT__INIT;
	jr.job_id = client_job_id;
	jr.outcome = outcome;
	jr.message = (char *)message;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_RESULT;
	m.job_result = &jr;
	peer_send(client, &m);
}

static void send_transfer(struct bpeer *client, const struct digest *d)
{
	Maelstrom__TransferArtifact ta = MAELSTROM__TRANSFER_ARTIFACT__INIT;
	ta.digest = msg_digest(d);
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_TRANSFER_ARTIFACT;
	m.transfer_artifact = &ta;
	peer_send(client, &m);
	if (log_get_level() >= LOG_DEBUG) {
		char hex[DIGEST_HEX_LEN + 1], label[256];
		digest_to_hex(d, hex);
		log_debug("asking %s for artifact %s", peer_label(client, label, sizeof(label)), hex);
	}
}

static void send_cancel(struct bjob *j)
{
	Maelstrom__CancelJob cj = MAELSTROM__CANCEL_JOB__INIT;
	cj.job_id = j->id;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_CANCEL_JOB;
	m.cancel_job = &cj;
	peer_send(j->worker, &m);
	j->cancel_sent = true;
}

/* ---- job objects ----------------------------------------------------------- */

static void count_state(struct broker *b, enum bjob_state state, int delta)
{
	uint64_t *n = NULL;
	switch (state) {
	case BJOB_WAITING_FOR_ARTIFACTS: n = &b->n_waiting; break;
	case BJOB_PENDING: n = &b->n_pending; break;
	case BJOB_RUNNING: n = &b->n_running; break;
	}
	*n += (uint64_t)(int64_t)delta;
}

static void set_state(struct broker *b, struct bjob *j, enum bjob_state state)
{
	count_state(b, j->state, -1);
	j->state = state;
	count_state(b, state, +1);
}

static void worker_list_add(struct bjob *j, struct bpeer *w)
{
	j->worker = w;
	j->wprev = NULL;
	j->wnext = w->worker.jobs;
	if (j->wnext)
		j->wnext->wprev = j;
	w->worker.jobs = j;
}

static void worker_list_del(struct bjob *j)
{
	if (j->wprev)
		j->wprev->wnext = j->wnext;
	else
		j->worker->worker.jobs = j->wnext;
	if (j->wnext)
		j->wnext->wprev = j->wprev;
	j->wprev = j->wnext = NULL;
	j->worker = NULL;
}

static void destroy_job(struct broker *b, struct bjob *j)
{
	for (size_t i = 0; i < j->n_layers; i++)
		store_unpin(b->store, &j->layers[i]);
	msg_free(j->request);
	free(j->layers);
	free(j);
}

/* Forgets a job that is in no queue and on no worker. */
static void drop_job(struct broker *b, struct bjob *j)
{
	count_state(b, j->state, -1);
	table_del(&b->jobs, table_key_u64(j->id));
	if (j->client)
		table_del(&j->client->client.jobs, table_key_u64(j->client_id));
	destroy_job(b, j);
}

/* Takes a running job off its worker, freeing the slot. */
static void unassign(struct broker *b, struct bjob *j)
{
	sched_job_release(&b->sched, &j->sj);
	worker_list_del(j);
}

static void evict(struct broker *b)
{
	struct err *err = NULL;
	if (store_bytes_used(b->store) > b->cfg.cache_size && store_evict(b->store, &err) < 0) {
		log_warning("evicting from the broker's cache: %s", err_msg(err));
		err_free(&err);
	}
}

/* ---- dispatch ----------------------------------------------------------- */

void jobs_dispatch(struct broker *b)
{
	struct sched_worker *sw;
	struct sched_job *sj;
	while ((sj = sched_next(&b->sched, &sw))) {
		struct bjob *j = (struct bjob *)sj;
		struct bpeer *w = (struct bpeer *)((char *)sw - offsetof(struct bpeer, worker.sw));
		set_state(b, j, BJOB_RUNNING);
		worker_list_add(j, w);
		j->cancel_sent = false;
		Maelstrom__EnqueueJob ej = MAELSTROM__ENQUEUE_JOB__INIT;
		ej.job_id = j->id;
		ej.job = j->request->job_request->job;
		msg_t m;
		msg_init(&m);
		m.msg_case = MAELSTROM__ENVELOPE__MSG_ENQUEUE_JOB;
		m.enqueue_job = &ej;
		peer_send(w, &m);
		send_status(j, MAELSTROM__JOB_STATE__JOB_STATE_RUNNING);
	}
}

static void make_pending(struct broker *b, struct bjob *j)
{
	set_state(b, j, BJOB_PENDING);
	sched_enqueue(&b->sched, &j->sj);
	send_status(j, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
}

/* ---- wanted artifacts ----------------------------------------------------- */

static void want_free(struct want *w)
{
	free(w->jobs);
	free(w);
}

/* Records that job j waits for d; asks j's client for it unless some
 * client was asked already. Returns true when j was not listed yet. */
static bool want_add(struct broker *b, const struct digest *d, struct bjob *j)
{
	struct table_key key = table_key_bytes16(d->bytes);
	struct want *w = table_get(&b->wants, key);
	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			abort();
		w->digest = *d;
		table_put(&b->wants, key, w);
	}
	/* One job's layers are listed together, so a repeat is the last id. */
	if (w->n_jobs && w->jobs[w->n_jobs - 1] == j->id)
		return false;
	if (w->n_jobs == w->cap_jobs) {
		w->cap_jobs = w->cap_jobs ? 2 * w->cap_jobs : 4;
		w->jobs = realloc(w->jobs, w->cap_jobs * sizeof(*w->jobs));
		if (!w->jobs)
			abort();
	}
	w->jobs[w->n_jobs++] = j->id;
	if (!w->asked) {
		w->asked = j->client;
		send_transfer(j->client, d);
	}
	return true;
}

/* The job still waiting under `id`, or NULL. */
static struct bjob *waiting_job(struct broker *b, uint64_t id)
{
	struct bjob *j = table_get(&b->jobs, table_key_u64(id));
	return j && j->state == BJOB_WAITING_FOR_ARTIFACTS && j->client ? j : NULL;
}

/* The client asked for w's artifact is gone: prune the list and ask
 * another client whose job still waits for it, or forget the want. */
static void want_reask(struct broker *b, struct want *w)
{
	size_t keep = 0;
	w->asked = NULL;
	for (size_t i = 0; i < w->n_jobs; i++) {
		struct bjob *j = waiting_job(b, w->jobs[i]);
		if (!j)
			continue;
		w->jobs[keep++] = w->jobs[i];
		if (!w->asked) {
			w->asked = j->client;
			send_transfer(j->client, &w->digest);
		}
	}
	w->n_jobs = keep;
	if (keep == 0) {
		table_del(&b->wants, table_key_bytes16(w->digest.bytes));
		want_free(w);
	}
}

void broker_artifact_arrived(struct broker *b, const struct digest *d, uint64_t size)
{
	b->artifacts_received_bytes += size;
	struct want *w = table_del(&b->wants, table_key_bytes16(d->bytes));
	if (!w)
		return;
	for (size_t i = 0; i < w->n_jobs; i++) {
		struct bjob *j = waiting_job(b, w->jobs[i]);
		if (j && --j->missing == 0)
			make_pending(b, j);
	}
	want_free(w);
	jobs_dispatch(b);
}

/* ---- client messages ---------------------------------------------------------- */

/* Copies the layer digests out of the request; on a malformed one answers
 * the job with an execution error and returns -1. */
static int read_layers(struct bpeer *client, uint64_t client_job_id, const Maelstrom__ResolvedJob *rj,
		       struct digest **out)
{
	struct digest *layers = calloc(rj->n_layers ? rj->n_layers : 1, sizeof(*layers));
	if (!layers)
		abort();
	for (size_t i = 0; i < rj->n_layers; i++) {
		struct err *err = NULL;
		if (msg_digest_get(rj->layers[i], &layers[i], &err) < 0) {
			char why[512];
			snprintf(why, sizeof(why), "job.layers[%zu]: %s", i, err_msg(err));
			err_free(&err);
			send_own_result(client, client_job_id,
					MAELSTROM__OUTCOME__OUTCOME_EXECUTION_ERROR, why);
			free(layers);
			return -1;
		}
	}
	*out = layers;
	return 0;
}

void jobs_request(struct broker *b, struct bpeer *client, msg_t *m)
{
	uint64_t client_job_id = m->job_request->job_id;
	const Maelstrom__ResolvedJob *rj = m->job_request->job;
	if (table_get(&client->client.jobs, table_key_u64(client_job_id))) {
		peer_violation(client, "reused job id %llu while that job is not finished",
			       (unsigned long long)client_job_id);
		msg_free(m);
		return;
	}
	struct digest *layers;
	if (read_layers(client, client_job_id, rj, &layers) < 0) {
		msg_free(m);
		return;
	}
	struct bjob *j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->id = b->next_job_id++;
	j->client_id = client_job_id;
	j->client = client;
	j->request = m;
	j->layers = layers;
	j->n_layers = rj->n_layers;
	j->state = BJOB_WAITING_FOR_ARTIFACTS;
	count_state(b, j->state, +1);
	sched_job_init(&j->sj, rj->priority, rj->estimated_duration_ms, j->layers, j->n_layers);
	j->has_warm_key = msg_fork_server_key(rj, &j->warm_key);
	if (j->has_warm_key)
		sched_job_set_warm_key(&j->sj, &j->warm_key);
	table_put(&b->jobs, table_key_u64(j->id), j);
	table_put(&client->client.jobs, table_key_u64(client_job_id), j);
	b->jobs_submitted++;

	for (size_t i = 0; i < j->n_layers; i++) {
		store_pin(b->store, &j->layers[i]);
		if (!store_has(b->store, &j->layers[i]) && want_add(b, &j->layers[i], j))
			j->missing++;
	}
	if (j->missing) {
		send_status(j, MAELSTROM__JOB_STATE__JOB_STATE_WAITING_FOR_ARTIFACTS);
		return;
	}
	make_pending(b, j);
	jobs_dispatch(b);
}

void jobs_cancel(struct broker *b, struct bpeer *client, uint64_t client_job_id)
{
	struct bjob *j = table_get(&client->client.jobs, table_key_u64(client_job_id));
	if (!j) {
		log_debug("cancel for unknown job %llu ignored", (unsigned long long)client_job_id);
		return;
	}
	switch (j->state) {
	case BJOB_RUNNING:
		/* The worker answers with the job's result, which goes on. */
		if (!j->cancel_sent)
			send_cancel(j);
		return;
	case BJOB_PENDING:
		sched_remove(&b->sched, &j->sj);
		break;
	case BJOB_WAITING_FOR_ARTIFACTS:
		break;
	}
	send_own_result(client, client_job_id, MAELSTROM__OUTCOME__OUTCOME_CANCELED,
			"canceled before it ran");
	drop_job(b, j);
	evict(b);
}

/* ---- worker messages ------------------------------------------------------------ */

/* The job `id` if it is running on worker w, else NULL. */
static struct bjob *assigned_job(struct broker *b, struct bpeer *w, uint64_t id)
{
	struct bjob *j = table_get(&b->jobs, table_key_u64(id));
	if (j && j->state == BJOB_RUNNING && j->worker == w)
		return j;
	char label[256];
	log_debug("%s reported job %llu, which is not assigned to it; ignored",
		  peer_label(w, label, sizeof(label)), (unsigned long long)id);
	return NULL;
}

void jobs_started(struct broker *b, struct bpeer *w, uint64_t job_id)
{
	if (assigned_job(b, w, job_id) && log_get_level() >= LOG_DEBUG) {
		char label[256];
		log_debug("job %llu started on %s", (unsigned long long)job_id,
			  peer_label(w, label, sizeof(label)));
	}
}

void jobs_result(struct broker *b, struct bpeer *w, msg_t *m)
{
	Maelstrom__JobResult *jr = m->job_result;
	struct bjob *j = assigned_job(b, w, jr->job_id);
	if (!j) {
		msg_free(m);
		return;
	}
	unassign(b, j);
	b->jobs_completed++;
	if (j->client) {
		jr->job_id = j->client_id;
		char *worker_name = NULL;
		if (!jr->worker || !*jr->worker)
			jr->worker = worker_name = w->worker.name;
		peer_send(j->client, m);
		if (worker_name)
			jr->worker = NULL;   /* not the envelope's to free */
	}
	msg_free(m);
	drop_job(b, j);
	jobs_dispatch(b);
	evict(b);
}

/* ---- lost peers ---------------------------------------------------------------- */

void jobs_client_gone(struct broker *b, struct bpeer *client)
{
	size_t pos = 0;
	struct bjob *j;
	while ((j = table_next(&client->client.jobs, &pos, NULL))) {
		j->client = NULL;   /* its table is released below */
		switch (j->state) {
		case BJOB_RUNNING:
			/* Dropped when the worker answers (or goes). */
			if (!j->cancel_sent)
				send_cancel(j);
			continue;
		case BJOB_PENDING:
			sched_remove(&b->sched, &j->sj);
			break;
		case BJOB_WAITING_FOR_ARTIFACTS:
			break;
		}
		drop_job(b, j);
	}
	table_release(&client->client.jobs);
	/* Artifacts this client was asked for: ask someone else. */
	pos = 0;
	struct want **asked = NULL;
	size_t n = 0, cap = 0;
	struct want *w;
	while ((w = table_next(&b->wants, &pos, NULL))) {
		if (w->asked != client)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			asked = realloc(asked, cap * sizeof(*asked));
			if (!asked)
				abort();
		}
		asked[n++] = w;
	}
	for (size_t i = 0; i < n; i++)
		want_reask(b, asked[i]);
	free(asked);
	evict(b);
}

void jobs_worker_gone(struct broker *b, struct bpeer *w)
{
	sched_worker_remove(&b->sched, &w->worker.sw);
	size_t requeued = 0;
	while (w->worker.jobs) {
		struct bjob *j = w->worker.jobs;
		unassign(b, j);
		if (!j->client) {
			drop_job(b, j);
		} else if (j->cancel_sent) {
			send_own_result(j->client, j->client_id, MAELSTROM__OUTCOME__OUTCOME_CANCELED,
					"canceled; its worker went away");
			drop_job(b, j);
		} else {
			make_pending(b, j);
			requeued++;
		}
	}
	if (requeued) {
		char label[256];
		log_info("%zu job%s of %s requeued", requeued, requeued == 1 ? "" : "s",
			 peer_label(w, label, sizeof(label)));
	}
	jobs_dispatch(b);
	evict(b);
}

void jobs_free_all(struct broker *b)
{
	size_t pos = 0;
	struct bjob *j;
	while ((j = table_next(&b->jobs, &pos, NULL)))
		destroy_job(b, j);
	table_release(&b->jobs);
	pos = 0;
	struct want *w;
	while ((w = table_next(&b->wants, &pos, NULL)))
		want_free(w);
	table_release(&b->wants);
	b->n_waiting = b->n_pending = b->n_running = 0;
}
