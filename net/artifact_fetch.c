/*
 * artifact_fetch: the worker's side of ARTIFACT_FETCH connections.
 *
 * Requests (one per digest, each with its waiters) sit in a FIFO; up to
 * max_conns connections each carry one request at a time:
 *
 *   CONNECTING --HelloReply--> READY --FetchArtifact--> AWAITING_HEADER
 *                                ^                         |  found=false: fail
 *                                |      last byte          v
 *                                +------------------- BODY (into the sink)
 *                                +------------------- DISCARD (bytes skipped:
 *                                                      too large, store error)
 *   any --connection lost--> gone: its request and every unsent one fail
 */
#include "net/artifact_xfer.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/list.h"
#include "core/log.h"
#include "net/addr.h"
#include "net/artifact_xfer_internal.h"

enum fc_state {
	FC_CONNECTING,       /* Hello queued, waiting for HelloReply */
	FC_READY,            /* nothing asked */
	FC_AWAITING_HEADER,  /* FetchArtifact sent */
	FC_BODY,             /* raw: the bytes go into the sink */
	FC_DISCARD,          /* raw: the bytes are skipped (refused artifact) */
};

struct artifact_fetch {
	struct fetch_req *req;
	artifact_done_cb *cb;
	void *arg;
	struct artifact_fetch *next;
};

struct fetch_req {
	struct artifact_fetcher *f;
	struct digest d;
	struct artifact_fetch *waiters;   /* in arrival order */
	struct fetch_conn *fc;            /* carrying it; NULL while queued */
	bool done;                        /* finishing: off the list */
	struct fetch_req *prev, *next;
};

/* Refused artifacts up to this size are skipped rather than the connection
 * dropped. */
#define XFER_SKIP_MAX (8u << 20)

struct fetch_conn {
	struct artifact_fetcher *f;
	struct conn *c;
	enum fc_state state;
	struct fetch_req *req;            /* from AWAITING_HEADER to the end */
	struct xfer_sink sink;            /* in BODY */
	uint64_t remaining;               /* raw bytes still expected */
	char *discard_reason;             /* in DISCARD */
	struct fetch_conn *next;
};

struct artifact_fetcher {
	struct reactor *r;
	char *address;
	struct store *store;
	unsigned max_conns;
	uint64_t limit;
	struct fetch_req *head, *tail;    /* requests, oldest first */
	size_t n_reqs;
	struct fetch_conn *conns;
	unsigned n_conns;
	uint64_t kick;
	struct artifact_xfer_stats st;
};

static const struct conn_ops fc_ops;
static void fetcher_advance(struct artifact_fetcher *f);

/* ---- requests --------------------------------------------------------------- */

static struct fetch_req *req_find(struct artifact_fetcher *f, const struct digest *d)
{
	for (struct fetch_req *q = f->head; q; q = q->next)
		if (digest_equal(&q->d, d))
			return q;
	return NULL;
}

static void req_unlink(struct artifact_fetcher *f, struct fetch_req *q)
{
	DLIST_UNLINK(f->head, f->tail, q);
	f->n_reqs--;
}

/* Reports the end of a request already off the list: every waiter hears
 * ok / message. Frees it. */
static void req_report(struct artifact_fetcher *f, struct fetch_req *q, bool ok,
		       const char *message)
{
	q->done = true;
	if (q->fc)
		q->fc->req = NULL;
	q->fc = NULL;
	if (ok)
		f->st.artifacts++;
	else
		f->st.failures++;
	/* Popped one by one: a callback may cancel another waiter of q. */
	while (q->waiters) {
		struct artifact_fetch *op = q->waiters;
		q->waiters = op->next;
		op->cb(op->arg, &q->d, ok, ok ? "" : message);
		free(op);
	}
	free(q);
}

static void req_finish(struct artifact_fetcher *f, struct fetch_req *q, bool ok,
		       const char *message)
{
	req_unlink(f, q);
	req_report(f, q, ok, message);
}

/* Ends every request not sent yet (only those the store has, if
 * only_stored). They are taken off the list first, so requests the
 * callbacks make are left for later. */
static void req_finish_unsent(struct artifact_fetcher *f, bool only_stored, bool ok,
			      const char *message)
{
	struct fetch_req *ended = NULL, **tail = &ended;
	for (struct fetch_req *q = f->head, *next; q; q = next) {
		next = q->next;
		if (q->fc || (only_stored && !store_has(f->store, &q->d)))
			continue;
		req_unlink(f, q);
		q->done = true; /* a cancel now leaves it to req_report */
		*tail = q;
		tail = &q->next;
	}
	while (ended) {
		struct fetch_req *q = ended;
		ended = q->next;
		q->next = NULL;
		req_report(f, q, ok, message);
	}
}

static void req_free(struct fetch_req *q)
{
	while (q->waiters) {
		struct artifact_fetch *op = q->waiters;
		q->waiters = op->next;
		free(op);
	}
	free(q);
}

static void fetcher_on_kick(struct reactor *r, void *arg)
{
	(void)r;
	struct artifact_fetcher *f = arg;
	f->kick = 0;
	fetcher_advance(f);
}

static void fetcher_kick(struct artifact_fetcher *f)
{
	if (!f->kick)
		f->kick = reactor_timer_add(f->r, 0, fetcher_on_kick, f);
}

/* ---- connections ------------------------------------------------------------- */

static void fc_free(struct fetch_conn *fc, const char *reason)
{
	struct artifact_fetcher *f = fc->f;
	for (struct fetch_conn **p = &f->conns; *p; p = &(*p)->next) {
		if (*p == fc) {
			*p = fc->next;
			f->n_conns--;
			f->st.active--;
			break;
		}
	}
	if (fc->c) {
		conn_set_arg(fc->c, NULL);
		conn_close(fc->c, false, reason);
	}
	xfer_sink_release(&fc->sink);
	free(fc->discard_reason);
	free(fc);
}

/* The connection is gone (or unusable): its request and every request not
 * yet sent fail. */
static void fc_lose(struct fetch_conn *fc, const char *fmt, const char *detail)
{
	struct artifact_fetcher *f = fc->f;
	struct buf b = BUF_INIT;
	buf_appendf(&b, "artifact fetch from the broker at %s: ", f->address);
	buf_appendf(&b, fmt, detail);
	struct fetch_req *mine = fc->req;
	if (mine)
		mine->fc = NULL;
	fc_free(fc, b.data);
	/* Unsent requests (and ours) fail; others stay with their conns. */
	req_finish_unsent(f, false, false, b.data);
	buf_release(&b);
}

/* Opens one more connection; false if that failed at once (the unsent
 * requests failed with it). */
static bool fc_connect(struct artifact_fetcher *f)
{
	struct fetch_conn *fc = calloc(1, sizeof(*fc));
	if (!fc)
		abort();
	fc->f = f;
	fc->sink = (struct xfer_sink)XFER_SINK_INIT;
	fc->state = FC_CONNECTING;
	fc->next = f->conns;
	f->conns = fc;
	f->n_conns++;
	f->st.active++;
	struct err *e = NULL;
	fc->c = conn_connect(f->r, f->address, &fc_ops, fc, &e);
	if (!fc->c) {
		fc_lose(fc, "%s", err_msg(e));
		err_free(&e);
		return false;
	}
	xfer_send_hello(fc->c, MAELSTROM__ROLE__ROLE_ARTIFACT_FETCH);
	return true;
}

/* Hands out queued requests to idle conns, connects more if allowed. */
static void fetcher_advance(struct artifact_fetcher *f)
{
	/* Requests the store already has (however it got them) are done. */
	req_finish_unsent(f, true, true, "");
	struct fetch_req *q = f->head;
	size_t unsent = 0;
	unsigned connecting = 0;
	for (struct fetch_conn *fc = f->conns; fc; fc = fc->next) {
		if (fc->state == FC_CONNECTING)
			connecting++;
		if (fc->state != FC_READY)
			continue;
		while (q && q->fc)
			q = q->next;
		if (!q)
			break;
		q->fc = fc;
		fc->req = q;
		fc->state = FC_AWAITING_HEADER;
		xfer_send_fetch(fc->c, &q->d);
	}
	for (; q; q = q->next)
		if (!q->fc)
			unsent++;
	while (unsent > connecting && f->n_conns < f->max_conns && fc_connect(f))
		connecting++;
}

/* The last raw byte arrived (or none were to come). */
static void fc_body_done(struct fetch_conn *fc)
{
	struct artifact_fetcher *f = fc->f;
	struct fetch_req *q = fc->req;
	struct err *e = NULL;
	bool ok = fc->state == FC_BODY && xfer_sink_commit(&fc->sink, &q->d, &e) == 0;
	const char *why = fc->state == FC_DISCARD ? fc->discard_reason : err_msg(e);
	fc->state = FC_READY;
	req_finish(f, q, ok, why);
	err_free(&e);
	free(fc->discard_reason);
	fc->discard_reason = NULL;
	fetcher_advance(f);
}

/* Refuses the artifact being received, of which `size` bytes are still to
 * come. A few MiB are cheaper to skip (the stream stays usable, the state
 * goes DISCARD); more are not worth the bandwidth: the connection is
 * dropped, failing only this request (the others go on a new one). Returns
 * false when fc is gone. */
static bool fc_refuse(struct fetch_conn *fc, uint64_t size, const char *reason)
{
	xfer_sink_release(&fc->sink);
	if (size > XFER_SKIP_MAX) {
		struct artifact_fetcher *f = fc->f;
		struct fetch_req *q = fc->req;
		q->fc = NULL;
		fc->req = NULL;
		fc_free(fc, reason);
		req_finish(f, q, false, reason);
		fetcher_kick(f);
		return false;
	}
	fc->discard_reason = strdup(reason);
	if (!fc->discard_reason)
		abort();
	fc->state = FC_DISCARD;
	fc->remaining = size;
	return true;
}

static void fc_on_header(struct fetch_conn *fc, const Maelstrom__ArtifactHeader *h)
{
	struct artifact_fetcher *f = fc->f;
	struct fetch_req *q = fc->req;
	struct digest d;
	if (fc->state != FC_AWAITING_HEADER || msg_digest_get(h->digest, &d, NULL) < 0 ||
	    !digest_equal(&d, &q->d)) {
		fc_lose(fc, "%s", "the broker answered with an artifact that was not asked for");
		return;
	}
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(&d, hex);
	if (!h->found) {
		struct buf b = BUF_INIT;
		buf_appendf(&b, "the broker at %s does not have artifact %s", f->address, hex);
		fc->state = FC_READY;
		req_finish(f, q, false, b.data);
		buf_release(&b);
		fetcher_advance(f);
		return;
	}
	struct err *e = NULL;
	bool alive = true;
	if (h->size > f->limit) {
		err_set(&e, 0, "artifact %s of %" PRIu64 " bytes exceeds this worker's limit of %"
			PRIu64 " bytes (its cache-size)", hex, h->size, f->limit);
		alive = fc_refuse(fc, h->size, err_msg(e));
	} else if (xfer_sink_open(&fc->sink, f->store, h->size, &e) < 0) {
		alive = fc_refuse(fc, h->size, err_msg(e));
	} else {
		fc->state = FC_BODY;
		fc->remaining = h->size;
	}
	err_free(&e);
	if (!alive)
		return;
	if (fc->remaining == 0)
		fc_body_done(fc);
	else
		conn_set_raw(fc->c, true);
}

static void fc_on_message(struct conn *c, msg_t *m, void *arg)
{
	(void)c;
	struct fetch_conn *fc = arg;
	if (!fc) {
		msg_free(m);
		return;
	}
	if (m->msg_case == MAELSTROM__ENVELOPE__MSG_HELLO_REPLY) {
		if (fc->state != FC_CONNECTING) {
			fc_lose(fc, "%s", "unexpected HelloReply");
		} else if (!m->hello_reply->accepted) {
			fc_lose(fc, "the broker refused the connection: %s",
				m->hello_reply->message);
		} else {
			fc->state = FC_READY;
			fetcher_advance(fc->f);
		}
	} else if (m->msg_case == MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER) {
		fc_on_header(fc, m->artifact_header);
	} else {
		fc_lose(fc, "unexpected message %s", msg_name(m));
	}
	msg_free(m);
}

static size_t fc_on_raw(struct conn *c, const uint8_t *data, size_t len, void *arg)
{
	struct fetch_conn *fc = arg;
	if (!fc || (fc->state != FC_BODY && fc->state != FC_DISCARD))
		return len;
	size_t n = fc->remaining < len ? (size_t)fc->remaining : len;
	struct err *e = NULL;
	if (fc->state == FC_BODY && xfer_sink_write(&fc->sink, data, n, &e) < 0) {
		bool alive = fc_refuse(fc, fc->remaining, err_msg(e));
		err_free(&e);
		if (!alive)
			return len;
	}
	fc->remaining -= n;
	fc->f->st.bytes += n;
	if (fc->remaining == 0) {
		conn_set_raw(c, false);
		fc_body_done(fc);
	}
	return n;
}

static void fc_on_close(struct conn *c, const char *reason, void *arg)
{
	(void)c;
	struct fetch_conn *fc = arg;
	if (!fc)
		return;
	fc->c = NULL;
	fc_lose(fc, "connection lost: %s", reason);
}

static const struct conn_ops fc_ops = {
	.on_message = fc_on_message,
	.on_raw = fc_on_raw,
	.on_close = fc_on_close,
};

/* ---- public ----------------------------------------------------------------- */

struct artifact_fetcher *artifact_fetcher_new(struct reactor *r, const char *broker_address,
					      struct store *store, unsigned max_conns,
					      uint64_t max_size, struct err **err)
{
	char *host = NULL, *port = NULL;
	if (addr_split(broker_address, &host, &port, err) < 0)
		return NULL;
	free(host);
	free(port);
	struct artifact_fetcher *f = calloc(1, sizeof(*f));
	if (!f || !(f->address = strdup(broker_address)))
		abort();
	f->r = r;
	f->store = store;
	f->max_conns = max_conns ? max_conns : 2;
	f->limit = xfer_limit(max_size);
	return f;
}

void artifact_fetcher_free(struct artifact_fetcher *f)
{
	if (!f)
		return;
	reactor_timer_cancel(f->r, f->kick);
	while (f->conns)
		fc_free(f->conns, "artifact fetcher closed");
	while (f->head) {
		struct fetch_req *q = f->head;
		f->head = q->next;
		req_free(q);
	}
	free(f->address);
	free(f);
}

struct artifact_fetch *artifact_fetcher_get(struct artifact_fetcher *f, const struct digest *d,
					    artifact_done_cb *cb, void *arg)
{
	struct fetch_req *q = req_find(f, d);
	if (!q) {
		q = calloc(1, sizeof(*q));
		if (!q)
			abort();
		q->f = f;
		q->d = *d;
		DLIST_APPEND(f->head, f->tail, q);
		f->n_reqs++;
	}
	struct artifact_fetch *op = calloc(1, sizeof(*op));
	if (!op)
		abort();
	op->req = q;
	op->cb = cb;
	op->arg = arg;
	struct artifact_fetch **p = &q->waiters;
	while (*p)
		p = &(*p)->next;
	*p = op;
	fetcher_kick(f);
	return op;
}

void artifact_fetch_cancel(struct artifact_fetch *op)
{
	if (!op)
		return;
	struct fetch_req *q = op->req;
	for (struct artifact_fetch **p = &q->waiters; *p; p = &(*p)->next) {
		if (*p == op) {
			*p = op->next;
			break;
		}
	}
	free(op);
	/* A request nobody waits for and not yet sent is dropped. (A finishing
	 * one is freed by req_finish; a sent one completes into the store.) */
	if (!q->waiters && !q->fc && !q->done) {
		req_unlink(q->f, q);
		free(q);
	}
}

size_t artifact_fetcher_pending(const struct artifact_fetcher *f)
{
	return f->n_reqs;
}

void artifact_fetcher_stats(const struct artifact_fetcher *f, struct artifact_xfer_stats *out)
{
	*out = f->st;
}
