/*
 * Unit tests for net/conn over socketpairs and loopback TCP: scripted peers
 * (frames and raw bytes delivered whole or trickled, raw-mode switching,
 * garbage), closing from inside every callback, and back-pressure with
 * on_drain (exchanges, connecting and listening are in test_conn.c; the
 * shared fixture is in conn_fixture.h).
 *
 * Each side of a connection is an `end` that writes what happened to it
 * into a compact log ("open;msg:hello(client,3);raw;close:done;"), so the
 * assertions compare whole histories, order included.
 */
#include "conn_fixture.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_trickle),
		cmocka_unit_test(test_raw_switching),
		cmocka_unit_test(test_garbage_closes),
		cmocka_unit_test(test_server_closes_with_flush),
		cmocka_unit_test(test_close_in_open_and_close),
		cmocka_unit_test(test_close_in_message_and_raw),
		cmocka_unit_test(test_backpressure_drain),
		cmocka_unit_test(test_close_in_drain),
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
