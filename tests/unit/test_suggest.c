#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/suggest.h"

static size_t dist(const char *a, const char *b)
{
	return suggest_distance(a, strlen(a), b, strlen(b));
}

static void test_distance(void **state)
{
	(void)state;
	assert_int_equal(dist("", ""), 0);
	assert_int_equal(dist("abc", ""), 3);
	assert_int_equal(dist("", "abc"), 3);
	assert_int_equal(dist("same", "same"), 0);
	assert_int_equal(dist("kitten", "sitting"), 3);
	assert_int_equal(dist("progam", "program"), 1);   /* insertion */
	assert_int_equal(dist("pogram", "program"), 1);
	assert_int_equal(dist("porgram", "program"), 1);  /* swap of neighbours */
	assert_int_equal(dist("ca", "abc"), 3);           /* OSA, not Damerau: 3 */
	assert_int_equal(dist("abcdef", "badcfe"), 3);    /* three swaps */
	/* Only the given lengths count. */
	assert_int_equal(suggest_distance("abcXYZ", 3, "abd", 3), 1);
	/* Too long to compare. */
	char longw[SUGGEST_MAX_LEN + 2];
	memset(longw, 'a', sizeof(longw) - 1);
	longw[sizeof(longw) - 1] = '\0';
	assert_int_equal(dist(longw, "a"), SIZE_MAX);
	assert_int_equal(dist("a", longw), SIZE_MAX);
	assert_int_equal(suggest_distance(longw, SUGGEST_MAX_LEN, longw, SUGGEST_MAX_LEN), 0);
}

static void test_closest(void **state)
{
	(void)state;
	const char *names[] = {"image", "layers", "environment", "mounts", "user", "network"};
	size_t n = sizeof(names) / sizeof(names[0]);
	assert_string_equal(suggest_closest("layres", names, n, SUGGEST_MAX_LEN), "layers");
	assert_string_equal(suggest_closest("enviroment", names, n, SUGGEST_MAX_LEN),
			    "environment");
	assert_string_equal(suggest_closest("envrnmnt", names, n, SUGGEST_MAX_LEN),
			    "environment");  /* 3 edits: allowed for names of 8+ */
	assert_null(suggest_closest("layerzzz", names, n, SUGGEST_MAX_LEN)); /* 3 edits, 6 letters */
	assert_string_equal(suggest_closest("usr", names, n, SUGGEST_MAX_LEN), "user");
	assert_null(suggest_closest("xx", names, n, SUGGEST_MAX_LEN));
	assert_null(suggest_closest("ur", names, n, SUGGEST_MAX_LEN)); /* 2 edits, short name */
	assert_null(suggest_closest("layres", names, 0, SUGGEST_MAX_LEN));
	/* The nearest wins; ties go to the earlier name. */
	const char *near[] = {"abcdefgh", "abcdefgx"};
	assert_string_equal(suggest_closest("abcdefgx", near, 2, SUGGEST_MAX_LEN), "abcdefgx");
	assert_string_equal(suggest_closest("abcdefgz", near, 2, SUGGEST_MAX_LEN), "abcdefgh");
	/* The length bound applies to the word and to each name. */
	assert_null(suggest_closest("layres", names, n, 5));
	assert_string_equal(suggest_closest("imag", names, n, 5), "image");
	assert_null(suggest_closest("enviroment", names, n, 10));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_distance),
		cmocka_unit_test(test_closest),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
