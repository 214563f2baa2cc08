/* Unit tests for net/msg: envelopes, conversions, validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "net/frame.h"
#include "net/msg.h"

/* Encodes m as a frame after some unrelated bytes, takes the frame back out
 * with a decoder and decodes it. */
static msg_t *round_trip(const msg_t *m)
{
	struct buf wire = BUF_INIT;
	buf_append(&wire, "xy", 2);
	msg_encode_frame(&wire, m);
	assert_memory_equal(wire.data, "xy", 2);   /* appended, not overwritten */
	assert_int_equal(wire.data[wire.len], '\0');

	struct frame_decoder d;
	frame_decoder_init(&d, FRAME_DEFAULT_LIMIT);
	frame_decoder_feed(&d, wire.data + 2, wire.len - 2);
	const uint8_t *body;
	size_t len;
	struct err *e = NULL;
	assert_int_equal(frame_decoder_next(&d, &body, &len, &e), 1);
	assert_int_equal(len, wire.len - 2 - FRAME_HEADER_SIZE);
	assert_int_equal(frame_decoder_pending(&d), 0);
	msg_t *out = msg_decode(body, len, &e);
	if (!out)
		fail_msg("decode failed: %s", err_msg(e));
	assert_int_equal(out->msg_case, m->msg_case);
	frame_decoder_release(&d);
	buf_release(&wire);
	return out;
}

/* Encodes m and expects decoding to fail with exactly `want`. */
static void expect_decode_error(const msg_t *m, const char *want)
{
	struct buf wire = BUF_INIT;
	msg_encode_frame(&wire, m);
	struct err *e = NULL;
	msg_t *out = msg_decode((const uint8_t *)wire.data + FRAME_HEADER_SIZE,
				wire.len - FRAME_HEADER_SIZE, &e);
	assert_null(out);
	assert_non_null(e);
	assert_string_equal(err_msg(e), want);
	err_free(&e);
	buf_release(&wire);
}

static struct digest sample_digest(uint8_t seed)
{
	struct digest d;
	for (size_t i = 0; i < sizeof d.bytes; i++)
		d.bytes[i] = (uint8_t)(seed * 16 + i);
	return d;
}

/* ---- the control messages ------------------------------------------------ */

static void test_hello_and_reply(void **state)
{
	(void)state;
	Maelstrom__Hello h = MAELSTROM__HELLO__INIT;
	h.protocol_version = PROTOCOL_VERSION;
	h.role = MAELSTROM__ROLE__ROLE_WORKER;
	h.slots = 8;
	h.name = "worker-1";
	msg_t m;
	msg_init(&m);
	assert_string_equal(msg_name(&m), "(none)");
	m.msg_case = MAELSTROM__ENVELOPE__MSG_HELLO;
	m.hello = &h;
	assert_string_equal(msg_name(&m), "hello");
	msg_t *got = round_trip(&m);
	assert_string_equal(msg_name(got), "hello");
	assert_int_equal(got->hello->protocol_version, PROTOCOL_VERSION);
	assert_int_equal(got->hello->role, MAELSTROM__ROLE__ROLE_WORKER);
	assert_int_equal(got->hello->slots, 8);
	assert_string_equal(got->hello->name, "worker-1");
	msg_free(got);

	Maelstrom__HelloReply r = MAELSTROM__HELLO_REPLY__INIT;
	r.accepted = false;
	r.message = "protocol version 7 is not supported";
	r.protocol_version = PROTOCOL_VERSION;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_HELLO_REPLY;
	m.hello_reply = &r;
	got = round_trip(&m);
	assert_string_equal(msg_name(got), "hello_reply");
	assert_false(got->hello_reply->accepted);
	assert_string_equal(got->hello_reply->message, "protocol version 7 is not supported");
	assert_int_equal(got->hello_reply->protocol_version, PROTOCOL_VERSION);
	msg_free(got);
}

static void test_job_control_messages(void **state)
{
	(void)state;
	msg_t m, *got;

	Maelstrom__CancelJob c = MAELSTROM__CANCEL_JOB__INIT;
	c.job_id = UINT64_MAX;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_CANCEL_JOB;
	m.cancel_job = &c;
	got = round_trip(&m);
	assert_string_equal(msg_name(got), "cancel_job");
	assert_true(got->cancel_job->job_id == UINT64_MAX);
	msg_free(got);

	Maelstrom__JobStatusUpdate u = MAELSTROM__JOB_STATUS_UPDATE__INIT;
	u.job_id = 9;
	u.state = MAELSTROM__JOB_STATE__JOB_STATE_RUNNING;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_STATUS_UPDATE;
	m.job_status_update = &u;
	got = round_trip(&m);
	assert_string_equal(msg_name(got), "job_status_update");
	assert_int_equal(got->job_status_update->job_id, 9);
	assert_int_equal(got->job_status_update->state, MAELSTROM__JOB_STATE__JOB_STATE_RUNNING);
	msg_free(got);

	Maelstrom__JobStarted s = MAELSTROM__JOB_STARTED__INIT;
	s.job_id = 12;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_STARTED;
	m.job_started = &s;
	got = round_trip(&m);
	assert_string_equal(msg_name(got), "job_started");
	assert_int_equal(got->job_started->job_id, 12);
	msg_free(got);
}

static void test_monitor_messages(void **state)
{
	(void)state;
	msg_t m, *got;

	Maelstrom__StatusRequest sr = MAELSTROM__STATUS_REQUEST__INIT;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_STATUS_REQUEST;
	m.status_request = &sr;
	got = round_trip(&m);   /* an empty message is still "set" */
	assert_string_equal(msg_name(got), "status_request");
	assert_non_null(got->status_request);
	msg_free(got);

	Maelstrom__StatusReply rep = MAELSTROM__STATUS_REPLY__INIT;
	rep.json = "{\"workers\":[]}";
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_STATUS_REPLY;
	m.status_reply = &rep;
	got = round_trip(&m);
	assert_string_equal(msg_name(got), "status_reply");
	assert_string_equal(got->status_reply->json, "{\"workers\":[]}");
	msg_free(got);

	Maelstrom__StopRequest stop = MAELSTROM__STOP_REQUEST__INIT;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_STOP_REQUEST;
	m.stop_request = &stop;
	got = round_trip(&m);
	assert_string_equal(msg_name(got), "stop_request");
	msg_free(got);
}

static void test_artifact_messages(void **state)
{
	(void)state;
	struct digest d = sample_digest(3), back;
	msg_t m, *got;

	Maelstrom__TransferArtifact t = MAELSTROM__TRANSFER_ARTIFACT__INIT;
	t.digest = msg_digest(&d);
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_TRANSFER_ARTIFACT;
	m.transfer_artifact = &t;
	got = round_trip(&m);
	assert_string_equal(msg_name(got), "transfer_artifact");
	assert_int_equal(msg_digest_get(got->transfer_artifact->digest, &back, NULL), 0);
	assert_true(digest_equal(&d, &back));
	msg_free(got);

	Maelstrom__ArtifactHeader h = MAELSTROM__ARTIFACT_HEADER__INIT;
	h.digest = msg_digest(&d);
	h.size = 1ull << 40;
	h.found = true;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER;
	m.artifact_header = &h;
	got = round_trip(&m);
	assert_string_equal(msg_name(got), "artifact_header");
	assert_int_equal(msg_digest_get(got->artifact_header->digest, &back, NULL), 0);
	assert_true(digest_equal(&d, &back));
	assert_true(got->artifact_header->size == 1ull << 40);
	assert_true(got->artifact_header->found);
	msg_free(got);

	Maelstrom__ArtifactAck a = MAELSTROM__ARTIFACT_ACK__INIT;
	a.digest = msg_digest(&d);
	a.ok = false;
	a.message = "digest mismatch";
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_ARTIFACT_ACK;
	m.artifact_ack = &a;
	got = round_trip(&m);
	assert_string_equal(msg_name(got), "artifact_ack");
	assert_false(got->artifact_ack->ok);
	assert_string_equal(got->artifact_ack->message, "digest mismatch");
	msg_free(got);

	Maelstrom__FetchArtifact f = MAELSTROM__FETCH_ARTIFACT__INIT;
	f.digest = msg_digest(&d);
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_FETCH_ARTIFACT;
	m.fetch_artifact = &f;
	got = round_trip(&m);
	assert_string_equal(msg_name(got), "fetch_artifact");
	assert_int_equal(msg_digest_get(got->fetch_artifact->digest, &back, NULL), 0);
	assert_true(digest_equal(&d, &back));
	msg_free(got);
}

static void test_digest_length(void **state)
{
	(void)state;
	struct digest d = sample_digest(1), out = sample_digest(2);
	ProtobufCBinaryData b = msg_digest(&d);
	assert_int_equal(b.len, 16);
	assert_ptr_equal(b.data, d.bytes);
	b.len = 15;
	struct err *e = NULL;
	assert_int_equal(msg_digest_get(b, &out, &e), -1);
	assert_string_equal(err_msg(e), "digest must be 16 bytes, got 15");
	err_free(&e);
	struct digest two = sample_digest(2);
	assert_true(digest_equal(&out, &two));   /* untouched on error */
}

/* ---- decoding errors ------------------------------------------------------ */

static void test_decode_errors(void **state)
{
	(void)state;
	struct err *e = NULL;

	/* Not protobuf at all (a truncated varint). */
	assert_null(msg_decode((const uint8_t *)"\xff\xff\xff", 3, &e));
	assert_string_equal(err_msg(e),
			    "malformed message: 3 bytes that do not parse as an Envelope");
	err_free(&e);

	/* A length-delimited field running past the end. */
	assert_null(msg_decode((const uint8_t *)"\x0a\x10\x08", 3, &e));
	assert_non_null(strstr(err_msg(e), "malformed message: "));
	err_free(&e);

	/* Empty: a valid Envelope with nothing set. */
	assert_null(msg_decode((const uint8_t *)"", 0, &e));
	assert_string_equal(err_msg(e), "malformed message: the envelope holds no message");
	err_free(&e);

	/* Only an unknown field (number 20, varint 5): a newer peer's type. */
	assert_null(msg_decode((const uint8_t *)"\xa0\x01\x05", 3, &e));
	assert_string_equal(err_msg(e), "malformed message: unknown message type (field 20; is "
					"the peer a newer version?)");
	err_free(&e);

	/* Field number 0, spelled in two bytes (80 00), which protobuf-c would
	 * accept but not re-encode faithfully: at the top and nested in
	 * job_request.job.mounts[0]. */
	assert_null(msg_decode((const uint8_t *)"\x80\x00\x00", 3, &e));
	assert_string_equal(err_msg(e),
			    "malformed message: maelstrom.Envelope holds a field numbered 0");
	err_free(&e);
	static const uint8_t nested[] = { 0x1a, 0x09, 0x12, 0x07, 0x12, 0x05,
					  0x08, 0x01, 0x80, 0x00, 0x00 };
	assert_null(msg_decode(nested, sizeof nested, &e));
	assert_string_equal(err_msg(e), "malformed message: maelstrom.Mount holds a field numbered 0");
	err_free(&e);
	/* The same without the bad field decodes. */
	static const uint8_t fine[] = { 0x1a, 0x06, 0x12, 0x04, 0x12, 0x02, 0x08, 0x01 };
	msg_t *ok = msg_decode(fine, sizeof fine, &e);
	assert_non_null(ok);
	assert_int_equal(ok->job_request->job->n_mounts, 1);
	assert_int_equal(ok->job_request->job->mounts[0]->kind, MAELSTROM__MOUNT_KIND__MOUNT_DEVICES);
	msg_free(ok);

	msg_t m;
	Maelstrom__JobRequest rq = MAELSTROM__JOB_REQUEST__INIT;
	rq.job_id = 1;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_REQUEST;
	m.job_request = &rq;
	expect_decode_error(&m, "malformed message: job_request.job is missing");

	Maelstrom__EnqueueJob eq = MAELSTROM__ENQUEUE_JOB__INIT;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_ENQUEUE_JOB;
	m.enqueue_job = &eq;
	expect_decode_error(&m, "malformed message: enqueue_job.job is missing");

	/* proto3 enums are open: protobuf-c keeps unknown numbers, we refuse. */
	Maelstrom__Hello h = MAELSTROM__HELLO__INIT;
	h.role = (Maelstrom__Role)99;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_HELLO;
	m.hello = &h;
	expect_decode_error(&m, "malformed message: hello.role: unknown value 99");

	Maelstrom__JobStatusUpdate u = MAELSTROM__JOB_STATUS_UPDATE__INIT;
	u.state = (Maelstrom__JobState)42;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_STATUS_UPDATE;
	m.job_status_update = &u;
	expect_decode_error(&m, "malformed message: job_status_update.state: unknown value 42");

	Maelstrom__JobResult jr = MAELSTROM__JOB_RESULT__INIT;
	jr.outcome = (Maelstrom__Outcome)-3;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_RESULT;
	m.job_result = &jr;
	expect_decode_error(&m, "malformed message: job_result.outcome: unknown value -3");

	msg_free(NULL);   /* safe */
}

/* ---- resolved jobs -------------------------------------------------------- */

static const struct digest layers3[3] = {
	{ { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 } },
	{ { 0 } },
	{ { 0xff, 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xaa } },
};

static struct mount_spec sample_mounts[] = {
	{ .kind = MOUNT_PROC, .mount_point = "/proc" },
	{ .kind = MOUNT_TMP, .mount_point = "/tmp" },
	{ .kind = MOUNT_DEVICES, .devices = DEVICE_NULL | DEVICE_ZERO | DEVICE_URANDOM },
	{ .kind = MOUNT_BIND, .mount_point = "/mnt/data", .local_path = "data", .read_only = true },
	{ .kind = MOUNT_DEVPTS, .mount_point = "/dev/pts" },
	{ .kind = MOUNT_MQUEUE, .mount_point = "/dev/mqueue" },
	{ .kind = MOUNT_SYS, .mount_point = "/sys" },
};

static const char *const sample_args[] = { "-c", "echo \"hi\"", "" };
static const char *const sample_env[] = { "PATH=/bin:/usr/bin", "EMPTY=", "X==y", NULL };

static struct worker_job sample_job(void)
{
	return (struct worker_job){
		.layers = layers3,
		.n_layers = 3,
		.mounts = sample_mounts,
		.n_mounts = ARRAY_SIZE(sample_mounts),
		.network = NETWORK_LOOPBACK,
		.writable_root = true,
		.user = 1000,
		.group = 100,
		.working_directory = "/work",
		.program = "sh",
		.arguments = sample_args,
		.n_arguments = 3,
		.envp = sample_env,
		.timeout_s = 30,
		.bind_base_dir = "/project",
	};
}

static void test_wire_job_round_trip(void **state)
{
	(void)state;
	struct worker_job job = sample_job();
	Maelstrom__ResolvedJob *rj = msg_resolved_job_new(&job);
	rj->priority = -5;
	rj->estimated_duration_ms = 1234;
	Maelstrom__EnqueueJob eq = MAELSTROM__ENQUEUE_JOB__INIT;
	eq.job_id = 42;
	eq.job = rj;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_ENQUEUE_JOB;
	m.enqueue_job = &eq;
	msg_t *got = round_trip(&m);
	msg_resolved_job_free(rj);
	assert_int_equal(got->enqueue_job->job_id, 42);
	assert_int_equal(got->enqueue_job->job->priority, -5);
	assert_int_equal(got->enqueue_job->job->estimated_duration_ms, 1234);

	struct wire_job wj;
	struct err *e = NULL;
	if (msg_wire_job_from(got->enqueue_job->job, &wj, &e) < 0)
		fail_msg("%s", err_msg(e));
	msg_free(got);   /* the wire job must not point into the message */

	const struct worker_job *w = &wj.job;
	assert_int_equal(w->n_layers, 3);
	assert_memory_equal(w->layers, layers3, sizeof layers3);
	assert_int_equal(w->n_mounts, ARRAY_SIZE(sample_mounts));
	for (size_t i = 0; i < ARRAY_SIZE(sample_mounts); i++) {
		const struct mount_spec *a = &sample_mounts[i], *b = &w->mounts[i];
		assert_int_equal(a->kind, b->kind);
		if (a->mount_point)
			assert_string_equal(a->mount_point, b->mount_point);
		else
			assert_null(b->mount_point);
		if (a->local_path)
			assert_string_equal(a->local_path, b->local_path);
		else
			assert_null(b->local_path);
		assert_int_equal(a->read_only, b->read_only);
		assert_int_equal(a->devices, b->devices);
	}
	assert_int_equal(w->network, NETWORK_LOOPBACK);
	assert_true(w->writable_root);
	assert_int_equal(w->user, 1000);
	assert_int_equal(w->group, 100);
	assert_string_equal(w->working_directory, "/work");
	assert_string_equal(w->program, "sh");
	assert_int_equal(w->n_arguments, 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(w->arguments[i], sample_args[i]);
	assert_null(w->arguments[3]);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(w->envp[i], sample_env[i]);
	assert_null(w->envp[3]);
	assert_int_equal(w->timeout_s, 30);
	assert_null(w->bind_base_dir);   /* not on the wire */

	msg_wire_job_release(&wj);
	assert_null(wj.job.program);
	msg_wire_job_release(&wj);   /* twice is fine */
}

static void test_wire_job_minimal(void **state)
{
	(void)state;
	struct worker_job job = { .program = "true" };   /* no layers, envp NULL, wd NULL */
	Maelstrom__ResolvedJob *rj = msg_resolved_job_new(&job);
	Maelstrom__JobRequest rq = MAELSTROM__JOB_REQUEST__INIT;
	rq.job_id = 7;
	rq.job = rj;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_REQUEST;
	m.job_request = &rq;
	assert_string_equal(msg_name(&m), "job_request");
	msg_t *got = round_trip(&m);
	msg_resolved_job_free(rj);
	msg_resolved_job_free(NULL);

	struct wire_job wj;
	assert_int_equal(msg_wire_job_from(got->job_request->job, &wj, NULL), 0);
	msg_free(got);
	assert_int_equal(wj.job.n_layers, 0);
	assert_int_equal(wj.job.n_mounts, 0);
	assert_int_equal(wj.job.n_arguments, 0);
	assert_non_null(wj.job.envp);
	assert_null(wj.job.envp[0]);
	assert_null(wj.job.working_directory);   /* "" on the wire: "/" */
	assert_string_equal(wj.job.program, "true");
	assert_int_equal(wj.job.network, NETWORK_DISABLED);
	assert_false(wj.job.writable_root);
	msg_wire_job_release(&wj);
}

/* A valid ResolvedJob on the stack, to break one field at a time. */
struct job_fixture {
	Maelstrom__ResolvedJob rj;
	ProtobufCBinaryData layers[3];
	uint8_t digests[3][16];
	Maelstrom__Mount mounts[4];
	Maelstrom__Mount *mount_ptrs[4];
	char *env[2];
};

static void fixture_init(struct job_fixture *f)
{
	memset(f, 0, sizeof *f);
	maelstrom__resolved_job__init(&f->rj);
	for (size_t i = 0; i < 3; i++) {
		f->layers[i].len = 16;
		f->layers[i].data = f->digests[i];
	}
	f->rj.n_layers = 3;
	f->rj.layers = f->layers;
	static const Maelstrom__MountKind kinds[4] = {
		MAELSTROM__MOUNT_KIND__MOUNT_TMP, MAELSTROM__MOUNT_KIND__MOUNT_PROC,
		MAELSTROM__MOUNT_KIND__MOUNT_DEVICES, MAELSTROM__MOUNT_KIND__MOUNT_BIND
	};
	static char *points[4] = { "/tmp", "/proc", "", "/data" };
	for (size_t i = 0; i < 4; i++) {
		maelstrom__mount__init(&f->mounts[i]);
		f->mounts[i].kind = kinds[i];
		f->mounts[i].mount_point = points[i];
		f->mount_ptrs[i] = &f->mounts[i];
	}
	f->mounts[2].devices = DEVICE_FULL | DEVICE_TTY;
	f->mounts[3].local_path = "host/data";
	f->rj.n_mounts = 4;
	f->rj.mounts = f->mount_ptrs;
	f->rj.program = "/bin/test";
	f->rj.working_directory = "/";
	f->env[0] = "A=1";
	f->env[1] = "B=2";
	f->rj.n_environment = 2;
	f->rj.environment = f->env;
}

static void expect_job_error(const Maelstrom__ResolvedJob *rj, const char *want)
{
	struct wire_job wj;
	memset(&wj, 0xa5, sizeof wj);   /* must be overwritten, not trusted */
	struct err *e = NULL;
	assert_int_equal(msg_wire_job_from(rj, &wj, &e), -1);
	assert_non_null(e);
	assert_string_equal(err_msg(e), want);
	err_free(&e);
	assert_null(wj.layers);
	assert_null(wj.program);
	assert_null(wj.job.program);
	msg_wire_job_release(&wj);   /* harmless on the zeroed result */
}

static void test_wire_job_validation(void **state)
{
	(void)state;
	struct job_fixture f;
	struct wire_job wj;

	fixture_init(&f);
	assert_int_equal(msg_wire_job_from(&f.rj, &wj, NULL), 0);   /* the fixture is valid */
	assert_string_equal(wj.job.working_directory, "/");
	assert_null(wj.job.mounts[2].mount_point);
	msg_wire_job_release(&wj);

	expect_job_error(NULL, "job: missing");

	fixture_init(&f);
	f.layers[2].len = 5;
	expect_job_error(&f.rj, "job.layers[2]: digest must be 16 bytes, got 5");

	fixture_init(&f);
	f.layers[0].len = 0;
	f.layers[0].data = NULL;
	expect_job_error(&f.rj, "job.layers[0]: digest must be 16 bytes, got 0");

	fixture_init(&f);
	f.mounts[0].mount_point = "tmp";
	expect_job_error(&f.rj, "job.mounts[0].mount_point: must be absolute, got \"tmp\"");

	fixture_init(&f);
	f.mounts[1].mount_point = "";
	expect_job_error(&f.rj, "job.mounts[1].mount_point: must be absolute, got \"\"");

	fixture_init(&f);
	f.mounts[1].mount_point = NULL;   /* a locally built message may hold NULL */
	expect_job_error(&f.rj, "job.mounts[1].mount_point: must be absolute, got \"\"");

	fixture_init(&f);
	f.mounts[0].kind = (Maelstrom__MountKind)7;
	expect_job_error(&f.rj, "job.mounts[0].kind: unknown value 7");

	fixture_init(&f);
	f.mounts[3].kind = (Maelstrom__MountKind)-1;
	expect_job_error(&f.rj, "job.mounts[3].kind: unknown value -1");

	fixture_init(&f);
	f.mounts[2].devices = DEVICE_NULL | 0x300;
	expect_job_error(&f.rj, "job.mounts[2].devices: unknown device bits 0x300");

	fixture_init(&f);
	f.mounts[3].local_path = "";
	expect_job_error(&f.rj, "job.mounts[3].local_path: must not be empty for a bind mount");

	fixture_init(&f);
	f.mount_ptrs[1] = NULL;
	expect_job_error(&f.rj, "job.mounts[1]: missing");

	fixture_init(&f);
	f.rj.network = (Maelstrom__Network)3;
	expect_job_error(&f.rj, "job.network: unknown value 3");

	fixture_init(&f);
	f.rj.program = "";
	expect_job_error(&f.rj, "job.program: must not be empty");

	fixture_init(&f);
	f.rj.working_directory = "src";
	expect_job_error(&f.rj, "job.working_directory: must be absolute, got \"src\"");

	fixture_init(&f);
	f.env[1] = "NOEQUALS";
	expect_job_error(&f.rj, "job.environment[1]: must be NAME=value, got \"NOEQUALS\"");

	fixture_init(&f);
	f.env[0] = "=value";
	expect_job_error(&f.rj, "job.environment[0]: must be NAME=value, got \"=value\"");

	/* Values from the wire are shown tamed: control characters and quotes
	 * replaced, long ones cut. */
	fixture_init(&f);
	char long_point[200];
	memset(long_point, 'x', sizeof long_point - 1);
	long_point[sizeof long_point - 1] = '\0';
	memcpy(long_point, "a\n\"b", 4);
	f.mounts[0].mount_point = long_point;
	expect_job_error(&f.rj, "job.mounts[0].mount_point: must be absolute, got "
				"\"a??bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\"");
}

/* A fork server's argv crosses the wire and comes out as the worker job's
 * fork_server_argv; a job without one stays cold (NULL). */
static void test_wire_job_fork_server(void **state)
{
	(void)state;
	const char *zygote[] = { "python3", "-m", "zygote", "", NULL };
	struct worker_job job = { .program = "true", .fork_server_argv = zygote };
	Maelstrom__ResolvedJob *rj = msg_resolved_job_new(&job);
	assert_int_equal(rj->n_fork_server_argv, 4);
	Maelstrom__JobRequest rq = MAELSTROM__JOB_REQUEST__INIT;
	rq.job_id = 9;
	rq.job = rj;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_REQUEST;
	m.job_request = &rq;
	msg_t *got = round_trip(&m);
	msg_resolved_job_free(rj);
	struct wire_job wj;
	struct err *e = NULL;
	if (msg_wire_job_from(got->job_request->job, &wj, &e) < 0)
		fail_msg("%s", err_msg(e));
	msg_free(got);
	assert_non_null(wj.job.fork_server_argv);
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(wj.job.fork_server_argv[i], zygote[i]);
	assert_null(wj.job.fork_server_argv[4]);
	assert_string_equal(wj.job.program, "true");
	msg_wire_job_release(&wj);

	struct worker_job cold = { .program = "true" };
	rj = msg_resolved_job_new(&cold);
	assert_int_equal(rj->n_fork_server_argv, 0);
	assert_int_equal(msg_wire_job_from(rj, &wj, NULL), 0);
	assert_null(wj.job.fork_server_argv);
	msg_wire_job_release(&wj);
	msg_resolved_job_free(rj);

	struct job_fixture f;
	fixture_init(&f);
	char *bad[] = { "", "-m" };
	f.rj.n_fork_server_argv = 2;
	f.rj.fork_server_argv = bad;
	expect_job_error(&f.rj, "job.fork_server_argv[0]: the zygote's program must not be "
				"empty (send no fork_server_argv to run the job cold)");
	char *holes[] = { "z", NULL };
	f.rj.fork_server_argv = holes;
	expect_job_error(&f.rj, "job.fork_server_argv[1]: missing");
}

/* Equal containers and zygotes give equal keys; any difference in what
 * the executor starts a zygote with gives another key; no fork server,
 * no key. */
static void test_fork_server_key(void **state)
{
	(void)state;
	struct job_fixture f;
	fixture_init(&f);
	struct digest k0, k1, k;
	memset(&k, 0x77, sizeof k);
	assert_false(msg_fork_server_key(&f.rj, &k));
	assert_int_equal(k.bytes[0], 0x77);   /* untouched */
	assert_false(msg_fork_server_key(NULL, &k));

	char *zygote[] = { "python3", "-m", "zygote" };
	f.rj.n_fork_server_argv = 3;
	f.rj.fork_server_argv = zygote;
	assert_true(msg_fork_server_key(&f.rj, &k0));
	f.rj.program = "/bin/other";   /* the job's own command is not in the key */
	assert_true(msg_fork_server_key(&f.rj, &k1));
	assert_true(digest_equal(&k0, &k1));

	char *zygote2[] = { "python3", "-mzygote" };
	f.rj.n_fork_server_argv = 2;
	f.rj.fork_server_argv = zygote2;
	assert_true(msg_fork_server_key(&f.rj, &k));
	assert_false(digest_equal(&k0, &k));

	fixture_init(&f);
	f.rj.n_fork_server_argv = 3;
	f.rj.fork_server_argv = zygote;
	f.env[1] = "B=3";
	assert_true(msg_fork_server_key(&f.rj, &k));
	assert_false(digest_equal(&k0, &k));

	fixture_init(&f);
	f.rj.n_fork_server_argv = 3;
	f.rj.fork_server_argv = zygote;
	f.digests[1][0] = 1;
	assert_true(msg_fork_server_key(&f.rj, &k));
	assert_false(digest_equal(&k0, &k));

	fixture_init(&f);
	f.rj.n_fork_server_argv = 3;
	f.rj.fork_server_argv = zygote;
	f.rj.working_directory = "/w";
	assert_true(msg_fork_server_key(&f.rj, &k));
	assert_false(digest_equal(&k0, &k));

	fixture_init(&f);
	f.rj.n_fork_server_argv = 3;
	f.rj.fork_server_argv = zygote;
	f.rj.network = MAELSTROM__NETWORK__NETWORK_LOOPBACK;
	assert_true(msg_fork_server_key(&f.rj, &k));
	assert_false(digest_equal(&k0, &k));
}

/* Unknown enum numbers survive protobuf-c's decoding; validation catches
 * them after a real trip over the wire. */
static void test_wire_job_bad_enum_over_the_wire(void **state)
{
	(void)state;
	struct job_fixture f;
	fixture_init(&f);
	f.rj.network = (Maelstrom__Network)17;
	Maelstrom__JobRequest rq = MAELSTROM__JOB_REQUEST__INIT;
	rq.job = &f.rj;
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_REQUEST;
	m.job_request = &rq;
	msg_t *got = round_trip(&m);   /* decoding accepts it: a job-level error */
	assert_int_equal((int)got->job_request->job->network, 17);
	expect_job_error(got->job_request->job, "job.network: unknown value 17");
	msg_free(got);
}

/* ---- results ---------------------------------------------------------------- */

static void test_job_result_round_trip(void **state)
{
	(void)state;
	struct job_result res = {
		.outcome = JOB_EXITED,
		.code = 3,
		.message = NULL,
		.out = { .data = "hello\0world", .len = 11, .truncated = 5 },
		.err = { .data = NULL, .len = 0, .truncated = 0 },
		.duration_ns = 123456789,
	};
	Maelstrom__JobResult *jr = msg_job_result_new(77, &res, "worker-a");
	msg_t m;
	msg_init(&m);
	m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_RESULT;
	m.job_result = jr;
	msg_t *got = round_trip(&m);
	msg_job_result_free(jr);
	msg_job_result_free(NULL);
	assert_string_equal(msg_name(got), "job_result");
	assert_int_equal(got->job_result->job_id, 77);
	assert_string_equal(got->job_result->worker, "worker-a");

	struct job_result back;
	memset(&back, 0xa5, sizeof back);
	msg_job_result_to(got->job_result, &back);
	msg_free(got);
	assert_int_equal(back.outcome, JOB_EXITED);
	assert_int_equal(back.code, 3);
	assert_null(back.message);
	assert_int_equal(back.out.len, 11);
	assert_memory_equal(back.out.data, "hello\0world", 12);   /* NUL-terminated too */
	assert_int_equal(back.out.truncated, 5);
	assert_null(back.err.data);
	assert_int_equal(back.err.len, 0);
	assert_int_equal(back.err.truncated, 0);
	assert_int_equal(back.duration_ns, 123456789);
	job_result_release(&back);
}

static void test_job_result_every_outcome(void **state)
{
	(void)state;
	static const enum job_outcome outcomes[] = {
		JOB_EXITED, JOB_SIGNALED, JOB_TIMED_OUT,
		JOB_EXECUTION_ERROR, JOB_SYSTEM_ERROR, JOB_CANCELED,
	};
	for (size_t i = 0; i < ARRAY_SIZE(outcomes); i++) {
		struct job_result res = {
			.outcome = outcomes[i],
			.code = (int)i - 2,
			.message = "why it ended",
			.err = { .data = "E", .len = 1, .truncated = UINT64_MAX },
		};
		Maelstrom__JobResult *jr = msg_job_result_new(i, &res, NULL);
		msg_t m;
		msg_init(&m);
		m.msg_case = MAELSTROM__ENVELOPE__MSG_JOB_RESULT;
		m.job_result = jr;
		msg_t *got = round_trip(&m);
		msg_job_result_free(jr);
		assert_string_equal(got->job_result->worker, "");
		struct job_result back;
		msg_job_result_to(got->job_result, &back);
		msg_free(got);
		assert_int_equal(back.outcome, outcomes[i]);
		assert_int_equal(back.code, (int)i - 2);
		assert_string_equal(back.message, "why it ended");
		assert_null(back.out.data);
		assert_string_equal(back.err.data, "E");
		assert_true(back.err.truncated == UINT64_MAX);
		job_result_release(&back);
	}
}

static void test_job_result_unknown_outcome(void **state)
{
	(void)state;
	Maelstrom__JobResult jr = MAELSTROM__JOB_RESULT__INIT;
	jr.outcome = (Maelstrom__Outcome)9;
	jr.code = 4;
	jr.message = "boom";
	struct job_result back;
	msg_job_result_to(&jr, &back);
	assert_int_equal(back.outcome, JOB_SYSTEM_ERROR);
	assert_int_equal(back.code, 4);
	assert_string_equal(back.message, "unknown job outcome 9 (boom)");
	job_result_release(&back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hello_and_reply),
		cmocka_unit_test(test_job_control_messages),
		cmocka_unit_test(test_monitor_messages),
		cmocka_unit_test(test_artifact_messages),
		cmocka_unit_test(test_digest_length),
		cmocka_unit_test(test_decode_errors),
		cmocka_unit_test(test_wire_job_round_trip),
		cmocka_unit_test(test_wire_job_minimal),
		cmocka_unit_test(test_wire_job_validation),
		cmocka_unit_test(test_wire_job_bad_enum_over_the_wire),
		cmocka_unit_test(test_wire_job_fork_server),
		cmocka_unit_test(test_fork_server_key),
		cmocka_unit_test(test_job_result_round_trip),
		cmocka_unit_test(test_job_result_every_outcome),
		cmocka_unit_test(test_job_result_unknown_outcome),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
