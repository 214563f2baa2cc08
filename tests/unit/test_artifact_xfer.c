/*
 * Unit tests for net/artifact_xfer: uploads (client -> broker) and routing,
 * over real loopback connections between real stores (fetches, broker ->
 * worker, are in test_artifact_xfer_fetch.c; the shared fixture is in
 * artifact_xfer_fixture.h).
 *
 * The "broker" here is the service behind a listener with a small Hello
 * router (the hand-over the real broker does). Misbehaving peers (one that
 * stops reading, one that hangs up in the middle of a stream) are forked
 * children speaking the protocol with blocking I/O; a pipe tells them when
 * to go on, so nothing depends on timing.
 */
#include "artifact_xfer_fixture.h"

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
		cmocka_unit_test(test_route_detached),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
