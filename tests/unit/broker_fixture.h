/*
 * Shared fixture of the net/broker/broker unit tests (test_broker.c: hello,
 * artifacts, dispatch; test_broker_peers.c: lost and bad peers, monitor,
 * HTTP, cache): a real broker on loopback with its store, fake clients,
 * workers and monitors built on net/conn that record what they receive, and
 * helpers that send and expect protocol messages.
 *
 * Each test program includes this once; the helpers are marked unused so a
 * program that needs only some of them compiles without warnings.
 */
#ifndef TESTS_UNIT_BROKER_FIXTURE_H
#define TESTS_UNIT_BROKER_FIXTURE_H

#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "artifacts/extract.h"
#include "core/cleanup.h"
#include "artifacts/store.h"
#include "core/log.h"
#include "core/reactor.h"
#include "net/artifact_xfer.h"
#include "net/broker/broker.h"
#include "net/conn.h"
#include "net/http.h"
#include "net/msg.h"

#define MAX_FAKES 16

struct fx;

/* One fake peer: everything it received, and whether it was closed. */
struct fake {
	struct fx *fx;
	struct conn *c;
	msg_t *msgs[256];
	size_t n, read;
	bool closed;
	char reason[256];
};

struct fx {
	char dir[1024];
	struct reactor *r;
	struct store *store;
	struct broker *b;
	char addr[64];
	struct fake *fakes[MAX_FAKES];
	size_t n_fakes;
};

/* ---- plumbing ----------------------------------------------------------- */

static __attribute__((unused)) void stop_cb(struct reactor *r, void *arg)
{
	(void)arg;
	reactor_stop(r);
}

/* Runs the reactor until cond holds (polled after every event and every
 * millisecond); fails after 10 s, which only a hang reaches. */
static __attribute__((unused)) void pump_until(struct fx *f, bool (*cond)(void *), void *arg, const char *what)
{
	uint64_t deadline = reactor_now_ns() + 10000000000ull;
	while (!cond(arg)) {
		if (reactor_now_ns() > deadline)
			fail_msg("timed out waiting for %s", what);
		uint64_t t = reactor_timer_add(f->r, 1000000, stop_cb, NULL);
		struct err *err = NULL;
		if (reactor_run(f->r, &err) < 0)
			fail_msg("reactor: %s", err_msg(err));
		reactor_timer_cancel(f->r, t);
	}
}

static __attribute__((unused)) bool never(void *arg)
{
	int *rounds = arg;
	return --*rounds < 0;
}

/* Lets a few rounds of events happen (for "nothing else arrived" checks
 * that also rely on a causal barrier; see the callers). */
static __attribute__((unused)) void settle(struct fx *f)
{
	int rounds = 20;
	pump_until(f, never, &rounds, "settling");
}

static __attribute__((unused)) void fake_on_message(struct conn *c, msg_t *m, void *arg)
{
	struct fake *k = arg;
	(void)c;
	if (k->n == ARRAY_SIZE(k->msgs))
		fail_msg("fake peer got too many messages");
	k->msgs[k->n++] = m;
	reactor_stop(k->fx->r);
}

static __attribute__((unused)) void fake_on_close(struct conn *c, const char *reason, void *arg)
{
	struct fake *k = arg;
	(void)c;
	k->closed = true;
	k->c = NULL;
	snprintf(k->reason, sizeof(k->reason), "%s", reason);
	reactor_stop(k->fx->r);
}

static __attribute__((unused)) const struct conn_ops fake_ops = {
	.on_message = fake_on_message,
	.on_close = fake_on_close,
};

static __attribute__((unused)) void send_msg(struct fake *k, msg_t *m)
{
	assert_non_null(k->c);
	conn_send(k->c, m);
}

static __attribute__((unused)) void send_hello(struct fake *k, uint32_t version, Maelstrom__Role role, uint32_t slots,
		       const char *name)
{
	Maelstrom__Hello h = MAELSTROM__HELLO__INIT;
	h.protocol_version = version;
	h.role = role;
	h.slots = slots;
	h.name = (char *)name;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_HELLO;
	m.hello = &h;
	send_msg(k, &m);
}

static __attribute__((unused)) struct fake *fake_connect(struct fx *f)
{
	struct fake *k = calloc(1, sizeof(*k));
	k->fx = f;
	struct err *err = NULL;
	k->c = conn_connect(f->r, f->addr, &fake_ops, k, &err);
	if (!k->c)
		fail_msg("connect: %s", err_msg(err));
	assert_true(f->n_fakes < MAX_FAKES);
	f->fakes[f->n_fakes++] = k;
	return k;
}

struct wait_n {
	struct fake *k;
	size_t n;
};

static __attribute__((unused)) bool has_unread(void *arg)
{
	struct fake *k = arg;
	return k->n > k->read || k->closed;
}

/* The next message the fake received, which must be of kind `want`. */
static __attribute__((unused)) msg_t *expect(struct fake *k, Maelstrom__Envelope__MsgCase want)
{
	pump_until(k->fx, has_unread, k, "a message");
	if (k->n == k->read)
		fail_msg("connection closed (%s) while waiting for a message", k->reason);
	msg_t *m = k->msgs[k->read++];
	if (m->msg_case != want)
		fail_msg("got %s, want case %d", msg_name(m), (int)want);
	return m;
}

static __attribute__((unused)) bool is_closed(void *arg)
{
	return ((struct fake *)arg)->closed;
}

static __attribute__((unused)) void expect_closed(struct fake *k)
{
	pump_until(k->fx, is_closed, k, "the broker to close the connection");
}

/* Unread messages of one kind so far. */
static __attribute__((unused)) size_t count_unread(struct fake *k, Maelstrom__Envelope__MsgCase kind)
{
	size_t n = 0;
	for (size_t i = k->read; i < k->n; i++)
		n += k->msgs[i]->msg_case == kind;
	return n;
}

static __attribute__((unused)) struct fake *join(struct fx *f, Maelstrom__Role role, uint32_t slots, const char *name)
{
	struct fake *k = fake_connect(f);
	send_hello(k, PROTOCOL_VERSION, role, slots, name);
	msg_t *m = expect(k, MAELSTROM__ENVELOPE__MSG_HELLO_REPLY);
	if (!m->hello_reply->accepted)
		fail_msg("refused: %s", m->hello_reply->message);
	return k;
}

/* ---- messages ------------------------------------------------------------ */

static __attribute__((unused)) struct digest content_digest(const char *text)
{
	struct digest d;
	digest_bytes(text, strlen(text), &d);
	return d;
}

/* Puts `text` into the broker's store as an artifact. */
static __attribute__((unused)) struct digest put_artifact(struct fx *f, const char *text)
{
	char *tmp;
	int fd;
	struct err *err = NULL;
	if (store_tmpfile(f->store, &tmp, &fd, &err) < 0)
		fail_msg("%s", err_msg(err));
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct digest d;
	if (store_commit(f->store, tmp, NULL, &d, &err) < 0)
		fail_msg("%s", err_msg(err));
	free(tmp);
	return d;
}

static __attribute__((unused)) void send_job(struct fake *k, uint64_t id, const struct digest *layers, size_t n_layers,
		     int32_t priority, uint64_t duration_ms)
{
	ProtobufCBinaryData l[8];
	assert_true(n_layers <= 8);
	for (size_t i = 0; i < n_layers; i++)
		l[i] = msg_digest(&layers[i]);
	Maelstrom__ResolvedJob rj = MAELSTROM__RESOLVED_JOB__INIT;
	rj.layers = l;
	rj.n_layers = n_layers;
	rj.program = "/bin/true";
	rj.priority = priority;
	rj.estimated_duration_ms = duration_ms;
	Maelstrom__JobRequest jr = MAELSTROM__JOB_REQUEST__INIT;
	jr.job_id = id;
	jr.job = &rj;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_REQUEST;
	m.job_request = &jr;
	send_msg(k, &m);
}

static __attribute__((unused)) void send_result(struct fake *w, uint64_t id, Maelstrom__Outcome outcome, const char *out)
{
	Maelstrom__JobResult jr = MAELSTROM__JOB_RESULT__INIT;
	jr.job_id = id;
	jr.outcome = outcome;
	jr.stdout.data = (uint8_t *)out;
	jr.stdout.len = strlen(out);
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_RESULT;
	m.job_result = &jr;
	send_msg(w, &m);
}

static __attribute__((unused)) void send_cancel(struct fake *k, uint64_t id)
{
	Maelstrom__CancelJob cj = MAELSTROM__CANCEL_JOB__INIT;
	cj.job_id = id;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_CANCEL_JOB;
	m.cancel_job = &cj;
	send_msg(k, &m);
}

static __attribute__((unused)) void send_empty(struct fake *k, Maelstrom__Envelope__MsgCase kind)
{
	Maelstrom__StatusRequest sr = MAELSTROM__STATUS_REQUEST__INIT;
	Maelstrom__StopRequest st = MAELSTROM__STOP_REQUEST__INIT;
	msg_t m;
	msg_init(&m);
	m.msg_case = kind;
	if (kind == MAELSTROM__ENVELOPE__MSG_STATUS_REQUEST)
		m.status_request = &sr;
	else
		m.stop_request = &st;
	send_msg(k, &m);
}

/* Expects a status update for the client's job id. */
static __attribute__((unused)) void expect_status(struct fake *k, uint64_t id, Maelstrom__JobState state)
{
	msg_t *m = expect(k, MAELSTROM__ENVELOPE__MSG_JOB_STATUS_UPDATE);
	assert_int_equal(m->job_status_update->job_id, id);
	assert_int_equal(m->job_status_update->state, state);
}

/* Expects EnqueueJob; returns the broker's job id. */
static __attribute__((unused)) uint64_t expect_enqueue(struct fake *w, int32_t priority)
{
	msg_t *m = expect(w, MAELSTROM__ENVELOPE__MSG_ENQUEUE_JOB);
	assert_string_equal(m->enqueue_job->job->program, "/bin/true");
	assert_int_equal(m->enqueue_job->job->priority, priority);
	return m->enqueue_job->job_id;
}

static __attribute__((unused)) const Maelstrom__JobResult *expect_result(struct fake *k, uint64_t id)
{
	msg_t *m = expect(k, MAELSTROM__ENVELOPE__MSG_JOB_RESULT);
	assert_int_equal(m->job_result->job_id, id);
	return m->job_result;
}

/* The status document, parsed (json_decref it). */
static __attribute__((unused)) json_t *status(struct fx *f)
{
	char *text = broker_status_json(f->b);
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		fail_msg("status is not JSON (%s): %s", e.text, text);
	free(text);
	return j;
}

static __attribute__((unused)) long long status_num(struct fx *f, const char *section, const char *key)
{
	json_t *j = status(f);
	json_t *v = section ? json_object_get(json_object_get(j, section), key)
			    : json_object_get(j, key);
	if (!json_is_integer(v))
		fail_msg("status has no %s.%s", section ? section : "", key);
	long long n = json_integer_value(v);
	json_decref(j);
	return n;
}

/* ---- fixture ----------------------------------------------------------- */

static __attribute__((unused)) int setup_size(void **state, uint64_t cache_size)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/test_broker.XXXXXX", tmp);
	if (!mkdtemp(f->dir))
		return -1;
	struct err *err = NULL;
	char root[1100];
	snprintf(root, sizeof(root), "%s/cache", f->dir);
	if (reactor_new(&f->r, 0, &err) < 0 || store_open(&f->store, root, cache_size, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err_msg(err));
		return -1;
	}
	struct broker_config cfg = {.port = 0, .cache_size = cache_size};
	if (broker_new(&f->b, f->r, f->store, &cfg, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err_msg(err));
		return -1;
	}
	snprintf(f->addr, sizeof(f->addr), "127.0.0.1:%u", (unsigned)broker_port(f->b));
	*state = f;
	return 0;
}

static __attribute__((unused)) int setup(void **state)
{
	return setup_size(state, 1u << 30);
}

static __attribute__((unused)) int setup_tiny_cache(void **state)
{
	return setup_size(state, 10);
}

static __attribute__((unused)) bool all_closed(void *arg)
{
	struct fx *f = arg;
	for (size_t i = 0; i < f->n_fakes; i++)
		if (!f->fakes[i]->closed)
			return false;
	return true;
}

static __attribute__((unused)) int teardown(void **state)
{
	struct fx *f = *state;
	for (size_t i = 0; i < f->n_fakes; i++)
		if (f->fakes[i]->c)
			conn_close(f->fakes[i]->c, false, "test over");
	pump_until(f, all_closed, f, "fake peers to close");
	broker_free(f->b);
	store_free(f->store);
	reactor_free(f->r);
	for (size_t i = 0; i < f->n_fakes; i++) {
		for (size_t j = 0; j < f->fakes[i]->n; j++)
			msg_free(f->fakes[i]->msgs[j]);
		free(f->fakes[i]);
	}
	struct err *err = NULL;
	int rc = extract_remove_tree(AT_FDCWD, f->dir, &err);
	if (rc < 0)
		fprintf(stderr, "teardown: %s\n", err_msg(err));
	err_free(&err);
	free(f);
	return rc;
}

/* ---- shared expectations ------------------------------------------------------ */

/* Expects TransferArtifact asking for d. */
static __attribute__((unused)) void expect_transfer(struct fake *k, const struct digest *d)
{
	msg_t *m = expect(k, MAELSTROM__ENVELOPE__MSG_TRANSFER_ARTIFACT);
	struct digest got;
	assert_int_equal(msg_digest_get(m->transfer_artifact->digest, &got, NULL), 0);
	assert_true(digest_equal(&got, d));
}

#endif
