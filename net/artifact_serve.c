/*
 * artifact_serve: the broker's side of one ARTIFACT_FETCH connection.
 *
 *   IDLE --FetchArtifact, blob present--> STREAMING --all bytes queued--> IDLE
 *     \__ blob absent: ArtifactHeader{found = false}, stay IDLE
 *   any --read error / bad message / too many requests--> CLOSING
 *
 * Requests that arrive while streaming wait in a FIFO (bounded) and are
 * answered in order. The blob is opened when its turn comes, so an entry
 * evicted meanwhile is answered "not found"; once open, the file stays
 * readable even if it is evicted during the transfer.
 */
#include "net/artifact_xfer.h"

#include <inttypes.h>
#include <stdlib.h>

#include "core/log.h"
#include "net/artifact_xfer_internal.h"

#define SRV_MAX_WAITING 1024

enum srv_state {
	SRV_IDLE,        /* nothing being sent */
	SRV_STREAMING,   /* header sent, the blob's bytes going out */
	SRV_CLOSING,     /* given up: closing */
};

struct server {
	struct svc_peer peer;        /* first: the service's list */
	enum srv_state state;
	struct xfer_source *src;     /* in STREAMING */
	struct digest *waiting;      /* ring of SRV_MAX_WAITING requests */
	size_t first, count;
};

void server_destroy(struct svc_peer *p)
{
	struct server *s = (struct server *)p;
	xfer_source_free(s->src);
	free(s->waiting);
	free(s);
}

static void srv_fail(struct server *s, const char *message)
{
	log_warning("artifact fetch connection from %s: %s", conn_peer(s->peer.c), message);
	xfer_source_free(s->src);
	s->src = NULL;
	s->state = SRV_CLOSING;
	conn_close(s->peer.c, true, message);
}

/* After a pump: rc 1 all queued, 0 waiting, -1 read error. */
static void srv_pumped(struct server *s, int rc, const char *message)
{
	if (rc == 0)
		return;
	if (rc < 0) {
		s->peer.svc->st.failures++;
		srv_fail(s, message);
		return;
	}
	xfer_source_free(s->src);
	s->src = NULL;
	s->peer.svc->st.artifacts++;
	s->state = SRV_IDLE;
}

static void srv_source_cb(void *arg, int rc, const char *message);

/* Answers waiting requests until one needs to stream. */
static void srv_serve(struct server *s)
{
	struct svc_peer *p = &s->peer;
	while (s->state == SRV_IDLE && s->count > 0) {
		struct digest d = s->waiting[s->first];
		s->first = (s->first + 1) % SRV_MAX_WAITING;
		s->count--;
		char hex[DIGEST_HEX_LEN + 1];
		digest_to_hex(&d, hex);
		char *path = store_blob_path(p->svc->store, &d);
		struct err *e = NULL;
		uint64_t size = 0;
		if (!path) {
			log_debug("%s fetched artifact %s, which is not here", conn_peer(p->c), hex);
			xfer_send_header(p->c, &d, 0, false);
			continue;
		}
		int rc = xfer_source_open(&s->src, p->svc->r, p->c, path, &p->svc->st,
					  srv_source_cb, s, &size, &e);
		free(path);
		if (rc < 0) {
			log_warning("cannot serve artifact %s: %s", hex, err_msg(e));
			err_free(&e);
			xfer_send_header(p->c, &d, 0, false);
			continue;
		}
		log_debug("sending artifact %s (%" PRIu64 " bytes) to %s", hex, size,
			  conn_peer(p->c));
		xfer_send_header(p->c, &d, size, true);
		s->state = SRV_STREAMING;
		rc = xfer_source_pump(s->src, &e);
		srv_pumped(s, rc, err_msg(e));
		err_free(&e);
	}
}

static void srv_source_cb(void *arg, int rc, const char *message)
{
	struct server *s = arg;
	srv_pumped(s, rc, message);
	srv_serve(s);
}

static void srv_on_message(struct conn *c, msg_t *m, void *arg)
{
	(void)c;
	struct server *s = arg;
	if (s->state == SRV_CLOSING) {
		msg_free(m);
		return;
	}
	struct digest d;
	struct err *e = NULL;
	if (m->msg_case != MAELSTROM__ENVELOPE__MSG_FETCH_ARTIFACT) {
		err_set(&e, 0, "unexpected message %s on an artifact fetch connection",
			msg_name(m));
		srv_fail(s, err_msg(e));
	} else if (msg_digest_get(m->fetch_artifact->digest, &d, &e) < 0) {
		err_wrap(&e, "FetchArtifact.digest");
		srv_fail(s, err_msg(e));
	} else if (s->count == SRV_MAX_WAITING) {
		srv_fail(s, "too many artifact requests waiting");
	} else {
		s->waiting[(s->first + s->count) % SRV_MAX_WAITING] = d;
		s->count++;
		srv_serve(s);
	}
	err_free(&e);
	msg_free(m);
}

static void srv_on_drain(struct conn *c, void *arg)
{
	(void)c;
	struct server *s = arg;
	if (s->state != SRV_STREAMING)
		return;
	struct err *e = NULL;
	int rc = xfer_source_pump(s->src, &e);
	srv_pumped(s, rc, err_msg(e));
	err_free(&e);
	srv_serve(s);
}

static void srv_on_close(struct conn *c, const char *reason, void *arg)
{
	(void)c;
	struct server *s = arg;
	if (s->state == SRV_STREAMING) {
		log_warning("artifact fetch connection from %s lost during a transfer: %s",
			    conn_peer(s->peer.c), reason);
		s->peer.svc->st.failures++;
	}
	svc_peer_detach(&s->peer);
	server_destroy(&s->peer);
}

static const struct conn_ops srv_ops = {
	.on_message = srv_on_message,
	.on_drain = srv_on_drain,
	.on_close = srv_on_close,
};

void artifact_server_adopt(struct artifact_service *svc, struct conn *c)
{
	struct server *s = calloc(1, sizeof(*s));
	if (!s || !(s->waiting = calloc(SRV_MAX_WAITING, sizeof(*s->waiting))))
		abort();
	s->state = SRV_IDLE;
	svc_peer_attach(svc, &s->peer, c, PEER_FETCH, &srv_ops, s);
}
