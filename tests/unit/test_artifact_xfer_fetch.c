/*
 * Unit tests for net/artifact_xfer: fetches (broker -> worker) over real
 * loopback connections between real stores, including cancellation,
 * re-entrant callbacks, size limits, a broker that hangs up mid-stream and a
 * worker that stops reading (uploads are in test_artifact_xfer.c; the shared
 * fixture is in artifact_xfer_fixture.h). Misbehaving peers are forked
 * children paced by a pipe, so nothing depends on timing.
 */
#include "artifact_xfer_fixture.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, env_setup, env_teardown)
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
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
