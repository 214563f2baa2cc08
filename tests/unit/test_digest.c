/* Unit tests for artifacts/digest: XXH3-128 values, hex form, streaming. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xxhash.h>

#include <cmocka.h>

#include "artifacts/digest.h"

static void hex_of(const void *data, size_t len, char out[DIGEST_HEX_LEN + 1])
{
	struct digest d;
	digest_bytes(data, len, &d);
	digest_to_hex(&d, out);
}

static void test_known_values(void **state)
{
	(void)state;
	char hex[DIGEST_HEX_LEN + 1];
	/* Reference values of XXH3-128 (as `xxhsum -H2` prints them). */
	hex_of("", 0, hex);
	assert_string_equal(hex, "99aa06d3014798d86001c324468d497f");
	hex_of("abc", 3, hex);
	assert_string_equal(hex, "06b05ab6733a618578af5f94892f3950");
}

static void test_canonical_order(void **state)
{
	(void)state;
	/* The hex is the high 64 bits, then the low 64 bits. */
	const char *text = "maelstrom layer";
	XXH128_hash_t h = XXH3_128bits(text, strlen(text));
	char want[DIGEST_HEX_LEN + 1];
	snprintf(want, sizeof(want), "%016llx%016llx", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
	char hex[DIGEST_HEX_LEN + 1];
	hex_of(text, strlen(text), hex);
	assert_string_equal(hex, want);
}

static void test_streaming_matches_one_shot(void **state)
{
	(void)state;
	size_t len = 1 << 20;
	uint8_t *buf = malloc(len);
	assert_non_null(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 131 + (i >> 9));
	struct digest whole, pieces;
	digest_bytes(buf, len, &whole);

	struct digest_state *s = digest_state_new();
	size_t steps[] = { 0, 1, 7, 63, 64, 65, 240, 4096, 100000 };
	size_t off = 0, k = 0;
	while (off < len) {
		size_t n = steps[k++ % (sizeof(steps) / sizeof(steps[0]))];
		if (n > len - off)
			n = len - off;
		digest_state_update(s, buf + off, n);
		off += n;
	}
	digest_state_final(s, &pieces);
	assert_true(digest_equal(&whole, &pieces));
	/* final does not consume the state */
	struct digest again;
	digest_state_final(s, &again);
	assert_true(digest_equal(&whole, &again));
	digest_state_free(s);

	/* One bit of difference changes the digest. */
	buf[len / 2] ^= 1;
	struct digest other;
	digest_bytes(buf, len, &other);
	assert_false(digest_equal(&whole, &other));
	free(buf);
}

static void test_hex_round_trip(void **state)
{
	(void)state;
	struct digest d, back;
	digest_bytes("x", 1, &d);
	char hex[DIGEST_HEX_LEN + 1];
	digest_to_hex(&d, hex);
	assert_int_equal(strlen(hex), DIGEST_HEX_LEN);
	assert_int_equal(digest_from_hex(hex, &back), 0);
	assert_true(digest_equal(&d, &back));

	/* Upper case is accepted and means the same digest. */
	char upper[DIGEST_HEX_LEN + 1];
	for (size_t i = 0; i <= DIGEST_HEX_LEN; i++)
		upper[i] = (char)(hex[i] >= 'a' && hex[i] <= 'f' ? hex[i] - 32 : hex[i]);
	memset(&back, 0, sizeof(back));
	assert_int_equal(digest_from_hex(upper, &back), 0);
	assert_true(digest_equal(&d, &back));
}

static void test_hex_rejects(void **state)
{
	(void)state;
	struct digest d;
	memset(&d, 0xab, sizeof(d));
	struct digest orig = d;
	assert_int_equal(digest_from_hex(NULL, &d), -1);
	assert_int_equal(digest_from_hex("", &d), -1);
	assert_int_equal(digest_from_hex("99aa06d3014798d86001c324468d497", &d), -1);   /* 31 */
	assert_int_equal(digest_from_hex("99aa06d3014798d86001c324468d497f0", &d), -1); /* 33 */
	assert_int_equal(digest_from_hex("99aa06d3014798d86001c324468d497g", &d), -1);
	assert_int_equal(digest_from_hex("99aa06d3014798d8 001c324468d497f", &d), -1);
	assert_int_equal(digest_from_hex("0x99aa06d3014798d86001c324468d49", &d), -1);
	assert_true(digest_equal(&d, &orig)); /* untouched on failure */
}

static void test_fd_and_path(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char path[4096];
	snprintf(path, sizeof(path), "%s/test_digest.XXXXXX", tmp);
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *content = "hello, content-addressed world\n";
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));

	struct digest want, got;
	digest_bytes(content, strlen(content), &want);
	struct err *err = NULL;

	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(digest_fd(fd, &got, &err), 0);
	assert_true(digest_equal(&want, &got));

	/* From the current offset to the end. */
	assert_int_equal(lseek(fd, 7, SEEK_SET), 7);
	struct digest tail_want;
	digest_bytes(content + 7, strlen(content) - 7, &tail_want);
	assert_int_equal(digest_fd(fd, &got, &err), 0);
	assert_true(digest_equal(&tail_want, &got));
	close(fd);

	memset(&got, 0, sizeof(got));
	assert_int_equal(digest_path(path, &got, &err), 0);
	assert_true(digest_equal(&want, &got));
	unlink(path);

	assert_int_equal(digest_path(path, &got, &err), -1);
	assert_non_null(err);
	assert_non_null(strstr(err_msg(err), path));
	assert_int_equal(err->errnum, ENOENT);
	err_free(&err);

	/* A directory cannot be read. */
	assert_int_equal(digest_path(tmp, &got, &err), -1);
	assert_non_null(err);
	assert_non_null(strstr(err_msg(err), tmp));
	err_free(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_values),
		cmocka_unit_test(test_canonical_order),
		cmocka_unit_test(test_streaming_matches_one_shot),
		cmocka_unit_test(test_hex_round_trip),
		cmocka_unit_test(test_hex_rejects),
		cmocka_unit_test(test_fd_and_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
