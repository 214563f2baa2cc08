/*
 * Shared fixture of the net/artifact_xfer unit tests (test_artifact_xfer.c:
 * uploads and routing; test_artifact_xfer_fetch.c: fetches): two real stores
 * joined by loopback connections, a small Hello router standing in for the
 * broker, a loop runner that waits for a condition, and blocking helpers for
 * the forked misbehaving peers.
 *
 * Each test program includes this once; the helpers are marked unused so a
 * program that needs only some of them compiles without warnings.
 */
#ifndef TESTS_UNIT_ARTIFACT_XFER_FIXTURE_H
#define TESTS_UNIT_ARTIFACT_XFER_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "artifacts/extract.h"
#include "artifacts/store.h"
#include "core/buf.h"
#include "core/reactor.h"
#include "net/artifact_xfer.h"
#include "net/artifact_xfer_internal.h"
#include "net/conn.h"
#include "net/msg.h"

#define BIG (20u << 20)
/* What a sender may have queued at most: the watermark plus one chunk. */
#define QUEUE_BOUND (CONN_HIGH_WATERMARK + ARTIFACT_CHUNK)

struct env {
	char dir[1024];
	struct reactor *r;
	struct store *client, *broker, *worker;
	struct listener *l;
	struct artifact_service *svc;
	char addr[64];
	bool refuse_hello;
	size_t stored, ok, failed;
	char last_error[1024];
	unsigned files;
};

/* ---- fixture ---------------------------------------------------------------- */

static __attribute__((unused)) struct store *open_store(struct env *e, const char *name, uint64_t size)
{
	char root[1200];
	snprintf(root, sizeof(root), "%s/%s", e->dir, name);
	struct store *s = NULL;
	struct err *err = NULL;
	if (store_open(&s, root, size, &err) < 0)
		fail_msg("%s", err_msg(err));
	return s;
}

static __attribute__((unused)) void on_stored(void *arg, const struct digest *d)
{
	struct env *e = arg;
	assert_true(store_has(e->broker, d));
	e->stored++;
}

struct hello_peer {
	struct conn_route route;
	struct env *e;
};

static __attribute__((unused)) void hp_on_message(struct conn *c, msg_t *m, void *arg)
{
	struct hello_peer *hp = arg;
	if (m->msg_case != MAELSTROM__ENVELOPE__MSG_HELLO) {
		conn_close(c, false, "expected Hello");
		msg_free(m);
		return;
	}
	Maelstrom__HelloReply hr = MAELSTROM__HELLO_REPLY__INIT;
	hr.accepted = !hp->e->refuse_hello;
	hr.message = hp->e->refuse_hello ? "go away" : "";
	hr.protocol_version = PROTOCOL_VERSION;
	msg_t reply;
	msg_init(&reply);
	reply.msg_case = MAELSTROM__ENVELOPE__MSG_HELLO_REPLY;
	reply.hello_reply = &hr;
	conn_send(c, &reply);
	Maelstrom__Role role = m->hello->role;
	msg_free(m);
	if (hp->e->refuse_hello) {
		conn_close(c, true, "refused");
		return;
	}
	if (role == MAELSTROM__ROLE__ROLE_ARTIFACT_UPLOAD)
		artifact_receiver_adopt(hp->e->svc, c);
	else if (role == MAELSTROM__ROLE__ROLE_ARTIFACT_FETCH)
		artifact_server_adopt(hp->e->svc, c);
	else {
		conn_close(c, false, "unexpected role");
		return;
	}
	free(hp); /* the conn is the service's now */
}

static __attribute__((unused)) void hp_on_close(struct conn *c, const char *reason, void *arg)
{
	(void)c;
	(void)reason;
	free(arg);
}

static __attribute__((unused)) const struct conn_ops hello_ops = {
	.on_message = hp_on_message,
	.on_close = hp_on_close,
};

static __attribute__((unused)) void on_accept(struct listener *l, int fd, const char *peer, void *arg)
{
	(void)l;
	(void)peer;
	struct hello_peer *hp = calloc(1, sizeof(*hp));
	assert_non_null(hp);
	hp->e = arg;
	hp->route = (struct conn_route){ &hello_ops, hp };
	conn_new(hp->e->r, fd, &conn_route_ops, &hp->route);
}

static __attribute__((unused)) int env_setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(e->dir, sizeof(e->dir), "%s/test_artifact_xfer.XXXXXX", tmp);
	if (!mkdtemp(e->dir))
		return -1;
	struct err *err = NULL;
	if (reactor_new(&e->r, 0, &err) < 0)
		fail_msg("%s", err_msg(err));
	e->client = open_store(e, "client", 1ull << 30);
	e->broker = open_store(e, "broker", 1ull << 30);
	e->worker = open_store(e, "worker", 1ull << 30);
	e->svc = artifact_service_new(e->r, e->broker, 1ull << 30, on_stored, e);
	e->l = listener_new(e->r, 0, on_accept, e, &err);
	if (!e->l)
		fail_msg("%s", err_msg(err));
	snprintf(e->addr, sizeof(e->addr), "127.0.0.1:%u", listener_port(e->l));
	xfer_source_use_uring = true;
	*state = e;
	return 0;
}

static __attribute__((unused)) int env_teardown(void **state)
{
	struct env *e = *state;
	artifact_service_free(e->svc);
	listener_free(e->l);
	reactor_free(e->r);
	store_free(e->client);
	store_free(e->broker);
	store_free(e->worker);
	struct err *err = NULL;
	int rc = extract_remove_tree(AT_FDCWD, e->dir, &err);
	if (rc < 0)
		fprintf(stderr, "teardown: %s\n", err_msg(err));
	err_free(&err);
	free(e);
	return rc;
}

/* A file of n pseudo-random bytes (seeded) added to store s. */
static __attribute__((unused)) struct digest make_blob(struct env *e, struct store *s, size_t n, uint32_t seed)
{
	char path[1200];
	snprintf(path, sizeof(path), "%s/src-%u", e->dir, e->files++);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		fputc((int)(x & 0xff), f);
	}
	assert_int_equal(fclose(f), 0);
	struct digest d;
	struct err *err = NULL;
	if (store_add_path(s, path, &d, &err) < 0)
		fail_msg("%s", err_msg(err));
	unlink(path);
	return d;
}

/* The blob in s still hashes to d. */
static __attribute__((unused)) void assert_blob(struct store *s, const struct digest *d)
{
	assert_true(store_has(s, d));
	char *path = store_blob_path(s, d);
	assert_non_null(path);
	struct digest got;
	assert_int_equal(digest_path(path, &got, NULL), 0);
	assert_true(digest_equal(&got, d));
	free(path);
}

/* Regular files under <root>/tmp (temp files of transfers). */
static __attribute__((unused)) unsigned count_tmp_files(struct env *e, const char *store_name)
{
	char cmd[1400];
	snprintf(cmd, sizeof(cmd), "find '%s/%s/tmp' -type f | wc -l", e->dir, store_name);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	unsigned n = 99;
	assert_int_equal(fscanf(p, "%u", &n), 1);
	pclose(p);
	return n;
}

static __attribute__((unused)) void on_done(void *arg, const struct digest *d, bool ok, const char *message)
{
	(void)d;
	struct env *e = arg;
	assert_non_null(message);
	if (ok) {
		assert_string_equal(message, "");
		e->ok++;
	} else {
		assert_true(message[0] != '\0');
		snprintf(e->last_error, sizeof(e->last_error), "%s", message);
		e->failed++;
	}
}

/* ---- running the loop until something holds ----------------------------------- */

typedef bool pred_fn(struct env *e, void *arg);

struct waiter {
	struct env *e;
	pred_fn *pred;
	void *arg;
	uint64_t poll, watchdog;
	bool timed_out;
};

static __attribute__((unused)) void wait_poll(struct reactor *r, void *arg)
{
	struct waiter *w = arg;
	if (w->pred(w->e, w->arg)) {
		w->poll = 0;
		reactor_stop(r);
		return;
	}
	w->poll = reactor_timer_add(r, 1000000, wait_poll, w);
}

static __attribute__((unused)) void wait_watchdog(struct reactor *r, void *arg)
{
	struct waiter *w = arg;
	w->watchdog = 0;
	w->timed_out = true;
	reactor_stop(r);
}

/* Runs the reactor until pred holds (checked every millisecond); fails
 * the test after 60 s (a hang, not a slow machine). */
static __attribute__((unused)) void run_until(struct env *e, pred_fn *pred, void *arg)
{
	struct waiter w = { e, pred, arg, 0, 0, false };
	w.poll = reactor_timer_add(e->r, 0, wait_poll, &w);
	w.watchdog = reactor_timer_add(e->r, 60ull * 1000000000, wait_watchdog, &w);
	struct err *err = NULL;
	if (reactor_run(e->r, &err) < 0)
		fail_msg("%s", err_msg(err));
	reactor_timer_cancel(e->r, w.poll);
	reactor_timer_cancel(e->r, w.watchdog);
	if (w.timed_out)
		fail_msg("timed out waiting (ok %zu, failed %zu, stored %zu, last error: %s)", e->ok,
			 e->failed, e->stored, e->last_error);
}

static __attribute__((unused)) bool done_count(struct env *e, void *arg)
{
	return e->ok + e->failed >= *(size_t *)arg;
}

static __attribute__((unused)) void run_until_done(struct env *e, size_t n)
{
	run_until(e, done_count, &n);
}

/* Lets deferred closes and frees run. */
static __attribute__((unused)) bool after_rounds(struct env *e, void *arg)
{
	(void)e;
	return --*(int *)arg <= 0;
}

static __attribute__((unused)) void settle(struct env *e)
{
	int rounds = 3;
	run_until(e, after_rounds, &rounds);
}

/* ---- blocking helpers for forked peers ------------------------------------------ */

static __attribute__((unused)) int fd_write_all(int fd, const void *data, size_t n)
{
	const char *p = data;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static __attribute__((unused)) int fd_read_all(int fd, void *data, size_t n)
{
	char *p = data;
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static __attribute__((unused)) int fd_send(int fd, const msg_t *m)
{
	struct buf b = BUF_INIT;
	msg_encode_frame(&b, m);
	int rc = fd_write_all(fd, b.data, b.len);
	buf_release(&b);
	return rc;
}

static __attribute__((unused)) msg_t *fd_recv(int fd, Maelstrom__Envelope__MsgCase want)
{
	uint8_t hdr[4];
	if (fd_read_all(fd, hdr, 4) < 0)
		return NULL;
	uint32_t len = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 | (uint32_t)hdr[2] << 8 | hdr[3];
	uint8_t *body = malloc(len ? len : 1);
	if (!body || fd_read_all(fd, body, len) < 0)
		_exit(90);
	msg_t *m = msg_decode(body, len, NULL);
	free(body);
	if (!m || m->msg_case != want)
		_exit(91);
	return m;
}

static __attribute__((unused)) int fd_send_hello_reply(int fd)
{
	Maelstrom__HelloReply hr = MAELSTROM__HELLO_REPLY__INIT;
	hr.accepted = true;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_HELLO_REPLY;
	m.hello_reply = &hr;
	return fd_send(fd, &m);
}

static __attribute__((unused)) int fd_send_hello(int fd, Maelstrom__Role role)
{
	Maelstrom__Hello h = MAELSTROM__HELLO__INIT;
	h.protocol_version = PROTOCOL_VERSION;
	h.role = role;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_HELLO;
	m.hello = &h;
	return fd_send(fd, &m);
}

/* Sends n bytes of filler. */
static __attribute__((unused)) int fd_send_filler(int fd, size_t n)
{
	static char chunk[65536];
	while (n > 0) {
		size_t k = n < sizeof(chunk) ? n : sizeof(chunk);
		if (fd_write_all(fd, chunk, k) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

/* Reads n bytes and hashes them. */
static __attribute__((unused)) int fd_read_hash(int fd, uint64_t n, struct digest *out)
{
	static char chunk[65536];
	struct digest_state *h = digest_state_new();
	while (n > 0) {
		size_t k = n < sizeof(chunk) ? (size_t)n : sizeof(chunk);
		if (fd_read_all(fd, chunk, k) < 0) {
			digest_state_free(h);
			return -1;
		}
		digest_state_update(h, chunk, k);
		n -= k;
	}
	digest_state_final(h, out);
	digest_state_free(h);
	return 0;
}

/* A listening socket on 127.0.0.1 for a fake broker; its address in addr. */
static __attribute__((unused)) int fake_listen(char *addr, size_t size)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	snprintf(addr, size, "127.0.0.1:%u", ntohs(sa.sin_port));
	return fd;
}

static __attribute__((unused)) int fake_connect(const char *port_addr)
{
	unsigned port = 0;
	if (sscanf(strchr(port_addr, ':') + 1, "%u", &port) != 1)
		_exit(81);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		_exit(80);
	return fd;
}

static __attribute__((unused)) int wait_child(pid_t pid)
{
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}


/* ---- back-pressure: stalled, released, then done ------------------------- */

/* What a back-pressure test watches: the uploader (up) or the service (svc)
 * stalls on the watermark; then the peer is released via go_fd. */
struct stall_watch {
	struct artifact_uploader *up;
	struct artifact_service *svc;
	int go_fd;
	bool released;
	pid_t pid;          /* with svc: done when this child has exited */
	int status;
};

static __attribute__((unused)) bool stalled_then_done(struct env *e, void *arg)
{
	struct stall_watch *sw = arg;
	struct artifact_xfer_stats st;
	if (sw->up)
		artifact_uploader_stats(sw->up, &st);
	else
		artifact_service_stats(sw->svc, &st);
	if (!sw->released && st.stalls > 0) {
		assert_int_equal(write(sw->go_fd, "g", 1), 1);
		sw->released = true;
	}
	if (!sw->released)
		return false;
	if (sw->up)
		return e->ok + e->failed >= 1;
	/* The server is done once all is queued; the child reads the rest
	 * while this loop keeps flushing. */
	return waitpid(sw->pid, &sw->status, WNOHANG) == sw->pid;
}

#endif
