/*
 * conn_internal: the conn object, shared by net/conn.c (state machine,
 * reading, writing, closing) and net/conn_connect.c (resolving and
 * connecting). Not for use outside those two files.
 */
#ifndef NET_CONN_INTERNAL_H
#define NET_CONN_INTERNAL_H

#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "net/conn.h"
#include "net/frame.h"

enum conn_state {
	CONN_CONNECTING,   /* conn_connect: a connect() is in flight (EPOLLOUT) */
	CONN_OPEN,         /* reading and writing */
	CONN_CLOSING,      /* flushing, then lingering until the peer's FIN */
	CONN_CLOSED,       /* fd closed; on_close and the free are deferred */
};

struct conn {
	enum conn_state state;
	struct reactor *r;
	int fd;                  /* -1 while no socket is open */
	uint32_t events;         /* mask registered with the reactor, if registered */
	bool registered;
	struct conn_ops ops;
	void *arg;
	char *peer;

	/* reading: bytes live in exactly one of dec (framed) and raw_in (raw) */
	struct frame_decoder dec;
	struct buf raw_in;       /* raw bytes not yet consumed by on_raw */
	bool raw;
	bool delivering;         /* inside conn_deliver: mode switches wait for it */
	bool deliver_scheduled;  /* a deferred conn_deliver is pending */
	bool read_eof;           /* CLOSING: the peer finished sending */

	/* writing: the queue is out.data[out_off .. out.len) */
	struct buf out;
	size_t out_off;
	bool over_high;          /* went past the high watermark, not yet drained */
	bool flush_scheduled;    /* a deferred write is pending */
	bool shut_wr;            /* CLOSING: FIN sent */

	/* connecting */
	struct addrinfo *ai_list, *ai_next;
	int connect_errno;       /* the last attempt's error */

	uint64_t timer;          /* connect timeout, or the CLOSING bound; 0 = none */
	char *close_reason;      /* CLOSING: what on_close will say */
	char *final_reason;      /* CLOSED: handed to on_close */
};

/* Allocates a conn in `state` with no socket yet. */
struct conn *conn_alloc(struct reactor *r, enum conn_state state, const struct conn_ops *ops,
			void *arg, const char *peer);

/* The one place where the state changes (entry actions included). */
void conn_enter(struct conn *c, enum conn_state to, const char *reason);

/* Sets TCP_NODELAY and keepalive on TCP sockets (others are left alone). */
void conn_tune_socket(int fd);

/* Registers c->fd (or changes its mask) for what the state needs. */
void conn_update_events(struct conn *c);

/* Connecting: the fd reported writable (or an error). */
void conn_connect_ready(struct conn *c);
/* Tries the remaining addresses; false when none could start. */
bool conn_connect_next(struct conn *c);

/* Writes what the socket takes (used when a connect completes). */
void conn_write(struct conn *c);

char *conn_strdup(const char *s);

#endif
