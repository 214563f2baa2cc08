/*
 * artifact_upload: the client side of ARTIFACT_UPLOAD connections.
 *
 *   IDLE --push--> CONNECTING --HelloReply--> READY --header--> SENDING
 *     ^                                         ^  \                |
 *     |                                         |   \(size 0)       | all bytes queued
 *     +----- connection lost / refused ---------+    `-> AWAITING_ACK <-'
 *                                          ArtifactAck{ok}
 *
 * One connection, one digest in flight; the queue (a FIFO of digests) is
 * worked through in order. The connection is only ever read as frames: the
 * raw bytes go one way, acknowledgements the other.
 */
#include "net/artifact_xfer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "net/addr.h"
#include "net/artifact_xfer_internal.h"

enum up_state {
	UP_IDLE,          /* no connection */
	UP_CONNECTING,    /* connecting, Hello queued, waiting for HelloReply */
	UP_READY,         /* hello done, nothing in flight */
	UP_SENDING,       /* header sent, the head digest's bytes streaming */
	UP_AWAITING_ACK,  /* every byte queued, waiting for ArtifactAck */
};

struct up_item {
	struct digest d;
	struct up_item *next;
};

struct artifact_uploader {
	struct reactor *r;
	char *address;
	struct store *store;
	artifact_done_cb *cb;
	void *arg;

	enum up_state state;
	struct conn *c;              /* non-NULL except in IDLE */
	struct xfer_source *src;     /* in SENDING */
	struct up_item *head;        /* in flight in SENDING / AWAITING_ACK */
	struct up_item **tail;
	size_t n;
	uint64_t kick;               /* timer: advance after this round */
	struct artifact_xfer_stats st;
};

static const struct conn_ops up_ops;
static void up_start_next(struct artifact_uploader *up);
static void up_kick(struct artifact_uploader *up);

/* Takes the head off and reports it. */
static void up_complete(struct artifact_uploader *up, bool ok, const char *message)
{
	struct up_item *it = up->head;
	up->head = it->next;
	if (!up->head)
		up->tail = &up->head;
	up->n--;
	if (ok)
		up->st.artifacts++;
	else
		up->st.failures++;
	up->cb(up->arg, &it->d, ok, ok ? "" : message);
	free(it);
}

/* Closes our side of the connection, if any, without callbacks. */
static void up_drop_conn(struct artifact_uploader *up, const char *reason)
{
	xfer_source_free(up->src);
	up->src = NULL;
	if (up->c) {
		conn_set_arg(up->c, NULL);
		conn_close(up->c, false, reason);
		up->c = NULL;
		up->st.active--;
	}
	up->state = UP_IDLE;
}

/* The connection is unusable: every queued digest fails with message. */
static void up_lose(struct artifact_uploader *up, const char *message)
{
	up_drop_conn(up, message);
	/* Detached first: callbacks may push again (that reconnects later). */
	struct up_item *it = up->head;
	up->head = NULL;
	up->tail = &up->head;
	up->n = 0;
	while (it) {
		struct up_item *next = it->next;
		up->st.failures++;
		up->cb(up->arg, &it->d, false, message);
		free(it);
		it = next;
	}
}

static void up_lost(struct artifact_uploader *up, const char *fmt, const char *detail)
{
	struct buf b = BUF_INIT;
	buf_appendf(&b, "artifact upload to the broker at %s: ", up->address);
	buf_appendf(&b, fmt, detail);
	up_lose(up, b.data);
	buf_release(&b);
}

static void up_connect(struct artifact_uploader *up)
{
	struct err *e = NULL;
	up->c = conn_connect(up->r, up->address, &up_ops, up, &e);
	if (!up->c) {
		up_lost(up, "%s", err_msg(e));
		err_free(&e);
		return;
	}
	up->st.active++;
	up->state = UP_CONNECTING;
	xfer_send_hello(up->c, MAELSTROM__ROLE__ROLE_ARTIFACT_UPLOAD);
}

static void up_advance(struct artifact_uploader *up)
{
	if (!up->head)
		return;
	switch (up->state) {
	case UP_IDLE:
		up_connect(up);
		break;
	case UP_READY:
		up_start_next(up);
		break;
	case UP_CONNECTING:
	case UP_SENDING:
	case UP_AWAITING_ACK:
		break;
	}
}

static void up_on_kick(struct reactor *r, void *arg)
{
	(void)r;
	struct artifact_uploader *up = arg;
	up->kick = 0;
	up_advance(up);
}

static void up_kick(struct artifact_uploader *up)
{
	if (!up->kick)
		up->kick = reactor_timer_add(up->r, 0, up_on_kick, up);
}

/* After a pump: rc 1 all queued, 0 waiting, -1 read error. */
static void up_pumped(struct artifact_uploader *up, int rc, const char *message)
{
	if (rc == 0)
		return;
	xfer_source_free(up->src);
	up->src = NULL;
	if (rc > 0) {
		up->state = UP_AWAITING_ACK;
		return;
	}
	/* The header promised bytes we cannot deliver: this stream is lost. */
	up_complete(up, false, message);
	up_drop_conn(up, "artifact file unreadable");
	up_kick(up);
}

static void up_source_cb(void *arg, int rc, const char *message)
{
	up_pumped(arg, rc, message);
}

static void up_start_next(struct artifact_uploader *up)
{
	while (up->head && up->state == UP_READY) {
		const struct digest *d = &up->head->d;
		char hex[DIGEST_HEX_LEN + 1];
		digest_to_hex(d, hex);
		char *path = store_blob_path(up->store, d);
		if (!path) {
			struct buf b = BUF_INIT;
			buf_appendf(&b, "artifact %s is not in the local cache %s", hex,
				    store_root(up->store));
			up_complete(up, false, b.data);
			buf_release(&b);
			continue;
		}
		struct err *e = NULL;
		uint64_t size;
		int rc = xfer_source_open(&up->src, up->r, up->c, path, &up->st, up_source_cb, up,
					  &size, &e);
		free(path);
		if (rc < 0) {
			up_complete(up, false, err_msg(e));
			err_free(&e);
			continue;
		}
		log_debug("uploading artifact %s (%llu bytes) to %s", hex, (unsigned long long)size,
			  up->address);
		xfer_send_header(up->c, d, size, true);
		up->state = UP_SENDING;
		rc = xfer_source_pump(up->src, &e);
		up_pumped(up, rc, err_msg(e));
		err_free(&e);
	}
}

/* ---- connection callbacks ---------------------------------------------------- */

static void up_on_ack(struct artifact_uploader *up, const Maelstrom__ArtifactAck *a)
{
	struct digest d;
	bool in_flight = up->state == UP_SENDING || up->state == UP_AWAITING_ACK;
	if (!in_flight || msg_digest_get(a->digest, &d, NULL) < 0 ||
	    !digest_equal(&d, &up->head->d)) {
		up_lost(up, "%s", "the broker acknowledged an artifact that was not sent");
		return;
	}
	if (a->ok) {
		if (up->state == UP_SENDING) {
			up_lost(up, "%s", "the broker acknowledged an artifact before all of it "
				"was sent");
			return;
		}
		up->state = UP_READY;
		up_complete(up, true, "");
		up_start_next(up);
		return;
	}
	/* Refused: the broker closes this connection; the rest go on a new one. */
	struct buf b = BUF_INIT;
	buf_appendf(&b, "the broker refused the artifact: %s", a->message);
	up_drop_conn(up, "artifact refused");
	up_complete(up, false, b.data);
	buf_release(&b);
	up_kick(up);
}

static void up_on_message(struct conn *c, msg_t *m, void *arg)
{
	(void)c;
	struct artifact_uploader *up = arg;
	if (!up) {
		msg_free(m);
		return;
	}
	if (m->msg_case == MAELSTROM__ENVELOPE__MSG_HELLO_REPLY) {
		if (up->state != UP_CONNECTING)
			up_lost(up, "%s", "unexpected HelloReply");
		else if (!m->hello_reply->accepted)
			up_lost(up, "the broker refused the connection: %s",
				m->hello_reply->message);
		else {
			up->state = UP_READY;
			up_start_next(up);
		}
	} else if (m->msg_case == MAELSTROM__ENVELOPE__MSG_ARTIFACT_ACK) {
		up_on_ack(up, m->artifact_ack);
	} else {
		up_lost(up, "unexpected message %s", msg_name(m));
	}
	msg_free(m);
}

static void up_on_drain(struct conn *c, void *arg)
{
	(void)c;
	struct artifact_uploader *up = arg;
	if (!up || up->state != UP_SENDING || !up->src)
		return;
	struct err *e = NULL;
	int rc = xfer_source_pump(up->src, &e);
	up_pumped(up, rc, err_msg(e));
	err_free(&e);
}

static void up_on_close(struct conn *c, const char *reason, void *arg)
{
	(void)c;
	struct artifact_uploader *up = arg;
	if (!up)
		return;
	up->c = NULL; /* gone already: nothing to close */
	up->st.active--;
	if (up->head)
		up_lost(up, "connection lost: %s", reason);
	else
		up_drop_conn(up, reason);
}

static const struct conn_ops up_ops = {
	.on_message = up_on_message,
	.on_drain = up_on_drain,
	.on_close = up_on_close,
};

/* ---- public ----------------------------------------------------------------- */

struct artifact_uploader *artifact_uploader_new(struct reactor *r, const char *broker_address,
						struct store *store, artifact_done_cb *cb,
						void *arg, struct err **err)
{
	char *host = NULL, *port = NULL;
	if (addr_split(broker_address, &host, &port, err) < 0)
		return NULL;
	free(host);
	free(port);
	struct artifact_uploader *up = calloc(1, sizeof(*up));
	if (!up || !(up->address = strdup(broker_address)))
		abort();
	up->r = r;
	up->store = store;
	up->cb = cb;
	up->arg = arg;
	up->state = UP_IDLE;
	up->tail = &up->head;
	return up;
}

void artifact_uploader_free(struct artifact_uploader *up)
{
	if (!up)
		return;
	reactor_timer_cancel(up->r, up->kick);
	up_drop_conn(up, "artifact uploader closed");
	while (up->head) {
		struct up_item *next = up->head->next;
		free(up->head);
		up->head = next;
	}
	free(up->address);
	free(up);
}

void artifact_uploader_push(struct artifact_uploader *up, const struct digest *d)
{
	for (struct up_item *it = up->head; it; it = it->next)
		if (digest_equal(&it->d, d))
			return;
	struct up_item *it = calloc(1, sizeof(*it));
	if (!it)
		abort();
	it->d = *d;
	*up->tail = it;
	up->tail = &it->next;
	up->n++;
	up_kick(up);
}

size_t artifact_uploader_pending(const struct artifact_uploader *up)
{
	return up->n;
}

void artifact_uploader_stats(const struct artifact_uploader *up, struct artifact_xfer_stats *out)
{
	*out = up->st;
}
