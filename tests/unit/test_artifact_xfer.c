/*
 * Unit tests for net/artifact_xfer: uploads (client -> broker) and fetches
 * (broker -> worker) over real loopback connections between real stores.
 *
 * The "broker" here is the service behind a listener with a small Hello
 * router (the hand-over the real broker does). Misbehaving peers (one that
 * stops reading, one that hangs up in the middle of a stream) are forked
 * children speaking the protocol with blocking I/O; a pipe tells them when
 * to go on, so nothing depends on timing.
 */
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

static struct store *open_store(struct env *e, const char *name, uint64_t size)
{
	char root[1200];
	snprintf(root, sizeof(root), "%s/%s", e->dir, name);
	struct store *s = NULL;
	struct err *err = NULL;
	if (store_open(&s, root, size, &err) < 0)
		fail_msg("%s", err_msg(err));
	return s;
}

static void on_stored(void *arg, const struct digest *d)
{
	struct env *e = arg;
	assert_true(store_has(e->broker, d));
	e->stored++;
}

struct hello_peer {
	struct conn_route route;
	struct env *e;
};

static void hp_on_message(struct conn *c, msg_t *m, void *arg)
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

static void hp_on_close(struct conn *c, const char *reason, void *arg)
{
	(void)c;
	(void)reason;
	free(arg);
}

static const struct conn_ops hello_ops = {
	.on_message = hp_on_message,
	.on_close = hp_on_close,
};

static void on_accept(struct listener *l, int fd, const char *peer, void *arg)
{
	(void)l;
	(void)peer;
	struct hello_peer *hp = calloc(1, sizeof(*hp));
	assert_non_null(hp);
	hp->e = arg;
	hp->route = (struct conn_route){ &hello_ops, hp };
	conn_new(hp->e->r, fd, &conn_route_ops, &hp->route);
}

static int env_setup(void **state)
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

static int env_teardown(void **state)
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
static struct digest make_blob(struct env *e, struct store *s, size_t n, uint32_t seed)
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
static void assert_blob(struct store *s, const struct digest *d)
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
static unsigned count_tmp_files(struct env *e, const char *store_name)
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

static void on_done(void *arg, const struct digest *d, bool ok, const char *message)
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

static void wait_poll(struct reactor *r, void *arg)
{
	struct waiter *w = arg;
	if (w->pred(w->e, w->arg)) {
		w->poll = 0;
		reactor_stop(r);
		return;
	}
	w->poll = reactor_timer_add(r, 1000000, wait_poll, w);
}

static void wait_watchdog(struct reactor *r, void *arg)
{
	struct waiter *w = arg;
	w->watchdog = 0;
	w->timed_out = true;
	reactor_stop(r);
}

/* Runs the reactor until pred holds (checked every millisecond); fails
 * the test after 60 s (a hang, not a slow machine). */
static void run_until(struct env *e, pred_fn *pred, void *arg)
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

static bool done_count(struct env *e, void *arg)
{
	return e->ok + e->failed >= *(size_t *)arg;
}

static void run_until_done(struct env *e, size_t n)
{
	run_until(e, done_count, &n);
}

/* Lets deferred closes and frees run. */
static bool after_rounds(struct env *e, void *arg)
{
	(void)e;
	return --*(int *)arg <= 0;
}

static void settle(struct env *e)
{
	int rounds = 3;
	run_until(e, after_rounds, &rounds);
}

/* ---- blocking helpers for forked peers ------------------------------------------ */

static int fd_write_all(int fd, const void *data, size_t n)
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

static int fd_read_all(int fd, void *data, size_t n)
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

static int fd_send(int fd, const msg_t *m)
{
	struct buf b = BUF_INIT;
	msg_encode_frame(&b, m);
	int rc = fd_write_all(fd, b.data, b.len);
	buf_release(&b);
	return rc;
}

static msg_t *fd_recv(int fd, Maelstrom__Envelope__MsgCase want)
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

static int fd_send_hello_reply(int fd)
{
	Maelstrom__HelloReply hr = MAELSTROM__HELLO_REPLY__INIT;
	hr.accepted = true;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_HELLO_REPLY;
	m.hello_reply = &hr;
	return fd_send(fd, &m);
}

static int fd_send_hello(int fd, Maelstrom__Role role)
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
static int fd_send_filler(int fd, size_t n)
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
static int fd_read_hash(int fd, uint64_t n, struct digest *out)
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
static int fake_listen(char *addr, size_t size)
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

static int fake_connect(const char *port_addr)
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

static int wait_child(pid_t pid)
{
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}


/* ---- uploads ---------------------------------------------------------------- */

static void upload_roundtrip(struct env *e)
{
	struct digest empty = make_blob(e, e->client, 0, 1);
	struct digest small = make_blob(e, e->client, 1000, 2);
	struct digest big = make_blob(e, e->client, BIG, 3);
	struct err *err = NULL;
	struct artifact_uploader *up = artifact_uploader_new(e->r, e->addr, e->client, on_done, e,
							     &err);
	assert_non_null(up);
	artifact_uploader_push(up, &big);
	artifact_uploader_push(up, &small);
	artifact_uploader_push(up, &big); /* queued already: ignored */
	artifact_uploader_push(up, &empty);
	assert_int_equal(artifact_uploader_pending(up), 3);
	run_until_done(e, 3);
	assert_int_equal(e->failed, 0);
	assert_int_equal(e->ok, 3);
	assert_int_equal(e->stored, 3);
	assert_int_equal(artifact_uploader_pending(up), 0);
	assert_blob(e->broker, &empty);
	assert_blob(e->broker, &small);
	assert_blob(e->broker, &big);

	struct artifact_xfer_stats st;
	artifact_uploader_stats(up, &st);
	assert_int_equal(st.artifacts, 3);
	assert_int_equal(st.bytes, BIG + 1000);
	assert_true(st.peak_queued <= QUEUE_BOUND);
	assert_int_equal(st.active, 1); /* kept open for more */

	/* Done digests may be pushed again (the broker asked again). */
	artifact_uploader_push(up, &small);
	run_until_done(e, 4);
	assert_int_equal(e->ok, 4);
	artifact_uploader_free(up);
	settle(e);
	artifact_service_stats(e->svc, &st);
	assert_int_equal(st.artifacts, 4);
	assert_int_equal(st.failures, 0);
	assert_int_equal(st.active, 0);
	assert_int_equal(count_tmp_files(e, "broker"), 0);
}

static void test_upload_uring(void **state)
{
	upload_roundtrip(*state);
}

static void test_upload_pread(void **state)
{
	xfer_source_use_uring = false;
	upload_roundtrip(*state);
}

/* The client's blob no longer matches its name: the broker refuses it, and
 * the next digest still goes through (on a new connection). */
static void test_upload_digest_mismatch(void **state)
{
	struct env *e = *state;
	struct digest bad = make_blob(e, e->client, 300000, 4);
	struct digest good = make_blob(e, e->client, 5000, 5);
	char *path = store_blob_path(e->client, &bad);
	assert_int_equal(chmod(path, 0644), 0);
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 123456), 1);
	close(fd);
	free(path);

	struct artifact_uploader *up = artifact_uploader_new(e->r, e->addr, e->client, on_done, e,
							     NULL);
	artifact_uploader_push(up, &bad);
	artifact_uploader_push(up, &good);
	run_until_done(e, 2);
	assert_int_equal(e->failed, 1);
	assert_int_equal(e->ok, 1);
	assert_non_null(strstr(e->last_error, "digest mismatch"));
	assert_false(store_has(e->broker, &bad));
	assert_blob(e->broker, &good);
	assert_int_equal(e->stored, 1);
	artifact_uploader_free(up);
	settle(e);
	assert_int_equal(count_tmp_files(e, "broker"), 0);
}

static void test_upload_too_large(void **state)
{
	struct env *e = *state;
	artifact_service_free(e->svc);
	e->svc = artifact_service_new(e->r, e->broker, 4096, on_stored, e);
	struct digest big = make_blob(e, e->client, 10000, 6);
	struct digest small = make_blob(e, e->client, 4096, 7);
	struct artifact_uploader *up = artifact_uploader_new(e->r, e->addr, e->client, on_done, e,
							     NULL);
	artifact_uploader_push(up, &big);
	artifact_uploader_push(up, &small);
	run_until_done(e, 2);
	assert_int_equal(e->failed, 1);
	assert_non_null(strstr(e->last_error, "exceeds"));
	assert_false(store_has(e->broker, &big));
	assert_blob(e->broker, &small);
	artifact_uploader_free(up);
	settle(e);
	assert_int_equal(count_tmp_files(e, "broker"), 0);
}

static void test_upload_missing_blob(void **state)
{
	struct env *e = *state;
	struct digest nowhere;
	digest_bytes("not in any store", 16, &nowhere);
	struct digest small = make_blob(e, e->client, 10, 8);
	struct artifact_uploader *up = artifact_uploader_new(e->r, e->addr, e->client, on_done, e,
							     NULL);
	artifact_uploader_push(up, &nowhere);
	artifact_uploader_push(up, &small);
	run_until_done(e, 2);
	assert_int_equal(e->failed, 1);
	assert_int_equal(e->ok, 1);
	assert_non_null(strstr(e->last_error, "not in the local cache"));
	artifact_uploader_free(up);
}

static void test_upload_hello_refused(void **state)
{
	struct env *e = *state;
	e->refuse_hello = true;
	struct digest a = make_blob(e, e->client, 10, 9);
	struct digest b = make_blob(e, e->client, 20, 10);
	struct artifact_uploader *up = artifact_uploader_new(e->r, e->addr, e->client, on_done, e,
							     NULL);
	artifact_uploader_push(up, &a);
	artifact_uploader_push(up, &b);
	run_until_done(e, 2);
	assert_int_equal(e->failed, 2);
	assert_non_null(strstr(e->last_error, "go away"));
	assert_int_equal(artifact_uploader_pending(up), 0);
	artifact_uploader_free(up);
}

static void test_upload_connect_refused(void **state)
{
	struct env *e = *state;
	char addr[64];
	int fd = fake_listen(addr, sizeof(addr));
	close(fd); /* nothing listens there any more */
	struct digest a = make_blob(e, e->client, 10, 11);
	struct artifact_uploader *up = artifact_uploader_new(e->r, addr, e->client, on_done, e,
							     NULL);
	artifact_uploader_push(up, &a);
	run_until_done(e, 1);
	assert_int_equal(e->failed, 1);
	assert_non_null(strstr(e->last_error, addr));
	artifact_uploader_free(up);

	struct err *err = NULL;
	assert_null(artifact_uploader_new(e->r, "no-port-here", e->client, on_done, e, &err));
	assert_non_null(err);
	err_free(&err);
}

/* A broker that hangs up after 1 MiB of a 20 MB upload: the digest in
 * flight and the one queued behind it fail. */
static void test_upload_cut_midstream(void **state)
{
	struct env *e = *state;
	struct digest big = make_blob(e, e->client, BIG, 12);
	struct digest small = make_blob(e, e->client, 10, 13);
	char addr[64];
	int lfd = fake_listen(addr, sizeof(addr));
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = accept(lfd, NULL, NULL);
		msg_t *m = fd_recv(fd, MAELSTROM__ENVELOPE__MSG_HELLO);
		msg_free(m);
		fd_send_hello_reply(fd);
		m = fd_recv(fd, MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER);
		bool right = m->artifact_header->size == BIG;
		msg_free(m);
		static char chunk[1 << 20];
		int rc = fd_read_all(fd, chunk, sizeof(chunk));
		_exit(right && rc == 0 ? 0 : 1);
	}
	close(lfd);
	struct artifact_uploader *up = artifact_uploader_new(e->r, addr, e->client, on_done, e,
							     NULL);
	artifact_uploader_push(up, &big);
	artifact_uploader_push(up, &small);
	run_until_done(e, 2);
	assert_int_equal(e->failed, 2);
	assert_non_null(strstr(e->last_error, "connection lost"));
	assert_int_equal(artifact_uploader_pending(up), 0);
	assert_int_equal(wait_child(pid), 0);
	artifact_uploader_free(up);
}

/* A client that hangs up in the middle of an upload: the broker keeps no
 * temp file and stores nothing. */
static bool svc_idle_after_failure(struct env *e, void *arg)
{
	(void)arg;
	struct artifact_xfer_stats st;
	artifact_service_stats(e->svc, &st);
	return st.failures == 1 && st.active == 0;
}

static void test_receive_cut_midstream(void **state)
{
	struct env *e = *state;
	struct digest d;
	digest_bytes("four MiB that never come", 24, &d);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = fake_connect(e->addr);
		fd_send_hello(fd, MAELSTROM__ROLE__ROLE_ARTIFACT_UPLOAD);
		msg_free(fd_recv(fd, MAELSTROM__ENVELOPE__MSG_HELLO_REPLY));
		Maelstrom__ArtifactHeader h = MAELSTROM__ARTIFACT_HEADER__INIT;
		h.digest = msg_digest(&d);
		h.size = 4u << 20;
		h.found = true;
		msg_t m;
		msg_init(&m);
		m.msg_case = MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER;
		m.artifact_header = &h;
		int rc = fd_send(fd, &m) | fd_send_filler(fd, 1u << 20);
		_exit(rc == 0 ? 0 : 1);
	}
	run_until(e, svc_idle_after_failure, NULL);
	assert_int_equal(wait_child(pid), 0);
	assert_false(store_has(e->broker, &d));
	assert_int_equal(e->stored, 0);
	assert_int_equal(count_tmp_files(e, "broker"), 0);
}

/* A broker that stops reading: the uploader must stall on the queue's
 * watermark rather than queue the file; then everything arrives. */
struct stall_watch {
	struct artifact_uploader *up;
	struct artifact_service *svc;
	int go_fd;
	bool released;
	pid_t pid;          /* with svc: done when this child has exited */
	int status;
};

static bool stalled_then_done(struct env *e, void *arg)
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

static void test_upload_backpressure(void **state)
{
	struct env *e = *state;
	struct digest big = make_blob(e, e->client, BIG, 14);
	char addr[64];
	int lfd = fake_listen(addr, sizeof(addr));
	int go[2];
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(go[1]);
		int fd = accept(lfd, NULL, NULL);
		msg_free(fd_recv(fd, MAELSTROM__ENVELOPE__MSG_HELLO));
		fd_send_hello_reply(fd);
		msg_t *m = fd_recv(fd, MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER);
		struct digest want, got;
		msg_digest_get(m->artifact_header->digest, &want, NULL);
		uint64_t size = m->artifact_header->size;
		msg_free(m);
		char c;
		if (read(go[0], &c, 1) != 1 || fd_read_hash(fd, size, &got) < 0)
			_exit(2);
		Maelstrom__ArtifactAck a = MAELSTROM__ARTIFACT_ACK__INIT;
		a.digest = msg_digest(&want);
		a.ok = digest_equal(&want, &got);
		a.message = a.ok ? "" : "bad";
		msg_t reply;
		msg_init(&reply);
		reply.msg_case = MAELSTROM__ENVELOPE__MSG_ARTIFACT_ACK;
		reply.artifact_ack = &a;
		_exit(fd_send(fd, &reply) == 0 && a.ok ? 0 : 1);
	}
	close(lfd);
	close(go[0]);
	struct artifact_uploader *up = artifact_uploader_new(e->r, addr, e->client, on_done, e,
							     NULL);
	artifact_uploader_push(up, &big);
	struct stall_watch sw = { .up = up, .go_fd = go[1] };
	run_until(e, stalled_then_done, &sw);
	close(go[1]);
	assert_int_equal(e->ok, 1);
	struct artifact_xfer_stats st;
	artifact_uploader_stats(up, &st);
	assert_true(st.stalls >= 1);
	assert_true(st.peak_queued <= QUEUE_BOUND);
	assert_int_equal(wait_child(pid), 0);
	artifact_uploader_free(up);
}

/* ---- fetches ---------------------------------------------------------------- */

static void fetch_roundtrip(struct env *e)
{
	struct digest empty = make_blob(e, e->broker, 0, 21);
	struct digest small = make_blob(e, e->broker, 1000, 22);
	struct digest big = make_blob(e, e->broker, BIG, 23);
	struct digest have = make_blob(e, e->worker, 77, 24);
	struct err *err = NULL;
	struct artifact_fetcher *f = artifact_fetcher_new(e->r, e->addr, e->worker, 2, 0, &err);
	assert_non_null(f);
	artifact_fetcher_get(f, &big, on_done, e);
	artifact_fetcher_get(f, &small, on_done, e);
	artifact_fetcher_get(f, &big, on_done, e); /* shares the first transfer */
	artifact_fetcher_get(f, &empty, on_done, e);
	artifact_fetcher_get(f, &have, on_done, e); /* in the store already */
	assert_int_equal(artifact_fetcher_pending(f), 4);
	run_until_done(e, 5);
	assert_int_equal(e->failed, 0);
	assert_int_equal(artifact_fetcher_pending(f), 0);
	assert_blob(e->worker, &empty);
	assert_blob(e->worker, &small);
	assert_blob(e->worker, &big);

	struct artifact_xfer_stats st;
	artifact_fetcher_stats(f, &st);
	assert_int_equal(st.artifacts, 4); /* three transfers and one store hit */
	assert_int_equal(st.bytes, BIG + 1000);
	assert_true(st.active >= 1 && st.active <= 2);
	artifact_service_stats(e->svc, &st);
	assert_int_equal(st.artifacts, 3);
	assert_true(st.peak_queued <= QUEUE_BOUND);
	artifact_fetcher_free(f);
	settle(e);
	assert_int_equal(count_tmp_files(e, "worker"), 0);
}

static void test_fetch_uring(void **state)
{
	fetch_roundtrip(*state);
}

static void test_fetch_pread(void **state)
{
	xfer_source_use_uring = false;
	fetch_roundtrip(*state);
}

static void test_fetch_missing(void **state)
{
	struct env *e = *state;
	struct digest nowhere;
	digest_bytes("nowhere", 7, &nowhere);
	struct digest small = make_blob(e, e->broker, 1000, 25);
	struct artifact_fetcher *f = artifact_fetcher_new(e->r, e->addr, e->worker, 1, 0, NULL);
	artifact_fetcher_get(f, &nowhere, on_done, e);
	artifact_fetcher_get(f, &small, on_done, e);
	run_until_done(e, 2);
	assert_int_equal(e->failed, 1);
	assert_int_equal(e->ok, 1);
	assert_non_null(strstr(e->last_error, "does not have"));
	assert_false(store_has(e->worker, &nowhere));
	assert_blob(e->worker, &small);
	artifact_fetcher_free(f);
}

/* Over the worker's limit: refused, its bytes skipped, and the same
 * connection serves the next request. */
static void test_fetch_too_large(void **state)
{
	struct env *e = *state;
	struct digest big = make_blob(e, e->broker, 100000, 26);
	struct digest small = make_blob(e, e->broker, 1000, 27);
	struct artifact_fetcher *f = artifact_fetcher_new(e->r, e->addr, e->worker, 1, 4096, NULL);
	artifact_fetcher_get(f, &big, on_done, e);
	artifact_fetcher_get(f, &small, on_done, e);
	run_until_done(e, 2);
	assert_int_equal(e->failed, 1);
	assert_non_null(strstr(e->last_error, "exceeds"));
	assert_false(store_has(e->worker, &big));
	assert_blob(e->worker, &small);
	struct artifact_xfer_stats st;
	artifact_service_stats(e->svc, &st);
	assert_int_equal(st.active, 1); /* one connection did both */
	artifact_fetcher_free(f);
	settle(e);
	assert_int_equal(count_tmp_files(e, "worker"), 0);
}

/* Far over the limit: not worth skipping, the connection is dropped, and
 * the next request goes on a new one. */
static void test_fetch_far_too_large(void **state)
{
	struct env *e = *state;
	struct digest big = make_blob(e, e->broker, BIG, 32);
	struct digest small = make_blob(e, e->broker, 1000, 33);
	struct artifact_fetcher *f = artifact_fetcher_new(e->r, e->addr, e->worker, 1, 4096, NULL);
	artifact_fetcher_get(f, &big, on_done, e);
	artifact_fetcher_get(f, &small, on_done, e);
	run_until_done(e, 2);
	assert_int_equal(e->failed, 1);
	assert_int_equal(e->ok, 1);
	assert_non_null(strstr(e->last_error, "exceeds"));
	assert_false(store_has(e->worker, &big));
	assert_blob(e->worker, &small);
	struct artifact_xfer_stats st;
	artifact_fetcher_stats(f, &st);
	assert_true(st.bytes < BIG);
	artifact_fetcher_free(f);
	settle(e);
	assert_int_equal(count_tmp_files(e, "worker"), 0);
}

/* A canceled caller hears nothing; the other caller of the digest does. */
static void count_other(void *arg, const struct digest *d, bool ok, const char *message)
{
	(void)d;
	(void)message;
	assert_true(ok);
	++*(int *)arg;
}

static bool int_positive(struct env *e, void *arg)
{
	(void)e;
	return *(int *)arg > 0;
}

static void test_fetch_cancel(void **state)
{
	struct env *e = *state;
	struct digest small = make_blob(e, e->broker, 1000, 28);
	struct digest other = make_blob(e, e->broker, 2000, 29);
	struct artifact_fetcher *f = artifact_fetcher_new(e->r, e->addr, e->worker, 1, 0, NULL);
	int others = 0;
	struct artifact_fetch *a = artifact_fetcher_get(f, &small, on_done, e);
	artifact_fetcher_get(f, &small, count_other, &others);
	struct artifact_fetch *c = artifact_fetcher_get(f, &other, on_done, e);
	artifact_fetch_cancel(a);
	artifact_fetch_cancel(c); /* its only caller: dropped before it is sent */
	assert_int_equal(artifact_fetcher_pending(f), 1);
	run_until(e, int_positive, &others);
	settle(e);
	assert_int_equal(others, 1);
	assert_int_equal(e->ok + e->failed, 0);
	assert_blob(e->worker, &small);
	assert_false(store_has(e->worker, &other));
	artifact_fetcher_free(f);
}

/* Callbacks that fetch again and cancel others while the fetcher is
 * failing a batch (an unreachable broker). */
struct reenter {
	struct env *e;
	struct artifact_fetcher *f;
	struct artifact_fetch *victim;
	int calls_a, calls_b, calls_c;
};

static void reenter_a(void *arg, const struct digest *d, bool ok, const char *message)
{
	(void)message;
	struct reenter *re = arg;
	assert_false(ok);
	if (re->calls_a++ == 0) {
		artifact_fetch_cancel(re->victim);
		artifact_fetcher_get(re->f, d, reenter_a, re);
	}
}

static void reenter_b(void *arg, const struct digest *d, bool ok, const char *message)
{
	(void)d;
	(void)message;
	assert_false(ok);
	((struct reenter *)arg)->calls_b++;
}

static void reenter_c(void *arg, const struct digest *d, bool ok, const char *message)
{
	(void)d;
	(void)ok;
	(void)message;
	((struct reenter *)arg)->calls_c++;
}

static bool reenter_done(struct env *e, void *arg)
{
	(void)e;
	return ((struct reenter *)arg)->calls_a >= 2;
}

static void test_fetch_callbacks_reenter(void **state)
{
	struct env *e = *state;
	char addr[64];
	close(fake_listen(addr, sizeof(addr)));
	struct reenter re = { .e = e };
	re.f = artifact_fetcher_new(e->r, addr, e->worker, 1, 0, NULL);
	struct digest a, b, c;
	digest_bytes("a", 1, &a);
	digest_bytes("b", 1, &b);
	digest_bytes("c", 1, &c);
	artifact_fetcher_get(re.f, &a, reenter_a, &re);
	artifact_fetcher_get(re.f, &b, reenter_b, &re);
	re.victim = artifact_fetcher_get(re.f, &c, reenter_c, &re);
	run_until(e, reenter_done, &re);
	settle(e);
	assert_int_equal(re.calls_a, 2);
	assert_int_equal(re.calls_b, 1);
	assert_int_equal(re.calls_c, 0);
	assert_int_equal(artifact_fetcher_pending(re.f), 0);
	artifact_fetcher_free(re.f);
}

static void test_fetch_hello_refused(void **state)
{
	struct env *e = *state;
	e->refuse_hello = true;
	struct digest small = make_blob(e, e->broker, 1000, 30);
	struct artifact_fetcher *f = artifact_fetcher_new(e->r, e->addr, e->worker, 2, 0, NULL);
	artifact_fetcher_get(f, &small, on_done, e);
	run_until_done(e, 1);
	assert_int_equal(e->failed, 1);
	assert_non_null(strstr(e->last_error, "go away"));
	artifact_fetcher_free(f);
}

/* A broker that hangs up in the middle of a fetch. */
static void test_fetch_cut_midstream(void **state)
{
	struct env *e = *state;
	struct digest d;
	digest_bytes("cut short", 9, &d);
	char addr[64];
	int lfd = fake_listen(addr, sizeof(addr));
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = accept(lfd, NULL, NULL);
		msg_free(fd_recv(fd, MAELSTROM__ENVELOPE__MSG_HELLO));
		fd_send_hello_reply(fd);
		msg_free(fd_recv(fd, MAELSTROM__ENVELOPE__MSG_FETCH_ARTIFACT));
		Maelstrom__ArtifactHeader h = MAELSTROM__ARTIFACT_HEADER__INIT;
		h.digest = msg_digest(&d);
		h.size = 4u << 20;
		h.found = true;
		msg_t m;
		msg_init(&m);
		m.msg_case = MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER;
		m.artifact_header = &h;
		_exit(fd_send(fd, &m) | fd_send_filler(fd, 1u << 20) ? 1 : 0);
	}
	close(lfd);
	struct artifact_fetcher *f = artifact_fetcher_new(e->r, addr, e->worker, 1, 0, NULL);
	artifact_fetcher_get(f, &d, on_done, e);
	run_until_done(e, 1);
	assert_int_equal(e->failed, 1);
	assert_non_null(strstr(e->last_error, "connection lost"));
	assert_int_equal(wait_child(pid), 0);
	assert_false(store_has(e->worker, &d));
	assert_int_equal(count_tmp_files(e, "worker"), 0);
	artifact_fetcher_free(f);
}

/* A worker that stops reading: the broker's server must stall on the
 * watermark, then send the rest once the worker reads again. */
static void test_serve_backpressure(void **state)
{
	struct env *e = *state;
	struct digest big = make_blob(e, e->broker, BIG, 31);
	int go[2];
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(go[1]);
		int fd = fake_connect(e->addr);
		fd_send_hello(fd, MAELSTROM__ROLE__ROLE_ARTIFACT_FETCH);
		msg_free(fd_recv(fd, MAELSTROM__ENVELOPE__MSG_HELLO_REPLY));
		Maelstrom__FetchArtifact fa = MAELSTROM__FETCH_ARTIFACT__INIT;
		fa.digest = msg_digest(&big);
		msg_t m;
		msg_init(&m);
		m.msg_case = MAELSTROM__ENVELOPE__MSG_FETCH_ARTIFACT;
		m.fetch_artifact = &fa;
		fd_send(fd, &m);
		msg_t *h = fd_recv(fd, MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER);
		uint64_t size = h->artifact_header->size;
		bool found = h->artifact_header->found;
		msg_free(h);
		char c;
		struct digest got;
		if (!found || size != BIG || read(go[0], &c, 1) != 1 ||
		    fd_read_hash(fd, size, &got) < 0)
			_exit(2);
		_exit(digest_equal(&got, &big) ? 0 : 1);
	}
	close(go[0]);
	struct stall_watch sw = { .svc = e->svc, .go_fd = go[1], .pid = pid };
	run_until(e, stalled_then_done, &sw);
	close(go[1]);
	assert_true(WIFEXITED(sw.status));
	assert_int_equal(WEXITSTATUS(sw.status), 0);
	struct artifact_xfer_stats st;
	artifact_service_stats(e->svc, &st);
	assert_true(st.stalls >= 1);
	assert_true(st.peak_queued <= QUEUE_BOUND);
}

/* ---- routing ------------------------------------------------------------------ */

/* A detached route (arg NULL) swallows everything without crashing. */
static void test_route_detached(void **state)
{
	(void)state;
	struct conn_route rt = { &(struct conn_ops){ 0 }, NULL };
	msg_t *m = calloc(1, sizeof(*m));
	maelstrom__envelope__init(m);
	conn_route_ops.on_message(NULL, m, &rt); /* no on_message: freed */
	assert_int_equal(conn_route_ops.on_raw(NULL, (const uint8_t *)"abc", 3, NULL), 3);
	conn_route_ops.on_close(NULL, "x", NULL);
	conn_route_ops.on_drain(NULL, &rt);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, env_setup, env_teardown)
		T(test_upload_uring),
		T(test_upload_pread),
		T(test_upload_digest_mismatch),
		T(test_upload_too_large),
		T(test_upload_missing_blob),
		T(test_upload_hello_refused),
		T(test_upload_connect_refused),
		T(test_upload_cut_midstream),
		T(test_receive_cut_midstream),
		T(test_upload_backpressure),
		T(test_fetch_uring),
		T(test_fetch_pread),
		T(test_fetch_missing),
		T(test_fetch_too_large),
		T(test_fetch_far_too_large),
		T(test_fetch_cancel),
		T(test_fetch_callbacks_reenter),
		T(test_fetch_hello_refused),
		T(test_fetch_cut_midstream),
		T(test_serve_backpressure),
		cmocka_unit_test(test_route_detached),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
