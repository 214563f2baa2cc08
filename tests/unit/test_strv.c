#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/strv.h"

static void test_dup_and_len(void **state)
{
	(void)state;
	const char *src[] = {"a", "bb", "", NULL};
	char **v = strv_dup(src);
	assert_int_equal(strv_len((const char *const *)v), 3);
	assert_string_equal(v[1], "bb");
	assert_string_equal(v[2], "");
	assert_null(v[3]);
	assert_ptr_not_equal(v[0], src[0]);
	strv_free(v);
	char **empty = strv_dup(NULL);
	assert_int_equal(strv_len((const char *const *)empty), 0);
	strv_free(empty);
}

static void test_prepend_and_push(void **state)
{
	(void)state;
	const char *args[] = {"-c", "echo hi"};
	char **v = strv_prepend("/bin/sh", args, 2);
	assert_int_equal(strv_len((const char *const *)v), 3);
	assert_string_equal(v[0], "/bin/sh");
	assert_string_equal(v[2], "echo hi");
	v = strv_push(v, "x");
	assert_int_equal(strv_len((const char *const *)v), 4);
	assert_string_equal(v[3], "x");
	assert_null(v[4]);
	strv_free(v);
	strv_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dup_and_len),
		cmocka_unit_test(test_prepend_and_push),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
