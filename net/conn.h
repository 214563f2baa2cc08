/*
 * conn: one TCP connection on the reactor, as an explicit state machine.
 *
 *   CONNECTING -> OPEN -> CLOSING (flushing queued bytes) -> CLOSED
 *   (and from any state straight to CLOSED)
 *
 * CONNECTING  only for conn_connect: addresses are tried in getaddrinfo's
 *             order until one accepts, within one 10 s timeout. conn_send
 *             already queues.
 * OPEN        reading and writing. on_open (conn_connect only) marks it.
 * CLOSING     conn_close(flush = true) on an open conn: no callback but
 *             on_close runs any more and conn_send is a no-op; the queue is
 *             written out, the sending side is shut down (FIN) and received
 *             bytes are discarded until the peer closes too, so the last
 *             bytes are not lost to a reset; bounded by 5 s in all.
 * CLOSED      the socket is closed and no callback but on_close runs again.
 *             on_close runs after the current dispatch round, then the conn
 *             is freed.
 *
 * Reading. A conn carries framed messages (net/frame.h, net/msg.h) and, when
 * asked, raw bytes (artifact streams). conn_set_raw switches the reading
 * side to raw mode, where received bytes are handed to on_raw as they come,
 * with no framing, until conn_set_raw(c, false) switches back. The switch is
 * made from inside a callback: in on_message for the frame that announces
 * the raw bytes, and in on_raw once the last raw byte was consumed. Bytes
 * already buffered when the switch happens are delivered first, in order:
 * bytes received behind a frame go to on_raw; bytes on_raw did not consume
 * before switching back are decoded as frames. Each wake-up reads at most
 * 256 KiB, so one busy peer cannot starve the others.
 *
 * Writing never blocks: conn_send and conn_send_raw queue bytes, written
 * after the current dispatch round and then as the socket takes them (short
 * writes are normal). Back-pressure, one rule: conn_writable() turns false
 * when the queue grows past the high watermark (1 MiB) and true again when
 * it falls under the low watermark (256 KiB); on_drain runs at that moment,
 * once per such crossing. So a producer (an artifact sender) queues while
 * conn_writable() is true, then waits for on_drain instead of queueing a
 * whole file. An empty queue is always writable.
 *
 * Sockets get TCP_NODELAY and keepalive (idle 30 s, interval 10 s, 3 probes)
 * so a peer that vanishes is noticed within about a minute.
 *
 * Callbacks run from the reactor, never from inside a conn_* call. A
 * callback may call conn_close on its own connection (and any other); after
 * conn_close no callback of that conn runs again except on_close. on_close
 * runs exactly once per conn, for every way a connection ends (peer closed,
 * I/O error, bad frame, refused or timed-out connect, conn_close), with a
 * reason for logs; the owner must not use the conn after on_close returns.
 * An owner that lets go of a conn early calls conn_set_arg(c, NULL) and then
 * conn_close: on_close still runs, with arg NULL. Every callback is optional
 * (a message nobody takes is freed; raw bytes nobody takes are dropped).
 *
 * Close every conn before reactor_free: pending on_close calls then run
 * inside reactor_free. A conn still open at reactor_free leaks.
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

/* Queue thresholds (see "Writing" above). */
#define CONN_HIGH_WATERMARK (1u << 20)
#define CONN_LOW_WATERMARK (256u << 10)

struct conn_ops {
	/* A connect() finished (only for conn_connect). */
	void (*on_open)(struct conn *c, void *arg);
	/* One decoded message; the callee owns m (msg_free). */
	void (*on_message)(struct conn *c, msg_t *m, void *arg);
	/* Raw mode only: bytes as they arrive. Return how many were consumed;
	 * unconsumed bytes are offered again with the next arrival (or after
	 * conn_set_raw(c, true), which re-offers them: see there). `data` is
	 * valid only during the call. */
	size_t (*on_raw)(struct conn *c, const uint8_t *data, size_t len, void *arg);
	/* The send queue fell below the low watermark after having gone over
	 * the high one (conn_writable() is true again). Optional. */
	void (*on_drain)(struct conn *c, void *arg);
	/* The connection is gone. `reason` is for logs ("peer closed the
	 * connection", "frame of 99999999 bytes exceeds the limit...",
	 * "connecting to broker:9000: Connection refused", or the reason given
	 * to conn_close); valid during the call only. */
	void (*on_close)(struct conn *c, const char *reason, void *arg);
};

/* Wraps a connected (e.g. accepted) socket, taking ownership of fd (made
 * non-blocking here). Never fails: should the reactor refuse the fd, the
 * conn ends at once through on_close. ops is copied. */
struct conn *conn_new(struct reactor *r, int fd, const struct conn_ops *ops, void *arg);

/* Starts a non-blocking connect to "host:port" / "v4:port" / "[v6]:port".
 * The host is resolved with getaddrinfo, here and now: numeric addresses and
 * /etc/hosts names resolve at once, but a DNS name may block the loop
 * briefly (only at connect time; workers and clients connect rarely).
 * Errors known at once return NULL with *err: bad syntax ("broker address
 * `foo`: expected HOST:PORT ...") and names that do not resolve. A refused
 * or timed-out connect (10 s: "connecting to X: timed out") arrives later as
 * on_close, as does any other failure. ops is copied. */
struct conn *conn_connect(struct reactor *r, const char *address, const struct conn_ops *ops,
			  void *arg, struct err **err);

/* Changes the connect timeout of a conn still connecting (counted from
 * now). A no-op once open. For tests and for impatient tools. */
void conn_set_connect_timeout(struct conn *c, uint64_t timeout_ns);

/* Queues one message. Allowed while connecting (sent once open); a no-op
 * once the conn is closing or closed. */
void conn_send(struct conn *c, const msg_t *m);
/* Queues raw bytes (artifact streams); same rules as conn_send. */
void conn_send_raw(struct conn *c, const void *data, size_t len);

/* False from the moment the send queue exceeds the high watermark (1 MiB)
 * until it falls under the low watermark (256 KiB) and on_drain runs; also
 * false once the conn is closing or closed. */
bool conn_writable(const struct conn *c);
/* Bytes queued and not yet taken by the socket. */
size_t conn_queued(const struct conn *c);

/* Switches the reading side between framed messages and raw bytes (see
 * "Reading" above). Called outside this conn's on_message/on_raw, bytes
 * that are buffered for the new mode are delivered after the current
 * dispatch round; in particular conn_set_raw(c, true) while already raw
 * offers the unconsumed raw bytes again, for a consumer that stopped
 * taking them and can take more now. */
void conn_set_raw(struct conn *c, bool raw);

/* Closes. With `flush` (and an open conn), queued bytes are written first,
 * bounded by a 5 s timer (see CLOSING above); without it, or while still
 * connecting, the socket is closed at once. Either way on_close(reason)
 * runs later, from the reactor, exactly once. A no-op on a conn already
 * closed (or NULL); on a closing one, flush = false cuts the flushing
 * short. */
void conn_close(struct conn *c, bool flush, const char *reason);

/* Owner-defined data and peer name for logs: the numeric address of an
 * accepted peer ("10.1.0.2:41234", "[fd00::2]:41234") or the address given
 * to conn_connect. */
void conn_set_arg(struct conn *c, void *arg);
const char *conn_peer(const struct conn *c);

/* ---- listening ------------------------------------------------------------ */

struct listener;
typedef void listener_accept_cb(struct listener *l, int fd, const char *peer, void *arg);

/* Listens on all addresses (IPv6 dual-stack when available, else IPv4) on
 * `port` (0: any free port), with SO_REUSEADDR so a restart can rebind at
 * once. The accepted fds are non-blocking and close-on-exec; the callee owns
 * them (typically conn_new). When out of file descriptors, accepting pauses
 * for a moment (with a warning) instead of spinning. */
struct listener *listener_new(struct reactor *r, uint16_t port, listener_accept_cb *cb,
			      void *arg, struct err **err);
/* The port actually bound (useful with port 0). */
uint16_t listener_port(const struct listener *l);
/* Stops listening and frees; safe from inside its own accept callback.
 * Safe on NULL. */
void listener_free(struct listener *l);

#endif
