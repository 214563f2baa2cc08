/*
 * Unit tests for net/conn (connections, listener) and net/addr, over real
 * loopback TCP and socketpairs.
 *
 * Each side of a connection is an `end` that writes what happened to it
 * into a compact log ("open;msg:hello(client,3);raw;close:done;"), so the
 * assertions compare whole histories, order included.
 */
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

static void watchdog_fired(struct reactor *r, void *arg)
{
	struct world *w = arg;
	w->watchdog = 0;
	w->timed_out = true;
	reactor_stop(r);
}

static void world_init(struct world *w, int closes_wanted)
{
	memset(w, 0, sizeof(*w));
	struct err *e = NULL;
	if (reactor_new(&w->r, 0, &e) < 0)
		fail_msg("reactor_new: %s", err_msg(e));
	w->closes_wanted = closes_wanted;
}

/* Runs until the wanted number of on_close calls happened. */
static void world_run(struct world *w)
{
	struct err *e = NULL;
	w->watchdog = reactor_timer_add(w->r, 60 * SEC, watchdog_fired, w);
	if (reactor_run(w->r, &e) < 0)
		fail_msg("reactor_run: %s", err_msg(e));
	reactor_timer_cancel(w->r, w->watchdog);
	assert_false(w->timed_out);
}

static void world_free(struct world *w)
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

static void end_init(struct end *e, struct world *w)
{
	memset(e, 0, sizeof(*e));
	e->w = w;
	e->stop_fd = -1;
}

static void end_release(struct end *e)
{
	buf_release(&e->log);
	buf_release(&e->raw);
}

static void describe(struct buf *b, const msg_t *m)
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

static void send_hello(struct conn *c, const char *name, uint32_t slots)
{
	Maelstrom__Hello h = MAELSTROM__HELLO__INIT;
	h.name = (char *)name;
	h.slots = slots;
	msg_t m = MAELSTROM__ENVELOPE__INIT;
	m.msg_case = MAELSTROM__ENVELOPE__MSG_HELLO;
	m.hello = &h;
	conn_send(c, &m);
}

static void send_reply(struct conn *c)
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

static void encode_job_result(struct buf *out, uint64_t id, size_t size)
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

static void encode_simple(struct buf *out, Maelstrom__Envelope__MsgCase which, uint64_t size)
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

static void reoffer(struct reactor *r, void *arg)
{
	(void)r;
	struct end *e = arg;
	if (e->closes == 0 && e->raw_left > 0)
		conn_set_raw(e->c, true);
}

static void on_open(struct conn *c, void *arg)
{
	struct end *e = arg;
	buf_appends(&e->log, "open;");
	if (e->close_in_open)
		conn_close(c, false, "changed my mind");
	else
		send_hello(c, "client", 3);
}

static void on_message(struct conn *c, msg_t *m, void *arg)
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

static size_t on_raw(struct conn *c, const uint8_t *data, size_t len, void *arg)
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

static void on_drain(struct conn *c, void *arg)
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

static void on_close(struct conn *c, const char *reason, void *arg)
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

static const struct conn_ops ops = {
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

static void script_step(struct reactor *r, void *arg)
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
static void pair_start(struct world *w, struct end *e, struct script *s, size_t chunk)
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

static void on_accept(struct listener *l, int fd, const char *peer, void *arg)
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

static void server_start(struct server *s, struct world *w, struct end *ends, int max)
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

static struct conn *connect_ok(struct world *w, const char *address, struct end *e)
{
	struct err *err = NULL;
	e->c = conn_connect(w->r, address, &ops, e, &err);
	if (!e->c)
		fail_msg("conn_connect %s: %s", address, err_msg(err));
	assert_string_equal(conn_peer(e->c), address);
	return e->c;
}

static bool have_ipv6_loopback(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	bool ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* Hello -> HelloReply + StatusReply, then the client closes with flush. A
 * message queued while still connecting goes out once connected. */
static void exchange(const char *host_fmt, const char *peer_prefix)
{
	struct world w;
	world_init(&w, 2);
	struct end server_end, client;
	struct server s;
	server_start(&s, &w, &server_end, 1);
	server_end.reply_hello = true;
	end_init(&client, &w);
	client.close_on_reply = true;

	char address[64];
	snprintf(address, sizeof(address), host_fmt, listener_port(s.l));
	connect_ok(&w, address, &client);
	send_hello(client.c, "early", 1);
	world_run(&w);

	assert_string_equal(client.log.data,
			    "open;msg:hello_reply(1,welcome);msg:status_reply({});close:done;");
	assert_string_equal(server_end.log.data,
			    "msg:hello(early,1);msg:hello(client,3);"
			    "close:peer closed the connection;");
	assert_int_equal(strncmp(s.peers[0], peer_prefix, strlen(peer_prefix)), 0);
	listener_free(s.l);
	world_free(&w);
	end_release(&client);
	end_release(&server_end);
}

static void test_exchange_ipv4(void **state)
{
	(void)state;
	exchange("127.0.0.1:%u", "127.0.0.1:"); /* dual-stack: shown as IPv4 */
}

static void test_exchange_ipv6(void **state)
{
	(void)state;
	if (!have_ipv6_loopback())
		skip();
	exchange("[::1]:%u", "[::1]:");
}

static void test_exchange_name(void **state)
{
	(void)state;
	exchange("localhost:%u", ""); /* /etc/hosts: either family */
}

/* Big frames both ways at once, over the high watermark: 39 MiB up, 9 MiB
 * down. The client closes with flush after its two results, so its upload
 * still completes before the server sees the end. */
static void test_big_frames(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 2);
	struct end server_end, client;
	struct server s;
	server_start(&s, &w, &server_end, 1);
	s.send_big = true;
	end_init(&client, &w);
	client.close_flush_after = 2;
	char address[64];
	snprintf(address, sizeof(address), "127.0.0.1:%u", listener_port(s.l));
	connect_ok(&w, address, &client);

	static const size_t sizes[] = { (1u << 20) + 1, 8u << 20, 30u << 20 };
	struct buf frames = BUF_INIT;
	for (size_t i = 0; i < 3; i++)
		encode_job_result(&frames, i + 1, sizes[i]);
	conn_send_raw(client.c, frames.data, frames.len);
	buf_release(&frames);
	assert_false(conn_writable(client.c));
	assert_true(conn_queued(client.c) > CONN_HIGH_WATERMARK);
	world_run(&w);

	assert_string_equal(client.log.data, "open;msg:job_result(11,5242880);"
					     "msg:job_result(12,4194304);close:done;");
	assert_string_equal(server_end.log.data,
			    "msg:job_result(1,1048577);msg:job_result(2,8388608);"
			    "msg:job_result(3,31457280);msg:hello(client,3);"
			    "close:peer closed the connection;");
	listener_free(s.l);
	world_free(&w);
	end_release(&client);
	end_release(&server_end);
}

/* ---- scripted peers --------------------------------------------------------- */

/* Runs a script against one conn until it closes; returns its log. */
static char *run_script(struct buf *data, size_t chunk, size_t max_take, bool close_at_end,
			struct buf *raw_out)
{
	struct world w;
	world_init(&w, 1);
	struct end e;
	end_init(&e, &w);
	e.max_take = max_take;
	struct script s = { .data = *data, .close_at_end = close_at_end };
	pair_start(&w, &e, &s, chunk);
	if (!close_at_end)
		e.stop_fd = s.fd; /* closed on StatusRequest */
	world_run(&w);
	world_free(&w);
	if (e.stop_fd >= 0)
		close(e.stop_fd);
	else if (close_at_end && s.fd >= 0)
		close(s.fd);
	if (raw_out)
		buf_append(raw_out, e.raw.data, e.raw.len);
	char *log = buf_detach(&e.log, NULL);
	end_release(&e);
	return log;
}

static void test_trickle(void **state)
{
	(void)state;
	struct buf data = BUF_INIT;
	encode_simple(&data, MAELSTROM__ENVELOPE__MSG_HELLO, 1);
	encode_job_result(&data, 7, 3000);
	encode_simple(&data, MAELSTROM__ENVELOPE__MSG_HELLO, 2);
	encode_simple(&data, MAELSTROM__ENVELOPE__MSG_STATUS_REQUEST, 0);
	static const char expect[] = "msg:hello(script,1);msg:job_result(7,3000);"
				     "msg:hello(script,2);msg:status_request;"
				     "close:peer closed the connection;";
	static const size_t chunks[] = { 1, 2, 3, 5, 1000, 0 };
	for (size_t i = 0; i < ARRAY_SIZE(chunks); i++) {
		_cleanup_free_ char *log = run_script(&data, chunks[i], 0, false, NULL);
		assert_string_equal(log, expect);
	}
	buf_release(&data);
}

/* ArtifactHeader + raw bytes + frames, delivered in one piece, trickled, and
 * to a consumer that takes little at a time (re-offers via conn_set_raw). */
static void test_raw_switching(void **state)
{
	(void)state;
	struct buf data = BUF_INIT, expect_raw = BUF_INIT;
	encode_simple(&data, MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER, 5000);
	for (size_t i = 0; i < 5000; i++)
		buf_append(&expect_raw, &(char){ (char)(i % 251) }, 1);
	buf_append(&data, expect_raw.data, expect_raw.len);
	encode_simple(&data, MAELSTROM__ENVELOPE__MSG_HELLO, 7);
	encode_simple(&data, MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER, 3);
	buf_append(&data, "\0\0\0", 3); /* raw bytes that look like a frame header */
	buf_append(&expect_raw, "\0\0\0", 3);
	encode_simple(&data, MAELSTROM__ENVELOPE__MSG_STATUS_REQUEST, 0);
	static const char expect[] = "msg:artifact_header(5000);raw;msg:hello(script,7);"
				     "msg:artifact_header(3);raw;msg:status_request;"
				     "close:peer closed the connection;";
	static const struct {
		size_t chunk, max_take;
	} variants[] = { { 0, 0 }, { 1, 0 }, { 7, 0 }, { 4096, 0 }, { 0, 1000 }, { 3, 1 },
			 { 0, 1 } };
	for (size_t i = 0; i < ARRAY_SIZE(variants); i++) {
		struct buf raw = BUF_INIT;
		_cleanup_free_ char *log =
			run_script(&data, variants[i].chunk, variants[i].max_take, false, &raw);
		assert_string_equal(log, expect);
		assert_int_equal(raw.len, expect_raw.len);
		assert_memory_equal(raw.data, expect_raw.data, raw.len);
		buf_release(&raw);
	}
	buf_release(&data);
	buf_release(&expect_raw);
}

static void test_garbage_closes(void **state)
{
	(void)state;
	static const struct {
		const char *bytes;
		size_t len;
		const char *reason;   /* substring of the log */
	} cases[] = {
		{ "\xff\xff\xff\xff" "abc", 7, "exceeds the limit" },
		{ "\x00\x00\x00\x03\xff\xff\xff", 7, "malformed message" },
		{ "\x00\x00\x00\x00", 4, "malformed message" }, /* no message set */
		{ "\x00\x00", 2, "close:peer closed the connection in the middle of a message;" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct buf data = BUF_INIT;
		buf_append(&data, cases[i].bytes, cases[i].len);
		_cleanup_free_ char *log = run_script(&data, 0, 0, true, NULL);
		buf_release(&data);
		if (!strstr(log, cases[i].reason))
			fail_msg("case %zu: log `%s` lacks `%s`", i, log, cases[i].reason);
		assert_int_equal(strncmp(log, "close:", 6), 0); /* nothing delivered */
	}
}

/* ---- closing -------------------------------------------------------------- */

static void test_server_closes_with_flush(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 2);
	struct end server_end, client;
	struct server s;
	server_start(&s, &w, &server_end, 1);
	s.send_and_close = true;
	end_init(&client, &w);
	char address[64];
	snprintf(address, sizeof(address), "127.0.0.1:%u", listener_port(s.l));
	connect_ok(&w, address, &client);
	world_run(&w);
	assert_string_equal(client.log.data,
			    "open;msg:hello(server,0);close:peer closed the connection;");
	assert_string_equal(server_end.log.data, "close:bye;");
	listener_free(s.l);
	world_free(&w);
	end_release(&client);
	end_release(&server_end);
}

static void test_close_in_open_and_close(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 2);
	struct end server_end, client;
	struct server s;
	server_start(&s, &w, &server_end, 1);
	server_end.misuse_in_close = true;
	end_init(&client, &w);
	client.close_in_open = true;
	client.misuse_in_close = true;
	char address[64];
	snprintf(address, sizeof(address), "127.0.0.1:%u", listener_port(s.l));
	connect_ok(&w, address, &client);
	world_run(&w);
	assert_string_equal(client.log.data, "open;close:changed my mind;");
	assert_string_equal(server_end.log.data, "close:peer closed the connection;");
	listener_free(s.l);
	world_free(&w);
	end_release(&client);
	end_release(&server_end);
}

/* Closing inside on_message with more frames buffered, and inside on_raw:
 * nothing further is delivered, on_close runs once with the first reason. */
static void test_close_in_message_and_raw(void **state)
{
	(void)state;
	struct world w;
	world_init(&w, 1);
	struct end e;
	end_init(&e, &w);
	e.close_after = 1;
	struct script s = { 0 };
	for (int i = 1; i <= 3; i++)
		encode_simple(&s.data, MAELSTROM__ENVELOPE__MSG_HELLO, (uint64_t)i);
	pair_start(&w, &e, &s, 0);
	world_run(&w);
	assert_string_equal(e.log.data, "msg:hello(script,1);close:enough;");
	assert_int_equal(e.closes, 1);
	world_free(&w);
	close(s.fd);
	buf_release(&s.data);
	end_release(&e);

	world_init(&w, 1);
	end_init(&e, &w);
	e.close_in_raw = true;
	memset(&s, 0, sizeof(s));
	encode_simple(&s.data, MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER, 10);
	buf_append(&s.data, "0123456789", 10);
	encode_simple(&s.data, MAELSTROM__ENVELOPE__MSG_HELLO, 1);
	pair_start(&w, &e, &s, 0);
	world_run(&w);
	assert_string_equal(e.log.data, "msg:artifact_header(10);raw;close:raw is enough;");
	world_free(&w);
	close(s.fd);
	buf_release(&s.data);
	end_release(&e);
}

/* ---- back-pressure ---------------------------------------------------------- */

#define STREAM_TOTAL (16u << 20)

struct producer {
	struct end *e;
	size_t sent, blocked;
	int reader_fd;
	size_t received, corrupt;
	bool eof;
};

static struct producer *the_producer; /* for the drain hook */

static void produce(struct producer *p)
{
	uint8_t chunk[64 << 10];
	while (p->sent < STREAM_TOTAL) {
		if (!conn_writable(p->e->c)) {
			p->blocked++;
			return;
		}
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = (uint8_t)((p->sent + i) % 251);
		conn_send_raw(p->e->c, chunk, sizeof(chunk));
		p->sent += sizeof(chunk);
	}
	conn_close(p->e->c, true, "sent");
}

static void drain_hook(struct end *e)
{
	(void)e;
	produce(the_producer);
}

static void reader_cb(struct reactor *r, int fd, uint32_t events, void *arg)
{
	(void)events;
	struct producer *p = arg;
	uint8_t buf[64 << 10];
	ssize_t n = read(fd, buf, sizeof(buf));
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		p->eof = true;
		reactor_del_fd(r, fd);
		close(p->reader_fd);
		p->reader_fd = -1;
		return;
	}
	for (ssize_t i = 0; i < n; i++)
		p->corrupt += buf[i] != (uint8_t)((p->received + (size_t)i) % 251);
	p->received += (size_t)n;
}

static void start_reading(struct reactor *r, void *arg)
{
	struct producer *p = arg;
	/* The peer has not read a byte so far: nothing could drain. */
	assert_int_equal(p->e->drains, 0);
	assert_false(conn_writable(p->e->c));
	assert_true(conn_queued(p->e->c) >= CONN_LOW_WATERMARK);
	struct err *e = NULL;
	if (reactor_add_fd(r, p->reader_fd, EPOLLIN, reader_cb, p, &e) < 0)
		fail_msg("%s", err_msg(e));
}

static void backpressure(bool close_in_drain)
{
	struct world w;
	world_init(&w, 1);
	struct end e;
	end_init(&e, &w);
	e.close_in_drain = close_in_drain;
	e.drain_hook = drain_hook;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	int small = 64 << 10;
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
	e.c = conn_new(w.r, sv[0], &ops, &e);
	struct producer p = { .e = &e, .reader_fd = sv[1] };
	the_producer = &p;

	produce(&p);
	assert_int_equal(p.blocked, 1);
	assert_true(conn_queued(e.c) > CONN_HIGH_WATERMARK);
	assert_true(conn_queued(e.c) <= CONN_HIGH_WATERMARK + (64u << 10));
	/* Let the reactor write what the socket takes, then start reading. */
	reactor_timer_add(w.r, SEC / 10, start_reading, &p);
	world_run(&w);

	if (close_in_drain) {
		assert_string_equal(e.log.data, "close:drained;");
		assert_int_equal(e.drains, 1);
	} else {
		assert_string_equal(e.log.data, "close:sent;");
		/* every stall was ended by exactly one on_drain */
		assert_int_equal(e.drains, p.blocked);
		assert_true(p.eof);
		assert_int_equal(p.received, STREAM_TOTAL);
		assert_int_equal(p.corrupt, 0);
	}
	if (p.reader_fd >= 0) {
		reactor_del_fd(w.r, p.reader_fd);
		close(p.reader_fd);
	}
	world_free(&w);
	end_release(&e);
}

static void test_backpressure_drain(void **state)
{
	(void)state;
	backpressure(false);
}

static void test_close_in_drain(void **state)
{
	(void)state;
	backpressure(true);
}

/* ---- connecting ------------------------------------------------------------- */

static void test_connect_refused(void **state)
{
	(void)state;
	/* Bound but not listening: the port is ours, and connects are refused. */
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t len = sizeof(a);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);

	struct world w;
	world_init(&w, 1);
	struct end e;
	end_init(&e, &w);
	char address[64], expect[160];
	snprintf(address, sizeof(address), "127.0.0.1:%u", ntohs(a.sin_port));
	connect_ok(&w, address, &e);
	send_hello(e.c, "queued", 0); /* queued while connecting, then dropped */
	world_run(&w);
	snprintf(expect, sizeof(expect), "close:connecting to %s: Connection refused;", address);
	assert_string_equal(e.log.data, expect);
	world_free(&w);
	end_release(&e);
	close(fd);
}

/* A listener whose accept queue is full drops SYNs, so connect hangs. */
static void test_connect_timeout(void **state)
{
	(void)state;
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(l, 0), 0);
	socklen_t len = sizeof(a);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &len), 0);
	int fillers[8], nfill = 0;
	bool full = false;
	while (!full && nfill < 8) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		fillers[nfill++] = s;
		connect(s, (struct sockaddr *)&a, sizeof(a));
		struct pollfd pfd = { .fd = s, .events = POLLOUT };
		full = poll(&pfd, 1, 1000) == 0; /* loopback handshakes take microseconds */
	}
	if (!full)
		skip();

	struct world w;
	world_init(&w, 1);
	struct end e;
	end_init(&e, &w);
	char address[64], expect[160];
	snprintf(address, sizeof(address), "127.0.0.1:%u", ntohs(a.sin_port));
	connect_ok(&w, address, &e);
	conn_set_connect_timeout(e.c, SEC / 5);
	world_run(&w);
	snprintf(expect, sizeof(expect), "close:connecting to %s: timed out;", address);
	assert_string_equal(e.log.data, expect);
	world_free(&w);
	end_release(&e);
	for (int i = 0; i < nfill; i++)
		close(fillers[i]);
	close(l);
}

static void test_bad_address(void **state)
{
	(void)state;
	static const struct {
		const char *address, *why;
	} cases[] = {
		{ "foo", "expected HOST:PORT (e.g. localhost:9000 or [::1]:9000)" },
		{ "foo:", "the port is empty" },
		{ ":80", "the host is empty" },
		{ "[]:80", "the host is empty" },
		{ "foo:http", "port `http` is not a number from 1 to 65535" },
		{ "foo:0", "port `0` is not a number from 1 to 65535" },
		{ "foo:65536", "port `65536` is not a number from 1 to 65535" },
		{ "foo:99999999999999999999", "is not a number from 1 to 65535" },
		{ "::1:80", "write IPv6 addresses in brackets" },
		{ "[::1]", "expected `:PORT` after `]`" },
		{ "[::1]80", "expected `:PORT` after `]`" },
		{ "[::1:80", "missing `]`" },
	};
	struct reactor *r = NULL;
	struct err *e = NULL;
	assert_int_equal(reactor_new(&r, 0, &e), 0);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct conn *c = conn_connect(r, cases[i].address, &ops, NULL, &e);
		assert_null(c);
		char prefix[128];
		snprintf(prefix, sizeof(prefix), "broker address `%s`: ", cases[i].address);
		if (strncmp(err_msg(e), prefix, strlen(prefix)) != 0 ||
		    !strstr(err_msg(e), cases[i].why))
			fail_msg("`%s`: got `%s`", cases[i].address, err_msg(e));
		err_free(&e);
	}
	/* and the accepted forms split as expected */
	char *host, *port;
	assert_int_equal(addr_split("[fe80::1%lo]:9000", &host, &port, &e), 0);
	assert_string_equal(host, "fe80::1%lo");
	assert_string_equal(port, "9000");
	free(host);
	free(port);
	assert_int_equal(addr_split("10.0.0.1:1", &host, &port, &e), 0);
	assert_string_equal(host, "10.0.0.1");
	assert_string_equal(port, "1");
	free(host);
	free(port);
	reactor_free(r);
}

/* ---- listening -------------------------------------------------------------- */

/* Port 0, both families on one socket, freed from inside its callback; a
 * second listener on the same port is refused with a clear message. */
static void test_listener(void **state)
{
	(void)state;
	bool v6 = have_ipv6_loopback();
	int n = v6 ? 2 : 1;
	struct world w;
	world_init(&w, 2 * n);
	struct end server_ends[2], clients[2];
	struct server s;
	server_start(&s, &w, server_ends, n);
	s.free_in_accept = true;
	uint16_t port = listener_port(s.l);

	struct err *e = NULL;
	struct listener *again = listener_new(w.r, port, on_accept, &s, &e);
	assert_null(again);
	char expect[128];
	snprintf(expect, sizeof(expect), "cannot listen on port %u: cannot bind: ", port);
	assert_int_equal(strncmp(err_msg(e), expect, strlen(expect)), 0);
	assert_non_null(strstr(err_msg(e), "in use"));
	err_free(&e);

	char address[2][64];
	snprintf(address[0], sizeof(address[0]), "127.0.0.1:%u", port);
	snprintf(address[1], sizeof(address[1]), "[::1]:%u", port);
	for (int i = 0; i < n; i++) {
		end_init(&clients[i], &w);
		clients[i].close_in_open = true;
		connect_ok(&w, address[i], &clients[i]);
	}
	world_run(&w);
	assert_null(s.l); /* freed by on_accept */
	for (int i = 0; i < n; i++) {
		assert_string_equal(clients[i].log.data, "open;close:changed my mind;");
		assert_string_equal(server_ends[i].log.data, "close:peer closed the connection;");
		end_release(&clients[i]);
		end_release(&server_ends[i]);
	}
	bool seen4 = false, seen6 = false;
	for (int i = 0; i < n; i++) {
		seen4 |= strncmp(s.peers[i], "127.0.0.1:", 10) == 0;
		seen6 |= strncmp(s.peers[i], "[::1]:", 6) == 0;
	}
	assert_true(seen4);
	assert_true(seen6 == v6);
	world_free(&w);
}

/* Out of file descriptors: accepting pauses, then resumes once one is
 * free. Runs in a child, whose fd limit it lowers. */
struct emfile {
	struct world *w;
	int spare;      /* a filler fd to give back */
	int accepted;
};

static void emfile_accept(struct listener *l, int fd, const char *peer, void *arg)
{
	(void)peer;
	struct emfile *m = arg;
	m->accepted++;
	close(fd);
	listener_free(l);
	reactor_stop(m->w->r);
}

static void emfile_release(struct reactor *r, void *arg)
{
	(void)r;
	struct emfile *m = arg;
	close(m->spare);
}

static int emfile_child(void)
{
	struct world w;
	world_init(&w, 1);
	struct emfile m = { .w = &w };
	struct err *e = NULL;
	struct listener *l = listener_new(w.r, 0, emfile_accept, &m, &e);
	if (!l)
		return 2;
	int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(listener_port(l)),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (connect(c, (struct sockaddr *)&a, sizeof(a)) < 0)
		return 3;
	struct rlimit rl = { 64, 64 };
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 4;
	int fd;
	while ((fd = dup(0)) >= 0)
		m.spare = fd;
	if (errno != EMFILE)
		return 5;
	log_set_level(LOG_ERROR); /* the pause warning is expected */
	reactor_timer_add(w.r, SEC / 5, emfile_release, &m);
	reactor_timer_add(w.r, 30 * SEC, watchdog_fired, &w);
	struct err *re = NULL;
	if (reactor_run(w.r, &re) < 0)
		return 6;
	return m.accepted == 1 && !w.timed_out ? 0 : 7;
}

static void test_listener_emfile(void **state)
{
	(void)state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(emfile_child());
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int count_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exchange_ipv4),
		cmocka_unit_test(test_exchange_ipv6),
		cmocka_unit_test(test_exchange_name),
		cmocka_unit_test(test_big_frames),
		cmocka_unit_test(test_trickle),
		cmocka_unit_test(test_raw_switching),
		cmocka_unit_test(test_garbage_closes),
		cmocka_unit_test(test_server_closes_with_flush),
		cmocka_unit_test(test_close_in_open_and_close),
		cmocka_unit_test(test_close_in_message_and_raw),
		cmocka_unit_test(test_backpressure_drain),
		cmocka_unit_test(test_close_in_drain),
		cmocka_unit_test(test_connect_refused),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_bad_address),
		cmocka_unit_test(test_listener),
		cmocka_unit_test(test_listener_emfile),
	};
	int fds = count_fds();
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	if (count_fds() != fds) {
		fprintf(stderr, "file descriptors leaked: %d open before, %d after\n", fds,
			count_fds());
		return 1;
	}
	return failed;
}
