/*
 * Unit tests for net/conn (connections, listener) and net/addr, over real
 * loopback TCP: exchanges over IPv4, IPv6 and names, big frames, connecting
 * (refused, timeout, bad addresses) and listening (scripted peers, raw mode,
 * closing and back-pressure are in test_conn_raw.c; the shared fixture is in
 * conn_fixture.h).
 *
 * Each side of a connection is an `end` that writes what happened to it
 * into a compact log ("open;msg:hello(client,3);raw;close:done;"), so the
 * assertions compare whole histories, order included.
 */
#include "conn_fixture.h"

/* ---- TCP exchange --------------------------------------------------------- */

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exchange_ipv4),
		cmocka_unit_test(test_exchange_ipv6),
		cmocka_unit_test(test_exchange_name),
		cmocka_unit_test(test_big_frames),
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
