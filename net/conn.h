/*
 * conn: one TCP connection on the reactor, as an explicit state machine.
 *
 *   CONNECTING -> OPEN -> CLOSING (flushing queued bytes) -> CLOSED
 *
 * A conn carries framed messages (net/frame.h, net/msg.h) and, when asked,
 * raw bytes (artifact streams): conn_set_raw switches the direction of
 * reading to raw mode, where received bytes are handed over as they come,
 * with no framing, until conn_set_raw(c, false) switches back; bytes already
 * buffered when the switch happens are delivered first, in order.
 *
 * Writing never blocks: conn_send and conn_send_raw queue bytes, which the
 * reactor writes as the socket takes them (short writes are normal). When
 * the queue grows past a high watermark, conn_writable() turns false; the
 * on_drain callback runs once the queue falls under the low watermark, so
 * producers (artifact senders) can wait for it instead of queueing a whole
 * file.
 *
 * Sockets get TCP_NODELAY and keepalive (idle 30 s, interval 10 s, 3 probes)
 * so a peer that vanishes is noticed.
 *
 * Callbacks run from the reactor. A callback may call conn_close on its own
 * connection (and any other); the conn is freed only after the dispatch
 * round, and after on_close ran no callback of it runs again. on_close runs
 * exactly once per conn, for every way a connection ends (peer closed, I/O
 * error, bad frame, conn_close), with a reason for logs; the owner must not
 * use the conn after on_close returns.
 */
#ifndef NET_CONN_H
#define NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/reactor.h"
#include "net/msg.h"

struct conn;

struct conn_ops {
	/* A connect() finished (only for conn_connect). */
	void (*on_open)(struct conn *c, void *arg);
	/* One decoded message; the callee owns m (msg_free). */
	void (*on_message)(struct conn *c, msg_t *m, void *arg);
	/* Raw mode only: bytes as they arrive. Return how many were consumed;
	 * unconsumed bytes are offered again with the next arrival. */
	size_t (*on_raw)(struct conn *c, const uint8_t *data, size_t len, void *arg);
	/* The send queue fell below the low watermark. Optional. */
	void (*on_drain)(struct conn *c, void *arg);
	/* The connection is gone. `reason` is for logs ("peer closed the
	 * connection", "frame of 99999999 bytes exceeds the limit...", ...). */
	void (*on_close)(struct conn *c, const char *reason, void *arg);
};

/* Wraps a connected (e.g. accepted) socket, taking ownership of fd. */
struct conn *conn_new(struct reactor *r, int fd, const struct conn_ops *ops, void *arg);

/* Starts a non-blocking connect to "host:port" / "[v6]:port" (resolved with
 * getaddrinfo; numeric addresses and /etc/hosts names resolve at once).
 * Errors that are known at once (bad address syntax) return NULL with *err;
 * a refused or timed-out connect arrives later as on_close. */
struct conn *conn_connect(struct reactor *r, const char *address, const struct conn_ops *ops,
			  void *arg, struct err **err);

/* Queues one message. A no-op once the conn is closing or closed. */
void conn_send(struct conn *c, const msg_t *m);
/* Queues raw bytes (artifact streams). */
void conn_send_raw(struct conn *c, const void *data, size_t len);

/* False while the send queue is over the high watermark (1 MiB). */
bool conn_writable(const struct conn *c);
size_t conn_queued(const struct conn *c);

/* Switches the reading side between framed messages and raw bytes. */
void conn_set_raw(struct conn *c, bool raw);

/* Closes: queued bytes are flushed first when `flush` is true (bounded by a
 * 5 s timer), then the socket is closed and on_close(reason) runs. */
void conn_close(struct conn *c, bool flush, const char *reason);

/* Owner-defined data and peer name ("10.1.0.2:41234") for logs. */
void conn_set_arg(struct conn *c, void *arg);
const char *conn_peer(const struct conn *c);

/* ---- listening ------------------------------------------------------------ */

struct listener;
typedef void listener_accept_cb(struct listener *l, int fd, const char *peer, void *arg);

/* Listens on all addresses (IPv6 dual-stack when available, else IPv4) on
 * `port` (0: any free port). The accepted fds are non-blocking and
 * close-on-exec; the callee owns them. */
struct listener *listener_new(struct reactor *r, uint16_t port, listener_accept_cb *cb,
			      void *arg, struct err **err);
uint16_t listener_port(const struct listener *l);
void listener_free(struct listener *l);

#endif
