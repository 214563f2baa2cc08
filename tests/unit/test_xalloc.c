#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/xalloc.h"

static void test_strings(void **state)
{
	(void)state;
	char *s = xstrdup("layer");
	assert_string_equal(s, "layer");
	free(s);
	s = xstrndup("layers", 5);
	assert_string_equal(s, "layer");
	free(s);
	s = xstrndup("ab", 10);
	assert_string_equal(s, "ab");
	free(s);
	assert_null(xstrdup_or_null(NULL));
	s = xstrdup_or_null("");
	assert_string_equal(s, "");
	free(s);
	s = xasprintf("%s/%d", "dir", 42);
	assert_string_equal(s, "dir/42");
	free(s);
}

static void test_memory(void **state)
{
	(void)state;
	/* Zero sizes still give memory (never NULL). */
	void *p = xmalloc(0);
	assert_non_null(p);
	free(p);
	unsigned *z = xcalloc(0, sizeof(*z));
	assert_non_null(z);
	free(z);
	z = xcalloc(16, sizeof(*z));
	for (size_t i = 0; i < 16; i++)
		assert_int_equal(z[i], 0);
	z = xrealloc(z, 32 * sizeof(*z));
	z[31] = 5;
	assert_int_equal(z[0], 0);
	free(z);
	p = xrealloc(NULL, 0);
	assert_non_null(p);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_memory),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
