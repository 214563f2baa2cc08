/* Unit tests for net/broker/broker: a real broker on loopback, driven by
 * fake clients, workers and monitors built on net/conn: hello, artifacts
 * asked for once, dispatch order and slots (lost and bad peers, the monitor,
 * HTTP and the cache are in test_broker_peers.c; the shared fixture is in
 * broker_fixture.h). */
#include "broker_fixture.h"

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

int main(void)
{
	log_set_level(getenv("TEST_BROKER_LOG") ? LOG_DEBUG : LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hello_refusal, setup, teardown),
		cmocka_unit_test_setup_teardown(test_artifact_asked_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reask_on_client_loss, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_preferred_worker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots_and_order, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
