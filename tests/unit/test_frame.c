/* Unit tests for net/frame: the length-prefixed framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/cleanup.h"
#include "net/frame.h"

/* A body of n bytes whose content depends on seed and position. */
static uint8_t *make_body(size_t n, unsigned seed)
{
	uint8_t *b = malloc(n ? n : 1);
	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 31 + seed * 7 + (i >> 8));
	return b;
}

static void test_header_is_big_endian(void **state)
{
	(void)state;
	struct buf out = BUF_INIT;
	uint8_t *body = make_body(0x010203, 1);
	frame_encode(&out, body, 0x010203);
	assert_int_equal(out.len, FRAME_HEADER_SIZE + 0x010203);
	assert_memory_equal(out.data, "\x00\x01\x02\x03", 4);
	assert_memory_equal(out.data + 4, body, 0x010203);

	/* A second frame is appended after the first. */
	size_t before = out.len;
	frame_encode(&out, "hi", 2);
	assert_int_equal(out.len, before + 6);
	assert_memory_equal(out.data + before, "\x00\x00\x00\x02hi", 6);
	free(body);
	buf_release(&out);
}

static const size_t sizes[] = { 0, 1, 3, 4, 5, 255, 256, 1000, 70000 };

static void test_round_trip_one_byte_chunks(void **state)
{
	(void)state;
	struct buf wire = BUF_INIT;
	uint8_t *bodies[ARRAY_SIZE(sizes)];
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		bodies[i] = make_body(sizes[i], (unsigned)i);
		frame_encode(&wire, bodies[i], sizes[i]);
	}

	struct frame_decoder d;
	frame_decoder_init(&d, FRAME_DEFAULT_LIMIT);
	size_t got = 0;
	size_t frame_end = FRAME_HEADER_SIZE + sizes[0];   /* offset where frame `got` ends */
	for (size_t off = 0; off < wire.len; off++) {
		frame_decoder_feed(&d, wire.data + off, 1);
		const uint8_t *body;
		size_t len;
		struct err *e = NULL;
		int r = frame_decoder_next(&d, &body, &len, &e);
		assert_null(e);
		if (off + 1 < frame_end) {
			/* Not complete yet: nothing may come out early. */
			assert_int_equal(r, 0);
			continue;
		}
		assert_int_equal(off + 1, frame_end);
		assert_int_equal(r, 1);
		assert_int_equal(len, sizes[got]);
		if (len)
			assert_memory_equal(body, bodies[got], len);
		assert_int_equal(frame_decoder_next(&d, &body, &len, &e), 0);
		got++;
		if (got < ARRAY_SIZE(sizes))
			frame_end += FRAME_HEADER_SIZE + sizes[got];
	}
	assert_int_equal(got, ARRAY_SIZE(sizes));
	assert_int_equal(frame_decoder_pending(&d), 0);

	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++)
		free(bodies[i]);
	frame_decoder_release(&d);
	buf_release(&wire);
}

/* Chunks of every size from 1 to 40, so frame boundaries fall everywhere
 * within a chunk; frames are taken out only after each feed. */
static void test_round_trip_varied_chunks(void **state)
{
	(void)state;
	struct buf wire = BUF_INIT;
	enum { N = 200 };
	for (unsigned i = 0; i < N; i++) {
		uint8_t *b = make_body(i % 37, i);
		frame_encode(&wire, b, i % 37);
		free(b);
	}
	for (size_t chunk = 1; chunk <= 40; chunk++) {
		struct frame_decoder d;
		frame_decoder_init(&d, 100);
		unsigned got = 0;
		for (size_t off = 0; off < wire.len; off += chunk) {
			size_t n = wire.len - off < chunk ? wire.len - off : chunk;
			frame_decoder_feed(&d, wire.data + off, n);
			const uint8_t *body;
			size_t len;
			int r;
			while ((r = frame_decoder_next(&d, &body, &len, NULL)) == 1) {
				assert_int_equal(len, got % 37);
				uint8_t *want = make_body(len, got);
				if (len)
					assert_memory_equal(body, want, len);
				free(want);
				got++;
			}
			assert_int_equal(r, 0);
		}
		assert_int_equal(got, N);
		assert_int_equal(frame_decoder_pending(&d), 0);
		frame_decoder_release(&d);
	}
	buf_release(&wire);
}

static void test_many_frames_one_feed(void **state)
{
	(void)state;
	struct buf wire = BUF_INIT;
	enum { N = 1000 };
	for (unsigned i = 0; i < N; i++) {
		uint32_t v = i;
		frame_encode(&wire, &v, sizeof v);
	}
	struct frame_decoder d;
	frame_decoder_init(&d, 16);
	frame_decoder_feed(&d, wire.data, wire.len);
	for (unsigned i = 0; i < N; i++) {
		const uint8_t *body;
		size_t len;
		assert_int_equal(frame_decoder_next(&d, &body, &len, NULL), 1);
		assert_int_equal(len, 4);
		uint32_t v;
		memcpy(&v, body, 4);
		assert_int_equal(v, i);
		assert_int_equal(frame_decoder_pending(&d), (size_t)(N - 1 - i) * 8);
	}
	const uint8_t *body;
	size_t len;
	assert_int_equal(frame_decoder_next(&d, &body, &len, NULL), 0);
	frame_decoder_release(&d);
	buf_release(&wire);
}

static void test_partial_header(void **state)
{
	(void)state;
	struct frame_decoder d;
	frame_decoder_init(&d, 1000);
	const uint8_t *body;
	size_t len;
	struct err *e = NULL;
	assert_int_equal(frame_decoder_next(&d, &body, &len, &e), 0); /* empty */
	frame_decoder_feed(&d, "", 0);
	assert_int_equal(frame_decoder_pending(&d), 0);

	/* Header 00 00 00 03 then "abc", the header split 1 + 2 + 1. */
	frame_decoder_feed(&d, "\x00", 1);
	assert_int_equal(frame_decoder_next(&d, &body, &len, &e), 0);
	frame_decoder_feed(&d, "\x00\x00", 2);
	assert_int_equal(frame_decoder_next(&d, &body, &len, &e), 0);
	assert_int_equal(frame_decoder_pending(&d), 3);
	frame_decoder_feed(&d, "\x03", 1);
	assert_int_equal(frame_decoder_next(&d, &body, &len, &e), 0);
	frame_decoder_feed(&d, "ab", 2);
	assert_int_equal(frame_decoder_next(&d, &body, &len, &e), 0);
	frame_decoder_feed(&d, "c", 1);
	assert_int_equal(frame_decoder_next(&d, &body, &len, &e), 1);
	assert_int_equal(len, 3);
	assert_memory_equal(body, "abc", 3);
	assert_null(e);
	frame_decoder_release(&d);
}

static void test_oversize_refused_from_header(void **state)
{
	(void)state;
	struct frame_decoder d;
	frame_decoder_init(&d, 100);
	const uint8_t *body;
	size_t len;
	struct err *e = NULL;

	/* Exactly the limit is fine. */
	struct buf wire = BUF_INIT;
	uint8_t *b = make_body(100, 3);
	frame_encode(&wire, b, 100);
	frame_decoder_feed(&d, wire.data, wire.len);
	assert_int_equal(frame_decoder_next(&d, &body, &len, &e), 1);
	assert_int_equal(len, 100);
	assert_memory_equal(body, b, 100);

	/* One more byte is refused as soon as the header is in, with no body. */
	frame_decoder_feed(&d, "\x00\x00\x00\x65", 4);
	assert_int_equal(frame_decoder_next(&d, &body, &len, &e), -1);
	assert_non_null(e);
	assert_string_equal(err_msg(e), "frame of 101 bytes exceeds the limit of 100 bytes");
	err_free(&e);
	/* The stream stays refused. */
	assert_int_equal(frame_decoder_next(&d, &body, &len, &e), -1);
	err_free(&e);
	frame_decoder_release(&d);

	/* The largest claim a header can make: nothing is allocated for it. */
	frame_decoder_init(&d, FRAME_DEFAULT_LIMIT);
	frame_decoder_feed(&d, "\xff\xff\xff\xff", 4);
	assert_true(d.in.cap < 1024);
	assert_int_equal(frame_decoder_next(&d, &body, &len, &e), -1);
	assert_string_equal(err_msg(e),
			    "frame of 4294967295 bytes exceeds the limit of 67108864 bytes");
	err_free(&e);
	frame_decoder_release(&d);
	free(b);
	buf_release(&wire);
}

static void test_take_rest(void **state)
{
	(void)state;
	struct frame_decoder d;
	frame_decoder_init(&d, 1000);
	struct buf wire = BUF_INIT;
	frame_encode(&wire, "hello", 5);
	buf_append(&wire, "RAW\0bytes", 9);
	frame_decoder_feed(&d, wire.data, wire.len);

	const uint8_t *body;
	size_t len;
	assert_int_equal(frame_decoder_next(&d, &body, &len, NULL), 1);
	assert_memory_equal(body, "hello", 5);
	/* The raw bytes look like a (huge) header: the caller must not call
	 * next again; it hands over instead. */
	assert_int_equal(frame_decoder_pending(&d), 9);

	struct buf out = BUF_INIT;
	buf_appends(&out, "prefix:");
	frame_decoder_take_rest(&d, &out);
	assert_int_equal(out.len, 16);
	assert_memory_equal(out.data, "prefix:RAW\0bytes", 16);
	assert_int_equal(out.data[out.len], '\0');
	assert_int_equal(frame_decoder_pending(&d), 0);

	/* Nothing consumed yet, out empty: the whole buffer moves over. */
	frame_decoder_feed(&d, "xyz", 3);
	struct buf out2 = BUF_INIT;
	frame_decoder_take_rest(&d, &out2);
	assert_int_equal(out2.len, 3);
	assert_string_equal(out2.data, "xyz");
	assert_int_equal(frame_decoder_pending(&d), 0);

	/* Taking nothing leaves out alone. */
	frame_decoder_take_rest(&d, &out2);
	assert_string_equal(out2.data, "xyz");

	/* The decoder is still usable afterwards. */
	frame_decoder_feed(&d, wire.data, 9);
	assert_int_equal(frame_decoder_next(&d, &body, &len, NULL), 1);
	assert_memory_equal(body, "hello", 5);
	assert_int_equal(frame_decoder_pending(&d), 0);

	buf_release(&out);
	buf_release(&out2);
	buf_release(&wire);
	frame_decoder_release(&d);
}

/* A long stream consumed as it arrives must not accumulate: the consumed
 * prefix is dropped, so memory stays near one frame plus one chunk. */
static void test_memory_stays_bounded(void **state)
{
	(void)state;
	struct buf wire = BUF_INIT;
	for (unsigned i = 0; i < 100; i++) {
		uint8_t *b = make_body(100, i);
		frame_encode(&wire, b, 100);
		free(b);
	}
	struct frame_decoder d;
	frame_decoder_init(&d, 1000);
	size_t frames = 0;
	for (unsigned round = 0; round < 100; round++) {
		for (size_t off = 0; off < wire.len; off += 37) {
			size_t n = wire.len - off < 37 ? wire.len - off : 37;
			frame_decoder_feed(&d, wire.data + off, n);
			const uint8_t *body;
			size_t len;
			while (frame_decoder_next(&d, &body, &len, NULL) == 1) {
				assert_int_equal(len, 100);
				frames++;
			}
		}
		assert_true(d.in.cap <= 512);
	}
	assert_int_equal(frames, 100 * 100);
	frame_decoder_release(&d);
	buf_release(&wire);
}

/* Receiving straight into the decoder's buffer. */
static void test_space_and_commit(void **state)
{
	(void)state;
	struct buf wire = BUF_INIT;
	frame_encode(&wire, "first", 5);
	frame_encode(&wire, "second frame", 12);
	struct frame_decoder d;
	frame_decoder_init(&d, 100);
	const uint8_t *body;
	size_t len;
	size_t off = 0;
	int frames = 0;
	while (off < wire.len) {
		uint8_t *room = frame_decoder_space(&d, 3);
		assert_non_null(room);
		size_t n = wire.len - off < 3 ? wire.len - off : 3;
		memcpy(room, wire.data + off, n);
		frame_decoder_commit(&d, n);
		off += n;
		while (frame_decoder_next(&d, &body, &len, NULL) == 1) {
			if (frames++ == 0) {
				assert_int_equal(len, 5);
				assert_memory_equal(body, "first", 5);
			} else {
				assert_int_equal(len, 12);
				assert_memory_equal(body, "second frame", 12);
			}
		}
	}
	assert_int_equal(frames, 2);
	frame_decoder_space(&d, 10);
	frame_decoder_commit(&d, 0);   /* a read that got nothing */
	assert_int_equal(frame_decoder_pending(&d), 0);
	frame_decoder_release(&d);
	buf_release(&wire);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_is_big_endian),
		cmocka_unit_test(test_round_trip_one_byte_chunks),
		cmocka_unit_test(test_round_trip_varied_chunks),
		cmocka_unit_test(test_many_frames_one_feed),
		cmocka_unit_test(test_partial_header),
		cmocka_unit_test(test_oversize_refused_from_header),
		cmocka_unit_test(test_take_rest),
		cmocka_unit_test(test_memory_stays_bounded),
		cmocka_unit_test(test_space_and_commit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
