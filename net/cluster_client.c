#include "net/cluster_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/table.h"
#include "net/artifact_xfer.h"
#include "net/conn.h"
#include "net/msg.h"

/* The session's connection to the broker. */
enum session_state {
	SESSION_HELLO,     /* Hello sent, not answered yet (jobs already flow) */
	SESSION_OPEN,      /* accepted */
	SESSION_CLOSED,    /* gone: every job failed, new ones fail at once */
};

/* One job sent to the broker. */
struct cc_job {
	uint64_t id;
	executor_done_cb *cb;
	void *arg;
};

struct cluster_client {
	struct reactor *r;
	struct store *store;
	char *address;
	struct conn *conn;
	enum session_state state;
	char *close_reason;
	struct artifact_uploader *uploader;
	struct table jobs;        /* id -> struct cc_job, outstanding */
	uint64_t next_id;
	cluster_status_cb *status_cb;
	void *status_arg;
	executor_start_cb *start_cb;
};

/* ---- jobs ----------------------------------------------------------------- */

static struct cc_job *job_take(struct cluster_client *cc, uint64_t id)
{
	return table_del(&cc->jobs, table_key_u64(id));
}

static void job_deliver(struct cc_job *j, struct job_result *res)
{
	executor_done_cb *cb = j->cb;
	void *arg = j->arg;
	uint64_t id = j->id;
	free(j);
	cb(arg, id, res);
}

static void job_fail(struct cc_job *j, const char *message)
{
	struct job_result *res = calloc(1, sizeof(*res));
	if (!res)
		abort();
	res->outcome = JOB_SYSTEM_ERROR;
	res->message = strdup(message);
	job_deliver(j, res);
}

/* Fails every outstanding job (after the session is gone). */
static void fail_all(void *arg)
{
	struct cluster_client *cc = arg;
	char *msg = NULL;
	if (asprintf(&msg, "lost the broker %s: %s; rerun when it is reachable", cc->address,
		     cc->close_reason ? cc->close_reason : "connection closed") < 0)
		abort();
	/* Collect first: a callback may submit again (and fail at once). */
	size_t n = table_count(&cc->jobs), pos = 0, i = 0;
	struct cc_job **all = calloc(n ? n : 1, sizeof(*all));
	if (!all)
		abort();
	struct table_key key;
	struct cc_job *j;
	while (i < n && (j = table_next(&cc->jobs, &pos, &key)))
		all[i++] = j;
	for (size_t k = 0; k < i; k++)
		table_del(&cc->jobs, table_key_u64(all[k]->id));
	for (size_t k = 0; k < i; k++)
		job_fail(all[k], msg);
	free(all);
	free(msg);
}

/* ---- messages from the broker --------------------------------------------- */

static void on_result(struct cluster_client *cc, const Maelstrom__JobResult *jr)
{
	struct cc_job *j = job_take(cc, jr->job_id);
	if (!j) {
		log_debug("broker: result for unknown job %llu ignored",
			  (unsigned long long)jr->job_id);
		return;
	}
	struct job_result *res = calloc(1, sizeof(*res));
	if (!res)
		abort();
	msg_job_result_to(jr, res);
	job_deliver(j, res);
}

static void on_uploaded(void *arg, const struct digest *d, bool ok, const char *message)
{
	struct cluster_client *cc = arg;
	(void)cc;
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(d, hex);
	if (ok)
		log_debug("artifact %s uploaded", hex);
	else
		log_warning("uploading artifact %s to the broker failed: %s", hex, message);
}

static void on_transfer(struct cluster_client *cc, const Maelstrom__TransferArtifact *ta)
{
	struct digest d;
	struct err *err = NULL;
	if (msg_digest_get(ta->digest, &d, &err) < 0) {
		log_warning("broker asked for a malformed artifact: %s", err_msg(err));
		err_free(&err);
		return;
	}
	if (!cc->uploader) {
		cc->uploader = artifact_uploader_new(cc->r, cc->address, cc->store, on_uploaded,
						     cc, &err);
		if (!cc->uploader) {
			log_error("cannot upload artifacts to %s: %s", cc->address, err_msg(err));
			err_free(&err);
			return;
		}
	}
	artifact_uploader_push(cc->uploader, &d);
}

static void on_status_update(struct cluster_client *cc, const Maelstrom__JobStatusUpdate *u)
{
	if (cc->start_cb && u->state == MAELSTROM__JOB_STATE__JOB_STATE_RUNNING) {
		struct cc_job *j = table_get(&cc->jobs, table_key_u64(u->job_id));
		if (j)
			cc->start_cb(j->arg, j->id);
	}
	if (!cc->status_cb)
		return;
	switch ((int)u->state) { /* a wire enum: unknown values are possible */
	case MAELSTROM__JOB_STATE__JOB_STATE_WAITING_FOR_ARTIFACTS:
		cc->status_cb(cc->status_arg, u->job_id, CLUSTER_JOB_WAITING_FOR_ARTIFACTS);
		break;
	case MAELSTROM__JOB_STATE__JOB_STATE_PENDING:
		cc->status_cb(cc->status_arg, u->job_id, CLUSTER_JOB_PENDING);
		break;
	case MAELSTROM__JOB_STATE__JOB_STATE_RUNNING:
		cc->status_cb(cc->status_arg, u->job_id, CLUSTER_JOB_RUNNING);
		break;
	default:
		break;
	}
}

static void on_message(struct conn *c, msg_t *m, void *arg)
{
	struct cluster_client *cc = arg;
	if (!cc) { /* the session was freed while the conn closes */
		msg_free(m);
		return;
	}
	switch ((int)m->msg_case) {
	case MAELSTROM__ENVELOPE__MSG_HELLO_REPLY:
		if (!m->hello_reply->accepted) {
			free(cc->close_reason);
			if (asprintf(&cc->close_reason, "the broker refused us: %s",
				     m->hello_reply->message) < 0)
				abort();
			conn_close(c, false, cc->close_reason);
			break;
		}
		cc->state = SESSION_OPEN;
		break;
	case MAELSTROM__ENVELOPE__MSG_JOB_RESULT:
		on_result(cc, m->job_result);
		break;
	case MAELSTROM__ENVELOPE__MSG_TRANSFER_ARTIFACT:
		on_transfer(cc, m->transfer_artifact);
		break;
	case MAELSTROM__ENVELOPE__MSG_JOB_STATUS_UPDATE:
		on_status_update(cc, m->job_status_update);
		break;
	default:
		log_warning("broker sent an unexpected %s message; closing", msg_name(m));
		conn_close(c, false, "unexpected message from the broker");
		break;
	}
	msg_free(m);
}

static void on_close(struct conn *c, const char *reason, void *arg)
{
	struct cluster_client *cc = arg;
	(void)c;
	if (!cc)
		return;
	cc->conn = NULL;
	cc->state = SESSION_CLOSED;
	if (!cc->close_reason)
		cc->close_reason = strdup(reason);
	if (table_count(&cc->jobs))
		log_error("lost the broker %s: %s", cc->address, cc->close_reason);
	reactor_defer(cc->r, fail_all, cc);
}

static const struct conn_ops session_ops = {
	.on_message = on_message,
	.on_close = on_close,
};

/* ---- public ------------------------------------------------------------------ */

int cluster_client_new(struct cluster_client **out, struct reactor *r, const char *address,
		       struct store *store, struct err **err)
{
	struct cluster_client *cc = calloc(1, sizeof(*cc));
	if (!cc)
		abort();
	cc->r = r;
	cc->store = store;
	cc->address = strdup(address);
	cc->next_id = 1;
	table_init(&cc->jobs);
	cc->conn = conn_connect(r, address, &session_ops, cc, err);
	if (!cc->conn) {
		table_release(&cc->jobs);
		free(cc->address);
		free(cc);
		return err_wrap(err, "broker");
	}
	char name[300], host[256] = "";
	gethostname(host, sizeof(host) - 1);
	snprintf(name, sizeof(name), "client %s:%d", host, (int)getpid());
	Maelstrom__Hello hello = MAELSTROM__HELLO__INIT;
	hello.protocol_version = PROTOCOL_VERSION;
	hello.role = MAELSTROM__ROLE__ROLE_CLIENT;
	hello.name = name;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_HELLO;
	m.hello = &hello;
	conn_send(cc->conn, &m);
	cc->state = SESSION_HELLO;
	*out = cc;
	return 0;
}

void cluster_client_free(struct cluster_client *cc)
{
	if (!cc)
		return;
	if (cc->conn) {
		struct conn *c = cc->conn;
		cc->conn = NULL;
		conn_set_arg(c, NULL);
		conn_close(c, false, "client finished");
	}
	artifact_uploader_free(cc->uploader);
	size_t pos = 0;
	struct table_key key;
	struct cc_job *j;
	while ((j = table_next(&cc->jobs, &pos, &key)))
		free(j);
	table_release(&cc->jobs);
	free(cc->close_reason);
	free(cc->address);
	free(cc);
}

void cluster_client_on_status(struct cluster_client *cc, cluster_status_cb *cb, void *arg)
{
	cc->status_cb = cb;
	cc->status_arg = arg;
}

uint64_t cluster_client_submit(struct cluster_client *cc, const struct worker_job *job,
			       executor_done_cb *cb, void *arg)
{
	struct cc_job *j = calloc(1, sizeof(*j));
	if (!j)
		abort();
	j->id = cc->next_id++;
	j->cb = cb;
	j->arg = arg;
	table_put(&cc->jobs, table_key_u64(j->id), j);
	if (cc->state == SESSION_CLOSED) {
		reactor_defer(cc->r, fail_all, cc);
		return j->id;
	}
	Maelstrom__JobRequest req = MAELSTROM__JOB_REQUEST__INIT;
	req.job_id = j->id;
	req.job = msg_resolved_job_new(job);
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_REQUEST;
	m.job_request = &req;
	/* Sent at once, even before the hello is answered: the broker reads
	 * the connection in order, and a refusal fails the job like a loss. */
	conn_send(cc->conn, &m);
	msg_resolved_job_free(req.job);
	return j->id;
}

void cluster_client_cancel(struct cluster_client *cc, uint64_t id)
{
	if (cc->state == SESSION_CLOSED)
		return;
	Maelstrom__CancelJob cj = MAELSTROM__CANCEL_JOB__INIT;
	cj.job_id = id;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_CANCEL_JOB;
	m.cancel_job = &cj;
	conn_send(cc->conn, &m);
}

void cluster_client_on_start(struct cluster_client *cc, executor_start_cb *cb)
{
	cc->start_cb = cb;
}
