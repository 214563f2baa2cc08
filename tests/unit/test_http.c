/* Unit tests for net/http: the request parser, and a real server on
 * loopback, serving on its own thread, driven by plain blocking sockets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/reactor.h"
#include "net/http.h"

/* ---- parser ------------------------------------------------------------- */

static const struct http_request *parse_one(struct http_parser *p, const char *text)
{
	http_parser_feed(p, text, strlen(text));
	const struct http_request *req = NULL;
	int status = 0;
	assert_int_equal(http_parser_next(p, &req, &status), 1);
	return req;
}

static int parse_error(const char *text)
{
	struct http_parser p;
	http_parser_init(&p);
	http_parser_feed(&p, text, strlen(text));
	const struct http_request *req = NULL;
	int status = 0;
	int rc = http_parser_next(&p, &req, &status);
	if (rc == -1) {
		/* The stream stays unusable. */
		int again = 0;
		http_parser_feed(&p, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
		assert_int_equal(http_parser_next(&p, &req, &again), -1);
		assert_int_equal(again, status);
	}
	http_parser_release(&p);
	return rc == -1 ? status : rc;
}

static void test_parse_simple(void **state)
{
	(void)state;
	struct http_parser p;
	http_parser_init(&p);
	const struct http_request *req = parse_one(
		&p, "GET /api/status?pretty=1&x=%41 HTTP/1.1\r\nHost: example\r\n"
		    "Accept:   text/html  \r\nX-Empty:\r\n\r\n");
	assert_string_equal(req->method, "GET");
	assert_string_equal(req->target, "/api/status?pretty=1&x=%41");
	assert_string_equal(req->path, "/api/status");
	assert_string_equal(req->query, "pretty=1&x=%41");
	assert_int_equal(req->minor_version, 1);
	assert_true(req->keep_alive);
	assert_int_equal(req->content_length, 0);
	assert_int_equal(req->n_headers, 3);
	assert_string_equal(http_request_header(req, "accept"), "text/html");
	assert_string_equal(http_request_header(req, "HOST"), "example");
	assert_string_equal(http_request_header(req, "x-empty"), "");
	assert_null(http_request_header(req, "Cookie"));
	/* Nothing else buffered. */
	int status;
	assert_int_equal(http_parser_next(&p, &req, &status), 0);
	http_parser_release(&p);
}

static void test_parse_target_forms(void **state)
{
	(void)state;
	struct http_parser p;
	http_parser_init(&p);
	const struct http_request *req = parse_one(&p, "GET /a%20b/%2e HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_string_equal(req->path, "/a b/.");
	assert_string_equal(req->query, "");
	req = parse_one(&p, "GET http://host:8080/x/y?q=1 HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_string_equal(req->path, "/x/y");
	assert_string_equal(req->query, "q=1");
	req = parse_one(&p, "GET HTTP://host HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_string_equal(req->path, "/");
	req = parse_one(&p, "GET http://host?z HTTP/1.1\r\nHost: h\r\n\r\n");
	assert_string_equal(req->path, "/");
	assert_string_equal(req->query, "z");
	/* Bare LF line endings and empty lines before a request are accepted. */
	req = parse_one(&p, "\r\n\nGET /lf HTTP/1.1\nHost: h\n\n");
	assert_string_equal(req->path, "/lf");
	assert_string_equal(http_request_header(req, "host"), "h");
	http_parser_release(&p);
}

static void test_parse_incremental(void **state)
{
	(void)state;
	const char *text = "GET /slow?q HTTP/1.1\r\nHost: h\r\nUser-Agent: test\r\n\r\n";
	struct http_parser p;
	http_parser_init(&p);
	const struct http_request *req = NULL;
	int status = 0;
	size_t n = strlen(text);
	for (size_t i = 0; i < n - 1; i++) {
		http_parser_feed(&p, text + i, 1);
		assert_int_equal(http_parser_next(&p, &req, &status), 0);
	}
	http_parser_feed(&p, text + n - 1, 1);
	assert_int_equal(http_parser_next(&p, &req, &status), 1);
	assert_string_equal(req->path, "/slow");
	assert_string_equal(req->query, "q");
	assert_string_equal(http_request_header(req, "user-agent"), "test");
	http_parser_release(&p);
}

static void test_parse_pipelined_with_bodies(void **state)
{
	(void)state;
	struct http_parser p;
	http_parser_init(&p);
	const char *text = "POST /one HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world"
			   "GET /two HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
			   "PUT /three HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nab";
	http_parser_feed(&p, text, strlen(text));
	const struct http_request *req;
	int status;
	assert_int_equal(http_parser_next(&p, &req, &status), 1);
	assert_string_equal(req->method, "POST");
	assert_string_equal(req->path, "/one");
	assert_int_equal(req->content_length, 11);
	assert_int_equal(http_parser_next(&p, &req, &status), 1);
	assert_string_equal(req->path, "/two");
	assert_false(req->keep_alive);
	assert_int_equal(http_parser_next(&p, &req, &status), 1);
	assert_string_equal(req->method, "PUT");
	/* The body is still arriving: it is skipped as it comes. */
	assert_int_equal(http_parser_next(&p, &req, &status), 0);
	http_parser_feed(&p, "cd", 2);
	assert_int_equal(http_parser_next(&p, &req, &status), 0);
	http_parser_feed(&p, "eGET /four HTTP/1.0\r\n\r\n", 23);
	assert_int_equal(http_parser_next(&p, &req, &status), 1);
	assert_string_equal(req->path, "/four");
	assert_int_equal(req->minor_version, 0);
	assert_int_equal(http_parser_next(&p, &req, &status), 0);
	http_parser_release(&p);
}

static void test_parse_keep_alive(void **state)
{
	(void)state;
	struct http_parser p;
	http_parser_init(&p);
	assert_true(parse_one(&p, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")->keep_alive);
	assert_false(parse_one(&p, "GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n")
			     ->keep_alive);
	assert_false(parse_one(&p, "GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade, close\r\n\r\n")
			     ->keep_alive);
	assert_false(parse_one(&p, "GET / HTTP/1.0\r\n\r\n")->keep_alive);
	assert_true(parse_one(&p, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")->keep_alive);
	/* A newer 1.x minor version is treated as 1.1. */
	const struct http_request *req = parse_one(&p, "GET / HTTP/1.7\r\nHost: h\r\n\r\n");
	assert_int_equal(req->minor_version, 1);
	assert_true(req->keep_alive);
	http_parser_release(&p);
}

static void test_parse_errors(void **state)
{
	(void)state;
	assert_int_equal(parse_error("GET\r\n\r\n"), 400);
	assert_int_equal(parse_error("GET /\r\n\r\n"), 400);                       /* HTTP/0.9 */
	assert_int_equal(parse_error("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);   /* two spaces */
	assert_int_equal(parse_error("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(parse_error("GET relative HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(parse_error("GET / HTTP/1.1x\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(parse_error("GET / HTTP/1.1\r\n\r\n"), 400);                 /* no Host */
	assert_int_equal(parse_error("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
	assert_int_equal(parse_error("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), 400);
	assert_int_equal(parse_error("GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n"), 400);
	assert_int_equal(parse_error("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"), 400);
	assert_int_equal(parse_error("GET / HTTP/1.1\r\nHost: h\rX\r\n\r\n"), 400);
	assert_int_equal(parse_error("GET / HTTP/1.1\r\nHost: h\x01\r\n\r\n"), 400);
	assert_int_equal(parse_error("GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(parse_error("GET /%00 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(parse_error("GET /% HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(parse_error("GET /\x80 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	assert_int_equal(parse_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1x\r\n\r\n"), 400);
	assert_int_equal(parse_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"), 400);
	assert_int_equal(parse_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
				     "Content-Length: 2\r\n\r\n"), 400);
	assert_int_equal(parse_error("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"),
			 501);
	assert_int_equal(parse_error("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
	assert_int_equal(parse_error("GET / HTTP/0.9\r\n\r\n"), 505);
	/* Input that cannot start a request is refused before its head ends
	 * (a binary protocol on the wrong port). */
	struct http_parser p;
	http_parser_init(&p);
	http_parser_feed(&p, "\0\0\0\x17\n\x15\x08\x01", 8);
	const struct http_request *req;
	int status = 0;
	assert_int_equal(http_parser_next(&p, &req, &status), -1);
	assert_int_equal(status, 400);
	http_parser_release(&p);
	assert_int_equal(parse_error("\x01\x02\n\x15"), 400);
	assert_int_equal(parse_error(" GET"), 400);
	assert_int_equal(parse_error("GE\x7f"), 400);
	assert_int_equal(parse_error("GET /x"), 0);
	assert_int_equal(parse_error("\r"), 0);
	/* Equal repeated lengths are fine. */
	assert_int_equal(parse_error("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n"
				     "Content-Length: 0\r\n\r\n"), 1);
}

static void test_parse_head_limit(void **state)
{
	(void)state;
	/* A complete head just under the limit is fine. */
	struct buf b = BUF_INIT;
	buf_appends(&b, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ");
	while (b.len < HTTP_MAX_HEAD - 4)
		buf_appends(&b, "a");
	buf_appends(&b, "\r\n\r\n");
	assert_int_equal(b.len, HTTP_MAX_HEAD);
	assert_int_equal(parse_error(b.data), 1);
	/* One byte more is refused. */
	buf_reset(&b);
	buf_appends(&b, "GET / HTTP/1.1\r\nHost: h\r\nX-Big: ");
	while (b.len < HTTP_MAX_HEAD - 3)
		buf_appends(&b, "a");
	buf_appends(&b, "\r\n\r\n");
	assert_int_equal(parse_error(b.data), 431);
	/* So is an incomplete head that is already too long. */
	struct http_parser p;
	http_parser_init(&p);
	const struct http_request *req;
	int status = 0;
	http_parser_feed(&p, "GET / HTTP/1.1\r\nX: ", 19);
	for (size_t fed = 19; fed <= HTTP_MAX_HEAD; fed += 1000) {
		assert_int_equal(http_parser_next(&p, &req, &status), 0);
		char chunk[1000];
		memset(chunk, 'b', sizeof(chunk));
		http_parser_feed(&p, chunk, sizeof(chunk));
	}
	assert_int_equal(http_parser_next(&p, &req, &status), -1);
	assert_int_equal(status, 431);
	http_parser_release(&p);
	buf_release(&b);
}

/* ---- a real server ------------------------------------------------------------ */

#define BIG_SIZE (4u << 20)

/* The server runs on its own thread (reactor_run); the test's client code
 * runs on the test thread with blocking sockets, so cmocka's assertions
 * stay on the thread that runs the test. */
struct fixture {
	struct reactor *r;
	struct http_server *srv;
	int done_pipe[2];    /* test -> server: stop */
	int ready_pipe[2];   /* server -> test: listening (or closed: failed) */
	uint64_t idle_ns;
	pthread_t thread;
	bool running;
	uint16_t port;
};

static void handler(void *arg, const struct http_request *req, struct http_response *res)
{
	(void)arg;
	if (strcmp(req->path, "/big") == 0) {
		buf_reserve(&res->body, BIG_SIZE);
		for (size_t i = 0; i < BIG_SIZE; i += 16)
			buf_append(&res->body, "0123456789abcdef", 16);
		return;
	}
	if (strcmp(req->path, "/json") == 0) {
		res->content_type = "application/json";
		http_response_header(res, "Cache-Control", "no-store");
		http_response_header(res, "Bad Name", "x");
		http_response_header(res, "X-Injected", "a\r\nSet-Cookie: b");
		buf_appends(&res->body, "{}");
		return;
	}
	if (strcmp(req->path, "/missing") == 0) {
		res->status = 404;
		buf_appends(&res->body, "nothing here\n");
		return;
	}
	if (strcmp(req->path, "/weird") == 0) {
		res->status = 42;
		return;
	}
	buf_appendf(&res->body, "%s %s ?%s", req->method, req->path, req->query);
}

static void on_done(struct reactor *r, int fd, uint32_t events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	reactor_stop(r);
}

static void *server_thread(void *arg)
{
	struct fixture *f = arg;
	struct err *e = NULL;
	/* The reactor (and its io_uring) belongs to this thread: a ring's
	 * task work would otherwise interrupt the test thread's recv calls. */
	if (reactor_new(&f->r, 0, &e) < 0)
		goto out;
	f->srv = http_server_new(f->r, 0, handler, f, &e);
	if (!f->srv)
		goto out;
	if (f->idle_ns)
		http_server_set_idle_timeout(f->srv, f->idle_ns);
	f->port = http_server_port(f->srv);
	if (reactor_add_fd(f->r, f->done_pipe[0], EPOLLIN, on_done, NULL, &e) < 0)
		goto out;
	if (write(f->ready_pipe[1], "", 1) != 1)
		abort();
	if (reactor_run(f->r, &e) < 0)
		goto out;
	reactor_del_fd(f->r, f->done_pipe[0]);
	http_server_free(f->srv);
	f->srv = NULL;
	reactor_free(f->r);
	f->r = NULL;
	return NULL;
out:
	fprintf(stderr, "server: %s\n", err_msg(e));
	err_free(&e);
	close(f->ready_pipe[1]);
	f->ready_pipe[1] = -1;
	return NULL;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	*state = f;
	return pipe2(f->done_pipe, O_CLOEXEC) || pipe2(f->ready_pipe, O_CLOEXEC);
}

/* Starts serving (idle_ns 0: the default idle timeout). */
static struct fixture *start_server(void **state, uint64_t idle_ns)
{
	struct fixture *f = *state;
	f->idle_ns = idle_ns;
	assert_int_equal(pthread_create(&f->thread, NULL, server_thread, f), 0);
	f->running = true;
	char ready;
	assert_int_equal(read(f->ready_pipe[0], &ready, 1), 1);
	assert_true(f->port > 0);
	return f;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->running) {
		char one = 1;
		if (write(f->done_pipe[1], &one, 1) != 1)
			abort();
		pthread_join(f->thread, NULL);
	}
	int fds[] = { f->done_pipe[0], f->done_pipe[1], f->ready_pipe[0], f->ready_pipe[1] };
	for (size_t i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(f);
	return 0;
}

static int connect_to(int family, uint16_t port)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct timeval tv = { .tv_sec = 20 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int rc;
	if (family == AF_INET) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	} else {
		struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(port),
					   .sin6_addr = in6addr_loopback };
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	if (rc < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void send_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		assert_true(n > 0);
		data += n;
		len -= (size_t)n;
	}
}

static void send_str(int fd, const char *s)
{
	send_all(fd, s, strlen(s));
}

/* A client-side reader: bytes received and not yet consumed. */
struct reader {
	int fd;
	struct buf in;
};

/* Reads more; returns false at end of stream. */
static bool fill(struct reader *rd)
{
	char chunk[65536];
	ssize_t n;
	do /* recv with SO_RCVTIMEO fails with EINTR even for restartable signals */
		n = recv(rd->fd, chunk, sizeof(chunk), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		fail_msg("recv: %s", strerror(errno));
	if (n == 0)
		return false;
	buf_append(&rd->in, chunk, (size_t)n);
	return true;
}

struct response {
	int status;
	struct buf head;
	struct buf body;
};

static void response_clear(struct response *r)
{
	buf_release(&r->head);
	buf_release(&r->body);
}

/* Reads one response (head_only: HEAD requests carry no body). */
static void read_response(struct reader *rd, struct response *out, bool head_only)
{
	char *end;
	while (!(end = strstr(rd->in.data ? rd->in.data : "", "\r\n\r\n")))
		assert_true(fill(rd));
	size_t head_len = (size_t)(end - rd->in.data) + 4;
	buf_init(&out->head);
	buf_init(&out->body);
	buf_append(&out->head, rd->in.data, head_len);
	buf_consume(&rd->in, head_len);
	assert_int_equal(sscanf(out->head.data, "HTTP/1.1 %d ", &out->status), 1);
	const char *cl = strcasestr(out->head.data, "\r\nContent-Length: ");
	size_t len = cl ? strtoul(cl + 18, NULL, 10) : 0;
	if (head_only)
		len = 0;
	while (rd->in.len < len)
		assert_true(fill(rd));
	buf_append(&out->body, rd->in.data, len);
	buf_consume(&rd->in, len);
}

static void expect_eof(struct reader *rd)
{
	while (fill(rd))
		;
	assert_int_equal(rd->in.len, 0);
}

static void client_keep_alive(struct fixture *f)
{
	struct reader rd = { connect_to(AF_INET, f->port), BUF_INIT };
	assert_true(rd.fd >= 0);
	struct response res;
	send_str(rd.fd, "GET /a?x=1 HTTP/1.1\r\nHost: t\r\n\r\n");
	read_response(&rd, &res, false);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.body.data, "GET /a ?x=1");
	assert_non_null(strstr(res.head.data, "Content-Type: text/plain; charset=utf-8\r\n"));
	assert_non_null(strstr(res.head.data, "\r\nDate: "));
	assert_null(strstr(res.head.data, "Connection:"));
	response_clear(&res);
	/* Same connection, a second request, sent in two pieces. */
	send_str(rd.fd, "GET /json HTTP/1.1\r\nHo");
	send_str(rd.fd, "st: t\r\n\r\n");
	read_response(&rd, &res, false);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.body.data, "{}");
	assert_non_null(strstr(res.head.data, "Content-Type: application/json\r\n"));
	assert_non_null(strstr(res.head.data, "Cache-Control: no-store\r\n"));
	assert_null(strstr(res.head.data, "Bad Name"));
	assert_null(strstr(res.head.data, "Set-Cookie"));
	response_clear(&res);
	/* Handler errors and a bad status. */
	send_str(rd.fd, "GET /missing HTTP/1.1\r\nHost: t\r\n\r\nGET /weird HTTP/1.1\r\nHost: t\r\n\r\n");
	read_response(&rd, &res, false);
	assert_int_equal(res.status, 404);
	assert_non_null(strstr(res.head.data, "404 Not Found"));
	response_clear(&res);
	read_response(&rd, &res, false);
	assert_int_equal(res.status, 500);
	response_clear(&res);
	/* Connection: close ends it after the answer. */
	send_str(rd.fd, "GET /last HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	read_response(&rd, &res, false);
	assert_int_equal(res.status, 200);
	assert_non_null(strstr(res.head.data, "Connection: close\r\n"));
	response_clear(&res);
	expect_eof(&rd);
	close(rd.fd);
	buf_release(&rd.in);
}

static void test_server_keep_alive(void **state)
{
	client_keep_alive(start_server(state, 0));
}

static void client_pipelined(struct fixture *f)
{
	struct reader rd = { connect_to(AF_INET, f->port), BUF_INIT };
	assert_true(rd.fd >= 0);
	/* A body to skip, a refused method, HEAD, then GETs, all at once. */
	send_str(rd.fd, "POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody"
			"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\n"
			"GET /1 HTTP/1.1\r\nHost: t\r\n\r\n"
			"GET /2?z HTTP/1.1\r\nHost: t\r\n\r\n");
	struct response res;
	read_response(&rd, &res, false);
	assert_int_equal(res.status, 405);
	assert_non_null(strstr(res.head.data, "Allow: GET, HEAD\r\n"));
	response_clear(&res);
	read_response(&rd, &res, true);
	assert_int_equal(res.status, 200);
	/* HEAD announces the length of the body a GET would get ("HEAD /h ?"),
	 * but sends none. */
	assert_non_null(strstr(res.head.data, "Content-Length: 9\r\n"));
	response_clear(&res);
	read_response(&rd, &res, false);
	assert_string_equal(res.body.data, "GET /1 ?");
	response_clear(&res);
	read_response(&rd, &res, false);
	assert_string_equal(res.body.data, "GET /2 ?z");
	response_clear(&res);
	/* Half-closing our side still gets the pending answers, then EOF. */
	send_str(rd.fd, "GET /3 HTTP/1.1\r\nHost: t\r\n\r\n");
	shutdown(rd.fd, SHUT_WR);
	read_response(&rd, &res, false);
	assert_string_equal(res.body.data, "GET /3 ?");
	response_clear(&res);
	expect_eof(&rd);
	close(rd.fd);
	buf_release(&rd.in);
}

static void test_server_pipelined(void **state)
{
	client_pipelined(start_server(state, 0));
}

static void client_errors(struct fixture *f)
{
	struct response res;
	/* Malformed: 400, then the connection closes. */
	struct reader rd = { connect_to(AF_INET, f->port), BUF_INIT };
	send_str(rd.fd, "GET / HTTP/1.1\r\nBroken header\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n");
	read_response(&rd, &res, false);
	assert_int_equal(res.status, 400);
	assert_non_null(strstr(res.head.data, "Connection: close\r\n"));
	response_clear(&res);
	expect_eof(&rd);
	close(rd.fd);
	/* A head over the limit: 431, delivered intact although the client
	 * keeps sending after the server stopped reading. */
	rd.fd = connect_to(AF_INET, f->port);
	buf_reset(&rd.in);
	struct buf big = BUF_INIT;
	buf_appends(&big, "GET / HTTP/1.1\r\nHost: t\r\nX-Big: ");
	while (big.len < 4 * HTTP_MAX_HEAD)
		buf_appends(&big, "abcdefgh");
	buf_appends(&big, "\r\n\r\n");
	send_all(rd.fd, big.data, big.len);
	buf_release(&big);
	read_response(&rd, &res, false);
	assert_int_equal(res.status, 431);
	response_clear(&res);
	expect_eof(&rd);
	close(rd.fd);
	/* Unsupported version. */
	rd.fd = connect_to(AF_INET, f->port);
	send_str(rd.fd, "GET / HTTP/3.0\r\nHost: t\r\n\r\n");
	read_response(&rd, &res, false);
	assert_int_equal(res.status, 505);
	response_clear(&res);
	expect_eof(&rd);
	close(rd.fd);
	/* A big body is not drained: answered, then the connection closes. */
	rd.fd = connect_to(AF_INET, f->port);
	send_str(rd.fd, "PUT /up HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\n\r\npartial");
	read_response(&rd, &res, false);
	assert_int_equal(res.status, 405);
	assert_non_null(strstr(res.head.data, "Connection: close\r\n"));
	response_clear(&res);
	expect_eof(&rd);
	close(rd.fd);
	/* HTTP/1.0 without keep-alive closes after one answer. */
	rd.fd = connect_to(AF_INET, f->port);
	send_str(rd.fd, "GET /old HTTP/1.0\r\n\r\n");
	read_response(&rd, &res, false);
	assert_int_equal(res.status, 200);
	assert_string_equal(res.body.data, "GET /old ?");
	response_clear(&res);
	expect_eof(&rd);
	close(rd.fd);
	buf_release(&rd.in);
}

static void test_server_errors(void **state)
{
	client_errors(start_server(state, 0));
}

static void client_back_pressure(struct fixture *f)
{
	struct reader rd = { connect_to(AF_INET, f->port), BUF_INIT };
	/* Ask for more than the socket buffers can hold (16 MiB against a
	 * small receive buffer and at most a few MiB of send buffer); the
	 * server must queue, stop reading, resume as we read, keep the
	 * answers in order and never block. */
	int rcv = 64 << 10;
	assert_int_equal(setsockopt(rd.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv)), 0);
	for (int i = 0; i < 4; i++)
		send_str(rd.fd, "GET /big HTTP/1.1\r\nHost: t\r\n\r\n");
	send_str(rd.fd, "GET /small HTTP/1.1\r\nHost: t\r\n\r\n");
	struct response res;
	for (int i = 0; i < 4; i++) {
		read_response(&rd, &res, false);
		assert_int_equal(res.status, 200);
		assert_int_equal(res.body.len, BIG_SIZE);
		for (size_t j = 0; j < BIG_SIZE; j += 4099)
			assert_int_equal(res.body.data[j], "0123456789abcdef"[j % 16]);
		response_clear(&res);
	}
	read_response(&rd, &res, false);
	assert_string_equal(res.body.data, "GET /small ?");
	response_clear(&res);
	close(rd.fd);
	buf_release(&rd.in);
}

static void test_server_back_pressure(void **state)
{
	client_back_pressure(start_server(state, 0));
}

#define MANY 200

static void client_many(struct fixture *f)
{
	static struct reader rds[MANY];
	for (int i = 0; i < MANY; i++) {
		rds[i].fd = connect_to(AF_INET, f->port);
		assert_true(rds[i].fd >= 0);
		buf_init(&rds[i].in);
	}
	for (int i = 0; i < MANY; i++) {
		char req[64];
		snprintf(req, sizeof(req), "GET /c%d HTTP/1.1\r\nHost: t\r\n\r\n", i);
		send_str(rds[i].fd, req);
	}
	/* Answer in reverse order of asking: nobody waits on anybody. */
	for (int i = MANY - 1; i >= 0; i--) {
		struct response res;
		char want[32];
		read_response(&rds[i], &res, false);
		snprintf(want, sizeof(want), "GET /c%d ?", i);
		assert_string_equal(res.body.data, want);
		response_clear(&res);
		close(rds[i].fd);
		buf_release(&rds[i].in);
	}
}

static void test_server_many_connections(void **state)
{
	client_many(start_server(state, 0));
}

static void client_idle(struct fixture *f)
{
	/* With a short idle timeout, an idle connection is closed, also one
	 * that answered a request before, and one holding half a request. */
	struct reader rd = { connect_to(AF_INET, f->port), BUF_INIT };
	expect_eof(&rd);
	close(rd.fd);
	rd.fd = connect_to(AF_INET, f->port);
	struct response res;
	send_str(rd.fd, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
	read_response(&rd, &res, false);
	assert_int_equal(res.status, 200);
	response_clear(&res);
	expect_eof(&rd);
	close(rd.fd);
	rd.fd = connect_to(AF_INET, f->port);
	send_str(rd.fd, "GET /x HTTP/1.1\r\nHo");
	expect_eof(&rd);
	close(rd.fd);
	buf_release(&rd.in);
}

static void test_server_idle_timeout(void **state)
{
	client_idle(start_server(state, 50 * 1000000ull));
}

static void client_ipv6(struct fixture *f)
{
	struct reader rd = { connect_to(AF_INET6, f->port), BUF_INIT };
	if (rd.fd < 0)
		return; /* no IPv6 loopback here: nothing to check */
	struct response res;
	send_str(rd.fd, "GET /six HTTP/1.1\r\nHost: [::1]\r\n\r\n");
	read_response(&rd, &res, false);
	assert_string_equal(res.body.data, "GET /six ?");
	response_clear(&res);
	close(rd.fd);
	buf_release(&rd.in);
}

static void test_server_ipv6(void **state)
{
	client_ipv6(start_server(state, 0));
}

static void test_status_text(void **state)
{
	(void)state;
	assert_string_equal(http_status_text(200), "OK");
	assert_string_equal(http_status_text(431), "Request Header Fields Too Large");
	assert_string_equal(http_status_text(299), "Unknown");
}

static void test_server_port_in_use(void **state)
{
	(void)state;
	struct reactor *r;
	struct err *e = NULL;
	assert_int_equal(reactor_new(&r, 0, &e), 0);
	struct http_server *a = http_server_new(r, 0, handler, NULL, &e);
	assert_non_null(a);
	assert_int_equal(http_server_connections(a), 0);
	struct http_server *b = http_server_new(r, http_server_port(a), handler, NULL, &e);
	assert_null(b);
	assert_non_null(strstr(err_msg(e), "cannot start the HTTP server on port"));
	err_free(&e);
	http_server_free(a);
	http_server_free(NULL);
	reactor_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_simple),
		cmocka_unit_test(test_parse_target_forms),
		cmocka_unit_test(test_parse_incremental),
		cmocka_unit_test(test_parse_pipelined_with_bodies),
		cmocka_unit_test(test_parse_keep_alive),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_head_limit),
		cmocka_unit_test(test_status_text),
		cmocka_unit_test(test_server_port_in_use),
		cmocka_unit_test_setup_teardown(test_server_keep_alive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_pipelined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_back_pressure, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_many_connections, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_idle_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_ipv6, setup, teardown),
	};
	if (getenv("TEST_FILTER"))
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
