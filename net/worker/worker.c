/*
 * worker.c: the session with the broker (see worker.h): connecting, the
 * hello exchange, dispatching the broker's messages, noticing the loss of
 * the broker and reconnecting with exponential backoff.
 */
#include "net/worker/worker.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "net/worker/worker_internal.h"

#define NS_PER_MS UINT64_C(1000000)
#define BACKOFF_MIN_NS (500 * NS_PER_MS)
#define BACKOFF_MAX_NS (30000 * NS_PER_MS)
#define CONNECT_TIMEOUT_DEFAULT_MS 10000

static void worker_connect(struct worker *w);

/* ---- sending ------------------------------------------------------------- */

void worker_send(struct worker *w, const msg_t *m)
{
	if (w->state != WORKER_READY || !w->conn)
		return;
	conn_send(w->conn, m);
}

static void send_hello(struct worker *w)
{
	Maelstrom__Hello hello = MAELSTROM__HELLO__INIT;
	hello.protocol_version = PROTOCOL_VERSION;
	hello.role = MAELSTROM__ROLE__ROLE_WORKER;
	hello.slots = local_worker_slots(w->lw);
	hello.name = w->name;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_HELLO;
	m.hello = &hello;
	conn_send(w->conn, &m);
	w->state = WORKER_HELLO_SENT;
}

/* ---- losing the broker and retrying ------------------------------------------ */

static void on_retry_timer(struct reactor *r, void *arg)
{
	struct worker *w = arg;
	(void)r;
	w->retry_timer = 0;
	if (w->state == WORKER_BACKOFF)
		worker_connect(w);
}

static void schedule_retry(struct worker *w, const char *reason)
{
	uint64_t delay = w->backoff_ns;
	log_warning("broker %s unreachable (%s); retrying in %g s", w->broker, reason,
		    (double)delay / 1e9);
	w->state = WORKER_BACKOFF;
	w->retry_timer = reactor_timer_add(w->r, delay, on_retry_timer, w);
	w->backoff_ns = delay * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : delay * 2;
}

/* The connection is gone (w->conn already forgotten). */
static void session_lost(struct worker *w, const char *reason)
{
	reactor_timer_cancel(w->r, w->connect_timer);
	w->connect_timer = 0;
	bool was_ready = w->state == WORKER_READY;
	if (was_ready) {
		log_warning("lost the broker %s (%s); killing %u job%s", w->broker, reason,
			    w->n_jobs, w->n_jobs == 1 ? "" : "s");
		/* Only a broker that accepted us resets the delay, so a broker
		 * that accepts and drops us at once is not hammered. */
	}
	worker_fetch_cancel_all(w);
	worker_jobs_orphan_all(w);
	if (w->state == WORKER_REFUSED)
		return;
	schedule_retry(w, reason);
}

static void refused(struct worker *w, const char *why)
{
	char *msg = NULL;
	if (asprintf(&msg, "broker %s refused this worker: %s", w->broker,
		     why && *why ? why : "no reason given") < 0)
		abort();
	w->state = WORKER_REFUSED;
	struct conn *c = w->conn;
	w->conn = NULL;
	reactor_timer_cancel(w->r, w->connect_timer);
	w->connect_timer = 0;
	conn_set_arg(c, NULL);
	conn_close(c, false, "refused");
	worker_fetch_cancel_all(w);
	worker_jobs_orphan_all(w);
	if (w->on_fatal) {
		w->on_fatal(w->arg, msg);
	} else {
		log_error("%s", msg);
		reactor_stop(w->r);
	}
	free(msg);
}

/* ---- connection callbacks ------------------------------------------------------ */

static void on_open(struct conn *c, void *arg)
{
	struct worker *w = arg;
	if (!w || c != w->conn || w->state != WORKER_CONNECTING)
		return;
	log_debug("connected to broker %s; saying hello", w->broker);
	send_hello(w);
}

static void on_hello_reply(struct worker *w, const Maelstrom__HelloReply *hr)
{
	if (!hr->accepted) {
		refused(w, hr->message);
		return;
	}
	reactor_timer_cancel(w->r, w->connect_timer);
	w->connect_timer = 0;
	w->state = WORKER_READY;
	w->backoff_ns = BACKOFF_MIN_NS;
	w->sessions++;
	log_info("connected to broker %s as %s with %u slot%s", w->broker, w->name,
		 local_worker_slots(w->lw), local_worker_slots(w->lw) == 1 ? "" : "s");
}

/* Only two messages have a meaning for a worker in a session; protoc-c's
 * oneof enum carries a sizing member, so this is an if, not a switch. */
static void dispatch(struct worker *w, const msg_t *m)
{
	if (m->msg_case == MAELSTROM__ENVELOPE__MSG_ENQUEUE_JOB)
		worker_on_enqueue(w, m->enqueue_job);
	else if (m->msg_case == MAELSTROM__ENVELOPE__MSG_CANCEL_JOB)
		worker_on_cancel(w, m->cancel_job->job_id);
	else
		log_warning("broker %s sent %s, which a worker does not expect; ignored",
			    w->broker, msg_name(m));
}

static void on_message(struct conn *c, msg_t *m, void *arg)
{
	struct worker *w = arg;
	if (!w || c != w->conn) {
		msg_free(m);
		return;
	}
	switch (w->state) {
	case WORKER_HELLO_SENT:
		if (m->msg_case == MAELSTROM__ENVELOPE__MSG_HELLO_REPLY) {
			on_hello_reply(w, m->hello_reply);
		} else {
			char reason[128];
			snprintf(reason, sizeof(reason), "protocol error: %s before hello_reply",
				 msg_name(m));
			conn_close(c, false, reason);
		}
		break;
	case WORKER_READY:
		dispatch(w, m);
		break;
	case WORKER_IDLE:
	case WORKER_CONNECTING:
	case WORKER_BACKOFF:
	case WORKER_REFUSED:
		break;
	}
	msg_free(m);
}

static void on_close(struct conn *c, const char *reason, void *arg)
{
	struct worker *w = arg;
	if (!w || c != w->conn)
		return;
	w->conn = NULL;
	session_lost(w, reason);
}

static const struct conn_ops conn_ops = {
	.on_open = on_open,
	.on_message = on_message,
	.on_close = on_close,
};

/* ---- connecting --------------------------------------------------------------- */

static void on_connect_timeout(struct reactor *r, void *arg)
{
	struct worker *w = arg;
	(void)r;
	w->connect_timer = 0;
	if (!w->conn || (w->state != WORKER_CONNECTING && w->state != WORKER_HELLO_SENT))
		return;
	char reason[96];
	snprintf(reason, sizeof(reason), "%s within %" PRIu64 " ms",
		 w->state == WORKER_CONNECTING ? "no connection" : "no answer to hello",
		 w->connect_timeout_ns / NS_PER_MS);
	struct conn *c = w->conn;
	w->conn = NULL;
	conn_set_arg(c, NULL);
	conn_close(c, false, reason);
	session_lost(w, reason);
}

static void worker_connect(struct worker *w)
{
	struct err *err = NULL;
	log_debug("connecting to broker %s", w->broker);
	w->state = WORKER_CONNECTING;
	w->conn = conn_connect(w->r, w->broker, &conn_ops, w, &err);
	if (!w->conn) {
		schedule_retry(w, err_msg(err));
		err_free(&err);
		return;
	}
	w->connect_timer = reactor_timer_add(w->r, w->connect_timeout_ns, on_connect_timeout, w);
}

/* ---- public ------------------------------------------------------------------ */

static char *default_name(void)
{
	char host[256];
	if (gethostname(host, sizeof(host)) < 0)
		snprintf(host, sizeof(host), "unknown-host");
	host[sizeof(host) - 1] = '\0';
	char *name = NULL;
	if (asprintf(&name, "%s:%ld", host, (long)getpid()) < 0)
		abort();
	return name;
}

int worker_new(struct worker **out, struct reactor *r, struct store *store,
	       const struct worker_config *cfg, struct err **err)
{
	if (!cfg->broker || !*cfg->broker)
		return err_set(err, EINVAL, "no broker address; give one with --broker HOST:PORT");
	struct worker *w = calloc(1, sizeof(*w));
	if (!w)
		abort();
	w->r = r;
	w->store = store;
	w->exec = cfg->exec;
	if (local_worker_new(&w->lw, r, store, &w->exec, err) < 0) {
		free(w);
		return -1;
	}
	w->broker = strdup(cfg->broker);
	w->name = cfg->name ? strdup(cfg->name) : default_name();
	if (!w->broker || !w->name)
		abort();
	w->connect_timeout_ns =
		(cfg->connect_timeout_ms ? cfg->connect_timeout_ms : CONNECT_TIMEOUT_DEFAULT_MS) *
		NS_PER_MS;
	w->max_artifact_size = cfg->max_artifact_size;
	w->on_fatal = cfg->on_fatal;
	w->arg = cfg->arg;
	w->backoff_ns = BACKOFF_MIN_NS;
	w->state = WORKER_IDLE;
	*out = w;
	return 0;
}

void worker_start(struct worker *w)
{
	if (w->state == WORKER_IDLE)
		worker_connect(w);
}

void worker_free(struct worker *w)
{
	if (!w)
		return;
	reactor_timer_cancel(w->r, w->connect_timer);
	reactor_timer_cancel(w->r, w->retry_timer);
	if (w->conn) {
		struct conn *c = w->conn;
		w->conn = NULL;
		conn_set_arg(c, NULL);
		conn_close(c, false, "the worker is shutting down");
	}
	worker_fetch_cancel_all(w);
	/* Kills every container; no callback follows. */
	local_worker_free(w->lw);
	w->lw = NULL;
	worker_jobs_free_all(w);
	free(w->broker);
	free(w->name);
	free(w);
}

const char *worker_name(const struct worker *w)
{
	return w->name;
}

bool worker_connected(const struct worker *w)
{
	return w->state == WORKER_READY;
}

unsigned worker_jobs(const struct worker *w)
{
	return w->n_jobs;
}

uint64_t worker_sessions(const struct worker *w)
{
	return w->sessions;
}
