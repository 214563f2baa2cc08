/*
 * artifact_xfer: what the four artifact machines share: the routing table,
 * the messages, the file -> conn source and the conn -> temp file sink.
 */
#include "net/artifact_xfer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/fdio.h"
#include "net/artifact_xfer_internal.h"

/* ---- routing -------------------------------------------------------------- */

static void route_on_open(struct conn *c, void *arg)
{
	struct conn_route *rt = arg;
	if (rt && rt->ops->on_open)
		rt->ops->on_open(c, rt->arg);
}

static void route_on_message(struct conn *c, msg_t *m, void *arg)
{
	struct conn_route *rt = arg;
	if (rt && rt->ops->on_message)
		rt->ops->on_message(c, m, rt->arg);
	else
		msg_free(m);
}

static size_t route_on_raw(struct conn *c, const uint8_t *data, size_t len, void *arg)
{
	struct conn_route *rt = arg;
	if (rt && rt->ops->on_raw)
		return rt->ops->on_raw(c, data, len, rt->arg);
	return len; /* nobody wants them */
}

static void route_on_drain(struct conn *c, void *arg)
{
	struct conn_route *rt = arg;
	if (rt && rt->ops->on_drain)
		rt->ops->on_drain(c, rt->arg);
}

static void route_on_close(struct conn *c, const char *reason, void *arg)
{
	struct conn_route *rt = arg;
	if (rt && rt->ops->on_close)
		rt->ops->on_close(c, reason, rt->arg);
}

const struct conn_ops conn_route_ops = {
	.on_open = route_on_open,
	.on_message = route_on_message,
	.on_raw = route_on_raw,
	.on_drain = route_on_drain,
	.on_close = route_on_close,
};

/* ---- messages ------------------------------------------------------------- */

void xfer_send_hello(struct conn *c, Maelstrom__Role role)
{
	Maelstrom__Hello h = MAELSTROM__HELLO__INIT;
	h.protocol_version = PROTOCOL_VERSION;
	h.role = role;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_HELLO;
	m.hello = &h;
	conn_send(c, &m);
}

void xfer_send_header(struct conn *c, const struct digest *d, uint64_t size, bool found)
{
	Maelstrom__ArtifactHeader h = MAELSTROM__ARTIFACT_HEADER__INIT;
	h.digest = msg_digest(d);
	h.size = size;
	h.found = found;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER;
	m.artifact_header = &h;
	conn_send(c, &m);
}

void xfer_send_ack(struct conn *c, const struct digest *d, bool ok, const char *message)
{
	Maelstrom__ArtifactAck a = MAELSTROM__ARTIFACT_ACK__INIT;
	a.digest = msg_digest(d);
	a.ok = ok;
	a.message = (char *)(message ? message : "");
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_ARTIFACT_ACK;
	m.artifact_ack = &a;
	conn_send(c, &m);
}

void xfer_send_fetch(struct conn *c, const struct digest *d)
{
	Maelstrom__FetchArtifact f = MAELSTROM__FETCH_ARTIFACT__INIT;
	f.digest = msg_digest(d);
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_FETCH_ARTIFACT;
	m.fetch_artifact = &f;
	conn_send(c, &m);
}

uint64_t xfer_limit(uint64_t max_size)
{
	return max_size && max_size < ARTIFACT_HARD_LIMIT ? max_size : ARTIFACT_HARD_LIMIT;
}

void xfer_note_queued(struct artifact_xfer_stats *st, const struct conn *c)
{
	size_t q = conn_queued(c);
	if (st && q > st->peak_queued)
		st->peak_queued = q;
}

/* ---- source: file -> conn ------------------------------------------------ */

bool xfer_source_use_uring = true;

struct xfer_source {
	struct reactor *r;
	struct conn *c;
	struct artifact_xfer_stats *st;
	xfer_source_cb *cb;
	void *arg;
	int fd;
	uint64_t size, queued;  /* file size; bytes handed to the conn */
	char *buf;              /* ARTIFACT_CHUNK bytes */
	bool uring;             /* read through io_uring */
	bool in_flight;         /* an io_uring read owns buf and fd */
	bool orphaned;          /* freed while in flight: the completion frees */
	bool waiting;           /* stopped for on_drain (counts a stall once) */
};

static void source_destroy(struct xfer_source *src)
{
	if (src->fd >= 0)
		close(src->fd);
	free(src->buf);
	free(src);
}

int xfer_source_open(struct xfer_source **out, struct reactor *r, struct conn *c,
		     const char *path, struct artifact_xfer_stats *st, xfer_source_cb *cb,
		     void *arg, uint64_t *size, struct err **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0)
		return err_set(err, errno, "cannot open artifact %s", path);
	if (!S_ISREG(sb.st_mode))
		return err_set(err, 0, "artifact %s is not a regular file", path);
	struct xfer_source *src = calloc(1, sizeof(*src));
	if (!src)
		abort();
	src->buf = malloc(ARTIFACT_CHUNK);
	if (!src->buf)
		abort();
	src->r = r;
	src->c = c;
	src->st = st;
	src->cb = cb;
	src->arg = arg;
	src->fd = steal_fd(&fd);
	src->size = (uint64_t)sb.st_size;
	src->uring = xfer_source_use_uring && reactor_uring(r) != NULL;
	*size = src->size;
	*out = src;
	return 0;
}

/* Hands n bytes just read from buf to the conn. */
static void source_queue(struct xfer_source *src, size_t n)
{
	conn_send_raw(src->c, src->buf, n);
	src->queued += n;
	if (src->st) {
		src->st->bytes += n;
		xfer_note_queued(src->st, src->c);
	}
}

static int source_short(struct xfer_source *src, struct err **err)
{
	return err_set(err, 0, "artifact file ended after %" PRIu64 " of %" PRIu64
		       " bytes (was it modified?)", src->queued, src->size);
}

static void source_read_done(struct reactor *r, int res, void *arg);

/* Starts one io_uring read; false if no sqe could be had. */
static bool source_submit(struct xfer_source *src, size_t len)
{
	struct io_uring_sqe *sqe = reactor_uring_sqe(src->r, source_read_done, src);
	if (!sqe)
		return false;
	io_uring_prep_read(sqe, src->fd, src->buf, (unsigned)len, src->queued);
	src->in_flight = true;
	return true;
}

int xfer_source_pump(struct xfer_source *src, struct err **err)
{
	if (src->in_flight)
		return 0;
	while (src->queued < src->size) {
		if (!conn_writable(src->c)) {
			if (!src->waiting && src->st)
				src->st->stalls++;
			src->waiting = true;
			return 0;
		}
		src->waiting = false;
		uint64_t left = src->size - src->queued;
		size_t len = left < ARTIFACT_CHUNK ? (size_t)left : ARTIFACT_CHUNK;
		if (src->uring && source_submit(src, len))
			return 0;
		ssize_t n = pread(src->fd, src->buf, len, (off_t)src->queued);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_set(err, errno, "cannot read artifact file");
		if (n == 0)
			return source_short(src, err);
		source_queue(src, (size_t)n);
	}
	return 1;
}

static void source_read_done(struct reactor *r, int res, void *arg)
{
	(void)r;
	struct xfer_source *src = arg;
	src->in_flight = false;
	if (src->orphaned) {
		source_destroy(src);
		return;
	}
	struct err *e = NULL;
	int rc;
	if (res < 0)
		rc = err_set(&e, -res, "cannot read artifact file");
	else if (res == 0)
		rc = source_short(src, &e);
	else {
		source_queue(src, (size_t)res);
		rc = xfer_source_pump(src, &e);
	}
	if (rc != 0)
		src->cb(src->arg, rc, rc < 0 ? err_msg(e) : "");
	err_free(&e);
}

void xfer_source_free(struct xfer_source *src)
{
	if (!src)
		return;
	if (src->in_flight)
		src->orphaned = true;
	else
		source_destroy(src);
}

/* ---- sink: conn -> temp file ---------------------------------------------- */

int xfer_sink_open(struct xfer_sink *k, struct store *store, uint64_t size, struct err **err)
{
	*k = (struct xfer_sink)XFER_SINK_INIT;
	if (store_tmpfile(store, &k->tmp_path, &k->fd, err) < 0)
		return -1;
	k->store = store;
	k->size = size;
	k->hash = digest_state_new();
	return 0;
}

uint64_t xfer_sink_remaining(const struct xfer_sink *k)
{
	return k->size - k->received;
}

int xfer_sink_write(struct xfer_sink *k, const void *data, size_t len, struct err **err)
{
	digest_state_update(k->hash, data, len);
	if (fd_write_all(k->fd, data, len) < 0)
		return err_set(err, errno, "cannot write temp file %s", k->tmp_path);
	k->received += len;
	return 0;
}

int xfer_sink_commit(struct xfer_sink *k, const struct digest *expected, struct err **err)
{
	struct digest got;
	digest_state_final(k->hash, &got);
	if (!digest_equal(&got, expected)) {
		char want_hex[DIGEST_HEX_LEN + 1], got_hex[DIGEST_HEX_LEN + 1];
		digest_to_hex(expected, want_hex);
		digest_to_hex(&got, got_hex);
		uint64_t n = k->received;
		xfer_sink_release(k);
		return err_set(err, 0, "digest mismatch: artifact %s arrived as %" PRIu64
			       " bytes hashing to %s; the data was discarded", want_hex, n,
			       got_hex);
	}
	close(k->fd);
	k->fd = -1;
	/* store_commit moves the temp file in, or deletes it on failure (we
	 * delete it too, in case it could not even be opened). */
	if (store_commit(k->store, k->tmp_path, expected, NULL, err) < 0) {
		xfer_sink_release(k);
		return -1;
	}
	free(k->tmp_path);
	k->tmp_path = NULL;
	xfer_sink_release(k);
	return 0;
}

void xfer_sink_release(struct xfer_sink *k)
{
	if (k->fd >= 0)
		close(k->fd);
	k->fd = -1;
	if (k->tmp_path) {
		unlink(k->tmp_path);
		free(k->tmp_path);
		k->tmp_path = NULL;
	}
	digest_state_free(k->hash);
	k->hash = NULL;
}
