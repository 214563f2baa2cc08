/*
 * fuzz_proto: a libFuzzer target for everything that reads bytes from a
 * peer: net/frame (framing), net/msg (decoding, validation, conversions).
 * Built and run by tests/fuzz/run.
 *
 * Input: one control byte, then the byte stream as a peer would send it.
 * The control byte picks how the stream is chopped into feeds (alternately
 * frame_decoder_feed and frame_decoder_space + commit). For each
 * input the target checks, besides "no crash, no leak, no UB":
 *   - framing does not depend on chunking: the frames, the final error
 *     state and the pending bytes are the same fed at once or in pieces;
 *   - a decoded envelope re-encodes to bytes that decode and re-encode to
 *     the same bytes (a fixed point after one round);
 *   - a job that validates converts to a ResolvedJob and back unchanged;
 *   - a job result converts to a job_result and back unchanged.
 * A broken property traps, which libFuzzer reports as a crash.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/frame.h"
#include "net/msg.h"

#define FUZZ_FRAME_LIMIT (1u << 20)

#define CHECK(cond)                        \
	do {                               \
		if (!(cond))               \
			__builtin_trap();  \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool str_eq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static void check_same_job(const struct worker_job *a, const struct worker_job *b)
{
	CHECK(a->n_layers == b->n_layers);
	if (a->n_layers)
		CHECK(memcmp(a->layers, b->layers, a->n_layers * sizeof *a->layers) == 0);
	CHECK(a->n_mounts == b->n_mounts);
	for (size_t i = 0; i < a->n_mounts; i++) {
		CHECK(a->mounts[i].kind == b->mounts[i].kind);
		CHECK(str_eq(a->mounts[i].mount_point, b->mounts[i].mount_point));
		CHECK(str_eq(a->mounts[i].local_path, b->mounts[i].local_path));
		CHECK(a->mounts[i].read_only == b->mounts[i].read_only);
		CHECK(a->mounts[i].devices == b->mounts[i].devices);
	}
	CHECK(a->network == b->network);
	CHECK(a->writable_root == b->writable_root);
	CHECK(a->user == b->user && a->group == b->group);
	CHECK(str_eq(a->working_directory, b->working_directory));
	CHECK(str_eq(a->program, b->program));
	CHECK(a->n_arguments == b->n_arguments);
	for (size_t i = 0; i < a->n_arguments; i++)
		CHECK(str_eq(a->arguments[i], b->arguments[i]));
	CHECK(a->arguments[a->n_arguments] == NULL && b->arguments[b->n_arguments] == NULL);
	size_t i = 0;
	for (; a->envp[i]; i++)
		CHECK(str_eq(a->envp[i], b->envp[i]));
	CHECK(b->envp[i] == NULL);
	CHECK(a->timeout_s == b->timeout_s);
}

static void fuzz_job(const Maelstrom__ResolvedJob *rj)
{
	struct wire_job wj;
	struct err *e = NULL;
	if (msg_wire_job_from(rj, &wj, &e) < 0) {
		CHECK(e != NULL);
		err_free(&e);
		return;
	}
	Maelstrom__ResolvedJob *again = msg_resolved_job_new(&wj.job);
	struct wire_job wj2;
	CHECK(msg_wire_job_from(again, &wj2, NULL) == 0);
	check_same_job(&wj.job, &wj2.job);
	msg_wire_job_release(&wj2);
	msg_resolved_job_free(again);
	msg_wire_job_release(&wj);
}

/* job_result_release lives in container/executor.c, which this target does
 * not link (it would drag in the whole executor): free the parts here. */
static void result_release(struct job_result *r)
{
	free(r->message);
	free(r->worker);
	free(r->out.data);
	free(r->err.data);
}

static void check_same_bytes(ProtobufCBinaryData a, ProtobufCBinaryData b)
{
	CHECK(a.len == b.len);
	if (a.len)
		CHECK(memcmp(a.data, b.data, a.len) == 0);
}

static void fuzz_result(const Maelstrom__JobResult *jr)
{
	struct job_result res;
	msg_job_result_to(jr, &res);
	CHECK(res.out.len == jr->stdout.len && res.err.len == jr->stderr.len);
	CHECK(res.out.len == 0 ? res.out.data == NULL : res.out.data[res.out.len] == '\0');
	CHECK(res.err.len == 0 ? res.err.data == NULL : res.err.data[res.err.len] == '\0');
	Maelstrom__JobResult *again = msg_job_result_new(jr->job_id, &res, jr->worker);
	CHECK(again->job_id == jr->job_id && again->outcome == jr->outcome);
	CHECK(again->code == jr->code && again->duration_ns == jr->duration_ns);
	CHECK(str_eq(again->message, jr->message) && str_eq(again->worker, jr->worker));
	check_same_bytes(again->stdout, jr->stdout);
	check_same_bytes(again->stderr, jr->stderr);
	CHECK(again->stdout_truncated == jr->stdout_truncated);
	CHECK(again->stderr_truncated == jr->stderr_truncated);
	msg_job_result_free(again);
	result_release(&res);
}

static void fuzz_digest(ProtobufCBinaryData b)
{
	struct digest d;
	struct err *e = NULL;
	if (msg_digest_get(b, &d, &e) < 0) {
		CHECK(e != NULL && b.len != sizeof d.bytes);
		err_free(&e);
		return;
	}
	ProtobufCBinaryData back = msg_digest(&d);
	check_same_bytes(back, b);
}

/* Encodes m, decodes the result, encodes again: the two encodings must
 * match. */
static void check_reencode(const msg_t *m)
{
	struct buf one = BUF_INIT, two = BUF_INIT;
	msg_encode_frame(&one, m);
	CHECK(one.len >= FRAME_HEADER_SIZE);
	struct err *e = NULL;
	msg_t *m2 = msg_decode((const uint8_t *)one.data + FRAME_HEADER_SIZE,
			       one.len - FRAME_HEADER_SIZE, &e);
	CHECK(m2 != NULL);
	CHECK(m2->msg_case == m->msg_case);
	msg_encode_frame(&two, m2);
	msg_t *m3 = msg_decode((const uint8_t *)two.data + FRAME_HEADER_SIZE,
			       two.len - FRAME_HEADER_SIZE, &e);
	CHECK(m3 != NULL);
	struct buf three = BUF_INIT;
	msg_encode_frame(&three, m3);
	CHECK(two.len == three.len && memcmp(two.data, three.data, two.len) == 0);
	msg_free(m3);
	msg_free(m2);
	buf_release(&one);
	buf_release(&two);
	buf_release(&three);
}

static void fuzz_body(const uint8_t *body, size_t len)
{
	struct err *e = NULL;
	msg_t *m = msg_decode(body, len, &e);
	if (!m) {
		CHECK(e != NULL && strncmp(err_msg(e), "malformed message: ", 19) == 0);
		err_free(&e);
		return;
	}
	CHECK(e == NULL);
	CHECK(strlen(msg_name(m)) > 0);
	check_reencode(m);
	switch ((int)m->msg_case) {
	case MAELSTROM__ENVELOPE__MSG_JOB_REQUEST:
		fuzz_job(m->job_request->job);
		break;
	case MAELSTROM__ENVELOPE__MSG_ENQUEUE_JOB:
		fuzz_job(m->enqueue_job->job);
		break;
	case MAELSTROM__ENVELOPE__MSG_JOB_RESULT:
		fuzz_result(m->job_result);
		break;
	case MAELSTROM__ENVELOPE__MSG_TRANSFER_ARTIFACT:
		fuzz_digest(m->transfer_artifact->digest);
		break;
	case MAELSTROM__ENVELOPE__MSG_ARTIFACT_HEADER:
		fuzz_digest(m->artifact_header->digest);
		break;
	case MAELSTROM__ENVELOPE__MSG_ARTIFACT_ACK:
		fuzz_digest(m->artifact_ack->digest);
		break;
	case MAELSTROM__ENVELOPE__MSG_FETCH_ARTIFACT:
		fuzz_digest(m->fetch_artifact->digest);
		break;
	default:
		break;
	}
	msg_free(m);
}

/* What a decoder made of a stream: every frame re-encoded into frames,
 * whether it ended in an error, and the bytes left pending. */
struct outcome {
	struct buf frames;
	bool failed;
	struct buf rest;
};

/* Takes out every complete frame; returns false once the stream failed. */
static bool drain(struct frame_decoder *d, struct outcome *o, bool decode)
{
	const uint8_t *body;
	size_t len;
	struct err *e = NULL;
	int r;
	while ((r = frame_decoder_next(d, &body, &len, &e)) == 1) {
		CHECK(len <= FUZZ_FRAME_LIMIT);
		frame_encode(&o->frames, body, len);
		if (decode)
			fuzz_body(body, len);
	}
	if (r < 0) {
		CHECK(e != NULL);
		err_free(&e);
		o->failed = true;
		return false;
	}
	CHECK(e == NULL);
	return true;
}

static size_t chunk_size(uint8_t control, size_t step)
{
	switch (control >> 6) {
	case 0:
		return 1;
	case 1:
		return 1 + (control & 0x3f);
	case 2:
		return 1 + (step * 7 + control) % 29;
	default:
		return SIZE_MAX;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t control = data[0];
	data++;
	size--;

	/* Reference: everything in one feed, each body decoded. */
	struct outcome ref = { BUF_INIT, false, BUF_INIT };
	struct frame_decoder d;
	frame_decoder_init(&d, FUZZ_FRAME_LIMIT);
	frame_decoder_feed(&d, data, size);
	drain(&d, &ref, true);
	if (!ref.failed) {
		CHECK(frame_decoder_pending(&d) < FRAME_HEADER_SIZE + FUZZ_FRAME_LIMIT);
		frame_decoder_take_rest(&d, &ref.rest);
		CHECK(frame_decoder_pending(&d) == 0);
	}
	frame_decoder_release(&d);

	/* The same stream in pieces must come out the same. */
	struct outcome got = { BUF_INIT, false, BUF_INIT };
	frame_decoder_init(&d, FUZZ_FRAME_LIMIT);
	size_t off = 0;
	for (size_t step = 0; off < size; step++) {
		size_t n = chunk_size(control, step);
		if (n > size - off)
			n = size - off;
		if (step & 1) {
			memcpy(frame_decoder_space(&d, n), data + off, n);
			frame_decoder_commit(&d, n);
		} else {
			frame_decoder_feed(&d, data + off, n);
		}
		off += n;
		if (!drain(&d, &got, false))
			break;
	}
	if (!got.failed) {
		/* Hand over into a buffer that already holds something. */
		buf_append(&got.rest, "x", 1);
		frame_decoder_take_rest(&d, &got.rest);
		buf_consume(&got.rest, 1);
	}
	frame_decoder_release(&d);

	CHECK(ref.failed == got.failed);
	CHECK(ref.frames.len == got.frames.len);
	CHECK(ref.frames.len == 0 || memcmp(ref.frames.data, got.frames.data, ref.frames.len) == 0);
	CHECK(ref.rest.len == got.rest.len);
	CHECK(ref.rest.len == 0 || memcmp(ref.rest.data, got.rest.data, ref.rest.len) == 0);
	buf_release(&ref.frames);
	buf_release(&ref.rest);
	buf_release(&got.frames);
	buf_release(&got.rest);
	return 0;
}
