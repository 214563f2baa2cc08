/* Unit tests for net/broker/broker: a real broker on loopback, driven by
 * fake clients, workers and monitors built on net/conn: workers and clients
 * that leave or cancel, peers that send bad frames, the monitor, the HTTP
 * status handler and cache pins and eviction (hello, artifacts and dispatch
 * are in test_broker.c; the shared fixture is in broker_fixture.h). */
#include "broker_fixture.h"

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
