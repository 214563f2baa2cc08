#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/utf8.h"

static size_t valid(const char *s)
{
	return utf8_valid_len((const unsigned char *)s, strlen(s));
}

static void test_seq_len(void **state)
{
	(void)state;
	assert_int_equal(utf8_seq_len('a'), 1);
	assert_int_equal(utf8_seq_len(0xC3), 2);
	assert_int_equal(utf8_seq_len(0xE2), 3);
	assert_int_equal(utf8_seq_len(0xF0), 4);
}

static void test_valid_len(void **state)
{
	(void)state;
	assert_int_equal(valid("a"), 1);
	assert_int_equal(valid("\xC3\xA9"), 2);                 /* é */
	assert_int_equal(valid("\xE2\x82\xAC"), 3);             /* € */
	assert_int_equal(valid("\xF0\x9F\x98\x80"), 4);         /* U+1F600 */
	assert_int_equal(valid("\xF4\x8F\xBF\xBF"), 4);         /* U+10FFFF */
	assert_int_equal(valid("\xEF\xBF\xBF"), 3);             /* U+FFFF is UTF-8 */
	assert_int_equal(valid("\x80"), 0);                     /* stray continuation */
	assert_int_equal(valid("\xC0\xAF"), 0);                 /* overlong '/' */
	assert_int_equal(valid("\xC1\xBF"), 0);
	assert_int_equal(valid("\xE0\x9F\xBF"), 0);             /* overlong */
	assert_int_equal(valid("\xF0\x8F\xBF\xBF"), 0);         /* overlong */
	assert_int_equal(valid("\xED\xA0\x80"), 0);             /* surrogate D800 */
	assert_int_equal(valid("\xF4\x90\x80\x80"), 0);         /* above 10FFFF */
	assert_int_equal(valid("\xF5\x80\x80\x80"), 0);
	assert_int_equal(valid("\xFF"), 0);
	assert_int_equal(valid("\xC3("), 0);                    /* bad continuation */
	assert_int_equal(valid("\xE2\x82("), 0);
	/* Cut short by the length given. */
	assert_int_equal(utf8_valid_len((const unsigned char *)"\xE2\x82\xAC", 2), 0);
	assert_int_equal(utf8_valid_len((const unsigned char *)"\xF0\x9F\x98\x80", 3), 0);
}

static void test_encode(void **state)
{
	(void)state;
	char out[UTF8_MAX];
	assert_int_equal(utf8_encode('A', out), 1);
	assert_memory_equal(out, "A", 1);
	assert_int_equal(utf8_encode(0xE9, out), 2);
	assert_memory_equal(out, "\xC3\xA9", 2);
	assert_int_equal(utf8_encode(0x20AC, out), 3);
	assert_memory_equal(out, "\xE2\x82\xAC", 3);
	assert_int_equal(utf8_encode(0x1F600, out), 4);
	assert_memory_equal(out, "\xF0\x9F\x98\x80", 4);
}

/* Every scalar value encodes to a sequence the validator accepts whole,
 * with the length its lead byte announces. */
static void test_encode_every_scalar(void **state)
{
	(void)state;
	char out[UTF8_MAX];
	for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
		if (cp >= 0xD800 && cp <= 0xDFFF)
			continue;
		size_t n = utf8_encode(cp, out);
		size_t want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		if (n != want || utf8_valid_len((unsigned char *)out, n) != n ||
		    utf8_seq_len((unsigned char)out[0]) != n)
			fail_msg("U+%04X: encoded in %zu bytes", (unsigned)cp, n);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seq_len),
		cmocka_unit_test(test_valid_len),
		cmocka_unit_test(test_encode),
		cmocka_unit_test(test_encode_every_scalar),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
