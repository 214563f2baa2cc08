/*
 * conn.c: the connection state machine; reading (frames and raw bytes),
 * writing (a compacting queue with watermarks) and closing. See net/conn.h;
 * connecting lives in net/conn_connect.c.
 *
 * Deferred work: conn_send schedules one write for after the dispatch round
 * (so a burst of messages costs one send()), conn_set_raw outside a delivery
 * schedules one delivery, and entering CLOSED schedules on_close plus the
 * free. The reactor runs deferred functions in order, so the free always
 * comes after any write or delivery scheduled before it; those check the
 * state and do nothing on a closed conn.
 */
#include "net/conn_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "net/addr.h"

#define READ_CHUNK (64u << 10)
#define READ_BUDGET (256u << 10)         /* per wake-up, for fairness */
#define CLOSE_TIMEOUT_NS (5000000000ull)
#define KEEP_CAPACITY (4u << 20)         /* an emptied queue keeps this much memory */

char *conn_strdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort(); /* out of memory */
	return d;
}

static size_t queued(const struct conn *c)
{
	return c->out.len - c->out_off;
}

static void conn_destroy(struct conn *c)
{
	frame_decoder_release(&c->dec);
	buf_release(&c->raw_in);
	buf_release(&c->out);
	free(c->peer);
	free(c->close_reason);
	free(c->final_reason);
	free(c);
}

/* Deferred from entering CLOSED: the last callback, then the free. */
static void conn_finish(void *arg)
{
	struct conn *c = arg;
	if (c->ops.on_close)
		c->ops.on_close(c, c->final_reason, c->arg);
	conn_destroy(c);
}

static void close_timer_fired(struct reactor *r, void *arg)
{
	(void)r;
	struct conn *c = arg;
	c->timer = 0;
	char reason[512];
	if (queued(c) > 0)
		snprintf(reason, sizeof(reason), "%s (gave up after 5 s with %zu bytes unsent)",
			 c->close_reason, queued(c));
	else
		snprintf(reason, sizeof(reason), "%s", c->close_reason);
	conn_enter(c, CONN_CLOSED, reason);
}

static void flush_deferred(void *arg);

static void schedule_flush(struct conn *c)
{
	if (!c->flush_scheduled) {
		c->flush_scheduled = true;
		reactor_defer(c->r, flush_deferred, c);
	}
}

void conn_enter(struct conn *c, enum conn_state to, const char *reason)
{
	if (c->state == CONN_CLOSED)
		return;
	c->state = to;
	switch (to) {
	case CONN_CONNECTING:
		break; /* only ever the initial state */
	case CONN_OPEN:
		reactor_timer_cancel(c->r, c->timer);
		c->timer = 0;
		if (c->ai_list)
			freeaddrinfo(c->ai_list);
		c->ai_list = c->ai_next = NULL;
		conn_update_events(c);
		break;
	case CONN_CLOSING:
		log_debug("connection %s: closing (%s)", c->peer, reason);
		c->close_reason = conn_strdup(reason);
		c->timer = reactor_timer_add(c->r, CLOSE_TIMEOUT_NS, close_timer_fired, c);
		schedule_flush(c);
		conn_update_events(c);
		break;
	case CONN_CLOSED:
		log_debug("connection %s: closed (%s)", c->peer, reason);
		reactor_timer_cancel(c->r, c->timer);
		c->timer = 0;
		if (c->fd >= 0) {
			if (c->registered)
				reactor_del_fd(c->r, c->fd);
			close(c->fd);
		}
		c->fd = -1;
		c->registered = false;
		if (c->ai_list)
			freeaddrinfo(c->ai_list);
		c->ai_list = c->ai_next = NULL;
		c->final_reason = conn_strdup(reason);
		reactor_defer(c->r, conn_finish, c);
		break;
	}
}

static void conn_fail(struct conn *c, int errnum, const char *what)
{
	char reason[256];
	snprintf(reason, sizeof(reason), "cannot %s: %s", what, strerror(errnum));
	conn_enter(c, CONN_CLOSED, reason);
}

static void conn_on_event(struct reactor *r, int fd, uint32_t events, void *arg);

void conn_update_events(struct conn *c)
{
	uint32_t want = 0;
	switch (c->state) {
	case CONN_CONNECTING:
		want = EPOLLOUT;
		break;
	case CONN_OPEN:
		want = EPOLLIN | (queued(c) > 0 ? EPOLLOUT : 0);
		break;
	case CONN_CLOSING:
		want = (c->read_eof ? 0 : EPOLLIN) | (queued(c) > 0 ? EPOLLOUT : 0);
		break;
	case CONN_CLOSED:
		return;
	}
	struct err *e = NULL;
	if (!c->registered) {
		if (reactor_add_fd(c->r, c->fd, want, conn_on_event, c, &e) < 0) {
			char reason[256];
			snprintf(reason, sizeof(reason), "%s", err_msg(e));
			err_free(&e);
			conn_enter(c, CONN_CLOSED, reason);
			return;
		}
		c->registered = true;
	} else if (want != c->events && reactor_mod_fd(c->r, c->fd, want, &e) < 0) {
		log_error("connection %s: %s", c->peer, err_msg(e));
		err_free(&e);
		return;
	}
	c->events = want;
}

void conn_tune_socket(int fd)
{
	int domain = 0;
	socklen_t len = sizeof(domain);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0 ||
	    (domain != AF_INET && domain != AF_INET6))
		return;
	static const struct {
		int level, name, value;
		const char *what;
	} opts[] = {
		{ IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY" },
		{ SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE" },
		{ IPPROTO_TCP, TCP_KEEPIDLE, 30, "TCP_KEEPIDLE" },
		{ IPPROTO_TCP, TCP_KEEPINTVL, 10, "TCP_KEEPINTVL" },
		{ IPPROTO_TCP, TCP_KEEPCNT, 3, "TCP_KEEPCNT" },
	};
	for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
		if (setsockopt(fd, opts[i].level, opts[i].name, &opts[i].value,
			       sizeof(opts[i].value)) < 0)
			log_debug("cannot set %s on fd %d: %s", opts[i].what, fd, strerror(errno));
}

struct conn *conn_alloc(struct reactor *r, enum conn_state state, const struct conn_ops *ops,
			void *arg, const char *peer)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		abort(); /* out of memory */
	c->state = state;
	c->r = r;
	c->fd = -1;
	if (ops)
		c->ops = *ops;
	c->arg = arg;
	c->peer = conn_strdup(peer);
	frame_decoder_init(&c->dec, FRAME_DEFAULT_LIMIT);
	buf_init(&c->raw_in);
	buf_init(&c->out);
	return c;
}

struct conn *conn_new(struct reactor *r, int fd, const struct conn_ops *ops, void *arg)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char peer[ADDR_TEXT_MAX] = "unknown peer";
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		addr_format((struct sockaddr *)&ss, len, peer, sizeof(peer));

	struct conn *c = conn_alloc(r, CONN_OPEN, ops, arg, peer);
	c->fd = fd;
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		conn_fail(c, errno, "make the socket non-blocking");
		return c;
	}
	conn_tune_socket(fd);
	conn_update_events(c);
	return c;
}

/* ---- reading ------------------------------------------------------------ */

/* Puts buffered bytes where the current mode reads them. Between two calls
 * only one of the two buffers ever receives bytes, so order is kept. */
static void sync_mode(struct conn *c)
{
	if (c->raw && frame_decoder_pending(&c->dec) > 0) {
		frame_decoder_take_rest(&c->dec, &c->raw_in);
	} else if (!c->raw && c->raw_in.len > 0) {
		frame_decoder_feed(&c->dec, c->raw_in.data, c->raw_in.len);
		buf_reset(&c->raw_in);
	}
}

/* Hands buffered input to the callbacks, following the mode switches they
 * make, until nothing complete is left, the conn stops being open, or raw
 * bytes were offered once and not all taken. */
static void conn_deliver(struct conn *c)
{
	if (c->delivering)
		return;
	c->delivering = true;
	bool offered = false;
	while (c->state == CONN_OPEN) {
		sync_mode(c);
		if (c->raw) {
			if (offered || c->raw_in.len == 0)
				break;
			offered = true;
			size_t len = c->raw_in.len, n = len;
			if (c->ops.on_raw)
				n = c->ops.on_raw(c, (const uint8_t *)c->raw_in.data, len, c->arg);
			buf_consume(&c->raw_in, n < len ? n : len);
			continue;
		}
		offered = false;
		const uint8_t *body;
		size_t len;
		struct err *e = NULL;
		int rc = frame_decoder_next(&c->dec, &body, &len, &e);
		if (rc == 0)
			break;
		msg_t *m = rc < 0 ? NULL : msg_decode(body, len, &e);
		if (!m) {
			char reason[512];
			snprintf(reason, sizeof(reason), "%s", err_msg(e));
			err_free(&e);
			conn_enter(c, CONN_CLOSED, reason);
			break;
		}
		if (c->ops.on_message)
			c->ops.on_message(c, m, c->arg);
		else
			msg_free(m);
	}
	c->delivering = false;
}

static void deliver_deferred(void *arg)
{
	struct conn *c = arg;
	c->deliver_scheduled = false;
	conn_deliver(c);
}

static void conn_on_eof(struct conn *c)
{
	switch (c->state) {
	case CONN_OPEN:
		if (!c->raw && frame_decoder_pending(&c->dec) > 0)
			conn_enter(c, CONN_CLOSED,
				   "peer closed the connection in the middle of a message");
		else
			conn_enter(c, CONN_CLOSED, "peer closed the connection");
		break;
	case CONN_CLOSING:
		c->read_eof = true;
		if (queued(c) == 0)
			conn_enter(c, CONN_CLOSED, c->close_reason);
		else
			conn_update_events(c);
		break;
	case CONN_CONNECTING:
	case CONN_CLOSED:
		break;
	}
}

static void conn_read(struct conn *c)
{
	char chunk[READ_CHUNK];
	size_t budget = READ_BUDGET;
	while (budget > 0 && (c->state == CONN_OPEN || (c->state == CONN_CLOSING && !c->read_eof))) {
		ssize_t n = recv(c->fd, chunk, sizeof(chunk), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				conn_fail(c, errno, "receive");
			return;
		}
		if (n == 0) {
			conn_on_eof(c);
			return;
		}
		budget -= (size_t)n < budget ? (size_t)n : budget;
		if (c->state == CONN_CLOSING)
			continue; /* lingering: what the peer still sends is dropped */
		sync_mode(c);
		if (c->raw)
			buf_append(&c->raw_in, chunk, (size_t)n);
		else
			frame_decoder_feed(&c->dec, chunk, (size_t)n);
		conn_deliver(c);
		if ((size_t)n < sizeof(chunk))
			return; /* most likely drained; level-triggered epoll says if not */
	}
}

/* ---- writing ------------------------------------------------------------ */

static void compact(struct conn *c)
{
	if (c->out_off == c->out.len) {
		if (c->out.cap > KEEP_CAPACITY)
			buf_release(&c->out);
		else
			buf_reset(&c->out);
		c->out_off = 0;
	} else if (c->out_off >= c->out.len / 2) {
		buf_consume(&c->out, c->out_off);
		c->out_off = 0;
	}
}

void conn_write(struct conn *c)
{
	while (queued(c) > 0) {
		ssize_t n = send(c->fd, c->out.data + c->out_off, queued(c), MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_fail(c, errno, "send");
			return;
		}
		c->out_off += (size_t)n;
	}
	compact(c);
	if (c->state == CONN_CLOSING && queued(c) == 0) {
		if (c->read_eof) {
			conn_enter(c, CONN_CLOSED, c->close_reason);
			return;
		}
		if (!c->shut_wr) {
			c->shut_wr = true;
			if (shutdown(c->fd, SHUT_WR) < 0) {
				conn_enter(c, CONN_CLOSED, c->close_reason);
				return;
			}
		}
	}
	conn_update_events(c);
	if (c->over_high && queued(c) < CONN_LOW_WATERMARK && c->state == CONN_OPEN) {
		c->over_high = false;
		if (c->ops.on_drain)
			c->ops.on_drain(c, c->arg);
	}
}

static void flush_deferred(void *arg)
{
	struct conn *c = arg;
	c->flush_scheduled = false;
	if (c->state == CONN_OPEN || c->state == CONN_CLOSING)
		conn_write(c);
}

static void conn_on_event(struct reactor *r, int fd, uint32_t events, void *arg)
{
	(void)r;
	(void)fd;
	struct conn *c = arg;
	switch (c->state) {
	case CONN_CONNECTING:
		conn_connect_ready(c);
		return;
	case CONN_OPEN:
	case CONN_CLOSING:
		if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			conn_read(c);
		if ((events & (EPOLLOUT | EPOLLERR)) &&
		    (c->state == CONN_OPEN || c->state == CONN_CLOSING))
			conn_write(c);
		if ((events & EPOLLERR) && (c->state == CONN_OPEN || c->state == CONN_CLOSING)) {
			int soerr = 0;
			socklen_t len = sizeof(soerr);
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr)
				conn_fail(c, soerr, "use the connection");
		}
		return;
	case CONN_CLOSED:
		return;
	}
}

/* ---- the public surface ------------------------------------------------- */

static void enqueue(struct conn *c, const void *data, size_t len, const msg_t *m)
{
	if (c->state != CONN_CONNECTING && c->state != CONN_OPEN)
		return;
	if (m)
		msg_encode_frame(&c->out, m);
	else
		buf_append(&c->out, data, len);
	if (queued(c) > CONN_HIGH_WATERMARK)
		c->over_high = true;
	if (c->state == CONN_OPEN && !(c->events & EPOLLOUT))
		schedule_flush(c);
}

void conn_send(struct conn *c, const msg_t *m)
{
	enqueue(c, NULL, 0, m);
}

void conn_send_raw(struct conn *c, const void *data, size_t len)
{
	enqueue(c, data, len, NULL);
}

bool conn_writable(const struct conn *c)
{
	return !c->over_high && (c->state == CONN_CONNECTING || c->state == CONN_OPEN);
}

size_t conn_queued(const struct conn *c)
{
	return queued(c);
}

void conn_set_raw(struct conn *c, bool raw)
{
	c->raw = raw;
	if (c->delivering || c->state != CONN_OPEN)
		return; /* conn_deliver applies the switch when the callback returns */
	sync_mode(c);
	bool pending = raw ? c->raw_in.len > 0 : frame_decoder_pending(&c->dec) > 0;
	if (pending && !c->deliver_scheduled) {
		c->deliver_scheduled = true;
		reactor_defer(c->r, deliver_deferred, c);
	}
}

void conn_close(struct conn *c, bool flush, const char *reason)
{
	if (!c)
		return;
	if (!reason)
		reason = "closed";
	switch (c->state) {
	case CONN_OPEN:
		conn_enter(c, flush ? CONN_CLOSING : CONN_CLOSED, reason);
		break;
	case CONN_CONNECTING:
		conn_enter(c, CONN_CLOSED, reason);
		break;
	case CONN_CLOSING:
		if (!flush)
			conn_enter(c, CONN_CLOSED, reason);
		break;
	case CONN_CLOSED:
		break;
	}
}

void conn_set_arg(struct conn *c, void *arg)
{
	c->arg = arg;
}

const char *conn_peer(const struct conn *c)
{
	return c->peer;
}
