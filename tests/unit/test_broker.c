/* Unit tests for net/broker/broker: a real broker on loopback, driven by
 * fake clients, workers and monitors built on net/conn. */
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

static void stop_cb(struct reactor *r, void *arg)
{
	(void)arg;
	reactor_stop(r);
}

/* Runs the reactor until cond holds (polled after every event and every
 * millisecond); fails after 10 s, which only a hang reaches. */
static void pump_until(struct fx *f, bool (*cond)(void *), void *arg, const char *what)
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

static bool never(void *arg)
{
	int *rounds = arg;
	return --*rounds < 0;
}

/* Lets a few rounds of events happen (for "nothing else arrived" checks
 * that also rely on a causal barrier; see the callers). */
static void settle(struct fx *f)
{
	int rounds = 20;
	pump_until(f, never, &rounds, "settling");
}

static void fake_on_message(struct conn *c, msg_t *m, void *arg)
{
	struct fake *k = arg;
	(void)c;
	if (k->n == ARRAY_SIZE(k->msgs))
		fail_msg("fake peer got too many messages");
	k->msgs[k->n++] = m;
	reactor_stop(k->fx->r);
}

static void fake_on_close(struct conn *c, const char *reason, void *arg)
{
	struct fake *k = arg;
	(void)c;
	k->closed = true;
	k->c = NULL;
	snprintf(k->reason, sizeof(k->reason), "%s", reason);
	reactor_stop(k->fx->r);
}

static const struct conn_ops fake_ops = {
	.on_message = fake_on_message,
	.on_close = fake_on_close,
};

static void send_msg(struct fake *k, msg_t *m)
{
	assert_non_null(k->c);
	conn_send(k->c, m);
}

static void send_hello(struct fake *k, uint32_t version, Maelstrom__Role role, uint32_t slots,
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

static struct fake *fake_connect(struct fx *f)
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

static bool has_unread(void *arg)
{
	struct fake *k = arg;
	return k->n > k->read || k->closed;
}

/* The next message the fake received, which must be of kind `want`. */
static msg_t *expect(struct fake *k, Maelstrom__Envelope__MsgCase want)
{
	pump_until(k->fx, has_unread, k, "a message");
	if (k->n == k->read)
		fail_msg("connection closed (%s) while waiting for a message", k->reason);
	msg_t *m = k->msgs[k->read++];
	if (m->msg_case != want)
		fail_msg("got %s, want case %d", msg_name(m), (int)want);
	return m;
}

static bool is_closed(void *arg)
{
	return ((struct fake *)arg)->closed;
}

static void expect_closed(struct fake *k)
{
	pump_until(k->fx, is_closed, k, "the broker to close the connection");
}

/* Unread messages of one kind so far. */
static size_t count_unread(struct fake *k, Maelstrom__Envelope__MsgCase kind)
{
	size_t n = 0;
	for (size_t i = k->read; i < k->n; i++)
		n += k->msgs[i]->msg_case == kind;
	return n;
}

static struct fake *join(struct fx *f, Maelstrom__Role role, uint32_t slots, const char *name)
{
	struct fake *k = fake_connect(f);
	send_hello(k, PROTOCOL_VERSION, role, slots, name);
	msg_t *m = expect(k, MAELSTROM__ENVELOPE__MSG_HELLO_REPLY);
	if (!m->hello_reply->accepted)
		fail_msg("refused: %s", m->hello_reply->message);
	return k;
}

/* ---- messages ------------------------------------------------------------ */

static struct digest content_digest(const char *text)
{
	struct digest d;
	digest_bytes(text, strlen(text), &d);
	return d;
}

/* Puts `text` into the broker's store as an artifact. */
static struct digest put_artifact(struct fx *f, const char *text)
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

static void send_job(struct fake *k, uint64_t id, const struct digest *layers, size_t n_layers,
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

static void send_result(struct fake *w, uint64_t id, Maelstrom__Outcome outcome, const char *out)
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

static void send_cancel(struct fake *k, uint64_t id)
{
	Maelstrom__CancelJob cj = MAELSTROM__CANCEL_JOB__INIT;
	cj.job_id = id;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_CANCEL_JOB;
	m.cancel_job = &cj;
	send_msg(k, &m);
}

static void send_empty(struct fake *k, Maelstrom__Envelope__MsgCase kind)
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
static void expect_status(struct fake *k, uint64_t id, Maelstrom__JobState state)
{
	msg_t *m = expect(k, MAELSTROM__ENVELOPE__MSG_JOB_STATUS_UPDATE);
	assert_int_equal(m->job_status_update->job_id, id);
	assert_int_equal(m->job_status_update->state, state);
}

/* Expects EnqueueJob; returns the broker's job id. */
static uint64_t expect_enqueue(struct fake *w, int32_t priority)
{
	msg_t *m = expect(w, MAELSTROM__ENVELOPE__MSG_ENQUEUE_JOB);
	assert_string_equal(m->enqueue_job->job->program, "/bin/true");
	assert_int_equal(m->enqueue_job->job->priority, priority);
	return m->enqueue_job->job_id;
}

static const Maelstrom__JobResult *expect_result(struct fake *k, uint64_t id)
{
	msg_t *m = expect(k, MAELSTROM__ENVELOPE__MSG_JOB_RESULT);
	assert_int_equal(m->job_result->job_id, id);
	return m->job_result;
}

/* The status document, parsed (json_decref it). */
static json_t *status(struct fx *f)
{
	char *text = broker_status_json(f->b);
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);
	if (!j)
		fail_msg("status is not JSON (%s): %s", e.text, text);
	free(text);
	return j;
}

static long long status_num(struct fx *f, const char *section, const char *key)
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

static int setup_size(void **state, uint64_t cache_size)
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

static int setup(void **state)
{
	return setup_size(state, 1u << 30);
}

static int setup_tiny_cache(void **state)
{
	return setup_size(state, 10);
}

static bool all_closed(void *arg)
{
	struct fx *f = arg;
	for (size_t i = 0; i < f->n_fakes; i++)
		if (!f->fakes[i]->closed)
			return false;
	return true;
}

static int teardown(void **state)
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

/* ---- hello ------------------------------------------------------------------ */

static void expect_refused(struct fake *k, const char *why)
{
	msg_t *m = expect(k, MAELSTROM__ENVELOPE__MSG_HELLO_REPLY);
	assert_false(m->hello_reply->accepted);
	if (!strstr(m->hello_reply->message, why))
		fail_msg("refusal `%s` does not mention `%s`", m->hello_reply->message, why);
	expect_closed(k);
}

static void test_hello_refusal(void **state)
{
	struct fx *f = *state;
	struct fake *good = join(f, MAELSTROM__ROLE__ROLE_CLIENT, 0, "");

	struct fake *k = fake_connect(f);
	send_hello(k, PROTOCOL_VERSION + 1, MAELSTROM__ROLE__ROLE_CLIENT, 0, "");
	expect_refused(k, "protocol version");

	k = fake_connect(f);
	send_hello(k, PROTOCOL_VERSION, MAELSTROM__ROLE__ROLE_UNKNOWN, 0, "");
	expect_refused(k, "unknown role");

	k = fake_connect(f);
	send_hello(k, PROTOCOL_VERSION, MAELSTROM__ROLE__ROLE_WORKER, 0, "w");
	expect_refused(k, "slot");

	/* Anything but Hello first: dropped without a reply. */
	k = fake_connect(f);
	send_job(k, 1, NULL, 0, 0, 0);
	expect_closed(k);
	assert_int_equal(k->n, 0);

	/* The good client is still served. */
	send_job(good, 1, NULL, 0, 0, 0);
	expect_status(good, 1, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	assert_int_equal(status_num(f, NULL, "clients"), 1);
	assert_int_equal(status_num(f, "jobs", "pending"), 1);
}

/* ---- artifacts ---------------------------------------------------------------- */

static void expect_transfer(struct fake *k, const struct digest *d)
{
	msg_t *m = expect(k, MAELSTROM__ENVELOPE__MSG_TRANSFER_ARTIFACT);
	struct digest got;
	assert_int_equal(msg_digest_get(m->transfer_artifact->digest, &got, NULL), 0);
	assert_true(digest_equal(&got, d));
}

struct uploads {
	int ok, failed;
};

static void on_uploaded(void *arg, const struct digest *d, bool ok, const char *message)
{
	struct uploads *u = arg;
	(void)d;
	if (ok)
		u->ok++;
	else
		fprintf(stderr, "upload failed: %s\n", message), u->failed++;
}

static bool uploaded(void *arg)
{
	struct uploads *u = arg;
	return u->ok + u->failed > 0;
}

/* Three jobs of one client and one of another need two missing layers:
 * each is asked for once, from the first client; real uploads release the
 * jobs. */
static void test_artifact_asked_once(void **state)
{
	struct fx *f = *state;
	const char *t1 = "the first layer's bytes", *t2 = "the second layer";
	struct digest l1 = content_digest(t1), l2 = content_digest(t2);
	struct digest both[] = {l1, l2, l1};
	struct fake *a = join(f, MAELSTROM__ROLE__ROLE_CLIENT, 0, "");
	struct fake *b = join(f, MAELSTROM__ROLE__ROLE_CLIENT, 0, "");
	send_job(a, 1, &l1, 1, 0, 0);
	send_job(a, 2, &l1, 1, 0, 0);
	send_job(a, 3, both, 3, 0, 0);
	expect_transfer(a, &l1);
	expect_status(a, 1, MAELSTROM__JOB_STATE__JOB_STATE_WAITING_FOR_ARTIFACTS);
	expect_status(a, 2, MAELSTROM__JOB_STATE__JOB_STATE_WAITING_FOR_ARTIFACTS);
	expect_transfer(a, &l2);
	expect_status(a, 3, MAELSTROM__JOB_STATE__JOB_STATE_WAITING_FOR_ARTIFACTS);
	/* b is not asked: a was. */
	send_job(b, 7, both, 2, 0, 0);
	expect_status(b, 7, MAELSTROM__JOB_STATE__JOB_STATE_WAITING_FOR_ARTIFACTS);
	assert_int_equal(status_num(f, "jobs", "waiting_for_artifacts"), 4);

	/* a uploads from its own store. */
	char root[1100];
	snprintf(root, sizeof(root), "%s/client-cache", f->dir);
	struct store *cs;
	struct err *err = NULL;
	if (store_open(&cs, root, 1u << 30, &err) < 0)
		fail_msg("%s", err_msg(err));
	struct fx cf = {.store = cs};
	struct digest d1 = put_artifact(&cf, t1), d2 = put_artifact(&cf, t2);
	assert_true(digest_equal(&d1, &l1) && digest_equal(&d2, &l2));
	struct uploads u = {0};
	struct artifact_uploader *up = artifact_uploader_new(f->r, f->addr, cs, on_uploaded, &u, &err);
	if (!up)
		fail_msg("%s", err_msg(err));
	artifact_uploader_push(up, &l1);
	expect_status(a, 1, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	expect_status(a, 2, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	pump_until(f, uploaded, &u, "the first upload");
	assert_int_equal(status_num(f, "jobs", "waiting_for_artifacts"), 2);
	artifact_uploader_push(up, &l2);
	expect_status(a, 3, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	expect_status(b, 7, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	assert_int_equal(status_num(f, "jobs", "pending"), 4);
	assert_int_equal(status_num(f, "jobs", "waiting_for_artifacts"), 0);
	assert_int_equal(status_num(f, "stats", "artifacts_received_bytes"),
			 (long long)(strlen(t1) + strlen(t2)));
	assert_true(store_has(f->store, &l1) && store_has(f->store, &l2));

	/* A worker takes them all. */
	struct fake *w = join(f, MAELSTROM__ROLE__ROLE_WORKER, 4, "w");
	for (int i = 0; i < 4; i++)
		expect_enqueue(w, 0);
	assert_int_equal(count_unread(a, MAELSTROM__ENVELOPE__MSG_TRANSFER_ARTIFACT), 0);
	assert_int_equal(count_unread(b, MAELSTROM__ENVELOPE__MSG_TRANSFER_ARTIFACT), 0);
	assert_int_equal(u.failed, 0);
	artifact_uploader_free(up);
	store_free(cs);
}

/* The client asked for an artifact leaves: another that needs it is asked. */
static void test_reask_on_client_loss(void **state)
{
	struct fx *f = *state;
	const char *text = "a shared layer";
	struct digest l = content_digest(text);
	struct fake *a = join(f, MAELSTROM__ROLE__ROLE_CLIENT, 0, "");
	struct fake *b = join(f, MAELSTROM__ROLE__ROLE_CLIENT, 0, "");
	send_job(a, 1, &l, 1, 0, 0);
	expect_transfer(a, &l);
	expect_status(a, 1, MAELSTROM__JOB_STATE__JOB_STATE_WAITING_FOR_ARTIFACTS);
	send_job(b, 1, &l, 1, 0, 0);
	expect_status(b, 1, MAELSTROM__JOB_STATE__JOB_STATE_WAITING_FOR_ARTIFACTS);
	conn_close(a->c, false, "client leaves");
	expect_closed(a);
	expect_transfer(b, &l);
	assert_int_equal(status_num(f, "jobs", "waiting_for_artifacts"), 1);
	struct digest d = put_artifact(f, text);
	broker_artifact_arrived(f->b, &d, strlen(text));
	expect_status(b, 1, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
}

/* ---- dispatch ---------------------------------------------------------------- */

static void test_dispatch_preferred_worker(void **state)
{
	struct fx *f = *state;
	struct fake *w1 = join(f, MAELSTROM__ROLE__ROLE_WORKER, 4, "w1");
	struct fake *w2 = join(f, MAELSTROM__ROLE__ROLE_WORKER, 4, "w2");
	struct fake *c = join(f, MAELSTROM__ROLE__ROLE_CLIENT, 0, "");
	struct digest x = put_artifact(f, "layer x"), y = put_artifact(f, "layer y");
	uint64_t ids[5];
	struct {
		struct digest *layer;
		struct fake *want;
	} steps[] = {
		{&x, w1},   /* both idle: the first registered */
		{&x, w1},   /* w1 holds x, although w2 is idle */
		{&y, w2},   /* nobody holds y: the least loaded */
		{&x, w1},   /* w1 (2/4) holds x; w2 (1/4) does not */
		{NULL, w2}, /* no layers: least loaded */
	};
	for (int i = 0; i < 5; i++) {
		send_job(c, (uint64_t)i + 1, steps[i].layer, steps[i].layer ? 1 : 0, 0, 0);
		expect_status(c, (uint64_t)i + 1, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
		expect_status(c, (uint64_t)i + 1, MAELSTROM__JOB_STATE__JOB_STATE_RUNNING);
		ids[i] = expect_enqueue(steps[i].want, 0);
	}
	assert_int_equal(count_unread(w1, MAELSTROM__ENVELOPE__MSG_ENQUEUE_JOB), 0);
	assert_int_equal(count_unread(w2, MAELSTROM__ENVELOPE__MSG_ENQUEUE_JOB), 0);

	/* JobStarted is accepted; the result goes to the client, with its id. */
	Maelstrom__JobStarted js = MAELSTROM__JOB_STARTED__INIT;
	js.job_id = ids[0];
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_STARTED;
	m.job_started = &js;
	send_msg(w1, &m);
	send_result(w1, ids[0], MAELSTROM__OUTCOME__OUTCOME_EXITED, "hello");
	const Maelstrom__JobResult *r = expect_result(c, 1);
	assert_int_equal(r->outcome, MAELSTROM__OUTCOME__OUTCOME_EXITED);
	assert_int_equal(r->stdout.len, 5);
	assert_memory_equal(r->stdout.data, "hello", 5);
	assert_string_equal(r->worker, "w1");
	assert_false(w1->closed);

	json_t *s = status(f);
	json_t *ws = json_object_get(s, "workers");
	assert_int_equal(json_array_size(ws), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ws, 0), "name")), "w1");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ws, 0), "running")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ws, 1), "running")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(ws, 1), "slots")), 4);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "jobs"), "running")), 4);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "stats"),
							    "jobs_completed")), 1);
	json_decref(s);
}

/* One slot: jobs go one at a time, in queue order. */
static void test_slots_and_order(void **state)
{
	struct fx *f = *state;
	struct fake *w = join(f, MAELSTROM__ROLE__ROLE_WORKER, 1, "w");
	struct fake *c = join(f, MAELSTROM__ROLE__ROLE_CLIENT, 0, "");
	send_job(c, 1, NULL, 0, 0, 0);
	expect_status(c, 1, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	expect_status(c, 1, MAELSTROM__JOB_STATE__JOB_STATE_RUNNING);
	uint64_t bid = expect_enqueue(w, 0);
	struct {
		uint64_t id;
		int32_t prio;
		uint64_t dur;
	} q[] = {{2, 0, 10}, {3, 5, 10}, {4, 0, 0}, {5, 0, 30}, {6, -1, 0}};
	for (size_t i = 0; i < ARRAY_SIZE(q); i++) {
		send_job(c, q[i].id, NULL, 0, q[i].prio, q[i].dur);
		expect_status(c, q[i].id, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	}
	assert_int_equal(count_unread(w, MAELSTROM__ENVELOPE__MSG_ENQUEUE_JOB), 0);
	assert_int_equal(status_num(f, "jobs", "pending"), 5);
	/* Priority, then unknown duration, then longest, then the rest. */
	const uint64_t order[] = {3, 4, 5, 2, 6};
	const int32_t prio[] = {5, 0, 0, 0, -1};
	uint64_t prev = 1;
	for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
		send_result(w, bid, MAELSTROM__OUTCOME__OUTCOME_EXITED, "");
		expect_result(c, prev);
		expect_status(c, order[i], MAELSTROM__JOB_STATE__JOB_STATE_RUNNING);
		bid = expect_enqueue(w, prio[i]);
		prev = order[i];
	}
	send_result(w, bid, MAELSTROM__OUTCOME__OUTCOME_EXITED, "");
	expect_result(c, prev);
	assert_int_equal(status_num(f, "stats", "jobs_completed"), 6);
	assert_int_equal(status_num(f, "jobs", "running"), 0);
}

/* ---- lost peers ------------------------------------------------------------- */

static void test_worker_loss_requeues(void **state)
{
	struct fx *f = *state;
	struct fake *c = join(f, MAELSTROM__ROLE__ROLE_CLIENT, 0, "");
	struct fake *w1 = join(f, MAELSTROM__ROLE__ROLE_WORKER, 1, "w1");
	struct fake *w2 = join(f, MAELSTROM__ROLE__ROLE_WORKER, 1, "w2");
	send_job(c, 1, NULL, 0, 0, 0);
	expect_status(c, 1, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	expect_status(c, 1, MAELSTROM__JOB_STATE__JOB_STATE_RUNNING);
	uint64_t b1 = expect_enqueue(w1, 0);
	send_job(c, 2, NULL, 0, 0, 0);
	expect_status(c, 2, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	expect_status(c, 2, MAELSTROM__JOB_STATE__JOB_STATE_RUNNING);
	uint64_t b2 = expect_enqueue(w2, 0);

	/* w2 reports w1's job: ignored. Then its own. */
	send_result(w2, b1, MAELSTROM__OUTCOME__OUTCOME_EXITED, "wrong");
	send_result(w2, b2, MAELSTROM__OUTCOME__OUTCOME_EXITED, "two");
	const Maelstrom__JobResult *r = expect_result(c, 2);
	assert_memory_equal(r->stdout.data, "two", 3);
	assert_int_equal(status_num(f, "jobs", "running"), 1);
	/* A repeated result is ignored too. */
	send_result(w2, b2, MAELSTROM__OUTCOME__OUTCOME_EXITED, "again");

	/* w1 goes: job 1 is requeued, under the same id, and lands on w2. */
	conn_close(w1->c, false, "worker leaves");
	expect_closed(w1);
	expect_status(c, 1, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	expect_status(c, 1, MAELSTROM__JOB_STATE__JOB_STATE_RUNNING);
	assert_int_equal(expect_enqueue(w2, 0), b1);
	send_result(w2, b1, MAELSTROM__OUTCOME__OUTCOME_EXITED, "one");
	r = expect_result(c, 1);
	assert_memory_equal(r->stdout.data, "one", 3);
	assert_int_equal(r->worker[0] != '\0', 1);
	settle(f);
	assert_int_equal(count_unread(c, MAELSTROM__ENVELOPE__MSG_JOB_RESULT), 0);
	assert_int_equal(status_num(f, "stats", "jobs_completed"), 2);
	assert_int_equal(status_num(f, "jobs", "running"), 0);
	json_t *s = status(f);
	assert_int_equal(json_array_size(json_object_get(s, "workers")), 1);
	json_decref(s);
}

static void test_client_loss_cancels(void **state)
{
	struct fx *f = *state;
	struct fake *w = join(f, MAELSTROM__ROLE__ROLE_WORKER, 1, "w");
	struct fake *c = join(f, MAELSTROM__ROLE__ROLE_CLIENT, 0, "");
	struct fake *d = join(f, MAELSTROM__ROLE__ROLE_CLIENT, 0, "");
	send_job(c, 1, NULL, 0, 0, 0);
	expect_status(c, 1, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	expect_status(c, 1, MAELSTROM__JOB_STATE__JOB_STATE_RUNNING);
	uint64_t b1 = expect_enqueue(w, 0);
	send_job(c, 2, NULL, 0, 0, 0);
	expect_status(c, 2, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	conn_close(c->c, false, "client leaves");
	expect_closed(c);
	msg_t *m = expect(w, MAELSTROM__ENVELOPE__MSG_CANCEL_JOB);
	assert_int_equal(m->cancel_job->job_id, b1);
	assert_int_equal(status_num(f, "jobs", "pending"), 0);
	assert_int_equal(status_num(f, NULL, "clients"), 1);

	/* The canceled job holds the slot until the worker answers. */
	send_job(d, 9, NULL, 0, 0, 0);
	expect_status(d, 9, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	assert_int_equal(count_unread(w, MAELSTROM__ENVELOPE__MSG_ENQUEUE_JOB), 0);
	assert_int_equal(status_num(f, "jobs", "running"), 1);
	send_result(w, b1, MAELSTROM__OUTCOME__OUTCOME_CANCELED, "");
	expect_status(d, 9, MAELSTROM__JOB_STATE__JOB_STATE_RUNNING);
	uint64_t b9 = expect_enqueue(w, 0);
	assert_true(b9 != b1);
	settle(f);
	assert_int_equal(count_unread(w, MAELSTROM__ENVELOPE__MSG_ENQUEUE_JOB), 0);
	assert_int_equal(count_unread(d, MAELSTROM__ENVELOPE__MSG_JOB_RESULT), 0);
}

static void test_client_cancel(void **state)
{
	struct fx *f = *state;
	struct fake *w = join(f, MAELSTROM__ROLE__ROLE_WORKER, 1, "w");
	struct fake *c = join(f, MAELSTROM__ROLE__ROLE_CLIENT, 0, "");
	send_job(c, 1, NULL, 0, 0, 0);
	expect_status(c, 1, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	expect_status(c, 1, MAELSTROM__JOB_STATE__JOB_STATE_RUNNING);
	uint64_t b1 = expect_enqueue(w, 0);
	send_job(c, 2, NULL, 0, 0, 0);
	expect_status(c, 2, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	/* Pending: answered at once. */
	send_cancel(c, 2);
	assert_int_equal(expect_result(c, 2)->outcome, MAELSTROM__OUTCOME__OUTCOME_CANCELED);
	/* Running: canceled on the worker, whose answer is forwarded. */
	send_cancel(c, 1);
	assert_int_equal(expect(w, MAELSTROM__ENVELOPE__MSG_CANCEL_JOB)->cancel_job->job_id, b1);
	send_result(w, b1, MAELSTROM__OUTCOME__OUTCOME_CANCELED, "partial");
	assert_int_equal(expect_result(c, 1)->outcome, MAELSTROM__OUTCOME__OUTCOME_CANCELED);
	/* Waiting for an artifact: answered at once. */
	struct digest missing = content_digest("not there");
	send_cancel(c, 77);   /* unknown: ignored */
	send_job(c, 3, &missing, 1, 0, 0);
	expect_transfer(c, &missing);
	expect_status(c, 3, MAELSTROM__JOB_STATE__JOB_STATE_WAITING_FOR_ARTIFACTS);
	send_cancel(c, 3);
	assert_int_equal(expect_result(c, 3)->outcome, MAELSTROM__OUTCOME__OUTCOME_CANCELED);
	assert_int_equal(status_num(f, "jobs", "waiting_for_artifacts"), 0);
	/* A canceled job's id can be used again. */
	send_job(c, 2, NULL, 0, 0, 0);
	expect_status(c, 2, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	expect_status(c, 2, MAELSTROM__JOB_STATE__JOB_STATE_RUNNING);
	assert_false(c->closed);
}

/* ---- bad peers --------------------------------------------------------------- */

static void test_bad_frames_disconnect_only_that_peer(void **state)
{
	struct fx *f = *state;
	struct fake *w = join(f, MAELSTROM__ROLE__ROLE_WORKER, 1, "w");
	struct fake *c = join(f, MAELSTROM__ROLE__ROLE_CLIENT, 0, "");
	send_job(c, 1, NULL, 0, 0, 0);
	expect_status(c, 1, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	expect_status(c, 1, MAELSTROM__JOB_STATE__JOB_STATE_RUNNING);
	uint64_t b1 = expect_enqueue(w, 0);

	/* Garbage in a well-formed frame. */
	struct fake *k = fake_connect(f);
	conn_send_raw(k->c, "\0\0\0\x08\xff\xff\xff\xff\xff\xff\xff\xff", 12);
	expect_closed(k);
	assert_int_equal(k->n, 0);
	/* A length over the limit. */
	k = fake_connect(f);
	conn_send_raw(k->c, "\xff\xff\xff\xff", 4);
	expect_closed(k);
	/* Messages a role may not send. */
	k = join(f, MAELSTROM__ROLE__ROLE_CLIENT, 0, "");
	send_result(k, b1, MAELSTROM__OUTCOME__OUTCOME_EXITED, "forged");
	expect_closed(k);
	k = join(f, MAELSTROM__ROLE__ROLE_MONITOR, 0, "");
	send_hello(k, PROTOCOL_VERSION, MAELSTROM__ROLE__ROLE_MONITOR, 0, "");
	expect_closed(k);
	k = join(f, MAELSTROM__ROLE__ROLE_WORKER, 2, "bad");
	send_job(k, 5, NULL, 0, 0, 0);
	expect_closed(k);
	/* A client reusing a live job id. */
	k = join(f, MAELSTROM__ROLE__ROLE_CLIENT, 0, "");
	send_job(k, 5, NULL, 0, 0, 0);
	send_job(k, 5, NULL, 0, 0, 0);
	expect_closed(k);
	/* A job with a malformed digest is answered, not disconnected. */
	Maelstrom__ResolvedJob rj = MAELSTROM__RESOLVED_JOB__INIT;
	ProtobufCBinaryData bad = {3, (uint8_t *)"abc"};
	rj.layers = &bad;
	rj.n_layers = 1;
	rj.program = "/bin/true";
	Maelstrom__JobRequest jr = MAELSTROM__JOB_REQUEST__INIT;
	jr.job_id = 2;
	jr.job = &rj;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_REQUEST;
	m.job_request = &jr;
	send_msg(c, &m);
	const Maelstrom__JobResult *r = expect_result(c, 2);
	assert_int_equal(r->outcome, MAELSTROM__OUTCOME__OUTCOME_EXECUTION_ERROR);
	assert_non_null(strstr(r->message, "layers[0]"));

	/* The others were served throughout. */
	assert_false(c->closed);
	assert_false(w->closed);
	send_result(w, b1, MAELSTROM__OUTCOME__OUTCOME_EXITED, "fine");
	assert_memory_equal(expect_result(c, 1)->stdout.data, "fine", 4);
	assert_int_equal(status_num(f, NULL, "clients"), 1);
	json_t *s = status(f);
	assert_int_equal(json_array_size(json_object_get(s, "workers")), 1);
	json_decref(s);
}

/* ---- monitor, HTTP, cache ------------------------------------------------------ */

static void watchdog(struct reactor *r, void *arg)
{
	*(bool *)arg = true;
	reactor_stop(r);
}

static void test_monitor(void **state)
{
	struct fx *f = *state;
	struct fake *w = join(f, MAELSTROM__ROLE__ROLE_WORKER, 3, "wname");
	struct fake *c = join(f, MAELSTROM__ROLE__ROLE_CLIENT, 0, "");
	struct fake *mon = join(f, MAELSTROM__ROLE__ROLE_MONITOR, 0, "");
	send_job(c, 1, NULL, 0, 0, 0);
	expect_status(c, 1, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	expect_status(c, 1, MAELSTROM__JOB_STATE__JOB_STATE_RUNNING);
	expect_enqueue(w, 0);
	send_empty(mon, MAELSTROM__ENVELOPE__MSG_STATUS_REQUEST);
	msg_t *m = expect(mon, MAELSTROM__ENVELOPE__MSG_STATUS_REPLY);
	json_error_t e;
	json_t *s = json_loads(m->status_reply->json, 0, &e);
	assert_non_null(s);
	json_t *w0 = json_array_get(json_object_get(s, "workers"), 0);
	assert_string_equal(json_string_value(json_object_get(w0, "name")), "wname");
	assert_true(strlen(json_string_value(json_object_get(w0, "address"))) > 0);
	assert_int_equal(json_integer_value(json_object_get(w0, "slots")), 3);
	assert_int_equal(json_integer_value(json_object_get(w0, "running")), 1);
	assert_int_equal(json_integer_value(json_object_get(s, "clients")), 1);
	json_t *cache = json_object_get(s, "cache");
	assert_int_equal(json_integer_value(json_object_get(cache, "cache_size")), 1 << 30);
	assert_true(json_is_integer(json_object_get(cache, "bytes_used")));
	json_t *stats = json_object_get(s, "stats");
	assert_int_equal(json_integer_value(json_object_get(stats, "jobs_submitted")), 1);
	assert_true(json_is_integer(json_object_get(stats, "uptime_s")));
	assert_true(json_is_integer(json_object_get(json_object_get(s, "jobs"),
						    "waiting_for_artifacts")));
	json_decref(s);

	/* StopRequest stops the reactor (the watchdog would otherwise). */
	send_empty(mon, MAELSTROM__ENVELOPE__MSG_STOP_REQUEST);
	bool fired = false;
	uint64_t t = reactor_timer_add(f->r, 10000000000ull, watchdog, &fired);
	struct err *err = NULL;
	assert_int_equal(reactor_run(f->r, &err), 0);
	reactor_timer_cancel(f->r, t);
	assert_false(fired);
}

static void test_http_handler(void **state)
{
	struct fx *f = *state;
	struct http_request req = {.method = "GET", .target = "/api/status", .path = "/api/status",
				   .query = "", .minor_version = 1};
	struct http_response res = {.status = 200, .body = BUF_INIT, .headers = BUF_INIT};
	broker_http_handle(f->b, &req, &res);
	assert_int_equal(res.status, 200);
	assert_non_null(strstr(res.content_type, "application/json"));
	json_error_t e;
	json_t *s = json_loads(res.body.data, 0, &e);
	assert_non_null(s);
	assert_true(json_is_array(json_object_get(s, "workers")));
	json_decref(s);
	buf_release(&res.body);
	buf_release(&res.headers);

	req.path = req.target = "/";
	res = (struct http_response){.status = 200, .body = BUF_INIT, .headers = BUF_INIT};
	broker_http_handle(f->b, &req, &res);
	assert_int_equal(res.status, 200);
	assert_non_null(strstr(res.content_type, "text/html"));
	assert_non_null(strstr(res.body.data, "/api/status"));
	buf_release(&res.body);
	buf_release(&res.headers);

	req.path = req.target = "/nope";
	res = (struct http_response){.status = 200, .body = BUF_INIT, .headers = BUF_INIT};
	broker_http_handle(f->b, &req, &res);
	assert_int_equal(res.status, 404);
	buf_release(&res.body);
	buf_release(&res.headers);
}

/* Layers of running jobs stay while the cache is over its size; once the
 * job completes they are evicted. */
static void test_pins_and_eviction(void **state)
{
	struct fx *f = *state;
	struct fake *w = join(f, MAELSTROM__ROLE__ROLE_WORKER, 2, "w");
	struct fake *c = join(f, MAELSTROM__ROLE__ROLE_CLIENT, 0, "");
	struct digest x = put_artifact(f, "a layer much bigger than ten bytes");
	struct digest y = put_artifact(f, "another layer bigger than ten bytes");
	send_job(c, 1, &x, 1, 0, 0);
	expect_status(c, 1, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	expect_status(c, 1, MAELSTROM__JOB_STATE__JOB_STATE_RUNNING);
	uint64_t b1 = expect_enqueue(w, 0);
	send_job(c, 2, NULL, 0, 0, 0);
	expect_status(c, 2, MAELSTROM__JOB_STATE__JOB_STATE_PENDING);
	expect_status(c, 2, MAELSTROM__JOB_STATE__JOB_STATE_RUNNING);
	uint64_t b2 = expect_enqueue(w, 0);
	send_result(w, b2, MAELSTROM__OUTCOME__OUTCOME_EXITED, "");
	expect_result(c, 2);
	assert_true(store_has(f->store, &x));
	assert_false(store_has(f->store, &y));
	send_result(w, b1, MAELSTROM__OUTCOME__OUTCOME_EXITED, "");
	expect_result(c, 1);
	assert_false(store_has(f->store, &x));
}

int main(void)
{
	log_set_level(getenv("TEST_BROKER_LOG") ? LOG_DEBUG : LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hello_refusal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_artifact_asked_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reask_on_client_loss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_preferred_worker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots_and_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_worker_loss_requeues, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_loss_cancels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_cancel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_frames_disconnect_only_that_peer, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_monitor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_handler, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pins_and_eviction, setup_tiny_cache, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
