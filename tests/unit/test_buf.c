/* Unit tests for core/buf. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"

static void test_empty(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	assert_null(b.data);
	buf_reset(&b);        /* fine on a never-allocated buffer */
	buf_consume(&b, 10);  /* likewise */
	buf_append(&b, NULL, 0);
	assert_non_null(b.data); /* appending nothing still yields a string */
	assert_string_equal(b.data, "");
	assert_int_equal(b.len, 0);
	buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	buf_release(&b);      /* twice is fine */

	size_t len = 99;
	char *s = buf_detach(&b, &len);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
}

static void test_append_and_terminate(void **state)
{
	(void)state;
	struct buf b;
	buf_init(&b);
	buf_appends(&b, "hello");
	assert_int_equal(b.len, 5);
	assert_true(b.cap > b.len);
	assert_string_equal(b.data, "hello");
	buf_append(&b, ", wor", 5);
	buf_append(&b, "ld!!!", 3); /* only n bytes are taken */
	assert_string_equal(b.data, "hello, world!");
	/* Embedded NUL bytes are kept and counted. */
	buf_append(&b, "\0x", 2);
	assert_int_equal(b.len, 15);
	assert_memory_equal(b.data + 13, "\0x\0", 3);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	assert_true(b.cap > 0); /* memory kept */
	buf_release(&b);
}

static void test_growth(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	for (int i = 0; i < 100000; i++)
		buf_append(&b, &"0123456789"[i % 10], 1);
	assert_int_equal(b.len, 100000);
	assert_true(b.cap >= 100001);
	assert_int_equal(b.data[100000], '\0');
	for (int i = 0; i < 100000; i++)
		assert_int_equal(b.data[i], '0' + i % 10);
	buf_release(&b);
}

static void test_reserve(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	buf_reserve(&b, 1000);
	assert_true(b.cap >= 1001);
	assert_string_equal(b.data, "");
	char *before = b.data;
	for (int i = 0; i < 1000; i++)
		buf_append(&b, "x", 1);
	assert_ptr_equal(b.data, before); /* no reallocation after reserve */
	buf_reserve(&b, 0);
	assert_ptr_equal(b.data, before);
	buf_release(&b);
}

static void test_appendf(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	buf_appendf(&b, "%d-%s", 42, "x");
	assert_string_equal(b.data, "42-x");
	/* Longer than any first guess: forces the second vsnprintf. */
	char big[5000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_appendf(&b, "[%s]%zu", big, (size_t)7);
	assert_int_equal(b.len, 4 + 1 + 4999 + 1 + 1);
	assert_memory_equal(b.data, "42-x[aaa", 8);
	assert_string_equal(b.data + b.len - 3, "a]7");
	buf_appendf(&b, "%s", "");
	assert_int_equal(b.len, 4 + 1 + 4999 + 1 + 1);
	buf_release(&b);
}

static void test_consume(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	buf_appends(&b, "abcdef");
	buf_consume(&b, 0);
	assert_string_equal(b.data, "abcdef");
	buf_consume(&b, 2);
	assert_string_equal(b.data, "cdef");
	assert_int_equal(b.len, 4);
	buf_consume(&b, 4);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	buf_appends(&b, "xyz");
	buf_consume(&b, SIZE_MAX); /* more than there is: empties */
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	buf_release(&b);
}

static void test_detach(void **state)
{
	(void)state;
	struct buf b = BUF_INIT;
	buf_appendf(&b, "path/%s", "x");
	size_t len = 0;
	char *s = buf_detach(&b, &len);
	assert_string_equal(s, "path/x");
	assert_int_equal(len, 6);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 0);
	buf_appends(&b, "again"); /* reusable after detach */
	assert_string_equal(b.data, "again");
	char *t = buf_detach(&b, NULL);
	assert_string_equal(t, "again");
	free(s);
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_append_and_terminate),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_reserve),
		cmocka_unit_test(test_appendf),
		cmocka_unit_test(test_consume),
		cmocka_unit_test(test_detach),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
