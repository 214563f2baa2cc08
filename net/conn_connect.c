/*
 * conn_connect.c: resolving "host:port" and connecting, trying each address
 * getaddrinfo gives in turn, all within one timeout. See net/conn.h.
 */
#include "net/conn_internal.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "net/addr.h"

#define CONNECT_TIMEOUT_NS (10000000000ull)

static void connect_failed(struct conn *c, const char *why)
{
	char reason[512];
	snprintf(reason, sizeof(reason), "connecting to %s: %s", c->peer, why);
	conn_enter(c, CONN_CLOSED, reason);
}

static void connect_timer_fired(struct reactor *r, void *arg)
{
	(void)r;
	struct conn *c = arg;
	c->timer = 0;
	connect_failed(c, "timed out");
}

/* Drops the current attempt's socket. */
static void drop_socket(struct conn *c)
{
	if (c->fd < 0)
		return;
	if (c->registered)
		reactor_del_fd(c->r, c->fd);
	close(c->fd);
	c->fd = -1;
	c->registered = false;
}

bool conn_connect_next(struct conn *c)
{
	drop_socket(c);
	while (c->ai_next) {
		struct addrinfo *ai = c->ai_next;
		c->ai_next = ai->ai_next;
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				ai->ai_protocol);
		if (fd < 0) {
			c->connect_errno = errno;
			continue;
		}
		conn_tune_socket(fd);
		int rc;
		do
			rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
		while (rc < 0 && errno == EINTR);
		if (rc < 0 && errno != EINPROGRESS) {
			c->connect_errno = errno;
			close(fd);
			continue;
		}
		/* Even a connect that finished at once is reported through
		 * EPOLLOUT, so on_open never runs inside conn_connect. */
		c->fd = fd;
		conn_update_events(c);
		return c->state == CONN_CONNECTING;
	}
	return false;
}

void conn_connect_ready(struct conn *c)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr != 0) {
		c->connect_errno = soerr;
		if (!conn_connect_next(c) && c->state == CONN_CONNECTING)
			connect_failed(c, strerror(c->connect_errno));
		return;
	}
	conn_enter(c, CONN_OPEN, "connected");
	if (c->ops.on_open)
		c->ops.on_open(c, c->arg);
	if (c->state == CONN_OPEN && conn_queued(c) > 0)
		conn_write(c);
}

struct conn *conn_connect(struct reactor *r, const char *address, const struct conn_ops *ops,
			  void *arg, struct err **err)
{
	_cleanup_free_ char *host = NULL;
	_cleanup_free_ char *port = NULL;
	if (addr_split(address, &host, &port, err) < 0)
		return NULL;

	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_protocol = IPPROTO_TCP,
		.ai_flags = AI_NUMERICSERV,
	};
	struct addrinfo *list = NULL;
	int rc = getaddrinfo(host, port, &hints, &list);
	if (rc != 0) {
		int saved = errno;
		err_set(err, rc == EAI_SYSTEM ? saved : 0, "broker address `%s`: cannot resolve `%s`%s%s",
			address, host, rc == EAI_SYSTEM ? "" : ": ",
			rc == EAI_SYSTEM ? "" : gai_strerror(rc));
		return NULL;
	}

	struct conn *c = conn_alloc(r, CONN_CONNECTING, ops, arg, address);
	c->ai_list = c->ai_next = list;
	c->connect_errno = EHOSTUNREACH;
	c->timer = reactor_timer_add(r, CONNECT_TIMEOUT_NS, connect_timer_fired, c);
	/* A failure here still reaches the owner through on_close, after the
	 * dispatch round (conn_enter defers it). */
	if (!conn_connect_next(c) && c->state == CONN_CONNECTING)
		connect_failed(c, strerror(c->connect_errno));
	return c;
}

void conn_set_connect_timeout(struct conn *c, uint64_t timeout_ns)
{
	if (c->state != CONN_CONNECTING)
		return;
	reactor_timer_cancel(c->r, c->timer);
	c->timer = reactor_timer_add(c->r, timeout_ns, connect_timer_fired, c);
}
