/*
 * http: a tiny HTTP/1.1 server on the reactor, for the broker's status page
 * and JSON API.
 *
 * Scope. GET and HEAD only (any other method is answered 405 with
 * `Allow: GET, HEAD`); request bodies are not used: a Content-Length body is
 * read and discarded (over 64 KiB, the connection closes after the answer
 * instead), a Transfer-Encoding body is refused (501). Responses are
 * complete buffers (no streaming), always with Content-Length.
 *
 * Requests are parsed incrementally (struct http_parser below): bytes are
 * fed as they arrive and complete requests are taken out in order, so
 * pipelined requests are answered in order. A request head (request line
 * plus headers) over HTTP_MAX_HEAD bytes is answered 431, a malformed one
 * 400, an HTTP major version other than 1 505; after such an error the
 * connection closes once the answer is written.
 *
 * Connections. HTTP/1.1 connections stay open unless the request says
 * `Connection: close`; HTTP/1.0 ones only with `Connection: keep-alive`.
 * A connection on which nothing happens (no complete request, no write
 * progress, no body bytes) for the idle timeout (30 s by default) is closed.
 * Writing never blocks: responses queue in the connection, and while more
 * than HTTP_OUT_HIGH bytes are queued the connection stops reading and
 * answering until the client catches up. Closing is "lingering": after the
 * last byte is written the server shuts its write side and discards input
 * for up to 2 s, so a client still sending is not answered with a reset
 * that would destroy the response. At most HTTP_MAX_CONNS connections are
 * served at once; more are closed at once.
 *
 * The handler runs synchronously, from the reactor, for each request. It
 * must fill the response before returning and must not free the server.
 *
 * Ownership: the server borrows the reactor (which must outlive it) and the
 * handler's arg. Strings in a struct http_request live until the handler
 * returns. http_server_free may be called from any reactor callback except
 * the server's own handler; connections still open are closed abruptly.
 */
#ifndef NET_HTTP_H
#define NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/reactor.h"

#define HTTP_MAX_HEAD (16u << 10)        /* request line + headers */
#define HTTP_OUT_HIGH (1u << 20)         /* queued response bytes that pause reading */
#define HTTP_MAX_CONNS 1024
#define HTTP_IDLE_TIMEOUT_NS (30ull * 1000000000ull)

struct http_header {
	const char *name;    /* as sent ("Content-Length"); compare case-insensitively */
	const char *value;   /* surrounding whitespace removed */
};

struct http_request {
	const char *method;  /* "GET", "HEAD", ... (case-sensitive, as sent) */
	const char *target;  /* the request target as sent ("/api/status?x=1") */
	const char *path;    /* percent-decoded path, without the query ("/api/status") */
	const char *query;   /* raw text after '?', "" when there is none */
	int minor_version;   /* HTTP/1.<minor_version>: 0 or 1 */
	bool keep_alive;     /* whether the connection stays open afterwards */
	uint64_t content_length;   /* body bytes that follow (discarded) */
	const struct http_header *headers;
	size_t n_headers;
};

/* The first header named `name` (ASCII case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);

struct http_response {
	int status;                /* 200 unless the handler sets another (200-599) */
	const char *content_type;  /* borrowed; "text/plain; charset=utf-8" by default */
	struct buf body;           /* owned by the server; fill it */
	struct buf headers;        /* extra header lines; use http_response_header */
};

/* Adds a header line to the response. Names must be tokens and values must
 * not contain CR or LF; offending headers are dropped (and logged). Do not
 * set Content-Length, Content-Type, Connection or Date: the server does. */
void http_response_header(struct http_response *res, const char *name, const char *value);

/* The standard reason phrase ("Not Found"), or "Unknown". */
const char *http_status_text(int status);

typedef void http_handler_fn(void *arg, const struct http_request *req,
			     struct http_response *res);

/* ---- the server ------------------------------------------------------- */

struct http_server;

/* Listens on every address (IPv6 dual-stack when available, as the broker
 * port) on `port` (0: any free port; see http_server_port) and serves
 * requests with handler(arg, ...). Returns NULL with *err set when the port
 * cannot be bound. */
struct http_server *http_server_new(struct reactor *r, uint16_t port, http_handler_fn *handler,
				    void *arg, struct err **err);

/* The port actually bound. */
uint16_t http_server_port(const struct http_server *s);

/* Connections currently open (for tests and the status document). */
size_t http_server_connections(const struct http_server *s);

/* Changes the idle timeout (default HTTP_IDLE_TIMEOUT_NS) for connections
 * that become idle from now on; mainly for tests. */
void http_server_set_idle_timeout(struct http_server *s, uint64_t ns);

/* Stops listening, closes every connection and frees the server. NULL is
 * a no-op. */
void http_server_free(struct http_server *s);

/* ---- the request parser (used by the server; public for tests) ---------- */

struct http_parser {
	struct buf in;         /* received bytes not yet consumed */
	size_t scanned;        /* bytes of `in` searched for the end of the head */
	uint64_t body_left;    /* body bytes of the previous request to discard */
	struct buf head;       /* the current request's head, split in place */
	struct http_request req;
	struct http_header *headers;
	size_t cap_headers;
	int error;             /* the error status once one was returned */
};

void http_parser_init(struct http_parser *p);
void http_parser_release(struct http_parser *p);

/* Appends received bytes. */
void http_parser_feed(struct http_parser *p, const void *data, size_t len);

/* Takes the next complete request out. Returns 1 and sets *req (valid until
 * the next call on p), 0 when more bytes are needed, or -1 with *status set
 * to the response status the error calls for (400, 431, 501, 505); after
 * -1 the stream is unusable and every later call returns -1 again. The body
 * of a returned request (content_length bytes) is skipped as it arrives. */
int http_parser_next(struct http_parser *p, const struct http_request **req, int *status);

#endif
