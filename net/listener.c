/*
 * listener.c: a listening TCP socket on the reactor. See net/conn.h.
 *
 * One socket serves both families when it can: an IPv6 socket with
 * IPV6_V6ONLY off also takes IPv4 connections (as ::ffff:a.b.c.d). Where
 * IPv6 is missing (module absent, disabled by sysctl), an IPv4 socket is
 * used instead.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/cleanup.h"
#include "core/log.h"
#include "net/addr.h"
#include "net/conn.h"

#define PAUSE_NS (500000000ull)   /* out of fds: how long accepting pauses */

enum listener_state {
	LISTENER_ACCEPTING,   /* the fd is in the epoll set */
	LISTENER_PAUSED,      /* out of fds: off the epoll set until the timer */
	LISTENER_FREED,       /* closed; the memory goes after the dispatch round */
};

struct listener {
	enum listener_state state;
	struct reactor *r;
	int fd;
	uint16_t port;
	uint64_t timer;
	listener_accept_cb *cb;
	void *arg;
};

/* Whether a failure of the IPv6 attempt means "no IPv6 here". */
static bool no_ipv6(int errnum)
{
	return errnum == EAFNOSUPPORT || errnum == EPROTONOSUPPORT || errnum == EADDRNOTAVAIL;
}

/* Opens, binds and listens; returns the fd, or -1 with errno set and *what
 * naming the step that failed. */
static int open_listening(int family, uint16_t port, const char **what)
{
	_cleanup_close_ int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	*what = "create a socket";
	if (fd < 0)
		return -1;
	int on = 1, off = 0;
	*what = "set SO_REUSEADDR";
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
		return -1;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t len;
	if (family == AF_INET6) {
		*what = "turn IPV6_V6ONLY off";
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0)
			return -1;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_addr = in6addr_any;
		in6->sin6_port = htons(port);
		len = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_ANY);
		in->sin_port = htons(port);
		len = sizeof(*in);
	}
	*what = "bind";
	if (bind(fd, (struct sockaddr *)&ss, len) < 0)
		return -1;
	*what = "listen";
	if (listen(fd, SOMAXCONN) < 0)
		return -1;
	return steal_fd(&fd);
}

static void on_accept(struct reactor *r, int fd, uint32_t events, void *arg);

static void resume(struct reactor *r, void *arg)
{
	struct listener *l = arg;
	l->timer = 0;
	struct err *e = NULL;
	if (reactor_add_fd(r, l->fd, EPOLLIN, on_accept, l, &e) < 0) {
		log_error("port %u: cannot resume accepting connections: %s", l->port, err_msg(e));
		err_free(&e);
		l->timer = reactor_timer_add(r, PAUSE_NS, resume, l);
		return;
	}
	l->state = LISTENER_ACCEPTING;
}

static void pause_accepting(struct listener *l, int errnum)
{
	log_warning("port %u: cannot accept a connection: %s; pausing for %llu ms", l->port,
		    strerror(errnum), PAUSE_NS / 1000000ull);
	reactor_del_fd(l->r, l->fd);
	l->state = LISTENER_PAUSED;
	l->timer = reactor_timer_add(l->r, PAUSE_NS, resume, l);
}

static void on_accept(struct reactor *r, int fd, uint32_t events, void *arg)
{
	(void)r;
	(void)fd;
	(void)events;
	struct listener *l = arg;
	while (l->state == LISTENER_ACCEPTING) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int cfd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			switch (errno) {
			case EAGAIN:
#if EWOULDBLOCK != EAGAIN
			case EWOULDBLOCK:
#endif
				return;
			case EINTR:
			case ECONNABORTED:
			/* Errors of the new connection that accept(2) passes on:
			 * that connection is lost, the next may be fine. */
			case EPROTO:
			case ENETDOWN:
			case ENOPROTOOPT:
			case EHOSTDOWN:
			case ENONET:
			case EHOSTUNREACH:
			case EOPNOTSUPP:
			case ENETUNREACH:
				continue;
			default:
				/* EMFILE, ENFILE, ENOBUFS, ENOMEM: retrying at once
				 * would spin, as the connection stays pending. */
				pause_accepting(l, errno);
				return;
			}
		}
		char peer[ADDR_TEXT_MAX];
		addr_format((struct sockaddr *)&ss, len, peer, sizeof(peer));
		l->cb(l, cfd, peer, l->arg);
	}
}

struct listener *listener_new(struct reactor *r, uint16_t port, listener_accept_cb *cb,
			      void *arg, struct err **err)
{
	const char *what;
	int fd = open_listening(AF_INET6, port, &what);
	if (fd < 0 && no_ipv6(errno))
		fd = open_listening(AF_INET, port, &what);
	if (fd < 0) {
		err_set(err, errno, "cannot listen on port %u: cannot %s", port, what);
		return NULL;
	}
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		err_set(err, errno, "cannot listen on port %u: cannot read the bound address", port);
		close(fd);
		return NULL;
	}
	struct listener *l = calloc(1, sizeof(*l));
	if (!l)
		abort(); /* out of memory */
	l->state = LISTENER_ACCEPTING;
	l->r = r;
	l->fd = fd;
	l->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						 : ((struct sockaddr_in *)&ss)->sin_port);
	l->cb = cb;
	l->arg = arg;
	if (reactor_add_fd(r, fd, EPOLLIN, on_accept, l, err) < 0) {
		close(fd);
		free(l);
		err_wrap(err, "cannot listen on port %u", port);
		return NULL;
	}
	return l;
}

uint16_t listener_port(const struct listener *l)
{
	return l->port;
}

void listener_free(struct listener *l)
{
	if (!l || l->state == LISTENER_FREED)
		return;
	if (l->state == LISTENER_ACCEPTING)
		reactor_del_fd(l->r, l->fd);
	reactor_timer_cancel(l->r, l->timer);
	close(l->fd);
	l->fd = -1;
	l->state = LISTENER_FREED;
	reactor_defer(l->r, free, l);
}
