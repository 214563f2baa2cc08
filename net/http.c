/* The HTTP/1.1 server: connections, responses, idle timeouts (see net/http.h). */
#include "net/http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/list.h"
#include "core/log.h"
#include "net/conn.h"

#define LINGER_NS (2ull * 1000000000ull)
#define READ_CHUNK (16u << 10)
#define READS_PER_EVENT 4   /* fairness: at most this many chunks per wake-up */
#define MAX_DISCARD (64u << 10)  /* request bodies larger than this end the connection */

/*
 * A connection's life:
 *   OPEN      reading and answering requests
 *   DRAINING  no more requests will be read (close requested, error, or the
 *             peer finished sending): writing what is queued
 *   LINGERING everything written, write side shut: discarding input until
 *             the peer closes or LINGER_NS pass
 *   CLOSED    fd closed, unlinked; freed after the dispatch round
 */
enum http_conn_state {
	HTTP_CONN_OPEN,
	HTTP_CONN_DRAINING,
	HTTP_CONN_LINGERING,
	HTTP_CONN_CLOSED,
};

struct http_conn {
	struct http_server *srv;
	struct http_conn *prev, *next;
	enum http_conn_state state;
	int fd;
	bool peer_eof;        /* the peer shut its sending side */
	uint32_t events;      /* the epoll interest currently registered */
	struct http_parser parser;
	struct buf out;
	uint64_t deadline_ns; /* close when reached (idle or linger limit) */
	uint64_t timer;
};

struct http_server {
	struct reactor *r;
	struct listener *listener;
	http_handler_fn *handler;
	void *arg;
	uint64_t idle_ns;
	size_t n_conns;
	struct http_conn *conns;
};

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

void http_response_header(struct http_response *res, const char *name, const char *value)
{
	bool ok = *name != '\0' && strpbrk(value, "\r\n") == NULL;
	for (const char *s = name; ok && *s; s++)
		ok = (unsigned char)*s > 0x20 && (unsigned char)*s < 0x7f &&
		     !strchr("()<>@,;:\\\"/[]?={}", *s);
	if (!ok) {
		log_warning("http: dropping invalid response header `%s`", name);
		return;
	}
	buf_appendf(&res->headers, "%s: %s\r\n", name, value);
}

/* ---- connections -------------------------------------------------------- */

static void conn_free_deferred(void *arg)
{
	struct http_conn *c = arg;
	http_parser_release(&c->parser);
	buf_release(&c->out);
	free(c);
}

/* Closes at once; the memory goes after the dispatch round. */
static void http_conn_close(struct http_conn *c)
{
	if (c->state == HTTP_CONN_CLOSED)
		return;
	struct http_server *s = c->srv;
	c->state = HTTP_CONN_CLOSED;
	reactor_del_fd(s->r, c->fd);
	close(c->fd);
	c->fd = -1;
	reactor_timer_cancel(s->r, c->timer);
	c->timer = 0;
	DLIST_REMOVE(s->conns, c);
	s->n_conns--;
	reactor_defer(s->r, conn_free_deferred, c);
}

static void on_timer(struct reactor *r, void *arg)
{
	struct http_conn *c = arg;
	c->timer = 0;
	uint64_t now = reactor_now_ns();
	if (now >= c->deadline_ns) {
		log_debug("http: closing %s connection", c->state == HTTP_CONN_LINGERING
								 ? "lingering" : "idle");
		http_conn_close(c);
		return;
	}
	c->timer = reactor_timer_add(r, c->deadline_ns - now, on_timer, c);
}

/* Something happened: push the idle deadline back. The timer re-arms itself
 * lazily when it fires early. */
static void touch(struct http_conn *c)
{
	if (c->state != HTTP_CONN_LINGERING)
		c->deadline_ns = reactor_now_ns() + c->srv->idle_ns;
}

static void append_date(struct buf *out)
{
	char date[64];
	time_t now = time(NULL);
	struct tm tm;
	if (gmtime_r(&now, &tm) && strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm))
		buf_appendf(out, "Date: %s\r\n", date);
}

/* Queues one response. */
static void queue_response(struct http_conn *c, struct http_response *res, bool head_only,
			   bool keep_alive, int minor_version)
{
	if (res->status < 200 || res->status > 599) {
		log_error("http: handler returned status %d; answering 500", res->status);
		res->status = 500;
		buf_reset(&res->body);
		buf_reset(&res->headers);
		buf_appends(&res->body, "500 Internal Server Error\n");
	}
	bool bodyless = res->status == 204 || res->status == 304;
	struct buf *o = &c->out;
	buf_appendf(o, "HTTP/1.1 %d %s\r\n", res->status, http_status_text(res->status));
	append_date(o);
	buf_appends(o, "Server: maelstrom\r\n");
	if (!bodyless) {
		buf_appendf(o, "Content-Type: %s\r\n", res->content_type ? res->content_type
						     : "text/plain; charset=utf-8");
		buf_appendf(o, "Content-Length: %zu\r\n", res->body.len);
	}
	if (!keep_alive)
		buf_appends(o, "Connection: close\r\n");
	else if (minor_version == 0)
		buf_appends(o, "Connection: keep-alive\r\n");
	buf_append(o, res->headers.data, res->headers.len);
	buf_appends(o, "\r\n");
	if (!head_only && !bodyless)
		buf_append(o, res->body.data, res->body.len);
}

static void response_init(struct http_response *res)
{
	res->status = 200;
	res->content_type = NULL;
	buf_init(&res->body);
	buf_init(&res->headers);
}

static void response_release(struct http_response *res)
{
	buf_release(&res->body);
	buf_release(&res->headers);
}

/* Answers a parser error; the connection closes afterwards. */
static void answer_error(struct http_conn *c, int status)
{
	struct http_response res;
	response_init(&res);
	res.status = status;
	buf_appendf(&res.body, "%d %s\n", status, http_status_text(status));
	queue_response(c, &res, false, false, 1);
	response_release(&res);
	c->state = HTTP_CONN_DRAINING;
}

static void answer(struct http_conn *c, const struct http_request *req)
{
	struct http_response res;
	response_init(&res);
	bool head = strcmp(req->method, "HEAD") == 0;
	if (!head && strcmp(req->method, "GET") != 0) {
		res.status = 405;
		buf_appends(&res.body, "405 Method Not Allowed\n");
		http_response_header(&res, "Allow", "GET, HEAD");
	} else {
		c->srv->handler(c->srv->arg, req, &res);
	}
	/* A big body is not worth reading only to discard it: close instead. */
	bool keep = req->keep_alive && req->content_length <= MAX_DISCARD;
	queue_response(c, &res, head, keep, req->minor_version);
	response_release(&res);
	if (!keep)
		c->state = HTTP_CONN_DRAINING;
}

/* Answers the complete requests buffered, while the output has room.
 * Returns true when it paused because the output is full. */
static bool process(struct http_conn *c)
{
	while (c->state == HTTP_CONN_OPEN) {
		if (c->out.len >= HTTP_OUT_HIGH)
			return true;
		const struct http_request *req;
		int status;
		int rc = http_parser_next(&c->parser, &req, &status);
		if (rc < 0) {
			answer_error(c, status);
			break;
		}
		if (rc == 0) {
			/* Nothing complete. A peer that stopped sending gets its
			 * answers, then the connection ends. */
			if (c->peer_eof)
				c->state = HTTP_CONN_DRAINING;
			break;
		}
		touch(c);
		answer(c, req);
	}
	return false;
}

/* Reads what the socket holds (bounded per wake-up). Returns -1 when the
 * connection broke. */
static int read_some(struct http_conn *c)
{
	char chunk[READ_CHUNK];
	for (int i = 0; i < READS_PER_EVENT; i++) {
		ssize_t n = recv(c->fd, chunk, sizeof(chunk), 0);
		if (n > 0) {
			if (c->state == HTTP_CONN_OPEN) {
				if (c->parser.body_left)
					touch(c);
				http_parser_feed(&c->parser, chunk, (size_t)n);
			}
			continue;
		}
		if (n == 0) {
			c->peer_eof = true;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		log_debug("http: read failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Writes what the socket takes. Returns -1 when the connection broke. */
static int write_some(struct http_conn *c)
{
	while (c->out.len) {
		ssize_t n = send(c->fd, c->out.data, c->out.len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			buf_consume(&c->out, (size_t)n);
			touch(c);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		log_debug("http: write failed: %s", n < 0 ? strerror(errno) : "no progress");
		return -1;
	}
	return 0;
}

static void start_lingering(struct http_conn *c)
{
	c->state = HTTP_CONN_LINGERING;
	shutdown(c->fd, SHUT_WR);
	uint64_t limit = reactor_now_ns() + LINGER_NS;
	if (limit < c->deadline_ns)
		c->deadline_ns = limit;
	/* A peer that has already gone needs no waiting for. */
	if (c->peer_eof)
		http_conn_close(c);
}

/* Registers the interest the state calls for. */
static void update_events(struct http_conn *c)
{
	uint32_t want = 0;
	if ((c->state == HTTP_CONN_OPEN && !c->peer_eof && c->out.len < HTTP_OUT_HIGH) ||
	    c->state == HTTP_CONN_LINGERING)
		want |= EPOLLIN;
	if (c->out.len)
		want |= EPOLLOUT;
	if (want == c->events)
		return;
	struct err *e = NULL;
	if (reactor_mod_fd(c->srv->r, c->fd, want, &e) < 0) {
		log_error("http: %s", err_msg(e));
		err_free(&e);
		http_conn_close(c);
		return;
	}
	c->events = want;
}

static void on_event(struct reactor *r, int fd, uint32_t events, void *arg)
{
	(void)r;
	(void)fd;
	struct http_conn *c = arg;
	if (events & (EPOLLERR | EPOLLHUP)) {
		/* Reset, or both directions shut: nothing more can be delivered. */
		http_conn_close(c);
		return;
	}
	if ((events & EPOLLIN) && read_some(c) < 0) {
		http_conn_close(c);
		return;
	}
	if (c->state == HTTP_CONN_LINGERING) {
		if (c->peer_eof)
			http_conn_close(c);
		return;
	}
	/* Alternate answering and writing, so a burst of pipelined requests
	 * proceeds as the peer reads. */
	for (;;) {
		bool paused = process(c);
		if (write_some(c) < 0) {
			http_conn_close(c);
			return;
		}
		if (!paused || c->out.len > 0)
			break;
	}
	if (c->state == HTTP_CONN_DRAINING && c->out.len == 0) {
		start_lingering(c);
		if (c->state == HTTP_CONN_CLOSED)
			return;
	}
	update_events(c);
}

static void refuse(int fd)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
				   "Connection: close\r\n\r\n";
	/* Best effort: the socket is fresh, so its buffer takes this. */
	if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("http: cannot answer a refused connection: %s", strerror(errno));
	close(fd);
}

static void on_accept(struct listener *l, int fd, const char *peer, void *arg)
{
	(void)l;
	struct http_server *s = arg;
	if (s->n_conns >= HTTP_MAX_CONNS) {
		log_warning("http: refusing %s: %d connections already open", peer,
			    HTTP_MAX_CONNS);
		refuse(fd);
		return;
	}
	struct http_conn *c = calloc(1, sizeof(*c));
	if (!c)
		abort(); /* out of memory */
	c->srv = s;
	c->fd = fd;
	c->state = HTTP_CONN_OPEN;
	c->events = EPOLLIN;
	http_parser_init(&c->parser);
	buf_init(&c->out);
	struct err *e = NULL;
	if (reactor_add_fd(s->r, fd, EPOLLIN, on_event, c, &e) < 0) {
		log_error("http: cannot watch the connection from %s: %s", peer, err_msg(e));
		err_free(&e);
		close(fd);
		http_parser_release(&c->parser);
		free(c);
		return;
	}
	DLIST_PUSH(s->conns, c);
	s->n_conns++;
	c->deadline_ns = reactor_now_ns() + s->idle_ns;
	c->timer = reactor_timer_add(s->r, s->idle_ns, on_timer, c);
	log_debug("http: connection from %s", peer);
}

/* ---- the server ----------------------------------------------------------- */

struct http_server *http_server_new(struct reactor *r, uint16_t port, http_handler_fn *handler,
				    void *arg, struct err **err)
{
	struct http_server *s = calloc(1, sizeof(*s));
	if (!s)
		abort(); /* out of memory */
	s->r = r;
	s->handler = handler;
	s->arg = arg;
	s->idle_ns = HTTP_IDLE_TIMEOUT_NS;
	s->listener = listener_new(r, port, on_accept, s, err);
	if (!s->listener) {
		free(s);
		err_wrap(err, "cannot start the HTTP server on port %u", (unsigned)port);
		return NULL;
	}
	return s;
}

uint16_t http_server_port(const struct http_server *s)
{
	return listener_port(s->listener);
}

size_t http_server_connections(const struct http_server *s)
{
	return s->n_conns;
}

void http_server_set_idle_timeout(struct http_server *s, uint64_t ns)
{
	s->idle_ns = ns;
}

void http_server_free(struct http_server *s)
{
	if (!s)
		return;
	listener_free(s->listener);
	while (s->conns)
		http_conn_close(s->conns);
	free(s);
}
