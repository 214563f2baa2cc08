/*
 * artifact_receive: the broker's side of one ARTIFACT_UPLOAD connection.
 *
 *   HEADER --ArtifactHeader{size > 0}--> BODY --last byte, digest ok--> HEADER
 *     |  \__ size 0: straight to the check                 (Ack ok, on_stored)
 *     |
 *     +-- too large / store error / digest mismatch / bad message --> CLOSING
 *         (Ack{ok = false} when there is a digest to name, then close)
 *
 * In BODY the conn reads raw: each piece goes to the sink (temp file +
 * hash) as it arrives, never more than the header announced; the bytes
 * after the last one (none, with our uploader, which waits for the ack)
 * are decoded as frames again.
 */
#include "net/artifact_xfer.h"

#include <inttypes.h>
#include <stdlib.h>

#include "core/buf.h"
#include "core/log.h"
#include "net/artifact_xfer_internal.h"

enum rx_state {
	RX_HEADER,    /* framed: waiting for ArtifactHeader */
	RX_BODY,      /* raw: the announced bytes into the sink */
	RX_CLOSING,   /* refused: closing, nothing more is read */
};

struct receiver {
	struct svc_peer peer;        /* first: the service's list */
	enum rx_state state;
	struct digest d;             /* the artifact in BODY */
	struct xfer_sink sink;
};

void receiver_destroy(struct svc_peer *p)
{
	struct receiver *rx = (struct receiver *)p;
	xfer_sink_release(&rx->sink);
	free(rx);
}

/* Answers ArtifactAck{ok = false} (when d is known) and closes. */
static void rx_refuse(struct receiver *rx, const struct digest *d, const char *message)
{
	struct svc_peer *p = &rx->peer;
	xfer_sink_release(&rx->sink);
	log_warning("artifact upload from %s refused: %s", conn_peer(p->c), message);
	if (d)
		xfer_send_ack(p->c, d, false, message);
	p->svc->st.failures++;
	rx->state = RX_CLOSING;
	conn_close(p->c, true, message);
}

/* Every announced byte arrived: check, store, acknowledge. */
static void rx_finish(struct receiver *rx)
{
	struct svc_peer *p = &rx->peer;
	struct err *e = NULL;
	if (xfer_sink_commit(&rx->sink, &rx->d, &e) < 0) {
		rx_refuse(rx, &rx->d, err_msg(e));
		err_free(&e);
		return;
	}
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(&rx->d, hex);
	log_debug("artifact %s received from %s", hex, conn_peer(p->c));
	xfer_send_ack(p->c, &rx->d, true, "");
	p->svc->st.artifacts++;
	rx->state = RX_HEADER;
	struct digest d = rx->d;
	if (p->svc->on_stored)
		p->svc->on_stored(p->svc->arg, &d);
}

static void rx_on_header(struct receiver *rx, const Maelstrom__ArtifactHeader *h)
{
	struct svc_peer *p = &rx->peer;
	struct err *e = NULL;
	if (msg_digest_get(h->digest, &rx->d, &e) < 0) {
		err_wrap(&e, "artifact header: digest");
		rx_refuse(rx, NULL, err_msg(e));
		err_free(&e);
		return;
	}
	if (h->size > p->svc->limit) {
		struct buf b = BUF_INIT;
		buf_appendf(&b, "artifact of %" PRIu64 " bytes exceeds the broker's limit of %"
			    PRIu64 " bytes (its cache-size)", h->size, p->svc->limit);
		rx_refuse(rx, &rx->d, b.data);
		buf_release(&b);
		return;
	}
	if (xfer_sink_open(&rx->sink, p->svc->store, h->size, &e) < 0) {
		rx_refuse(rx, &rx->d, err_msg(e));
		err_free(&e);
		return;
	}
	if (h->size == 0) {
		rx_finish(rx);
		return;
	}
	rx->state = RX_BODY;
	conn_set_raw(p->c, true);
}

static void rx_on_message(struct conn *c, msg_t *m, void *arg)
{
	(void)c;
	struct receiver *rx = arg;
	if (rx->state == RX_HEADER) {
		if (m->msg_case == MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER) {
			rx_on_header(rx, m->artifact_header);
		} else {
			struct buf b = BUF_INIT;
			buf_appendf(&b, "unexpected message %s on an artifact upload connection",
				    msg_name(m));
			rx_refuse(rx, NULL, b.data);
			buf_release(&b);
		}
	}
	msg_free(m);
}

static size_t rx_on_raw(struct conn *c, const uint8_t *data, size_t len, void *arg)
{
	struct receiver *rx = arg;
	if (rx->state != RX_BODY)
		return len;
	uint64_t left = xfer_sink_remaining(&rx->sink);
	size_t n = left < len ? (size_t)left : len;
	struct err *e = NULL;
	if (xfer_sink_write(&rx->sink, data, n, &e) < 0) {
		rx_refuse(rx, &rx->d, err_msg(e));
		err_free(&e);
		return len;
	}
	rx->peer.svc->st.bytes += n;
	if (xfer_sink_remaining(&rx->sink) == 0) {
		conn_set_raw(c, false);
		rx_finish(rx);
	}
	return n;
}

static void rx_on_close(struct conn *c, const char *reason, void *arg)
{
	(void)c;
	struct receiver *rx = arg;
	if (rx->state == RX_BODY) {
		char hex[DIGEST_HEX_LEN + 1];
		digest_to_hex(&rx->d, hex);
		log_warning("artifact upload of %s from %s cut off after %" PRIu64 " of %" PRIu64
			    " bytes: %s", hex, conn_peer(rx->peer.c), rx->sink.received,
			    rx->sink.size, reason);
		rx->peer.svc->st.failures++;
	}
	svc_peer_detach(&rx->peer);
	receiver_destroy(&rx->peer);
}

static const struct conn_ops rx_ops = {
	.on_message = rx_on_message,
	.on_raw = rx_on_raw,
	.on_close = rx_on_close,
};

void artifact_receiver_adopt(struct artifact_service *svc, struct conn *c)
{
	struct receiver *rx = calloc(1, sizeof(*rx));
	if (!rx)
		abort();
	rx->sink = (struct xfer_sink)XFER_SINK_INIT;
	rx->state = RX_HEADER;
	svc_peer_attach(svc, &rx->peer, c, PEER_UPLOAD, &rx_ops, rx);
}
