/* Unit tests for core/brace: brace expansion for the `stubs` layer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/brace.h"

/* Expands pattern and checks the result against the NULL-terminated want. */
static void check(const char *pattern, const char *const *want)
{
	struct brace_list l;
	struct err *e = NULL;
	int r = brace_expand(pattern, &l, &e);
	if (r < 0)
		fail_msg("brace_expand(%s): %s", pattern, err_msg(e));
	size_t n = 0;
	while (want[n])
		n++;
	if (l.n != n) {
		for (size_t i = 0; i < l.n; i++)
			print_message("  got[%zu] = '%s'\n", i, l.v[i]);
		fail_msg("%s: expected %zu strings, got %zu", pattern, n, l.n);
	}
	for (size_t i = 0; i < n; i++)
		assert_string_equal(l.v[i], want[i]);
	assert_null(l.v[l.n]);
	brace_list_release(&l);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
}

#define CHECK(pattern, ...) check(pattern, (const char *const[]){ __VA_ARGS__, NULL })

/* Expects an error whose message contains every given fragment. */
static void check_error(const char *pattern, const char *frag1, const char *frag2)
{
	struct brace_list l;
	struct err *e = NULL;
	assert_int_equal(brace_expand(pattern, &l, &e), -1);
	assert_non_null(e);
	if (!strstr(e->msg, frag1) || (frag2 && !strstr(e->msg, frag2)))
		fail_msg("%s: message '%s' lacks '%s' / '%s'", pattern, e->msg, frag1,
			 frag2 ? frag2 : "");
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	err_free(&e);
}

static void test_no_braces(void **state)
{
	(void)state;
	CHECK("/dev/null", "/dev/null");
	CHECK("", "");
	/* Without a `{` nothing is touched, not even backslashes or `}`. */
	CHECK("a\\,b}", "a\\,b}");
}

static void test_simple(void **state)
{
	(void)state;
	CHECK("/dev/{null,zero}", "/dev/null", "/dev/zero");
	CHECK("{a,b,c}", "a", "b", "c");
	CHECK("/{proc,tmp}/", "/proc/", "/tmp/");
	CHECK("pre{x,y}post", "prexpost", "preypost");
}

static void test_nesting(void **state)
{
	(void)state;
	CHECK("a{b,c{d,e}}f", "abf", "acdf", "acef");
	CHECK("{a,{b,{c,d}}}", "a", "b", "c", "d");
}

static void test_cartesian_order(void **state)
{
	(void)state;
	CHECK("{a,b}{1,2}", "a1", "a2", "b1", "b2");
	CHECK("x{a,b}-{1,2,3}", "xa-1", "xa-2", "xa-3", "xb-1", "xb-2", "xb-3");
}

static void test_literal_groups(void **state)
{
	(void)state;
	CHECK("{a}", "{a}");
	CHECK("{}", "{}");
	CHECK("x{}y", "x{}y");
	CHECK("{a{b,c}}", "{ab}", "{ac}");
}

static void test_empty_alternatives(void **state)
{
	(void)state;
	CHECK("a{,b}", "a", "ab");
	CHECK("{,}", "", "");
}

static void test_escapes(void **state)
{
	(void)state;
	CHECK("\\{a,b\\}", "{a,b}");
	CHECK("x\\{y", "x{y");
	CHECK("{a\\,b,c}", "a,b", "c");
	CHECK("{a\\}b,c}", "a}b", "c");
	CHECK("{a\\\\,c}", "a\\", "c");
	/* Other backslashes are kept. */
	CHECK("{a\\n,c}", "a\\n", "c");
}

static void test_ranges(void **state)
{
	(void)state;
	CHECK("x{1..3}", "x1", "x2", "x3");
	CHECK("{3..1}", "3", "2", "1");
	CHECK("{-1..1}", "-1", "0", "1");
	CHECK("{08..10}", "08", "09", "10");
	CHECK("{5..5}", "5");
	/* Not a range: stays a literal group. */
	CHECK("{a..b}", "{a..b}");
	CHECK("{1..}", "{1..}");
	CHECK("{1..2..3}", "{1..2..3}");
}

static void test_unbalanced(void **state)
{
	(void)state;
	check_error("/dev/{null", "unmatched `{` at column 6", "/dev/{null");
	check_error("a{b,{c}", "unmatched `{` at column 2", NULL);
	check_error("{a}b}", "unmatched `}` at column 5", "escape it as `\\}`");
	check_error("}{", "unmatched `}` at column 1", NULL);
}

static void test_too_many(void **state)
{
	(void)state;
	/* 10^5 > BRACE_MAX_RESULTS */
	check_error("{0,1,2,3,4,5,6,7,8,9}{0,1,2,3,4,5,6,7,8,9}{0,1,2,3,4,5,6,7,8,9}"
		    "{0,1,2,3,4,5,6,7,8,9}{0,1,2,3,4,5,6,7,8,9}",
		    "expands to more than 65536 strings", NULL);
	check_error("{1..100000}", "expands to more than", NULL);
}

static void test_release_zeroed(void **state)
{
	(void)state;
	struct brace_list l = { 0 };
	brace_list_release(&l);
	brace_list_release(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_braces),
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_cartesian_order),
		cmocka_unit_test(test_literal_groups),
		cmocka_unit_test(test_empty_alternatives),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_unbalanced),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_release_zeroed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
