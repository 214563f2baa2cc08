/*
 * Shared fixture of the net/conn unit tests (test_conn.c: TCP exchange,
 * connecting, listening; test_conn_raw.c: scripted peers, raw mode, closing
 * from callbacks, back-pressure): a world (reactor, watchdog, close count),
 * logging ends, socketpair scripts, a loopback server, and an open-fd count
 * for the leak check in each program's main.
 *
 * Each test program includes this once; the helpers are marked unused so a
 * program that needs only some of them compiles without warnings.
 */
#ifndef TESTS_UNIT_CONN_FIXTURE_H
#define TESTS_UNIT_CONN_FIXTURE_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/cleanup.h"
#include "core/log.h"
#include "net/addr.h"
#include "net/conn.h"

#define SEC 1000000000ull

/* ---- the world: one reactor, a watchdog, a count of closes ------------- */

struct world {
	struct reactor *r;
	int closes, closes_wanted;
	uint64_t watchdog;
	bool timed_out;
};

static __attribute__((unused)) void watchdog_fired(struct reactor *r, void *arg)
{
	struct world *w = arg;
	w->watchdog = 0;
	w->timed_out = true;
	reactor_stop(r);
}

static __attribute__((unused)) void world_init(struct world *w, int closes_wanted)
{
	memset(w, 0, sizeof(*w));
	struct err *e = NULL;
	if (reactor_new(&w->r, 0, &e) < 0)
		fail_msg("reactor_new: %s", err_msg(e));
	w->closes_wanted = closes_wanted;
}

/* Runs until the wanted number of on_close calls happened. */
static __attribute__((unused)) void world_run(struct world *w)
{
	struct err *e = NULL;
	w->watchdog = reactor_timer_add(w->r, 60 * SEC, watchdog_fired, w);
	if (reactor_run(w->r, &e) < 0)
		fail_msg("reactor_run: %s", err_msg(e));
	reactor_timer_cancel(w->r, w->watchdog);
	assert_false(w->timed_out);
}

static __attribute__((unused)) void world_free(struct world *w)
{
	reactor_free(w->r);
}

/* ---- ends --------------------------------------------------------------- */

struct end {
	struct world *w;
	struct conn *c;
	struct buf log;
	struct buf raw;          /* raw bytes received */
	int closes, drains;
	/* behaviour */
	int close_after;         /* close (no flush) after this many messages */
	int close_flush_after;   /* close (flush) after this many messages */
	bool reply_hello;        /* answer Hello with HelloReply + StatusReply */
	bool close_on_reply;     /* close (flush) on StatusReply */
	bool close_in_open, close_in_raw, close_in_drain, misuse_in_close;
	int stop_fd;             /* on StatusRequest: close this fd (ends a script) */
	size_t max_take;         /* on_raw takes at most this much (0: all) */
	uint64_t raw_left;       /* raw bytes still expected after an ArtifactHeader */
	int messages;
	void (*drain_hook)(struct end *e);
};

static __attribute__((unused)) void end_init(struct end *e, struct world *w)
{
	memset(e, 0, sizeof(*e));
	e->w = w;
	e->stop_fd = -1;
}

static __attribute__((unused)) void end_release(struct end *e)
{
	buf_release(&e->log);
	buf_release(&e->raw);
}

static __attribute__((unused)) void describe(struct buf *b, const msg_t *m)
{
	if (m->msg_case == MAELSTROM__ENVELOPE__MSG_HELLO) {
		buf_appendf(b, "hello(%s,%u)", m->hello->name, m->hello->slots);
	} else if (m->msg_case == MAELSTROM__ENVELOPE__MSG_HELLO_REPLY) {
		buf_appendf(b, "hello_reply(%d,%s)", m->hello_reply->accepted,
			    m->hello_reply->message);
	} else if (m->msg_case == MAELSTROM__ENVELOPE__MSG_STATUS_REQUEST) {
		buf_appends(b, "status_request");
	} else if (m->msg_case == MAELSTROM__ENVELOPE__MSG_STATUS_REPLY) {
		buf_appendf(b, "status_reply(%s)", m->status_reply->json);
	} else if (m->msg_case == MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER) {
		buf_appendf(b, "artifact_header(%llu)",
			    (unsigned long long)m->artifact_header->size);
	} else if (m->msg_case == MAELSTROM__ENVELOPE__MSG_JOB_RESULT) {
		/* the output is a pattern: check it here, log only its size */
		const ProtobufCBinaryData *out = &m->job_result->stdout;
		size_t bad = 0;
		for (size_t i = 0; i < out->len; i++)
			bad += out->data[i] != (uint8_t)(i * 7 + m->job_result->job_id);
		buf_appendf(b, "job_result(%llu,%zu%s)", (unsigned long long)m->job_result->job_id,
			    out->len, bad ? ",CORRUPT" : "");
	} else {
		buf_appendf(b, "msg%d", (int)m->msg_case);
	}
}

static __attribute__((unused)) void send_hello(struct conn *c, const char *name, uint32_t slots)
{
	Maelstrom__Hello h = MAELSTROM__HELLO__INIT;
	h.name = (char *)name;
	h.slots = slots;
	msg_t m = MAELSTROM__ENVELOPE__INIT;
	m.msg_case = MAELSTROM__ENVELOPE__MSG_HELLO;
	m.hello = &h;
	conn_send(c, &m);
}

static __attribute__((unused)) void send_reply(struct conn *c)
{
	Maelstrom__HelloReply hr = MAELSTROM__HELLO_REPLY__INIT;
	hr.accepted = 1;
	hr.message = "welcome";
	msg_t m = MAELSTROM__ENVELOPE__INIT;
	m.msg_case = MAELSTROM__ENVELOPE__MSG_HELLO_REPLY;
	m.hello_reply = &hr;
	conn_send(c, &m);
	Maelstrom__StatusReply sr = MAELSTROM__STATUS_REPLY__INIT;
	sr.json = "{}";
	m.msg_case = MAELSTROM__ENVELOPE__MSG_STATUS_REPLY;
	m.status_reply = &sr;
	conn_send(c, &m);
}

static __attribute__((unused)) void encode_job_result(struct buf *out, uint64_t id, size_t size)
{
	uint8_t *data = malloc(size ? size : 1);
	assert_non_null(data);
	for (size_t i = 0; i < size; i++)
		data[i] = (uint8_t)(i * 7 + id);
	Maelstrom__JobResult jr = MAELSTROM__JOB_RESULT__INIT;
	jr.job_id = id;
	jr.stdout.data = data;
	jr.stdout.len = size;
	msg_t m = MAELSTROM__ENVELOPE__INIT;
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_RESULT;
	m.job_result = &jr;
	msg_encode_frame(out, &m);
	free(data);
}

static __attribute__((unused)) void encode_simple(struct buf *out, Maelstrom__Envelope__MsgCase which, uint64_t size)
{
	Maelstrom__Hello h = MAELSTROM__HELLO__INIT;
	Maelstrom__StatusRequest sr = MAELSTROM__STATUS_REQUEST__INIT;
	Maelstrom__ArtifactHeader ah = MAELSTROM__ARTIFACT_HEADER__INIT;
	msg_t m = MAELSTROM__ENVELOPE__INIT;
	m.msg_case = which;
	if (which == MAELSTROM__ENVELOPE__MSG_HELLO) {
		h.name = "script";
		h.slots = (uint32_t)size;
		m.hello = &h;
	} else if (which == MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER) {
		ah.size = size;
		m.artifact_header = &ah;
	} else {
		m.status_request = &sr;
	}
	msg_encode_frame(out, &m);
}

static __attribute__((unused)) void reoffer(struct reactor *r, void *arg)
{
	(void)r;
	struct end *e = arg;
	if (e->closes == 0 && e->raw_left > 0)
		conn_set_raw(e->c, true);
}

static __attribute__((unused)) void on_open(struct conn *c, void *arg)
{
	struct end *e = arg;
	buf_appends(&e->log, "open;");
	if (e->close_in_open)
		conn_close(c, false, "changed my mind");
	else
		send_hello(c, "client", 3);
}

static __attribute__((unused)) void on_message(struct conn *c, msg_t *m, void *arg)
{
	struct end *e = arg;
	e->messages++;
	buf_appends(&e->log, "msg:");
	describe(&e->log, m);
	buf_appends(&e->log, ";");
	if (m->msg_case == MAELSTROM__ENVELOPE__MSG_HELLO && e->reply_hello) {
		send_reply(c);
	} else if (m->msg_case == MAELSTROM__ENVELOPE__MSG_STATUS_REPLY && e->close_on_reply) {
		conn_close(c, true, "done");
	} else if (m->msg_case == MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER) {
		e->raw_left = m->artifact_header->size;
		conn_set_raw(c, true);
	} else if (m->msg_case == MAELSTROM__ENVELOPE__MSG_STATUS_REQUEST && e->stop_fd >= 0) {
		close(e->stop_fd);
		e->stop_fd = -1;
	}
	msg_free(m);
	if (e->close_after && e->messages == e->close_after) {
		conn_close(c, false, "enough");
		/* misuse after close: ignored */
		send_hello(c, "ghost", 0);
		conn_close(c, true, "second reason");
	}
	if (e->close_flush_after && e->messages == e->close_flush_after)
		conn_close(c, true, "done");
}

static __attribute__((unused)) size_t on_raw(struct conn *c, const uint8_t *data, size_t len, void *arg)
{
	struct end *e = arg;
	if (e->log.len < 4 || strcmp(e->log.data + e->log.len - 4, "raw;") != 0)
		buf_appends(&e->log, "raw;");
	if (e->close_in_raw) {
		conn_close(c, false, "raw is enough");
		return 0;
	}
	size_t take = len;
	if (take > e->raw_left)
		take = (size_t)e->raw_left;
	if (e->max_take && take > e->max_take)
		take = e->max_take;
	buf_append(&e->raw, data, take);
	e->raw_left -= take;
	if (e->raw_left == 0)
		conn_set_raw(c, false);
	else if (take < len)
		reactor_timer_add(e->w->r, 0, reoffer, e);
	return take;
}

static __attribute__((unused)) void on_drain(struct conn *c, void *arg)
{
	struct end *e = arg;
	e->drains++;
	assert_true(conn_writable(c));
	assert_true(conn_queued(c) < CONN_LOW_WATERMARK);
	if (e->close_in_drain)
		conn_close(c, false, "drained");
	else if (e->drain_hook)
		e->drain_hook(e);
}

static __attribute__((unused)) void on_close(struct conn *c, const char *reason, void *arg)
{
	struct end *e = arg;
	assert_ptr_equal(c, e->c);
	e->closes++;
	buf_appendf(&e->log, "close:%s;", reason);
	if (e->misuse_in_close) {
		conn_close(c, false, "again");
		send_hello(c, "ghost", 0);
	}
	if (++e->w->closes == e->w->closes_wanted)
		reactor_stop(e->w->r);
}

static __attribute__((unused)) const struct conn_ops ops = {
	.on_open = on_open,
	.on_message = on_message,
	.on_raw = on_raw,
	.on_drain = on_drain,
	.on_close = on_close,
};

/* ---- scripts: raw bytes written to a socketpair, a chunk per round ------ */

struct script {
	struct reactor *r;
	int fd;
	struct buf data;
	size_t off, chunk;
	bool close_at_end;
};

static __attribute__((unused)) void script_step(struct reactor *r, void *arg)
{
	struct script *s = arg;
	size_t n = s->data.len - s->off;
	if (s->chunk && n > s->chunk)
		n = s->chunk;
	ssize_t w = send(s->fd, s->data.data + s->off, n, MSG_NOSIGNAL);
	if (w < 0 && errno != EAGAIN)
		return; /* the conn closed: the rest is of no interest */
	if (w > 0)
		s->off += (size_t)w;
	if (s->off < s->data.len)
		reactor_timer_add(r, 0, script_step, s);
	else if (s->close_at_end)
		close(steal_fd(&s->fd));
}

/* A conn on one end of a socketpair; the script owns the other end. */
static __attribute__((unused)) void pair_start(struct world *w, struct end *e, struct script *s, size_t chunk)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	e->c = conn_new(w->r, sv[0], &ops, e);
	assert_string_equal(conn_peer(e->c), "unix socket");
	s->r = w->r;
	s->fd = sv[1];
	s->chunk = chunk;
	s->off = 0;
	reactor_timer_add(w->r, 0, script_step, s);
}

/* ---- TCP exchange --------------------------------------------------------- */

struct server {
	struct world *w;
	struct listener *l;
	struct end *ends;
	int n, max;
	char peers[4][ADDR_TEXT_MAX];
	bool free_in_accept;
	bool send_and_close;     /* greet each client and close with flush */
	bool send_big;           /* send each client two big job results */
};

static __attribute__((unused)) void on_accept(struct listener *l, int fd, const char *peer, void *arg)
{
	struct server *s = arg;
	assert_true(s->n < s->max);
	assert_int_not_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	assert_int_not_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	snprintf(s->peers[s->n], ADDR_TEXT_MAX, "%s", peer);
	struct end *e = &s->ends[s->n++];
	e->c = conn_new(s->w->r, fd, &ops, e);
	assert_string_equal(conn_peer(e->c), peer);
	if (s->send_big) {
		struct buf b = BUF_INIT;
		encode_job_result(&b, 11, 5u << 20);
		encode_job_result(&b, 12, 4u << 20);
		conn_send_raw(e->c, b.data, b.len);
		buf_release(&b);
	}
	if (s->send_and_close) {
		send_hello(e->c, "server", 0);
		conn_close(e->c, true, "bye");
	}
	if (s->free_in_accept && s->n == s->max) {
		listener_free(l);
		s->l = NULL;
	}
}

static __attribute__((unused)) void server_start(struct server *s, struct world *w, struct end *ends, int max)
{
	memset(s, 0, sizeof(*s));
	s->w = w;
	s->ends = ends;
	s->max = max;
	for (int i = 0; i < max; i++)
		end_init(&ends[i], w);
	struct err *e = NULL;
	s->l = listener_new(w->r, 0, on_accept, s, &e);
	if (!s->l)
		fail_msg("listener_new: %s", err_msg(e));
	assert_int_not_equal(listener_port(s->l), 0);
}

static __attribute__((unused)) struct conn *connect_ok(struct world *w, const char *address, struct end *e)
{
	struct err *err = NULL;
	e->c = conn_connect(w->r, address, &ops, e, &err);
	if (!e->c)
		fail_msg("conn_connect %s: %s", address, err_msg(err));
	assert_string_equal(conn_peer(e->c), address);
	return e->c;
}

static __attribute__((unused)) bool have_ipv6_loopback(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	bool ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}
/* ---- leak check ------------------------------------------------------------ */

/* Open file descriptors below 1024. */
static __attribute__((unused)) int count_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

#endif
