/* broker: lifetime, connections, hello and per-role message dispatch. */
#include "net/broker/broker.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/list.h"
#include "core/log.h"
#include "net/broker/broker_internal.h"
#include "net/broker/status.h"
#include "net/http.h"
#include "net/status_page.h"

static char *xstrdup(const char *s)
{
	char *d = strdup(s ? s : "");
	if (!d)
		abort();
	return d;
}

/* ---- peers -------------------------------------------------------------- */

static const char *role_name(enum peer_role role)
{
	switch (role) {
	case PEER_HELLO: return "connection";
	case PEER_CLIENT: return "client";
	case PEER_WORKER: return "worker";
	case PEER_MONITOR: return "monitor";
	}
	return "connection";
}

const char *peer_label(const struct bpeer *p, char *buf, size_t size)
{
	if (p->role == PEER_WORKER && p->worker.name && *p->worker.name)
		snprintf(buf, size, "worker %s (%s)", p->worker.name, p->address);
	else
		snprintf(buf, size, "%s %s", role_name(p->role), p->address);
	return buf;
}

void peer_send(struct bpeer *p, const msg_t *m)
{
	if (p->conn)
		conn_send(p->conn, m);
}

static void close_peer(struct bpeer *p, const char *reason)
{
	if (p->conn)
		conn_close(p->conn, true, reason);
}

void peer_violation(struct bpeer *p, const char *fmt, ...)
{
	char why[512], label[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warning("%s: %s; disconnecting it", peer_label(p, label, sizeof(label)), why);
	/* The violation is ours to report; nothing more is read from it. */
	if (p->conn)
		conn_close(p->conn, false, why);
}

static void unlink_peer(struct broker *b, struct bpeer *p)
{
	DLIST_REMOVE(b->peers, p);
}

static void free_peer(struct bpeer *p)
{
	free(p->worker.name);
	free(p->address);
	free(p);
}

/* ---- hello -------------------------------------------------------------- */

static void send_hello_reply(struct bpeer *p, bool accepted, const char *message)
{
	Maelstrom__HelloReply hr = MAELSTROM__HELLO_REPLY__INIT;
	hr.accepted = accepted;
	hr.message = (char *)(message ? message : "");
	hr.protocol_version = PROTOCOL_VERSION;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_HELLO_REPLY;
	m.hello_reply = &hr;
	peer_send(p, &m);
}

static void refuse(struct bpeer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void refuse(struct bpeer *p, const char *fmt, ...)
{
	char why[512], label[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warning("%s: refused: %s", peer_label(p, label, sizeof(label)), why);
	send_hello_reply(p, false, why);
	close_peer(p, why);
}

static void accept_role(struct bpeer *p, enum peer_role role)
{
	struct broker *b = p->b;
	char label[256];
	p->role = role;
	switch (role) {
	case PEER_CLIENT:
		table_init(&p->client.jobs);
		b->n_clients++;
		break;
	case PEER_WORKER:
		b->n_workers++;
		break;
	case PEER_MONITOR:
	case PEER_HELLO:
		break;
	}
	log_info("%s connected", peer_label(p, label, sizeof(label)));
	send_hello_reply(p, true, NULL);
}

/* An artifact connection goes to the artifact service, which owns it from
 * now on (every later callback goes there); the peer is forgotten. */
static void hand_over(struct bpeer *p, bool upload)
{
	struct broker *b = p->b;
	struct conn *c = p->conn;
	log_debug("artifact %s connection from %s", upload ? "upload" : "fetch", p->address);
	send_hello_reply(p, true, NULL);
	unlink_peer(b, p);
	free_peer(p);
	if (upload)
		artifact_receiver_adopt(b->artifacts, c);
	else
		artifact_server_adopt(b->artifacts, c);
}

static void on_hello(struct bpeer *p, const Maelstrom__Hello *h)
{
	struct broker *b = p->b;
	if (h->protocol_version != PROTOCOL_VERSION) {
		refuse(p, "protocol version %u is not supported: this broker speaks version %u; "
			  "use programs of the same release",
		       h->protocol_version, PROTOCOL_VERSION);
		return;
	}
	switch (h->role) {
	case MAELSTROM__ROLE__ROLE_CLIENT:
		accept_role(p, PEER_CLIENT);
		return;
	case MAELSTROM__ROLE__ROLE_WORKER:
		if (h->slots == 0) {
			refuse(p, "a worker needs at least one slot");
			return;
		}
		p->worker.name = xstrdup(h->name);
		sched_worker_add(&b->sched, &p->worker.sw, h->slots);
		accept_role(p, PEER_WORKER);
		jobs_dispatch(b);
		return;
	case MAELSTROM__ROLE__ROLE_MONITOR:
		accept_role(p, PEER_MONITOR);
		return;
	case MAELSTROM__ROLE__ROLE_ARTIFACT_UPLOAD:
	case MAELSTROM__ROLE__ROLE_ARTIFACT_FETCH:
		hand_over(p, h->role == MAELSTROM__ROLE__ROLE_ARTIFACT_UPLOAD);
		return;
	case MAELSTROM__ROLE__ROLE_UNKNOWN:
	case _MAELSTROM__ROLE_IS_INT_SIZE:
		break;
	}
	refuse(p, "unknown role %d", (int)h->role);
}

/* ---- messages by role ----------------------------------------------------- */

static void monitor_stop(struct bpeer *p)
{
	char label[256];
	log_info("%s asked the broker to stop", peer_label(p, label, sizeof(label)));
	reactor_stop(p->b->r);
}

static void monitor_status(struct bpeer *p)
{
	char *json = broker_status_json(p->b);
	Maelstrom__StatusReply sr = MAELSTROM__STATUS_REPLY__INIT;
	sr.json = json;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_STATUS_REPLY;
	m.status_reply = &sr;
	peer_send(p, &m);
	free(json);
}

static void not_allowed(struct bpeer *p, const msg_t *m)
{
	if (m->msg_case == MAELSTROM__ENVELOPE__MSG_HELLO)
		peer_violation(p, "sent a second hello");
	else
		peer_violation(p, "sent %s, which a %s may not send", msg_name(m),
			       role_name(p->role));
}

/* Each handler takes m. The oneof case enum has a sizing member, so these
 * switch on its value. */
static void client_message(struct bpeer *p, msg_t *m)
{
	switch ((int)m->msg_case) {
	case MAELSTROM__ENVELOPE__MSG_JOB_REQUEST:
		jobs_request(p->b, p, m);
		return;
	case MAELSTROM__ENVELOPE__MSG_CANCEL_JOB:
		jobs_cancel(p->b, p, m->cancel_job->job_id);
		break;
	default:
		not_allowed(p, m);
		break;
	}
	msg_free(m);
}

static void worker_message(struct bpeer *p, msg_t *m)
{
	switch ((int)m->msg_case) {
	case MAELSTROM__ENVELOPE__MSG_JOB_RESULT:
		jobs_result(p->b, p, m);
		return;
	case MAELSTROM__ENVELOPE__MSG_JOB_STARTED:
		jobs_started(p->b, p, m->job_started->job_id);
		break;
	default:
		not_allowed(p, m);
		break;
	}
	msg_free(m);
}

static void monitor_message(struct bpeer *p, msg_t *m)
{
	switch ((int)m->msg_case) {
	case MAELSTROM__ENVELOPE__MSG_STATUS_REQUEST:
		monitor_status(p);
		break;
	case MAELSTROM__ENVELOPE__MSG_STOP_REQUEST:
		monitor_stop(p);
		break;
	default:
		not_allowed(p, m);
		break;
	}
	msg_free(m);
}

static void on_message(struct conn *c, msg_t *m, void *arg)
{
	struct bpeer *p = arg;
	(void)c;
	if (!p) {
		msg_free(m);
		return;
	}
	switch (p->role) {
	case PEER_HELLO:
		if (m->msg_case == MAELSTROM__ENVELOPE__MSG_HELLO)
			on_hello(p, m->hello);
		else
			peer_violation(p, "sent %s before hello", msg_name(m));
		msg_free(m);
		return;
	case PEER_CLIENT:
		client_message(p, m);
		return;
	case PEER_WORKER:
		worker_message(p, m);
		return;
	case PEER_MONITOR:
		monitor_message(p, m);
		return;
	}
	msg_free(m);
}

/* Raw bytes are only for artifact connections, which are not ours: a peer
 * of ours never switches to raw mode, so this never runs. */
static size_t on_raw(struct conn *c, const uint8_t *data, size_t len, void *arg)
{
	(void)c;
	(void)data;
	(void)arg;
	return len;
}

static void on_close(struct conn *c, const char *reason, void *arg)
{
	struct bpeer *p = arg;
	(void)c;
	if (!p)
		return;
	struct broker *b = p->b;
	char label[256];
	peer_label(p, label, sizeof(label));
	p->conn = NULL;
	switch (p->role) {
	case PEER_CLIENT:
		log_info("%s disconnected: %s", label, reason);
		jobs_client_gone(b, p);
		b->n_clients--;
		break;
	case PEER_WORKER:
		log_info("%s disconnected: %s", label, reason);
		jobs_worker_gone(b, p);
		b->n_workers--;
		break;
	case PEER_HELLO:
		log_info("connection from %s closed before its hello: %s", p->address, reason);
		break;
	case PEER_MONITOR:
		log_debug("%s closed: %s", label, reason);
		break;
	}
	unlink_peer(b, p);
	free_peer(p);
}

static const struct conn_ops peer_ops = {
	.on_message = on_message,
	.on_raw = on_raw,
	.on_close = on_close,
};

static void on_accept(struct listener *l, int fd, const char *address, void *arg)
{
	struct broker *b = arg;
	(void)l;
	struct bpeer *p = calloc(1, sizeof(*p));
	if (!p)
		abort();
	p->route = (struct conn_route){&peer_ops, p};
	p->b = b;
	p->role = PEER_HELLO;
	p->address = xstrdup(address);
	DLIST_PUSH(b->peers, p);
	p->conn = conn_new(b->r, fd, &conn_route_ops, &p->route);
	log_debug("connection from %s", address);
}

/* ---- lifetime ------------------------------------------------------------ */

/* The upload receiver stored an artifact. */
static void on_artifact_stored(void *arg, const struct digest *d)
{
	struct broker *b = arg;
	uint64_t size = 0;
	char *path = store_blob_path(b->store, d);
	struct stat st;
	if (path && stat(path, &st) == 0)
		size = (uint64_t)st.st_size;
	free(path);
	broker_artifact_arrived(b, d, size);
}

int broker_new(struct broker **out, struct reactor *r, struct store *store,
	       const struct broker_config *cfg, struct err **err)
{
	struct broker *b = calloc(1, sizeof(*b));
	if (!b)
		abort();
	b->r = r;
	b->store = store;
	b->cfg = *cfg;
	sched_init(&b->sched);
	table_init(&b->jobs);
	table_init(&b->wants);
	b->next_job_id = 1;
	b->started_ns = reactor_now_ns();
	b->artifacts = artifact_service_new(r, store, cfg->cache_size, on_artifact_stored, b);
	b->listener = listener_new(r, cfg->port, on_accept, b, err);
	if (!b->listener) {
		broker_free(b);
		return -1;
	}
	*out = b;
	return 0;
}

void broker_free(struct broker *b)
{
	if (!b)
		return;
	listener_free(b->listener);
	/* Connections close after this; their callbacks see no owner. */
	artifact_service_free(b->artifacts);
	while (b->peers) {
		struct bpeer *p = b->peers;
		if (p->role == PEER_CLIENT)
			table_release(&p->client.jobs);
		if (p->role == PEER_WORKER)
			sched_worker_remove(&b->sched, &p->worker.sw);
		if (p->conn) {
			conn_set_arg(p->conn, NULL);
			conn_close(p->conn, false, "the broker is stopping");
		}
		unlink_peer(b, p);
		free_peer(p);
	}
	sched_release(&b->sched);   /* before the jobs it points to go */
	jobs_free_all(b);
	table_release(&b->jobs);
	table_release(&b->wants);
	free(b);
}

uint16_t broker_port(const struct broker *b)
{
	return listener_port(b->listener);
}

/* ---- status -------------------------------------------------------------- */

/* The status document as a jansson object (json_decref it). */
static json_t *status_doc(struct broker *b)
{
	struct status_worker *workers = calloc(b->n_workers ? b->n_workers : 1, sizeof(*workers));
	if (!workers)
		abort();
	size_t n = 0;
	/* b->peers is newest first; show workers oldest first. */
	struct bpeer *last = b->peers;
	while (last && last->next)
		last = last->next;
	for (struct bpeer *p = last; p; p = p->prev) {
		if (p->role != PEER_WORKER || n == b->n_workers)
			continue;
		workers[n++] = (struct status_worker){
			.name = p->worker.name,
			.address = p->address,
			.slots = p->worker.sw.slots,
			.running = p->worker.sw.running,
		};
	}
	struct status_snapshot s = {
		.workers = workers,
		.n_workers = n,
		.clients = b->n_clients,
		.waiting_for_artifacts = b->n_waiting,
		.pending = b->n_pending,
		.running = b->n_running,
		.completed = b->jobs_completed,
		.bytes_used = store_bytes_used(b->store),
		.cache_size = b->cfg.cache_size,
		.jobs_submitted = b->jobs_submitted,
		.jobs_completed = b->jobs_completed,
		.artifacts_received_bytes = b->artifacts_received_bytes,
		.uptime_s = (reactor_now_ns() - b->started_ns) / 1000000000ull,
	};
	json_t *doc = status_document(&s);
	free(workers);
	return doc;
}

char *broker_status_json(struct broker *b)
{
	json_t *doc = status_doc(b);
	char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!text)
		abort();
	return text;
}

void broker_http_handle(void *arg, const struct http_request *req, struct http_response *res)
{
	json_t *doc = status_doc(arg);
	status_page_handle(req, res, doc);
	json_decref(doc);
}
